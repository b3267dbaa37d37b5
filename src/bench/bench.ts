import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ComputeBackend } from '../compute/backend.js';
import { ReferenceBackend } from '../compute/reference.js';
import { openBackend as loadBackend, resolveBackend } from '../compute/select.js';
import { readBasinList } from '../data/basin-list.js';
import { ResidentBatches } from '../data/batches.js';
import { loadBasinCached } from '../data/cache.js';
import { parseCamelsUsForcing } from '../data/camels-us.js';
import type { NormalizedBasin } from '../data/types.js';
import type { ModelKind } from '../models/layout.js';
import type { ConcreteBackendName } from '../util/backend-names.js';
import { writeFileAtomic } from '../util/files.js';
import { packageRoot } from '../util/package-root.js';
import { Random } from '../util/random.js';
import { median } from '../util/numeric.js';
import { type ModelShapeForBench, timeModel } from './model-timing.js';
import { type BenchRow, formatScaling, paperEpochSeconds, threadScaling } from './scaling.js';
import { gpuRatios, runTorchGpuReference } from './torch-gpu.js';

export type BackendKind = ConcreteBackendName;
export interface BenchOptions {
  repeats: number;
  threads: number[];
  backends: BackendKind[];
  sizes: ('paper' | 'small')[];
  torch: boolean;
  sharedDir: string;
  log: (line: string) => void;
}

const SIZES: Record<'paper' | 'small', ModelShapeForBench> = {
  paper: { batch: 256, seqLength: 270, hidden: 256, dynamicInputs: 5, staticInputs: 27 },
  small: { batch: 256, seqLength: 270, hidden: 64, dynamicInputs: 5, staticInputs: 27 },
};

/** The plain TypeScript backends: measured at one thread only, and once (they take minutes per step at the paper's size). */
const SINGLE_THREADED: ReadonlySet<BackendKind> = new Set(['reference', 'reference-f64']);

/** Backends whose speed does not depend on the CPU thread count: measured at the first thread count only. */
const THREAD_INDEPENDENT: ReadonlySet<BackendKind> = new Set(['webgpu']);

/**
 * A backend to measure, or null; one that does not load here is logged (once) with the reason and kept in
 * `unavailable`. A software GPU adapter (lavapipe) is not measured: its timings would say nothing about GPUs.
 */
function openBackend(
  kind: BackendKind,
  threads: number,
  unavailable: Map<BackendKind, string>,
  log: (line: string) => void,
): (ComputeBackend & { close?: () => void }) | null {
  if (SINGLE_THREADED.has(kind) && threads !== 1) return null;
  if (THREAD_INDEPENDENT.has(kind) && unavailable.has(kind)) return null;
  const loaded = loadBackend(kind, threads, { hardwareOnly: true });
  if (!loaded.backend && !unavailable.has(kind)) {
    unavailable.set(kind, loaded.reason);
    log(`backend ${kind} not measured: ${loaded.reason}`);
  }
  return loaded.backend;
}

/** Runs every measurement and returns the JSON document (also printed as it goes). */
export function runBench(options: BenchOptions): Record<string, unknown> {
  const { log } = options;
  const cpu = os.cpus();
  const ourThreads = Math.max(...options.threads);
  log(`ealstm bench, ${new Date().toISOString()}, ${cpu[0]?.model ?? 'unknown CPU'} x ${cpu.length}, Node ${process.version}`);
  const auto = resolveBackend('auto', 1);
  (auto.backend as { close?: () => void }).close?.();
  log(`backend 'auto' takes ${auto.backend.name} here${auto.skipped.map((s) => `; not ${s.name}: ${s.reason}`).join('')}`);
  const unavailable = new Map<BackendKind, string>();
  const models: Record<string, unknown>[] = [];
  let peakRss = 0;
  for (const sizeName of options.sizes) {
    const shape = SIZES[sizeName];
    for (const kind of ['ealstm', 'lstm'] as ModelKind[]) {
      for (const backendKind of options.backends) {
        for (const threads of THREAD_INDEPENDENT.has(backendKind) ? options.threads.slice(0, 1) : options.threads) {
          const backend = openBackend(backendKind, threads, unavailable, log);
          if (!backend) continue;
          const once = SINGLE_THREADED.has(backendKind);
          const repeats = once ? 1 : options.repeats;
          const t = timeModel(backend, kind, shape, repeats, once ? 0 : 1);
          backend.close?.();
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
          const row = { size: sizeName, model: kind, backend: backend.name, kind: backendKind, threads, train_ms: t.trainMs, infer_ms: t.inferMs };
          models.push(row);
          log(
            `${sizeName.padEnd(5)} ${kind.padEnd(6)} ${backend.name.padEnd(18)} threads ${threads}: ` +
              `train step ${t.trainMs.toFixed(1)} ms, inference ${t.inferMs.toFixed(1)} ms (median of ${repeats})`,
          );
        }
      }
    }
  }

  const paper: Record<string, Record<string, number>> = { ealstm_train_ms: {}, ealstm_infer_ms: {}, lstm_train_ms: {}, lstm_infer_ms: {} };
  for (const r of models as unknown as BenchRow[]) {
    if (r.size !== 'paper' || (r.threads !== ourThreads && !THREAD_INDEPENDENT.has(r.kind as BackendKind))) continue;
    paper[`${r.model}_train_ms`][r.kind] = r.train_ms;
    paper[`${r.model}_infer_ms`][r.kind] = r.infer_ms;
  }
  const scaling = threadScaling(models as unknown as BenchRow[]);
  for (const s of scaling) log(formatScaling(s));
  const epochSeconds = Object.fromEntries(Object.entries(paper.ealstm_train_ms).map(([kind, ms]) => [kind, paperEpochSeconds(ms)]));
  for (const [kind, sec] of Object.entries(epochSeconds)) log(`paper-size EA-LSTM epoch on ${kind}: ~${(sec / 60).toFixed(1)} min of training steps`);

  const overhead = measureEpochOverhead(log);
  const data = measureData(options.sharedDir, log);
  const reference = options.torch ? runTorchReference(options.sharedDir, ourThreads, log) : null;
  // The GPU reference in the same command, when a CUDA PyTorch is importable (else it says why not).
  const referenceGpu = options.torch ? runTorchGpuReference(path.join(path.dirname(options.sharedDir), 'bench', 'torch_reference_gpu.py'), log) : null;
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpu: cpu[0]?.model, cores: cpu.length, node: process.version },
    threads: ourThreads,
    paper_size: paper,
    paper_epoch_s: epochSeconds,
    thread_scaling: scaling,
    models,
    unavailable_backends: Object.fromEntries(unavailable),
    epoch_overhead: overhead,
    data,
    peak_rss_mb: Math.round(peakRss / 2 ** 20),
    reference,
    reference_gpu: referenceGpu,
  };
  log(`peak resident memory of the bench process: ${Math.round(peakRss / 2 ** 20)} MB`);
  if (reference) printRatios(paper, reference, log);
  if (referenceGpu) {
    const webgpu = Object.fromEntries(Object.entries(paper).flatMap(([key, byKind]) => (byKind.webgpu === undefined ? [] : [[key, byKind.webgpu]])));
    const lines = gpuRatios(webgpu, referenceGpu.results);
    log(lines.length ? 'speed-up of webgpu against PyTorch on the GPU, paper size (>1: we are faster):' : 'no paper-size webgpu timing to compare with PyTorch on the GPU');
    for (const line of lines) log(line);
  }
  return result;
}

/**
 * What an epoch does outside the model per batch: gathering the windows and targets of a shuffled batch at the
 * paper's size, plus the per-epoch shuffle spread over its batches.
 */
function measureEpochOverhead(log: (l: string) => void): Record<string, number> {
  const { batch, seqLength, dynamicInputs, staticInputs } = SIZES.paper;
  const rng = new Random(3);
  const days = 3652;
  const basins: NormalizedBasin[] = Array.from({ length: 35 }, (_, b) => ({
    basin: String(b),
    firstDay: 0,
    rows: days,
    inputs: Float32Array.from({ length: days * dynamicInputs }, () => rng.normal()),
    target: Float32Array.from({ length: days }, () => rng.normal()),
    statics: Float32Array.from({ length: staticInputs }, () => rng.normal()),
    rawTarget: new Float32Array(days),
  }));
  const pairs: number[] = [];
  basins.forEach((_, b) => {
    for (let r = seqLength - 1; r < days; r++) pairs.push(b, r);
  });
  const samples = Int32Array.from(pairs);
  const count = samples.length / 2;
  const order = Int32Array.from({ length: count }, (_, i) => i);
  // As the trainer gathers a batch (data/batches.ts ResidentBatches), on a host backend: the row numbers, then the
  // copies (on webgpu the copies are a kernel of the step instead).
  const host = new ReferenceBackend('float32');
  const data = new ResidentBatches(host, basins, basins.map(() => 1), samples, seqLength, batch);
  const dynamic = host.alloc(seqLength * batch * dynamicInputs);
  const statics = host.alloc(batch * staticInputs);
  const target = host.alloc(batch);
  const std = host.alloc(batch);
  const t0 = performance.now();
  new Random(4).shuffle(order);
  const shuffleMs = performance.now() - t0;
  const times: number[] = [];
  for (let rep = 0; rep < 20; rep++) {
    const t = performance.now();
    data.gather(order, rep * batch, batch, dynamic, statics, target, std);
    times.push(performance.now() - t);
  }
  const batches = Math.ceil(count / batch);
  const perBatch = median(times) + shuffleMs / batches;
  log(`epoch overhead outside the model: ${perBatch.toFixed(2)} ms per batch (gather ${median(times).toFixed(2)} ms, shuffle ${shuffleMs.toFixed(1)} ms per epoch of ${batches} batches)`);
  return { per_batch_ms: perBatch, gather_ms: median(times), shuffle_ms_per_epoch: shuffleMs, batches_per_epoch: batches };
}

/** Parsing throughput on CAMELS-US forcing files, and the time to build the cache of the Caravan subset. */
function measureData(sharedDir: string, log: (l: string) => void): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  const camels = existsSync(path.join(sharedDir, 'camels_us')) ? path.join(sharedDir, 'camels_us') : path.join(packageRoot(), 'data', 'demo', 'camels_us');
  const forcingRoot = path.join(camels, 'basin_mean_forcing', 'daymet');
  const files = readdirSync(forcingRoot, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('_forcing_leap.txt'))
    .map((f) => path.join(forcingRoot, f));
  const buffers = files.map((f) => readFileSync(f));
  const bytes = buffers.reduce((a, b) => a + b.length, 0);
  const t0 = performance.now();
  buffers.forEach((buf, i) => parseCamelsUsForcing(buf, files[i], path.basename(files[i]).slice(0, 8)));
  const seconds = (performance.now() - t0) / 1000;
  out.parse_mb_per_s = bytes / 1e6 / seconds;
  out.parse_files = files.length;
  log(`parsing: ${files.length} Daymet forcing files, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s = ${(bytes / 1e6 / seconds).toFixed(0)} MB/s`);

  const caravan = path.join(sharedDir, 'caravan_subset');
  if (!existsSync(path.join(caravan, 'basins_all.txt'))) {
    out.caravan_cache = `skipped: ${caravan} not found`;
    log(`cache build: skipped (${caravan} not found)`);
    return out;
  }
  const basins = readBasinList(path.join(caravan, 'basins_all.txt'));
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'ealstm-bench-cache-'));
  try {
    const source = { dataset: 'caravan' as const, dataDir: caravan, cacheDir };
    const c0 = performance.now();
    let csvBytes = 0;
    for (const b of basins) {
      loadBasinCached(source, b);
      csvBytes += statSync(path.join(caravan, 'timeseries', 'csv', b.split('_')[0], `${b}.csv`)).size;
    }
    const build = (performance.now() - c0) / 1000;
    const w0 = performance.now();
    for (const b of basins) loadBasinCached(source, b);
    const warm = (performance.now() - w0) / 1000;
    out.caravan_basins = basins.length;
    out.caravan_cache_build_s = build;
    out.caravan_cache_load_s = warm;
    log(`cache build: ${basins.length} Caravan basins (${(csvBytes / 1e6).toFixed(0)} MB of CSV) in ${build.toFixed(2)} s; loading them from the cache ${warm.toFixed(2)} s`);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return out;
}

interface TorchRun {
  threads: number;
  results: Record<string, { median_ms: number }>;
}

/** Runs ../shared/bench/torch_reference.py with Debian's PyTorch at 1 thread and at our thread count. */
function runTorchReference(sharedDir: string, threads: number, log: (l: string) => void): Record<string, unknown> | null {
  const script = path.join(path.dirname(sharedDir), 'bench', 'torch_reference.py');
  const python = '/usr/bin/python3';
  if (!existsSync(script) || !existsSync(python)) {
    log(`PyTorch reference: skipped (${existsSync(script) ? python : script} not found)`);
    return null;
  }
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    log('PyTorch reference: skipped (/usr/bin/python3 has no torch; apt-get install python3-torch)');
    return null;
  }
  const runs: TorchRun[] = [];
  for (const n of [...new Set([1, threads])]) {
    const json = path.join(os.tmpdir(), `ealstm-torch-${process.pid}-${n}.json`);
    const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(n), OMP_NUM_THREADS: String(n) };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    log(`PyTorch reference at ${n} thread(s)...`);
    const r = spawnSync(python, [script, '--threads', String(n), '--only', 'lstm,ealstm', '--json', json], { env, encoding: 'utf8' });
    if (r.status !== 0 || !existsSync(json)) {
      log(`PyTorch reference at ${n} thread(s) failed: ${r.stderr?.slice(-300)}`);
      continue;
    }
    for (const line of r.stdout.split('\n')) if (line.trim()) log(`  ${line}`);
    runs.push({ threads: n, results: JSON.parse(readFileSync(json, 'utf8')).results });
    rmSync(json, { force: true });
  }
  if (runs.length === 0) return null;
  const pick = (key: string) => {
    const best = runs.filter((r) => r.results[key]).sort((a, b) => a.results[key].median_ms - b.results[key].median_ms)[0];
    return best ? { median_ms: best.results[key].median_ms, threads: best.threads } : null;
  };
  return {
    runs,
    best: {
      ealstm_train_ms: pick('EA-LSTM (py loop) train step'),
      ealstm_infer_ms: pick('EA-LSTM (py loop) inference (no_grad)'),
      lstm_train_ms: pick('nn.LSTM train step (fwd+bwd+Adam)'),
      lstm_infer_ms: pick('nn.LSTM inference (no_grad)'),
    },
  };
}

function printRatios(paper: Record<string, Record<string, number>>, reference: Record<string, unknown>, log: (l: string) => void): void {
  const best = reference.best as Record<string, { median_ms: number; threads: number } | null>;
  log('speed-up against the PyTorch reference at its fastest thread count (>1: we are faster):');
  for (const key of Object.keys(paper)) {
    const ref = best[key];
    if (!ref) continue;
    for (const [backend, ms] of Object.entries(paper[key])) {
      log(`  ${key.padEnd(16)} ${backend.padEnd(9)} ${ms.toFixed(0).padStart(6)} ms vs ${ref.median_ms.toFixed(0)} ms (${ref.threads} thread): ${(ref.median_ms / ms).toFixed(2)}x`);
    }
  }
}

export function writeBenchJson(file: string, result: Record<string, unknown>): void {
  writeFileAtomic(file, `${JSON.stringify(result, null, 1)}\n`);
}
