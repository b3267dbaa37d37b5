import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { isProcessRunning } from '../../src/run/lock.js';
import { repoRoot } from './tiny-config.js';

/**
 * The CLI compiled to plain JavaScript, module for module as `tsc` builds dist/ (type-stripping only), for test
 * suites that start it a few hundred times: a child process then starts in a third of the time it takes through
 * tsx's loader hooks. The copy lives under node_modules/.cache inside the package, so that the package root
 * (package.json, build/wasm) and the dependencies resolve exactly as from src/ or dist/.
 */
export function compileCli(): { main: string; remove: () => void } {
  const cache = path.join(repoRoot, 'node_modules', '.cache');
  // Copies left by killed test processes.
  for (const name of existsSync(cache) ? readdirSync(cache) : []) {
    const pid = Number(/^ealstm-cli-test-(\d+)$/.exec(name)?.[1]);
    if (pid && !isProcessRunning(pid)) rmSync(path.join(cache, name), { recursive: true, force: true });
  }
  const out = path.join(cache, `ealstm-cli-test-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  const src = path.join(repoRoot, 'src');
  const compilerOptions = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false };
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        const js = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file }).outputText;
        const target = path.join(out, 'src', path.relative(src, file)).replace(/\.ts$/, '.js');
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, js);
      }
    }
  };
  walk(src);
  return { main: path.join(out, 'src', 'cli', 'main.js'), remove: () => rmSync(out, { recursive: true, force: true }) };
}
