import { readFileSync } from 'node:fs';
import type { ComputeBackend, FloatArray } from '../../src/compute/backend.js';
import { slice } from '../../src/models/layout.js';
import { RecurrentModel } from '../../src/models/model.js';

interface Tensor {
  shape: number[];
  values: number[];
}
export interface GoldenCase {
  params: Record<string, Tensor>;
  inputs: { x_d: Tensor; x_s: Tensor; y: number[]; q_std: number[] };
  forward: Record<string, number[] | number>;
  grad_of_loss_nse_star: Record<string, number[]>;
  adam_steps: { steps: { loss: number; grad_norm_before_clip: number }[]; params_after: Record<string, number[]> };
}

export const golden = JSON.parse(readFileSync(new URL('../fixtures/golden_lstm.json', import.meta.url), 'utf8')) as {
  ealstm: GoldenCase;
  lstm: GoldenCase;
};

/** Our LSTM gate blocks are [f, o, g, i]; PyTorch's nn.LSTM rows are [i, f, g, o]. */
const TORCH_BLOCK_OF_OURS = [1, 3, 2, 0];

export function buildModel(backend: ComputeBackend, kind: 'lstm' | 'ealstm'): { model: RecurrentModel; c: GoldenCase } {
  const c = golden[kind];
  const [batch, seq, d] = c.inputs.x_d.shape;
  const s = c.inputs.x_s.shape[1];
  const h = c.params.weight_hh.shape[kind === 'ealstm' ? 0 : 1];
  const model = new RecurrentModel(backend, { kind, dynamicInputs: d, staticInputs: s, hidden: h }, 0);
  setParams(model, kind === 'ealstm' ? mapEa(c.params) : mapLstm(c.params, h));
  model.ensureCapacity(batch, seq);
  // Batch-first fixture input to our time-major layout.
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < seq; t++)
      for (let k = 0; k < d; k++) model.dynamicInput[(t * batch + b) * d + k] = c.inputs.x_d.values[(b * seq + t) * d + k];
  for (let i = 0; i < batch * s; i++) model.staticInput[i] = c.inputs.x_s.values[i];
  return { model, c };
}

function setParams(model: RecurrentModel, values: Record<string, number[]>): void {
  for (const p of model.layout) {
    const v = values[p.name];
    if (!v || v.length !== p.size) throw new Error(`fixture parameter ${p.name} has the wrong size`);
    for (let i = 0; i < p.size; i++) model.params[p.offset + i] = v[i];
  }
}

function mapEa(params: Record<string, Tensor>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.values]));
}

/** PyTorch [4H, in] with blocks i,f,g,o -> ours [in, 4H] with blocks f,o,g,i. */
function torchGatesToOurs(values: number[], h: number, inputs: number): number[] {
  const out = new Array<number>(inputs * 4 * h);
  for (let r = 0; r < inputs; r++)
    for (let blk = 0; blk < 4; blk++)
      for (let j = 0; j < h; j++) out[r * 4 * h + blk * h + j] = values[(TORCH_BLOCK_OF_OURS[blk] * h + j) * inputs + r];
  return out;
}
function torchBiasToOurs(values: number[], h: number): number[] {
  const out = new Array<number>(4 * h);
  for (let blk = 0; blk < 4; blk++) for (let j = 0; j < h; j++) out[blk * h + j] = values[TORCH_BLOCK_OF_OURS[blk] * h + j];
  return out;
}

function mapLstm(params: Record<string, Tensor>, h: number): Record<string, number[]> {
  const inputs = params.weight_ih.shape[1];
  return {
    weight_ih: torchGatesToOurs(params.weight_ih.values, h, inputs),
    weight_hh: torchGatesToOurs(params.weight_hh.values, h, h),
    bias_ih: torchBiasToOurs(params.bias_ih.values, h),
    bias_hh: torchBiasToOurs(params.bias_hh.values, h),
    fc_weight: params.fc_weight.values,
    fc_bias: params.fc_bias.values,
  };
}

/** Expected values (gradients or parameters) of the fixture in our layout, by our parameter name. */
export function expectedInOurLayout(
  kind: 'lstm' | 'ealstm',
  values: Record<string, number[]>,
  c: GoldenCase,
): Record<string, number[]> {
  if (kind === 'ealstm') return values;
  const h = c.params.weight_hh.shape[1];
  const inputs = c.params.weight_ih.shape[1];
  return {
    weight_ih: torchGatesToOurs(values.weight_ih, h, inputs),
    weight_hh: torchGatesToOurs(values.weight_hh, h, h),
    bias_ih: torchBiasToOurs(values.bias_ih, h),
    bias_hh: torchBiasToOurs(values.bias_hh, h),
    fc_weight: values.fc_weight,
    fc_bias: values.fc_bias,
  };
}

export function paramView(model: RecurrentModel, buffer: FloatArray, name: string): number[] {
  const p = slice(model.layout, name);
  return Array.from(buffer.subarray(p.offset, p.offset + p.size));
}

/** Time-major model gradient [T, n, D] back to the fixture's batch-first order. */
export function batchFirst(values: FloatArray, batch: number, seq: number, d: number): number[] {
  const out = new Array<number>(batch * seq * d);
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < seq; t++) for (let k = 0; k < d; k++) out[(b * seq + t) * d + k] = values[(t * batch + b) * d + k];
  return out;
}

/** Max |a - b| relative to the largest |b| (a norm-wise relative error, robust to near-zero entries). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let maxDiff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return maxDiff / (scale || 1);
}
