import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { BACKEND_CHOICES, type BackendName } from '../util/backend-names.js';
import { type DirectoryLock, withRunOutputLock } from '../run/lock.js';
import { InputError } from '../util/errors.js';
import { checkExistingDir, checkWritableDir, checkWritableFile } from '../util/files.js';
import { integerOption, periodOption, positiveInteger } from './options.js';

const BACKENDS: readonly string[] = BACKEND_CHOICES;

function backendOption(value: string): BackendName {
  if (!BACKENDS.includes(value)) throw new InvalidArgumentError(`expected one of ${BACKENDS.join(', ')}`);
  return value as BackendName;
}

/** "0,0.1,0.5" -> numbers. */
function numberList(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const out = parts.map(Number);
  if (parts.length === 0 || out.some((v) => !Number.isFinite(v))) throw new InvalidArgumentError('expected comma-separated numbers, e.g. 0,0.1,0.5');
  return out;
}

/** "3..14", "5,6" or "3..6,10" -> integers. */
function integerList(value: string): number[] {
  const out: number[] = [];
  for (const part of value.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const range = /^(\d+)\s*\.\.\s*(\d+)$/.exec(part);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (b < a) throw new InvalidArgumentError(`empty range '${part}'`);
      for (let k = a; k <= b; k++) out.push(k);
    } else if (/^\d+$/.test(part)) out.push(Number(part));
    else throw new InvalidArgumentError(`expected integers or ranges like 3..14, got '${part}'`);
  }
  if (out.length === 0) throw new InvalidArgumentError('expected at least one integer');
  return [...new Set(out)].sort((a, b) => a - b);
}

function fmt(v: number, digits = 3): string {
  return Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

function seconds(s: number): string {
  return s >= 120 ? `${(s / 60).toFixed(1)} min (${s.toFixed(0)} s)` : `${s.toFixed(1)} s`;
}

/** The progress line used by the long-running analyses (stderr; in place on a terminal, every 10 s in logs). */
function progress(label: string) {
  const stream = process.stderr;
  const tty = Boolean(stream.isTTY);
  const interval = tty ? 250 : 10_000;
  const started = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update(done: number, total: number, unit: string, extra = '') {
      const now = Date.now();
      if (now - last < interval && done < total) return;
      last = now;
      const elapsed = (now - started) / 1000;
      const rate = elapsed > 0 ? done / elapsed : 0;
      const eta = rate > 0 ? Math.round((total - done) / rate) : 0;
      const filled = Math.round((30 * done) / Math.max(total, 1));
      const text = `${label} [${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${done}/${total} ${unit} | ${rate >= 10 ? Math.round(rate) : rate.toFixed(2)} ${unit}/s | eta ${eta} s${extra ? ` | ${extra}` : ''}`;
      stream.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
      drawn = true;
    },
    end() {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}

function printFiles(files: string[]): void {
  for (const f of files) console.log(`  wrote ${f}`);
}

/** Before an analysis of a run starts: the run exists, and its output folder (--output or <run-dir>/analysis) can be written. */
function checkRunAnalysis(runDir: string, output: string | undefined): void {
  checkExistingDir(runDir, '--run-dir');
  checkWritableDir(output ?? path.join(runDir, 'analysis'), output ? '--output' : '--run-dir');
}

/** `ealstm analyze robustness|sensitivity|embedding|attributes`. */
export function registerAnalyzeCommands(program: Command): void {
  const analyze = program
    .command('analyze')
    .description("the paper's analyses of a trained model: robustness to attribute noise, feature ranking, catchment embedding");

  analyze
    .command('robustness')
    .description('NSE with Gaussian noise added to the standardised static attributes (Fig. 6): robustness.csv, robustness_summary.csv, robustness.svg/png')
    .requiredOption('--run-dir <dir>', 'trained run directory (a model with static inputs)')
    .option('--sigmas <list>', 'comma-separated noise standard deviations (default 0,0.1,...,1.0 as the paper)', numberList)
    .option('--draws <n>', 'noise draws per basin and sigma > 0 (sigma 0 has one)', positiveInteger, 50)
    .option('--seed <n>', 'noise seed (default: the run seed)', integerOption)
    .option('--basins <file-or-list>', 'basin file or comma-separated ids (default: the run test basins)')
    .option('--period <period>', 'test or train', periodOption, 'test')
    .option('--epoch <n>', 'epoch whose weights to use (default: the last)', integerOption)
    .option('--backend <name>', `compute backend (${BACKENDS.join(', ')}; default: the run's)`, backendOption)
    .option('--batch-size <n>', 'sequences per model batch (several draws x days of one basin)', positiveInteger, 512)
    .option('--threads <n>', "compute threads (default: the run's num_workers; 0: all cores)", integerOption)
    .option('--output <dir>', 'output folder (default: <run-dir>/analysis)')
    .option('--no-figures', 'skip the figure')
    .action(async (opts) => {
      checkRunAnalysis(opts.runDir, opts.output);
      const { PAPER_SIGMAS, runRobustness } = await import('../analysis/robustness.js');
      const bar = progress('robustness');
      const sigmas: number[] = opts.sigmas ?? PAPER_SIGMAS;
      const result = runRobustness({
        runDir: opts.runDir,
        output: opts.output,
        epoch: opts.epoch,
        backend: opts.backend,
        threads: opts.threads,
        period: opts.period,
        sigmas,
        draws: opts.draws,
        seed: opts.seed,
        basins: opts.basins,
        batchSize: opts.batchSize,
        figures: opts.figures,
        onPlan: (p) => {
          const positive = sigmas.filter((s) => s > 0).length;
          console.log(
            `robustness: ${p.basins} basins x ${p.evaluationsPerBasin} evaluations (${sigmas.includes(0) ? 'sigma 0: 1 draw, ' : ''}` +
              `${positive} sigmas x ${opts.draws} draws) x ${Math.round(p.days)} days = ${p.sequences.toLocaleString('en-US')} sequence evaluations planned`,
          );
        },
        onProgress: (done, total, basins, basinTotal) => bar.update(done, total, 'sequences', `${basins}/${basinTotal} basins`),
        onNote: (note: string) => console.error(`note: ${note}`),
      });
      bar.end();
      console.log(`seed ${result.seed}; wall time ${seconds(result.seconds)} (model evaluations ${seconds(result.evaluationSeconds)}, ${Math.round(result.plan.sequences / result.evaluationSeconds)} sequences/s)`);
      console.log('sigma   values   mean NSE  median   5th pct  1st pct');
      for (const s of result.summary) {
        console.log(`${s.sigma.toFixed(2).padStart(5)} ${String(s.count).padStart(8)} ${fmt(s.mean).padStart(10)} ${fmt(s.median).padStart(7)} ${fmt(s.p5).padStart(9)} ${fmt(s.p1).padStart(8)}`);
      }
      printFiles(result.files);
    });

  analyze
    .command('sensitivity')
    .description('explicit Morris feature ranking from exact input gradients (Table 4, Fig. 7): sensitivity_ranking.csv, sensitivity_per_basin.csv, figures')
    .requiredOption('--run-dir <dir>', 'trained run directory (a model with static inputs)')
    .option('--basins <file-or-list>', 'basin file or comma-separated ids (default: the run test basins)')
    .option('--period <period>', 'test or train', periodOption, 'test')
    .option('--epoch <n>', 'epoch whose weights to use (default: the last)', integerOption)
    .option('--backend <name>', `compute backend (${BACKENDS.join(', ')}; default: the run's)`, backendOption)
    .option('--batch-size <n>', 'days per model batch', positiveInteger, 256)
    .option('--threads <n>', "compute threads (default: the run's num_workers; 0: all cores)", integerOption)
    .option('--output <dir>', 'output folder (default: <run-dir>/analysis)')
    .option('--no-figures', 'skip the figures')
    .action(async (opts) => {
      checkRunAnalysis(opts.runDir, opts.output);
      const { runSensitivity } = await import('../analysis/sensitivity.js');
      const bar = progress('sensitivity');
      const result = runSensitivity({
        runDir: opts.runDir,
        output: opts.output,
        epoch: opts.epoch,
        backend: opts.backend,
        threads: opts.threads,
        period: opts.period,
        basins: opts.basins,
        batchSize: opts.batchSize,
        figures: opts.figures,
        onBasin: (done, total, basin) => bar.update(done, total, 'basins', basin),
        onNote: (note: string) => console.error(`note: ${note}`),
      });
      bar.end();
      const days = result.samples.reduce((a, b) => a + b, 0);
      console.log(`sensitivity: ${result.basins.length} basins, ${days.toLocaleString('en-US')} days, ${result.attributes.length} attributes; wall time ${seconds(result.seconds)}`);
      console.log('rank  attribute                 score');
      for (const r of result.ranking) console.log(`${String(r.rank).padStart(4)}  ${r.attribute.padEnd(24)} ${fmt(r.score)}`);
      for (const n of result.notes) console.log(`note: ${n}`);
      printFiles(result.files);
    });

  analyze
    .command('embedding')
    .description('EA-LSTM input-gate embedding: k-means + silhouette (Fig. 9), variance reduction (Fig. 10), cluster maps (Fig. 11), UMAP (Fig. 12), heatmap (Fig. 8)')
    .option('--run-dir <dir>', 'trained EA-LSTM run directory: writes embedding.csv, attributes.csv (and signatures.csv) to <run-dir>/analysis, then analyses them')
    .option('--embedding <file>', 'embedding CSV (basin, then one column per cell) instead of --run-dir')
    .option('--attributes <file>', 'attributes CSV (basin, then raw attributes; gauge_lat/gauge_lon columns are coordinates), with --embedding')
    .option('--signatures <file>', 'signatures CSV (basin, q_mean, runoff_ratio, ...); default with --run-dir on CAMELS-US: camels_hydro.txt')
    .option('--output <dir>', 'output folder (default: <run-dir>/analysis; required with --embedding)')
    .option('--k <list>', 'cluster numbers to scan, e.g. 3..14 or 3,5,8 (default: 3..14)', integerList)
    .option('--cluster-k <list>', 'cluster numbers for the variance reduction and the maps (default: 5,6)', integerList)
    .option('--seed <n>', 'seed of k-means and UMAP', integerOption, 0)
    .option('--basins <file-or-list>', 'with --run-dir: basin file or comma-separated ids (default: the run test basins)')
    .option('--epoch <n>', 'with --run-dir: epoch whose weights to use (default: the last)', integerOption)
    .option('--no-figures', 'skip the figures')
    .action(async (opts) => {
      const started = performance.now();
      let files: { embedding: string; attributes: string; signatures?: string };
      let output: string;
      const notes: string[] = [];
      if (opts.runDir) {
        if (opts.embedding || opts.attributes) throw new InputError('give either --run-dir or --embedding with --attributes, not both');
      } else {
        if (!opts.embedding || !opts.attributes) throw new InputError('give --run-dir DIR, or --embedding FILE.csv with --attributes FILE.csv and --output DIR');
        if (!opts.output) throw new InputError('--output DIR is required with --embedding');
      }
      if (opts.runDir) checkRunAnalysis(opts.runDir, opts.output);
      else checkWritableDir(opts.output, '--output');
      const { analyzeEmbedding, readEmbeddingInput, writeRunEmbedding } = await import('../analysis/embedding.js');
      const analyse = (lock: DirectoryLock | null) => {
        if (opts.runDir) {
          const written = writeRunEmbedding({
            runDir: opts.runDir,
            output: opts.output,
            epoch: opts.epoch,
            basins: opts.basins,
            signatures: opts.signatures,
            lock: lock ?? undefined,
          });
          files = written.files;
          output = written.outputDir;
          notes.push(...written.notes);
          console.log(`embedding: wrote ${files.embedding}, ${files.attributes}${files.signatures && !opts.signatures ? `, ${files.signatures}` : ''}`);
        } else {
          files = { embedding: opts.embedding, attributes: opts.attributes, signatures: opts.signatures };
          output = opts.output;
        }
        const input = readEmbeddingInput(files);
        const result = analyzeEmbedding(input, {
          output,
          ks: opts.k,
          clusterKs: opts.clusterK,
          seed: opts.seed,
          figures: opts.figures,
          onStep: (m) => console.error(`embedding: ${m}`),
        });
        return { input, result };
      };
      // With --run-dir the embedding is written into the run and analysed from there: the lock is taken once for
      // both steps (and passed down), so no other command replaces the files between them.
      const { input, result } = opts.runDir
        ? withRunOutputLock(opts.runDir, opts.output, 'analyze embedding', analyse, (note) => console.error(`note: ${note}`))
        : analyse(null);
      console.log(`embedding: ${input.basins.length} basins, ${input.cells} cells, ${input.attributes.names.length} attributes; wall time ${seconds((performance.now() - started) / 1000)}`);
      console.log('    k   embedding mean/min    attributes mean/min');
      for (const k of [...new Set(result.silhouette.map((r) => r.k))]) {
        const e = result.silhouette.find((r) => r.k === k && r.features === 'embedding');
        const a = result.silhouette.find((r) => r.k === k && r.features === 'attributes');
        console.log(`${String(k).padStart(5)}   ${fmt(e?.mean ?? Number.NaN)} / ${fmt(e?.min ?? Number.NaN).padStart(6)}      ${fmt(a?.mean ?? Number.NaN)} / ${fmt(a?.min ?? Number.NaN).padStart(6)}`);
      }
      console.log(`best k by mean silhouette: embedding k = ${result.best.embedding.k} (${fmt(result.best.embedding.mean)}), attributes k = ${result.best.attributes.k} (${fmt(result.best.attributes.mean)})`);
      console.log('(the paper: k = 5 for the embedding, k = 6 for the raw attributes)');
      if (result.varianceReduction.length) {
        for (const c of result.clusters) {
          const rows = result.varianceReduction.filter((r) => r.k === c.k && r.features === c.features);
          const finite = rows.filter((r) => Number.isFinite(r.reduction));
          const mean = finite.reduce((a, r) => a + r.reduction, 0) / finite.length;
          console.log(`variance reduction, ${c.features} k = ${c.k}: mean over ${finite.length} signatures ${fmt(mean)}`);
        }
      }
      for (const n of [...notes, ...result.notes]) console.log(`note: ${n}`);
      printFiles(result.files);
    });

  analyze
    .command('silhouette')
    .description('the silhouette scan alone (Fig. 9) on the standardised columns of an attributes CSV and/or an embedding CSV: silhouette.csv, silhouette.svg/png')
    .option('--attributes <file>', 'attributes CSV (basin, then raw attributes; gauge_lat/gauge_lon columns are ignored)')
    .option('--embedding <file>', 'embedding CSV (basin, then one column per cell)')
    .requiredOption('--output <dir>', 'output folder')
    .option('--k <list>', 'cluster numbers to scan, e.g. 3..14 or 3,5,8 (default: 3..14)', integerList)
    .option('--seed <n>', 'k-means seed', integerOption, 0)
    .option('--no-figures', 'skip the figure')
    .action(async (opts) => {
      checkWritableDir(opts.output, '--output');
      const { silhouetteOnly } = await import('../analysis/embedding.js');
      const started = performance.now();
      const r = silhouetteOnly({ attributes: opts.attributes, embedding: opts.embedding, output: opts.output, ks: opts.k, seed: opts.seed, figures: opts.figures });
      console.log('features     k  mean silhouette  min silhouette');
      for (const row of r.rows) console.log(`${row.features.padEnd(11)} ${String(row.k).padStart(2)}  ${fmt(row.mean).padStart(15)}  ${fmt(row.min).padStart(14)}`);
      for (const [features, best] of Object.entries(r.best)) {
        console.log(`best k by mean silhouette, ${features} (${r.basins[features as 'attributes']} basins): k = ${best.k} (${fmt(best.mean)})`);
      }
      console.log(`wall time ${seconds((performance.now() - started) / 1000)}`);
      printFiles(r.files);
    });

  analyze
    .command('attributes')
    .description("write an attributes CSV (basin, gauge_lat, gauge_lon, attributes) from a dataset's tables, for `analyze embedding --attributes`")
    .requiredOption('--data-dir <dir>', 'dataset folder (e.g. the CAMELS-US root holding camels_attributes_v2.0/)')
    .requiredOption('--basins <file-or-list>', 'basin file or comma-separated ids')
    .requiredOption('--output <file>', 'CSV to write')
    .option('--dataset <name>', "the dataset's layout, as a config's dataset: key", 'camels_us')
    .option('--names <list>', "comma-separated attribute names (default: the paper's 27)")
    .option('--names-from <config>', 'take the names from the static_attributes of a YAML config')
    .option('--signatures', "write the paper's 13 hydrological signatures (q_mean, runoff_ratio, ...: columns of camels_hydro.txt) instead of attributes")
    .option('--no-coordinates', 'leave out gauge_lat/gauge_lon')
    .action(async (opts) => {
      const { datasetNames } = await import('../data/datasets.js');
      if (!(datasetNames() as string[]).includes(opts.dataset)) throw new InputError(`--dataset must be one of ${datasetNames().join(', ')}, got '${opts.dataset}'`);
      checkExistingDir(opts.dataDir, '--data-dir');
      checkWritableFile(opts.output, '--output', { createsFolder: true });
      const [{ PAPER_ATTRIBUTES, SIGNATURES }, { writeAttributesCsv }, { readBasinList }, { parse }] = await Promise.all([
        import('../analysis/common.js'),
        import('../analysis/embedding.js'),
        import('../data/basin-list.js'),
        import('yaml'),
      ]);
      const basins: string[] = existsSync(opts.basins) ? readBasinList(opts.basins) : opts.basins.split(',').map((b: string) => b.trim()).filter((b: string) => b);
      let names: string[] = [...PAPER_ATTRIBUTES];
      if (opts.signatures) names = [...SIGNATURES];
      if (opts.names) names = opts.names.split(',').map((n: string) => n.trim()).filter((n: string) => n);
      if (opts.namesFrom) {
        let doc: unknown;
        try {
          doc = parse(readFileSync(opts.namesFrom, 'utf8'));
        } catch (err) {
          throw new InputError(`config ${opts.namesFrom}: cannot read (${(err as Error).message})`);
        }
        const list = (doc as { static_attributes?: unknown } | null)?.static_attributes;
        if (!Array.isArray(list) || list.length === 0) throw new InputError(`config ${opts.namesFrom}: no static_attributes list`);
        names = list.map(String);
      }
      const r = writeAttributesCsv({
        dataset: opts.dataset,
        dataDir: opts.dataDir,
        basins,
        names,
        output: opts.output,
        coordinates: opts.coordinates && !opts.signatures,
      });
      console.log(`wrote ${path.resolve(opts.output)}: ${r.rows} basins x ${r.columns.length} columns (${r.columns.join(', ')})`);
      for (const n of r.notes) console.log(`note: ${n}`);
    });
}
