import { chromiumMissing, launchChromium } from './helpers/chromium.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { InputError } from '../src/util/errors.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { ecdfFigure, hydrographFigure, lossFigure, nseMapFigure, writeFigure } from '../src/render/figures.js';
import { prefixSvgIds, writeFigures, writeReport } from '../src/report/html.js';
import { selectHydrographBasins } from '../src/report/run-figures.js';
import type { RunResults } from '../src/report/run-results.js';
import { readMetricsFile } from '../src/evaluation/results-files.js';
import { renderSvg, svgToPixels } from '../src/render/render.js';
import { train } from '../src/training/trainer.js';
import { repoRoot, tinyConfig } from './helpers/tiny-config.js';

const TINY_BASINS = ['01022500', '02053200', '02464000'];

/** The contents of each `<g class="mark-<type> role-mark ...">` group of a vega SVG. */
function markGroups(svg: string, type: string): string[] {
  const re = new RegExp(`<g class="mark-${type} role-mark[^"]*"[^>]*>(.*?)</g>`, 'gs');
  return [...svg.matchAll(re)].map((m) => m[1]);
}

const count = (s: string, needle: string) => s.split(needle).length - 1;

function dailyDates(start: string, days: number): string[] {
  const t0 = Date.parse(`${start}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => new Date(t0 + i * 86_400_000).toISOString().slice(0, 10));
}

// ------------------------------------------------------------------------------------------- figure specs

test('ecdfFigure: one step line per model, x clipped to [xMin, 1], values below counted at the left edge', () => {
  const spec = ecdfFigure(
    [
      { name: 'EA-LSTM', values: [0.9, 0.8, 0.7, -0.5, 0.6] },
      { name: 'LSTM', values: [0.5, 0.4, Number.NaN, 0.3] },
    ],
    { title: 'test ECDF' },
  ) as { data: { values: { model: string; x: number; y: number }[] }; mark: { interpolate: string } };
  assert.equal(spec.mark.interpolate, 'step-after');
  const ea = spec.data.values.filter((r) => r.model.startsWith('EA-LSTM'));
  assert.deepEqual(ea[0], { ...ea[0], x: 0, y: 0.2 }, 'one of five basins below 0: the curve starts at 0.2');
  assert.equal(ea[ea.length - 1].y, 1);
  assert.ok(spec.data.values.every((r) => r.x >= 0 && r.x <= 1 && r.y >= 0 && r.y <= 1));
  const svg = renderSvg(spec);
  assert.ok(svg.startsWith('<svg'));
  const lines = markGroups(svg, 'line');
  assert.equal(lines.length, 2, 'one line per model');
  for (const g of lines) assert.match(g, /<path [^>]*d="M/);
  for (const text of ['test ECDF', 'cumulative fraction of basins', 'NSE', 'EA-LSTM (n=5; 1 below 0)', 'LSTM (n=3)', 'LSTM: 1 basin without a value left out']) {
    assert.ok(svg.includes(text), `SVG has the text '${text}'`);
  }
});

test('hydrographFigure: observed and simulated lines with a legend; a zoom panel for long series', () => {
  const short = dailyDates('2001-10-01', 182);
  const q = short.map((_, i) => 1 + Math.sin(i / 9) ** 2 * 5);
  const svgShort = renderSvg(hydrographFigure('01022500', short, q, q.map((v) => v * 0.9)));
  assert.equal(markGroups(svgShort, 'line').length, 2);
  for (const text of ['Basin 01022500', 'observed', 'simulated', 'discharge (mm/day)']) assert.ok(svgShort.includes(text), text);
  assert.ok(svgShort.includes('stroke="#000000"'), 'observed is black');

  const long = dailyDates('1989-10-01', 3652);
  const qLong = long.map((_, i) => (i === 100 ? Number.NaN : 1 + Math.sin(i / 20) ** 2 * 8));
  const spec = hydrographFigure('01022500', long, qLong, qLong.map((v) => v * 1.1), 'ten years') as { vconcat: unknown[] };
  assert.equal(spec.vconcat.length, 2, 'full series and the last 365 days');
  const svgLong = renderSvg(spec);
  assert.equal(markGroups(svgLong, 'line').length, 4);
  assert.ok(svgLong.includes('last 365 days'));
  assert.throws(() => hydrographFigure('x', short, q, q.slice(1)), /differ in length/);
});

test('nseMapFigure: state outlines, dots coloured by NSE, basins below 0 as separate crosses', () => {
  const points = [
    { basin: 'a', lat: 44.6, lon: -67.9, value: 0.8 },
    { basin: 'b', lat: 35.6, lon: -77.6, value: 0.4 },
    { basin: 'c', lat: 32.6, lon: -87.2, value: -0.3 },
    { basin: 'd', lat: 40.0, lon: -105.0, value: 1.2 },
    { basin: 'e', lat: Number.NaN, lon: Number.NaN, value: 0.5 },
  ];
  const svg = renderSvg(nseMapFigure(points));
  const shapes = markGroups(svg, 'shape');
  assert.equal(shapes.length, 1);
  assert.ok(count(shapes[0], '<path') >= 49, 'the states are drawn');
  const symbols = markGroups(svg, 'symbol');
  assert.equal(symbols.length, 2, 'dots and crosses');
  assert.equal(count(symbols[0], '<path'), 3, 'three basins with NSE >= 0');
  assert.equal(count(symbols[1], '<path'), 1, 'one basin with NSE < 0');
  assert.ok(symbols[1].includes('#d62728'), 'the basin below 0 is red');
  assert.ok(svg.includes('NSE &lt; 0') || svg.includes('NSE < 0'));
  assert.ok(svg.includes('1 basin without coordinates not shown'));
  // The colour scale is clamped: NSE 1.2 gets the same colour as 1.
  const fill = (basin: string) => new RegExp(`basin: ${basin}"[^>]*fill="([^"]+)"`).exec(symbols[0])?.[1];
  const top = renderSvg(nseMapFigure([{ basin: 'z', lat: 40, lon: -105, value: 1 }]));
  assert.equal(fill('d'), new RegExp('basin: z"[^>]*fill="([^"]+)"').exec(markGroups(top, 'symbol')[0])?.[1]);

  // Outside the US (Caravan): no outlines, longitude/latitude axes instead of albersUsa (which would drop them).
  const world = renderSvg(nseMapFigure([{ basin: 'ch', lat: 47, lon: 8, value: 0.7 }, ...points.slice(0, 2)]));
  assert.equal(markGroups(world, 'shape').length, 0);
  assert.equal(count(markGroups(world, 'symbol')[0], '<path'), 3);
  assert.ok(world.includes('longitude') && world.includes('latitude'));
});

test('lossFigure: a line with points per epoch', () => {
  const svg = renderSvg(lossFigure([{ epoch: 1, loss: 0.4, lr: 1e-3 }, { epoch: 2, loss: 0.3, lr: 1e-3 }, { epoch: 3, loss: 0.25, lr: 5e-4 }]));
  assert.equal(markGroups(svg, 'line').length, 1);
  assert.equal(count(markGroups(svg, 'symbol')[0], '<path'), 3);
});

test('writeFigure writes SVG and PNG, and the PNG shows the text', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ealstm-figure-'));
  const files = writeFigure(ecdfFigure([{ name: 'EA-LSTM', values: [0.1, 0.5, 0.9] }]), path.join(dir, 'sub', 'ecdf'));
  assert.deepEqual(files, { svg: path.join(dir, 'sub', 'ecdf.svg'), png: path.join(dir, 'sub', 'ecdf.png') });
  assert.ok(readFileSync(files.svg, 'utf8').startsWith('<svg'));
  const png = readFileSync(files.png);
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  assert.equal(png.readUInt32BE(16), 2 * Number(/width="(\d+)"/.exec(readFileSync(files.svg, 'utf8'))?.[1]), 'PNG at 2x');

  // A figure of text only: with working fonts resvg draws dark pixels; without, the image stays white.
  const textOnly = renderSvg({
    width: 200,
    height: 60,
    data: { values: [{}] },
    mark: { type: 'text', fontSize: 30, color: 'black' },
    encoding: { text: { value: 'Hydrology' } },
  });
  const { rgba } = svgToPixels(textOnly);
  let dark = 0;
  for (let i = 0; i < rgba.length; i += 4) if (rgba[i] < 100 && rgba[i + 1] < 100 && rgba[i + 2] < 100) dark++;
  assert.ok(dark > 100, `text is drawn in the PNG (${dark} dark pixels; are system fonts installed?)`);
});

test('prefixSvgIds makes clip-path ids unique per figure', () => {
  const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"/><use href="#clip1"/></svg>';
  assert.equal(
    prefixSvgIds(svg, 'fig'),
    '<svg><defs><clipPath id="fig-clip1"><rect/></clipPath></defs><g clip-path="url(#fig-clip1)"/><use href="#fig-clip1"/></svg>',
  );
});

test('selectHydrographBasins: all basins up to 40, else 30 spread over the NSE ranking', () => {
  const fake = (n: number): RunResults => {
    const rows = Array.from({ length: n }, (_, i) => ({ basin: `b${String(i).padStart(3, '0')}`, metrics: { NSE: i / n }, reasons: {} }));
    return { metrics: { columns: ['NSE'], rows }, withPredictions: rows.map((r) => r.basin) } as unknown as RunResults;
  };
  assert.equal(selectHydrographBasins(fake(40)).basins.length, 40);
  const many = selectHydrographBasins(fake(100));
  assert.equal(many.basins.length, 30);
  assert.equal(many.basins[0], 'b099', 'the best basin first');
  assert.equal(many.basins[29], 'b000', 'the worst basin last');
  assert.equal(new Set(many.basins).size, 30);
  assert.match(many.note, /30 of 100 basins/);
});

test('readMetricsFile: empty cells are NaN with a reason, bad numbers are errors with file:line', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ealstm-metrics-'));
  const file = path.join(dir, 'metrics.csv');
  const write = (text: string) => {
    writeFileSync(file, text);
    return file;
  };
  const table = readMetricsFile(write('basin,NSE,KGE\n01,0.5,\n02,-1,0.3\n'));
  assert.deepEqual(table.columns, ['NSE', 'KGE']);
  assert.ok(Number.isNaN(table.rows[0].metrics.KGE));
  assert.equal(table.rows[0].reasons.KGE, `no value in ${file}`);
  assert.equal(table.rows[1].metrics.NSE, -1);
  assert.throws(() => readMetricsFile(write('basin,NSE\n01,abc\n')), (err: Error) => err instanceof InputError && /metrics\.csv:2: column NSE: 'abc' is not a number/.test(err.message));
  // the note column gives the reasons; an infinite metric (numpy's NSE of constant flow) is missing too
  const noted = readMetricsFile(write('basin,NSE,FMS,note\n01,-inf,,"NSE, FMS: constant observed flow (2 on all 9 days)"\n'));
  assert.ok(Number.isNaN(noted.rows[0].metrics.NSE));
  assert.deepEqual(noted.rows[0].reasons, { NSE: 'constant observed flow (2 on all 9 days)', FMS: 'constant observed flow (2 on all 9 days)' });
});

// ------------------------------------------------------------------------------------------- the report

let runDir = '';

before(() => {
  const { dir, file } = tinyConfig();
  runDir = path.join(dir, 'run');
  train(loadConfig(file), { runDir });
  evaluateRun(runDir);
});

test('writeReport writes one self-contained HTML file and the figures', () => {
  const seen: string[] = [];
  const { report, figures } = writeReport(runDir, { onFigure: (name) => seen.push(name) });
  assert.equal(report, path.join(runDir, 'report.html'));
  const figuresDir = path.join(runDir, 'test', 'figures');
  assert.equal(figures.figuresDir, figuresDir);
  for (const name of ['nse_ecdf', 'nse_map', 'train_loss', ...TINY_BASINS.map((b) => `hydrograph_${b}`)]) {
    for (const ext of ['svg', 'png']) {
      const f = path.join(figuresDir, `${name}.${ext}`);
      assert.ok(existsSync(f) && statSync(f).size > 1000, `${name}.${ext} written`);
    }
  }
  assert.ok(seen.includes('nse_map') && seen[seen.length - 1] === 'done');

  const html = readFileSync(report, 'utf8');
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  // Self-contained: nothing fetched from anywhere (the SVG xmlns attributes are names, not fetched).
  assert.doesNotMatch(html, /\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i, 'no external src/href');
  assert.doesNotMatch(html, /<link\b/i);
  assert.doesNotMatch(html, /url\(\s*["']?(?:https?:)?\/\//i);
  assert.doesNotMatch(html, /@import/);
  assert.doesNotMatch(html, /<script[^>]+src=/i);
  for (const text of ['Summary', 'median NSE', 'basins with NSE &le; 0', 'hidden_size', 'Training', 'cumulative fraction of basins', 'NSE per basin', 'id="metrics"']) {
    assert.ok(html.includes(text), `report has '${text}'`);
  }
  for (const b of TINY_BASINS) assert.ok(html.includes(`id="hydrograph-${b}"`), `hydrograph of ${b}`);
  assert.match(html, /All 3 basins/);
  assert.ok(!readdirSync(runDir).some((n) => n.startsWith('.report')), 'no temporary files left');
});

test('the report renders in headless Chromium: images load, charts have a size, headers sort the table', async (t) => {
  const missing = chromiumMissing();
  if (missing) {
    t.skip(missing);
    return;
  }
  const report = path.join(runDir, 'report.html');
  if (!existsSync(report)) writeReport(runDir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
    });
    const requests: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (!url.startsWith('file:') && !url.startsWith('data:')) requests.push(url);
      return url.startsWith('file:') || url.startsWith('data:') ? route.continue() : route.abort();
    });
    await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
    assert.deepEqual(requests, [], 'no network requests');

    const images = await page.$$eval('img', (imgs) =>
      Promise.all(
        imgs.map(async (img) => {
          await img.decode().catch(() => undefined);
          return { alt: img.alt, naturalWidth: img.naturalWidth, width: img.getBoundingClientRect().width };
        }),
      ),
    );
    assert.equal(images.length, TINY_BASINS.length, 'one hydrograph image per basin');
    for (const img of images) assert.ok(img.naturalWidth > 0 && img.width > 0, `image '${img.alt}' loaded`);

    const svgs = await page.$$eval('svg', (list) => list.map((s) => ({ label: s.getAttribute('aria-label'), ...s.getBoundingClientRect().toJSON() })));
    assert.ok(svgs.length >= 3, 'ECDF, map and loss charts are inline SVG');
    for (const s of svgs) assert.ok(s.width > 100 && s.height > 100, `svg '${s.label}' has a size (${s.width}x${s.height})`);

    const column = async (index: number) => page.$$eval(`#metrics tbody tr td:nth-child(${index})`, (tds) => tds.map((td) => td.getAttribute('data-value') ?? ''));
    const nseIndex = 1 + (await page.$$eval('#metrics thead th', (ths) => ths.findIndex((th) => th.textContent?.trim() === 'NSE')));
    assert.ok(nseIndex > 1);
    await page.click(`#metrics thead th:nth-child(${nseIndex})`);
    const ascending = (await column(nseIndex)).map(Number);
    assert.deepEqual(ascending, [...ascending].sort((a, b) => a - b), 'ascending after one click');
    assert.equal(await page.getAttribute(`#metrics thead th:nth-child(${nseIndex})`, 'aria-sort'), 'ascending');
    await page.click(`#metrics thead th:nth-child(${nseIndex})`);
    const descending = (await column(nseIndex)).map(Number);
    assert.deepEqual(descending, [...ascending].reverse(), 'descending after a second click');
    await page.click('#metrics thead th:nth-child(1)');
    assert.deepEqual(await column(1), [...TINY_BASINS].sort(), 'sorted by basin id');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('an ensemble directory (ensemble.json, no config.yml) gets a report with its first member\'s settings', () => {
  const ens = mkdtempSync(path.join(os.tmpdir(), 'ealstm-report-ensemble-'));
  writeFileSync(path.join(ens, 'ensemble.json'), JSON.stringify({ format: 'ealstm-ensemble', period: 'test', members: [runDir], basins: 3 }));
  mkdirSync(path.join(ens, 'test', 'predictions'), { recursive: true });
  copyFileSync(path.join(runDir, 'test', 'metrics.csv'), path.join(ens, 'test', 'metrics.csv'));
  for (const b of TINY_BASINS) copyFileSync(path.join(runDir, 'test', 'predictions', `${b}.csv`), path.join(ens, 'test', 'predictions', `${b}.csv`));
  const { report, figures } = writeReport(ens, { maxHydrographs: 1 });
  const html = readFileSync(report, 'utf8');
  assert.match(html, /EA-LSTM ensemble of 1/);
  assert.ok(html.includes('hidden_size'), 'settings of the member');
  assert.ok(html.includes(runDir), 'members listed');
  assert.equal(figures.hydrographs.length, 1);
  assert.match(figures.hydrographNote, /1 of 3 basins/);
});

test('without readable basin coordinates the report says so in place of the map', () => {
  const moved = mkdtempSync(path.join(os.tmpdir(), 'ealstm-report-moved-'));
  const config = readFileSync(path.join(runDir, 'config.yml'), 'utf8').replace(/^data_dir: .*$/m, `data_dir: ${path.join(moved, 'gone')}`);
  writeFileSync(path.join(moved, 'config.yml'), config);
  mkdirSync(path.join(moved, 'test', 'predictions'), { recursive: true });
  copyFileSync(path.join(runDir, 'test', 'metrics.csv'), path.join(moved, 'test', 'metrics.csv'));
  copyFileSync(path.join(runDir, 'test', 'predictions', '01022500.csv'), path.join(moved, 'test', 'predictions', '01022500.csv'));
  const { report, figures } = writeReport(moved);
  assert.equal(figures.map, null);
  assert.match(figures.mapNote ?? '', /no map: the basin coordinates/);
  assert.ok(!existsSync(path.join(moved, 'test', 'figures', 'nse_map.svg')));
  assert.equal(figures.hydrographs.length, 1, 'only the basin with a predictions file');
  assert.match(figures.hydrographNote, /2 basin\(s\) of metrics.csv have no predictions file/);
  assert.match(readFileSync(report, 'utf8'), /no map: the basin coordinates/);
});

test('a run directory without predictions or metrics is an InputError that names the folder', () => {
  const bare = mkdtempSync(path.join(os.tmpdir(), 'ealstm-report-bad-'));
  copyFileSync(path.join(runDir, 'config.yml'), path.join(bare, 'config.yml'));
  assert.throws(() => writeReport(bare), (err: Error) => err instanceof InputError && err.message.includes('test/metrics.csv') && err.message.includes('ealstm evaluate'));
  mkdirSync(path.join(bare, 'test'));
  copyFileSync(path.join(runDir, 'test', 'metrics.csv'), path.join(bare, 'test', 'metrics.csv'));
  assert.throws(
    () => writeReport(bare),
    (err: Error) => err instanceof InputError && err.message.includes(path.join(bare, 'test', 'predictions')),
  );
  assert.throws(() => writeFigures(bare), InputError);
  assert.throws(() => writeReport(path.join(bare, 'missing')), (err: Error) => err instanceof InputError && err.message.includes('does not exist'));
  assert.throws(() => writeReport(runDir, { period: 'valid' as 'test' }), InputError);
});

test('ealstm report on a run without predictions exits with status 2 and names the folder', () => {
  const bare = mkdtempSync(path.join(os.tmpdir(), 'ealstm-report-cli-'));
  copyFileSync(path.join(runDir, 'config.yml'), path.join(bare, 'config.yml'));
  mkdirSync(path.join(bare, 'test', 'predictions'), { recursive: true });
  copyFileSync(path.join(runDir, 'test', 'metrics.csv'), path.join(bare, 'test', 'metrics.csv'));
  const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');
  const result = spawnSync(process.execPath, ['--import', 'tsx', cli, 'report', '--run-dir', bare], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /error: .*no predictions in .*predictions/);
});
