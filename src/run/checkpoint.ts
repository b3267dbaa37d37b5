import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import type { RecurrentModel } from '../models/model.js';
import { applyWeights } from '../models/weights.js';
import type { Tensor } from '../util/safetensors.js';
import { readSafetensors, writeSafetensors } from '../util/safetensors-file.js';

const pad = (epoch: number) => String(epoch).padStart(3, '0');
export const weightsFile = (runDir: string, epoch: number) => path.join(runDir, `model_epoch${pad(epoch)}.safetensors`);
export const optimizerFile = (runDir: string, epoch: number) => path.join(runDir, `optimizer_state_epoch${pad(epoch)}.safetensors`);

export function saveWeights(runDir: string, epoch: number, model: RecurrentModel): void {
  const tensors: Record<string, Tensor> = {};
  for (const p of model.layout) tensors[p.name] = { shape: p.shape, data: model.params.slice(p.offset, p.offset + p.size) };
  writeSafetensors(weightsFile(runDir, epoch), tensors, {
    format: 'ealstm',
    model: model.spec.kind,
    epoch: String(epoch),
    gate_order: model.spec.kind === 'ealstm' ? 'f,o,g (input gate from statics)' : 'f,o,g,i',
  });
}

export function loadWeights(file: string, model: RecurrentModel): void {
  if (!existsSync(file)) throw new InputError(`weights file ${file} does not exist`);
  applyWeights(model, readSafetensors(file).tensors, file);
}

/** What a checkpoint keeps of the optimizer: Adam's moment estimates and step count. */
export interface OptimizerState {
  readonly m: Float64Array;
  readonly v: Float64Array;
  step: number;
}

export function saveOptimizer(runDir: string, epoch: number, adam: OptimizerState): void {
  writeSafetensors(
    optimizerFile(runDir, epoch),
    { exp_avg: { shape: [adam.m.length], data: adam.m }, exp_avg_sq: { shape: [adam.v.length], data: adam.v } },
    { optimizer: 'Adam', step: String(adam.step), epoch: String(epoch) },
  );
}

export function loadOptimizer(file: string, adam: OptimizerState): void {
  const { tensors, metadata } = readSafetensors(file);
  const m = tensors.exp_avg;
  const v = tensors.exp_avg_sq;
  if (!m || !v || m.data.length !== adam.m.length || v.data.length !== adam.v.length) {
    throw new InputError(`${file}: optimizer state does not match the model's parameter count`);
  }
  adam.m.set(m.data);
  adam.v.set(v.data);
  adam.step = Number(metadata.step);
}

/** The last epoch with both weights and optimizer state written (0 if none). */
export function lastCompleteEpoch(runDir: string): number {
  if (!existsSync(runDir)) return 0;
  let last = 0;
  for (const name of readdirSync(runDir)) {
    const m = /^model_epoch(\d+)\.safetensors$/.exec(name);
    if (!m) continue;
    const epoch = Number(m[1]);
    if (epoch > last && existsSync(optimizerFile(runDir, epoch))) last = epoch;
  }
  return last;
}

export function lastWeightsEpoch(runDir: string): number {
  let last = 0;
  for (const name of existsSync(runDir) ? readdirSync(runDir) : []) {
    const m = /^model_epoch(\d+)\.safetensors$/.exec(name);
    if (m) last = Math.max(last, Number(m[1]));
  }
  return last;
}
