import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../util/errors.js';
import { packageRoot } from '../util/package-root.js';
import { integerOption } from './options.js';

/** Where `npm run build` (scripts/build-web.mjs) puts the browser page. */
export function pageDir(): string {
  return path.join(packageRoot(), 'dist', 'web');
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

/** The page's own policy (web/index.html states it too, for a page opened as a file): no requests anywhere. */
const HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'none'; form-action 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

/**
 * `ealstm serve`: the browser page on http://127.0.0.1:<port>/, for this computer only. It serves the page's files
 * (read once at start; nothing else on disk is reachable) and answers every other path with 404.
 */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the browser page (run a model bundle on a basin CSV in the browser) on http://127.0.0.1:<port>/; Ctrl+C stops it')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', integerOption, 8080)
    .action(async (opts: { port: number }) => {
      if (opts.port < 0 || opts.port > 65535) throw new InputError(`--port ${opts.port}: expected 0 to 65535`);
      const files = new Map<string, { body: Buffer; type: string }>();
      const server = createServer((request, response) => {
        const file = files.get(new URL(request.url ?? '/', 'http://127.0.0.1').pathname.replace(/^\/$/, '/index.html'));
        if (request.method !== 'GET' && request.method !== 'HEAD') {
          response.writeHead(405, { ...HEADERS, Allow: 'GET, HEAD' }).end();
        } else if (!file) {
          response.writeHead(404, { ...HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
        } else {
          response.writeHead(200, { ...HEADERS, 'Content-Type': file.type, 'Content-Length': file.body.length });
          response.end(request.method === 'HEAD' ? undefined : file.body);
        }
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => {
          reject(err.code === 'EADDRINUSE' ? new InputError(`--port ${opts.port}: the port is in use; choose another (0: any free port)`) : err);
        });
        server.listen(opts.port, '127.0.0.1', () => resolve());
      });
      // Read after listening, so that a port in use is named even where the page is not built.
      const dir = pageDir();
      if (!existsSync(path.join(dir, 'index.html'))) {
        server.close();
        throw new InputError(`the browser page is not built (${path.join(dir, 'index.html')} is missing): run npm run build`);
      }
      for (const name of readdirSync(dir).filter((n) => CONTENT_TYPES[path.extname(n)])) {
        files.set(`/${name}`, { body: readFileSync(path.join(dir, name)), type: CONTENT_TYPES[path.extname(name)] });
      }
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port;
      console.log(`serving the browser page at http://127.0.0.1:${port}/ (only this computer can reach it; Ctrl+C stops)`);
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => resolve()));
      });
    });
}
