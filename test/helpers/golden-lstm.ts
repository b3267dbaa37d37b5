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

/** golden_lstm.json: one recurrent layer; golden_stacked.json: two (torch.nn.LSTM's num_layers = 2). */
export const GOLDEN_FILES = ['golden_lstm.json', 'golden_stacked.json'] as const;
export type GoldenFile = (typeof GOLDEN_FILES)[number];

const loaded = new Map<GoldenFile, { ealstm: GoldenCase; lstm: GoldenCase }>();
export function goldenFixture(file: GoldenFile): { ealstm: GoldenCase; lstm: GoldenCase } {
  let fixture = loaded.get(file);
  if (!fixture) {
    fixture = JSON.parse(readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8')) as { ealstm: GoldenCase; lstm: GoldenCase };
    loaded.set(file, fixture);
  }
  return fixture;
}
export const golden = goldenFixture('golden_lstm.json');

/** PyTorch's LSTM parameter names (layer 0 unsuffixed, stacked layers `_l<k>`): their gate blocks are reordered. */
const TORCH_LSTM_PARAM = /^(weight_ih|weight_hh|bias_ih|bias_hh)(_l\d+)?$/;
const isTorchLstmParam = (kind: 'lstm' | 'ealstm', name: string) => TORCH_LSTM_PARAM.test(name) && (kind === 'lstm' || name.includes('_l'));
const layerCount = (c: GoldenCase) => 1 + Object.keys(c.params).filter((k) => /^weight_ih_l\d+$/.test(k)).length;

/** Our LSTM gate blocks are [f, o, g, i]; PyTorch's nn.LSTM rows are [i, f, g, o]. */
const TORCH_BLOCK_OF_OURS = [1, 3, 2, 0];

export function buildModel(
  backend: ComputeBackend,
  kind: 'lstm' | 'ealstm',
  file: GoldenFile = 'golden_lstm.json',
): { model: RecurrentModel; c: GoldenCase } {
  const c = goldenFixture(file)[kind];
  const [batch, seq, d] = c.inputs.x_d.shape;
  const s = c.inputs.x_s.shape[1];
  const h = c.params.weight_hh.shape[kind === 'ealstm' ? 0 : 1];
  const model = new RecurrentModel(backend, { kind, dynamicInputs: d, staticInputs: s, hidden: h, layers: layerCount(c) }, 0);
  setParams(model, mapParams(kind, c.params, h));
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
  model.backend.hostWrote(model.params);
}

/** The fixture's parameters in our layout: PyTorch LSTM blocks i,f,g,o -> ours f,o,g,i; the EA-LSTM's own as they are. */
function mapParams(kind: 'lstm' | 'ealstm', params: Record<string, Tensor>, h: number): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(params).map(([name, t]) => {
      if (!isTorchLstmParam(kind, name)) return [name, t.values];
      return [name, t.shape.length === 2 ? torchGatesToOurs(t.values, h, t.shape[1]) : torchBiasToOurs(t.values, h)];
    }),
  );
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

/** Expected values (gradients or parameters) of the fixture in our layout, by our parameter name. */
export function expectedInOurLayout(
  kind: 'lstm' | 'ealstm',
  values: Record<string, number[]>,
  c: GoldenCase,
): Record<string, number[]> {
  const h = c.params.weight_hh.shape[kind === 'ealstm' ? 0 : 1];
  const asTensors = Object.fromEntries(Object.entries(values).filter(([name]) => name in c.params).map(([name, v]) => [name, { shape: c.params[name].shape, values: v }]));
  return mapParams(kind, asTensors, h);
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
