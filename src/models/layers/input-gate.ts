import type { ComputeBackend, FloatArray } from '../../compute/backend.js';
import type { ParamSlice } from '../layout.js';
import type { ParameterBuffers } from './parameters.js';

/**
 * The EA-LSTM's static layer: the input gate i = sigma(x_s W_sh + b_s), computed once per sequence from the static
 * attributes and handed to every step of the recurrent layer (which then has no input-gate columns of its own).
 */
export class InputGateLayer {
  /** i, [capacity, H] (rows of the current batch first). */
  gate!: FloatArray;
  /**
   * dL/di summed over time, [capacity, H]: the recurrent layer's backward writes it; this layer's backward turns it
   * in place into dL/d(pre-activation).
   */
  dGate!: FloatArray;
  /** [capacity] ones: the bias broadcast and the bias gradient as products (on the backend, as the rest). */
  private onesOverBatch!: FloatArray;
  private readonly weight: number; // weight_sh [S, H]
  private readonly bias: number; // bias_s [H]

  constructor(
    private readonly backend: ComputeBackend,
    private readonly buffers: ParameterBuffers,
    slices: { weight: ParamSlice; bias: ParamSlice },
    readonly staticInputs: number,
    readonly hidden: number,
  ) {
    this.weight = slices.weight.offset;
    this.bias = slices.bias.offset;
  }

  ensureCapacity(batch: number): void {
    this.gate = this.backend.alloc(batch * this.hidden);
    this.dGate = this.backend.alloc(batch * this.hidden);
    this.onesOverBatch = this.backend.alloc(batch);
    this.backend.fill(this.onesOverBatch, 0, batch, 1);
  }

  /** staticInput: x_s, [n, S]. */
  forward(n: number, staticInput: FloatArray): void {
    const { hidden: h, staticInputs: s } = this;
    const p = this.buffers.params;
    const ig = this.gate;
    const be = this.backend;
    // The bias broadcast to every row as a product with ones (exact: 1 * b), then x_s W_sh, then the sigmoid.
    be.gemm(false, false, n, h, 1, 1, this.onesOverBatch, 0, 1, p, this.bias, h, 0, ig, 0, h);
    be.gemm(false, false, n, h, s, 1, staticInput, 0, s, p, this.weight, h, 1, ig, 0, h);
    be.sigmoid(n * h, ig, 0);
  }

  /** Adds the gradients of W_sh and b_s; writes dL/dx_s ([n, S]) into staticInputGrad when it is given. */
  backward(n: number, staticInput: FloatArray, staticInputGrad: FloatArray | null): void {
    const { hidden: h, staticInputs: s } = this;
    const { params: p, grads: gr } = this.buffers;
    const dpre = this.dGate;
    const be = this.backend;
    be.sigmoidBackward(n * h, this.gate, 0, dpre, 0);
    be.gemm(true, false, s, h, n, 1, staticInput, 0, s, dpre, 0, h, 1, gr, this.weight, h);
    be.gemm(false, false, 1, h, n, 1, this.onesOverBatch, 0, n, dpre, 0, h, 1, gr, this.bias, h);
    if (staticInputGrad) this.backend.gemm(false, true, n, s, h, 1, dpre, 0, h, p, this.weight, h, 0, staticInputGrad, 0, s);
  }
}
