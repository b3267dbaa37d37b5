import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { BackendKind } from '../bench/bench.js';
import { BACKEND_NAMES } from '../util/backend-names.js';
import { checkWritableFile } from '../util/files.js';
import { packageRoot } from '../util/package-root.js';
import { positiveInteger } from './options.js';

const list = (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean);

const BENCH_BACKENDS = BACKEND_NAMES;
const BENCH_SIZES = ['paper', 'small'] as const;

/** Commander parser for a comma-separated list of names out of `allowed`. */
function choiceList<T extends string>(allowed: readonly T[]): (value: string) => T[] {
  return (value) => {
    const items = list(value);
    const unknown = items.filter((v) => !allowed.includes(v as T));
    if (items.length === 0 || unknown.length > 0) {
      throw new InvalidArgumentError(`expected a comma-separated list of ${allowed.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
    }
    return items as T[];
  };
}

/** Commander parser for a comma-separated list of thread counts. */
function threadList(value: string): number[] {
  const items = list(value);
  if (items.length === 0) throw new InvalidArgumentError('expected comma-separated thread counts, e.g. 1,4');
  return items.map((v) => positiveInteger(v));
}

/** `ealstm bench`: speed of training/inference steps per backend and thread count, data preparation, PyTorch ratio. */
export function registerBenchCommands(program: Command): void {
  program
    .command('bench')
    .description('measure training and inference speed per backend and thread count, data preparation, and the PyTorch reference')
    .option('--json <file>', 'also write all results as JSON')
    .option('--repeats <n>', 'timed repetitions per measurement (median reported)', positiveInteger, 5)
    .option('--threads <list>', 'thread counts to measure (default: 1 and all cores)', threadList)
    .option('--backends <list>', `comma-separated: ${BENCH_BACKENDS.join(', ')} (default: webgpu,native,wasm; webgpu on a hardware GPU only)`, choiceList(BENCH_BACKENDS), ['webgpu', 'native', 'wasm'])
    .option('--sizes <list>', 'paper (hidden 256) and/or small (hidden 64) (default: paper,small)', choiceList(BENCH_SIZES), ['paper', 'small'])
    .option('--shared <dir>', 'the shared folder with data/ and bench/', path.resolve(packageRoot(), '..', 'shared'))
    .option('--no-torch', 'skip the PyTorch references (CPU; and GPU when a CUDA PyTorch is importable)')
    .action(async (opts) => {
      // A benchmark takes minutes: find out now, not after it, that its JSON cannot be written.
      if (opts.json) checkWritableFile(opts.json, '--json');
      // OpenBLAS reads these at load time; the fair comparison runs both sides without them (see bench/README).
      if (process.env.OPENBLAS_CORETYPE !== undefined || process.env.OPENBLAS_L2_SIZE !== undefined) {
        const env = { ...process.env };
        delete env.OPENBLAS_CORETYPE;
        delete env.OPENBLAS_L2_SIZE;
        const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env, stdio: 'inherit' });
        process.exit(r.status ?? 1);
      }
      const { runBench, writeBenchJson } = await import('../bench/bench.js');
      const cores = os.cpus().length;
      const result = runBench({
        repeats: opts.repeats,
        threads: opts.threads ?? [...new Set([1, cores])],
        backends: opts.backends as BackendKind[],
        sizes: opts.sizes,
        torch: opts.torch,
        sharedDir: path.join(opts.shared, 'data'),
        log: (line) => console.log(line),
      });
      if (opts.json) {
        writeBenchJson(opts.json, result);
        console.log(`wrote ${opts.json}`);
      }
    });
}
