import type { ComputeBackend, FloatArray } from '../../compute/backend.js';
import type { ParamSlice } from '../layout.js';
import type { ParameterBuffers } from './parameters.js';

/** The regression head y = x w^T + b on the (dropped-out) last hidden state: one prediction per sequence. */
export class LinearHead {
  /** y, [capacity]. */
  output!: FloatArray;
  private input: FloatArray | null = null;
  private inputOffset = 0;
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
  }

  /** input: x, [n, H] from inputOffset (kept for backward). */
  forward(n: number, input: FloatArray, inputOffset: number): FloatArray {
    const p = this.buffers.params;
    this.backend.linearForward(n, this.inputs, input, inputOffset, p, this.weight, p, this.bias, this.output);
    this.input = input;
    this.inputOffset = inputOffset;
    return this.output;
  }

  /**
   * Adds the gradients of w and b for dL/dy ([n]) and writes dL/dx into dInput ([n, H]), times the mask of the
   * dropout before the head when given (the product dy * w then scaled by the mask with one rounding, as the
   * float64 head gradient was before it ran on the backend).
   */
  backward(n: number, dOutput: FloatArray, dInput: FloatArray, mask: FloatArray | null): void {
    const { params: p, grads: gr } = this.buffers;
    this.backend.linearBackward(n, this.inputs, this.input!, this.inputOffset, p, this.weight, dOutput, gr, this.weight, gr, this.bias, dInput, 0, mask);
  }
}
