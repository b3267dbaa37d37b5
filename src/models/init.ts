import type { FloatArray } from '../compute/backend.js';
import type { Random } from '../util/random.js';
import { type ModelSpec, type ParamSlice, slice, upperLayerNames } from './layout.js';

/**
 * The paper code's initialisation: orthogonal input (and static) weights, recurrent weights [I I I (I)],
 * zero biases except the forget gate, and PyTorch's default Linear init for the head. Stacked layers above the
 * first are initialised like the LSTM's first layer.
 */
export function initializeParameters(
  spec: ModelSpec,
  layout: ParamSlice[],
  params: FloatArray,
  rng: Random,
  initialForgetBias: number,
): void {
  params.fill(0);
  const h = spec.hidden;
  const gates = spec.kind === 'ealstm' ? 3 : 4;

  const wih = slice(layout, 'weight_ih');
  orthogonal(params, wih.offset, wih.shape[0], wih.shape[1], rng);

  const whh = slice(layout, 'weight_hh');
  for (let r = 0; r < h; r++) for (let g = 0; g < gates; g++) params[whh.offset + r * gates * h + g * h + r] = 1;

  const bias = slice(layout, spec.kind === 'ealstm' ? 'bias' : 'bias_ih');
  for (let j = 0; j < h; j++) params[bias.offset + j] = initialForgetBias;

  if (spec.kind === 'ealstm') {
    const wsh = slice(layout, 'weight_sh');
    orthogonal(params, wsh.offset, wsh.shape[0], wsh.shape[1], rng);
  }

  // Stacked layers get the first LSTM layer's recipe; drawn after it so a one-layer model's draws are unchanged.
  for (let l = 1; l < (spec.layers ?? 1); l++) {
    const names = upperLayerNames(l);
    const upperIh = slice(layout, names.weightIh);
    orthogonal(params, upperIh.offset, h, 4 * h, rng);
    const upperHh = slice(layout, names.weightHh);
    for (let r = 0; r < h; r++) for (let g = 0; g < 4; g++) params[upperHh.offset + r * 4 * h + g * h + r] = 1;
    const upperBias = slice(layout, names.biasIh);
    for (let j = 0; j < h; j++) params[upperBias.offset + j] = initialForgetBias;
  }

  const bound = 1 / Math.sqrt(h);
  const fcw = slice(layout, 'fc_weight');
  for (let j = 0; j < h; j++) params[fcw.offset + j] = (2 * rng.uniform() - 1) * bound;
  params[slice(layout, 'fc_bias').offset] = (2 * rng.uniform() - 1) * bound;
}

/**
 * torch.nn.init.orthogonal_ semantics for a rows x cols matrix: orthonormal rows when rows <= cols,
 * orthonormal columns otherwise. Modified Gram-Schmidt on a Gaussian matrix equals QR with a positive
 * diagonal of R, which is what PyTorch's sign correction produces.
 */
export function orthogonal(out: FloatArray, offset: number, rows: number, cols: number, rng: Random): void {
  if (rows === 0 || cols === 0) return;
  const tall = rows >= cols;
  const n = tall ? rows : cols; // length of each vector
  const k = tall ? cols : rows; // number of orthonormal vectors
  const vectors: Float64Array[] = [];
  for (let v = 0; v < k; v++) {
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = rng.normal();
    for (const q of vectors) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += q[i] * x[i];
      for (let i = 0; i < n; i++) x[i] -= dot * q[i];
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += x[i] * x[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) x[i] /= norm;
    vectors.push(x);
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out[offset + r * cols + c] = tall ? vectors[c][r] : vectors[r][c];
    }
  }
}
