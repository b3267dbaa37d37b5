// Builds the optional OpenBLAS addon (native/) when a compiler and libopenblas are present.
// Any failure is silent by design: the pure JS/WASM backends then serve.
// Runs at `npm install` (the "install" script) and by hand: `node scripts/build-native.mjs`
// (EALSTM_NATIVE_VERBOSE=1 shows the node-gyp output; EALSTM_NO_NATIVE=1 skips the build).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Work from the package root whatever the current directory is.
process.chdir(join(dirname(fileURLToPath(import.meta.url)), '..'));

const haveBlas = ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/cblas.h', '/usr/include/openblas/cblas.h',
  '/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h'].some(existsSync);
if (!existsSync('native/binding.gyp') || !haveBlas || process.env.EALSTM_NO_NATIVE) process.exit(0);

const verbose = !!process.env.EALSTM_NATIVE_VERBOSE;

/** node-gyp's entry script: npm's own when run by npm, else npm's bundled copy next to this node, else none. */
function findNodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const rel = join('lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const local = join('node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(local)) return local;
  const nextToNode = join(dirname(process.execPath), '..', rel); // /usr/bin/node -> /usr/lib/node_modules/npm/...
  if (existsSync(nextToNode)) return nextToNode;
  try {
    const prefix = execFileSync('npm', ['prefix', '-g'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    for (const p of [join(prefix, rel), join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')])
      if (existsSync(p)) return p;
  } catch {
    // no npm on the PATH
  }
  return null;
}

/** Runs node-gyp rebuild; `gypArgs` go to gyp (e.g. -Dopenmp=0). Throws when it fails or writes no addon. */
function build(gypArgs) {
  const nodeGyp = findNodeGyp();
  const args = ['rebuild', '--directory=native'];
  if (existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
  if (gypArgs.length > 0) args.push('--', ...gypArgs);
  const stdio = verbose ? 'inherit' : 'ignore';
  if (nodeGyp) execFileSync(process.execPath, [nodeGyp, ...args], { stdio });
  else execFileSync('npx', ['--no-install', 'node-gyp', ...args], { stdio });
  if (!existsSync('native/build/Release/ealstm_native.node')) throw new Error('no output');
}

// With OpenMP (the cell kernels' rows on all threads) where the compiler has it, else without.
const attempts = [
  { gypArgs: [], note: '' },
  { gypArgs: ['-Dopenmp=0'], note: ' (without OpenMP: the cell kernels run on one thread)' },
];
let built = false;
for (const { gypArgs, note } of attempts) {
  try {
    build(gypArgs);
    console.log(`ealstm: built the native OpenBLAS backend${note}`);
    built = true;
    break;
  } catch {
    // try the next way, or report below
  }
}
if (!built) console.log('ealstm: native OpenBLAS backend not built (optional); using the built-in backends');
