import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BackendName } from '../compute/select.js';
import { createBackend } from '../compute/select.js';
import type { RunConfig } from '../config/schema.js';
import type { Scaler } from '../data/scaler.js';
import { InputError } from '../util/errors.js';
import type { RecurrentModel } from '../models/model.js';
import { bundleWeightsFile, readBundleInfo } from './bundle.js';
import { lastWeightsEpoch, loadWeights, weightsFile } from './checkpoint.js';
import { checkModelSettings } from './fingerprint.js';
import { readRunConfig, readScaler } from './run-dir.js';
import { createModel } from '../models/create.js';

/** A trained run ready for inference (eval mode). */
export interface LoadedRun {
  runDir: string;
  config: RunConfig;
  scaler: Scaler;
  epoch: number;
  model: RecurrentModel;
}

/**
 * Loads config, scaler and the weights of `epoch` (default: the last one written) of a run directory, on the run's
 * backend or `backend`, with the run's num_workers or `threads` threads (0: all cores). `need` states what the caller
 * requires: static inputs, or an EA-LSTM (its input gate).
 */
export function loadRun(
  runDir: string,
  options: { epoch?: number; backend?: BackendName; threads?: number; need?: 'static' | 'ealstm'; analysis?: string } = {},
): LoadedRun {
  if (!existsSync(runDir)) throw new InputError(`run directory ${runDir} does not exist`);
  const config = readRunConfig(runDir);
  const what = options.analysis ?? 'this analysis';
  if (options.need && config.static_attributes.length === 0) {
    throw new InputError(
      `run directory ${runDir}: the ${config.model} model has no static inputs (static_attributes is empty in config.yml), ` +
        `so ${what} is not defined for it`,
    );
  }
  if (options.need === 'ealstm' && config.model !== 'ealstm') {
    throw new InputError(
      `run directory ${runDir}: ${what} needs an EA-LSTM (its input gate is the embedding), but config.yml has model '${config.model}'`,
    );
  }
  checkModelSettings(runDir, config);
  const scaler = readScaler(runDir);
  // A model bundle (bundle.ts) holds the weights of one epoch in model.safetensors.
  const bundle = readBundleInfo(runDir);
  if (bundle && options.epoch !== undefined && options.epoch !== bundle.epoch) {
    throw new InputError(`model bundle ${runDir} holds the weights of epoch ${bundle.epoch} only, not ${options.epoch}`);
  }
  const epoch = bundle ? bundle.epoch : (options.epoch ?? lastWeightsEpoch(runDir));
  if (epoch === 0) throw new InputError(`run directory ${runDir}: no model_epochNNN.safetensors (was it trained?)`);
  const file = bundle ? bundleWeightsFile(runDir) : weightsFile(runDir, epoch);
  if (!existsSync(file)) throw new InputError(`run directory ${runDir}: no weights for epoch ${epoch} (${path.basename(file)})`);
  const model = createModel(config, createBackend(options.backend ?? config.backend, options.threads ?? config.num_workers));
  loadWeights(file, model);
  return { runDir, config, scaler, epoch, model };
}
