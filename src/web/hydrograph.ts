/**
 * The page's hydrograph: observed and simulated discharge over the days of one basin, as an SVG element (plain
 * DOM, no plotting library, so the page stays one small self-contained script). Days without a value break the line.
 */
import { dateParts } from '../util/dates.js';
import type { PageSimulation } from './page-model.js';

const WIDTH = 960;
const HEIGHT = 320;
const MARGIN = { left: 56, right: 16, top: 24, bottom: 32 };
const SVG = 'http://www.w3.org/2000/svg';

function element(name: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A "nice" step (1, 2 or 5 times a power of ten) for about `count` ticks over [0, max]. */
function tickStep(max: number, count: number): number {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
}

/** An SVG path through the finite values; NaN days break it into segments. */
function linePath(values: Float64Array, x: (i: number) => number, y: (v: number) => number): string {
  let d = '';
  let drawing = false;
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      drawing = false;
      return;
    }
    d += `${drawing ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    drawing = true;
  });
  return d;
}

export function renderHydrograph(result: PageSimulation): SVGElement {
  const { dates, qsim, qobs } = result;
  const n = dates.length;
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, Number.isFinite(qsim[i]) ? qsim[i] : 0, Number.isFinite(qobs[i]) ? qobs[i] : 0);
  const step = tickStep(max > 0 ? max : 1, 5);
  const top = Math.ceil((max > 0 ? max : 1) / step) * step;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (i: number) => MARGIN.left + (n > 1 ? (i / (n - 1)) * plotW : 0);
  const y = (v: number) => MARGIN.top + plotH - (v / top) * plotH;

  const svg = element('svg', { id: 'hydrograph', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: '100%', role: 'img' });
  svg.append(element('title', {}, `Hydrograph of basin ${result.basin}`));
  const axis = element('g', { class: 'axis' });
  for (let v = 0; v <= top + step / 2; v += step) {
    axis.append(element('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(v), y2: y(v), class: 'grid' }));
    axis.append(element('text', { x: MARGIN.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(Number(v.toPrecision(6)))));
  }
  // A tick on each 1 January, labelled with the year (every k-th where the years crowd).
  const years: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = dateParts(dates[i]);
    if (p.month === 1 && p.day === 1) years.push(i);
  }
  const every = Math.max(1, Math.ceil(years.length / 12));
  years.forEach((i, k) => {
    axis.append(element('line', { x1: x(i), x2: x(i), y1: MARGIN.top + plotH, y2: MARGIN.top + plotH + 4 }));
    if (k % every === 0) axis.append(element('text', { x: x(i), y: HEIGHT - 10, 'text-anchor': 'middle' }, String(dateParts(dates[i]).year)));
  });
  axis.append(element('text', { x: 4, y: 14 }, 'discharge (mm/day)'));
  svg.append(axis);
  svg.append(element('path', { class: 'qobs', d: linePath(qobs, x, y) }));
  svg.append(element('path', { class: 'qsim', d: linePath(qsim, x, y) }));
  const legend = element('g', { class: 'legend' });
  legend.append(element('line', { x1: WIDTH - 220, x2: WIDTH - 196, y1: 12, y2: 12, class: 'qobs' }));
  legend.append(element('text', { x: WIDTH - 190, y: 16 }, 'observed'));
  legend.append(element('line', { x1: WIDTH - 120, x2: WIDTH - 96, y1: 12, y2: 12, class: 'qsim' }));
  legend.append(element('text', { x: WIDTH - 90, y: 16 }, 'simulated'));
  svg.append(legend);
  return svg;
}
