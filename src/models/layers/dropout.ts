import type { ComputeBackend, FloatArray } from '../../compute/backend.js';
import type { Random } from '../../util/random.js';

/**
 * Inverted dropout (torch.nn.Dropout): in training each element is kept with probability 1 - rate and scaled by
 * 1 / (1 - rate); in evaluation (no random stream) it is the identity. Works on any flat block of `count`
 * elements: the last hidden state before the head ([n, H]), or a whole hidden sequence between stacked layers.
 */
export class Dropout {
  /** The scale of every element in the last forward: 0, 1 / (1 - rate) or 1, [capacity]. */
  mask!: FloatArray;
  /** input * mask, [capacity]. */
  output!: FloatArray;

  constructor(
    private readonly backend: ComputeBackend,
    readonly rate: number,
  ) {}

  ensureCapacity(count: number): void {
    this.mask = this.backend.alloc(count);
    this.output = this.backend.alloc(count);
  }

  /** Training when `rng` is given (and the rate is above 0), else evaluation. */
  forward(count: number, input: FloatArray, inputOffset: number, rng: Random | null): FloatArray {
    const mask = this.mask;
    const out = this.output;
    const active = rng !== null && this.rate > 0;
    const keepScale = 1 / (1 - this.rate);
    // The last hidden state comes to the host here (the mask is drawn on the host, in the order the seeds fix).
    this.backend.toHost(input, inputOffset, count);
    for (let i = 0; i < count; i++) {
      mask[i] = active ? (rng!.uniform() >= this.rate ? keepScale : 0) : 1;
      out[i] = input[inputOffset + i] * mask[i];
    }
    return out;
  }

  /** dInput = dOutput * mask. */
  backward(count: number, dOutput: ArrayLike<number>, dInput: FloatArray): void {
    const mask = this.mask;
    for (let i = 0; i < count; i++) dInput[i] = dOutput[i] * mask[i];
    this.backend.hostWrote(dInput, 0, count);
  }
}
