import type { AdamState, FloatArray } from '../compute/backend.js';
import { adamUpdate, clipToNorm, sumOfSquares } from '../compute/host-ops.js';

/**
 * Global L2 norm of the gradient; scales it to maxNorm when larger (torch.nn.utils.clip_grad_norm_), on the host in
 * float64: the reference for the backends' squaredNorm and adamStep clipping.
 */
export function clipGradientNorm(grads: FloatArray, maxNorm: number): number {
  const norm = Math.sqrt(sumOfSquares(grads.length, grads, 0));
  clipToNorm(grads.length, grads, norm, maxNorm);
  return norm;
}

/**
 * Adam with PyTorch's defaults and update order (bias corrections folded into the step size). The state the
 * backends' adamStep works on and a checkpoint keeps; a device backend holds the moments on the device between
 * its toHost / hostWrote of m and v.
 */
export class Adam implements AdamState {
  readonly m: Float64Array;
  readonly v: Float64Array;
  step = 0;

  constructor(
    size: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /** One step on the host in float64 (the reference; a training step uses its backend's adamStep). */
  update(params: FloatArray, grads: FloatArray, learningRate: number): void {
    adamUpdate(this, params, grads, learningRate);
  }
}
