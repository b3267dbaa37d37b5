import { existsSync } from 'node:fs';
import type { RunConfig } from '../config/schema.js';
import { timeModel } from '../bench/model-timing.js';
import { createBackend } from '../compute/select.js';
import { readBasinList } from '../data/basin-list.js';
import { parseDdMmYyyy } from '../util/dates.js';
import type { ExpandedStudy, StudyRun } from './expand.js';

export interface RunWork {
  run: StudyRun;
  trainBasins: number;
  /** Training samples at most: every day of the train period (days with a missing target are not subtracted). */
  samples: number;
  stepsPerEpoch: number;
  epochs: number;
  /** Estimated seconds of training on this machine (NaN when not measured). */
  seconds: number;
}

export interface StudyWork {
  runs: RunWork[];
  totalSampleEpochs: number;
  totalSteps: number;
  totalSeconds: number;
  /** How the step time was measured, for the plan's printout. */
  timing: string;
}

/** Stacked layers, once the config has them (Appendix B's num_layers); 1 otherwise. */
function layersOf(config: RunConfig): number {
  const layers = (config as Record<string, unknown>).num_layers;
  return typeof layers === 'number' ? layers : 1;
}

/**
 * Multiply-adds of one step per sample and time step, up to a constant: the recurrent and input matrices
 * (4 gates for the LSTM, whose statics are inputs; 3 for the EA-LSTM, whose input gate comes from the statics
 * once per sequence) and, for stacked layers, 4 gates over [hidden, hidden] inputs per extra layer.
 */
function stepCost(config: RunConfig): number {
  const hidden = config.hidden_size;
  const d = config.dynamic_inputs.length;
  const s = config.static_attributes.length;
  const first = config.model === 'ealstm' ? 3 * hidden * (hidden + d) : 4 * hidden * (hidden + d + s);
  return first + (layersOf(config) - 1) * 4 * hidden * 2 * hidden;
}

/** The sequence length at which a step is timed; time grows linearly with it, so it is scaled to each run's. */
const TIMED_SEQUENCE = 30;

/**
 * Samples x epochs of every run and a time estimate: one training step is timed on this machine for every
 * distinct (model, inputs, hidden size, batch, backend) at a sequence of 30 steps, and scaled linearly to each
 * run's sequence length (and by the multiply-adds of stacked layers). Basin lists are needed, the data are not.
 */
export function estimateWork(expanded: ExpandedStudy, options: { measure?: boolean; threads?: number } = {}): StudyWork {
  const basinCounts = new Map<string, number>();
  const countBasins = (file: string): number => {
    let n = basinCounts.get(file);
    if (n === undefined) {
      n = readBasinList(file).length;
      basinCounts.set(file, n);
    }
    return n;
  };
  const foldSizes = expanded.folds?.map((f) => f.length);
  const total = foldSizes?.reduce((a, b) => a + b, 0) ?? 0;
  const threads = options.threads ?? expanded.study.threads;

  const measured = new Map<string, number>();
  const timings: string[] = [];
  const backendNames: string[] = [];
  const stepSeconds = (config: RunConfig, batch: number): number => {
    if (options.measure === false) return Number.NaN;
    const d = config.dynamic_inputs.length;
    const s = config.model === 'ealstm' || config.static_attributes.length > 0 ? Math.max(config.static_attributes.length, 1) : 0;
    const key = `${config.model}|${d}|${s}|${config.hidden_size}|${batch}|${config.backend}`;
    let ms = measured.get(key);
    if (ms === undefined) {
      const backend = createBackend(config.backend, threads);
      ms = timeModel(backend, config.model, { batch, seqLength: TIMED_SEQUENCE, hidden: config.hidden_size, dynamicInputs: d, staticInputs: s }, 1).trainMs;
      measured.set(key, ms);
      if (!backendNames.includes(backend.name)) backendNames.push(backend.name);
      timings.push(`${config.model} hidden ${config.hidden_size} batch ${batch}: ${ms.toFixed(1)} ms`);
    }
    const layers = stepCost(config) / stepCost({ ...config, num_layers: 1 } as RunConfig);
    return (ms * layers * config.seq_length) / TIMED_SEQUENCE / 1000;
  };

  const runs = expanded.runs.map((run): RunWork => {
    const c = run.config;
    const trainBasins = run.fold !== undefined && foldSizes ? total - foldSizes[run.fold - 1] : countBasins(c.train_basin_file);
    const days = parseDdMmYyyy(c.train_end_date, 'train_end_date') - parseDdMmYyyy(c.train_start_date, 'train_start_date') + 1;
    // The input sequences reach back before the period's first day, so every day of the period is a sample.
    const samples = trainBasins * days;
    const batch = Math.min(c.batch_size, Math.max(samples, 1));
    const stepsPerEpoch = Math.ceil(samples / batch);
    return { run, trainBasins, samples, stepsPerEpoch, epochs: c.epochs, seconds: stepsPerEpoch * c.epochs * stepSeconds(c, batch) };
  });
  return {
    runs,
    totalSampleEpochs: runs.reduce((a, r) => a + r.samples * r.epochs, 0),
    totalSteps: runs.reduce((a, r) => a + r.stepsPerEpoch * r.epochs, 0),
    totalSeconds: runs.reduce((a, r) => a + r.seconds, 0),
    timing: timings.length > 0 ? `one step at sequence ${TIMED_SEQUENCE} (${backendNames.join(', ')}, ${threads} thread(s)): ${timings.join('; ')}` : '',
  };
}

/** What `study run` will need that is not there (the data folder), for the plan to say. */
export function missingInputs(expanded: ExpandedStudy): string[] {
  const dirs = new Set(expanded.runs.map((r) => r.config.data_dir));
  return [...dirs].filter((d) => !existsSync(d)).map((d) => `data folder ${d} does not exist: \`study plan\` needs only the basin lists, \`study run\` needs the data`);
}

/** 1 h 05 min, 3 min 20 s, 12 s: for estimates and ETAs. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  if (s < 86400 * 2) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  return `${(s / 86400).toFixed(1)} days`;
}
