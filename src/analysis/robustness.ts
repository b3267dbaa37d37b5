/**
 * Robustness of a trained model to noise in the catchment attributes (the paper's Sect. 2.6.2 / 3.3 and Fig. 6;
 * main.py:eval_robustness and eval_with_added_noise of the paper's code): for every basin and noise level sigma,
 * `draws` vectors of Gaussian noise N(0, sigma) are added to the standardised static attributes, each vector held
 * for the whole period, and the NSE of the perturbed simulation is computed (observations NaN masked, simulations
 * de-normalised and clipped at 0, as `evaluate`). Sigma 0 gets a single (noise-free) draw.
 *
 * The draws of a basin go through the model together: the (draw, day) sequences of a basin are laid out draw by
 * draw and cut into batches of `batchSize`, so a batch holds several draws when the period is shorter than a batch.
 */
import path from 'node:path';
import type { BackendName } from '../compute/select.js';
import { gatherWindows } from '../data/batches.js';
import { loadPeriod } from '../data/dataset.js';
import type { NormalizedBasin, Period } from '../data/types.js';
import { normalize } from '../data/normalize.js';
import { InputError } from '../util/errors.js';
import { nse } from '../evaluation/metrics.js';
import { percentileLinear } from '../util/numeric.js';
import type { RecurrentModel } from '../models/model.js';
import { writeFileAtomic } from '../util/files.js';
import { Random, Streams } from '../util/random.js';
import { type LoadedRun, loadRun } from '../run/load-run.js';
import { type DirectoryLock, withRunOutputLock } from '../run/lock.js';
import { csvLine, hashString, outputFolder, selectBasins } from './common.js';
import { robustnessFigure, writeAnalysisFigure } from './figures.js';

/** The paper's noise levels: 0.0, 0.1, ..., 1.0. */
export const PAPER_SIGMAS = Array.from({ length: 11 }, (_, i) => Number((0.1 * i).toFixed(10)));

/** One perturbed evaluation of a basin: the noise added to its standardised attributes. */
export interface NoiseDraw {
  sigma: number;
  draw: number;
  noise: Float64Array;
}

/**
 * The noise vectors of one basin: for each sigma > 0, `draws` vectors of S values N(0, sigma); sigma 0 gives one
 * zero vector. Each (basin, sigma) has its own generator seeded from (seed, basin, sigma), so the draws of a basin
 * do not depend on the other basins or sigmas chosen, and fewer draws are a prefix of more.
 */
export function noiseDraws(seed: number, basin: string, sigmas: readonly number[], draws: number, s: number): NoiseDraw[] {
  const out: NoiseDraw[] = [];
  for (const sigma of sigmas) {
    if (sigma === 0) {
      out.push({ sigma, draw: 0, noise: new Float64Array(s) });
      continue;
    }
    const rng = new Random(hashString(`${seed}:${basin}:${sigma}`), Streams.noise);
    for (let d = 0; d < draws; d++) out.push({ sigma, draw: d, noise: Float64Array.from({ length: s }, () => sigma * rng.normal()) });
  }
  return out;
}

/** Evaluations per basin: 1 for sigma 0 (if present) plus draws for every other sigma. */
export function evaluationsPerBasin(sigmas: readonly number[], draws: number): number {
  return sigmas.reduce((n, s) => n + (s === 0 ? 1 : draws), 0);
}

/**
 * NSE of each noise draw for one basin. `onSequences(n)` is called after every batch with its size.
 */
export function basinRobustness(
  model: RecurrentModel,
  basin: NormalizedBasin,
  seqLength: number,
  target: { mean: number; std: number },
  evaluations: readonly NoiseDraw[],
  batchSize: number,
  onSequences?: (n: number) => void,
): number[] {
  const s = model.spec.staticInputs;
  const days = basin.rows - seqLength + 1;
  const e = evaluations.length;
  const total = e * days;
  const sims = new Float64Array(total);
  const samples = new Int32Array(2 * batchSize);
  const order = Int32Array.from({ length: batchSize }, (_, i) => i);
  model.ensureCapacity(batchSize, seqLength);
  for (let from = 0; from < total; from += batchSize) {
    const n = Math.min(batchSize, total - from);
    for (let i = 0; i < n; i++) {
      const day = (from + i) % days;
      samples[2 * i] = 0;
      samples[2 * i + 1] = seqLength - 1 + day;
    }
    gatherWindows([basin], samples, order, 0, n, seqLength, model.dynamicInput, model.staticInput);
    for (let i = 0; i < n; i++) {
      const noise = evaluations[Math.floor((from + i) / days)].noise;
      for (let j = 0; j < s; j++) model.staticInput[i * s + j] += noise[j];
    }
    const pred = model.forward(n, null);
    for (let i = 0; i < n; i++) sims[from + i] = Math.max(pred[i] * target.std + target.mean, 0);
    onSequences?.(n);
  }
  const obs = Float64Array.from({ length: days }, (_, i) => basin.rawTarget[seqLength - 1 + i]);
  return evaluations.map((_, k) => nse(obs, sims.subarray(k * days, (k + 1) * days)));
}

export interface RobustnessRow {
  basin: string;
  sigma: number;
  draw: number;
  nse: number;
}

export interface SigmaSummary {
  sigma: number;
  /** Finite NSE values (basins x draws). */
  count: number;
  mean: number;
  median: number;
  p1: number;
  p5: number;
  p25: number;
  p75: number;
  p95: number;
}

/** Per sigma: mean, median and percentiles (numpy's linear method) of the finite NSE values over basins and draws. */
export function summarizeRobustness(rows: readonly RobustnessRow[], sigmas: readonly number[]): SigmaSummary[] {
  return sigmas.map((sigma) => {
    const v = rows.filter((r) => r.sigma === sigma && Number.isFinite(r.nse)).map((r) => r.nse);
    const q = (p: number) => (v.length ? percentileLinear(v, p) : Number.NaN);
    return {
      sigma,
      count: v.length,
      mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN,
      median: q(50),
      p1: q(1),
      p5: q(5),
      p25: q(25),
      p75: q(75),
      p95: q(95),
    };
  });
}

export interface RobustnessPlan {
  basins: number;
  evaluationsPerBasin: number;
  days: number;
  /** basins x evaluations x days: sequences of seq_length days through the model. */
  sequences: number;
}

export interface RobustnessOptions {
  runDir: string;
  output?: string;
  epoch?: number;
  backend?: BackendName;
  /** Compute threads (default: the run's num_workers; 0: all cores). */
  threads?: number;
  period?: Period;
  sigmas?: number[];
  draws?: number;
  /** Noise seed (default: the run's seed, else 0). */
  seed?: number;
  basins?: string;
  batchSize?: number;
  figures?: boolean;
  /** Called once the data is loaded, before any model evaluation. */
  onPlan?: (plan: RobustnessPlan) => void;
  onProgress?: (sequencesDone: number, sequencesTotal: number, basinsDone: number, basinsTotal: number) => void;
  /** Notes for the user (a stale lock taken over). */
  onNote?: (note: string) => void;
  /** The run directory's lock when the caller already holds it; otherwise it is taken here (output in the run). */
  lock?: DirectoryLock;
}

export interface RobustnessSummary {
  outputDir: string;
  plan: RobustnessPlan;
  sigmas: number[];
  draws: number;
  seed: number;
  rows: RobustnessRow[];
  summary: SigmaSummary[];
  /** Wall time of the model evaluations, and of the whole command. */
  evaluationSeconds: number;
  seconds: number;
  files: string[];
}

export function validateSigmas(sigmas: readonly number[]): number[] {
  if (sigmas.length === 0) throw new InputError('--sigmas: no noise levels given');
  const seen = new Set<number>();
  for (const s of sigmas) {
    if (!Number.isFinite(s) || s < 0) throw new InputError(`--sigmas: '${s}' is not a non-negative number`);
    if (seen.has(s)) throw new InputError(`--sigmas: ${s} is listed twice`);
    seen.add(s);
  }
  return [...sigmas].sort((a, b) => a - b);
}

/**
 * `ealstm analyze robustness`: writes robustness.csv (basin,sigma,draw,nse), robustness_summary.csv and the box
 * plot robustness.svg/png.
 */
export function runRobustness(options: RobustnessOptions): RobustnessSummary {
  const started = performance.now();
  const sigmas = validateSigmas(options.sigmas ?? PAPER_SIGMAS);
  const draws = options.draws ?? 50;
  if (!Number.isInteger(draws) || draws < 1) throw new InputError(`--draws must be a positive integer, got ${draws}`);
  const run = loadRun(options.runDir, { epoch: options.epoch, backend: options.backend, threads: options.threads, need: 'static', analysis: 'the robustness analysis' });
  // Writing into the run (its analysis/ folder), it holds the run's lock: two analyses at once would mix their files.
  return withRunOutputLock(options.runDir, options.output, 'analyze robustness', () => robustnessOfRun(options, run, sigmas, draws, started), options.onNote, options.lock);
}

function robustnessOfRun(options: RobustnessOptions, run: LoadedRun, sigmas: number[], draws: number, started: number): RobustnessSummary {
  const { config, scaler, model } = run;
  const seed = options.seed ?? config.seed ?? 0;
  const basins = selectBasins(config, options.basins);
  const outputDir = outputFolder(options.runDir, options.output);
  const data = normalize(loadPeriod(config, basins, options.period ?? 'test'), scaler);
  const perBasin = evaluationsPerBasin(sigmas, draws);
  const days = data.reduce((n, b) => n + b.rows - config.seq_length + 1, 0);
  const plan: RobustnessPlan = { basins: data.length, evaluationsPerBasin: perBasin, days: days / Math.max(data.length, 1), sequences: perBasin * days };
  options.onPlan?.(plan);

  const evalStart = performance.now();
  const s = config.static_attributes.length;
  const batch = Math.max(options.batchSize ?? 512, 1);
  const rows: RobustnessRow[] = [];
  let done = 0;
  data.forEach((b, bi) => {
    const evaluations = noiseDraws(seed, b.basin, sigmas, draws, s);
    const values = basinRobustness(model, b, config.seq_length, { mean: scaler.target_mean, std: scaler.target_std }, evaluations, batch, (n) => {
      done += n;
      options.onProgress?.(done, plan.sequences, bi, data.length);
    });
    evaluations.forEach((e, k) => rows.push({ basin: b.basin, sigma: e.sigma, draw: e.draw, nse: values[k] }));
    options.onProgress?.(done, plan.sequences, bi + 1, data.length);
  });
  const evaluationSeconds = (performance.now() - evalStart) / 1000;

  const summary = summarizeRobustness(rows, sigmas);
  const files: string[] = [];
  const csv = path.join(outputDir, 'robustness.csv');
  writeFileAtomic(csv, `basin,sigma,draw,nse\n${rows.map((r) => csvLine([r.basin, r.sigma, r.draw, r.nse])).join('\n')}\n`);
  const summaryCsv = path.join(outputDir, 'robustness_summary.csv');
  const keys = ['sigma', 'count', 'mean', 'median', 'p1', 'p5', 'p25', 'p75', 'p95'] as const;
  writeFileAtomic(summaryCsv, `${keys.join(',')}\n${summary.map((r) => csvLine(keys.map((k) => r[k]))).join('\n')}\n`);
  files.push(csv, summaryCsv);
  if (options.figures !== false) {
    files.push(...writeAnalysisFigure(robustnessFigure(rows, sigmas, { draws, basins: data.length }), path.join(outputDir, 'robustness')));
  }
  return {
    outputDir,
    plan,
    sigmas,
    draws,
    seed,
    rows,
    summary,
    evaluationSeconds,
    seconds: (performance.now() - started) / 1000,
    files,
  };
}
