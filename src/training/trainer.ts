import { existsSync, statSync } from 'node:fs';
import { learningRateAt } from '../config/load.js';
import type { RunConfig } from '../config/schema.js';
import type { ComputeBackend } from '../compute/backend.js';
import { createBackend } from '../compute/select.js';
import { readBasinList } from '../data/basin-list.js';
import { ResidentBatches } from '../data/batches.js';
import { fitScaler, loadPeriod, modelAttributes, targetStd, trainingSamples } from '../data/dataset.js';
import type { NormalizedBasin } from '../data/types.js';
import { normalize } from '../data/normalize.js';
import type { Scaler } from '../data/scaler.js';
import type { ParamSlice } from '../models/layout.js';
import type { RecurrentModel } from '../models/model.js';
import { InputError } from '../util/errors.js';
import { createModel } from '../models/create.js';
import { Random, Streams } from '../util/random.js';
import {
  lastCompleteEpoch,
  loadOptimizer,
  loadWeights,
  optimizerFile,
  saveOptimizer,
  saveWeights,
  weightsFile,
} from '../run/checkpoint.js';
import { Adam } from './optimizer.js';
import { checkFingerprint, checkScalerUnchanged, writeFingerprint } from '../run/fingerprint.js';
import { acquireLock } from '../run/lock.js';
import { pausePoint } from '../run/pause.js';
import {
  createRunDirectory,
  type EpochLog,
  newRunDir,
  readRunConfig,
  readScaler,
  readTrainLog,
  runArtifacts,
  writeRunConfig,
  writeScaler,
  writeTrainLog,
} from '../run/run-dir.js';
import { baseRun, resolveBaseEpoch } from './base-run.js';
import { LOSS_SUM, queueTrainStep } from './step.js';

export interface TrainProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /**
   * Mean loss of the epoch's batches up to the last read: the loss is read back from the backend after the first
   * batch, every log_interval batches and at the end of an epoch (on a device backend each read waits for the queued
   * work, so reading every batch would stall the device once per step); the divergence check happens at these reads.
   */
  runningLoss: number;
  samplesPerSecond: number;
}

export interface TrainOptions {
  runDir?: string;
  resume?: boolean;
  /** Compute threads for a resumed run (a new run takes num_workers from its config). */
  threads?: number;
  /** `compute` is the backend itself (tests count a device backend's read-backs through it). */
  onStart?: (info: { runDir: string; samples: number; batches: number; startEpoch: number; backend: string; compute: ComputeBackend }) => void;
  onBatch?: (p: TrainProgress) => void;
  onEpoch?: (log: EpochLog) => void;
  /** Things the user should know that are not errors (a stale lock taken over, a run without fingerprint). */
  onNote?: (note: string) => void;
}

export interface TrainResult {
  runDir: string;
  config: RunConfig;
  /** A resumed run that had already trained all its epochs: nothing was done. */
  alreadyComplete: boolean;
}

/** Everything training needs, loaded and checked before anything is written. */
interface TrainingSetup {
  scaler: Scaler;
  basins: NormalizedBasin[];
  samples: Int32Array;
  model: RecurrentModel;
  /** The training data resident on the model's backend, and the batches cut from it there. */
  data: ResidentBatches;
  batchSize: number;
  /** Fine-tuning: the weights the first epoch starts from, and the parameters kept fixed. */
  initialWeights: string | null;
  frozen: ParamSlice[];
}

/**
 * Trains a model as the paper's code did, writing the run directory: config.yml, scaler.json, run.json (the
 * fingerprint), weights and optimizer state every epoch, train_log.jsonl. With resume, continues from the last
 * complete epoch of runDir; since each epoch's shuffling and dropout streams derive from (seed, epoch), a resumed
 * run ends with the same weights as an uninterrupted one.
 *
 * Order, so that a failure never leaves a half-made run: the whole configuration and the data are loaded and
 * checked first; only then is the directory created, locked (one writer at a time) and written.
 */
export function train(inputConfig: RunConfig | null, options: TrainOptions = {}): TrainResult {
  let config: RunConfig;
  let runDir: string;
  if (options.resume) {
    if (!options.runDir) throw new InputError('--resume needs --run-dir: the run to continue');
    runDir = options.runDir;
    config = readRunConfig(runDir);
    const note = checkFingerprint(runDir, config);
    if (note) options.onNote?.(note);
    if (options.threads !== undefined) config = { ...config, num_workers: options.threads };
    if (lastCompleteEpoch(runDir) >= config.epochs) return { runDir, config, alreadyComplete: true };
  } else {
    if (!inputConfig) throw new InputError('train needs a config');
    config = resolveBaseEpoch({ ...inputConfig, seed: inputConfig.seed ?? Math.floor(Math.random() * 1e6) });
    runDir = options.runDir ?? newRunDir(config);
    refuseExistingRun(runDir);
  }

  const setup = prepareTraining(config, options.resume ? runDir : undefined);
  if (options.resume) checkScalerUnchanged(runDir, readScaler(runDir), setup.scaler);

  createRunDirectory(runDir);
  const lock = acquireLock(runDir, 'train', options.onNote);
  try {
    pausePoint('train:locked');
    if (options.resume) {
      // Checked again under the lock: another process may have continued the run meanwhile.
      if (lastCompleteEpoch(runDir) >= config.epochs) return { runDir, config, alreadyComplete: true };
    } else {
      refuseExistingRun(runDir);
      writeRunConfig(runDir, config);
      writeScaler(runDir, setup.scaler);
      writeTrainLog(runDir, []);
      writeFingerprint(runDir, config); // last: a run directory with run.json was created completely
    }
    trainEpochs(runDir, config, setup, lastCompleteEpoch(runDir) + 1, options);
  } finally {
    lock.release();
  }
  return { runDir, config, alreadyComplete: false };
}

/** Refuses a directory that holds anything a run writes: it belongs to another run, or is the user's. */
function refuseExistingRun(runDir: string): void {
  if (existsSync(runDir) && !statSync(runDir).isDirectory()) throw new InputError(`--run-dir ${runDir} is a file, not a directory`);
  const found = runArtifacts(runDir);
  if (found.length > 0) {
    throw new InputError(
      `run directory ${runDir} already holds ${found.slice(0, 4).join(', ')}${found.length > 4 ? ', ...' : ''}; ` +
        'use --resume to continue that run, or choose a new --run-dir',
    );
  }
}

/**
 * Loads the training data, fits the scaler, and builds the model and its buffers; every configuration or data
 * error surfaces here, before the run directory is touched.
 */
function prepareTraining(config: RunConfig, resumedRunDir?: string): TrainingSetup {
  for (let epoch = 1; epoch <= config.epochs; epoch++) learningRateAt(config.learning_rate, epoch);
  const trainBasins = readBasinList(config.train_basin_file);
  // Evaluated later, but checked now: a missing or empty list, or a test basin without all its static
  // attributes, is an error before anything is written rather than after the training.
  modelAttributes(config, readBasinList(config.test_basin_file));
  const raw = loadPeriod(config, trainBasins, 'train');
  const base = baseRun(config, resumedRunDir);
  const scaler = base?.scaler ?? fitScaler(config, raw);
  const basins = normalize(raw, scaler);
  for (const b of basins) {
    b.statics.forEach((v, j) => {
      if (!Number.isFinite(v)) {
        throw new InputError(`basin ${b.basin}: static attribute '${config.static_attributes[j]}' is missing or not a finite number`);
      }
    });
  }
  const stds = raw.basins.map((b) => targetStd(b, config.seq_length));
  basins.forEach((b, i) => {
    if (Number.isNaN(stds[i])) throw new InputError(`basin ${b.basin}: no valid ${config.target_variables[0]} value in the train period`);
  });
  const samples = trainingSamples(basins, config.seq_length, config.dynamic_inputs.length);
  const sampleCount = samples.length / 2;
  if (sampleCount === 0) throw new InputError('no training samples: every target in the train period is missing');
  const batchSize = Math.min(config.batch_size, sampleCount);
  const backend = createBackend(config.backend, config.num_workers);
  let model: RecurrentModel;
  try {
    model = createModel(config, backend);
    model.ensureCapacity(batchSize, config.seq_length);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new InputError(
      `the model does not fit in memory (hidden_size ${config.hidden_size}, batch_size ${batchSize}, seq_length ${config.seq_length}): ${err.message}`,
    );
  }
  // The training data on the backend once; a batch is gathered there from its row numbers.
  let data: ResidentBatches;
  try {
    data = new ResidentBatches(backend, basins, stds, samples, config.seq_length, batchSize);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new InputError(`the training data (${trainBasins.length} basins) do not fit on the ${backend.name} backend: ${err.message}`);
  }
  return { scaler, basins, samples, model, data, batchSize, initialWeights: base?.weights ?? null, frozen: base?.frozen ?? [] };
}

/** Trains epochs startEpoch..config.epochs, saving a checkpoint and the log after each. */
function trainEpochs(runDir: string, config: RunConfig, setup: TrainingSetup, startEpoch: number, options: TrainOptions): void {
  const { samples, model, data, batchSize } = setup;
  const seed = config.seed as number;
  const sampleCount = samples.length / 2;
  const backend = model.backend;
  const adam = new Adam(model.params.length);
  model.initialize(new Random(seed, Streams.init), config.initial_forget_bias);
  if (setup.initialWeights) loadWeights(setup.initialWeights, model);
  let log: EpochLog[] = [];
  if (startEpoch > 1) {
    loadWeights(weightsFile(runDir, startEpoch - 1), model);
    loadOptimizer(optimizerFile(runDir, startEpoch - 1), adam);
    backend.hostWrote(adam.m);
    backend.hostWrote(adam.v);
    log = readTrainLog(runDir).filter((e) => e.epoch < startEpoch);
  }
  const batches = Math.ceil(sampleCount / batchSize);
  const buffers = {
    target: backend.alloc(batchSize),
    basinStd: backend.alloc(batchSize),
    outputGrad: backend.alloc(batchSize),
    scalars: backend.allocScalars(2),
  };
  const order = new Int32Array(sampleCount);
  options.onStart?.({ runDir, samples: sampleCount, batches, startEpoch, backend: backend.name, compute: backend });

  for (let epoch = startEpoch; epoch <= config.epochs; epoch++) {
    const lr = learningRateAt(config.learning_rate, epoch);
    for (let i = 0; i < sampleCount; i++) order[i] = i;
    new Random(seed, Streams.shuffle * 100_000 + epoch).shuffle(order);
    const dropoutRng = new Random(seed, Streams.dropout * 100_000 + epoch);
    const started = performance.now();
    // The epoch's loss sum stays on the backend; lossSum is its value at the last read, after readBatches batches.
    backend.fill(buffers.scalars, LOSS_SUM, 1, 0);
    let lossSum = 0;
    let readBatches = 0;
    for (let batch = 0; batch < batches; batch++) {
      const from = batch * batchSize;
      const n = Math.min(batchSize, sampleCount - from);
      data.gather(order, from, n, model.dynamicInput, model.staticInput, buffers.target, buffers.basinStd);
      queueTrainStep(model, n, buffers, config.loss, adam, lr, config.clip_gradient_norm, dropoutRng, setup.frozen);
      if (batch === 0 || (batch + 1) % config.log_interval === 0 || batch + 1 === batches) {
        backend.toHost(buffers.scalars);
        lossSum = buffers.scalars[LOSS_SUM];
        readBatches = batch + 1;
        if (!Number.isFinite(lossSum)) {
          // The data were checked (no missing inputs or attributes in samples): the settings made training diverge.
          throw new InputError(
            `loss became ${lossSum} in epoch ${epoch}, batch ${batch + 1}: training diverged; lower learning_rate or set clip_gradient_norm ` +
              `(the run directory keeps the epochs before; the loss is checked every ${config.log_interval} batches (log_interval), so it may have diverged a few batches earlier)`,
          );
        }
      }
      options.onBatch?.({
        epoch,
        epochs: config.epochs,
        batch: batch + 1,
        batches,
        runningLoss: lossSum / readBatches,
        samplesPerSecond: (from + n) / ((performance.now() - started) / 1000),
      });
    }
    const entry: EpochLog = {
      epoch,
      loss: lossSum / batches,
      lr,
      seconds: (performance.now() - started) / 1000,
      samples: sampleCount,
    };
    // Weights, then the log, then the optimizer state: an epoch counts as done once its optimizer state exists,
    // and by then its log entry is written too (a resume drops entries of epochs that were not done).
    backend.toHost(model.params);
    saveWeights(runDir, epoch, model);
    log.push(entry);
    writeTrainLog(runDir, log);
    backend.toHost(adam.m);
    backend.toHost(adam.v);
    saveOptimizer(runDir, epoch, adam);
    options.onEpoch?.(entry);
  }
}
