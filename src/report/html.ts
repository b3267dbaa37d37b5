/**
 * The run report: one self-contained HTML file (figures inlined, no external URLs) with the run's settings, its
 * training log, the evaluation summary, the NSE ECDF and map, a sortable per-basin table and the hydrographs.
 * The results are read by run-results.ts, the figures drawn by run-figures.ts; this module writes the page.
 * Summaries follow the rule of evaluation/summary.ts: statistics over the basins with a defined value, the
 * others named with their reasons.
 */
import path from 'node:path';
import { readBasinList } from '../data/basin-list.js';
import { writeFileAtomic } from '../util/files.js';
import { withLock } from '../run/lock.js';
import { type EpochLog, reportFile } from '../run/run-dir.js';
import { formatNote } from '../evaluation/results-files.js';
import { describeLeftOut, formatValue, isDefined, overBasins, summarizeMetric } from '../evaluation/summary.js';
import { SORT_SCRIPT, STYLE } from './assets.js';
import { type FiguresResult, type FigureFiles, type ReportOptions, writeRunFigures } from './run-figures.js';
import { modelLabel, periodLabel, readRunResults, type RunResults } from './run-results.js';
import { escapeHtml } from '../util/html.js';


/** Makes the ids of an inline SVG unique in the page (vega numbers its clip paths per process). */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id) => `href="#${prefix}-${id}"`);
}

function inlineSvg(fig: FigureFiles, label: string): string {
  const svg = prefixSvgIds(fig.markup, fig.name).replace(/^<svg\b/, `<svg role="img" aria-label="${escapeHtml(label)}"`);
  return `<figure class="chart">${svg}</figure>`;
}

function svgImage(fig: FigureFiles, alt: string): string {
  const uri = `data:image/svg+xml;base64,${Buffer.from(fig.markup, 'utf8').toString('base64')}`;
  return `<img src="${uri}" alt="${escapeHtml(alt)}" decoding="async">`;
}

const fmt = (v: number | undefined, digits = 3) => formatValue(v ?? Number.NaN, digits);

const METRIC_NOTES: Record<string, string> = {
  NSE: 'Nash-Sutcliffe efficiency (1 is perfect, 0 is as good as the mean of the observations)',
  alpha_nse: 'ratio of the standard deviations, simulated / observed (1 is perfect)',
  beta_nse: 'difference of the means divided by the standard deviation of the observations (0 is perfect)',
  FHV: 'percent bias of the peak flow volume, top 2% of the flow duration curve (0 is perfect)',
  FMS: 'percent bias of the slope of the flow duration curve between 20% and 70% (0 is perfect)',
  FLV: 'percent bias of the low flow volume, bottom 30% of the flow duration curve (0 is perfect)',
  KGE: 'Kling-Gupta efficiency (1 is perfect)',
};

const DIGITS: Record<string, number> = { FHV: 1, FMS: 1, FLV: 1 };

const CONFIG_GROUPS: { title: string; keys: string[] }[] = [
  { title: 'Model', keys: ['experiment_name', 'model', 'hidden_size', 'seq_length', 'initial_forget_bias', 'output_dropout'] },
  {
    title: 'Data',
    keys: ['dataset', 'data_dir', 'forcings', 'dynamic_inputs', 'static_attributes', 'target_variables', 'train_basin_file', 'test_basin_file'],
  },
  { title: 'Periods', keys: ['train_start_date', 'train_end_date', 'test_start_date', 'test_end_date'] },
  { title: 'Training', keys: ['loss', 'learning_rate', 'batch_size', 'epochs', 'clip_gradient_norm', 'seed', 'backend', 'num_workers'] },
];

function configValue(v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => String(x)).join(', ') || '(none)';
  if (v && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}: ${String(x)}`)
      .join(', ');
  }
  return v === undefined || v === null ? '(not set)' : String(v);
}

/** ' (N basins)' after a basin file's name, or nothing when it cannot be read (the report still shows the name). */
function basinFileCount(file: unknown): string {
  if (typeof file !== 'string') return '';
  try {
    return ` (${readBasinList(file).length} basins)`;
  } catch {
    return '';
  }
}

function configTable(raw: Record<string, unknown> | null): string {
  if (!raw) return '<p class="note">config.yml could not be read.</p>';
  const shown = new Set<string>();
  const rows: string[] = [];
  for (const group of CONFIG_GROUPS) {
    const present = group.keys.filter((k) => k in raw);
    if (present.length === 0) continue;
    rows.push(`<tr class="group"><th colspan="2">${escapeHtml(group.title)}</th></tr>`);
    for (const k of present) {
      shown.add(k);
      const extra = k.endsWith('_basin_file') ? basinFileCount(raw[k]) : '';
      rows.push(`<tr><td><code>${escapeHtml(k)}</code></td><td>${escapeHtml(configValue(raw[k]) + extra)}</td></tr>`);
    }
  }
  const rest = Object.keys(raw).filter((k) => !shown.has(k));
  if (rest.length) {
    rows.push('<tr class="group"><th colspan="2">Other</th></tr>');
    for (const k of rest) rows.push(`<tr><td><code>${escapeHtml(k)}</code></td><td>${escapeHtml(configValue(raw[k]))}</td></tr>`);
  }
  return `<table class="config"><tbody>${rows.join('\n')}</tbody></table>`;
}

function trainLogSection(log: EpochLog[], loss: FigureFiles | null, members: string[] | null): string {
  if (members) {
    return `<p>An ensemble: the mean of the simulations of ${members.length} runs (their training logs are in their run directories):</p>
<ul>${members.map((m) => `<li><code>${escapeHtml(m)}</code></li>`).join('')}</ul>`;
  }
  if (log.length === 0) return '<p class="note">No training log (train_log.jsonl) in the run directory.</p>';
  const total = log.reduce((a, e) => a + (e.seconds ?? 0), 0);
  const rows = log
    .map(
      (e) =>
        `<tr><td>${e.epoch}</td><td>${fmt(e.loss, 5)}</td><td>${escapeHtml(e.lr ?? '')}</td><td>${fmt(e.seconds, 1)}</td><td>${escapeHtml(e.samples ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<div class="side-by-side">
${loss ? inlineSvg(loss, 'training loss per epoch') : ''}
<table class="log"><thead><tr><th>epoch</th><th>loss</th><th>learning rate</th><th>seconds</th><th>samples</th></tr></thead>
<tbody>${rows}</tbody></table>
</div>
<p class="note">${log.length} epochs, ${total < 120 ? `${fmt(total, 1)} s` : `${fmt(total / 60, 1)} min`} of training.</p>`;
}

/** The summary table: NSE statistics and other medians, each saying over how many basins it was taken. */
function summarySection(results: RunResults): string {
  const rows = results.metrics.rows;
  const nse = summarizeMetric(rows, 'NSE');
  const over = ` <span class="note">(${escapeHtml(overBasins(nse))})</span>`;
  const items: [string, string][] = [
    ['basins', String(rows.length)],
    ['mean NSE', fmt(nse.mean) + over],
    ['median NSE', fmt(nse.median) + over],
    ['basins with NSE &le; 0', String(nse.nonPositive)],
  ];
  if (nse.leftOut.length > 0) items.push(['basins without a defined NSE', escapeHtml(describeLeftOut(nse.leftOut, 'NSE'))]);
  for (const c of results.metrics.columns) {
    if (c === 'NSE') continue;
    const s = summarizeMetric(rows, c);
    const note = s.leftOut.length > 0 ? ` <span class="note">(${escapeHtml(overBasins(s))})</span>` : '';
    items.push([`median ${escapeHtml(c)}`, fmt(s.median, DIGITS[c] ?? 3) + note]);
  }
  return `<table class="summary"><tbody>${items.map(([k, v]) => `<tr><th scope="row">${k}</th><td>${v}</td></tr>`).join('\n')}</tbody></table>`;
}

function metricsTable(results: RunResults, shown: Set<string>): string {
  const cols = results.metrics.columns;
  const head =
    `<tr><th scope="col" data-type="text">basin</th>${cols.map((c) => `<th scope="col" data-type="number" title="${escapeHtml(METRIC_NOTES[c] ?? c)}">${escapeHtml(c)}</th>`).join('')}` +
    '<th scope="col" data-type="text" title="why a metric has no value">note</th></tr>';
  const body = results.metrics.rows
    .map((r) => {
      const name = shown.has(r.basin) ? `<a href="#hydrograph-${escapeHtml(r.basin)}">${escapeHtml(r.basin)}</a>` : escapeHtml(r.basin);
      const cells = cols
        .map((c) => {
          const v = r.metrics[c];
          const cls = c === 'NSE' && isDefined(v) && v <= 0 ? ' class="bad"' : '';
          const why = r.reasons[c] ? ` title="${escapeHtml(r.reasons[c])}"` : '';
          return `<td data-value="${isDefined(v) ? v : ''}"${cls}${why}>${fmt(v, DIGITS[c] ?? 3)}</td>`;
        })
        .join('');
      return `<tr><td data-value="${escapeHtml(r.basin)}">${name}</td>${cells}<td class="note">${escapeHtml(formatNote(r.reasons))}</td></tr>`;
    })
    .join('\n');
  const notes = cols
    .filter((c) => METRIC_NOTES[c])
    .map((c) => `<dt>${escapeHtml(c)}</dt><dd>${escapeHtml(METRIC_NOTES[c])}</dd>`)
    .join('');
  return `<p class="note">Click a column header to sort (again to reverse). Basins with NSE &le; 0 are marked red; n/a marks a metric that is not defined for the basin, the note says why.</p>
<div class="table-wrap"><table id="metrics" class="sortable"><thead>${head}</thead><tbody>
${body}
</tbody></table></div>
<dl class="metric-notes">${notes}</dl>`;
}

/** Builds the report page from the results and rendered figures. */
export function reportHtml(results: RunResults, figures: FiguresResult): string {
  const raw = results.rawConfig;
  const model = modelLabel(results);
  const name = typeof raw?.experiment_name === 'string' ? raw.experiment_name : path.basename(results.runDir);
  const period = periodLabel(results.period);
  const start = raw?.[`${results.period}_start_date`];
  const end = raw?.[`${results.period}_end_date`];
  const shown = new Set(figures.hydrographs.map((h) => h.basin));
  const hydrographs = figures.hydrographs
    .map(
      (h) => `<section class="hydrograph" id="hydrograph-${escapeHtml(h.basin)}"><h3>Basin ${escapeHtml(h.basin)}</h3>
${svgImage(h.figure, `observed and simulated discharge of basin ${h.basin}`)}</section>`,
    )
    .join('\n');
  const mapPart = figures.map
    ? `${inlineSvg(figures.map, 'map of NSE per basin')}<p class="note">Colour: NSE, clamped to [0, 1]; red crosses: NSE &lt; 0.</p>`
    : `<p class="note">${escapeHtml(figures.mapNote ?? 'no map')}</p>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(name)}: ${escapeHtml(model)} report (${escapeHtml(period)})</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(name)}: ${escapeHtml(model)}, ${escapeHtml(period)}</h1>
<p class="meta">Run directory <code>${escapeHtml(path.resolve(results.runDir))}</code><br>
${escapeHtml(period)}${start && end ? ` ${escapeHtml(start)} to ${escapeHtml(end)}` : ''}, ${results.metrics.rows.length} basins. Report written ${escapeHtml(new Date().toISOString().replace('T', ' ').slice(0, 19))} UTC.
Figures as SVG and PNG: <code>${escapeHtml(path.resolve(figures.figuresDir))}</code></p>
<nav><ul>
<li><a href="#summary">Summary</a></li><li><a href="#config">Settings</a></li><li><a href="#training">Training</a></li>
<li><a href="#ecdf">NSE distribution</a></li><li><a href="#map">Map</a></li><li><a href="#basins">Per-basin metrics</a></li><li><a href="#hydrographs">Hydrographs</a></li>
</ul></nav>

<h2 id="summary">Summary</h2>
${summarySection(results)}

<h2 id="config">Settings (config.yml${results.ensembleMembers ? ' of the first member' : ''})</h2>
${configTable(raw)}

<h2 id="training">Training</h2>
${trainLogSection(results.trainLog, figures.loss, results.ensembleMembers)}

<h2 id="ecdf">NSE distribution</h2>
${inlineSvg(figures.ecdf, 'cumulative distribution of NSE over basins')}
<p class="note">Empirical cumulative distribution of the per-basin NSE (as in the paper's Figs. 3 to 5). Basins below 0 are counted at the left edge.</p>

<h2 id="map">Map</h2>
${mapPart}

<h2 id="basins">Per-basin metrics</h2>
${metricsTable(results, shown)}

<h2 id="hydrographs">Hydrographs</h2>
<p class="note">${escapeHtml(figures.hydrographNote)} Black: observed; blue: simulated.</p>
${hydrographs}
</main>
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}

/**
 * Writes <runDir>/report.html (report_train.html for the training period; one self-contained file) and the figures under <runDir>/<period>/figures/.
 * Needs an evaluated run (<period>/metrics.csv and predictions/); throws InputError otherwise.
 */
export function writeReport(runDir: string, options: ReportOptions = {}): { report: string; figures: FiguresResult } {
  // Under the run directory's lock: evaluate swapping <period>/ in while the results are read would give a page
  // of half old, half new results (and the figures would go into a folder being replaced).
  return withLock(
    runDir,
    'report',
    () => {
      const results = readRunResults(runDir, options.period ?? 'test');
      const figures = writeRunFigures(results, options);
      const report = reportFile(runDir, results.period);
      writeFileAtomic(report, reportHtml(results, figures));
      return { report, figures };
    },
    options.onNote,
    options.lock,
  );
}

/** `ealstm figures`: the figures only (under the run directory's lock, as writeReport). */
export function writeFigures(runDir: string, options: ReportOptions = {}): FiguresResult {
  return withLock(runDir, 'figures', () => writeRunFigures(readRunResults(runDir, options.period ?? 'test'), options), options.onNote, options.lock);
}
