import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { splitCsvLine } from '../util/csv.js';
import { writeFileAtomic } from '../util/files.js';
import type { CollectResult } from './collect.js';
import type { ExpandedStudy } from './expand.js';
import { countStates, failureOf } from './state.js';
import { escapeHtml } from '../util/html.js';


/** An HTML table of a CSV file written by collect (numbers rounded for reading; the CSV keeps them all). */
function csvTable(file: string): string {
  if (!existsSync(file)) return '';
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  const rows = lines.map((l) => splitCsvLine(l));
  const cell = (v: string) => (/^-?\d+\.\d{4,}(e-?\d+)?$/.test(v) ? Number(v).toPrecision(4) : v);
  const head = rows[0].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .slice(1)
    .map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(cell(v))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/**
 * <study>/report.html: what the study is, the state of its runs with links to each run's report, the
 * comparison (Table 2 style, Wilcoxon and Cohen's d, ECDF) or the grid search table. Links are relative, so the
 * study folder can be moved or copied as a whole.
 */
export function writeStudyReport(expanded: ExpandedStudy, result: CollectResult): string {
  const out = expanded.study.outputDir;
  const rel = (p: string) => path.relative(out, p).split(path.sep).join('/');
  const study = expanded.study;
  const sections: string[] = [];
  sections.push(`<h1>Study ${escapeHtml(study.name)}</h1>`);
  if (study.description) sections.push(`<p>${escapeHtml(study.description)}</p>`);
  const counts = countStates([...result.states.values()]);
  sections.push(
    `<p>${expanded.runs.length} runs: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}. Study file <code>${escapeHtml(path.resolve(study.file))}</code>; ` +
      `collected ${escapeHtml(new Date().toISOString())}.</p>`,
  );
  for (const n of result.notes) sections.push(`<p class="note">${escapeHtml(n)}</p>`);

  if (result.comparison) {
    const dir = path.join(result.resultsDir, 'comparison');
    sections.push('<h2>Comparison of the setups (Table 2 style)</h2>');
    sections.push(
      '<p>Statistics over the basins all setups share; a setup with several seeds shows mean ± std over its seeds, its ensemble ' +
        `(the seeds' mean simulation) is a row of its own. Files: <a href="${rel(path.join(dir, 'table.md'))}">table.md</a>, ` +
        `<a href="${rel(path.join(dir, 'table.csv'))}">table.csv</a>.</p>`,
    );
    sections.push(csvTable(path.join(dir, 'table.csv')));
    sections.push("<h3>Paired Wilcoxon signed-rank tests and Cohen's d (per-basin NSE)</h3>");
    sections.push(csvTable(path.join(dir, 'wilcoxon.csv')));
    if (existsSync(path.join(dir, 'ecdf_nse.svg'))) sections.push(`<h3>ECDF of NSE</h3><img src="${rel(path.join(dir, 'ecdf_nse.svg'))}" alt="ECDF of NSE">`);
  }
  if (result.grid) {
    sections.push('<h2>Grid search</h2>');
    const md = readFileSync(path.join(result.resultsDir, 'grid.md'), 'utf8');
    const winner = /^Winning setting: .*$/m.exec(md)?.[0];
    if (winner) sections.push(`<p><strong>${escapeHtml(winner)}</strong></p>`);
    sections.push(csvTable(path.join(result.resultsDir, 'grid.csv')));
  }

  sections.push('<h2>Runs</h2>');
  const rows = expanded.runs.map((run) => {
    const state = result.states.get(run) ?? 'pending';
    const report = path.join(run.dir, 'report.html');
    const link = existsSync(report)
      ? `<a href="${rel(report)}">${escapeHtml(run.name)}</a>`
      : existsSync(path.join(run.dir, 'test', 'metrics.csv'))
        ? `<a href="${rel(path.join(run.dir, 'test', 'metrics.csv'))}">${escapeHtml(run.name)}</a>`
        : escapeHtml(run.name);
    const error = state === 'failed' ? escapeHtml(failureOf(expanded, run)?.split('\n')[0] ?? '') : '';
    return `<tr><td>${link}</td><td>${escapeHtml(state)}</td><td>${error}</td></tr>`;
  });
  sections.push(`<table><thead><tr><th>run</th><th>state</th><th>error</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`);
  sections.push(`<p>Per-run summary: <a href="${rel(path.join(result.resultsDir, 'runs.csv'))}">runs.csv</a>.</p>`);

  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Study ${escapeHtml(study.name)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 75em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.note { color: #8a5a00; }
img { max-width: 100%; }
</style></head>
<body>
${sections.join('\n')}
</body></html>
`;
  const file = path.join(out, 'report.html');
  writeFileAtomic(file, html);
  return file;
}
