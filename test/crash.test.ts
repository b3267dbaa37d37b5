/**
 * Crash test: `evaluate` and `ensemble` are SIGKILLed at random points and exactly between the renames of the
 * folder swap (test hooks that pause the process there). After every kill a complete result folder, the
 * previous or the new one, must exist; the next command must put it back in place; and after a full rerun
 * everything must be consistent, with nothing left behind.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { buildEnsemble } from '../src/evaluation/ensemble.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { listPredictions } from '../src/evaluation/results-files.js';
import { train } from '../src/training/trainer.js';
import { folderSnapshot, runCli, sleep, startCli, waitForFile } from './helpers/run-cli.js';
import { tinyConfig } from './helpers/tiny-config.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'ealstm-crash-'));

/** Deterministic pseudo-random delays; the seed is printed with any failure. */
const seed = Date.now() % 100_000;
let state = seed;
const random = () => {
  state = (state * 48271) % 2147483647;
  return state / 2147483647;
};

/** The complete contents a results folder may have: name -> snapshot (ignoring evaluation.json's time stamp). */
type Known = Map<string, Record<string, string>>;

function contentOf(folder: string): Record<string, string> {
  const snapshot = folderSnapshot(folder);
  delete snapshot['evaluation.json'];
  return snapshot;
}

function whichKnown(folder: string, known: Known): string | null {
  const content = JSON.stringify(contentOf(folder));
  for (const [name, snapshot] of known) if (JSON.stringify(snapshot) === content) return name;
  return null;
}

/**
 * Asserts that a complete result folder exists for `target`: the folder itself, or (killed between the two
 * renames) the previous one under its aside name. Returns which known content it has.
 */
function assertCompleteResults(target: string, known: Known, context: string): string {
  const dir = path.dirname(target);
  const asides = readdirSync(dir).filter((n) => n.startsWith(`.${path.basename(target)}.old-`));
  const where = existsSync(target) ? target : asides.length === 1 ? path.join(dir, asides[0]) : null;
  assert.ok(where, `${context}: no complete results: ${target} is missing and the aside folders are [${asides.join(', ')}] (seed ${seed})`);
  const name = whichKnown(where, known);
  assert.ok(name, `${context}: ${where} is not a complete result folder: ${Object.keys(folderSnapshot(where)).join(', ')} (seed ${seed})`);
  return name;
}

/** Nothing left behind: no lock, no staging or aside folder. */
function assertClean(dir: string): void {
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('.')),
    [],
    `leftovers in ${dir} (seed ${seed})`,
  );
}

/**
 * Runs `args` and kills it at a random point: either a random time after start, or a random few milliseconds
 * after its staging folder appears (so that kills land while it writes and swaps, not only during start-up).
 */
async function killAtRandom(args: string[], dir: string): Promise<string> {
  const running = startCli(args);
  let ended = false;
  void running.exited.then(() => {
    ended = true;
  });
  let when: string;
  if (random() < 0.4) {
    const ms = Math.floor(random() * 2500);
    await sleep(ms);
    when = `${ms} ms after start`;
  } else {
    while (!ended && !readdirSync(dir).some((n) => n.includes('.staging-'))) await sleep(2);
    const ms = Math.floor(random() * 30);
    await sleep(ms);
    when = `${ms} ms after its staging folder appeared`;
  }
  running.child.kill('SIGKILL');
  const { signal } = await running.exited;
  return signal === 'SIGKILL' ? `killed ${when}` : 'finished before the kill';
}

/** Runs `args` until it pauses at `hook`, then kills it there. */
async function killAtHook(args: string[], hook: string): Promise<void> {
  const signal = path.join(root, `paused-${hook.replace(/\W/g, '_')}-${Date.now()}`);
  const running = startCli(args, { EALSTM_TEST_PAUSE_AT: hook, EALSTM_TEST_PAUSE_FILE: signal });
  await waitForFile(signal, running);
  running.child.kill('SIGKILL');
  assert.equal((await running.exited).signal, 'SIGKILL');
}

// A tiny run trained once: epochs 1 and 2 give two different, known result folders.
const { dir: configDir, file } = tinyConfig({ epochs: '2' });
const runDir = path.join(configDir, 'run');
train(loadConfig(file), { runDir });
const known: Known = new Map();
for (const epoch of [1, 2]) {
  evaluateRun(runDir, { epoch });
  known.set(`epoch ${epoch}`, contentOf(path.join(runDir, 'test')));
}
const target = path.join(runDir, 'test');

test('evaluate killed between the renames: the previous results are kept aside and put back by the next start', async () => {
  // test/ holds epoch 2; a new evaluation of epoch 1 is killed right after the old folder was renamed aside.
  await killAtHook(['evaluate', '--run-dir', runDir, '--epoch', '1'], 'publish:old-aside');
  assert.ok(!existsSync(target), 'killed between the renames');
  assert.equal(assertCompleteResults(target, known, 'between the renames'), 'epoch 2');
  // Readers say where the results wait.
  assert.throws(() => listPredictions(runDir, 'test'), /an interrupted command left the previous results in \S+\.test\.old-\d+: the next `ealstm evaluate`/);
  // The next evaluate first restores them (paused right after that repair, before writing anything).
  await killAtHook(['evaluate', '--run-dir', runDir, '--epoch', '1'], 'results:recovered');
  assert.equal(whichKnown(target, known), 'epoch 2', 'the previous results are back in place');
  assert.deepEqual(readdirSync(runDir).filter((n) => n.startsWith('.test.')), [], 'no aside folder left');

  // Killed after the new folder is in place, before the old one is deleted: the new results count.
  await killAtHook(['evaluate', '--run-dir', runDir, '--epoch', '1'], 'publish:new-in-place');
  assert.equal(assertCompleteResults(target, known, 'after the swap'), 'epoch 1');
  const finished = runCli(['evaluate', '--run-dir', runDir, '--epoch', '2']);
  assert.equal(finished.status, 0, finished.stderr);
  assert.match(finished.stderr, /note: took over a stale lock/);
  assert.equal(whichKnown(target, known), 'epoch 2');
  assertClean(runDir);
  assert.deepEqual(readdirSync(runDir).filter((n) => n.startsWith('test.')), [], 'no previous folder kept: nothing was derived from it');
});

test('evaluate SIGKILLed at random points always leaves complete results, and a rerun makes them consistent', async (t) => {
  const outcomes: string[] = [];
  for (let i = 0; i < 8; i++) {
    const epoch = 1 + (i % 2);
    const outcome = await killAtRandom(['evaluate', '--run-dir', runDir, '--epoch', String(epoch)], runDir);
    outcomes.push(`epoch ${epoch}: ${outcome}`);
    assertCompleteResults(target, known, `kill ${i + 1} (${outcomes.join('; ')})`);
  }
  t.diagnostic(`seed ${seed}: ${outcomes.join('; ')}`);
  const finished = runCli(['evaluate', '--run-dir', runDir, '--epoch', '1']);
  assert.equal(finished.status, 0, finished.stderr);
  assert.equal(whichKnown(target, known), 'epoch 1');
  assertClean(runDir);
});

test('ensemble killed between the renames and at random points always leaves a complete ensemble', async (t) => {
  // Members: the run at epoch 2 and two copies at epoch 1. Ensembles {a, b} and {b, c} have different results.
  const members = ['a', 'b', 'c'].map((name, i) => {
    const member = path.join(root, name);
    cpSync(runDir, member, { recursive: true });
    rmSync(path.join(member, 'test'), { recursive: true });
    evaluateRun(member, { epoch: i === 0 ? 2 : 1 });
    return member;
  });
  const output = path.join(root, 'ensemble');
  const ensembles = { 'a+b': [members[0], members[1]], 'b+c': [members[1], members[2]] };
  const knownEnsembles: Known = new Map();
  for (const [name, runs] of Object.entries(ensembles)) {
    buildEnsemble({ runDirs: runs, output });
    knownEnsembles.set(name, folderSnapshot(path.join(output, 'test')));
  }
  assert.notDeepEqual(knownEnsembles.get('a+b'), knownEnsembles.get('b+c'));
  const ensembleTarget = path.join(output, 'test');
  const args = (name: keyof typeof ensembles) => ['ensemble', '--run-dirs', ...ensembles[name], '--output', output];

  // test/ holds b+c; building a+b is killed between the renames, then the next start restores b+c.
  await killAtHook(args('a+b'), 'publish:old-aside');
  assert.ok(!existsSync(ensembleTarget));
  assert.equal(assertCompleteResults(ensembleTarget, knownEnsembles, 'between the renames'), 'b+c');
  await killAtHook(args('a+b'), 'results:recovered');
  assert.equal(whichKnown(ensembleTarget, knownEnsembles), 'b+c');

  const outcomes: string[] = [];
  for (let i = 0; i < 4; i++) {
    const name = i % 2 === 0 ? 'a+b' : 'b+c';
    outcomes.push(`${name}: ${await killAtRandom(args(name), output)}`);
    assertCompleteResults(ensembleTarget, knownEnsembles, `kill ${i + 1} (${outcomes.join('; ')})`);
  }
  t.diagnostic(`seed ${seed}: ${outcomes.join('; ')}`);
  const finished = runCli(args('a+b'));
  assert.equal(finished.status, 0, finished.stderr);
  assert.equal(whichKnown(ensembleTarget, knownEnsembles), 'a+b');
  assert.deepEqual(JSON.parse(readFileSync(path.join(output, 'ensemble.json'), 'utf8')).members, ensembles['a+b']);
  assertClean(output);
});
