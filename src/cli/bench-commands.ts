import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { type BackendKind, runBench, writeBenchJson } from '../bench/bench.js';
import { packageRoot } from '../util/package-root.js';

const list = (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean);

/** `ealstm bench`: speed of training/inference steps per backend and thread count, data preparation, PyTorch ratio. */
export function registerBenchCommands(program: Command): void {
  program
    .command('bench')
    .description('measure training and inference speed per backend and thread count, data preparation, and the PyTorch reference')
    .option('--json <file>', 'also write all results as JSON')
    .option('--repeats <n>', 'timed repetitions per measurement (median reported)', '5')
    .option('--threads <list>', 'thread counts to measure (default: 1 and all cores)')
    .option('--backends <list>', 'native, wasm, reference', 'native,wasm')
    .option('--sizes <list>', 'paper (hidden 256) and/or small (hidden 64)', 'paper,small')
    .option('--shared <dir>', 'the shared folder with data/ and bench/', path.resolve(packageRoot(), '..', 'shared'))
    .option('--no-torch', 'skip the PyTorch reference')
    .action((opts) => {
      // OpenBLAS reads these at load time; the fair comparison runs both sides without them (see bench/README).
      if (process.env.OPENBLAS_CORETYPE !== undefined || process.env.OPENBLAS_L2_SIZE !== undefined) {
        const env = { ...process.env };
        delete env.OPENBLAS_CORETYPE;
        delete env.OPENBLAS_L2_SIZE;
        const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env, stdio: 'inherit' });
        process.exit(r.status ?? 1);
      }
      const cores = os.cpus().length;
      const threads = opts.threads ? list(opts.threads).map(Number) : [...new Set([1, cores])];
      const result = runBench({
        repeats: Number(opts.repeats),
        threads,
        backends: list(opts.backends) as BackendKind[],
        sizes: list(opts.sizes) as ('paper' | 'small')[],
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
