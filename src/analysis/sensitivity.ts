/**
 * The paper's "explicit Morris" feature ranking (Sect. 2.6.2, Table 4, Fig. 7; papercode/morris.py and the ranking
 * notebook): for every day of the period of every basin, the exact gradient of the normalised prediction with
 * respect to each standardised static attribute (model in eval mode, backward with dOut = 1 per sample); per basin
 * the mean absolute gradient over the days, min-max scaled to [0, 1] over the attributes; the scaled values
 * averaged over basins and sorted.
 */
import path from 'node:path';
import type { FloatArray } from '../compute/backend.js';
import type { BackendName } from '../compute/select.js';
import { gatherWindows } from '../data/batches.js';
import { loadPeriod } from '../data/dataset.js';
import type { NormalizedBasin, Period } from '../data/types.js';
import { normalize } from '../data/normalize.js';
import type { RecurrentModel } from '../models/model.js';
import { writeFileAtomic } from '../util/files.js';
import { type LoadedRun, loadRun } from '../run/load-run.js';
import { type DirectoryLock, withRunOutputLock } from '../run/lock.js';
import { basinCoordinates, csvLine, outputFolder, runSource, selectBasins } from './common.js';
import { sensitivityMapFigure, sensitivityRankingFigure, writeAnalysisFigure } from './figures.js';

const onesOf = new WeakMap<RecurrentModel, FloatArray>();

/**
 * Per-sample gradients d(prediction_b)/d(x_s[b]) for the n sequences already in the model's input buffers: forward
 * in eval mode, backward with dOut = 1 for every sample. Since sample b's static input only reaches prediction b,
 * the gradient of the sum of the predictions w.r.t. x_s[b] is exactly the per-sample gradient. Returns [n, S]
 * (float64 copy) and leaves the predictions in model.output. Parameter gradients are zeroed before and after.
 */
export function staticInputGradients(model: RecurrentModel, n: number, out = new Float64Array(n * model.spec.staticInputs)): Float64Array {
  const s = model.spec.staticInputs;
  if (s === 0) throw new Error('the model has no static inputs');
  model.forward(n, null);
  let ones = onesOf.get(model);
  if (!ones || ones.length < n) {
    ones = model.backend.alloc(Math.max(n, model.capacity)).fill(1);
    model.backend.hostWrote(ones);
    onesOf.set(model, ones);
  }
  model.zeroGradients();
  model.backward(ones, { inputGradients: true });
  model.zeroGradients();
  model.backend.toHost(model.staticInputGrad, 0, n * s);
  for (let i = 0; i < n * s; i++) out[i] = model.staticInputGrad[i];
  return out;
}

export interface BasinSensitivity {
  /** Mean |d prediction / d x_s| per attribute over the used days. */
  meanAbs: Float64Array;
  /** Days whose gradient entered the mean. */
  samples: number;
  /** Days left out because their input window has a missing value (NaN prediction and gradient). */
  skipped: number;
}

/** Mean absolute per-sample static gradients of one basin over every day of its period (missing-obs days included). */
export function basinSensitivity(model: RecurrentModel, basin: NormalizedBasin, seqLength: number, batchSize: number): BasinSensitivity {
  const s = model.spec.staticInputs;
  const days = basin.rows - seqLength + 1;
  const sums = new Float64Array(s);
  const samples = new Int32Array(2 * days);
  const order = new Int32Array(days);
  for (let i = 0; i < days; i++) {
    samples[2 * i + 1] = seqLength - 1 + i;
    order[i] = i;
  }
  model.ensureCapacity(batchSize, seqLength);
  const grad = new Float64Array(batchSize * s);
  let used = 0;
  let skipped = 0;
  for (let from = 0; from < days; from += batchSize) {
    const n = Math.min(batchSize, days - from);
    gatherWindows([basin], samples, order, from, n, seqLength, model.dynamicInput, model.staticInput);
    staticInputGradients(model, n, grad);
    for (let i = 0; i < n; i++) {
      let finite = true;
      for (let j = 0; j < s; j++) if (!Number.isFinite(grad[i * s + j])) finite = false;
      if (!finite) {
        skipped++;
        continue;
      }
      used++;
      for (let j = 0; j < s; j++) sums[j] += Math.abs(grad[i * s + j]);
    }
  }
  return { meanAbs: sums.map((v) => v / used), samples: used, skipped };
}

export interface SensitivityRanking {
  /** Per basin, the mean |gradient| min-max scaled to [0, 1] over the attributes ([basins, S]; NaN if all equal). */
  scaled: Float64Array;
  /** Mean of the scaled values over the basins (NaN rows skipped), per attribute. */
  score: number[];
  ranking: { rank: number; attribute: string; score: number }[];
  /** The attribute with the largest mean |gradient| of each basin. */
  mostSensitive: string[];
}

/** Min-max scaling per basin, the average over basins and the descending ranking (the ranking notebook, cells 8-10). */
export function rankSensitivities(meanAbs: Float64Array, basins: number, attributes: string[]): SensitivityRanking {
  const s = attributes.length;
  const scaled = new Float64Array(basins * s);
  const sums = new Float64Array(s);
  let rows = 0;
  const mostSensitive: string[] = [];
  for (let b = 0; b < basins; b++) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let arg = 0;
    for (let j = 0; j < s; j++) {
      const v = meanAbs[b * s + j];
      if (v < min) min = v;
      if (v > max) {
        max = v;
        arg = j;
      }
    }
    mostSensitive.push(Number.isFinite(max) ? attributes[arg] : '');
    const range = max - min;
    const ok = range > 0 && Number.isFinite(range);
    for (let j = 0; j < s; j++) scaled[b * s + j] = ok ? (meanAbs[b * s + j] - min) / range : Number.NaN;
    if (ok) {
      rows++;
      for (let j = 0; j < s; j++) sums[j] += scaled[b * s + j];
    }
  }
  const score = Array.from(sums, (v) => (rows > 0 ? v / rows : Number.NaN));
  const ranking = attributes
    .map((attribute, j) => ({ attribute, score: score[j] }))
    .sort((a, b) => b.score - a.score || a.attribute.localeCompare(b.attribute))
    .map((r, i) => ({ rank: i + 1, ...r }));
  return { scaled, score, ranking, mostSensitive };
}

export interface SensitivityOptions {
  runDir: string;
  output?: string;
  epoch?: number;
  backend?: BackendName;
  /** Compute threads (default: the run's num_workers; 0: all cores). */
  threads?: number;
  period?: Period;
  /** Basin file or comma-separated ids (default: the run's test basins). */
  basins?: string;
  batchSize?: number;
  figures?: boolean;
  onBasin?: (done: number, total: number, basin: string) => void;
  /** Notes for the user (a stale lock taken over). */
  onNote?: (note: string) => void;
  /** The run directory's lock when the caller already holds it; otherwise it is taken here (output in the run). */
  lock?: DirectoryLock;
}

export interface SensitivitySummary extends SensitivityRanking {
  outputDir: string;
  attributes: string[];
  basins: string[];
  meanAbs: Float64Array;
  samples: number[];
  skipped: number[];
  seconds: number;
  files: string[];
  notes: string[];
}

/**
 * `ealstm analyze sensitivity`: writes sensitivity_ranking.csv (rank,attribute,score), sensitivity_per_basin.csv
 * (basin, most_sensitive, days, then the mean |gradient| of each attribute) and the figures.
 */
export function runSensitivity(options: SensitivityOptions): SensitivitySummary {
  const started = performance.now();
  const run = loadRun(options.runDir, { epoch: options.epoch, backend: options.backend, threads: options.threads, need: 'static', analysis: 'the sensitivity analysis' });
  // Writing into the run (its analysis/ folder), it holds the run's lock: two analyses at once would mix their files.
  return withRunOutputLock(options.runDir, options.output, 'analyze sensitivity', () => sensitivityOfRun(options, run, started), options.onNote, options.lock);
}

function sensitivityOfRun(options: SensitivityOptions, run: LoadedRun, started: number): SensitivitySummary {
  const { config, scaler, model } = run;
  const period = options.period ?? 'test';
  const basins = selectBasins(config, options.basins);
  const outputDir = outputFolder(options.runDir, options.output);
  const data = normalize(loadPeriod(config, basins, period), scaler);
  const attributes = [...config.static_attributes];
  const s = attributes.length;
  const meanAbs = new Float64Array(basins.length * s);
  const samples: number[] = [];
  const skipped: number[] = [];
  const batch = Math.max(options.batchSize ?? 256, 1);
  data.forEach((b, i) => {
    const r = basinSensitivity(model, b, config.seq_length, batch);
    meanAbs.set(r.meanAbs, i * s);
    samples.push(r.samples);
    skipped.push(r.skipped);
    options.onBasin?.(i + 1, data.length, b.basin);
  });
  const ranked = rankSensitivities(meanAbs, basins.length, attributes);
  const files: string[] = [];
  const notes: string[] = [];

  const rankingFile = path.join(outputDir, 'sensitivity_ranking.csv');
  writeFileAtomic(rankingFile, `rank,attribute,score\n${ranked.ranking.map((r) => csvLine([r.rank, r.attribute, r.score])).join('\n')}\n`);
  const perBasinFile = path.join(outputDir, 'sensitivity_per_basin.csv');
  const lines = [csvLine(['basin', 'most_sensitive', 'days', ...attributes])];
  basins.forEach((b, i) => lines.push(csvLine([b, ranked.mostSensitive[i], samples[i], ...Array.from(meanAbs.subarray(i * s, (i + 1) * s))])));
  writeFileAtomic(perBasinFile, `${lines.join('\n')}\n`);
  files.push(rankingFile, perBasinFile);
  const totalSkipped = skipped.reduce((a, b) => a + b, 0);
  if (totalSkipped > 0) notes.push(`${totalSkipped} day(s) left out: their input window has a missing value`);

  if (options.figures !== false) {
    files.push(...writeAnalysisFigure(sensitivityRankingFigure(ranked.ranking, { basins: basins.length }), path.join(outputDir, 'sensitivity_ranking')));
    const coords = basinCoordinates(runSource(config), basins);
    if ('lat' in coords) {
      const points = basins.map((basin, i) => ({ basin, lat: coords.lat[i], lon: coords.lon[i], attribute: ranked.mostSensitive[i] }));
      files.push(...writeAnalysisFigure(sensitivityMapFigure(points), path.join(outputDir, 'sensitivity_map')));
    } else {
      notes.push(`no map of the most sensitive attribute: ${coords.reason}`);
    }
  }
  return {
    outputDir,
    attributes,
    basins,
    meanAbs,
    samples,
    skipped,
    ...ranked,
    seconds: (performance.now() - started) / 1000,
    files,
    notes,
  };
}
