// Builds the optional OpenBLAS addon (native/) when a compiler and libopenblas are present.
// Any failure is silent by design: the pure JS/WASM backends then serve.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const haveBlas = ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/cblas.h', '/usr/include/openblas/cblas.h',
  '/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h'].some(existsSync);
if (!existsSync('native/binding.gyp') || !haveBlas || process.env.EALSTM_NO_NATIVE) process.exit(0);
try {
  const nodeGyp = process.env.npm_config_node_gyp;
  const args = ['rebuild', '--directory=native'];
  if (existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
  if (nodeGyp) execFileSync(process.execPath, [nodeGyp, ...args], { stdio: 'ignore' });
  else execFileSync('npx', ['--no-install', 'node-gyp', ...args], { stdio: 'ignore' });
  console.log('ealstm: built the native OpenBLAS backend');
} catch {
  console.log('ealstm: native OpenBLAS backend not built (optional); using the built-in backends');
}
