/**
 * The EA-LSTM's catchment embedding and its analysis (the paper's Sect. 2.6.3 / 3.4, Figs. 8-12;
 * papercode/clusterutils.py and the embedding notebook):
 * - the embedding of a basin is its input gate sigma(x_s W_sh + b_s), one value in [0, 1] per LSTM cell;
 * - k-means (k-means++, n_init 10, best inertia) for k = 3..14 on the embedding and on the standardised raw
 *   attributes, with the mean and minimum silhouette of each clustering (Fig. 9);
 * - for the chosen k (5 and 6 in the paper), clusters with n_init 200, the fractional reduction in variance of 13
 *   hydrological signatures (Fig. 10) and the cluster maps (Fig. 11);
 * - a 2-d UMAP projection of the embedding coloured by attributes (Fig. 12) and the input-gate heatmap (Fig. 8).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { UMAP } from 'umap-js';
import type { BackendName } from '../compute/select.js';
import { requireAllAttributes } from '../data/attribute-table.js';
import { loadAttributes } from '../data/cache.js';
import { InputError } from '../util/errors.js';
import { slice } from '../models/layout.js';
import { type LoadedRun, loadRun } from '../run/load-run.js';
import { type DirectoryLock, withRunOutputLock } from '../run/lock.js';
import type { RecurrentModel } from '../models/model.js';
import { writeFileAtomic } from '../util/files.js';
import { Random } from '../util/random.js';
import {
  type BasinTable,
  basinCoordinates,
  csvLine,
  outputFolder,
  pickColumns,
  readBasinTable,
  runSource,
  SIGNATURES,
  selectBasins,
} from './common.js';
import {
  clusterMapFigure,
  inputGateHeatmapFigure,
  silhouetteFigure,
  umapFigure,
  varianceReductionFigure,
  writeAnalysisFigure,
} from './figures.js';
import { kmeans, standardizeColumns } from './kmeans.js';
import { distanceMatrix, silhouetteSamples, silhouetteSummary } from './silhouette.js';
import { varianceReduction } from './variance-reduction.js';

/** The attributes the paper colours its UMAP figure by (those present are used). */
export const UMAP_COLOUR_ATTRIBUTES = ['aridity', 'elev_mean', 'p_mean', 'area_gages2', 'frac_forest', 'gvf_diff'] as const;
/** Column names read as gauge coordinates (not clustered). */
const LATITUDE = ['gauge_lat', 'lat', 'latitude'];
const LONGITUDE = ['gauge_lon', 'lon', 'longitude'];
/** k-means restarts of the silhouette scan (sklearn 0.21's default) and of the final clusters (get_clusters). */
export const SCAN_N_INIT = 10;
export const CLUSTER_N_INIT = 200;
/** Stream of the UMAP generator. */
const UMAP_STREAM = 12;

/**
 * The input gate sigma(x_s W_sh + b_s) of an EA-LSTM for n standardised attribute vectors ([n, S] row-major);
 * returns [n, H].
 */
export function inputGateEmbedding(model: RecurrentModel, statics: ArrayLike<number>, n: number): Float64Array {
  if (model.spec.kind !== 'ealstm') throw new Error('the input-gate embedding exists only for the EA-LSTM');
  const { staticInputs: s, hidden: h } = model.spec;
  const w = slice(model.layout, 'weight_sh').offset;
  const bias = slice(model.layout, 'bias_s').offset;
  const p = model.params;
  const out = new Float64Array(n * h);
  for (let b = 0; b < n; b++) {
    for (let j = 0; j < h; j++) {
      let z = p[bias + j];
      for (let k = 0; k < s; k++) z += statics[b * s + k] * p[w + k * h + j];
      out[b * h + j] = 1 / (1 + Math.exp(-z));
    }
  }
  return out;
}

/** What the analysis works on: basins in a fixed order, the embedding and the raw attributes of each. */
export interface EmbeddingInput {
  basins: string[];
  /** [basins, cells] */
  embedding: Float64Array;
  cells: number;
  /** Raw (not standardised) attributes used for clustering, [basins, names]. */
  attributes: { names: string[]; values: Float64Array };
  coordinates?: { lat: number[]; lon: number[] };
  /** Hydrological signatures, [basins, names], NaN allowed. */
  signatures?: { names: string[]; values: Float64Array };
  /** Where each part came from (for messages). */
  sources: { embedding: string; attributes: string; signatures?: string };
  notes: string[];
}

function columnOf(table: BasinTable, names: string[]): number {
  return table.columns.findIndex((c) => names.includes(c.toLowerCase()));
}

/**
 * Reads the embedding and attribute CSVs (first column the basin id, then numbers; an attribute file's gauge_lat /
 * gauge_lon columns are taken as coordinates, not clustered) and optionally a signatures CSV. Both main files must
 * hold the same basins; the signatures file must hold at least these basins.
 */
export function readEmbeddingInput(files: { embedding: string; attributes: string; signatures?: string }): EmbeddingInput {
  const emb = readBasinTable(files.embedding, 'embedding');
  const att = readBasinTable(files.attributes, 'attributes');
  const inAttributes = new Set(att.basins);
  const inEmbedding = new Set(emb.basins);
  const missingInAttributes = emb.basins.filter((b) => !inAttributes.has(b));
  if (missingInAttributes.length > 0) {
    throw new InputError(
      `attributes file ${files.attributes}: basin ${missingInAttributes[0]} of the embedding file ${files.embedding} is missing` +
        (missingInAttributes.length > 1 ? ` (and ${missingInAttributes.length - 1} more)` : ''),
    );
  }
  const missingInEmbedding = att.basins.filter((b) => !inEmbedding.has(b));
  if (missingInEmbedding.length > 0) {
    throw new InputError(
      `embedding file ${files.embedding}: basin ${missingInEmbedding[0]} of the attributes file ${files.attributes} is missing` +
        (missingInEmbedding.length > 1 ? ` (and ${missingInEmbedding.length - 1} more)` : '') +
        '; both files must list the same basins',
    );
  }
  const basins = emb.basins;
  const latCol = columnOf(att, LATITUDE);
  const lonCol = columnOf(att, LONGITUDE);
  const names = att.columns.filter((_, j) => j !== latCol && j !== lonCol);
  if (names.length === 0) throw new InputError(`attributes file ${files.attributes}: no attribute columns besides the coordinates`);
  const notes: string[] = [];
  let coordinates: EmbeddingInput['coordinates'];
  if (latCol >= 0 && lonCol >= 0) {
    const ll = pickColumns(att, basins, [att.columns[latCol], att.columns[lonCol]], 'attributes');
    coordinates = { lat: basins.map((_, i) => ll[2 * i]), lon: basins.map((_, i) => ll[2 * i + 1]) };
  } else {
    notes.push(`no cluster maps: the attributes file has no gauge_lat/gauge_lon columns`);
  }
  let signatures: EmbeddingInput['signatures'];
  if (files.signatures) {
    const sig = readBasinTable(files.signatures, 'signatures', { allowMissing: true });
    const known = SIGNATURES.filter((s) => sig.columns.includes(s));
    const use = known.length > 0 ? [...known] : sig.columns.filter((c) => !LATITUDE.includes(c.toLowerCase()) && !LONGITUDE.includes(c.toLowerCase()));
    if (known.length > 0 && known.length < SIGNATURES.length) {
      notes.push(`signatures file ${files.signatures} lacks ${SIGNATURES.filter((s) => !known.includes(s)).join(', ')}`);
    }
    signatures = { names: use, values: pickColumns(sig, basins, use, 'signatures') };
  }
  return {
    basins,
    embedding: emb.values,
    cells: emb.columns.length,
    attributes: { names, values: pickColumns(att, basins, names, 'attributes') },
    coordinates,
    signatures,
    sources: { ...files },
    notes,
  };
}

export interface SilhouetteRow {
  features: 'embedding' | 'attributes';
  k: number;
  mean: number;
  min: number;
  inertia: number;
}

export interface EmbeddingAnalysisOptions {
  output: string;
  ks?: number[];
  /** k of the final clusters, variance reduction and maps (default 5 and 6, as the paper). */
  clusterKs?: number[];
  seed?: number;
  figures?: boolean;
  onStep?: (message: string) => void;
}

export interface EmbeddingAnalysisSummary {
  outputDir: string;
  silhouette: SilhouetteRow[];
  best: { embedding: SilhouetteRow; attributes: SilhouetteRow };
  clusters: { features: 'embedding' | 'attributes'; k: number; labels: Int32Array }[];
  varianceReduction: { k: number; features: string; signature: string; reduction: number }[];
  umap?: number[][];
  files: string[];
  notes: string[];
}

/** Mean and minimum silhouette of the best of nInit k-means runs, for each k. */
export function silhouetteScan(data: Float64Array, n: number, dim: number, ks: number[], features: SilhouetteRow['features'], seed: number): SilhouetteRow[] {
  const distances = distanceMatrix(data, n, dim);
  return ks.map((k) => {
    const km = kmeans(data, n, dim, k, { seed, nInit: SCAN_N_INIT });
    const { mean, min } = silhouetteSummary(silhouetteSamples({ distances }, km.labels));
    return { features, k, mean, min, inertia: km.inertia };
  });
}

function bestOf(rows: SilhouetteRow[]): SilhouetteRow {
  return rows.reduce((a, b) => (b.mean > a.mean ? b : a));
}

/**
 * Runs the whole embedding analysis and writes, under `output`: silhouette.csv, clusters.csv,
 * variance_reduction.csv (with signatures), umap.csv and the figures.
 */
export function analyzeEmbedding(input: EmbeddingInput, options: EmbeddingAnalysisOptions): EmbeddingAnalysisSummary {
  const { basins, cells } = input;
  const n = basins.length;
  const seed = options.seed ?? 0;
  const notes = [...input.notes];
  const files: string[] = [];
  const step = options.onStep ?? (() => {});
  const outputDir = options.output;
  if (n < 3) throw new InputError(`embedding file ${input.sources.embedding}: ${n} basin(s); clustering needs at least 3`);
  const requested = options.ks ?? Array.from({ length: 12 }, (_, i) => i + 3);
  let ks = requested.filter((k) => k >= 2 && k <= n - 1);
  if (ks.length < requested.length) notes.push(`k outside 2..${n - 1} (the silhouette needs 2 <= k <= basins - 1) skipped: ${requested.filter((k) => !ks.includes(k)).join(', ')}`);
  if (ks.length === 0) {
    ks = Array.from({ length: n - 2 }, (_, i) => i + 2);
    notes.push(`none of the k asked for fits ${n} basins; scanned k = ${ks.join(', ')} instead`);
  }

  const attrs = input.attributes;
  const std = standardizeColumns(attrs.values, n, attrs.names.length);
  if (std.constant.length) notes.push(`attribute(s) constant over the basins, left at 0 after standardising: ${std.constant.map((j) => attrs.names[j]).join(', ')}`);

  step(`silhouette scan of k = ${ks.join(', ')} on the embedding (${n} basins x ${cells} cells) and the attributes (${attrs.names.length})`);
  const silhouette = [
    ...silhouetteScan(input.embedding, n, cells, ks, 'embedding', seed),
    ...silhouetteScan(std.values, n, attrs.names.length, ks, 'attributes', seed),
  ];
  const best = { embedding: bestOf(silhouette.filter((r) => r.features === 'embedding')), attributes: bestOf(silhouette.filter((r) => r.features === 'attributes')) };
  mkdirSync(outputDir, { recursive: true }); // a new --output folder is made here, once the inputs proved valid
  const silFile = path.join(outputDir, 'silhouette.csv');
  writeFileAtomic(silFile, `features,k,mean_silhouette,min_silhouette\n${silhouette.map((r) => csvLine([r.features, r.k, r.mean, r.min])).join('\n')}\n`);
  files.push(silFile);

  let clusterKs = (options.clusterKs ?? [5, 6]).filter((k) => k >= 2 && k <= n - 1);
  if (clusterKs.length === 0) {
    clusterKs = [...new Set([best.embedding.k, best.attributes.k])].sort((a, b) => a - b);
    notes.push(`the cluster k asked for do not fit ${n} basins; used the best k by silhouette: ${clusterKs.join(', ')}`);
  }
  step(`clusters for k = ${clusterKs.join(', ')} (k-means, ${CLUSTER_N_INIT} restarts)`);
  const clusters: EmbeddingAnalysisSummary['clusters'] = [];
  for (const features of ['embedding', 'attributes'] as const) {
    for (const k of clusterKs) {
      const data = features === 'embedding' ? input.embedding : std.values;
      const dim = features === 'embedding' ? cells : attrs.names.length;
      clusters.push({ features, k, labels: kmeans(data, n, dim, k, { seed, nInit: CLUSTER_N_INIT }).labels });
    }
  }
  const clusterFile = path.join(outputDir, 'clusters.csv');
  writeFileAtomic(
    clusterFile,
    `${['basin', ...clusters.map((c) => `${c.features}_k${c.k}`)].join(',')}\n${basins.map((b, i) => [b, ...clusters.map((c) => c.labels[i] + 1)].join(',')).join('\n')}\n`,
  );
  files.push(clusterFile);

  const reductions: EmbeddingAnalysisSummary['varianceReduction'] = [];
  if (input.signatures) {
    const sig = input.signatures;
    for (const c of clusters) {
      const r = varianceReduction(sig.values, n, sig.names.length, c.labels, c.k);
      sig.names.forEach((signature, j) => reductions.push({ k: c.k, features: c.features, signature, reduction: r.reduction[j] }));
    }
    const vrFile = path.join(outputDir, 'variance_reduction.csv');
    writeFileAtomic(vrFile, `k,features,signature,reduction\n${reductions.map((r) => csvLine([r.k, r.features, r.signature, r.reduction])).join('\n')}\n`);
    files.push(vrFile);
  } else {
    notes.push('no variance reduction: no hydrological signatures (give --signatures FILE.csv)');
  }

  let umap: number[][] | undefined;
  const neighbours = Math.min(10, n - 1);
  if (n >= 5) {
    step(`UMAP of the embedding (n_neighbors ${neighbours}, min_dist 0.1)`);
    const rng = new Random(seed, UMAP_STREAM);
    const rows = basins.map((_, i) => Array.from(input.embedding.subarray(i * cells, (i + 1) * cells)));
    umap = new UMAP({ nComponents: 2, nNeighbors: neighbours, minDist: 0.1, random: () => rng.uniform() }).fit(rows);
    const umapFile = path.join(outputDir, 'umap.csv');
    writeFileAtomic(umapFile, `basin,umap_1,umap_2\n${basins.map((b, i) => csvLine([b, umap![i][0], umap![i][1]])).join('\n')}\n`);
    files.push(umapFile);
  } else {
    notes.push(`no UMAP projection: ${n} basins is too few`);
  }

  if (options.figures !== false) {
    step('figures');
    files.push(...writeAnalysisFigure(silhouetteFigure(silhouette, { basins: n }), path.join(outputDir, 'silhouette')));
    if (reductions.length) files.push(...writeAnalysisFigure(varianceReductionFigure(reductions), path.join(outputDir, 'variance_reduction')));
    if (input.coordinates) {
      const coords = input.coordinates;
      const panels = clusters.map((c) => ({
        title: `${c.features === 'embedding' ? 'EA-LSTM embedding' : 'raw attributes'}, k = ${c.k}`,
        points: basins.map((basin, i) => ({ basin, lat: coords.lat[i], lon: coords.lon[i], cluster: c.labels[i] + 1 })),
      }));
      files.push(...writeAnalysisFigure(clusterMapFigure(panels, clusterKs.length), path.join(outputDir, 'cluster_map')));
    }
    if (umap) {
      const colour = UMAP_COLOUR_ATTRIBUTES.filter((a) => attrs.names.includes(a));
      if (colour.length === 0) notes.push(`UMAP figure coloured by none of ${UMAP_COLOUR_ATTRIBUTES.join(', ')}: not in the attributes`);
      const points = basins.map((basin, i) => ({
        basin,
        x: umap![i][0],
        y: umap![i][1],
        values: Object.fromEntries(colour.map((a) => [a, attrs.values[i * attrs.names.length + attrs.names.indexOf(a)]])),
      }));
      files.push(...writeAnalysisFigure(umapFigure(points, colour.length ? [...colour] : []), path.join(outputDir, 'umap')));
    }
    const order = basins.map((b, i) => ({ b, i })).sort((x, y) => (x.b < y.b ? -1 : x.b > y.b ? 1 : 0));
    const matrix = new Float64Array(n * cells);
    order.forEach((o, r) => matrix.set(input.embedding.subarray(o.i * cells, (o.i + 1) * cells), r * cells));
    files.push(...writeAnalysisFigure(inputGateHeatmapFigure(order.map((o) => o.b), matrix, cells), path.join(outputDir, 'input_gates')));
  }
  return { outputDir, silhouette, best, clusters, varianceReduction: reductions, umap, files, notes };
}

export interface RunEmbeddingOptions {
  runDir: string;
  output?: string;
  epoch?: number;
  backend?: BackendName;
  basins?: string;
  /** A signatures CSV instead of the dataset's (camels_hydro.txt for CAMELS-US). */
  signatures?: string;
  /** Notes for the user (a stale lock taken over). */
  onNote?: (note: string) => void;
  /** The run directory's lock when the caller already holds it; otherwise it is taken here (output in the run). */
  lock?: DirectoryLock;
}

/**
 * The embedding of a trained EA-LSTM: writes embedding.csv (basin, cell_1..cell_H) for the run's test basins, plus
 * attributes.csv (basin, gauge_lat, gauge_lon when available, the run's static attributes, raw) and, for CAMELS-US,
 * signatures.csv (the 13 signatures of camels_hydro.txt), so the analysis can be rerun from the files.
 */
export function writeRunEmbedding(options: RunEmbeddingOptions): { outputDir: string; files: { embedding: string; attributes: string; signatures?: string }; notes: string[] } {
  const run = loadRun(options.runDir, { epoch: options.epoch, backend: options.backend, need: 'ealstm', analysis: 'the embedding analysis' });
  // Writing into the run (its analysis/ folder), it holds the run's lock: two analyses at once would mix their files.
  return withRunOutputLock(options.runDir, options.output, 'analyze embedding', () => embeddingOfRun(options, run), options.onNote, options.lock);
}

function embeddingOfRun(options: RunEmbeddingOptions, run: LoadedRun): ReturnType<typeof writeRunEmbedding> {
  const { config, scaler, model } = run;
  const basins = selectBasins(config, options.basins);
  const outputDir = outputFolder(options.runDir, options.output);
  const source = runSource(config);
  const names = config.static_attributes;
  const raw = loadAttributes(source, basins, names);
  requireAllAttributes(raw);
  const s = names.length;
  const standardized = raw.values.map((v, idx) => (v - scaler.static_mean[idx % s]) / scaler.static_std[idx % s]);
  const embedding = inputGateEmbedding(model, standardized, basins.length);
  const h = config.hidden_size;
  const notes: string[] = [];
  const embFile = path.join(outputDir, 'embedding.csv');
  const header = ['basin', ...Array.from({ length: h }, (_, j) => `cell_${j + 1}`)];
  writeFileAtomic(embFile, `${header.join(',')}\n${basins.map((b, i) => csvLine([b, ...Array.from(embedding.subarray(i * h, (i + 1) * h))])).join('\n')}\n`);

  const coords = basinCoordinates(source, basins);
  const attFile = path.join(outputDir, 'attributes.csv');
  const withCoords = 'lat' in coords;
  if (!withCoords) notes.push(`no gauge coordinates: ${coords.reason}`);
  const attHeader = ['basin', ...(withCoords ? ['gauge_lat', 'gauge_lon'] : []), ...names];
  writeFileAtomic(
    attFile,
    `${attHeader.join(',')}\n${basins
      .map((b, i) => csvLine([b, ...(withCoords ? [coords.lat[i], coords.lon[i]] : []), ...Array.from(raw.values.subarray(i * s, (i + 1) * s))]))
      .join('\n')}\n`,
  );
  let sigFile = options.signatures;
  if (!sigFile) {
    try {
      const sig = loadAttributes(source, basins, [...SIGNATURES]);
      sigFile = path.join(outputDir, 'signatures.csv');
      const m = SIGNATURES.length;
      writeFileAtomic(sigFile, `${['basin', ...SIGNATURES].join(',')}\n${basins.map((b, i) => csvLine([b, ...Array.from(sig.values.subarray(i * m, (i + 1) * m))])).join('\n')}\n`);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      notes.push(`no signatures from the dataset (${err.message}); give --signatures FILE.csv for the variance reduction`);
    }
  }
  return { outputDir, files: { embedding: embFile, attributes: attFile, signatures: sigFile }, notes };
}

/** Writes an attributes CSV (basin, gauge_lat, gauge_lon when available, then `names`) from a dataset's tables. */
export function writeAttributesCsv(options: {
  /** A dataset name of data/datasets.ts. */
  dataset: string;
  dataDir: string;
  basins: string[];
  names: string[];
  output: string;
  coordinates?: boolean;
}): { rows: number; columns: string[]; notes: string[] } {
  const source = { dataset: options.dataset, dataDir: options.dataDir };
  const t = loadAttributes(source, options.basins, options.names);
  const notes: string[] = [];
  let coords: { lat: number[]; lon: number[] } | undefined;
  if (options.coordinates !== false && !options.names.some((n) => LATITUDE.includes(n) || LONGITUDE.includes(n))) {
    const c = basinCoordinates(source, options.basins);
    if ('lat' in c) coords = c;
    else notes.push(`no gauge coordinates: ${c.reason}`);
  }
  const s = options.names.length;
  const columns = [...(coords ? ['gauge_lat', 'gauge_lon'] : []), ...options.names];
  const lines = options.basins.map((b, i) =>
    csvLine([b, ...(coords ? [coords.lat[i], coords.lon[i]] : []), ...Array.from(t.values.subarray(i * s, (i + 1) * s))]),
  );
  const missing = t.values.reduce((n, v) => n + (Number.isNaN(v) ? 1 : 0), 0);
  if (missing > 0) notes.push(`${missing} missing value(s) (NA) written as empty fields`);
  mkdirSync(path.dirname(path.resolve(options.output)), { recursive: true });
  writeFileAtomic(options.output, `${['basin', ...columns].join(',')}\n${lines.join('\n')}\n`);
  return { rows: lines.length, columns, notes };
}

/**
 * The silhouette scan alone, on the standardised attributes of an attributes CSV and/or an embedding CSV (the two
 * need not hold the same basins here): writes silhouette.csv and silhouette.svg/png under `output`.
 */
export function silhouetteOnly(options: { attributes?: string; embedding?: string; output: string; ks?: number[]; seed?: number; figures?: boolean }): {
  rows: SilhouetteRow[];
  best: Partial<Record<SilhouetteRow['features'], SilhouetteRow>>;
  basins: Partial<Record<SilhouetteRow['features'], number>>;
  files: string[];
} {
  if (!options.attributes && !options.embedding) throw new InputError('give --attributes FILE.csv and/or --embedding FILE.csv');
  const requested = options.ks ?? Array.from({ length: 12 }, (_, i) => i + 3);
  const rows: SilhouetteRow[] = [];
  const best: Partial<Record<SilhouetteRow['features'], SilhouetteRow>> = {};
  const basins: Partial<Record<SilhouetteRow['features'], number>> = {};
  const scan = (features: SilhouetteRow['features'], data: Float64Array, n: number, dim: number, file: string) => {
    const ks = requested.filter((k) => k >= 2 && k <= n - 1);
    if (ks.length === 0) throw new InputError(`${features} file ${file}: ${n} basins; no k of ${requested.join(', ')} in 2..${n - 1}`);
    const r = silhouetteScan(data, n, dim, ks, features, options.seed ?? 0);
    rows.push(...r);
    best[features] = bestOf(r);
    basins[features] = n;
  };
  if (options.embedding) {
    const t = readBasinTable(options.embedding, 'embedding');
    scan('embedding', t.values, t.basins.length, t.columns.length, options.embedding);
  }
  if (options.attributes) {
    const t = readBasinTable(options.attributes, 'attributes');
    const lat = columnOf(t, LATITUDE);
    const lon = columnOf(t, LONGITUDE);
    const names = t.columns.filter((_, j) => j !== lat && j !== lon);
    const n = t.basins.length;
    const raw = pickColumns(t, t.basins, names, 'attributes');
    scan('attributes', standardizeColumns(raw, n, names.length).values, n, names.length, options.attributes);
  }
  mkdirSync(options.output, { recursive: true });
  const files: string[] = [];
  const silFile = path.join(options.output, 'silhouette.csv');
  writeFileAtomic(silFile, `features,k,mean_silhouette,min_silhouette\n${rows.map((r) => csvLine([r.features, r.k, r.mean, r.min])).join('\n')}\n`);
  files.push(silFile);
  if (options.figures !== false) {
    const n = basins.attributes ?? basins.embedding;
    files.push(...writeAnalysisFigure(silhouetteFigure(rows, { basins: n }), path.join(options.output, 'silhouette')));
  }
  return { rows, best, basins, files };
}
