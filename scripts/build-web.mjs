// Builds the browser page into dist/web/ (served by `ealstm serve`, or opened as a file):
//   index.html  copied from web/index.html
//   app.js      src/web/app.ts and what it imports, bundled by esbuild as one classic script (a page opened as a
//               file may not load ES modules)
//   assets.js   the single-thread WASM kernels (build/wasm/kernels-simd-local.wasm, from build:wasm) and the bundled
//               example (web/example: a demo-trained model bundle and one demo basin), base64 in a global
// Runs from "build" and "prepare" after build:wasm. `node scripts/build-web.mjs [outDir]` writes elsewhere (tests).
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'dist', 'web'));
const example = join(root, 'web', 'example');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.warn('build-web: esbuild is not installed; skipping the browser page (ealstm serve will say so)');
  process.exit(0);
}
const kernels = join(root, 'build', 'wasm', 'kernels-simd-local.wasm');
let kernelBytes;
try {
  kernelBytes = readFileSync(kernels);
} catch {
  console.warn(`build-web: ${kernels} is missing (npm run build:wasm); skipping the browser page`);
  process.exit(0);
}

const bundleDir = readdirSync(example).find((n) => n.endsWith('.ealstm'));
const seriesDir = join(example, 'data', 'time_series');
const [seriesName] = readdirSync(seriesDir).filter((n) => n.endsWith('.csv'));
const assets = {
  kernels: kernelBytes.toString('base64'),
  example: {
    bundle: bundleDir,
    files: Object.fromEntries(
      ['bundle.json', 'scaler.json', 'model.safetensors'].map((f) => [f, readFileSync(join(example, bundleDir, f)).toString('base64')]),
    ),
    series: { name: seriesName, text: readFileSync(join(seriesDir, seriesName), 'utf8') },
    attributes: { name: 'attributes.csv', text: readFileSync(join(example, 'data', 'attributes', 'attributes.csv'), 'utf8') },
  },
};

// Built aside and renamed into place, so a failed build leaves the previous page whole.
const temp = `${outDir}.partial-${process.pid}`;
rmSync(temp, { recursive: true, force: true });
mkdirSync(temp, { recursive: true });
try {
  await esbuild.build({
    entryPoints: [join(root, 'src', 'web', 'app.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari16'],
    minify: true,
    legalComments: 'none',
    outfile: join(temp, 'app.js'),
    logLevel: 'error',
  });
  writeFileSync(join(temp, 'assets.js'), `globalThis.EALSTM_PAGE_ASSETS = ${JSON.stringify(assets)};\n`);
  writeFileSync(join(temp, 'index.html'), readFileSync(join(root, 'web', 'index.html')));
  mkdirSync(dirname(outDir), { recursive: true });
  rmSync(outDir, { recursive: true, force: true });
  renameSync(temp, outDir);
} catch (e) {
  rmSync(temp, { recursive: true, force: true });
  console.error(`build-web: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
console.log(`build-web: wrote ${outDir} (index.html, app.js, assets.js)`);
