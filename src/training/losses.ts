import type { FloatArray } from '../compute/backend.js';

export type LossName = 'NSE' | 'MSE';

/** The NSE* stabiliser: the per-basin std gets this added before squaring (paper code and neuralhydrology). */
export const NSE_EPS = 0.1;

/**
 * Loss over a batch of n predictions and its gradient w.r.t. each prediction (written to `grad`).
 * NSE* as the paper coded it: the batch mean of (y_hat - y)^2 / (s_basin + 0.1)^2, with y in normalised units
 * and s_basin the basin's discharge std in raw units. MSE: the batch mean of (y_hat - y)^2.
 */
export function lossAndGradient(
  loss: LossName,
  n: number,
  prediction: FloatArray,
  target: FloatArray,
  basinStd: FloatArray,
  grad: FloatArray,
): number {
  let total = 0;
  for (let b = 0; b < n; b++) {
    const diff = prediction[b] - target[b];
    const weight = loss === 'NSE' ? 1 / ((basinStd[b] + NSE_EPS) * (basinStd[b] + NSE_EPS)) : 1;
    total += weight * diff * diff;
    grad[b] = (2 * weight * diff) / n;
  }
  return total / n;
}
