/**
 * The browser page (src/web, scripts/build-web.mjs, `ealstm serve`): in Node, the page's simulation of the bundled
 * example equals `ealstm predict` on the same files and its bad-input messages name file and line; in headless
 * Chromium, the served page loads the example, its downloadable qsim equals predict's within 1e-5, the hydrograph is
 * drawn, a bad CSV gets a message, nothing is requested beyond the page's origin, and the page also works opened as a file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ReferenceBackend } from '../src/compute/reference.js';
import { loadConfig } from '../src/config/load.js';
import { openWasmBackend } from '../src/compute/wasm-node.js';
import { train } from '../src/training/trainer.js';
import { InputError } from '../src/util/errors.js';
import { splitCsvLine } from '../src/util/csv.js';
import { basinOfFile, pageModel, readPageBundle, simulatePage } from '../src/web/page-model.js';
import { chromiumMissing, launchChromium } from './helpers/chromium.js';
import { runCli, startCli } from './helpers/run-cli.js';
import { repoRoot, tinyConfig } from './helpers/tiny-config.js';

const example = path.join(repoRoot, 'web', 'example');
const bundleDir = path.join(example, 'demo.ealstm');
const seriesDir = path.join(example, 'data', 'time_series');
const seriesName = readdirSync(seriesDir).find((n) => n.endsWith('.csv')) as string;
const basin = basinOfFile(seriesName);
const seriesText = readFileSync(path.join(seriesDir, seriesName), 'utf8');
const attributes = { name: 'attributes.csv', text: readFileSync(path.join(example, 'data', 'attributes', 'attributes.csv'), 'utf8') };
const bundleFiles = () => new Map(['bundle.json', 'scaler.json', 'model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(path.join(bundleDir, f)))]));

let root: string;
/** `ealstm predict` on the example: its CSV text and summary row. */
let predicted: { csv: string; summary: Record<string, string> };

function csvColumn(text: string, name: string): string[] {
  const [header, ...rows] = text.trim().split('\n');
  const col = splitCsvLine(header).indexOf(name);
  assert.ok(col >= 0, `column ${name}`);
  return rows.map((r) => splitCsvLine(r)[col]);
}

before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ealstm-page-'));
  const dates = csvColumn(seriesText, 'date');
  const ddmmyyyy = (iso: string) => iso.split('-').reverse().join('/');
  const output = path.join(root, 'predicted');
  const r = runCli([
    'predict', '--run-dir', bundleDir, '--data-dir', path.join(example, 'data'), '--dataset', 'generic', '--basins', basin,
    '--start', ddmmyyyy(dates[0]), '--end', ddmmyyyy(dates[dates.length - 1]), '--output', output,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const summary = readFileSync(path.join(output, 'summary.csv'), 'utf8').trim().split('\n').map((l) => splitCsvLine(l));
  predicted = {
    csv: readFileSync(path.join(output, `${basin}.csv`), 'utf8'),
    summary: Object.fromEntries(summary[0].map((k, i) => [k, summary[1][i]])),
  };
});

after(() => rmSync(root, { recursive: true, force: true }));

/**
 * Every qsim of `page` equals predict's (`expected`, default the example's) within 1e-5 (relative to the value, absolute
 * below 1), on the same days with the same notes.
 */
function assertSameQsim(page: string, what: string, expectedCsv = predicted.csv): void {
  assert.deepEqual(csvColumn(page, 'date'), csvColumn(expectedCsv, 'date'), `${what}: dates`);
  assert.deepEqual(csvColumn(page, 'note'), csvColumn(expectedCsv, 'note'), `${what}: notes`);
  assert.deepEqual(csvColumn(page, 'qobs'), csvColumn(expectedCsv, 'qobs'), `${what}: observations`);
  const expected = csvColumn(expectedCsv, 'qsim');
  const got = csvColumn(page, 'qsim');
  let compared = 0;
  expected.forEach((e, i) => {
    if (e === '') return assert.equal(got[i], '', `${what}: day ${i} has no prediction`);
    const [a, b] = [Number(got[i]), Number(e)];
    assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: day ${i}: ${a} vs predict ${b}`);
    compared++;
  });
  assert.ok(compared > 3000, `${what}: ${compared} days compared`);
}

test('in Node, the page simulation of the example equals ealstm predict within 1e-5, and so do NSE and KGE', () => {
  const wasm = openWasmBackend({ threads: 1 }).backend;
  assert.ok(wasm, 'the wasm backend loads');
  const bundle = readPageBundle(bundleFiles(), 'demo.ealstm');
  const result = simulatePage(bundle, pageModel(bundle, wasm), { name: seriesName, text: seriesText }, attributes);
  assertSameQsim(result.csv, 'wasm');
  assert.equal(result.counts.predicted, Number(predicted.summary.predicted));
  assert.equal(result.counts.warmUp, bundle.info.seq_length - 1);
  assert.ok(Math.abs(result.counts.nse - Number(predicted.summary.NSE)) < 1e-6, `NSE ${result.counts.nse} vs ${predicted.summary.NSE}`);
  assert.ok(Math.abs(result.counts.kge - Number(predicted.summary.KGE)) < 1e-6, `KGE ${result.counts.kge} vs ${predicted.summary.KGE}`);
  // The page's fallback where WebAssembly SIMD is missing, the float32 reference, on the first 700 days (it is slow):
  // the same numbers up to float32 rounding in another summation order, 1e-4 relative.
  const short = { name: seriesName, text: seriesText.split('\n').slice(0, 701).join('\n') };
  const onWasm = csvColumn(simulatePage(bundle, pageModel(bundle, wasm), short, attributes).csv, 'qsim');
  const onReference = csvColumn(simulatePage(bundle, pageModel(bundle, new ReferenceBackend('float32')), short, attributes).csv, 'qsim');
  assert.equal(onReference.filter((q) => q !== '').length, 700 - (bundle.info.seq_length - 1));
  onWasm.forEach((q, i) => assert.ok(Math.abs(Number(q) - Number(onReference[i])) <= 1e-4 * Math.max(1, Math.abs(Number(q))), `day ${i}: ${q} vs ${onReference[i]}`));
});

test('in Node, the page names the file, line or key of bad input', () => {
  const bundle = readPageBundle(bundleFiles(), 'demo.ealstm');
  const model = pageModel(bundle, openWasmBackend({ threads: 1 }).backend ?? new ReferenceBackend('float32'));
  const run = (text: string, name = seriesName, attrs: typeof attributes | null = attributes) => () => simulatePage(bundle, model, { name, text }, attrs);
  const lines = seriesText.split('\n');
  const badDate = [...lines.slice(0, 3), lines[3].replace(/^\d{4}-\d{2}-\d{2}/, '1990-13-45'), ...lines.slice(4)].join('\n');
  assert.throws(run(badDate), (e: unknown) => e instanceof InputError && e.message.startsWith(`${seriesName}:4: expected a date as YYYY-MM-DD`));
  const badNumber = [...lines.slice(0, 5), lines[5].replace(/,[^,]*$/, ',abc'), ...lines.slice(6)].join('\n');
  assert.throws(run(badNumber), (e: unknown) => e instanceof InputError && e.message.startsWith(`${seriesName}:6: column 'QObs(mm/d)'`));
  const noPrcp = seriesText.replace('prcp(mm/day)', 'rain');
  assert.throws(run(noPrcp), /:1: no column 'prcp\(mm\/day\)'; the model takes prcp\(mm\/day\), .* \(the CSV has rain,/);
  assert.throws(run(seriesText, '99999999.csv'), /attributes.csv: no row for basin '99999999' \(the basin is named by the time-series file, 99999999.csv\)/);
  assert.throws(run(seriesText, seriesName, null), /give an attributes CSV with a row for basin/);
  const files = bundleFiles();
  files.delete('scaler.json');
  assert.throws(() => readPageBundle(files, 'mine.ealstm'), /model bundle mine.ealstm: scaler.json missing/);
  const other = bundleFiles();
  other.set('bundle.json', new TextEncoder().encode('{"format": "something-else"}'));
  assert.throws(() => readPageBundle(other, 'mine.ealstm'), /mine.ealstm\/bundle.json: format 'something-else', expected 'ealstm-bundle'/);
  // Without observations the page still simulates, and scores nothing.
  const noTarget = seriesText.split('\n').map((l) => l.replace(/,[^,]*$/, '')).join('\n');
  const unscored = run(noTarget)();
  assert.ok(Number.isNaN(unscored.counts.nse) && unscored.counts.observed === 0);
});

test('in Node, a two-layer LSTM bundle without static attributes runs on the CSV alone and equals ealstm predict', () => {
  const { file } = tinyConfig({ model: 'lstm', static_attributes: '[]', num_layers: '2', hidden_size: '6', epochs: '1', train_end_date: '31/03/2001' });
  const run = path.join(root, 'lstm-run');
  train(loadConfig(file), { runDir: run });
  const bundle = path.join(root, 'lstm.ealstm');
  assert.equal(runCli(['export', '--run-dir', run, '--output', bundle]).status, 0);
  const dates = csvColumn(seriesText, 'date');
  const last = dates.length - 1;
  const output = path.join(root, 'lstm-predicted');
  const r = runCli([
    'predict', '--run-dir', bundle, '--data-dir', path.join(example, 'data'), '--dataset', 'generic', '--basins', basin,
    '--start', dates[0].split('-').reverse().join('/'), '--end', dates[last].split('-').reverse().join('/'), '--output', output,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const files = new Map(['bundle.json', 'scaler.json', 'model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(path.join(bundle, f)))]));
  const page = readPageBundle(files, 'lstm.ealstm');
  assert.equal(page.info.num_layers, 2);
  const wasm = openWasmBackend({ threads: 1 }).backend ?? new ReferenceBackend('float32');
  const result = simulatePage(page, pageModel(page, wasm), { name: seriesName, text: seriesText }, null);
  // Not bit for bit: predict cuts the days into batches of 256 and the page into batches of 64, and a GEMM of one row
  // takes another kernel (another rounding) than one of many.
  assertSameQsim(result.csv, 'lstm', readFileSync(path.join(output, `${basin}.csv`), 'utf8'));
});

test('in headless Chromium, the served page runs the example like predict, draws the hydrograph and reports a bad CSV', async (t) => {
  const missing = chromiumMissing();
  if (missing) {
    t.skip(missing);
    return;
  }
  const built = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-web.mjs')], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  const server = startCli(['serve', '--port', '0']);
  // Listening from the start: the address line may come while Chromium starts.
  const address = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('serve did not start')), 60_000);
    server.child.stdout?.on('data', (d: Buffer) => {
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(String(d));
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    void server.exited.then((r) => reject(new Error(`serve ended: ${r.stderr}`)));
  });
  const browser = await launchChromium();
  try {
    const url = await address;
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
    });
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith('blob:')) foreign.push(r.url());
    });
    await page.goto(url);
    await page.click('#example');
    await page.waitForSelector('#results:not([hidden])', { timeout: 120_000 });
    assert.match(await page.textContent('#status') ?? '', /Simulated 1 basin\(s\) in .* on wasm-simd\./);
    const download = page.waitForEvent('download');
    await page.click('#download');
    const file = await (await download).path();
    assertSameQsim(readFileSync(file, 'utf8'), 'Chromium');
    assert.equal(await page.textContent('#summary .nse'), Number(predicted.summary.NSE).toFixed(3));
    assert.equal(await page.textContent('#summary .kge'), Number(predicted.summary.KGE).toFixed(3));
    // The hydrograph: both lines drawn across the period, with a size on the page.
    // (No function declared inside: tsx names functions with a helper the page does not have.)
    const chart = await page.$eval('#hydrograph', (svg) => ({
      width: svg.getBoundingClientRect().width,
      height: svg.getBoundingClientRect().height,
      qsim: (svg.querySelector('path.qsim')?.getAttribute('d') ?? '').split(/[ML]/).length - 1,
      qobs: (svg.querySelector('path.qobs')?.getAttribute('d') ?? '').split(/[ML]/).length - 1,
    }));
    assert.ok(chart.width > 500 && chart.height > 100, `chart size ${chart.width}x${chart.height}`);
    assert.ok(chart.qsim > 3000 && chart.qobs > 3000, `points drawn: qsim ${chart.qsim}, qobs ${chart.qobs}`);
    if (process.env.EALSTM_SCREENSHOT) await page.screenshot({ path: process.env.EALSTM_SCREENSHOT, fullPage: true });

    // A bad CSV: the page says which file and line, and keeps the model.
    const lines = seriesText.split('\n');
    const bad = [...lines.slice(0, 2), lines[2].replace(/^\d{4}-\d{2}-\d{2}/, '02/01/1989'), ...lines.slice(3)].join('\n');
    await page.setInputFiles('#pick-files', { name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await page.waitForSelector('#error:not([hidden])');
    assert.equal(await page.textContent('#error'), "bad.csv:3: expected a date as YYYY-MM-DD, got '02/01/1989'");
    assert.deepEqual(foreign, [], 'no request beyond the page origin');
    assert.deepEqual(problems, []);

    // Opened as a file, without the server, the example runs too.
    const local = await browser.newPage();
    await local.goto(pathToFileURL(path.join(repoRoot, 'dist', 'web', 'index.html')).href);
    await local.click('#example');
    await local.waitForSelector('#results:not([hidden])', { timeout: 120_000 });
    assert.equal(await local.textContent('#summary .nse'), Number(predicted.summary.NSE).toFixed(3));
  } finally {
    await browser.close();
    server.child.kill('SIGTERM');
    const ended = await server.exited;
    assert.equal(ended.code, 0, `serve stops cleanly on SIGTERM: ${ended.stderr}`);
  }
});
