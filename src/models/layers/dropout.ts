import type { ComputeBackend, FloatArray } from '../../compute/backend.js';
import type { Random } from '../../util/random.js';

/**
 * Inverted dropout (torch.nn.Dropout): in training each element is kept with probability 1 - rate and scaled by
 * 1 / (1 - rate); in evaluation (no random stream) it is the identity. Works on any flat block of `count`
 * elements: the last hidden state before the head ([n, H]), or a whole hidden sequence between stacked layers.
 *
 * The mask is drawn on the host (the random stream the seeds fix, in the same order as ever) and uploaded; it is
 * applied on the backend (multiply), so the activations never come to the host.
 */
export class Dropout {
  /** The scale of every element in the last training forward: 0 or 1 / (1 - rate), [capacity]. */
  mask!: FloatArray;
  /** input * mask, [capacity]. */
  output!: FloatArray;
  /** Whether the last forward applied a mask (training with a rate above 0); else the layer was the identity. */
  private active = false;

  constructor(
    private readonly backend: ComputeBackend,
    readonly rate: number,
  ) {}

  ensureCapacity(count: number): void {
    this.mask = this.backend.alloc(count);
    this.output = this.backend.alloc(count);
  }

  /**
   * Draws the mask of the coming forward (training when `rng` is given and the rate is above 0, else evaluation)
   * and uploads it. The model calls this before its first kernel: an upload between kernels would end a device
   * backend's command buffer there.
   */
  prepare(count: number, rng: Random | null): void {
    this.active = rng !== null && this.rate > 0;
    if (!this.active) return;
    const mask = this.mask;
    const keepScale = 1 / (1 - this.rate);
    for (let i = 0; i < count; i++) mask[i] = rng!.uniform() >= this.rate ? keepScale : 0;
    this.backend.hostWrote(mask, 0, count);
  }

  /** The dropped-out input as (array, offset): `output` in training, the input itself in evaluation (x * 1 = x). */
  forward(count: number, input: FloatArray, inputOffset: number): { x: FloatArray; offset: number } {
    if (!this.active) return { x: input, offset: inputOffset };
    this.backend.multiply(count, input, inputOffset, this.mask, 0, this.output, 0);
    return { x: this.output, offset: 0 };
  }

  /** The mask for the backward of the layer after this one (which folds dInput = dOutput * mask in), or null. */
  get backwardMask(): FloatArray | null {
    return this.active ? this.mask : null;
  }
}
