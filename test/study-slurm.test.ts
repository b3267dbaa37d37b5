/**
 * The Slurm executor on a real cluster (scripts/slurm-local/start.sh; .ci/run starts one): the demo study run as
 * a job array gives the same metrics and tables as the local executor, and a task cancelled with scancel resumes
 * when `study run` resubmits what is unfinished. Skipped, with a message, where sbatch is absent.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { expandStudy } from '../src/study/expand.js';
import { queueState, readSubmissions } from '../src/study/slurm.js';
import { runState, trainedEpochs } from '../src/study/state.js';
import { loadStudy } from '../src/study/study-file.js';
import { runCli } from './helpers/run-cli.js';
import { repoRoot } from './helpers/tiny-config.js';
import { collectedTables, runMetrics } from './helpers/study.js';

process.chdir(repoRoot);
const hasSlurm = spawnSync('sbatch', ['--version']).status === 0 && spawnSync('squeue', ['-h']).status === 0;
const tmp = (name: string) => mkdtempSync(path.join(os.tmpdir(), `ealstm-slurm-${name}-`));
const env = { EALSTM_CACHE_DIR: tmp('cache') };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test(
  'slurm: the demo study as a job array equals the local executor; a scancelled task resumes on resubmission',
  { skip: hasSlurm ? false : 'sbatch/squeue not available or no cluster answers (start one with scripts/slurm-local/start.sh)' },
  async () => {
    const local = tmp('local');
    const l = runCli(['study', 'run', 'studies/demo.yml', '--jobs', '2', '--output', local], env);
    assert.equal(l.status, 0, l.stdout + l.stderr);
    assert.equal(runCli(['study', 'collect', 'studies/demo.yml', '--output', local, '--no-run-reports'], env).status, 0);

    const out = tmp('cluster');
    const expanded = expandStudy(loadStudy('studies/demo.yml', { outputDir: out }));
    const submitted = runCli(['study', 'run', 'studies/demo.yml', '--executor', 'slurm', '--output', out], env);
    assert.equal(submitted.status, 0, submitted.stdout + submitted.stderr);
    assert.match(submitted.stdout, /4 to submit/);
    const [first] = readSubmissions(expanded);
    const tasks = readFileSync(first.tasks, 'utf8').trim().split('\n');

    // Cancel one task while its run is half trained.
    const deadline = Date.now() + 300_000;
    let cancelled = '';
    while (!cancelled) {
      assert.ok(Date.now() < deadline, 'no task was ever seen half-way through its run');
      const queue = queueState(expanded);
      const run = expanded.runs.find((r) => queue.runs.get(r.name) === 'RUNNING' && trainedEpochs(r) === 1);
      if (run) {
        execFileSync('scancel', [`${first.arrayJob}_${tasks.indexOf(run.name)}`]);
        cancelled = run.name;
      } else await sleep(50);
    }
    const waitForQueue = async () => {
      for (;;) {
        const q = queueState(expanded);
        if (q.runs.size === 0 && q.collectJobs.length === 0) return;
        assert.ok(Date.now() < deadline, 'the jobs did not leave the queue');
        await sleep(500);
      }
    };
    await waitForQueue();
    const cancelledRun = expanded.runs.find((r) => r.name === cancelled);
    assert.ok(cancelledRun);
    assert.equal(runState(expanded, cancelledRun), 'interrupted', `${cancelled} after scancel`);
    const status = runCli(['study', 'status', 'studies/demo.yml', '--output', out], env);
    assert.match(status.stdout, /4 runs: 3 done, 1 interrupted/);

    // Resubmission: only the unfinished run, which continues from its epoch 1.
    const resubmitted = runCli(['study', 'run', 'studies/demo.yml', '--executor', 'slurm', '--output', out, '--wait'], env);
    assert.equal(resubmitted.status, 0, resubmitted.stdout + resubmitted.stderr);
    assert.match(resubmitted.stdout, /4 runs, 3 done, 0 in the queue, 1 to submit/);
    const second = readSubmissions(expanded)[1];
    assert.deepEqual(readFileSync(second.tasks, 'utf8').trim().split('\n'), [cancelled]);
    const log = readFileSync(path.join(out, 'slurm', 'logs', `${second.arrayJob}_0.out`), 'utf8');
    assert.match(log, /resuming at epoch 2/);

    assert.deepEqual(runMetrics(out), runMetrics(local));
    // The collection job (after the second array) wrote the tables; they equal the local study's.
    assert.deepEqual(collectedTables(out), collectedTables(local));
  },
);
