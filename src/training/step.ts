import type { FloatArray } from '../compute/backend.js';
import type { ParamSlice } from '../models/layout.js';
import type { RecurrentModel } from '../models/model.js';
import type { Random } from '../util/random.js';
import type { LossName } from './losses.js';
import type { Adam } from './optimizer.js';

export interface StepBuffers {
  /**
   * The batch's targets and per-basin stds, [capacity] each, current on the backend: gathered there
   * (data/batches.ts ResidentBatches) or written on the host and announced (hostWrote; trainStep does it).
   */
  target: FloatArray;
  basinStd: FloatArray;
  outputGrad: FloatArray;
  /**
   * The step's scalars on the backend (backend.allocScalars(2)): the loss sum at LOSS_SUM, which each step adds its
   * batch loss to, and the squared gradient norm of the last step at GRAD_NORM_SQ. Made on first use when absent.
   */
  scalars?: Float64Array;
}

/** Slots of StepBuffers.scalars. */
export const LOSS_SUM = 0;
export const GRAD_NORM_SQ = 1;

/**
 * One optimisation step on the batch already in the model's input buffers and in buffers.target / basinStd (current
 * on the backend: gathered there, or written on the host and announced, model.inputsWritten / hostWrote), queued on the model's backend and read back by
 * nobody: forward, loss (added to scalars[LOSS_SUM]), backward, global gradient-norm clipping (when
 * clipNorm > 0; the squared norm before clipping is left in scalars[GRAD_NORM_SQ]), Adam. The caller reads the
 * scalars (backend.toHost(scalars)) when it wants them, so on a device backend the training ops add no round trip.
 * Frozen parameters (fine-tuning) get a zero gradient before clipping, as parameters without requires_grad in
 * PyTorch: they do not count in the norm, and Adam, whose moments for them stay zero, leaves them unchanged.
 */
export function queueTrainStep(
  model: RecurrentModel,
  n: number,
  buffers: StepBuffers,
  loss: LossName,
  adam: Adam,
  learningRate: number,
  clipNorm: number,
  dropoutRng: Random | null,
  frozen: readonly ParamSlice[] = [],
): void {
  const be = model.backend;
  const scalars = (buffers.scalars ??= be.allocScalars(2));
  const { target, basinStd, outputGrad } = buffers;
  const grads = model.grads;
  const prediction = model.queueForward(n, dropoutRng);
  be.fill(grads, 0, grads.length, 0);
  be.lossAndGradient(loss, n, prediction, target, basinStd, outputGrad, scalars, LOSS_SUM);
  model.backward(outputGrad);
  for (const p of frozen) be.fill(grads, p.offset, p.size, 0);
  if (clipNorm > 0) be.squaredNorm(grads.length, grads, 0, scalars, GRAD_NORM_SQ);
  be.adamStep(adam, model.params, grads, learningRate, clipNorm > 0 ? { maxNorm: clipNorm, norms: scalars, at: GRAD_NORM_SQ } : null);
}

/**
 * queueTrainStep for a caller that works on the host: the inputs, targets and stds it wrote there are uploaded first
 * (model.inputsWritten, hostWrote), and afterwards the loss, the gradient norm before clipping (NaN without clipping) and the
 * parameters are current on the host. For callers that want every step's numbers (tests); the trainer queues its
 * steps and reads its sums lazily.
 */
export function trainStep(...args: Parameters<typeof queueTrainStep>): { loss: number; gradNorm: number } {
  const [model, n, buffers, , , , clipNorm] = args;
  const be = model.backend;
  const scalars = (buffers.scalars ??= be.allocScalars(2));
  be.fill(scalars, LOSS_SUM, 1, 0);
  model.inputsWritten(n);
  be.hostWrote(buffers.target, 0, n);
  be.hostWrote(buffers.basinStd, 0, n);
  queueTrainStep(...args);
  be.toHost(scalars);
  be.toHost(model.params);
  return { loss: scalars[LOSS_SUM], gradNorm: clipNorm > 0 ? Math.sqrt(scalars[GRAD_NORM_SQ]) : Number.NaN };
}
