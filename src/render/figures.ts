import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * vega-lite specs for the report's figures. Each function returns a plain spec object (data inlined), so it can
 * be rendered with writeFigure (SVG + PNG) or embedded in a browser.
 */
export { writeFigure } from './render.js';

/** Colours for models / simulations (Tableau 10, colour-blind-friendlier order). */
export const MODEL_COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/**
 * Empirical CDF of a metric (NSE by default) per model, as step lines (the paper's Figs 3-5). The x axis is
 * clipped to [xMin ?? 0, 1]: values below xMin are counted at the left edge (the curve starts at their share),
 * and the number of such basins is given in the legend; NaN values are left out and counted in the subtitle.
 */
export function ecdfFigure(
  models: { name: string; values: number[] }[],
  options: { metric?: string; xMin?: number; title?: string } = {},
): object {
  const metric = options.metric ?? 'NSE';
  const xMin = options.xMin ?? 0;
  const xMax = 1;
  const rows: { model: string; x: number; y: number; order: number }[] = [];
  const labels: string[] = [];
  const notes: string[] = [];
  let anyBelow = false;
  for (const m of models) {
    const finite = m.values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
    const n = finite.length;
    const below = finite.filter((v) => v < xMin).length;
    anyBelow ||= below > 0;
    const label = below > 0 ? `${m.name} (n=${n}; ${below} below ${xMin})` : `${m.name} (n=${n})`;
    labels.push(label);
    const missing = m.values.length - finite.length;
    if (missing > 0) notes.push(`${m.name}: ${plural(missing, 'basin')} without a value left out`);
    if (n === 0) continue;
    let order = 0;
    // The curve starts at the left edge with the share of basins below it.
    rows.push({ model: label, x: xMin, y: below / n, order: order++ });
    for (let i = below; i < n; i++) rows.push({ model: label, x: Math.min(finite[i], xMax), y: (i + 1) / n, order: order++ });
    rows.push({ model: label, x: xMax, y: 1, order: order++ });
  }
  if (anyBelow) notes.unshift(`basins with ${metric} < ${xMin} are counted at the left edge`);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: options.title ?? `Cumulative distribution of ${metric}`,
      ...(notes.length ? { subtitle: notes } : {}),
    },
    width: 480,
    height: 320,
    data: { values: rows },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2, clip: true },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: metric,
        scale: { domain: [xMin, xMax], nice: false, zero: false },
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: 'cumulative fraction of basins',
        scale: { domain: [0, 1] },
      },
      color: {
        field: 'model',
        type: 'nominal',
        title: null,
        scale: { domain: labels, range: MODEL_COLOURS },
        // Bottom-right: NSE ECDFs rarely pass there (few basins below a high NSE); weak models fill the top-left.
        legend: { orient: 'bottom-right', fillColor: 'white', padding: 6, strokeColor: '#ccc' },
      },
      order: { field: 'order', type: 'quantitative' },
    },
  };
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Observed vs simulated discharge of one basin: thin lines (observed black, drawn on top; simulated blue) and a
 * legend above the plot. For series longer than two years a second panel shows the last 365 days, where single
 * events can be told apart. Missing values (NaN) break the lines.
 */
export function hydrographFigure(basin: string, dates: string[], qobs: number[], qsim: number[], title?: string): object {
  if (dates.length !== qobs.length || dates.length !== qsim.length) {
    throw new Error(`hydrographFigure(${basin}): dates, qobs and qsim differ in length (${dates.length}, ${qobs.length}, ${qsim.length})`);
  }
  const value = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(5)) : null);
  const rowsFrom = (start: number) => {
    const rows: { date: string; series: string; q: number | null }[] = [];
    // observed first, simulated last: the (slightly transparent) simulation is drawn on top.
    for (let i = start; i < dates.length; i++) rows.push({ date: dates[i], series: 'observed', q: value(qobs[i]) });
    for (let i = start; i < dates.length; i++) rows.push({ date: dates[i], series: 'simulated', q: value(qsim[i]) });
    return rows;
  };
  const years = dates.length / 365.25;
  const long = years > 2;
  const colour = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: ['observed', 'simulated'], range: ['#000000', '#1f77b4'] },
    legend: { orient: 'top', direction: 'horizontal', symbolStrokeWidth: 3, labelFontSize: 12 },
  };
  const panel = (start: number, height: number, strokeWidth: number, axis: object, extra: object = {}) => ({
    width: 900,
    height,
    data: { values: rowsFrom(start) },
    mark: { type: 'line', strokeWidth, strokeOpacity: 0.85, invalid: 'break-paths-show-domains', clip: true },
    encoding: {
      x: { field: 'date', type: 'temporal', title: null, axis: { labelOverlap: true, grid: true, ...axis } },
      y: { field: 'q', type: 'quantitative', title: 'discharge (mm/day)', scale: { zero: true } },
      color: colour,
    },
    ...extra,
  });
  const subtitle = dates.length ? `${dates[0]} to ${dates[dates.length - 1]}` : 'no data';
  const head = { $schema: SCHEMA, title: { text: title ?? `Basin ${basin}`, subtitle } };
  if (!long) return { ...head, ...panel(0, 260, 1.1, { format: years > 1 ? '%b %Y' : '%d %b %Y' }) };
  const lastStart = Math.max(0, dates.length - 365);
  return {
    ...head,
    spacing: 16,
    vconcat: [
      panel(0, 220, years > 6 ? 0.6 : 0.8, { format: '%Y', tickCount: { interval: 'year', step: years > 15 ? 2 : 1 } }),
      panel(lastStart, 150, 1.1, { format: '%b %Y', tickCount: { interval: 'month', step: 1 } }, {
        title: { text: `last 365 days (from ${dates[lastStart]})`, fontSize: 12, fontWeight: 'normal', anchor: 'start' },
      }),
    ],
  };
}

let statesTopology: unknown;

/** us-atlas states-10m.json (TopoJSON), read once. */
function usStates(): unknown {
  if (!statesTopology) {
    const file = createRequire(import.meta.url).resolve('us-atlas/states-10m.json');
    const topo = JSON.parse(readFileSync(file, 'utf8')) as { objects: Record<string, unknown> };
    // Only the state outlines are drawn; dropping the nation object keeps the spec small.
    statesTopology = { ...topo, objects: { states: topo.objects.states } };
  }
  return statesTopology;
}

/** True when every point lies in the 50 states' area that albersUsa draws (lower 48, Alaska, Hawaii). */
function allInUs(points: { lat: number; lon: number }[]): boolean {
  return points.every(
    ({ lat, lon }) =>
      (lat >= 24 && lat <= 50 && lon >= -125.5 && lon <= -66) || // lower 48
      (lat >= 51 && lat <= 72 && lon >= -180 && lon <= -129) || // Alaska
      (lat >= 18.5 && lat <= 22.5 && lon >= -161 && lon <= -154), // Hawaii
  );
}

/**
 * Basins as dots coloured by a metric (NSE by default) over US state outlines (us-atlas, albersUsa projection),
 * like the paper's Fig. 6. The colour scale is clamped to [0, 1]; basins below 0 are drawn as red crosses with
 * their own legend entry. Points outside the US (e.g. Caravan) are drawn on longitude/latitude axes instead.
 */
export function nseMapFigure(
  points: { basin: string; lat: number; lon: number; value: number }[],
  options: { metric?: string; title?: string } = {},
): object {
  const metric = options.metric ?? 'NSE';
  const located = points.filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
  const valued = located.filter((p) => Number.isFinite(p.value));
  const good = valued.filter((p) => p.value >= 0).map((p) => ({ ...p, value: Number(p.value.toFixed(4)) }));
  const bad = valued.filter((p) => p.value < 0).map((p) => ({ ...p, value: Number(p.value.toFixed(4)), label: `${metric} < 0` }));
  const notes: string[] = [];
  if (bad.length) notes.push(`${plural(bad.length, 'basin')} with ${metric} < 0 (red crosses)`);
  if (located.length < points.length) notes.push(`${plural(points.length - located.length, 'basin')} without coordinates not shown`);
  if (valued.length < located.length) notes.push(`${plural(located.length - valued.length, 'basin')} without a value not shown`);
  const us = allInUs(located);
  // Inside the US: albersUsa over the state outlines. Elsewhere (Caravan) there is no outline data at hand
  // (us-atlas covers the US only), so the basins are drawn on longitude/latitude axes instead.
  const lons = located.map((p) => p.lon);
  const lats = located.map((p) => p.lat);
  const lonDomain = [Math.max(-180, Math.floor(Math.min(...lons, 180) / 10) * 10 - 10), Math.min(180, Math.ceil(Math.max(...lons, -180) / 10) * 10 + 10)];
  const latDomain = [Math.max(-90, Math.floor(Math.min(...lats, 90) / 10) * 10 - 10), Math.min(90, Math.ceil(Math.max(...lats, -90) / 10) * 10 + 10)];
  const position = us
    ? { longitude: { field: 'lon', type: 'quantitative' }, latitude: { field: 'lat', type: 'quantitative' } }
    : {
        x: { field: 'lon', type: 'quantitative', title: 'longitude (°E)', scale: { domain: lonDomain, nice: false } },
        y: { field: 'lat', type: 'quantitative', title: 'latitude (°N)', scale: { domain: latDomain, nice: false } },
      };
  const mapHeight = us ? 440 : Math.round(Math.min(480, Math.max(200, (720 * (latDomain[1] - latDomain[0])) / Math.max(lonDomain[1] - lonDomain[0], 1))));
  const size = Math.max(18, Math.min(70, 4000 / Math.max(valued.length, 1)));
  const tooltip = [
    { field: 'basin', type: 'nominal' },
    { field: 'value', type: 'quantitative', title: metric, format: '.3f' },
  ];
  const layers: object[] = [];
  if (us) {
    layers.push({
      data: { values: usStates(), format: { type: 'topojson', feature: 'states' } },
      mark: { type: 'geoshape', fill: '#f2f2f2', stroke: '#9a9a9a', strokeWidth: 0.6 },
    });
  }
  layers.push({
    data: { values: good },
    mark: { type: 'circle', stroke: '#333', strokeWidth: 0.4, opacity: 0.95 },
    encoding: {
      ...position,
      size: { value: size },
      color: {
        field: 'value',
        type: 'quantitative',
        title: metric,
        scale: { scheme: 'viridis', domain: [0, 1], clamp: true },
        legend: { orient: 'right', gradientLength: 160, values: [0, 0.2, 0.4, 0.6, 0.8, 1] },
      },
      tooltip,
    },
  });
  if (bad.length) {
    layers.push({
      data: { values: bad },
      mark: { type: 'point', filled: true, color: '#d62728', strokeWidth: 0 },
      encoding: {
        ...position,
        size: { value: size * 1.3 },
        shape: {
          field: 'label',
          type: 'nominal',
          title: null,
          scale: { domain: [`${metric} < 0`], range: ['cross'] },
          legend: { orient: 'right', symbolFillColor: '#d62728', symbolStrokeColor: '#d62728' },
        },
        tooltip,
      },
    });
  }
  return {
    $schema: SCHEMA,
    title: { text: options.title ?? `${metric} per basin`, ...(notes.length ? { subtitle: notes } : {}) },
    width: 720,
    height: mapHeight,
    ...(us ? { projection: { type: 'albersUsa' } } : {}),
    layer: layers,
    resolve: { legend: { color: 'independent', shape: 'independent' } },
  };
}

/** Training loss per epoch (line with points); a second line for the learning rate would clutter, so it is in the tooltip. */
export function lossFigure(log: { epoch: number; loss: number; lr?: number }[], options: { lossName?: string; title?: string } = {}): object {
  const rows = log.filter((e) => Number.isFinite(e.loss)).map((e) => ({ epoch: e.epoch, loss: e.loss, lr: e.lr ?? null }));
  return {
    $schema: SCHEMA,
    title: options.title ?? 'Training loss per epoch',
    width: 420,
    height: 200,
    data: { values: rows },
    mark: { type: 'line', point: { size: 30 }, strokeWidth: 1.5, color: '#1f77b4' },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' }, scale: { zero: false, nice: false } },
      y: { field: 'loss', type: 'quantitative', title: `training loss${options.lossName ? ` (${options.lossName})` : ''}`, scale: { zero: false } },
      tooltip: [
        { field: 'epoch', type: 'quantitative' },
        { field: 'loss', type: 'quantitative', format: '.5f' },
        { field: 'lr', type: 'quantitative', title: 'learning rate' },
      ],
    },
  };
}
