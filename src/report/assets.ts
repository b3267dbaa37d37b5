/**
 * The report page's stylesheet and script, inlined into report.html (the page loads nothing from anywhere).
 * The script sorts the per-basin table by a clicked column, missing values always last.
 */

export const STYLE = `
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1000px; margin: 0 auto; padding: 1.5rem 1.5rem 4rem; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .6rem; border-bottom: 1px solid #ddd; padding-bottom: .25rem; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .4rem; }
.meta { color: #555; margin: 0 0 1rem; word-break: break-all; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; margin: .6rem 0 0; }
a { color: #1f5fa8; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .25rem .6rem; text-align: left; border-bottom: 1px solid #eee; vertical-align: top; }
table.config td:first-child { white-space: nowrap; }
table.config td:last-child { word-break: break-word; }
table.config tr.group th { background: #f3f3f3; font-weight: 600; padding-top: .45rem; }
table.summary th { font-weight: normal; color: #444; }
table.summary td, table.log td, #metrics td { text-align: right; }
#metrics td:first-child { text-align: left; }
#metrics thead th { position: sticky; top: 0; background: #f3f3f3; cursor: pointer; user-select: none; white-space: nowrap; }
#metrics thead th:hover { background: #e6eefa; }
#metrics thead th::after { content: " \\2195"; color: #aaa; font-size: .8em; }
#metrics thead th[aria-sort="ascending"]::after { content: " \\25B2"; color: #333; }
#metrics thead th[aria-sort="descending"]::after { content: " \\25BC"; color: #333; }
#metrics tbody tr:hover { background: #f7f9fc; }
td.bad { color: #c0392b; font-weight: 600; }
#metrics td.note { text-align: left; color: #555; font-size: .85rem; min-width: 14rem; }
.table-wrap { max-height: 34rem; overflow: auto; border: 1px solid #ddd; }
#metrics { width: 100%; }
figure.chart { margin: .5rem 0; }
figure.chart svg, .hydrograph img { max-width: 100%; height: auto; display: block; }
.side-by-side { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.note { color: #555; font-size: .92rem; }
.metric-notes { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem; font-size: .88rem; color: #555; }
.metric-notes dt { font-family: monospace; }
.metric-notes dd { margin: 0; }
.hydrograph { margin: 1rem 0 1.6rem; }
code { font-size: .9em; }
`;

export const SORT_SCRIPT = `
(function () {
  function cellKey(row, col, numeric) {
    var cell = row.cells[col];
    var v = cell.getAttribute('data-value');
    if (v === null) v = cell.textContent.trim();
    if (!numeric) return v;
    return v === '' ? NaN : Number(v);
  }
  function sortTable(table, col, th) {
    var header = table.tHead.rows[0];
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    for (var i = 0; i < header.cells.length; i++) header.cells[i].removeAttribute('aria-sort');
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var numeric = th.getAttribute('data-type') === 'number';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, col, numeric), y = cellKey(b, col, numeric);
      if (numeric) {
        if (isNaN(x)) return isNaN(y) ? 0 : 1; // missing values always last
        if (isNaN(y)) return -1;
        return ascending ? x - y : y - x;
      }
      return ascending ? String(x).localeCompare(String(y)) : String(y).localeCompare(String(x));
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  var tables = document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables, function (table) {
    var header = table.tHead.rows[0];
    Array.prototype.forEach.call(header.cells, function (th, col) {
      th.tabIndex = 0;
      th.addEventListener('click', function () { sortTable(table, col, th); });
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortTable(table, col, th); }
      });
    });
  });
})();
`;
