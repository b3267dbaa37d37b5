/**
 * `ealstm predict` (evaluation/simulate*.ts) on copies of the bundled CAMELS-US data, with tiny trained runs
 * (hidden 4, 1 epoch, 2 basins, a few months): equal to evaluate and to ensemble where those apply, a full
 * simulation for a basin without streamflow file and for one never seen in training, warm-up days and days with
 * missing forcing marked and counted, and a continuous simulation in chunks (hot start) equal to one piece.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { buildEnsemble } from '../src/evaluation/ensemble.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { type PredictOptions, runPredict } from '../src/evaluation/simulate-run.js';
import { RecurrentModel } from '../src/models/model.js';
import { openBackend } from '../src/compute/select.js';
import { BACKEND_NAMES } from '../src/util/backend-names.js';
import { train } from '../src/training/trainer.js';
import { dayNumber } from '../src/util/dates.js';
import { InputError } from '../src/util/errors.js';
import { Random } from '../src/util/random.js';
import { demoData, tinyConfig } from './helpers/tiny-config.js';
import { folderSnapshot, runCli } from './helpers/run-cli.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'ealstm-predict-'));
/** A copy of the bundled data (the runs train on it; tests edit further copies). */
const data = path.join(root, 'data');
cpSync(demoData, data, { recursive: true });
const TRAINED = ['01022500', '02053200'];
const UNSEEN = '02464000';
const TEST_START = '01/10/2001';
const TEST_END = '31/12/2001';

/** Three tiny runs of one setup (seeds 1..3), each trained and evaluated on the test period. */
const runs = [1, 2, 3].map((seed) => {
  const { dir, file } = tinyConfig({
    data_dir: data,
    hidden_size: '4',
    epochs: '1',
    seed: String(seed),
    train_start_date: '01/10/2000',
    train_end_date: '31/03/2001',
    test_start_date: TEST_START,
    test_end_date: TEST_END,
  });
  writeFileSync(path.join(dir, 'basins.txt'), `${TRAINED.join('\n')}\n`);
  const runDir = path.join(root, `run${seed}`);
  train(loadConfig(file), { runDir });
  evaluateRun(runDir);
  return runDir;
});

const day = (text: string) => {
  const [d, m, y] = text.split('/').map(Number);
  return dayNumber(y, m, d);
};

let outputs = 0;
function predict(options: Partial<PredictOptions> & { start: string; end: string }) {
  const output = options.output ?? path.join(root, `out${++outputs}`);
  const summary = runPredict({
    runDirs: [runs[0]],
    basins: TRAINED,
    ...options,
    start: day(options.start),
    end: day(options.end),
    output,
  });
  return { summary, output };
}

/** A CSV file as header and rows of cells. */
function table(file: string): { header: string[]; rows: string[][] } {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  return { header: head.split(','), rows: lines.map((l) => l.split(',')) };
}

function column(file: string, name: string): string[] {
  const t = table(file);
  const i = t.header.indexOf(name);
  assert.ok(i >= 0, `${file} has a '${name}' column`);
  return t.rows.map((r) => r[i]);
}

test('on basins with observations, predict writes exactly evaluate\'s qsim and qobs (same run, same period)', () => {
  const { output, summary } = predict({ start: TEST_START, end: TEST_END });
  assert.deepEqual(readdirSync(output).sort(), ['01022500.csv', '02053200.csv', 'predict.json', 'summary.csv']);
  for (const basin of TRAINED) {
    const evaluated = path.join(runs[0], 'test', 'predictions', `${basin}.csv`);
    const predicted = path.join(output, `${basin}.csv`);
    assert.deepEqual(table(predicted).header, ['date', 'qsim', 'qobs', 'note']);
    assert.deepEqual(column(predicted, 'date'), column(evaluated, 'date'));
    assert.deepEqual(column(predicted, 'qsim'), column(evaluated, 'qsim'));
    assert.deepEqual(column(predicted, 'qobs'), column(evaluated, 'qobs'));
    assert.ok(column(predicted, 'note').every((n) => n === ''));
  }
  assert.deepEqual(
    summary.basins.map((b) => [b.basin, b.days, b.predicted, b.warmUp, b.missingForcing]),
    TRAINED.map((b) => [b, 92, 92, 0, 0]),
  );
  assert.deepEqual(table(path.join(output, 'summary.csv')).header, ['basin', 'days', 'predicted', 'warm_up', 'missing_forcing', 'observed', 'NSE', 'KGE']);
  // The scores against the observations are evaluate's (up to the 10 significant digits both files are written with).
  const evaluatedMetrics = table(path.join(runs[0], 'test', 'metrics.csv'));
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-8 * Math.max(1, Math.abs(b));
  for (const b of summary.basins) {
    const row = evaluatedMetrics.rows.find((r) => r[0] === b.basin) as string[];
    assert.ok(close(b.nse, Number(row[evaluatedMetrics.header.indexOf('NSE')])), `${b.basin} NSE ${b.nse} vs ${row}`);
    assert.ok(close(b.kge, Number(row[evaluatedMetrics.header.indexOf('KGE')])), `${b.basin} KGE ${b.kge} vs ${row}`);
  }
});

test('a basin whose streamflow file is removed, and a basin never seen in training, get a full simulation', () => {
  const noGauge = path.join(root, 'data-no-gauge');
  cpSync(data, noGauge, { recursive: true });
  rmSync(path.join(noGauge, 'usgs_streamflow', '03', '02053200_streamflow_qc.txt'));
  const basins = ['02053200', UNSEEN];
  const { output, summary } = predict({ basins, dataDir: noGauge, start: '01/01/2010', end: '31/12/2014' });
  const days = day('31/12/2014') - day('01/01/2010') + 1;
  const gaugeless = path.join(output, '02053200.csv');
  assert.deepEqual(table(gaugeless).header, ['date', 'qsim', 'note'], 'no qobs column without observations');
  assert.equal(table(gaugeless).rows.length, days);
  for (const basin of basins) {
    const qsim = column(path.join(output, `${basin}.csv`), 'qsim');
    assert.ok(qsim.every((v) => v !== '' && Number.isFinite(Number(v))), `${basin}: every day simulated`);
  }
  assert.deepEqual(
    summary.basins.map((b) => [b.basin, b.days, b.predicted, b.observed > 0]),
    [
      ['02053200', days, days, false],
      [UNSEEN, days, days, true],
    ],
  );
  // The simulation does not depend on the observations: equal to the one with the streamflow file there.
  const withGauge = predict({ basins: ['02053200'], start: '01/01/2010', end: '31/12/2014' });
  assert.deepEqual(column(gaugeless, 'qsim'), column(path.join(withGauge.output, '02053200.csv'), 'qsim'));
  // Training and evaluation still need the target: the basin without streamflow is an error there.
  const { file } = tinyConfig({ data_dir: noGauge, hidden_size: '4', epochs: '1' });
  assert.throws(() => train(loadConfig(file), { runDir: path.join(root, 'no-gauge-run') }), (err: Error) => err instanceof InputError && /02053200.*QObs\(mm\/d\)/.test(err.message));
});

test('a period starting where the forcing starts: the first seq_length-1 days are marked warm-up, the rest predicted', () => {
  const { output, summary } = predict({ start: '01/01/1980', end: '31/03/1980' });
  const notes = column(path.join(output, '01022500.csv'), 'note');
  const qsim = column(path.join(output, '01022500.csv'), 'qsim');
  assert.equal(notes.length, 91);
  for (let i = 0; i < 91; i++) {
    if (i < 19) assert.deepEqual([qsim[i], notes[i]], ['', 'warm-up'], `day ${i}`);
    else assert.ok(qsim[i] !== '' && notes[i] === '', `day ${i}`);
  }
  assert.deepEqual(summary.basins.map((b) => [b.warmUp, b.predicted]), [[19, 72], [19, 72]]);
  assert.deepEqual(table(path.join(output, 'summary.csv')).rows[0].slice(0, 6), ['01022500', '91', '72', '19', '0', '91']);
});

test('missing forcing gives missing predictions on the days whose window holds it, counted in the summary', () => {
  const gappy = path.join(root, 'data-gappy');
  cpSync(data, gappy, { recursive: true });
  const forcing = path.join(gappy, 'basin_mean_forcing', 'daymet', '01', '01022500_lump_cida_forcing_leap.txt');
  const lines = readFileSync(forcing, 'utf8').split('\n');
  const row = lines.findIndex((l) => l.startsWith('2001 11 10 '));
  const cells = lines[row].split('\t');
  cells[2] = '-999.00'; // prcp on 2001-11-10
  lines[row] = cells.join('\t');
  writeFileSync(forcing, lines.join('\n'));
  for (const continuous of [false, true]) {
    const { output, summary } = predict({ dataDir: gappy, start: TEST_START, end: TEST_END, continuous });
    const notes = column(path.join(output, '01022500.csv'), 'note');
    const first = day('10/11/2001') - day(TEST_START);
    notes.forEach((n, i) => assert.equal(n, i >= first && i < first + 20 ? 'missing forcing' : '', `day ${i} (continuous: ${continuous})`));
    assert.deepEqual(summary.basins.map((b) => [b.basin, b.missingForcing, b.predicted]), [['01022500', 20, 72], ['02053200', 0, 92]]);
  }
});

test('three run directories: the ensemble mean equals `ensemble`, day by day, with the members\' min, max and std', () => {
  const ensembleDir = path.join(root, 'ensemble');
  buildEnsemble({ runDirs: runs, output: ensembleDir });
  const { output } = predict({ runDirs: runs, start: TEST_START, end: TEST_END });
  for (const basin of TRAINED) {
    const predicted = path.join(output, `${basin}.csv`);
    assert.deepEqual(table(predicted).header, ['date', 'qsim', 'qsim_min', 'qsim_max', 'qsim_std', 'qobs', 'note']);
    assert.deepEqual(column(predicted, 'qsim'), column(path.join(ensembleDir, 'test', 'predictions', `${basin}.csv`), 'qsim'));
    const members = runs.map((r) => column(path.join(r, 'test', 'predictions', `${basin}.csv`), 'qsim').map(Number));
    const [min, max, std] = ['qsim_min', 'qsim_max', 'qsim_std'].map((c) => column(predicted, c).map(Number));
    let spread = false;
    members[0].forEach((_, i) => {
      const values = members.map((m) => m[i]);
      const mean = values.reduce((a, b) => a + b, 0) / 3;
      assert.equal(min[i], Math.min(...values));
      assert.equal(max[i], Math.max(...values));
      assert.ok(Math.abs(std[i] - Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / 3)) < 1e-9);
      if (std[i] > 0) spread = true;
    });
    assert.ok(spread, 'the members differ');
  }
});

test('continuous simulation: in chunks with --state-out/--state-in (hot start) it equals one piece', () => {
  const whole = predict({ continuous: true, start: '01/10/2001', end: '30/06/2002' });
  const stateFile = path.join(root, 'state.json');
  const first = predict({ stateOut: stateFile, start: '01/10/2001', end: '31/12/2001' });
  const second = predict({ stateIn: stateFile, stateOut: stateFile, start: '01/01/2002', end: '31/03/2002' });
  const third = predict({ stateIn: stateFile, start: '01/04/2002', end: '30/06/2002' });
  for (const basin of TRAINED) {
    const chunks = [first, second, third].flatMap((p) => table(path.join(p.output, `${basin}.csv`)).rows);
    assert.deepEqual(chunks, table(path.join(whole.output, `${basin}.csv`)).rows, basin);
    // Without the state, the second chunk starts from the zero state: a different simulation.
    const cold = predict({ continuous: true, basins: [basin], start: '01/01/2002', end: '31/03/2002' });
    assert.notDeepEqual(column(path.join(cold.output, `${basin}.csv`), 'qsim'), column(path.join(second.output, `${basin}.csv`), 'qsim'));
  }
  // Window mode needs no state: each chunk reads its warm-up days from the forcing before it.
  const windowWhole = predict({ start: '01/10/2001', end: '31/03/2002' });
  const windowChunks = [predict({ start: '01/10/2001', end: '31/12/2001' }), predict({ start: '01/01/2002', end: '31/03/2002' })];
  for (const basin of TRAINED) {
    const rows = windowChunks.flatMap((p) => table(path.join(p.output, `${basin}.csv`)).rows);
    assert.deepEqual(rows, table(path.join(windowWhole.output, `${basin}.csv`)).rows, `${basin} (windows)`);
  }
  // The first predicted day (the state fed exactly seq_length days from zero) is the window prediction.
  const windows = predict({ start: '01/10/2001', end: '01/10/2001' });
  assert.equal(column(path.join(windows.output, '01022500.csv'), 'qsim')[0], column(path.join(whole.output, '01022500.csv'), 'qsim')[0]);
  // A state that does not end the day before the chunk is refused.
  assert.throws(() => predict({ stateIn: stateFile, start: '02/01/2002', end: '31/03/2002' }), (err: Error) => err instanceof InputError && /state\.json.*ended on 2002-03-31/.test(err.message));
});

test('the LSTM layers continue from a given state: two pieces of a sequence equal the whole, on every backend here (stacked layers too)', (t) => {
  for (const name of BACKEND_NAMES) {
    const { backend, reason } = openBackend(name, 1);
    if (!backend) {
      t.diagnostic(`${name} skipped: ${reason}`);
      continue;
    }
    for (const kind of ['ealstm', 'lstm'] as const) {
      const [n, d, s, h, total, split] = [3, 2, 2, 5, 12, 7];
      const model = new RecurrentModel(backend, { kind, dynamicInputs: d, staticInputs: s, hidden: h, layers: 2 });
      const rng = new Random(7);
      model.initialize(rng, 1);
      const xd = Array.from({ length: total * n * d }, () => 2 * rng.uniform() - 1);
      const xs = Array.from({ length: n * s }, () => 2 * rng.uniform() - 1);
      const run = (from: number, to: number, state: ReturnType<RecurrentModel['finalStates']> | null) => {
        model.ensureCapacity(n, to - from);
        model.dynamicInput.set(xd.slice(from * n * d, to * n * d));
        model.staticInput.set(xs);
        const out = Array.from(model.forward(n, null, state).subarray(0, n));
        return { out, state: model.finalStates() };
      };
      const whole = run(0, total, null);
      const piece = run(0, split, null);
      const rest = run(split, total, piece.state);
      const tol = backend.name.includes('f64') ? 1e-12 : 1e-5;
      rest.out.forEach((v, i) => assert.ok(Math.abs(v - whole.out[i]) <= tol, `${name} ${kind}: ${v} vs ${whole.out[i]}`));
      whole.state.forEach((layer, l) => {
        for (let i = 0; i < n * h; i++) assert.ok(Math.abs(layer.c[i] - rest.state[l].c[i]) <= tol, `${name} ${kind} layer ${l} c`);
      });
      // and the state matters: from the zero state, the rest is a different output
      const cold = run(split, total, null);
      assert.ok(cold.out.some((v, i) => Math.abs(v - rest.out[i]) > 1e-4), `${name} ${kind}`);
    }
  }
});

test('predict never replaces a folder it did not write, and replaces its own output', () => {
  const foreign = path.join(root, 'foreign');
  mkdirSync(foreign);
  writeFileSync(path.join(foreign, 'notes.txt'), 'mine\n');
  const before = folderSnapshot(foreign);
  assert.throws(() => predict({ output: foreign, start: TEST_START, end: TEST_END }), (err: Error) => err instanceof InputError && /foreign.*not written by `ealstm predict`/.test(err.message));
  assert.deepEqual(folderSnapshot(foreign), before);
  const own = path.join(root, 'own');
  predict({ output: own, start: TEST_START, end: TEST_END });
  const again = predict({ output: own, basins: [UNSEEN], start: TEST_START, end: TEST_END });
  assert.deepEqual(readdirSync(own).sort(), [`${UNSEEN}.csv`, 'predict.json', 'summary.csv']);
  assert.ok(again.summary.notes.some((n) => n.startsWith('replaced the previous results')));
  assert.ok(!readdirSync(root).some((n) => n.startsWith('own.previous') || n.startsWith('.own.')), 'nothing left aside');
  assert.ok(!existsSync(path.join(root, '.ealstm.lock')), 'the lock is released');
});

test('the predict command: a real run from the command line', () => {
  const output = path.join(root, 'cli-out');
  const r = runCli(['predict', '--run-dir', runs[0], '--run-dir', runs[1], '--basins', `${TRAINED[0]},${UNSEEN}`, '--start', '01/01/1980', '--end', '31/01/1980', '--output', output]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /01022500 {2}12\/31 days predicted, 19 warm-up, 0 missing forcing, 31 observed/);
  assert.deepEqual(readdirSync(output).sort(), ['01022500.csv', `${UNSEEN}.csv`, 'predict.json', 'summary.csv']);
  const bad = runCli(['predict', '--run-dir', runs[0], '--basins', TRAINED[0], '--start', '01/01/1970', '--end', '31/01/1980', '--output', path.join(root, 'cli-bad')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^error: basin 01022500: the period 1970-01-01\.\.1980-01-31 .*is outside the data, which covers 1980-01-01 to 2014-12-31\n$/);
  assert.ok(!existsSync(path.join(root, 'cli-bad')));
});
