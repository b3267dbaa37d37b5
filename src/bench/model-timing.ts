import type { ComputeBackend } from '../compute/backend.js';
import { median } from '../util/numeric.js';
import { RecurrentModel } from '../models/model.js';
import type { ModelKind } from '../models/layout.js';
import { lossAndGradient } from '../training/losses.js';
import { Adam } from '../training/optimizer.js';
import { queueTrainStep } from '../training/step.js';
import { Random, Streams } from '../util/random.js';

export interface ModelShapeForBench {
  batch: number;
  seqLength: number;
  hidden: number;
  dynamicInputs: number;
  staticInputs: number;
}

export interface StepTiming {
  trainMs: number;
  inferMs: number;
  trainAllMs: number[];
  inferAllMs: number[];
}

/**
 * Median wall time of one training step (forward, BPTT, NSE* loss, clipping, Adam: what an epoch does per batch)
 * and of one inference batch, on random standardised inputs.
 */
export function timeModel(
  backend: ComputeBackend,
  kind: ModelKind,
  shape: ModelShapeForBench,
  repeats: number,
  warmup = 1,
): StepTiming {
  const model = new RecurrentModel(
    backend,
    { kind, dynamicInputs: shape.dynamicInputs, staticInputs: shape.staticInputs, hidden: shape.hidden },
    0.4,
  );
  const rng = new Random(1, Streams.init);
  model.initialize(rng, 5);
  model.ensureCapacity(shape.batch, shape.seqLength);
  for (let i = 0; i < model.dynamicInput.length; i++) model.dynamicInput[i] = rng.normal();
  for (let i = 0; i < shape.batch * shape.staticInputs; i++) model.staticInput[i] = rng.normal();
  const n = shape.batch;
  model.inputsWritten(n);
  const buffers = { target: backend.alloc(n), basinStd: backend.alloc(n), outputGrad: backend.alloc(n), scalars: backend.allocScalars(2) };
  for (let i = 0; i < n; i++) {
    buffers.target[i] = rng.normal();
    buffers.basinStd[i] = 0.5 + rng.uniform();
  }
  backend.hostWrote(buffers.target);
  backend.hostWrote(buffers.basinStd);
  const adam = new Adam(model.params.length);
  const dropout = new Random(1, Streams.dropout);
  const trainAllMs: number[] = [];
  for (let r = 0; r < warmup + repeats; r++) {
    const t0 = performance.now();
    // As the trainer runs a step (queued, the inputs already on the backend), then a read of its loss that waits
    // for it to finish.
    queueTrainStep(model, n, buffers, 'NSE', adam, 1e-3, 1, dropout);
    backend.toHost(buffers.scalars);
    if (r >= warmup) trainAllMs.push(performance.now() - t0);
  }
  const inferAllMs: number[] = [];
  for (let r = 0; r < warmup + repeats; r++) {
    const t0 = performance.now();
    const out = model.forward(n, null);
    lossAndGradient('MSE', n, out, buffers.target, buffers.basinStd, buffers.outputGrad);
    if (r >= warmup) inferAllMs.push(performance.now() - t0);
  }
  return { trainMs: median(trainAllMs), inferMs: median(inferAllMs), trainAllMs, inferAllMs };
}
