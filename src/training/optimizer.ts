import type { FloatArray } from '../compute/backend.js';

/** Global L2 norm of the gradient; scales it to maxNorm when larger (torch.nn.utils.clip_grad_norm_). */
export function clipGradientNorm(grads: FloatArray, maxNorm: number): number {
  let sq = 0;
  for (let i = 0; i < grads.length; i++) sq += grads[i] * grads[i];
  const norm = Math.sqrt(sq);
  // PyTorch multiplies by max_norm / (norm + 1e-6) only when that factor is below 1.
  const factor = maxNorm / (norm + 1e-6);
  if (factor < 1) for (let i = 0; i < grads.length; i++) grads[i] *= factor;
  return norm;
}

/** Adam with PyTorch's defaults and update order (bias corrections folded into the step size). */
export class Adam {
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

  update(params: FloatArray, grads: FloatArray, learningRate: number): void {
    this.step++;
    const { beta1, beta2, eps, m, v } = this;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    const stepSize = learningRate / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    for (let i = 0; i < params.length; i++) {
      const g = grads[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      params[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / sqrtBc2 + eps);
    }
  }
}
