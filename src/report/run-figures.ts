/**
 * The figures of a run report, rendered to <runDir>/<period>/figures/ as SVG and PNG: the NSE ECDF, the NSE
 * map, the training loss and the hydrographs of a selection of basins.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Period } from '../data/types.js';
import type { DirectoryLock } from '../run/lock.js';
import { isoDate } from '../util/dates.js';
import { writeFileAtomic } from '../util/files.js';
import { ecdfFigure, hydrographFigure, lossFigure, nseMapFigure } from '../render/figures.js';
import { renderFigure } from '../render/render.js';
import { readPredictions } from '../evaluation/results-files.js';
import { formatValue, isDefined } from '../evaluation/summary.js';
import { modelLabel, periodLabel, type RunResults } from './run-results.js';

/** Hydrographs: all basins when there are at most this many... */
export const ALL_HYDROGRAPHS_UP_TO = 40;
/** ...otherwise this many, spread evenly over the NSE ranking (best, worst and those between). */
export const HYDROGRAPH_CAP = 30;

export interface ReportOptions {
  period?: Period;
  /** Override the hydrograph cap (0: none). */
  maxHydrographs?: number;
  /** Called before each figure is rendered (for progress output). */
  onFigure?: (name: string, done: number, total: number) => void;
  /** Notes for the user (a stale lock taken over). */
  onNote?: (note: string) => void;
  /** writeReport/writeFigures: the run directory's lock when the caller already holds it; otherwise it is taken there. */
  lock?: DirectoryLock;
}

export interface FigureFiles {
  name: string;
  svg: string;
  png: string;
  /** SVG markup, for inlining. */
  markup: string;
}

export interface FiguresResult {
  figuresDir: string;
  ecdf: FigureFiles;
  map: FigureFiles | null;
  mapNote: string | null;
  loss: FigureFiles | null;
  hydrographs: { basin: string; figure: FigureFiles }[];
  /** Which hydrographs were drawn, in words. */
  hydrographNote: string;
}

/** Which basins get a hydrograph: all up to ALL_HYDROGRAPHS_UP_TO, else `cap` spread over the NSE ranking. */
export function selectHydrographBasins(results: RunResults, cap?: number): { basins: string[]; note: string } {
  const nse = new Map(results.metrics.rows.map((r) => [r.basin, r.metrics.NSE]));
  const ranked = [...results.withPredictions].sort((a, b) => {
    const x = nse.get(a);
    const y = nse.get(b);
    if (!isDefined(x)) return isDefined(y) ? 1 : 0; // basins without an NSE last
    if (!isDefined(y)) return -1;
    return y - x;
  });
  const missing = results.metrics.rows.length - results.withPredictions.length;
  const missingNote = missing > 0 ? ` ${missing} basin(s) of metrics.csv have no predictions file.` : '';
  const limit = cap ?? (ranked.length <= ALL_HYDROGRAPHS_UP_TO ? ranked.length : HYDROGRAPH_CAP);
  if (limit <= 0 || limit >= ranked.length) {
    return { basins: ranked, note: `All ${ranked.length} basins, from the highest to the lowest NSE.${missingNote}` };
  }
  const picked: string[] = [];
  for (let i = 0; i < limit; i++) {
    const index = limit === 1 ? 0 : Math.round((i * (ranked.length - 1)) / (limit - 1));
    if (picked[picked.length - 1] !== ranked[index]) picked.push(ranked[index]);
  }
  return {
    basins: picked,
    note: `${picked.length} of ${ranked.length} basins, spread evenly over the NSE ranking (the best, the worst and every ~${Math.round(ranked.length / limit)}th basin between), from the highest to the lowest NSE.${missingNote}`,
  };
}

function figure(name: string, spec: object, dir: string): FigureFiles {
  const { svg, png } = renderFigure(spec);
  const base = path.join(dir, name);
  writeFileAtomic(`${base}.svg`, svg);
  writeFileAtomic(`${base}.png`, png);
  return { name, svg: `${base}.svg`, png: `${base}.png`, markup: svg };
}

function lossName(raw: Record<string, unknown> | null): string | undefined {
  const loss = raw?.loss;
  return typeof loss === 'string' ? loss : 'NSE';
}

/** Renders all figures of a run to <runDir>/<period>/figures/ (SVG and PNG); the caller holds the run directory's lock. */
export function writeRunFigures(results: RunResults, options: ReportOptions = {}): FiguresResult {
  const figuresDir = path.join(results.periodDir, 'figures');
  mkdirSync(figuresDir, { recursive: true });
  const selection = selectHydrographBasins(results, options.maxHydrographs);
  const total = 3 + selection.basins.length;
  let done = 0;
  const progress = (name: string) => options.onFigure?.(name, done++, total);
  const rows = results.metrics.rows;
  const model = modelLabel(results);
  const period = periodLabel(results.period);

  progress('nse_ecdf');
  const nses = rows.map((r) => r.metrics.NSE);
  const ecdf = figure('nse_ecdf', ecdfFigure([{ name: model, values: nses }], { title: `NSE, ${period}: cumulative distribution over basins` }), figuresDir);

  progress('nse_map');
  let map: FigureFiles | null = null;
  let mapNote: string | null = null;
  if (typeof results.coordinates === 'string') {
    mapNote = results.coordinates;
  } else {
    const coords = results.coordinates;
    const points = rows.map((r) => ({ basin: r.basin, lat: coords.get(r.basin)?.lat ?? Number.NaN, lon: coords.get(r.basin)?.lon ?? Number.NaN, value: r.metrics.NSE }));
    map = figure('nse_map', nseMapFigure(points, { title: `NSE per basin, ${period}` }), figuresDir);
  }

  progress('train_loss');
  const loss = results.trainLog.length > 0 ? figure('train_loss', lossFigure(results.trainLog, { lossName: lossName(results.rawConfig) }), figuresDir) : null;

  const rowOf = new Map(rows.map((r) => [r.basin, r]));
  const hydrographs = selection.basins.map((basin) => {
    progress(`hydrograph_${basin}`);
    const p = readPredictions(path.join(results.predictionsDir, `${basin}.csv`), basin);
    const row = rowOf.get(basin);
    const nse = row?.metrics.NSE ?? Number.NaN;
    const why = !isDefined(nse) && row?.reasons.NSE ? `: ${row.reasons.NSE}` : '';
    const title = `Basin ${basin}: NSE ${formatValue(nse)}${why} (${model}, ${period})`;
    const spec = hydrographFigure(basin, Array.from(p.dates, isoDate), Array.from(p.qobs), Array.from(p.qsim), title);
    return { basin, figure: figure(`hydrograph_${basin}`, spec, figuresDir) };
  });
  options.onFigure?.('done', total, total);
  return { figuresDir, ecdf, map, mapNote, loss, hydrographs, hydrographNote: selection.note };
}
