import type { ComputeBackend, FloatArray } from '../../compute/backend.js';
import type { ParamSlice } from '../layout.js';
import type { ParameterBuffers } from './parameters.js';

/** The regression head y = x w^T + b on the (dropped-out) last hidden state: one prediction per sequence. */
export class LinearHead {
  /** y, [capacity]. */
  output!: FloatArray;
  /**
   * dL/dx of the last backward, [capacity, H]. Float64 whatever the backend's precision, so that the dropout
   * before the head scales the exact product dy * w (one rounding into the hidden-state gradient, not two).
   */
  dInput = new Float64Array(0);
  private input: FloatArray | null = null;
  private readonly weight: number; // fc_weight [1, H]
  private readonly bias: number; // fc_bias [1]

  constructor(
    private readonly backend: ComputeBackend,
    private readonly buffers: ParameterBuffers,
    slices: { weight: ParamSlice; bias: ParamSlice },
    readonly inputs: number,
  ) {
    this.weight = slices.weight.offset;
    this.bias = slices.bias.offset;
  }

  ensureCapacity(batch: number): void {
    this.output = this.backend.alloc(batch);
    this.dInput = new Float64Array(batch * this.inputs);
  }

  /** input: x, [n, H] (kept for backward). */
  forward(n: number, input: FloatArray): FloatArray {
    const h = this.inputs;
    const p = this.buffers.params;
    const out = this.output;
    for (let b = 0; b < n; b++) {
      let sum = p[this.bias];
      for (let j = 0; j < h; j++) sum += input[b * h + j] * p[this.weight + j];
      out[b] = sum;
    }
    this.input = input;
    return out;
  }

  /** Adds the gradients of w and b for dL/dy ([n]) and writes dL/dx into dInput. */
  backward(n: number, dOutput: ArrayLike<number>): Float64Array {
    const h = this.inputs;
    const { params: p, grads: gr } = this.buffers;
    const x = this.input!;
    const dx = this.dInput;
    let dBias = 0;
    for (let b = 0; b < n; b++) {
      const dy = dOutput[b];
      dBias += dy;
      for (let j = 0; j < h; j++) {
        gr[this.weight + j] += x[b * h + j] * dy;
        dx[b * h + j] = dy * p[this.weight + j];
      }
    }
    gr[this.bias] += dBias;
    return dx;
  }
}
