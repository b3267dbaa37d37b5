import type { FloatArray } from '../compute/backend.js';
import type { ParamSlice } from '../models/layout.js';
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
 * Frozen parameters (fine-tuning) get a zero gradient before clipping, as parameters without requires_grad in
 * PyTorch: they do not count in the norm, and Adam, whose moments for them stay zero, leaves them unchanged.
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
  frozen: readonly ParamSlice[] = [],
): { loss: number; gradNorm: number } {
  const prediction = model.forward(n, dropoutRng);
  const value = lossAndGradient(loss, n, prediction, buffers.target, buffers.basinStd, buffers.outputGrad);
  model.grads.fill(0);
  model.backward(buffers.outputGrad);
  for (const p of frozen) model.grads.fill(0, p.offset, p.offset + p.size);
  const gradNorm = clipNorm > 0 ? clipGradientNorm(model.grads, clipNorm) : Number.NaN;
  adam.update(model.params, model.grads, learningRate);
  return { loss: value, gradNorm };
}
