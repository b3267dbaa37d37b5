import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { crc32, inflateSync } from 'node:zlib';
import { readBasinTable } from '../src/analysis/common.js';
import { loadRun } from '../src/run/load-run.js';
import { analyzeEmbedding, inputGateEmbedding, readEmbeddingInput, writeRunEmbedding } from '../src/analysis/embedding.js';
import { encodePng } from '../src/analysis/figures.js';
import { kmeans, standardizeColumns } from '../src/analysis/kmeans.js';
import { evaluationsPerBasin, noiseDraws, runRobustness } from '../src/analysis/robustness.js';
import { rankSensitivities, runSensitivity, staticInputGradients } from '../src/analysis/sensitivity.js';
import { silhouetteSamples, silhouetteSummary } from '../src/analysis/silhouette.js';
import { sampleVariance, varianceReduction } from '../src/analysis/variance-reduction.js';
import { ReferenceBackend } from '../src/compute/reference.js';
import { loadConfig } from '../src/config/load.js';
import { loadPeriod } from '../src/data/dataset.js';
import { normalize } from '../src/data/normalize.js';
import { predictBasin } from '../src/evaluation/predict.js';
import { InputError } from '../src/util/errors.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import type { ModelSpec } from '../src/models/layout.js';
import { RecurrentModel } from '../src/models/model.js';
import { lossAndGradient } from '../src/training/losses.js';
import { train } from '../src/training/trainer.js';
import { Random } from '../src/util/random.js';
import { buildModel, relativeError } from './helpers/golden-lstm.js';
import { repoRoot, tinyConfig } from './helpers/tiny-config.js';

const f64 = new ReferenceBackend('float64');

function tmpDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ealstm-analysis-'));
}

function csvRows(file: string): string[][] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(','));
}

// ---------------------------------------------------------------------------------------------------------
// sensitivity: per-sample input gradients

describe('per-sample static-input gradients (sensitivity)', () => {
  for (const kind of ['ealstm', 'lstm'] as const) {
    test(`${kind}: d prediction_b / d x_s[b] matches central finite differences (float64)`, () => {
      const spec: ModelSpec = { kind, dynamicInputs: 3, staticInputs: 4, hidden: 5 };
      const n = 3;
      const seq = 7;
      const rng = new Random(3);
      const model = new RecurrentModel(f64, spec, 0.4);
      model.initialize(rng, 1);
      for (let i = 0; i < model.params.length; i++) model.params[i] += 0.3 * rng.normal();
      model.ensureCapacity(n, seq);
      for (let i = 0; i < seq * n * spec.dynamicInputs; i++) model.dynamicInput[i] = rng.normal();
      for (let i = 0; i < n * spec.staticInputs; i++) model.staticInput[i] = rng.normal();
      const grad = staticInputGradients(model, n);
      const s = spec.staticInputs;
      const h = 1e-6;
      for (let b = 0; b < n; b++) {
        for (let j = 0; j < s; j++) {
          const at = b * s + j;
          const saved = model.staticInput[at];
          model.staticInput[at] = saved + h;
          const up = Float64Array.from(model.forward(n, null).subarray(0, n));
          model.staticInput[at] = saved - h;
          const down = Float64Array.from(model.forward(n, null).subarray(0, n));
          model.staticInput[at] = saved;
          const fd = (up[b] - down[b]) / (2 * h);
          assert.ok(Math.abs(fd - grad[at]) <= 1e-7 * Math.max(1, Math.abs(fd)), `sample ${b}, attribute ${j}: analytic ${grad[at]}, finite difference ${fd}`);
          for (let o = 0; o < n; o++) if (o !== b) assert.equal(up[o], down[o], 'x_s of one sample does not change the others');
        }
      }
    });

    test(`${kind}: consistent with the golden x_s gradient of the NSE* loss (PyTorch)`, () => {
      const { model, c } = buildModel(f64, kind);
      const n = c.inputs.y.length;
      const s = c.inputs.x_s.shape[1];
      // The fixture's x_s gradient is of the NSE* loss: reproduce it with dOut = dLoss/dy ...
      const pred = model.forward(n, null);
      const dOut = f64.alloc(n);
      lossAndGradient('NSE', n, pred, Float64Array.from(c.inputs.y), Float64Array.from(c.inputs.q_std), dOut);
      model.grads.fill(0);
      model.backward(dOut, { inputGradients: true });
      const expected = c.grad_of_loss_nse_star.x_s;
      assert.ok(relativeError(Array.from(model.staticInputGrad.subarray(0, n * s)), expected) < 1e-10);
      // ... and the per-sample d(pred_b)/d(x_s[b]) times dLoss/dy_b must give the same (chain rule per sample).
      const perSample = staticInputGradients(model, n);
      const chained = Array.from(perSample, (g, i) => g * dOut[Math.floor(i / s)]);
      const err = relativeError(chained, expected);
      assert.ok(err < 1e-10, `relative error ${err}`);
    });
  }

  test('ranking: per-basin min-max scaling, mean over basins, descending', () => {
    const r = rankSensitivities(Float64Array.from([1, 2, 3, 4, 0, 2, 5, 5, 5]), 3, ['a', 'b', 'c']);
    assert.deepEqual(Array.from(r.scaled.subarray(0, 6)), [0, 0.5, 1, 1, 0, 0.5]);
    assert.ok(r.scaled.subarray(6).every((v) => Number.isNaN(v)), 'a basin with equal values has no scaling');
    assert.deepEqual(r.score, [0.5, 0.25, 0.75]);
    assert.deepEqual(r.ranking.map((x) => x.attribute), ['c', 'a', 'b']);
    assert.deepEqual(r.mostSensitive, ['c', 'a', 'a']);
  });
});

// ---------------------------------------------------------------------------------------------------------
// k-means, silhouette, variance reduction

function blobs(perBlob: number, centres: number[][], spread: number, seed: number): { data: Float64Array; truth: number[]; dim: number } {
  const rng = new Random(seed);
  const dim = centres[0].length;
  const data: number[] = [];
  const truth: number[] = [];
  centres.forEach((c, k) => {
    for (let i = 0; i < perBlob; i++) {
      for (let j = 0; j < dim; j++) data.push(c[j] + spread * rng.normal());
      truth.push(k);
    }
  });
  return { data: Float64Array.from(data), truth, dim };
}

/** Same partition up to renumbering. */
function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  const map = new Map<number, number>();
  const back = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((map.get(a[i]) ?? b[i]) !== b[i] || (back.get(b[i]) ?? a[i]) !== a[i]) return false;
    map.set(a[i], b[i]);
    back.set(b[i], a[i]);
  }
  return true;
}

/** Silhouette straight from its definition, without a distance matrix. */
function bruteSilhouette(data: Float64Array, dim: number, labels: number[]): number[] {
  const n = labels.length;
  const dist = (i: number, j: number) => Math.hypot(...Array.from({ length: dim }, (_, c) => data[i * dim + c] - data[j * dim + c]));
  return labels.map((li, i) => {
    const same = labels.map((_, j) => j).filter((j) => j !== i && labels[j] === li);
    if (same.length === 0) return 0;
    const a = same.reduce((s, j) => s + dist(i, j), 0) / same.length;
    const others = [...new Set(labels)].filter((l) => l !== li);
    const b = Math.min(...others.map((l) => {
      const members = labels.map((_, j) => j).filter((j) => labels[j] === l);
      return members.reduce((s, j) => s + dist(i, j), 0) / members.length;
    }));
    return (b - a) / Math.max(a, b);
  });
}

describe('k-means and silhouette', () => {
  test('three well-separated blobs: k-means finds them and k = 3 has the best mean silhouette', () => {
    const { data, truth, dim } = blobs(15, [[0, 0], [10, 0], [0, 10]], 0.5, 1);
    const n = truth.length;
    const km = kmeans(data, n, dim, 3, { seed: 0 });
    assert.ok(samePartition(km.labels, truth));
    assert.ok(km.converged);
    assert.equal(km.labels[0], 0, 'clusters numbered by first appearance');
    const scores = [2, 3, 4, 5, 6].map((k) => ({ k, ...silhouetteSummary(silhouetteSamples({ data, dim }, kmeans(data, n, dim, k, { seed: 0 }).labels)) }));
    const best = scores.reduce((a, b) => (b.mean > a.mean ? b : a));
    assert.equal(best.k, 3);
    assert.ok(best.mean > 0.85 && best.min > 0.5);
  });

  test('k-means is seeded: same seed, same result; the inertia is the sum of squared distances', () => {
    const { data, dim } = blobs(20, [[0, 0, 0], [3, 1, 0], [1, 4, 2], [5, 5, 5]], 1.5, 2);
    const n = data.length / dim;
    const a = kmeans(data, n, dim, 4, { seed: 7 });
    const b = kmeans(data, n, dim, 4, { seed: 7 });
    assert.deepEqual(a.labels, b.labels);
    let inertia = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) inertia += (data[i * dim + j] - a.centers[a.labels[i] * dim + j]) ** 2;
    assert.ok(Math.abs(inertia - a.inertia) < 1e-9 * inertia);
    // More restarts never give a worse optimum than one of them.
    assert.ok(kmeans(data, n, dim, 4, { seed: 7, nInit: 30 }).inertia <= kmeans(data, n, dim, 4, { seed: 7, nInit: 1 }).inertia + 1e-12);
  });

  test('a 4-point case computed by hand', () => {
    // points 0, 1, 4, 5 on a line; clusters {0, 1} and {4, 5}
    const data = Float64Array.from([0, 1, 4, 5]);
    const s = silhouetteSamples({ data, dim: 1 }, [0, 0, 1, 1]);
    // x=0: a = 1, b = (4 + 5)/2 = 4.5 -> 3.5/4.5; x=1: a = 1, b = (3 + 4)/2 = 3.5 -> 2.5/3.5; symmetric for 4, 5
    const expected = [7 / 9, 5 / 7, 5 / 7, 7 / 9];
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(s[i] - expected[i]) < 1e-15);
    assert.ok(Math.abs(silhouetteSummary(s).mean - (7 / 9 + 5 / 7) / 2) < 1e-15);
    // clusters {0, 1, 4} and {5}: the singleton has 0; x=4: a = (4 + 3)/2 = 3.5, b = 1 -> (1 - 3.5)/3.5
    const t = silhouetteSamples({ data, dim: 1 }, [2, 2, 2, 9]);
    assert.ok(Math.abs(t[2] - -2.5 / 3.5) < 1e-15);
    assert.equal(t[3], 0);
    assert.equal(silhouetteSummary(t).min, t[2]);
    assert.throws(() => silhouetteSamples({ data, dim: 1 }, [0, 0, 0, 0]), /number of clusters/);
  });

  test('matches a brute-force silhouette on random data and random labels', () => {
    const rng = new Random(11);
    for (const [n, dim, k] of [[40, 5, 4], [25, 13, 7], [9, 2, 2]]) {
      const data = Float64Array.from({ length: n * dim }, () => rng.normal());
      const labels = Array.from({ length: n }, (_, i) => (i < k ? i : rng.int(k)));
      const fast = silhouetteSamples({ data, dim }, labels);
      const slow = bruteSilhouette(data, dim, labels);
      for (let i = 0; i < n; i++) assert.ok(Math.abs(fast[i] - slow[i]) < 1e-12, `n=${n} point ${i}: ${fast[i]} vs ${slow[i]}`);
    }
  });

  test('standardising uses the sample std (ddof=1), as pandas', () => {
    const { values, constant } = standardizeColumns(Float64Array.from([1, 5, 2, 5, 3, 5]), 3, 2);
    assert.deepEqual(Array.from(values), [-1, 0, 0, 0, 1, 0]);
    assert.deepEqual(constant, [1]);
  });

  test('fractional variance reduction: 1 - mean over clusters of var_cluster / var_all (ddof=1, NaN skipped)', () => {
    // one signature: clusters {1,2,3} and {10,11,12} have variance 1 each
    const values = Float64Array.from([1, 2, 3, 10, 11, 12]);
    const all = sampleVariance(values);
    assert.ok(Math.abs(all - 25.1) < 1e-12); // mean 6.5, squared deviations sum to 125.5, / 5
    const r = varianceReduction(values, 6, 1, [0, 0, 0, 1, 1, 1], 2);
    assert.ok(Math.abs(r.reduction[0] - (1 - 1 / 25.1)) < 1e-12);
    // a singleton cluster has no variance and is left out; a NaN value is skipped
    const s = varianceReduction(Float64Array.from([1, 2, Number.NaN, 10, 11, 12]), 6, 1, [0, 0, 0, 1, 1, 2], 3);
    const allS = sampleVariance([1, 2, 10, 11, 12]);
    assert.ok(Math.abs(s.reduction[0] - (1 - (0.5 / allS + 0.5 / allS) / 2)) < 1e-12);
    assert.ok(Number.isNaN(s.ratios[0][2]));
  });
});

// ---------------------------------------------------------------------------------------------------------
// a tiny trained run: robustness, sensitivity, embedding

describe('analyses of a tiny trained run', () => {
  let runDir = '';
  before(() => {
    const { dir, file } = tinyConfig({ epochs: '1', hidden_size: '6' });
    runDir = path.join(dir, 'run');
    train(loadConfig(file), { runDir });
  });

  test('robustness: sigma 0 equals the plain evaluation NSE; CSV shape; seeded, prefix-stable draws', () => {
    const nse = new Map(evaluateRun(runDir).results.map((r) => [r.basin, r.metrics.NSE]));
    const out = path.join(path.dirname(runDir), 'robust');
    let planned = 0;
    const r = runRobustness({ runDir, output: out, sigmas: [0, 0.5, 1], draws: 3, seed: 4, batchSize: 400, onPlan: (p) => (planned = p.sequences) });
    assert.equal(evaluationsPerBasin([0, 0.5, 1], 3), 7);
    assert.equal(planned, 3 * 7 * 182, 'basins x evaluations x days');
    const rows = csvRows(path.join(out, 'robustness.csv'));
    assert.deepEqual(rows[0], ['basin', 'sigma', 'draw', 'nse']);
    assert.equal(rows.length - 1, 3 * 7);
    for (const row of r.rows.filter((x) => x.sigma === 0)) {
      const expected = nse.get(row.basin) as number;
      assert.ok(Math.abs(row.nse - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${row.basin}: ${row.nse} vs ${expected}`);
    }
    assert.ok(r.rows.filter((x) => x.sigma === 1).every((x) => x.nse !== nse.get(x.basin)), 'noise changes the simulation');
    for (const f of ['robustness_summary.csv', 'robustness.svg', 'robustness.png']) assert.ok(existsSync(path.join(out, f)), f);
    const again = runRobustness({ runDir, output: path.join(out, 'again'), sigmas: [1, 0.5], draws: 2, seed: 4, figures: false });
    for (const row of again.rows) {
      const first = r.rows.find((x) => x.basin === row.basin && x.sigma === row.sigma && x.draw === row.draw);
      assert.equal(row.nse, first?.nse, 'fewer draws are a prefix of more, whatever the other sigmas');
    }
    assert.deepEqual(noiseDraws(4, '01022500', [0], 9, 4)[0].noise, new Float64Array(4), 'sigma 0 has one noise-free draw');
  });

  test('sensitivity: ranking and per-basin files, map of the most sensitive attribute', () => {
    const out = path.join(path.dirname(runDir), 'sens');
    const r = runSensitivity({ runDir, output: out, batchSize: 50 });
    const ranking = csvRows(path.join(out, 'sensitivity_ranking.csv'));
    assert.deepEqual(ranking[0], ['rank', 'attribute', 'score']);
    assert.deepEqual(ranking.slice(1).map((x) => x[1]).sort(), ['aridity', 'elev_mean', 'frac_forest', 'p_mean']);
    const scores = ranking.slice(1).map((x) => Number(x[2]));
    assert.ok(scores.every((v, i) => v >= 0 && v <= 1 && (i === 0 || v <= scores[i - 1])));
    const perBasin = csvRows(path.join(out, 'sensitivity_per_basin.csv'));
    assert.deepEqual(perBasin[0], ['basin', 'most_sensitive', 'days', 'p_mean', 'aridity', 'elev_mean', 'frac_forest']);
    assert.equal(perBasin.length, 4);
    assert.ok(perBasin.slice(1).every((x) => x[2] === '182'), 'every day of the test period');
    assert.deepEqual(r.samples, [182, 182, 182]);
    for (const f of ['sensitivity_map.png', 'sensitivity_map.svg', 'sensitivity_ranking.png']) assert.ok(existsSync(path.join(out, f)), f);
  });

  test('sensitivity: the per-basin mean |gradients| and the ranking match central finite differences of the predictions', () => {
    // Independent of the analysis' own gradient code: perturb each standardised attribute of the basin data and run
    // the evaluation's predictBasin (another batch size, so batch edges fall elsewhere).
    const r = runSensitivity({ runDir, output: path.join(path.dirname(runDir), 'sens-fd'), backend: 'reference-f64', batchSize: 50, figures: false });
    const { config, scaler, model } = loadRun(runDir, { backend: 'reference-f64' });
    const data = normalize(loadPeriod(config, r.basins, 'test'), scaler);
    const s = r.attributes.length;
    const h = 2 ** -10; // x +- h is exact in the float32 attribute arrays for |x| < 8192; truncation error ~1e-6
    const fdMeanAbs = new Float64Array(r.basins.length * s);
    data.forEach((basin, b) => {
      for (let j = 0; j < s; j++) {
        const saved = basin.statics[j];
        assert.equal(Math.fround(saved + h), saved + h);
        basin.statics[j] = saved + h;
        const up = predictBasin(model, basin, config.seq_length, 64);
        basin.statics[j] = saved - h;
        const down = predictBasin(model, basin, config.seq_length, 64);
        basin.statics[j] = saved;
        let sum = 0;
        for (let d = 0; d < up.length; d++) sum += Math.abs((up[d] - down[d]) / (2 * h));
        fdMeanAbs[b * s + j] = sum / up.length;
      }
    });
    r.meanAbs.forEach((v, i) => {
      const want = fdMeanAbs[i];
      assert.ok(Math.abs(v - want) <= 2e-5 * Math.abs(want), `${r.basins[Math.floor(i / s)]} ${r.attributes[i % s]}: ${v} vs finite differences ${want}`);
    });
    const fd = rankSensitivities(fdMeanAbs, r.basins.length, r.attributes);
    assert.deepEqual(r.ranking.map((x) => x.attribute), fd.ranking.map((x) => x.attribute));
    r.ranking.forEach((x, i) => assert.ok(Math.abs(x.score - fd.ranking[i].score) < 1e-4, `${x.attribute}: ${x.score} vs ${fd.ranking[i].score}`));
    assert.deepEqual(r.mostSensitive, fd.mostSensitive);
  });

  test('embedding of a run: the input gate per basin, with attributes and signatures written alongside', () => {
    const out = path.join(path.dirname(runDir), 'emb');
    const w = writeRunEmbedding({ runDir, output: out });
    const emb = readBasinTable(w.files.embedding, 'embedding');
    assert.deepEqual(emb.columns, ['cell_1', 'cell_2', 'cell_3', 'cell_4', 'cell_5', 'cell_6']);
    assert.deepEqual(emb.basins, ['01022500', '02053200', '02464000']);
    assert.ok(emb.values.every((v) => v > 0 && v < 1));
    const att = readBasinTable(w.files.attributes, 'attributes');
    assert.deepEqual(att.columns, ['gauge_lat', 'gauge_lon', 'p_mean', 'aridity', 'elev_mean', 'frac_forest']);
    assert.ok(w.files.signatures && readBasinTable(w.files.signatures, 'signatures', { allowMissing: true }).columns.length === 13);
    // the same values as the trained model's own input gate after a forward pass
    const run = loadRun(runDir, { backend: 'reference-f64' });
    const s = 4;
    const x = Float64Array.from({ length: 3 * s }, (_, i) => (att.values[Math.floor(i / s) * 6 + 2 + (i % s)] - run.scaler.static_mean[i % s]) / run.scaler.static_std[i % s]);
    run.model.ensureCapacity(3, 2);
    run.model.staticInput.set(x);
    run.model.forward(3, null);
    const gate = Array.from(run.model.inputGate.subarray(0, 18));
    assert.ok(relativeError(Array.from(inputGateEmbedding(run.model, x, 3)), gate) < 1e-15);
    assert.ok(relativeError(Array.from(emb.values), gate) < 1e-8);
  });
});

// ---------------------------------------------------------------------------------------------------------
// embedding analysis on synthetic files

function writeCsv(file: string, header: string[], rows: (string | number)[][]): string {
  writeFileSync(file, `${header.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`);
  return file;
}

function syntheticFiles(dir: string) {
  const { data, truth } = blobs(8, [[0.1, 0.1, 0.9, 0.5, 0.2, 0.8], [0.9, 0.2, 0.1, 0.5, 0.7, 0.1], [0.5, 0.9, 0.5, 0.1, 0.4, 0.4]], 0.03, 5);
  const n = truth.length;
  const basins = Array.from({ length: n }, (_, i) => String(1000000 + 37 * ((i * 7) % n)).padStart(8, '0'));
  const rng = new Random(9);
  const embedding = writeCsv(
    path.join(dir, 'embedding.csv'),
    ['basin', ...Array.from({ length: 6 }, (_, j) => `cell_${j + 1}`)],
    basins.map((b, i) => [b, ...Array.from(data.subarray(i * 6, (i + 1) * 6))]),
  );
  const attrNames = ['aridity', 'p_mean', 'elev_mean', 'area_gages2'];
  const attributes = writeCsv(
    path.join(dir, 'attributes.csv'),
    ['basin', 'gauge_lat', 'gauge_lon', ...attrNames],
    basins.map((b, i) => [b, 30 + truth[i] * 5 + rng.uniform(), -110 + truth[i] * 12 + rng.uniform(), 0.5 + truth[i] + 0.2 * rng.uniform(), 1 + 2 * rng.uniform(), 200 + 800 * rng.uniform(), 10 ** (1 + 3 * rng.uniform())]),
  );
  const signatures = writeCsv(
    path.join(dir, 'signatures.csv'),
    ['basin', 'q_mean', 'runoff_ratio', 'hfd_mean'],
    basins.map((b, i) => [b, truth[i] + 0.1 * rng.uniform(), rng.uniform(), i === 0 ? 'NA' : 150 + 10 * rng.uniform()]),
  );
  return { embedding, attributes, signatures, basins, truth };
}

describe('embedding analysis', () => {
  test('silhouette scan, clusters, variance reduction, UMAP and figures on synthetic files', () => {
    const dir = tmpDir();
    const files = syntheticFiles(dir);
    const out = path.join(dir, 'out');
    mkdirSync(out);
    const r = analyzeEmbedding(readEmbeddingInput(files), { output: out, ks: [2, 3, 4, 5, 6], clusterKs: [3, 4], seed: 1 });
    assert.equal(r.best.embedding.k, 3);
    const sil = csvRows(path.join(out, 'silhouette.csv'));
    assert.deepEqual(sil[0], ['features', 'k', 'mean_silhouette', 'min_silhouette']);
    assert.equal(sil.length - 1, 10);
    assert.deepEqual(new Set(sil.slice(1).map((x) => x[0])), new Set(['embedding', 'attributes']));
    const clusters = csvRows(path.join(out, 'clusters.csv'));
    assert.deepEqual(clusters[0], ['basin', 'embedding_k3', 'embedding_k4', 'attributes_k3', 'attributes_k4']);
    assert.ok(samePartition(clusters.slice(1).map((x) => Number(x[1])), files.truth));
    const vr = csvRows(path.join(out, 'variance_reduction.csv'));
    assert.deepEqual(vr[0], ['k', 'features', 'signature', 'reduction']);
    assert.equal(vr.length - 1, 4 * 3);
    const qMean = vr.find((x) => x[0] === '3' && x[1] === 'embedding' && x[2] === 'q_mean');
    assert.ok(qMean && Number(qMean[3]) > 0.95, 'clusters that follow q_mean explain most of its variance');
    assert.equal(r.umap?.length, files.basins.length);
    for (const f of ['umap.csv', 'silhouette.png', 'variance_reduction.png', 'cluster_map.png', 'umap.png', 'input_gates.png', 'input_gates.svg']) {
      assert.ok(existsSync(path.join(out, f)), f);
    }
    const svg = readFileSync(path.join(out, 'input_gates.svg'), 'utf8');
    assert.equal((svg.match(/<image /g) ?? []).length, 1, 'the heatmap is one image');
    assert.ok(!/<path[^>]*role-mark/.test(svg) && (svg.match(/<rect/g) ?? []).length < 10, 'not one rect per cell');
  });

  test('the PNG encoder writes a valid image: decoded, it gives back every pixel', () => {
    const png = encodePng(2, 1, Uint8Array.from([255, 0, 0, 0, 0, 255]));
    assert.deepEqual(Array.from(png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10]);
    assert.deepEqual(decodePng(png), { width: 2, height: 1, rgb: Uint8Array.from([255, 0, 0, 0, 0, 255]) });
    const rand = new Random(8);
    for (const [width, height] of [[1, 1], [7, 5], [64, 33]]) {
      const rgb = Uint8Array.from({ length: width * height * 3 }, () => Math.floor(256 * rand.uniform()));
      assert.deepEqual(decodePng(encodePng(width, height, rgb)), { width, height, rgb }, `${width} x ${height}`);
    }
    assert.throws(() => encodePng(2, 2, new Uint8Array(11)), RangeError);
  });
});

/**
 * A small PNG decoder for 8-bit RGB images (what encodePng writes), independent of it: checks the signature, every
 * chunk's CRC (zlib.crc32), the header fields and the chunk order; inflates the IDAT data with node:zlib and undoes
 * the five row filters.
 */
function decodePng(png: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const bytes = Buffer.from(png);
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'signature');
  const chunks: { type: string; data: Buffer }[] = [];
  for (let o = 8; o < bytes.length; ) {
    const length = bytes.readUInt32BE(o);
    const type = bytes.subarray(o + 4, o + 8).toString('latin1');
    const data = bytes.subarray(o + 8, o + 8 + length);
    assert.equal(bytes.readUInt32BE(o + 8 + length), crc32(bytes.subarray(o + 4, o + 8 + length)), `CRC of ${type}`);
    chunks.push({ type, data });
    o += 12 + length;
  }
  assert.equal(chunks[0].type, 'IHDR');
  assert.equal(chunks[chunks.length - 1].type, 'IEND');
  const header = chunks[0].data;
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  assert.deepEqual([...header.subarray(8, 13)], [8, 2, 0, 0, 0], 'bit depth 8, RGB, deflate, adaptive filtering, no interlace');
  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  const stride = width * 3;
  assert.equal(raw.length, height * (1 + stride), 'inflated size');
  const rgb = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (1 + stride)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (1 + stride) + 1 + x];
      const left = x >= 3 ? rgb[y * stride + x - 3] : 0;
      const up = y > 0 ? rgb[(y - 1) * stride + x] : 0;
      const upLeft = x >= 3 && y > 0 ? rgb[(y - 1) * stride + x - 3] : 0;
      const p = left + up - upLeft;
      const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
      const paeth = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      const predictor = [0, left, up, (left + up) >> 1, paeth][filter];
      assert.ok(predictor !== undefined, `row ${y}: unknown filter ${filter}`);
      rgb[y * stride + x] = (v + predictor) & 0xff;
    }
  }
  return { width, height, rgb };
}

// ---------------------------------------------------------------------------------------------------------
// bad input

function throwsInput(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: Error) => err instanceof InputError && message.test(err.message), `expected InputError ${message}`);
}

describe('bad input is a clear InputError', () => {
  test('embedding and attribute CSVs: missing values, non-numbers, mismatched basins', () => {
    const dir = tmpDir();
    const good = syntheticFiles(dir);
    const text = readFileSync(good.embedding, 'utf8').split('\n');
    const basin = good.basins[2];
    const edit = (name: string, row: number, col: number, value: string) => {
      const lines = [...text];
      const cells = lines[row].split(',');
      cells[col] = value;
      lines[row] = cells.join(',');
      const file = path.join(dir, name);
      writeFileSync(file, lines.join('\n'));
      return file;
    };
    throwsInput(() => readEmbeddingInput({ ...good, embedding: edit('missing.csv', 3, 2, '') }), new RegExp(`missing\\.csv:4: basin ${basin}, column 'cell_2': missing value`));
    throwsInput(() => readEmbeddingInput({ ...good, embedding: edit('nan.csv', 3, 2, 'NaN') }), /nan\.csv:4: basin .*, column 'cell_2': missing value/);
    throwsInput(() => readEmbeddingInput({ ...good, embedding: edit('text.csv', 3, 5, 'abc') }), new RegExp(`text\\.csv:4: basin ${basin}, column 'cell_5': not a number: 'abc'`));
    throwsInput(() => readEmbeddingInput({ ...good, embedding: edit('huge.csv', 3, 5, '1e400') }), new RegExp(`huge\\.csv:4: basin ${basin}, column 'cell_5': number out of range: '1e400'`));
    throwsInput(() => readEmbeddingInput({ ...good, embedding: edit('renamed.csv', 3, 0, '99999999') }), new RegExp(`attributes file .*attributes\\.csv: basin 99999999 of the embedding file .*renamed\\.csv is missing`));
    const short = path.join(dir, 'short.csv');
    writeFileSync(short, text.filter((_, i) => i !== 3).join('\n'));
    throwsInput(() => readEmbeddingInput({ ...good, embedding: short }), new RegExp(`embedding file .*short\\.csv: basin ${basin} of the attributes file .* is missing`));
    const attText = readFileSync(good.attributes, 'utf8').split('\n');
    const badAtt = path.join(dir, 'att_bad.csv');
    writeFileSync(badAtt, attText.map((l, i) => (i === 5 ? l.replace(/,[^,]*$/, ',') : l)).join('\n'));
    throwsInput(() => readEmbeddingInput({ ...good, attributes: badAtt }), /att_bad\.csv:6: basin \d+, column 'area_gages2': missing value/);
    const ragged = path.join(dir, 'ragged.csv');
    writeFileSync(ragged, text.map((l, i) => (i === 2 ? `${l},1` : l)).join('\n'));
    throwsInput(() => readEmbeddingInput({ ...good, embedding: ragged }), /ragged\.csv:3: expected 7 fields, found 8/);
    const sig = path.join(dir, 'sig_short.csv');
    writeFileSync(sig, readFileSync(good.signatures, 'utf8').split('\n').filter((_, i) => i !== 2).join('\n'));
    throwsInput(() => readEmbeddingInput({ ...good, signatures: sig }), /signatures file .*sig_short\.csv: basin \d+ is missing/);
  });

  test('run directories: no static inputs, a plain LSTM for the embedding, unknown basins, bad sigmas', () => {
    const noStatic = tinyConfig({ model: 'lstm', static_attributes: '[]' });
    const lstm = tinyConfig({ model: 'lstm' });
    const runOf = (c: { dir: string; file: string }) => {
      const run = path.join(c.dir, 'run');
      mkdirSync(run);
      copyFileSync(c.file, path.join(run, 'config.yml'));
      return run;
    };
    const noStaticRun = runOf(noStatic);
    const lstmRun = runOf(lstm);
    throwsInput(() => runSensitivity({ runDir: noStaticRun }), /run directory .*: the lstm model has no static inputs .* so the sensitivity analysis is not defined/);
    throwsInput(() => writeRunEmbedding({ runDir: noStaticRun }), /has no static inputs/);
    throwsInput(() => runRobustness({ runDir: noStaticRun }), /no static inputs/);
    throwsInput(() => writeRunEmbedding({ runDir: lstmRun }), /the embedding analysis needs an EA-LSTM .* model 'lstm'/);
    throwsInput(() => runSensitivity({ runDir: path.join(lstm.dir, 'nowhere') }), /run directory .*nowhere does not exist/);
    throwsInput(() => runRobustness({ runDir: lstmRun, sigmas: [0, -1] }), /--sigmas: '-1' is not a non-negative number/);
    throwsInput(() => runRobustness({ runDir: lstmRun, draws: 0 }), /--draws must be a positive integer/);
  });

  test('the CLI reports an InputError with exit code 2', () => {
    const dir = tmpDir();
    const files = syntheticFiles(dir);
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, readFileSync(files.embedding, 'utf8').replace(/\n(\d+),[^,]*,/, '\n$1,x,'));
    const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'analyze', 'embedding', '--embedding', bad, '--attributes', files.attributes, '--output', path.join(dir, 'o')], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /error: embedding file .*bad\.csv:2: basin \d+, column 'cell_1': not a number: 'x'/);
  });
});
