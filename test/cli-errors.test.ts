/**
 * The CLI's contract for errors a user can cause, for EVERY command: a table of bad inputs per command (missing,
 * extra and wrong options, missing and read-only output folders, files where folders are expected, runs without
 * results, corrupt files), each run as a real `ealstm` child process, asserting:
 *   - exit code 2,
 *   - exactly one stderr line starting `error:`, naming the offending file, option or basin,
 *   - no stack trace and no "internal error",
 *   - every file under the test's work folder byte-for-byte unchanged (hashed before and after).
 * The list of commands is read from `ealstm --help`, so a new command without rows here fails the suite.
 *
 * One tiny trained run (2 basins, hidden 4, 1 epoch, a few months) is made in-process before the table runs.
 * Read-only folders: as root (which ignores mode bits) a read-only bind mount; otherwise chmod a-w; where
 * neither makes a folder read-only, those rows are skipped with a message.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { train } from '../src/training/trainer.js';
import { compileCli } from './helpers/compiled-cli.js';
import { isProcessRunning } from '../src/run/lock.js';
import { folderSnapshot } from './helpers/run-cli.js';
import { configYaml, demoData, repoRoot, tinyConfigLines } from './helpers/tiny-config.js';

// The CLI as plain JavaScript (see compileCli): a few hundred child processes start 3x faster than via tsx.
const compiled = compileCli();
/** Parallel child processes (each mostly waits for module loading). */
const CONCURRENCY = 4;
/** A row whose command does not fail within this time is doing real work: a failure of the row. */
const ROW_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------------------
// Fixtures: built once under base/work; each row runs on its own copy, so that its folder comparison is exact
// while rows run in parallel.

/** Paths of the fixtures below a root folder. */
interface Fixtures {
  root: string;
  /** Trained and evaluated EA-LSTM run (test period). */
  run: string;
  /** A second copy of `run` (ensembles need two members). */
  run2: string;
  /** Trained, not evaluated. */
  noResults: string;
  /** Trained and evaluated LSTM without static attributes. */
  lstm: string;
  file: string;
  emptyDir: string;
  /** A user's project folder with its own test/ folder (not an ensemble). */
  project: string;
  basins: string;
  configs: Record<'tiny' | 'lstm' | 'noStatics' | 'missingStatics' | 'hugeHidden' | 'typo' | 'badYaml' | 'nanAttribute' | 'runRootFile', string>;
  corrupt: Record<'scalerFields' | 'scalerJson' | 'config' | 'weights' | 'predictions' | 'metrics', string>;
  embedding: string;
  attributes: string;
  badEmbedding: string;
  study: string;
  badStudy: string;
  typoStudy: string;
  /** A folder the rows name as a new output (never created by a failing command). */
  out: (name: string) => string;
}

function fixturesAt(root: string): Fixtures {
  const at = (...parts: string[]) => path.join(root, ...parts);
  return {
    root,
    run: at('run'),
    run2: at('run2'),
    noResults: at('no-results'),
    lstm: at('lstm'),
    file: at('a-file.txt'),
    emptyDir: at('empty'),
    project: at('project'),
    basins: at('basins.txt'),
    configs: {
      tiny: at('configs', 'tiny.yml'),
      lstm: at('configs', 'lstm.yml'),
      noStatics: at('configs', 'no-statics.yml'),
      missingStatics: at('configs', 'missing-statics.yml'),
      hugeHidden: at('configs', 'huge-hidden.yml'),
      typo: at('configs', 'typo.yml'),
      badYaml: at('configs', 'bad-yaml.yml'),
      nanAttribute: at('configs', 'nan-attribute.yml'),
      runRootFile: at('configs', 'run-root-file.yml'),
    },
    corrupt: {
      scalerFields: at('corrupt-scaler-fields'),
      scalerJson: at('corrupt-scaler-json'),
      config: at('corrupt-config'),
      weights: at('corrupt-weights'),
      predictions: at('corrupt-predictions'),
      metrics: at('corrupt-metrics'),
    },
    embedding: at('emb', 'embedding.csv'),
    attributes: at('emb', 'attributes.csv'),
    badEmbedding: at('emb', 'bad-embedding.csv'),
    study: at('study', 'study.yml'),
    badStudy: at('study', 'bad-yaml.yml'),
    typoStudy: at('study', 'typo.yml'),
    out: (name: string) => at('out', name),
  };
}

/** A run of this file that was killed leaves its read-only mount and folders: remove those of dead processes. */
function removeLeftovers(): void {
  const mounts = existsSync('/proc/mounts') ? readFileSync('/proc/mounts', 'utf8').split('\n') : [];
  for (const name of readdirSync(os.tmpdir())) {
    const m = /^ealstm-cli-errors-(\d+)-/.exec(name);
    if (!m || isProcessRunning(Number(m[1]))) continue;
    const dir = path.join(os.tmpdir(), name);
    try {
      for (const line of mounts) if (line.split(' ')[1]?.startsWith(`${dir}/`)) execFileSync('umount', [line.split(' ')[1]], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // still mounted or not ours to remove: left alone
    }
  }
}

removeLeftovers();
const base = mkdtempSync(path.join(os.tmpdir(), `ealstm-cli-errors-${process.pid}-`));
const master = fixturesAt(path.join(base, 'work'));
/** Read-only view of an evaluated run (`<ro>/run`), shared by all rows; null where none can be made here. */
let readOnly: string | null = null;
const roPath = (name: string) => path.join(readOnly ?? path.join(base, 'no-read-only'), name);
let masterSnapshot: Record<string, string> = {};

/** The tiny config's lines; `overrides` replace or (with '') drop keys. Paths point into `master`. */
function configText(overrides: Record<string, string> = {}): string {
  return configYaml(
    tinyConfigLines(master.basins, path.join(base, 'cache'), {
      experiment_name: 'cli_errors',
      train_end_date: '31/03/2001',
      test_end_date: '31/12/2001',
      seq_length: '10',
      hidden_size: '4',
      output_dropout: '',
      learning_rate: '1.0e-3',
      epochs: '1',
      seed: '3',
      run_root: path.join(master.root, 'runs'),
      ...overrides,
    }),
  );
}

/** A copy of the demo data whose first basin has an empty p_mean cell (forcing and flow linked, not copied). */
function nanAttributeData(): string {
  const dir = path.join(base, 'data-nan');
  mkdirSync(dir, { recursive: true });
  for (const sub of ['basin_mean_forcing', 'usgs_streamflow']) symlinkSync(path.join(demoData, sub), path.join(dir, sub));
  cpSync(path.join(demoData, 'camels_attributes_v2.0'), path.join(dir, 'camels_attributes_v2.0'), { recursive: true });
  const clim = path.join(dir, 'camels_attributes_v2.0', 'camels_clim.txt');
  const lines = readFileSync(clim, 'utf8').split('\n');
  const column = lines[0].split(';').indexOf('p_mean');
  const row = lines.findIndex((l) => l.startsWith('01022500;'));
  const cells = lines[row].split(';');
  cells[column] = '';
  lines[row] = cells.join(';');
  writeFileSync(clim, lines.join('\n'));
  return dir;
}

/** A small embedding and attributes CSV (6 basins) for `analyze embedding/silhouette`. */
function writeEmbeddingInputs(F: Fixtures): void {
  mkdirSync(path.dirname(F.embedding), { recursive: true });
  const ids = ['01022500', '01142500', '02053200', '02297310', '02464000', '09999999'];
  writeFileSync(F.embedding, `basin,c0,c1\n${ids.map((b, i) => `${b},${i % 3},${(i * 7) % 5}`).join('\n')}\n`);
  writeFileSync(F.attributes, `basin,a,b\n${ids.map((b, i) => `${b},${(i * 5) % 4},${i}`).join('\n')}\n`);
}

function makeFixtures(): void {
  const F = master;
  mkdirSync(path.dirname(F.configs.tiny), { recursive: true });
  writeFileSync(F.basins, '01022500\n02053200\n');
  writeFileSync(F.file, 'not a folder\n');
  mkdirSync(F.emptyDir);
  mkdirSync(path.join(F.project, 'test'), { recursive: true });
  writeFileSync(path.join(F.project, 'test', 'my-notes.txt'), 'a user file the tool did not write\n');

  writeFileSync(F.configs.tiny, configText());
  writeFileSync(F.configs.lstm, configText({ model: 'lstm', static_attributes: '[]' }));
  writeFileSync(F.configs.noStatics, configText({ static_attributes: '[]' }));
  writeFileSync(F.configs.missingStatics, configText({ static_attributes: '' }));
  writeFileSync(F.configs.hugeHidden, configText({ hidden_size: '100000000' }));
  writeFileSync(F.configs.typo, configText({ hidden_size: '', hiden_size: '4' }));
  writeFileSync(F.configs.badYaml, 'model: [ealstm\n');
  writeFileSync(F.configs.nanAttribute, configText({ data_dir: nanAttributeData() }));
  writeFileSync(F.configs.runRootFile, configText({ run_root: F.file }));

  train(loadConfig(F.configs.tiny), { runDir: F.run });
  evaluateRun(F.run, { period: 'test' });
  cpSync(F.run, F.run2, { recursive: true });
  cpSync(F.run, F.noResults, { recursive: true });
  rmSync(path.join(F.noResults, 'test'), { recursive: true });
  train(loadConfig(F.configs.lstm), { runDir: F.lstm });
  evaluateRun(F.lstm, { period: 'test' });

  for (const dir of Object.values(F.corrupt)) cpSync(F.run, dir, { recursive: true });
  writeFileSync(path.join(F.corrupt.scalerFields, 'scaler.json'), '{"input_means": [1, 2], "target_std": 1}\n');
  writeFileSync(path.join(F.corrupt.scalerJson, 'scaler.json'), '{"dynamic_inputs": [\n');
  writeFileSync(path.join(F.corrupt.config, 'config.yml'), 'model: [ealstm\n');
  const weights = path.join(F.corrupt.weights, 'model_epoch001.safetensors');
  writeFileSync(weights, readFileSync(weights).subarray(0, 100));
  const predictions = path.join(F.corrupt.predictions, 'test', 'predictions', '01022500.csv');
  const predLines = readFileSync(predictions, 'utf8').split('\n');
  predLines[3] = predLines[3].replace(/,[^,]*$/, ',abc');
  writeFileSync(predictions, predLines.join('\n'));
  writeFileSync(path.join(F.corrupt.metrics, 'test', 'metrics.csv'), 'basin,NSE\n01022500,1,2,3\n');

  writeEmbeddingInputs(F);
  writeFileSync(F.badEmbedding, 'basin,c0,c1\n01022500,1,2\n01142500,x,3\n02053200,1\n');

  mkdirSync(path.dirname(F.study));
  writeFileSync(F.study, `name: tiny\nbase: ${F.configs.tiny}\naxes:\n  seed: [1, 2]\nthreads: 1\n`);
  writeFileSync(F.badStudy, 'name: [tiny\n');
  writeFileSync(F.typoStudy, `name: tiny\nbase: ${F.configs.tiny}\naxes:\n  hiden_size: [4, 8]\n`);

  const roSource = path.join(base, 'ro-source');
  cpSync(F.run, path.join(roSource, 'run'), { recursive: true });
  const roMount = path.join(base, 'ro');
  mkdirSync(roMount);
  readOnly = makeReadOnly(roSource, roMount);
  masterSnapshot = folderSnapshot(master.root);
}

let unmount: (() => void) | null = null;

/**
 * Makes `mountPoint` a read-only view of `source` and returns it, or null where that is not possible here. Root
 * ignores permission bits, so as root a read-only bind mount is used (access() then fails with EROFS);
 * otherwise the files are copied and their write permission removed.
 */
function makeReadOnly(source: string, mountPoint: string): string | null {
  const writable = () => {
    try {
      writeFileSync(path.join(mountPoint, '.probe'), '');
      rmSync(path.join(mountPoint, '.probe'));
      return true;
    } catch {
      return false;
    }
  };
  if (process.getuid?.() === 0) {
    try {
      execFileSync('mount', ['--bind', source, mountPoint], { stdio: 'ignore' });
    } catch {
      return null;
    }
    unmount = () => execFileSync('umount', [mountPoint], { stdio: 'ignore' });
    try {
      execFileSync('mount', ['-o', 'remount,ro,bind', mountPoint], { stdio: 'ignore' });
    } catch {
      // the probe below finds out
    }
  } else {
    cpSync(source, mountPoint, { recursive: true });
    const setModes = (dir: string, file: number, folder: number) => {
      for (const name of readdirSync(dir)) {
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) setModes(full, file, folder);
        else chmodSync(full, file);
      }
      chmodSync(dir, folder);
    };
    setModes(mountPoint, 0o444, 0o555);
    unmount = () => {
      chmodSync(mountPoint, 0o755);
      setModes(mountPoint, 0o644, 0o755);
    };
  }
  return writable() ? null : mountPoint;
}

// ---------------------------------------------------------------------------------------------------------
// Running the CLI

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Node's arguments for `ealstm`, with extra `--import` modules first. */
const nodeArgs = (args: string[], preload: string[] = []) => [...preload.flatMap((p) => ['--import', p]), compiled.main, ...args];

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, EALSTM_CACHE_DIR: path.join(base, 'cache'), ...extra };
  if (!('EALSTM_DEBUG' in extra)) delete env.EALSTM_DEBUG;
  return env;
}

function runCli(args: string[], options: { env?: Record<string, string>; preload?: string[]; cwd?: string } = {}): Promise<CliRun> {
  const env = cliEnv(options.env);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, nodeArgs(args, options.preload), { cwd: options.cwd ?? base, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ROW_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** What differs between two folder snapshots: 'added X', 'removed X', 'changed X'. */
function changes(before: Record<string, string>, after: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [name, hash] of Object.entries(after)) {
    if (!(name in before)) out.push(`added ${name}`);
    else if (before[name] !== hash) out.push(`changed ${name}`);
  }
  for (const name of Object.keys(before)) if (!(name in after)) out.push(`removed ${name}`);
  return out;
}

/** The contract for a user error: exit 2, one `error:` line matching `expected`, no stack trace. */
function assertUserError(r: CliRun, expected: RegExp, args: string[]): void {
  const shown = `ealstm ${args.join(' ')}\nexit ${r.code ?? r.signal}\nstderr:\n${r.stderr}\nstdout:\n${r.stdout.slice(-2000)}`;
  assert.notEqual(r.signal, 'SIGKILL', `did not fail within ${ROW_TIMEOUT_MS / 1000} s (it is doing real work):\n${shown}`);
  assert.equal(r.code, 2, `exit code 2 expected:\n${shown}`);
  const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(errorLines.length, 1, `exactly one line starting 'error:' expected:\n${shown}`);
  assert.match(errorLines[0], expected, `the error line must name the offending input:\n${shown}`);
  assert.doesNotMatch(r.stderr, /^\s+at .*(:\d+:\d+\)?|<anonymous>\)?)$/m, `no stack trace expected:\n${shown}`);
  assert.doesNotMatch(r.stderr, /internal error|node:internal|^\w*Error: /m, `a user error, not an internal one:\n${shown}`);
}

// ---------------------------------------------------------------------------------------------------------
// The table

interface Row {
  /** The command path, e.g. 'evaluate' or 'analyze robustness'. */
  command: string;
  what: string;
  args: (f: Fixtures) => string[];
  /** What the `error:` line must say: the option, file or basin at fault. */
  error: RegExp;
  /** Needs the read-only folder. */
  readOnly?: boolean;
}

const rows: Row[] = [];
function bad(command: string, what: string, args: (f: Fixtures) => string[], error: RegExp, options: { readOnly?: boolean } = {}): void {
  rows.push({ command, what, args: (f) => [...command.split(' '), ...args(f)], error, ...options });
}
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// train
bad('train', 'no --config', (F) => [], /--config/);
bad('train', 'a --config that does not exist', (F) => ['--config', F.out('nope.yml')], /nope\.yml/);
bad('train', 'a --config that is not YAML', (F) => ['--config', F.configs.badYaml], /bad-yaml\.yml/);
bad('train', 'a misspelt config key', (F) => ['--config', F.configs.typo], /typo\.yml:\d+: unknown key 'hiden_size'/);
bad('train', 'ealstm with an empty static_attributes', (F) => ['--config', F.configs.noStatics, '--run-dir', F.out('t1')], /no-statics\.yml.*static_attributes/);
bad('train', 'ealstm without static_attributes', (F) => ['--config', F.configs.missingStatics, '--run-dir', F.out('t2')], /missing-statics\.yml.*static_attributes/);
bad('train', 'hidden_size: 100000000', (F) => ['--config', F.configs.hugeHidden, '--run-dir', F.out('t3')], /huge-hidden\.yml:\d+: key 'hidden_size'/);
bad('train', 'an empty attribute cell of a training basin', (F) => ['--config', F.configs.nanAttribute, '--run-dir', F.out('t4')], /01022500.*p_mean/);
bad('train', '--run-dir that is a file', (F) => ['--config', F.configs.tiny, '--run-dir', F.file], /--run-dir .*a-file\.txt.*is a file/);
bad('train', '--run-dir below a file', (F) => ['--config', F.configs.tiny, '--run-dir', path.join(F.file, 'run')], /--run-dir .*a-file\.txt is a file/);
bad('train', '--run-dir holding a trained run', (F) => ['--config', F.configs.tiny, '--run-dir', F.run], /\/run\b/);
bad('train', 'run_root (config) that is a file', (F) => ['--config', F.configs.runRootFile], /run_root.*a-file\.txt.*is a file/);
bad('train', '--run-dir on a read-only file system', (F) => ['--config', F.configs.tiny, '--run-dir', roPath('new-run')], /--run-dir .*(read-only|permission denied)/, { readOnly: true });
bad('train', '--resume without --run-dir', (F) => ['--resume'], /--run-dir/);
bad('train', '--resume of a folder that does not exist', (F) => ['--resume', '--run-dir', F.out('missing')], /--run-dir .*missing/);
bad('train', '--resume with --config', (F) => ['--resume', '--run-dir', F.run, '--config', F.configs.tiny], /--config/);
bad('train', '--seed that is not a number', (F) => ['--config', F.configs.tiny, '--seed', 'abc'], /--seed/);
bad('train', '--threads -1', (F) => ['--config', F.configs.tiny, '--threads', '-1'], /--threads/);

// finetune (the tiny config as the keys that change)
bad('finetune', 'no --from', (F) => ['--config', F.configs.tiny], /--from/);
bad('finetune', '--from that does not exist', (F) => ['--from', F.out('missing'), '--config', F.configs.tiny], /--from .*missing/);
bad('finetune', '--from that is a file', (F) => ['--from', F.file, '--config', F.configs.tiny], /--from .*a-file\.txt.*is a file/);
bad('finetune', '--from that is not a run', (F) => ['--from', F.emptyDir, '--config', F.configs.tiny], /empty.*config\.yml/);
bad('finetune', 'a --config that does not exist', (F) => ['--from', F.run, '--config', F.out('nope.yml')], /nope\.yml/);
bad('finetune', '--run-dir that is a file', (F) => ['--from', F.run, '--config', F.configs.tiny, '--run-dir', F.file], /--run-dir .*a-file\.txt.*is a file/);
bad('finetune', '--run-dir on a read-only file system', (F) => ['--from', F.run, '--config', F.configs.tiny, '--run-dir', roPath('ft')], /--run-dir .*(read-only|permission denied)/, { readOnly: true });

// evaluate
bad('evaluate', 'no --run-dir', (F) => [], /--run-dir/);
bad('evaluate', '--run-dir that does not exist', (F) => ['--run-dir', F.out('missing')], /--run-dir .*missing/);
bad('evaluate', '--run-dir that is a file', (F) => ['--run-dir', F.file], /--run-dir .*a-file\.txt.*is a file/);
bad('evaluate', '--run-dir that is not a run', (F) => ['--run-dir', F.emptyDir], /empty.*config\.yml/);
bad('evaluate', '--period validation', (F) => ['--run-dir', F.run, '--period', 'validation'], /--period.*validation/);
bad('evaluate', '--epoch that was not trained', (F) => ['--run-dir', F.run, '--epoch', '7'], /epoch 7/);
bad('evaluate', '--epoch that is not a number', (F) => ['--run-dir', F.run, '--epoch', 'last'], /--epoch/);
bad('evaluate', 'a scaler.json with wrong fields', (F) => ['--run-dir', F.corrupt.scalerFields], /scaler\.json/);
bad('evaluate', 'a scaler.json that is not JSON', (F) => ['--run-dir', F.corrupt.scalerJson], /scaler\.json/);
bad('evaluate', 'a corrupt config.yml', (F) => ['--run-dir', F.corrupt.config], /config\.yml/);
bad('evaluate', 'truncated weights', (F) => ['--run-dir', F.corrupt.weights], /model_epoch001\.safetensors/);
bad('evaluate', 'a run on a read-only file system', (F) => ['--run-dir', roPath('run')], /--run-dir .*(read-only|permission denied)/, { readOnly: true });

// demo (every row fails before the demo trains)
bad('demo', '--run-dir that is a file', (F) => ['--run-dir', F.file], /--run-dir .*a-file\.txt.*is a file/);
bad('demo', '--run-dir below a file', (F) => ['--run-dir', path.join(F.file, 'demo')], /--run-dir .*a-file\.txt is a file/);
bad('demo', '--run-dir holding a trained run', (F) => ['--run-dir', F.run], /\/run\b/);
bad('demo', '--run-dir on a read-only file system', (F) => ['--run-dir', roPath('demo')], /--run-dir .*(read-only|permission denied)/, { readOnly: true });

// ensemble
bad('ensemble', 'no --output', (F) => ['--run-dirs', F.run, F.run2], /--output/);
bad('ensemble', 'no --run-dirs', (F) => ['--output', F.out('ens')], /--run-dirs/);
bad('ensemble', 'one run only', (F) => ['--run-dirs', F.run, '--output', F.out('ens')], /2 run directories/);
bad('ensemble', 'a member that does not exist', (F) => ['--run-dirs', F.run, F.out('missing'), '--output', F.out('ens')], /--run-dirs .*missing/);
bad('ensemble', 'a member without results', (F) => ['--run-dirs', F.run, F.noResults, '--output', F.out('ens')], /no-results/);
bad('ensemble', 'a member with a corrupt predictions file', (F) => ['--run-dirs', F.run, F.corrupt.predictions, '--output', F.out('ens')], /01022500\.csv/);
bad('ensemble', '--output that is a file', (F) => ['--run-dirs', F.run, F.run2, '--output', F.file], /--output .*a-file\.txt.*is a file/);
bad('ensemble', '--output below a file', (F) => ['--run-dirs', F.run, F.run2, '--output', path.join(F.file, 'ens')], /--output .*a-file\.txt is a file/);
bad('ensemble', '--output a project folder with its own test/', (F) => ['--run-dirs', F.run, F.run2, '--output', F.project], /project/);
bad('ensemble', '--output on a read-only file system', (F) => ['--run-dirs', F.run, F.run2, '--output', roPath('ens')], /--output .*(read-only|permission denied)/, { readOnly: true });
bad('ensemble', '--period validation', (F) => ['--run-dirs', F.run, F.run2, '--output', F.out('ens'), '--period', 'validation'], /--period/);

// signatures
bad('signatures', 'no --run-dir', (F) => [], /--run-dir/);
bad('signatures', '--run-dir that is a file', (F) => ['--run-dir', F.file], /--run-dir .*a-file\.txt.*is a file/);
bad('signatures', 'a run without results', (F) => ['--run-dir', F.noResults], /no-results/);
bad('signatures', 'a corrupt predictions file', (F) => ['--run-dir', F.corrupt.predictions], /01022500\.csv/);
bad('signatures', '--precip that is not a column', (F) => ['--run-dir', F.run, '--precip', 'rain(mm)'], /rain\(mm\)/);
bad('signatures', '--period validation', (F) => ['--run-dir', F.run, '--period', 'validation'], /--period/);
bad('signatures', 'a run on a read-only file system', (F) => ['--run-dir', roPath('run')], /--run-dir .*(read-only|permission denied)/, { readOnly: true });

// compare
bad('compare', 'no --model', (F) => ['--output', F.out('cmp')], /--model/);
bad('compare', 'no --output', (F) => ['--model', `a=${F.run}`, '--model', `b=${F.run2}`], /--output/);
bad('compare', '--model without a name', (F) => ['--model', F.run, '--model', `b=${F.run2}`, '--output', F.out('cmp')], /--model|NAME=PATH/);
bad('compare', '--model that does not exist', (F) => ['--model', `a=${F.out('missing')}`, '--model', `b=${F.run2}`, '--output', F.out('cmp')], /missing/);
bad('compare', '--model without results', (F) => ['--model', `a=${F.noResults}`, '--model', `b=${F.run2}`, '--output', F.out('cmp')], /no-results/);
bad('compare', 'a corrupt metrics.csv', (F) => ['--model', `a=${F.corrupt.metrics}`, '--model', `b=${F.run2}`, '--output', F.out('cmp')], /metrics\.csv/);
bad('compare', '--output that is a file', (F) => ['--model', `a=${F.run}`, '--model', `b=${F.run2}`, '--output', F.file], /--output .*a-file\.txt.*is a file/);
bad('compare', '--output on a read-only file system', (F) => ['--model', `a=${F.run}`, '--model', `b=${F.run2}`, '--output', roPath('cmp')], /--output .*(read-only|permission denied)/, { readOnly: true });
bad('compare', '--fdc unknown', (F) => ['--model', `a=${F.run}`, '--model', `b=${F.run2}`, '--output', F.out('cmp'), '--fdc', 'x'], /--fdc/);
bad('compare', '--ecdf-min that is not a number', (F) => ['--model', `a=${F.run}`, '--model', `b=${F.run2}`, '--output', F.out('cmp'), '--ecdf-min', 'low'], /--ecdf-min/);
bad('compare', '--period validation', (F) => ['--model', `a=${F.run}`, '--model', `b=${F.run2}`, '--output', F.out('cmp'), '--period', 'validation'], /--period/);

// report and figures
for (const command of ['report', 'figures']) {
  bad(command, 'no --run-dir', (F) => [], /--run-dir/);
  bad(command, '--run-dir that does not exist', (F) => ['--run-dir', F.out('missing')], /--run-dir .*missing/);
  bad(command, '--run-dir that is a file', (F) => ['--run-dir', F.file], /--run-dir .*a-file\.txt.*is a file/);
  bad(command, 'a run without results', (F) => ['--run-dir', F.noResults], /no-results/);
  bad(command, 'a corrupt metrics.csv', (F) => ['--run-dir', F.corrupt.metrics], /metrics\.csv/);
  bad(command, '--period validation', (F) => ['--run-dir', F.run, '--period', 'validation'], /--period/);
  bad(command, 'a run on a read-only file system', (F) => ['--run-dir', roPath('run')], /--run-dir .*(read-only|permission denied)/, { readOnly: true });
}

// analyze robustness and sensitivity
for (const command of ['analyze robustness', 'analyze sensitivity']) {
  bad(command, 'no --run-dir', (F) => [], /--run-dir/);
  bad(command, '--run-dir that is a file', (F) => ['--run-dir', F.file], /--run-dir .*a-file\.txt.*is a file/);
  bad(command, 'a run without static inputs', (F) => ['--run-dir', F.lstm], /lstm.*static/);
  bad(command, '--output that is a file', (F) => ['--run-dir', F.run, '--output', F.file], /--output .*a-file\.txt.*is a file/);
  bad(command, 'a run on a read-only file system', (F) => ['--run-dir', roPath('run')], /--run-dir .*(read-only|permission denied)/, { readOnly: true });
  bad(command, '--backend unknown', (F) => ['--run-dir', F.run, '--backend', 'gpu'], /--backend/);
  bad(command, '--basins with an unknown basin', (F) => ['--run-dir', F.run, '--basins', '01022500,09999999'], /09999999/);
  bad(command, '--epoch that was not trained', (F) => ['--run-dir', F.run, '--epoch', '9'], /epoch 9/);
}
bad('analyze robustness', '--sigmas that are not numbers', (F) => ['--run-dir', F.run, '--sigmas', '0,a'], /--sigmas/);
bad('analyze robustness', '--draws 0', (F) => ['--run-dir', F.run, '--draws', '0'], /--draws/);

// analyze embedding
bad('analyze embedding', 'no input', (F) => [], /--run-dir|--embedding/);
bad('analyze embedding', '--embedding without --attributes', (F) => ['--embedding', F.embedding, '--output', F.out('emb')], /--attributes/);
bad('analyze embedding', '--embedding without --output', (F) => ['--embedding', F.embedding, '--attributes', F.attributes], /--output/);
bad('analyze embedding', '--run-dir and --embedding', (F) => ['--run-dir', F.run, '--embedding', F.embedding, '--attributes', F.attributes], /--run-dir.*--embedding|not both/);
bad('analyze embedding', '--embedding that does not exist', (F) => ['--embedding', F.out('nope.csv'), '--attributes', F.attributes, '--output', F.out('emb')], /nope\.csv/);
bad('analyze embedding', 'a corrupt embedding CSV', (F) => ['--embedding', F.badEmbedding, '--attributes', F.attributes, '--output', F.out('emb')], /bad-embedding\.csv/);
bad('analyze embedding', '--output that is a file', (F) => ['--embedding', F.embedding, '--attributes', F.attributes, '--output', F.file], /--output .*a-file\.txt.*is a file/);
bad('analyze embedding', '--output on a read-only file system', (F) => ['--embedding', F.embedding, '--attributes', F.attributes, '--output', roPath('emb')], /--output .*(read-only|permission denied)/, { readOnly: true });
bad('analyze embedding', 'a run on a read-only file system', (F) => ['--run-dir', roPath('run')], /--run-dir .*(read-only|permission denied)/, { readOnly: true });
bad('analyze embedding', 'an LSTM run', (F) => ['--run-dir', F.lstm], /lstm/);
bad('analyze embedding', '--k that is not a list of integers', (F) => ['--embedding', F.embedding, '--attributes', F.attributes, '--output', F.out('emb'), '--k', 'x'], /--k/);

// analyze silhouette
bad('analyze silhouette', 'no --output', (F) => ['--attributes', F.attributes], /--output/);
bad('analyze silhouette', '--attributes that does not exist', (F) => ['--attributes', F.out('nope.csv'), '--output', F.out('sil')], /nope\.csv/);
bad('analyze silhouette', 'a corrupt embedding CSV', (F) => ['--embedding', F.badEmbedding, '--output', F.out('sil')], /bad-embedding\.csv/);
bad('analyze silhouette', '--output that is a file', (F) => ['--attributes', F.attributes, '--output', F.file], /--output .*a-file\.txt.*is a file/);
bad('analyze silhouette', '--output on a read-only file system', (F) => ['--attributes', F.attributes, '--output', roPath('sil')], /--output .*(read-only|permission denied)/, { readOnly: true });
bad('analyze silhouette', '--seed that is not a number', (F) => ['--attributes', F.attributes, '--output', F.out('sil'), '--seed', 'x'], /--seed/);

// analyze attributes
bad('analyze attributes', 'no --output', (F) => ['--data-dir', demoData, '--basins', '01022500'], /--output/);
bad('analyze attributes', '--data-dir that does not exist', (F) => ['--data-dir', F.out('nodata'), '--basins', '01022500', '--output', F.out('a.csv')], /--data-dir .*nodata/);
bad('analyze attributes', '--dataset unknown', (F) => ['--data-dir', demoData, '--basins', '01022500', '--output', F.out('a.csv'), '--dataset', 'camels_gb'], /--dataset/);
bad('analyze attributes', 'an unknown basin', (F) => ['--data-dir', demoData, '--basins', '09999999', '--output', F.out('a.csv')], /09999999/);
bad('analyze attributes', 'an unknown attribute', (F) => ['--data-dir', demoData, '--basins', '01022500', '--output', F.out('a.csv'), '--names', 'p_mean,not_an_attribute'], /not_an_attribute/);
bad('analyze attributes', '--output that is a folder', (F) => ['--data-dir', demoData, '--basins', '01022500', '--output', F.emptyDir], /--output .*empty.*is a folder/);
bad('analyze attributes', '--output below a file', (F) => ['--data-dir', demoData, '--basins', '01022500', '--output', path.join(F.file, 'a.csv')], /--output .*a-file\.txt is a file/);
bad('analyze attributes', '--output on a read-only file system', (F) => ['--data-dir', demoData, '--basins', '01022500', '--output', roPath('a.csv')], /--output .*(read-only|permission denied)/, { readOnly: true });
bad('analyze attributes', '--names-from that does not exist', (F) => ['--data-dir', demoData, '--basins', '01022500', '--output', F.out('a.csv'), '--names-from', F.out('nope.yml')], /nope\.yml/);

// bench (every row fails before the benchmark starts)
bad('bench', '--json into a folder that does not exist', (F) => ['--json', path.join(F.out('no-folder'), 'bench.json')], /--json .*no-folder/);
bad('bench', '--json that is a folder', (F) => ['--json', F.emptyDir], /--json .*empty.*is a folder/);
bad('bench', '--json on a read-only file system', (F) => ['--json', roPath('bench.json')], /--json .*(read-only|permission denied)/, { readOnly: true });
bad('bench', '--repeats 0', (F) => ['--repeats', '0'], /--repeats/);
bad('bench', '--backends unknown', (F) => ['--backends', 'wasm,gpu'], /--backends.*gpu/);
bad('bench', '--sizes unknown', (F) => ['--sizes', 'huge'], /--sizes.*huge/);
bad('bench', '--threads that are not numbers', (F) => ['--threads', '1,x'], /--threads/);

// study (the study file's base config is the tiny one; a default output folder would be below the row's cwd)
for (const command of ['study plan', 'study status']) {
  bad(command, 'a study file that does not exist', (F) => [F.out('nope.yml')], /nope\.yml/);
  bad(command, 'a study file that is not YAML', (F) => [F.badStudy], /bad-yaml\.yml/);
  bad(command, 'a misspelt config key in an axis', (F) => [F.typoStudy], /typo\.yml:\d+: unknown config key 'hiden_size'/);
}
bad('study run', '--executor unknown', (F) => [F.study, '--executor', 'cloud', '--output', F.out('s')], /executor.*cloud/);
bad('study run', '--jobs 0', (F) => [F.study, '--jobs', '0'], /--jobs/);
bad('study run', '--output that is a file', (F) => [F.study, '--output', F.file], /--output .*a-file\.txt.*is a file/);
bad('study run', '--output on a read-only file system', (F) => [F.study, '--output', roPath('study')], /--output .*(read-only|permission denied)/, { readOnly: true });
bad('study collect', 'a study file that does not exist', (F) => [F.out('nope.yml')], /nope\.yml/);
bad('study collect', '--output that is a file', (F) => [F.study, '--output', F.file], /--output .*a-file\.txt.*is a file/);
bad('study collect', '--output on a read-only file system', (F) => [F.study, '--output', roPath('study')], /--output .*(read-only|permission denied)/, { readOnly: true });
bad('study task', 'neither --run nor --tasks', (F) => [F.study, '--output', F.out('s')], /--run/);
bad('study task', '--run that is not in the study', (F) => [F.study, '--run', 'no_such_run', '--output', F.out('s')], /no_such_run/);
bad('study task', '--tasks that does not exist', (F) => [F.study, '--tasks', F.out('tasks.txt'), '--index', '0', '--output', F.out('s')], /tasks\.txt/);
bad('study task', '--output on a read-only file system', (F) => [F.study, '--run', 'x', '--output', roPath('study')], /--output .*(read-only|permission denied)/, { readOnly: true });

// predict (issue 10): a period of the demo data, the tiny run
const predictArgs = (F: Fixtures, ...more: string[]) => {
  const args: Record<string, string> = { '--run-dir': F.run, '--basins': '01022500', '--start': '01/10/2001', '--end': '31/12/2001', '--output': F.out('pred') };
  for (let i = 0; i < more.length; i += 2) args[more[i]] = more[i + 1];
  return Object.entries(args).flat();
};
bad('predict', '--start that is not a date', (F) => predictArgs(F, '--start', '31/02/2001'), /--start.*31\/02\/2001/);
bad('predict', '--end before --start', (F) => predictArgs(F, '--end', '30/09/2001'), /--end 2001-09-30 is before --start 2001-10-01/);
bad('predict', 'a basin not in the data', (F) => predictArgs(F, '--basins', '09999999'), /09999999/);
bad('predict', 'a period before the forcing starts', (F) => predictArgs(F, '--start', '01/01/1970'), /basin 01022500: the period 1970-01-01.*outside the data/);
bad('predict', '--output that predict did not write', (F) => predictArgs(F, '--output', F.project), /project was not written by `ealstm predict`/);
bad('predict', '--run-dir that is not a run', (F) => predictArgs(F, '--run-dir', F.emptyDir), /empty/);
bad('predict', '--run-dir that is a file', (F) => predictArgs(F, '--run-dir', F.file), /--run-dir .*a-file\.txt.*is a file/);
bad('predict', 'a scaler.json with wrong fields', (F) => predictArgs(F, '--run-dir', F.corrupt.scalerFields), /scaler\.json/);
bad('predict', '--state-in that does not exist', (F) => predictArgs(F, '--state-in', F.out('state.json')), /--state-in .*state\.json: no such file/);
bad('predict', '--state-in that is not a state file', (F) => predictArgs(F, '--state-in', F.file), /--state-in .*a-file\.txt/);

// export and import (issue 12): model bundles; import reads the committed PyTorch fixtures of test/import.test.ts
const NH_FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'import', 'nh_ealstm');
const nhImport = (F: Fixtures, from: string) => ['--from', from, '--format', 'nh', '--config', path.join(NH_FIXTURE, 'config.yml'), '--scaler', path.join(NH_FIXTURE, 'train_data', 'train_data_scaler.yml'), '--output', F.out('m.ealstm')];
bad('export', '--run-dir that is not a run', (F) => ['--run-dir', F.emptyDir, '--output', F.out('m.ealstm')], /empty: no config\.yml/);
bad('export', '--output that exists and is not a bundle', (F) => ['--run-dir', F.run, '--output', F.project], /--output .*project exists and is not a model bundle/);
// serve (a port this test process holds, for the row of a port in use)
const busy = createServer().listen(0, '127.0.0.1');
busy.unref();
bad('serve', '--port beyond 65535', (F) => ['--port', '70000'], /--port 70000: expected 0 to 65535/);
bad('serve', '--port that is not a number', (F) => ['--port', 'http'], /--port.*expected a non-negative integer/);
bad('serve', '--port that is in use', (F) => ['--port', String((busy.address() as AddressInfo).port)], /--port \d+: the port is in use/);
bad('export', '--epoch that was not trained', (F) => ['--run-dir', F.run, '--epoch', '9', '--output', F.out('m.ealstm')], /no weights for epoch 9/);
bad('import', '--from that does not exist', (F) => nhImport(F, F.out('model_epoch001.pt')), /--from .*model_epoch001\.pt: no such file/);
bad('import', 'an unknown --format', (F) => ['--from', F.file, '--format', 'onnx', '--output', F.out('m.ealstm')], /--format onnx: expected one of nh, paper, safetensors/);
bad('import', 'a pickle that calls os.system', (F) => nhImport(F, path.join(repoRoot, 'test', 'fixtures', 'import', 'malicious_os_system.pt')), /refused to load: the pickle calls 'posix\.system'/);
bad('import', '--from that is not a zip', (F) => nhImport(F, F.file), /a-file\.txt: not a readable PyTorch zip file/);
bad('import', '--format paper without --config', (F) => ['--from', F.file, '--format', 'paper', '--output', F.out('m.ealstm')], /--format paper needs --config/);
bad('predict', '--output on a read-only file system', (F) => predictArgs(F, '--output', roPath('pred')), /--output .*(read-only|permission denied)/, { readOnly: true });

// the program itself
rows.push({ command: '', what: 'an unknown command', args: () => ['trian'], error: /unknown command 'trian'/ });
rows.push({ command: '', what: 'no command', args: () => [], error: /missing command.*ealstm --help/ });
rows.push({ command: 'analyze', what: 'no analysis named', args: () => ['analyze'], error: /missing command.*ealstm analyze --help/ });
rows.push({ command: 'study', what: 'no study command named', args: () => ['study'], error: /missing command.*ealstm study --help/ });

/**
 * A complete invocation of each command (its required options and arguments), to which the generic rows add
 * one fault each; commander would otherwise report the missing required option first.
 */
const VALID: Record<string, (F: Fixtures) => string[]> = {
  train: (F) => ['--config', F.configs.tiny, '--run-dir', F.out('t')],
  finetune: (F) => ['--from', F.run, '--config', F.configs.tiny, '--run-dir', F.out('ft')],
  evaluate: (F) => ['--run-dir', F.run],
  predict: (F) => ['--run-dir', F.run, '--basins', '01022500', '--start', '01/10/2001', '--end', '31/12/2001', '--output', F.out('pred')],
  export: (F) => ['--run-dir', F.run, '--output', F.out('m.ealstm')],
  serve: () => ['--port', '0'],
  import: (F) => ['--from', path.join(NH_FIXTURE, 'model_epoch003.pt'), '--format', 'nh', '--output', F.out('m.ealstm')],
  demo: (F) => ['--run-dir', F.out('demo')],
  ensemble: (F) => ['--run-dirs', F.run, F.run2, '--output', F.out('ens')],
  signatures: (F) => ['--run-dir', F.run],
  compare: (F) => ['--model', `a=${F.run}`, '--model', `b=${F.run2}`, '--output', F.out('cmp')],
  report: (F) => ['--run-dir', F.run],
  figures: (F) => ['--run-dir', F.run],
  'analyze robustness': (F) => ['--run-dir', F.run],
  'analyze sensitivity': (F) => ['--run-dir', F.run],
  'analyze embedding': (F) => ['--embedding', F.embedding, '--attributes', F.attributes, '--output', F.out('emb')],
  'analyze silhouette': (F) => ['--attributes', F.attributes, '--output', F.out('sil')],
  'analyze attributes': () => ['--data-dir', demoData, '--basins', '01022500', '--output', 'a.csv'],
  bench: () => [],
  'study plan': (F) => [F.study],
  'study run': (F) => [F.study],
  'study status': (F) => [F.study],
  'study collect': (F) => [F.study],
  'study task': (F) => [F.study, '--run', 'x'],
};

/** Rows every command gets: an unknown option, an extra argument, an option without its value. */
function genericRows(command: string, valueOption: string | null): Row[] {
  const words = command.split(' ');
  const valid = VALID[command] ?? (() => []);
  const generic: Row[] = [
    { command, what: 'an unknown option', args: (F) => [...words, ...valid(F), '--no-such-option'], error: /unknown option '--no-such-option'/ },
    { command, what: 'an extra argument', args: (F) => [...words, ...valid(F), 'extra-argument'], error: /too many arguments/ },
  ];
  if (valueOption) {
    generic.push({ command, what: `${valueOption} without its value`, args: (F) => [...words, ...valid(F), valueOption], error: new RegExp(`${esc(valueOption)}.*argument missing`) });
  }
  return generic;
}

// ---------------------------------------------------------------------------------------------------------
// The commands of the CLI, from its help

interface CommandInfo {
  path: string;
  /** The first option taking a value (e.g. '--run-dir'), for the "option without its value" row. */
  valueOption: string | null;
}

/** Every leaf command of `ealstm` (e.g. 'train', 'analyze robustness'), read from the help pages. */
function listCommands(words: string[] = []): CommandInfo[] {
  const help = spawnSync(process.execPath, nodeArgs([...words, '--help']), { cwd: repoRoot, env: cliEnv(), encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  const section = help.stdout.split(/^Commands:$/m)[1];
  if (!section) {
    const option = /^\s+(--[\w-]+) <[^>]+>/m.exec(help.stdout.split(/^Options:$/m)[1] ?? '');
    return [{ path: words.join(' '), valueOption: option ? option[1] : null }];
  }
  const found: CommandInfo[] = [];
  for (const line of section.split('\n')) {
    const m = /^ {2}([\w-]+)( \[options\])?/.exec(line);
    if (!m || m[1] === 'help') continue;
    found.push(...listCommands([...words, m[1]]));
  }
  return found;
}

// Read now, so that each command's generic rows are tests of their own.
const commands = listCommands();
const generic = new Set(commands.flatMap((c) => genericRows(c.path, c.valueOption)));
rows.push(...generic);

// ---------------------------------------------------------------------------------------------------------
// Tests

after(() => {
  try {
    unmount?.();
  } finally {
    rmSync(base, { recursive: true, force: true });
    compiled.remove();
  }
});

describe('every CLI command reports bad input as one `error:` line, exit code 2, and changes nothing', { concurrency: CONCURRENCY }, () => {
  before(() => makeFixtures());

  test('every command has rows in the table (a new command needs its own)', () => {
    assert.ok(commands.length >= 15, `commands found: ${commands.map((c) => c.path).join(', ')}`);
    assert.deepEqual(commands.filter((c) => !VALID[c.path]).map((c) => c.path), [], 'commands without a VALID invocation');
    // Generic rows (unknown option, extra argument, option without value) do not count.
    const specific = (c: CommandInfo) => rows.filter((r) => r.command === c.path && !generic.has(r)).length;
    const missing = commands.filter((c) => specific(c) < 3).map((c) => c.path);
    assert.deepEqual(missing, [], 'commands with fewer than 3 bad-input rows');
  });

  /** Runs a row on its own copy of the fixtures (its cwd too), whose every file must be unchanged after. */
  const runRow = async (row: Row, index: number, t: { skip: (message: string) => void }) => {
    if (row.readOnly && readOnly === null) {
      t.skip('no read-only folder can be made here (not root with mount rights, and permissions do not stop this user)');
      return;
    }
    const root = path.join(base, 'rows', String(index));
    const args = row.args(fixturesAt(root));
    // Copy only the fixtures the row names (a few of the ~150 files), so that a row costs little more than its process.
    mkdirSync(root, { recursive: true });
    const named = new Set(args.flatMap((a) => [...a.matchAll(new RegExp(`${esc(root)}/([^/=,]+)`, 'g'))].map((m) => m[1])));
    for (const entry of named) if (existsSync(path.join(master.root, entry))) cpSync(path.join(master.root, entry), path.join(root, entry), { recursive: true });
    const beforeRun = folderSnapshot(root);
    const r = await runCli(args, { cwd: root });
    assertUserError(r, row.error, args);
    assert.deepEqual(changes(beforeRun, folderSnapshot(root)), [], `ealstm ${args.join(' ')} changed its folder`);
    rmSync(root, { recursive: true, force: true });
  };

  rows.forEach((row, index) => {
    test(`${row.command || 'ealstm'}: ${row.what}`, (t) => runRow(row, index, t));
  });
});

test('no row touched the shared fixtures or the read-only run', () => {
  assert.ok(Object.keys(masterSnapshot).length > 0, 'the fixtures were not made');
  assert.deepEqual(changes(masterSnapshot, folderSnapshot(master.root)), []);
  if (readOnly) assert.deepEqual(folderSnapshot(path.join(readOnly, 'run')), folderSnapshot(path.join(base, 'ro-source', 'run')));
});

describe('internal errors and --debug', () => {
  /**
   * A preload module that breaks os.cpus(), which `bench` calls after its option checks: an unexpected failure
   * inside a command, made from the test alone (no test-only code path in the CLI).
   */
  const preload = (): string => {
    const file = path.join(base, 'break-cpus.mjs');
    writeFileSync(file, "import os from 'node:os';\nos.cpus = () => { throw new TypeError('cpus() broke'); };\n");
    return file;
  };
  const args = ['bench', '--backends', 'reference', '--sizes', 'small', '--repeats', '1', '--threads', '1', '--no-torch'];

  test('an internal error is one line saying it is a bug, exit code 1, no stack trace', async () => {
    const r = await runCli(args, { preload: [preload()] });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^error: internal error, a bug in ealstm .*TypeError: cpus\(\) broke; rerun with --debug or EALSTM_DEBUG=1 for the stack trace$/);
  });

  for (const [how, extra, env] of [
    ['--debug', ['--debug'], {}],
    ['EALSTM_DEBUG=1', [], { EALSTM_DEBUG: '1' }],
  ] as const) {
    test(`${how} adds the stack trace`, async () => {
        const r = await runCli([...args, ...extra], { preload: [preload()], env });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^error: internal error, a bug in ealstm .*cpus\(\) broke\n/);
      assert.doesNotMatch(r.stderr, /rerun with --debug/);
      assert.match(r.stderr, /^TypeError: cpus\(\) broke\n\s+at /m);
    });
  }

  test('--debug also shows where a user error was raised, still with exit code 2', async () => {
    const r = await runCli(['--debug', 'evaluate', '--run-dir', path.join(base, 'nowhere')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: --run-dir .*nowhere: no such folder\nInputError: /);
  });
});

test('analyze embedding --output into a folder that does not exist yet creates it (was ENOENT from writeFileAtomic)', async () => {
  const root = path.join(base, 'new-output');
  const F = fixturesAt(root);
  writeEmbeddingInputs(F);
  const output = path.join(root, 'new', 'analysis');
  const args = ['analyze', 'embedding', '--embedding', F.embedding, '--attributes', F.attributes, '--output', output, '--no-figures', '--k', '2..3', '--cluster-k', '2'];
  const r = await runCli(args, { cwd: root });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(path.join(output, 'silhouette.csv')), r.stdout);
});

test('a training that diverges (loss NaN) is one error line naming epoch and batch, exit code 2 (was an internal error)', async () => {
  const root = path.join(base, 'diverge');
  mkdirSync(root, { recursive: true });
  const config = path.join(root, 'diverge.yml');
  writeFileSync(config, configText({ learning_rate: '1.0e+30', train_basin_file: path.join(root, 'basins.txt'), test_basin_file: path.join(root, 'basins.txt') }));
  writeFileSync(path.join(root, 'basins.txt'), '01022500\n02053200\n');
  const r = await runCli(['train', '--config', config, '--run-dir', path.join(root, 'run')], { cwd: root });
  assertUserError(r, /loss became NaN in epoch 1, batch \d+: training diverged; lower learning_rate/, ['train']);
});

test('errors the environment causes (a read-only or full disk, permissions, memory) are user errors naming the file', async () => {
  const { describeError } = await import('../src/cli/error-report.js');
  const fsError = (code: string, syscall: string, file: string) => Object.assign(new Error(`${code}: ${syscall} '${file}'`), { code, syscall, path: file });
  assert.deepEqual(describeError(fsError('EROFS', 'open', '/data/run/.metrics.csv.1.tmp')), {
    message: 'error: /data/run/.metrics.csv.1.tmp: read-only file system (open)',
    exitCode: 2,
  });
  assert.deepEqual(describeError(fsError('ENOSPC', 'write', '/data/run/model_epoch003.safetensors')), {
    message: 'error: /data/run/model_epoch003.safetensors: no space left on device (write)',
    exitCode: 2,
  });
  const memory = describeError(new RangeError('Array buffer allocation failed'));
  assert.equal(memory.exitCode, 2);
  assert.match(memory.message, /^error: out of memory .*reduce hidden_size, batch_size or seq_length$/);
  const bug = describeError(new TypeError("Cannot read properties of undefined (reading 'length')"));
  assert.equal(bug.exitCode, 1);
  assert.match(bug.message, /^error: internal error, a bug in ealstm/);
});
