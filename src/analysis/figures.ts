/**
 * vega-lite specs of the analysis figures (the paper's Figs. 6-12), rendered with src/report/render.ts.
 * Each function returns a plain spec object with its data inlined.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { deflateSync } from 'node:zlib';
import { percentileLinear } from '../util/numeric.js';
import { writeFigure } from '../render/render.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** Embedding vs raw attributes, everywhere. */
const FEATURE_COLOURS = { embedding: '#1f77b4', attributes: '#ff7f0e' } as const;
/** 20 distinguishable categorical colours (Tableau 20, dark shades first). */
const CATEGORY_COLOURS = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
];
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down', 'triangle-left', 'triangle-right'];

/** Writes `<base>.svg` and `<base>.png`; returns both paths. */
export function writeAnalysisFigure(spec: object, base: string): string[] {
  const f = writeFigure(spec, base);
  return [f.svg, f.png];
}

/**
 * Subtitle lines wrapped so that vega's text-width estimate (0.8 x characters x font size, as it has no canvas in
 * Node) stays within `width` pixels; a longer line would widen the whole figure.
 */
export function wrapLines(lines: string[], width: number, fontSize = 12): string[] {
  const max = Math.max(20, Math.floor(width / (0.8 * fontSize)));
  const out: string[] = [];
  for (const line of lines) {
    let current = '';
    for (const word of line.split(' ')) {
      if (current && current.length + 1 + word.length > max) {
        out.push(current);
        current = word;
      } else current = current ? `${current} ${word}` : word;
    }
    if (current) out.push(current);
  }
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------------------
// maps

interface Topology {
  objects: { states: { geometries: { id?: string }[] } };
}
let statesTopology: Topology | undefined;
/** FIPS codes of the states and territories outside the contiguous US. */
const NOT_CONUS = new Set(['02', '15', '60', '66', '69', '72', '78']);

/** us-atlas states-10m.json (TopoJSON) with the states object only, read once; `conus` drops Alaska, Hawaii, territories. */
function usStates(conus: boolean): unknown {
  if (!statesTopology) {
    const file = createRequire(import.meta.url).resolve('us-atlas/states-10m.json');
    const topo = JSON.parse(readFileSync(file, 'utf8')) as { objects: Record<string, unknown> };
    statesTopology = { ...topo, objects: { states: topo.objects.states } } as unknown as Topology;
  }
  const t = statesTopology;
  if (!conus) return t;
  const states = t.objects.states;
  return { ...t, objects: { states: { ...states, geometries: states.geometries.filter((g) => !NOT_CONUS.has(String(g.id))) } } };
}

type MapKind = 'conus' | 'us' | 'world';

/** Which map the points need: the contiguous US (Albers), the 50 states (albersUsa) or the world (equirectangular). */
function mapKind(points: { lat: number; lon: number }[]): MapKind {
  const conus = ({ lat, lon }: { lat: number; lon: number }) => lat >= 24 && lat <= 50 && lon >= -125.5 && lon <= -66;
  if (points.every(conus)) return 'conus';
  const us = points.every(
    ({ lat, lon }) =>
      conus({ lat, lon }) ||
      (lat >= 51 && lat <= 72 && lon >= -180 && lon <= -129) ||
      (lat >= 18.5 && lat <= 22.5 && lon >= -161 && lon <= -154),
  );
  return us ? 'us' : 'world';
}

function mapProjection(kind: MapKind): object {
  return { type: kind === 'conus' ? 'albers' : kind === 'us' ? 'albersUsa' : 'equirectangular' };
}

/** The background layer of a map: state outlines (from the top-level dataset 'states') or a graticule. */
function mapBackground(kind: MapKind): object {
  return kind !== 'world'
    ? { data: { name: 'states', format: { type: 'topojson', feature: 'states' } }, mark: { type: 'geoshape', fill: '#f2f2f2', stroke: '#9a9a9a', strokeWidth: 0.6 } }
    : { data: { graticule: { step: [30, 30] } }, mark: { type: 'geoshape', stroke: '#ddd', strokeWidth: 0.5, filled: false } };
}

function mapDatasets(kind: MapKind): object {
  return kind !== 'world' ? { datasets: { states: usStates(kind === 'conus') } } : {};
}

/**
 * Fig. 7: each basin marked with its most sensitive attribute (colour and shape per attribute; the legend lists the
 * attributes by how many basins they dominate).
 */
export function sensitivityMapFigure(points: { basin: string; lat: number; lon: number; attribute: string }[], options: { title?: string } = {}): object {
  const located = points.filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon) && p.attribute);
  const counts = new Map<string, number>();
  for (const p of located) counts.set(p.attribute, (counts.get(p.attribute) ?? 0) + 1);
  const attrs = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const labelOf = new Map(attrs.map(([a, n]) => [a, `${a} (${n})`]));
  const domain = attrs.map(([a]) => labelOf.get(a) as string);
  const values = located.map((p) => ({ basin: p.basin, lat: p.lat, lon: p.lon, attribute: p.attribute, label: labelOf.get(p.attribute) }));
  const kind = mapKind(located);
  const size = Math.max(30, Math.min(110, 6000 / Math.max(located.length, 1)));
  const notes = [`the attribute with the largest mean |d prediction / d attribute| of each basin; ${plural(located.length, 'basin')}`];
  if (located.length < points.length) notes.push(`${plural(points.length - located.length, 'basin')} without coordinates not shown`);
  return {
    $schema: SCHEMA,
    title: { text: options.title ?? 'Most sensitive catchment attribute per basin', subtitle: wrapLines(notes, 760) },
    width: 720,
    height: kind === 'world' ? 360 : 440,
    projection: mapProjection(kind),
    ...mapDatasets(kind),
    layer: [
      mapBackground(kind),
      {
        data: { values },
        mark: { type: 'point', filled: true, opacity: 0.95, stroke: '#333', strokeWidth: 0.4 },
        encoding: {
          longitude: { field: 'lon', type: 'quantitative' },
          latitude: { field: 'lat', type: 'quantitative' },
          size: { value: size },
          color: { field: 'label', type: 'nominal', title: 'attribute (basins)', scale: { domain, range: CATEGORY_COLOURS }, legend: { titleLimit: 400 } },
          shape: { field: 'label', type: 'nominal', title: 'attribute (basins)', scale: { domain, range: SHAPES } },
          tooltip: [{ field: 'basin' }, { field: 'attribute' }],
        },
      },
    ],
  };
}

/** Fig. 11: a grid of maps, basins coloured by cluster; `columns` panels per row. */
export function clusterMapFigure(panels: { title: string; points: { basin: string; lat: number; lon: number; cluster: number }[] }[], columns: number): object {
  const all = panels.flatMap((p) => p.points).filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
  const kind = mapKind(all);
  const maxK = Math.max(1, ...all.map((p) => p.cluster));
  const domain = Array.from({ length: maxK }, (_, i) => i + 1);
  const n = panels[0]?.points.length ?? 0;
  const size = Math.max(14, Math.min(70, 2500 / Math.max(n, 1)));
  const panel = (p: (typeof panels)[number]) => ({
    title: { text: p.title, fontSize: 13 },
    width: 380,
    height: kind === 'world' ? 200 : 240,
    projection: mapProjection(kind),
    layer: [
      mapBackground(kind),
      {
        data: { values: p.points.filter((q) => Number.isFinite(q.lat) && Number.isFinite(q.lon)) },
        mark: { type: 'circle', opacity: 0.95, stroke: '#333', strokeWidth: 0.3 },
        encoding: {
          longitude: { field: 'lon', type: 'quantitative' },
          latitude: { field: 'lat', type: 'quantitative' },
          size: { value: size },
          color: { field: 'cluster', type: 'ordinal', title: 'cluster', scale: { domain, range: CATEGORY_COLOURS } },
          tooltip: [{ field: 'basin' }, { field: 'cluster' }],
        },
      },
    ],
  });
  const cols = Math.max(1, columns);
  return {
    $schema: SCHEMA,
    title: {
      text: 'k-means clusters of the basins',
      subtitle: wrapLines([`${plural(n, 'basin')}; cluster numbers are arbitrary and not matched between panels`], 380 * Math.max(1, columns)),
    },
    ...mapDatasets(kind),
    columns: cols,
    concat: panels.map(panel),
    resolve: { scale: { color: 'shared' } },
  };
}

// ---------------------------------------------------------------------------------------------------------
// robustness and sensitivity

/**
 * Fig. 6: per noise level, a box of the NSE over basins and draws (quartiles), whiskers at the 5th and 95th
 * percentiles, the median as an orange line, the mean as a green triangle and the values beyond the whiskers as
 * circles. The y axis runs from just below the lowest value up to 1, clipped at yMin (the paper's -6); values below
 * yMin are counted in the subtitle.
 */
export function robustnessFigure(
  rows: { sigma: number; nse: number }[],
  sigmas: readonly number[],
  options: { draws?: number; basins?: number; yMin?: number; title?: string } = {},
): object {
  const yMin = options.yMin ?? -6;
  const label = (s: number) => s.toFixed(Math.max(1, (String(s).split('.')[1] ?? '').length));
  const boxes: object[] = [];
  const outliers: object[] = [];
  let below = 0;
  let dropped = 0;
  for (const sigma of sigmas) {
    const v = rows.filter((r) => r.sigma === sigma).map((r) => r.nse);
    const finite = v.filter((x) => Number.isFinite(x));
    dropped += v.length - finite.length;
    if (finite.length === 0) continue;
    const q = (p: number) => percentileLinear(finite, p);
    const stats = { sigma: label(sigma), p5: q(5), p25: q(25), median: q(50), p75: q(75), p95: q(95), mean: finite.reduce((a, b) => a + b, 0) / finite.length, n: finite.length };
    boxes.push(Object.fromEntries(Object.entries(stats).map(([k, x]) => [k, typeof x === 'number' ? Number(x.toPrecision(6)) : x])));
    for (const x of finite) {
      if (x >= stats.p5 && x <= stats.p95) continue;
      if (x < yMin) {
        below++;
        continue;
      }
      outliers.push({ sigma: stats.sigma, nse: Number(x.toPrecision(5)) });
    }
  }
  const notes = [
    'box: 25th-75th percentile, orange line: median, green triangle: mean, whiskers: 5th-95th percentile, circles: beyond them',
    `NSE over ${options.basins !== undefined ? plural(options.basins, 'basin') : 'the basins'}${options.draws !== undefined ? ` x ${plural(options.draws, 'noise draw')} per sigma (1 at sigma 0)` : ''}`,
  ];
  if (below > 0) notes.push(`${plural(below, 'value')} below ${yMin} not drawn (counted in the statistics)`);
  if (dropped > 0) notes.push(`${plural(dropped, 'value')} without an NSE left out`);
  const x = { field: 'sigma', type: 'ordinal', title: 'standard deviation of the added noise (sigma)', sort: sigmas.map(label), axis: { labelAngle: 0 } };
  const lowest = Math.min(...rows.map((r) => r.nse).filter((v) => Number.isFinite(v)), 0);
  const step = lowest > -1 ? 0.1 : lowest > -3 ? 0.5 : 1;
  const bottom = Math.max(yMin, (Math.floor(lowest / step) - 1) * step);
  if (bottom === yMin) notes.push(`y axis clipped at ${yMin}, as in the paper`);
  const y = { type: 'quantitative', title: 'NSE', scale: { domain: [Number(bottom.toFixed(2)), 1], nice: false } };
  return {
    $schema: SCHEMA,
    title: { text: options.title ?? 'NSE with noise added to the catchment attributes', subtitle: wrapLines(notes, 680) },
    width: 640,
    height: 380,
    encoding: { x },
    layer: [
      { data: { values: boxes }, mark: { type: 'rule', color: '#333' }, encoding: { y: { ...y, field: 'p5' }, y2: { field: 'p95' } } },
      { data: { values: boxes }, mark: { type: 'tick', color: '#333', size: 14, thickness: 1 }, encoding: { y: { ...y, field: 'p5' } } },
      { data: { values: boxes }, mark: { type: 'tick', color: '#333', size: 14, thickness: 1 }, encoding: { y: { ...y, field: 'p95' } } },
      {
        data: { values: boxes },
        mark: { type: 'bar', size: 30, fill: '#dce9f5', stroke: '#333', strokeWidth: 1 },
        encoding: {
          y: { ...y, field: 'p25' },
          y2: { field: 'p75' },
          tooltip: ['sigma', 'n', 'p5', 'p25', 'median', 'p75', 'p95', 'mean'].map((f) => ({ field: f })),
        },
      },
      { data: { values: boxes }, mark: { type: 'tick', color: '#ff7f0e', size: 30, thickness: 2.5 }, encoding: { y: { ...y, field: 'median' } } },
      { data: { values: outliers }, mark: { type: 'point', shape: 'circle', size: 12, stroke: '#555', strokeWidth: 0.6, opacity: 0.5, clip: true }, encoding: { y: { ...y, field: 'nse' } } },
      { data: { values: boxes }, mark: { type: 'point', shape: 'triangle-up', filled: true, color: '#2ca02c', size: 60, opacity: 1 }, encoding: { y: { ...y, field: 'mean' } } },
    ],
  };
}

/** Table 4 as a bar chart: the mean min-max scaled sensitivity of each attribute, ranked. */
export function sensitivityRankingFigure(ranking: { rank: number; attribute: string; score: number }[], options: { basins?: number; title?: string } = {}): object {
  const values = ranking.map((r) => ({ ...r, score: Number.isFinite(r.score) ? Number(r.score.toPrecision(5)) : null }));
  return {
    $schema: SCHEMA,
    title: {
      text: options.title ?? 'Feature ranking by the explicit Morris method',
      subtitle: wrapLines([
        `mean |gradient| of the prediction per basin, min-max scaled per basin, averaged over ${options.basins !== undefined ? plural(options.basins, 'basin') : 'the basins'}`,
      ], 540),
    },
    width: 420,
    height: Math.max(120, 17 * values.length),
    data: { values },
    mark: { type: 'bar', color: '#4c78a8' },
    encoding: {
      y: { field: 'attribute', type: 'nominal', sort: values.map((v) => v.attribute), title: null, axis: { labelLimit: 400 } },
      x: { field: 'score', type: 'quantitative', title: 'sensitivity (0-1)', scale: { domain: [0, 1] } },
      tooltip: [{ field: 'rank' }, { field: 'attribute' }, { field: 'score', format: '.3f' }],
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// embedding

/** Fig. 9: mean (left) and minimum (right) silhouette over k, for the embedding and/or the raw attributes. */
export function silhouetteFigure(rows: { features: string; k: number; mean: number; min: number }[], options: { basins?: number } = {}): object {
  const values = rows.flatMap((r) => [
    { features: r.features, k: r.k, statistic: 'mean silhouette', value: Number(r.mean.toPrecision(5)) },
    { features: r.features, k: r.k, statistic: 'minimum silhouette', value: Number(r.min.toPrecision(5)) },
  ]);
  const ks = [...new Set(rows.map((r) => r.k))].sort((a, b) => a - b);
  const features = (['embedding', 'attributes'] as const).filter((f) => rows.some((r) => r.features === f));
  const explain = [
    ...(features.includes('embedding') ? ['embedding: EA-LSTM input gates'] : []),
    ...(features.includes('attributes') ? ['attributes: standardised raw catchment attributes'] : []),
  ];
  return {
    $schema: SCHEMA,
    title: {
      text: 'Silhouette of k-means clusterings',
      subtitle: wrapLines([`${options.basins !== undefined ? `${plural(options.basins, 'basin')}; ` : ''}${explain.join('; ')}`], 700),
    },
    data: { values },
    facet: { column: { field: 'statistic', type: 'nominal', title: null, header: { labelFontSize: 13 } } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 330,
      height: 260,
      mark: { type: 'line', point: { filled: true, size: 40 }, strokeWidth: 2 },
      encoding: {
        x: { field: 'k', type: 'quantitative', title: 'number of clusters k', scale: { domain: [ks[0], ks[ks.length - 1]], nice: false }, axis: { values: ks, format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: 'silhouette', scale: { zero: false } },
        color: {
          field: 'features',
          type: 'nominal',
          title: 'clustered on',
          scale: { domain: features, range: features.map((f) => FEATURE_COLOURS[f]) },
          legend: { orient: 'bottom', direction: 'horizontal' },
        },
        tooltip: [{ field: 'features' }, { field: 'k' }, { field: 'statistic' }, { field: 'value', format: '.3f' }],
      },
    },
  };
}

/** Fig. 10: fractional reduction in variance of each signature, embedding vs attributes, one panel per k. */
export function varianceReductionFigure(rows: { k: number; features: string; signature: string; reduction: number }[]): object {
  const values = rows.filter((r) => Number.isFinite(r.reduction)).map((r) => ({ ...r, reduction: Number(r.reduction.toPrecision(5)), panel: `k = ${r.k}` }));
  const signatures = [...new Set(rows.map((r) => r.signature))];
  const low = Math.floor(Math.min(0, ...values.map((v) => v.reduction)) * 10) / 10;
  return {
    $schema: SCHEMA,
    title: {
      text: 'Reduction in variance of signatures by clustering',
      subtitle: wrapLines(['fractional reduction: 1 - mean over clusters of var(signature in cluster) / var(signature over all basins)'], 700),
    },
    data: { values },
    facet: {
      row: { field: 'panel', type: 'nominal', title: null, sort: [...new Set(values.map((v) => v.panel))], header: { labelAngle: 0, labelFontSize: 14, labelAlign: 'left', labelFontWeight: 'bold' } },
    },
    spec: {
      width: 640,
      height: 200,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'signature', type: 'nominal', sort: signatures, title: null, axis: { labelAngle: -40 } },
        xOffset: { field: 'features', type: 'nominal', sort: ['embedding', 'attributes'] },
        y: { field: 'reduction', type: 'quantitative', title: 'reduction in variance', scale: { domain: [low, 1] } },
        color: { field: 'features', type: 'nominal', title: 'clustered on', scale: { domain: ['embedding', 'attributes'], range: [FEATURE_COLOURS.embedding, FEATURE_COLOURS.attributes] } },
        tooltip: [{ field: 'k' }, { field: 'features' }, { field: 'signature' }, { field: 'reduction', format: '.3f' }],
      },
    },
  };
}

/**
 * Fig. 12: the 2-d UMAP projection of the embedding, one panel per attribute the basins are coloured by. Aridity's
 * colour scale is capped at 2 (as the paper), the area's is logarithmic.
 */
export function umapFigure(points: { basin: string; x: number; y: number; values: Record<string, number> }[], attributes: string[]): object {
  const values = points.map((p) => ({ basin: p.basin, x: p.x, y: p.y, ...p.values }));
  const size = Math.max(12, Math.min(60, 3000 / Math.max(points.length, 1)));
  const panel = (attribute: string | null) => {
    const colour: Record<string, unknown> | undefined = attribute
      ? {
          field: attribute,
          type: 'quantitative',
          title: null,
          scale:
            attribute === 'aridity'
              ? { scheme: 'viridis', domain: [Math.min(...points.map((p) => p.values.aridity)), 2], clamp: true }
              : attribute === 'area_gages2'
                ? { scheme: 'viridis', type: 'log' }
                : { scheme: 'viridis' },
          legend: { orient: 'right', gradientLength: 150, format: attribute === 'area_gages2' ? '.2~s' : '.3~g' },
        }
      : undefined;
    const title = attribute === 'aridity' ? 'aridity (colour capped at 2)' : attribute === 'area_gages2' ? 'area_gages2 (log colour scale)' : (attribute ?? 'UMAP projection');
    return {
      title: { text: title, fontSize: 13 },
      width: 240,
      height: 200,
      mark: { type: 'circle', opacity: 0.9, stroke: '#333', strokeWidth: 0.2 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'UMAP 1', scale: { zero: false }, axis: { labels: false, ticks: false, grid: false } },
        y: { field: 'y', type: 'quantitative', title: 'UMAP 2', scale: { zero: false }, axis: { labels: false, ticks: false, grid: false } },
        size: { value: size },
        ...(colour ? { color: colour } : {}),
        tooltip: [{ field: 'basin' }, ...(attribute ? [{ field: attribute, format: '.3g' }] : [])],
      },
    };
  };
  return {
    $schema: SCHEMA,
    title: { text: 'UMAP projection of the EA-LSTM embedding', subtitle: [`${plural(points.length, 'basin')}; n_neighbors 10, min_dist 0.1`] },
    data: { values },
    columns: 3,
    concat: (attributes.length ? attributes : [null]).map(panel),
    resolve: { scale: { color: 'independent' } },
  };
}

// ---------------------------------------------------------------------------------------------------------
// input-gate heatmap, drawn as one image

/** viridis at 11 stops (matplotlib), interpolated linearly. */
const VIRIDIS = [
  [68, 1, 84], [72, 36, 117], [65, 68, 135], [53, 95, 141], [42, 120, 142], [33, 145, 140], [34, 168, 132], [68, 191, 112],
  [122, 209, 81], [189, 223, 38], [253, 231, 37],
];

export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return [Math.round(a[0] + f * (b[0] - a[0])), Math.round(a[1] + f * (b[1] - a[1])), Math.round(a[2] + f * (b[2] - a[2]))];
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** An 8-bit RGB PNG from row-major pixels [height, width, 3]. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (rgb.length !== width * height * 3) throw new RangeError(`encodePng: ${rgb.length} bytes for ${width} x ${height} RGB`);
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', new Uint8Array(deflateSync(raw, { level: 9 }))), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Fig. 8: the input gate of every basin (x, in the given order: ascending gauge id) and cell (y), viridis from 0
 * (closed, blue) to 1 (open, yellow). The matrix is drawn as one PNG image (a data URI) inside the chart frame, sized
 * so that every cell is a whole block of pixels at the 2x PNG scale; the colour legend comes from an invisible layer.
 */
export function inputGateHeatmapFigure(basins: string[], matrix: Float64Array, cells: number, options: { title?: string } = {}): object {
  const n = basins.length;
  const bx = Math.max(1, Math.round(800 / n));
  const by = Math.max(1, Math.round(400 / cells));
  const width = n * bx;
  const height = cells * by;
  const scale = 2; // the PNG's pixels per chart unit (render.ts draws PNGs at 2x)
  const pw = width * scale;
  const ph = height * scale;
  const rgb = new Uint8Array(pw * ph * 3);
  for (let c = 0; c < cells; c++) {
    for (let b = 0; b < n; b++) {
      const [r, g, bl] = viridis(matrix[b * cells + c]);
      for (let yy = c * by * scale; yy < (c + 1) * by * scale; yy++) {
        for (let xx = b * bx * scale; xx < (b + 1) * bx * scale; xx++) {
          const o = (yy * pw + xx) * 3;
          rgb[o] = r;
          rgb[o + 1] = g;
          rgb[o + 2] = bl;
        }
      }
    }
  }
  const url = `data:image/png;base64,${Buffer.from(encodePng(pw, ph, rgb)).toString('base64')}`;
  const labelled = n <= 60;
  const xAxis = labelled
    ? {
        values: basins.map((_, i) => i + 0.5),
        labelExpr: `${JSON.stringify(basins)}[floor(datum.value)]`,
        labelAngle: -90,
        labelFontSize: 10,
        labelOverlap: false,
        grid: false,
        title: 'basin (ascending gauge id)',
      }
    : { grid: false, format: 'd', title: `basins 1-${n}, ordered by ascending gauge id` };
  const yAxis =
    cells <= 40
      ? { values: Array.from({ length: cells }, (_, i) => i + 0.5), labelExpr: 'floor(datum.value) + 1', grid: false, title: 'LSTM cell' }
      : { grid: false, format: 'd', title: `LSTM cells 1-${cells}` };
  return {
    $schema: SCHEMA,
    title: {
      text: options.title ?? 'Input gate activations of the EA-LSTM (the catchment embedding)',
      subtitle: wrapLines([`${plural(n, 'basin')} x ${plural(cells, 'cell')}; yellow: open input gate, blue: closed`], width),
    },
    width,
    height,
    layer: [
      {
        data: { values: [{ x: 0, y: 0, url }] },
        mark: { type: 'image', width, height, aspect: false, align: 'left', baseline: 'top', aria: false },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { domain: [0, n], nice: false, zero: false }, axis: xAxis },
          y: { field: 'y', type: 'quantitative', scale: { domain: [0, cells], nice: false, reverse: true }, axis: yAxis },
          url: { field: 'url', type: 'nominal' },
        },
      },
      {
        data: { values: [{ x: 0, y: 0, v: 0 }, { x: 0, y: 0, v: 1 }] },
        mark: { type: 'point', opacity: 0, aria: false },
        encoding: {
          color: { field: 'v', type: 'quantitative', title: 'input gate', scale: { scheme: 'viridis', domain: [0, 1] }, legend: { gradientLength: Math.min(height, 240) } },
        },
      },
    ],
  };
}
