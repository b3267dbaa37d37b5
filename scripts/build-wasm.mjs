// Compiles the AssemblyScript kernels (src/compute/wasm/kernels.as) into two WebAssembly modules:
//   build/wasm/kernels-simd.wasm     v128 SIMD (runs on any Node >= 20)
//   build/wasm/kernels-relaxed.wasm  + relaxed SIMD (f32x4.relaxed_madd; on Node 20 wasm-node.ts sets V8's --experimental-wasm-relaxed-simd)
//   build/wasm/kernels-simd-local.wasm  v128 SIMD on an unshared memory, one thread: the browser page (src/web), where
//                                       shared memory needs cross-origin isolation that a page opened as a file lacks
// src/compute/wasm-node.ts loads the first two from the package root (from src/ under tsx and from dist/ alike).
// The kernels' argument-block constants come from the table in src/compute/wasm/abi.ts (also read by wasm.ts):
// it is transpiled with the typescript dev dependency and handed to asc as the module './abi'.
// Runs from the "build:wasm" script, which "build" and "prepare" (so `npm install` on a clone) call first.
// Without the assemblyscript dev dependency it warns and exits 0: the other backends still work.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'compute', 'wasm', 'kernels.as');
const abiSource = join(root, 'src', 'compute', 'wasm', 'abi.ts');
const outDir = join(root, 'build', 'wasm');

let asc;
try {
  asc = (await import('assemblyscript/asc')).default;
} catch {
  console.warn('build-wasm: assemblyscript is not installed; skipping the WASM kernels (the wasm backend will be unavailable)');
  process.exit(0);
}

/** The AssemblyScript text of the argument-block constants, from abi.ts (plain TypeScript, no imports). */
async function abiConstants() {
  const ts = (await import('typescript')).default;
  const js = ts.transpileModule(readFileSync(abiSource, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const abi = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`);
  return abi.assemblyScriptConstants();
}

mkdirSync(outDir, { recursive: true });
const text = readFileSync(source, 'utf8');
const abiText = await abiConstants();
// asc only reads .ts files: hand it the .as source and the generated constants under virtual names.
const entry = 'kernels.ts';
const files = new Map([
  [entry, text],
  ['abi.ts', abiText],
]);

const common = [
  entry,
  '-O3',
  '--noAssert',
  '--runtime', 'stub',
  '--importMemory',
  '--initialMemory', '1',
  '--maximumMemory', '65536',
  '--enable', 'simd',
  '--enable', 'threads',
  '--use', 'abort=',
];
const variants = [
  { file: 'kernels-simd.wasm', extra: ['--sharedMemory'] },
  { file: 'kernels-relaxed.wasm', extra: ['--sharedMemory', '--enable', 'relaxed-simd'] },
  { file: 'kernels-simd-local.wasm', extra: [] },
];
const wat = process.argv.includes('--wat');

for (const { file, extra } of variants) {
  const out = join(outDir, file);
  const args = [...common, ...extra, '-o', out];
  if (wat) args.push('-t', out.replace(/\.wasm$/, '.wat'));
  const stderr = [];
  const { error } = await asc.main(args, {
    readFile: (name) => files.get(name) ?? null,
    stderr: { write: (s) => stderr.push(String(s)) },
  });
  if (error) {
    console.error(stderr.join(''));
    console.error(`build-wasm: compiling ${file} failed: ${error.message}`);
    process.exit(1);
  }
}
console.log(`build-wasm: wrote ${variants.map((v) => join('build', 'wasm', v.file)).join(', ')}`);
