import type { FloatArray } from '../compute/backend.js';
import type { RecurrentModel } from '../models/model.js';
import type { Random } from '../util/random.js';
import { type LossName, lossAndGradient } from './losses.js';
import { type Adam, clipGradientNorm } from './optimizer.js';

export interface StepBuffers {
  target: FloatArray;
  basinStd: FloatArray;
  outputGrad: FloatArray;
}

/**
 * One optimisation step on the batch already in the model's input buffers: forward, loss, backward,
 * global gradient-norm clipping (when clipNorm > 0), Adam. Returns the loss and the gradient norm before clipping.
 */
export function trainStep(
  model: RecurrentModel,
  n: number,
  buffers: StepBuffers,
  loss: LossName,
  adam: Adam,
  learningRate: number,
  clipNorm: number,
  dropoutRng: Random | null,
): { loss: number; gradNorm: number } {
  const prediction = model.forward(n, dropoutRng);
  const value = lossAndGradient(loss, n, prediction, buffers.target, buffers.basinStd, buffers.outputGrad);
  model.grads.fill(0);
  model.backward(buffers.outputGrad);
  const gradNorm = clipNorm > 0 ? clipGradientNorm(model.grads, clipNorm) : Number.NaN;
  adam.update(model.params, model.grads, learningRate);
  return { loss: value, gradNorm };
}
