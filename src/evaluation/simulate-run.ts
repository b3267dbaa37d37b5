/**
 * `ealstm predict`: simulates discharge with one or several trained runs for any basins that have forcing and
 * attributes, on any period inside their forcing, with or without observations (simulate.ts does the model
 * runs). Writes, into the output folder (built aside and swapped in whole, under its parent's lock, never
 * replacing a folder this command did not write):
 * - <basin>.csv: date,qsim (ensemble: qsim is the members' day-by-day mean, as `ensemble`, then qsim_min,
 *   qsim_max, qsim_std: the members' spread), qobs when the basin has observations in the period, and note
 *   ('warm-up' or 'missing forcing' on the days without prediction, whose qsim is empty);
 * - summary.csv: per basin, the days, predicted days, warm-up days, days with missing forcing, observed days, and
 *   NSE and KGE of qsim on the predicted days with an observation (empty without observations or where undefined);
 * - predict.json: what was run (runs, epochs, period, data, mode) and the files written (the folder's marker).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunConfig } from '../config/schema.js';
import { loadDays } from '../data/dataset.js';
import { loadRun, type LoadedRun } from '../run/load-run.js';
import { withLock } from '../run/lock.js';
import { replaceResultsFolder } from '../run/results-folder.js';
import { csvField, csvNumber } from '../util/csv.js';
import { isoDate } from '../util/dates.js';
import { InputError } from '../util/errors.js';
import { removeEmptyFolders, writeFileAtomic } from '../util/files.js';
import { averageMembers } from './ensemble.js';
import type { Predictions } from './results-files.js';
import { type BasinSimulation, type BasinState, DayStatus, simulateContinuous, simulateWindows } from './simulate.js';
import { asWritten, type BasinCounts, simulationCsv } from './simulation-csv.js';
import { checkStateOut, readStateFile, STATE_FORMAT, type SimulationStateFile, writeStateFile } from './simulate-state.js';

export interface PredictOptions {
  runDirs: string[];
  basins: string[];
  /** First and last day of the period (day numbers). */
  start: number;
  end: number;
  /** Data to simulate on instead of the runs' (config data_dir / dataset). */
  dataDir?: string;
  dataset?: string;
  /** Epoch of every run (default: each run's last). */
  epoch?: number;
  output: string;
  /** Carry the LSTM state through the period (implied by stateIn / stateOut). */
  continuous?: boolean;
  /** A state file of a previous continuous simulation that ended the day before `start`. */
  stateIn?: string;
  /** Where to write the state on the last day, to continue later. */
  stateOut?: string;
  onNote?: (note: string) => void;
}

export interface PredictSummary {
  outputDir: string;
  members: { run: string; epoch: number }[];
  mode: 'windows' | 'continuous';
  basins: BasinCounts[];
  notes: string[];
}

/** The marker and record of a predict output folder. */
export const PREDICT_FILE = 'predict.json';
const PREDICT_FORMAT = 'ealstm-predict';
const SUMMARY_FILE = 'summary.csv';

interface PredictRecord {
  format: typeof PREDICT_FORMAT;
  start: string;
  end: string;
  mode: 'windows' | 'continuous';
  members: { run: string; epoch: number }[];
  data_dir: string;
  dataset: string;
  state_in: string | null;
  basins: string[];
  files: string[];
  written: string;
}

function readRecord(folder: string): PredictRecord | null {
  try {
    const record = JSON.parse(readFileSync(path.join(folder, PREDICT_FILE), 'utf8')) as PredictRecord;
    return record.format === PREDICT_FORMAT ? record : null;
  } catch {
    return null;
  }
}

/** The run's config with the data to simulate on. */
function withData(config: RunConfig, options: PredictOptions): RunConfig {
  return { ...config, data_dir: options.dataDir ?? config.data_dir, dataset: options.dataset ?? config.dataset };
}

function checkOptions(options: PredictOptions): void {
  if (options.runDirs.length === 0) throw new InputError('predict needs at least one --run-dir');
  const resolved = options.runDirs.map((d) => path.resolve(d));
  resolved.forEach((d, i) => {
    if (resolved.indexOf(d) !== i) throw new InputError(`run directory ${options.runDirs[i]} is given twice`);
  });
  const out = path.resolve(options.output);
  if (resolved.some((d) => out === d || d.startsWith(`${out}${path.sep}`))) {
    throw new InputError(`--output ${options.output} is, or holds, one of the run directories; choose a new folder`);
  }
  if (existsSync(path.join(out, 'config.yml'))) throw new InputError(`--output ${options.output} is a run directory (it has config.yml); choose a new folder`);
  if (options.end < options.start) throw new InputError(`--end ${isoDate(options.end)} is before --start ${isoDate(options.start)}`);
  if (options.basins.length === 0) throw new InputError('no basins to predict (--basins)');
  options.basins.forEach((b, i) => {
    if (options.basins.indexOf(b) !== i) throw new InputError(`--basins: basin ${b} is given twice`);
  });
  if (options.stateOut) checkStateOut(options.stateOut);
}

/** The simulations of one run. */
function simulateMember(run: LoadedRun, options: PredictOptions, initial: Map<string, BasinState> | null) {
  const config = withData(run.config, options);
  const label = `the period ${isoDate(options.start)}..${isoDate(options.end)} (--start/--end)`;
  const data = loadDays(config, options.basins, { start: options.start, end: options.end, label }, { warmupBeforeData: true, targetOptional: true });
  if (options.continuous || options.stateIn || options.stateOut) {
    return simulateContinuous(run.model, run.scaler, data, config.seq_length, initial);
  }
  // The batch size evaluate uses, so that the numbers are the same.
  return { simulations: simulateWindows(run.model, run.scaler, data, config.seq_length, Math.max(config.batch_size, 256)), states: null };
}

/** One basin's CSV from its members' simulations (one member: as is; several: mean and spread). */
function basinCsv(members: BasinSimulation[]): { text: string; counts: BasinCounts } {
  const first = members[0];
  const n = first.dates.length;
  const status = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const all = members.map((m) => m.status[i]);
    status[i] = all.includes(DayStatus.MISSING_FORCING) ? DayStatus.MISSING_FORCING : all.includes(DayStatus.WARM_UP) ? DayStatus.WARM_UP : DayStatus.PREDICTED;
  }
  const ensemble = members.length > 1;
  let qsim = first.qsim;
  const spreadColumns: Float64Array[] = [];
  if (ensemble) {
    const asPredictions = (m: BasinSimulation, k: number): Predictions => ({
      file: `run ${k + 1}`,
      basin: m.basin,
      dates: m.dates,
      qobs: m.qobs,
      qsim: m.qsim.map(asWritten),
    });
    const { mean, spread } = averageMembers(members.map(asPredictions));
    qsim = mean.qsim;
    const min = new Float64Array(n);
    const max = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const values = members.map((m) => asWritten(m.qsim[i]));
      min[i] = values.some(Number.isNaN) ? Number.NaN : Math.min(...values);
      max[i] = values.some(Number.isNaN) ? Number.NaN : Math.max(...values);
    }
    spreadColumns.push(min, max, spread);
  }
  return simulationCsv(first, status, qsim, ensemble ? spreadColumns : null);
}

function summaryCsv(counts: BasinCounts[]): string {
  const lines = ['basin,days,predicted,warm_up,missing_forcing,observed,NSE,KGE'];
  for (const c of counts) {
    lines.push([c.basin, c.days, c.predicted, c.warmUp, c.missingForcing, c.observed, csvNumber(c.nse), csvNumber(c.kge)].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Runs `ealstm predict` (see the module comment). */
export function runPredict(options: PredictOptions): PredictSummary {
  checkOptions(options);
  const continuous = Boolean(options.continuous || options.stateIn || options.stateOut);
  const runs = options.runDirs.map((dir) => loadRun(dir, { epoch: options.epoch }));
  const memberInfo = runs.map((r) => ({ run: path.resolve(r.runDir), epoch: r.epoch, hidden: r.model.spec.hidden, layers: r.model.spec.layers ?? 1 }));
  const stateIn = options.stateIn ? readStateFile(options.stateIn, { start: options.start, members: memberInfo, basins: options.basins }) : null;

  const results = runs.map((run, k) => {
    const initial = stateIn ? new Map(Object.entries(stateIn.members[k].basins)) : null;
    return simulateMember(run, options, initial);
  });

  const out = path.resolve(options.output);
  const parent = path.dirname(out);
  const counts: BasinCounts[] = [];
  const files = [...options.basins.map((b) => `${b}.csv`), SUMMARY_FILE, PREDICT_FILE];
  const first = runs[0].config;
  const record: PredictRecord = {
    format: PREDICT_FORMAT,
    start: isoDate(options.start),
    end: isoDate(options.end),
    mode: continuous ? 'continuous' : 'windows',
    members: memberInfo.map(({ run, epoch }) => ({ run, epoch })),
    data_dir: path.resolve(options.dataDir ?? first.data_dir),
    dataset: options.dataset ?? first.dataset,
    state_in: options.stateIn ? path.resolve(options.stateIn) : null,
    basins: [...options.basins],
    files,
    written: new Date().toISOString(),
  };
  const write = (staging: string) => {
    options.basins.forEach((basin, b) => {
      const { text, counts: c } = basinCsv(results.map((r) => r.simulations[b]));
      writeFileAtomic(path.join(staging, `${basin}.csv`), text);
      counts.push(c);
    });
    writeFileAtomic(path.join(staging, SUMMARY_FILE), summaryCsv(counts));
    writeFileAtomic(path.join(staging, PREDICT_FILE), `${JSON.stringify(record, null, 2)}\n`);
  };
  const publish = () =>
    replaceResultsFolder({
      target: out,
      // The files of the previous output (other basins, maybe) are this command's too: they are not kept aside.
      ownEntries: [...new Set([...files, ...((existsSync(out) ? readRecord(out) : null)?.files ?? [])])],
      isOwnOutput: (folder) => readRecord(folder) !== null,
      notOwnReason: `was not written by \`ealstm predict\` (it has no ${PREDICT_FILE})`,
      describeOld: (folder) => {
        const old = readRecord(folder);
        return old ? `${old.start}..${old.end}, written ${old.written}` : null;
      },
      write,
    });
  // The lock and the staging folder live in the output's parent; parents this call makes go again if it fails.
  const firstCreated = mkdirSync(parent, { recursive: true });
  let notes: string[];
  try {
    notes = withLock(parent, 'predict', publish, options.onNote).notes;
  } catch (err) {
    if (firstCreated) removeEmptyFolders(parent, firstCreated);
    throw err;
  }
  if (options.stateOut) {
    const state: SimulationStateFile = {
      format: STATE_FORMAT,
      end: isoDate(options.end),
      members: memberInfo.map((m, k) => ({ ...m, basins: Object.fromEntries(results[k].states as Map<string, BasinState>) })),
    };
    writeStateFile(options.stateOut, state);
  }
  return { outputDir: out, members: record.members, mode: record.mode, basins: counts, notes };
}
