import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RunConfig } from '../config/schema.js';
import type { Scaler } from '../data/scaler.js';
import { parameterLayout, type ParamSlice } from '../models/layout.js';
import { frozenParameters } from '../models/modules.js';
import { lastCompleteEpoch, lastWeightsEpoch, weightsFile } from '../run/checkpoint.js';
import { readRunConfig, readScaler } from '../run/run-dir.js';
import { InputError } from '../util/errors.js';

/** The keys that shape a model: a fine-tuned run must keep its base run's values. */
const MODEL_SHAPE_KEYS = ['model', 'dynamic_inputs', 'static_attributes', 'target_variables', 'hidden_size', 'num_layers'] as const;

/** What fine-tuning takes from the base run. */
export interface BaseRun {
  runDir: string;
  epoch: number;
  /** The base run's weights file of that epoch: the first epoch starts from it (null when resuming). */
  weights: string | null;
  /** The base run's scaler (null when refit_scaler is set: this run fits its own). */
  scaler: Scaler | null;
  /** The parameters finetune_modules leaves out, none when it is empty. */
  frozen: ParamSlice[];
}

/**
 * A new fine-tuning run's config with base_epoch fixed to a number (the base run's last epoch when not given), so
 * the run directory records exactly which weights it started from.
 */
export function resolveBaseEpoch(config: RunConfig): RunConfig {
  if (!config.base_run_dir || config.base_epoch !== undefined) return config;
  const epoch = lastWeightsEpoch(config.base_run_dir);
  if (epoch === 0) throw new InputError(`base run ${config.base_run_dir}: no model_epochNNN.safetensors (was it trained?)`);
  return { ...config, base_epoch: epoch };
}

/**
 * Checks a fine-tuning config against its base run (key base_run_dir) and returns what training takes from it; null
 * for an ordinary run. Errors name the base run and the offending key. A resumed fine-tuning run (`resumedRunDir`)
 * with a complete epoch continues from its own checkpoint and scaler, so it no longer needs the base run (which may
 * have moved).
 */
export function baseRun(config: RunConfig, resumedRunDir?: string): BaseRun | null {
  const runDir = config.base_run_dir;
  if (!runDir) {
    if (config.finetune_modules.length > 0 || config.base_epoch !== undefined) {
      throw new InputError("finetune_modules and base_epoch need base_run_dir (the run to fine-tune; `ealstm finetune --from` sets it)");
    }
    return null;
  }
  // Once an epoch is complete the run continues from its own checkpoint; before that it starts from the base again.
  if (resumedRunDir && lastCompleteEpoch(resumedRunDir) > 0) {
    const scaler = config.refit_scaler ? null : readScaler(resumedRunDir);
    return { runDir, epoch: config.base_epoch ?? 0, weights: null, scaler, frozen: frozenModules(config) };
  }
  if (!existsSync(runDir)) throw new InputError(`base_run_dir ${runDir} does not exist`);
  const base = readRunConfig(runDir);
  const changed = MODEL_SHAPE_KEYS.filter((key) => JSON.stringify(base[key]) !== JSON.stringify(config[key]));
  if (changed.length > 0) {
    const list = changed.map((key) => `${key} is ${JSON.stringify(config[key])} here but ${JSON.stringify(base[key])} in the base run`);
    throw new InputError(`base run ${runDir}: a fine-tuned model keeps the base model's shape and inputs: ${list.join('; ')}`);
  }
  const epoch = config.base_epoch ?? lastWeightsEpoch(runDir);
  const weights = weightsFile(runDir, epoch);
  if (!existsSync(weights)) throw new InputError(`base run ${runDir}: no weights for epoch ${epoch} (${path.basename(weights)})`);
  return { runDir, epoch, weights, scaler: config.refit_scaler ? null : readScaler(runDir), frozen: frozenModules(config) };
}

/** The parameters finetune_modules leaves out; an unknown module name is an error listing the model's modules. */
function frozenModules(config: RunConfig): ParamSlice[] {
  const layout = parameterLayout({
    kind: config.model,
    dynamicInputs: config.dynamic_inputs.length,
    staticInputs: config.static_attributes.length,
    hidden: config.hidden_size,
    layers: config.num_layers,
  });
  const { frozen, unknown, known } = frozenParameters(config.model, layout, config.finetune_modules);
  if (unknown.length > 0) {
    throw new InputError(`finetune_modules: unknown module ${unknown.map((n) => `'${n}'`).join(', ')}; the ${config.model} model has ${known.join(', ')}`);
  }
  return frozen;
}
