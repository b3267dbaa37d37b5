import { type AdamState, type ComputeBackend, type FloatArray, type LossKind, NSE_EPS, type NormClip } from './backend.js';

type StepForward = Parameters<ComputeBackend['stepForward']>;
type StepBackward = Parameters<ComputeBackend['stepBackward']>;

/** ComputeBackend.stepForward as its two parts: the recurrent product, then the cell. */
export function stepForwardInParts(be: ComputeBackend, ...args: StepForward): void {
  const [recurrent, batch, hidden, w, wOff, hPrev, hPrevOff, gates, gatesOff, inputGate, cPrev, cPrevOff, c, cOff, h, hOff] = args;
  const g = (inputGate ? 3 : 4) * hidden;
  if (recurrent) be.gemm(false, false, batch, g, hidden, 1, hPrev, hPrevOff, hidden, w, wOff, g, 1, gates, gatesOff, g);
  be.cellForward(batch, hidden, gates, gatesOff, inputGate, cPrev, cPrevOff, c, cOff, h, hOff);
}

/** ComputeBackend.stepBackward as its two parts: the cell, then the product with the recurrent weights. */
export function stepBackwardInParts(be: ComputeBackend, ...args: StepBackward): void {
  const [propagate, batch, hidden, w, wOff, gates, gatesOff, inputGate, cPrev, cPrevOff, c, cOff, dh, dc, dGates, dGatesOff, dInputGate] = args;
  const g = (inputGate ? 3 : 4) * hidden;
  be.cellBackward(batch, hidden, gates, gatesOff, inputGate, cPrev, cPrevOff, c, cOff, dh, dc, dGates, dGatesOff, dInputGate);
  if (propagate) be.gemm(false, true, batch, hidden, g, 1, dGates, dGatesOff, g, w, wOff, g, 0, dh, 0, hidden);
}

/**
 * The data-movement ops and no-op coherence points of backends whose buffers are host memory (reference, native,
 * wasm): one implementation shared by them.
 */
export const hostOps: Pick<ComputeBackend, 'toHost' | 'hostWrote' | 'fill' | 'copy' | 'axpy'> = {
  toHost(): void {},
  hostWrote(): void {},
  fill(x: FloatArray, off: number, n: number, value: number): void {
    x.fill(value, off, off + n);
  },
  copy(n: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number): void {
    y.set(x.subarray(xOff, xOff + n), yOff);
  },
  axpy(n: number, alpha: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number): void {
    for (let i = 0; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
  },
};

/**
 * The loss of ComputeBackend.lossAndGradient in float64: writes the gradient and returns the batch mean. NSE* as the
 * paper coded it: the mean of (yHat - y)^2 / (s_basin + 0.1)^2 (y normalised, s_basin the basin's discharge std in
 * raw units); MSE: the mean of (yHat - y)^2.
 */
export function squaredErrorLoss(
  loss: LossKind,
  n: number,
  prediction: ArrayLike<number>,
  target: ArrayLike<number>,
  basinStd: ArrayLike<number>,
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

/** Sum of squares of x[xOff .. xOff + n), accumulated in float64 in index order. */
export function sumOfSquares(n: number, x: ArrayLike<number>, xOff: number): number {
  let sq = 0;
  for (let i = 0; i < n; i++) sq += x[xOff + i] * x[xOff + i];
  return sq;
}

/** Scales x[0 .. n) to maxNorm when its norm is larger (torch.nn.utils.clip_grad_norm_'s factor and test). */
export function clipToNorm(n: number, x: FloatArray, norm: number, maxNorm: number): void {
  // PyTorch multiplies by max_norm / (norm + 1e-6) only when that factor is below 1.
  const factor = maxNorm / (norm + 1e-6);
  if (factor < 1) for (let i = 0; i < n; i++) x[i] *= factor;
}

/** Adam's update with float64 moments (ComputeBackend.adamStep without the clipping). */
export function adamUpdate(state: AdamState, params: FloatArray, grads: ArrayLike<number>, learningRate: number): void {
  state.step++;
  const { beta1, beta2, eps, m, v } = state;
  const bc1 = 1 - beta1 ** state.step;
  const bc2 = 1 - beta2 ** state.step;
  const stepSize = learningRate / bc1;
  const sqrtBc2 = Math.sqrt(bc2);
  for (let i = 0; i < m.length; i++) {
    const g = grads[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    params[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / sqrtBc2 + eps);
  }
}

/** The training ops of the host backends: float64 sums and moments, in the order the trainer always used. */
export const hostTrainingOps: Pick<ComputeBackend, 'allocScalars' | 'lossAndGradient' | 'squaredNorm' | 'adamStep'> = {
  allocScalars(n: number): Float64Array {
    return new Float64Array(n);
  },
  lossAndGradient(
    loss: LossKind,
    n: number,
    prediction: FloatArray,
    target: FloatArray,
    basinStd: FloatArray,
    grad: FloatArray,
    sums: Float64Array,
    at: number,
  ): void {
    sums[at] += squaredErrorLoss(loss, n, prediction, target, basinStd, grad);
  },
  squaredNorm(n: number, x: FloatArray, xOff: number, out: Float64Array, at: number): void {
    out[at] = sumOfSquares(n, x, xOff);
  },
  adamStep(state: AdamState, params: FloatArray, grads: FloatArray, learningRate: number, clip: NormClip | null): void {
    if (clip) clipToNorm(state.m.length, grads, Math.sqrt(clip.norms[clip.at]), clip.maxNorm);
    adamUpdate(state, params, grads, learningRate);
  },
};

/**
 * The model ops of the host backends (ComputeBackend.multiply .. linearBackward): the loops the model ran on the host
 * before these ops existed, in the same order and precision, so results stay bit for bit what they were.
 */
export const hostModelOps: Pick<ComputeBackend, 'multiply' | 'sigmoid' | 'sigmoidBackward' | 'linearForward' | 'linearBackward' | 'gatherWindows'> = {
  multiply(n: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number, z: FloatArray, zOff: number): void {
    for (let i = 0; i < n; i++) z[zOff + i] = x[xOff + i] * y[yOff + i];
  },
  gatherWindows(n: number, seqLength: number, width: number, x: FloatArray, start: FloatArray, startOff: number, y: FloatArray, yOff: number): void {
    for (let i = 0; i < n; i++) {
      const first = start[startOff + i];
      for (let t = 0; t < seqLength; t++) {
        const from = (first + t) * width;
        const to = yOff + (t * n + i) * width;
        for (let j = 0; j < width; j++) y[to + j] = x[from + j];
      }
    }
  },
  sigmoid(n: number, x: FloatArray, xOff: number): void {
    for (let i = xOff; i < xOff + n; i++) x[i] = 1 / (1 + Math.exp(-x[i]));
  },
  sigmoidBackward(n: number, y: FloatArray, yOff: number, dy: FloatArray, dyOff: number): void {
    for (let i = 0; i < n; i++) dy[dyOff + i] *= y[yOff + i] * (1 - y[yOff + i]);
  },
  linearForward(n: number, k: number, x: FloatArray, xOff: number, w: FloatArray, wOff: number, bias: FloatArray, biasOff: number, y: FloatArray): void {
    for (let b = 0; b < n; b++) {
      let sum = bias[biasOff];
      for (let j = 0; j < k; j++) sum += x[xOff + b * k + j] * w[wOff + j];
      y[b] = sum;
    }
  },
  linearBackward(
    n: number,
    k: number,
    x: FloatArray,
    xOff: number,
    w: FloatArray,
    wOff: number,
    dy: FloatArray,
    wGrad: FloatArray,
    wGradOff: number,
    biasGrad: FloatArray,
    biasGradOff: number,
    dx: FloatArray,
    dxOff: number,
    mask: FloatArray | null,
  ): void {
    let dBias = 0;
    for (let b = 0; b < n; b++) {
      const d = dy[b];
      dBias += d;
      for (let j = 0; j < k; j++) {
        wGrad[wGradOff + j] += x[xOff + b * k + j] * d;
        // The float64 product d * w[j], then the mask: one rounding into dx (the former float64 head gradient).
        const dInput = d * w[wOff + j];
        dx[dxOff + b * k + j] = mask ? dInput * mask[b * k + j] : dInput;
      }
    }
    biasGrad[biasGradOff] += dBias;
  },
};

/**
 * The base of the backends whose buffers are host memory (reference, wasm, native): they bring their own alloc and
 * kernels (gemm, cellForward, cellBackward); everything else is the shared host code above. The fused steps run as
 * their two parts, the coherence points are no-ops and data moves in place, and the training and model ops are the
 * float64/float32 host loops every backend is checked against.
 */
export abstract class HostMemoryBackend {
  stepForward(this: ComputeBackend, ...args: StepForward): void {
    stepForwardInParts(this, ...args);
  }

  stepBackward(this: ComputeBackend, ...args: StepBackward): void {
    stepBackwardInParts(this, ...args);
  }

  readonly toHost = hostOps.toHost;
  readonly hostWrote = hostOps.hostWrote;
  readonly fill = hostOps.fill;
  readonly copy = hostOps.copy;
  readonly axpy = hostOps.axpy;
  readonly allocScalars = hostTrainingOps.allocScalars;
  readonly lossAndGradient = hostTrainingOps.lossAndGradient;
  readonly squaredNorm = hostTrainingOps.squaredNorm;
  readonly adamStep = hostTrainingOps.adamStep;
  readonly multiply = hostModelOps.multiply;
  readonly sigmoid = hostModelOps.sigmoid;
  readonly sigmoidBackward = hostModelOps.sigmoidBackward;
  readonly linearForward = hostModelOps.linearForward;
  readonly linearBackward = hostModelOps.linearBackward;
  readonly gatherWindows = hostModelOps.gatherWindows;
}
