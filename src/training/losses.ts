import type { FloatArray, LossKind } from '../compute/backend.js';
import { squaredErrorLoss } from '../compute/host-ops.js';

export type LossName = LossKind;

export { NSE_EPS } from '../compute/backend.js';

/**
 * Loss over a batch of n predictions and its gradient w.r.t. each prediction (written to `grad`), on the host in
 * float64: the reference for ComputeBackend.lossAndGradient, which a training step uses.
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
  return squaredErrorLoss(loss, n, prediction, target, basinStd, grad);
}
