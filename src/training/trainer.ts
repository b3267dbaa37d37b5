import { existsSync } from 'node:fs';
import { learningRateAt } from '../config/load.js';
import type { RunConfig } from '../config/schema.js';
import { createBackend } from '../compute/select.js';
import { readBasinList } from '../data/basin-list.js';
import { gatherWindows } from '../data/batches.js';
import { fitScaler, loadPeriod, normalize, targetStd, trainingSamples } from '../data/dataset.js';
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
import { type EpochLog, newRunDir, readRunConfig, readTrainLog, writeRunConfig, writeScaler, writeTrainLog } from '../run/run-dir.js';
import { trainStep } from './step.js';

export interface TrainProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  runningLoss: number;
  samplesPerSecond: number;
}

export interface TrainOptions {
  runDir?: string;
  resume?: boolean;
  /** Compute threads for a resumed run (a new run takes num_workers from its config). */
  threads?: number;
  onStart?: (info: { runDir: string; samples: number; batches: number; startEpoch: number; backend: string }) => void;
  onBatch?: (p: TrainProgress) => void;
  onEpoch?: (log: EpochLog) => void;
}

/**
 * Trains a model as the paper's code did, writing the run directory: config.yml, scaler.json, weights and
 * optimizer state every epoch, train_log.jsonl. With resume, continues from the last complete epoch of runDir;
 * since each epoch's shuffling and dropout streams derive from (seed, epoch), a resumed run ends with the
 * same weights as an uninterrupted one.
 */
export function train(inputConfig: RunConfig | null, options: TrainOptions = {}): { runDir: string; config: RunConfig } {
  let config: RunConfig;
  let runDir: string;
  let startEpoch = 1;
  if (options.resume) {
    if (!options.runDir) throw new InputError('--resume needs --run-dir: the run to continue');
    runDir = options.runDir;
    config = readRunConfig(runDir);
    if (options.threads !== undefined) config = { ...config, num_workers: options.threads };
    startEpoch = lastCompleteEpoch(runDir) + 1;
  } else {
    if (!inputConfig) throw new InputError('train needs a config');
    config = { ...inputConfig, seed: inputConfig.seed ?? Math.floor(Math.random() * 1e6) };
    runDir = options.runDir ?? newRunDir(config);
    if (existsSync(weightsFile(runDir, 1))) {
      throw new InputError(`run directory ${runDir} already holds a trained model; use --resume to continue it or another --run-dir`);
    }
  }
  const seed = config.seed as number;

  const trainBasins = readBasinList(config.train_basin_file);
  const raw = loadPeriod(config, trainBasins, 'train');
  const scaler = fitScaler(config, raw);
  const basins = normalize(raw, scaler);
  const stds = raw.basins.map((b) => targetStd(b, config.seq_length));
  const samples = trainingSamples(basins, config.seq_length, config.dynamic_inputs.length);
  basins.forEach((b, i) => {
    if (Number.isNaN(stds[i])) throw new InputError(`basin ${b.basin}: no valid ${config.target_variables[0]} value in the train period`);
  });
  const sampleCount = samples.length / 2;
  if (sampleCount === 0) throw new InputError('no training samples: every target in the train period is missing');

  if (!options.resume) {
    writeRunConfig(runDir, config);
    writeScaler(runDir, scaler);
    writeTrainLog(runDir, []);
  }

  const backend = createBackend(config.backend, config.num_workers);
  const model = createModel(config, backend);
  const adam = new Adam(model.params.length);
  model.initialize(new Random(seed, Streams.init), config.initial_forget_bias);
  let log: EpochLog[] = [];
  if (startEpoch > 1) {
    loadWeights(weightsFile(runDir, startEpoch - 1), model);
    loadOptimizer(optimizerFile(runDir, startEpoch - 1), adam);
    log = readTrainLog(runDir).filter((e) => e.epoch < startEpoch);
  }

  const batchSize = Math.min(config.batch_size, sampleCount);
  const batches = Math.ceil(sampleCount / batchSize);
  model.ensureCapacity(batchSize, config.seq_length);
  const buffers = { target: backend.alloc(batchSize), basinStd: backend.alloc(batchSize), outputGrad: backend.alloc(batchSize) };
  const order = new Int32Array(sampleCount);
  options.onStart?.({ runDir, samples: sampleCount, batches, startEpoch, backend: backend.name });

  for (let epoch = startEpoch; epoch <= config.epochs; epoch++) {
    const lr = learningRateAt(config.learning_rate, epoch);
    for (let i = 0; i < sampleCount; i++) order[i] = i;
    new Random(seed, Streams.shuffle * 100_000 + epoch).shuffle(order);
    const dropoutRng = new Random(seed, Streams.dropout * 100_000 + epoch);
    const started = performance.now();
    let lossSum = 0;
    for (let batch = 0; batch < batches; batch++) {
      const from = batch * batchSize;
      const n = Math.min(batchSize, sampleCount - from);
      gatherWindows(basins, samples, order, from, n, config.seq_length, model.dynamicInput, model.staticInput);
      for (let i = 0; i < n; i++) {
        const k = order[from + i];
        const b = samples[2 * k];
        buffers.target[i] = basins[b].target[samples[2 * k + 1]];
        buffers.basinStd[i] = stds[b];
      }
      const { loss } = trainStep(model, n, buffers, config.loss, adam, lr, config.clip_gradient_norm, dropoutRng);
      if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} in epoch ${epoch}, batch ${batch + 1}`);
      lossSum += loss;
      options.onBatch?.({
        epoch,
        epochs: config.epochs,
        batch: batch + 1,
        batches,
        runningLoss: lossSum / (batch + 1),
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
    // Weights, then optimizer state, then the log: an epoch counts as done once its optimizer state exists.
    saveWeights(runDir, epoch, model);
    saveOptimizer(runDir, epoch, adam);
    log.push(entry);
    writeTrainLog(runDir, log);
    options.onEpoch?.(entry);
  }
  return { runDir, config };
}
