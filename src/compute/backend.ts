/**
 * The compute interface every model talks to. A backend owns its buffers (plain typed arrays, WASM memory or
 * native memory) and provides the few kernels the recurrent models need. All matrices are row-major and
 * addressed by (array, offset, leading dimension) so hot loops never create views.
 */
export type FloatArray = Float32Array | Float64Array;

/** A backend, or why it is not available here (`ealstm bench` shows it, and so does the error for a named backend). */
export type BackendLoad<T> = { backend: T; reason?: undefined } | { backend: null; reason: string };

/** The training losses: NSE* (squared error weighted per basin) and MSE. */
export type LossKind = 'NSE' | 'MSE';

/** The NSE* stabiliser: the per-basin std gets this added before squaring (paper code and neuralhydrology). */
export const NSE_EPS = 0.1;

/**
 * Adam's state as ComputeBackend.adamStep uses it: PyTorch's hyper-parameters, the step count (host-side: the bias
 * corrections depend on it only) and the first and second moments as float64 host arrays (what a checkpoint keeps).
 */
export interface AdamState {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly m: Float64Array;
  readonly v: Float64Array;
  step: number;
}

/** Global gradient-norm clipping for adamStep: the maximum norm and where squaredNorm left the squared norm. */
export interface NormClip {
  maxNorm: number;
  norms: Float64Array;
  at: number;
}

export interface ComputeBackend {
  readonly name: string;
  readonly precision: 'float32' | 'float64';
  /** A zero-filled buffer of n elements in this backend's precision. */
  alloc(n: number): FloatArray;

  /*
   * Device residency. A backend may mirror the buffers it allocated on a device (webgpu): its kernels then work on
   * the device copy and leave results there, and the host copy (the array alloc() returned) is brought up to date
   * only at these coherence points. For backends computing in host memory they are no-ops. Whoever reads or writes
   * on the host a buffer that kernels also use calls them there (the writer announces its write, the reader asks
   * for the data), so one model serves every backend and a training step needs neither:
   *   toHost(x[, off, n]):    the host is about to read (or partly rewrite) x: copy the device's results back.
   *   hostWrote(x[, off, n]): the host has written x (the whole array, or the range): replace the device copy.
   * Arrays that alloc() did not make are plain host memory for every backend (copied to and fro per call).
   */
  toHost(x: FloatArray, off?: number, n?: number): void;
  hostWrote(x: FloatArray, off?: number, n?: number): void;

  /**
   * One forward step of an LSTM layer: when `recurrent`, gates[gatesOff ..] += hPrev W (hPrev [batch, hidden] at
   * hPrevOff, W [hidden, G] at wOff, G the gate width of cellForward), then cellForward. The host backends run the
   * two parts (compute/host-ops.ts); a device backend runs them as one kernel per step.
   */
  stepForward(
    recurrent: boolean,
    batch: number,
    hidden: number,
    w: FloatArray,
    wOff: number,
    hPrev: FloatArray,
    hPrevOff: number,
    gates: FloatArray,
    gatesOff: number,
    inputGate: FloatArray | null,
    cPrev: FloatArray,
    cPrevOff: number,
    c: FloatArray,
    cOff: number,
    h: FloatArray,
    hOff: number,
  ): void;

  /**
   * One backward step: cellBackward, then, when `propagate`, dh = dGates W^T (dL/dh_{t-1} through the recurrent
   * weights W [hidden, G] at wOff, overwriting dh). As stepForward, one kernel per step on a device backend.
   */
  stepBackward(
    propagate: boolean,
    batch: number,
    hidden: number,
    w: FloatArray,
    wOff: number,
    gates: FloatArray,
    gatesOff: number,
    inputGate: FloatArray | null,
    cPrev: FloatArray,
    cPrevOff: number,
    c: FloatArray,
    cOff: number,
    dh: FloatArray,
    dc: FloatArray,
    dGates: FloatArray,
    dGatesOff: number,
    dInputGate: FloatArray | null,
  ): void;

  /*
   * Training ops: a training step runs loss, gradient norm, clipping and Adam through these, so that on a device
   * backend the step stays on the device and only the accumulated loss is read back, when the trainer wants it.
   * Host backends keep today's float64 arithmetic (compute/host-ops.ts); a device backend computes in its own
   * precision and keeps the float64 arrays below (scalars, Adam's moments) as host copies of device buffers.
   */

  /**
   * n zero float64 scalars (loss sums, squared norms) for the training ops to write. A device backend mirrors them
   * on the device like alloc()'s buffers: read them after toHost(x); after writing them on the host, hostWrote(x).
   */
  allocScalars(n: number): Float64Array;

  /**
   * The weighted squared error of n predictions, w_b (yHat_b - y_b)^2 with w_b = 1 / (basinStd_b + NSE_EPS)^2 for
   * NSE* and 1 for MSE: writes its gradient grad[b] = 2 w_b (yHat_b - y_b) / n and adds the batch mean (the sum
   * over b, divided by n) to sums[at], so that sums[at] accumulates a run of batches until the caller reads it.
   */
  lossAndGradient(
    loss: LossKind,
    n: number,
    prediction: FloatArray,
    target: FloatArray,
    basinStd: FloatArray,
    grad: FloatArray,
    sums: Float64Array,
    at: number,
  ): void;

  /** out[at] = sum of x[xOff + i]^2 for i < n (the squared global gradient norm, for clipping). */
  squaredNorm(n: number, x: FloatArray, xOff: number, out: Float64Array, at: number): void;

  /**
   * One Adam step over all state.m.length parameters, in PyTorch's order and defaults (bias corrections folded into
   * the step size); increments state.step. With `clip`, the gradient is first scaled in place by
   * clip.maxNorm / (sqrt(clip.norms[clip.at]) + 1e-6) when that factor is below 1 (torch.nn.utils.clip_grad_norm_),
   * the norm read where squaredNorm left it (on the device for a device backend: no read-back).
   * A device backend keeps state.m and state.v on the device from the first adamStep on (in its precision):
   * toHost(state.m) / hostWrote(state.m) (and v) are then their coherence points, as for alloc()'s buffers.
   */
  adamStep(state: AdamState, params: FloatArray, grads: FloatArray, learningRate: number, clip: NormClip | null): void;

  /*
   * Model ops around the recurrent layers (the dropout, the EA-LSTM's input gate, the regression head), so that a
   * forward and a backward run on the backend end to end. Host backends share one float64-where-it-was
   * implementation (compute/host-ops.ts hostModelOps), whose operation order is the model's former host loops.
   */

  /** z[zOff + i] = x[xOff + i] * y[yOff + i] for i < n (applies a dropout mask). */
  multiply(n: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number, z: FloatArray, zOff: number): void;
  /** x[xOff + i] = 1 / (1 + exp(-x[xOff + i])) for i < n, in place. */
  sigmoid(n: number, x: FloatArray, xOff: number): void;
  /** dy[dyOff + i] *= y[yOff + i] * (1 - y[yOff + i]) for i < n: back through a sigmoid whose output is y. */
  sigmoidBackward(n: number, y: FloatArray, yOff: number, dy: FloatArray, dyOff: number): void;

  /**
   * A linear layer with one output: y[b] = bias[biasOff] + sum_j x[xOff + b k + j] w[wOff + j] for b < n (x is
   * [n, k]; on the host the sum runs in float64 from the bias, j in order, rounded once into y).
   */
  linearForward(n: number, k: number, x: FloatArray, xOff: number, w: FloatArray, wOff: number, bias: FloatArray, biasOff: number, y: FloatArray): void;

  /**
   * Backward through linearForward for dL/dy = dy[0 .. n): adds sum_b x[b, j] dy[b] to wGrad[wGradOff + j] and
   * sum_b dy[b] to biasGrad[biasGradOff]; writes dL/dx[b, j] = dy[b] w[j] (times mask[b k + j] when a mask is
   * given: the dropout before the layer, so the product is rounded once) to dx[dxOff + b k + j].
   */
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
  ): void;

  /**
   * Gathers n windows of seqLength consecutive rows (each `width` wide) of x into y, time-major:
   * y[yOff + (t n + i) width + j] = x[(start[startOff + i] + t) width + j]. start holds row numbers as float values
   * (exact below 2^24 in float32). With seqLength 1 it gathers single rows: a batch's statics, targets, stds. This is
   * how training batches are cut from data resident on the backend, so a step uploads only the row numbers.
   */
  gatherWindows(n: number, seqLength: number, width: number, x: FloatArray, start: FloatArray, startOff: number, y: FloatArray, yOff: number): void;

  /** x[off .. off + n) = value. */
  fill(x: FloatArray, off: number, n: number, value: number): void;
  /** y[yOff .. yOff + n) = x[xOff .. xOff + n) (x and y distinct, or the ranges disjoint). */
  copy(n: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number): void;
  /** y[yOff + i] += alpha * x[xOff + i] for i < n. */
  axpy(n: number, alpha: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number): void;

  /** C = alpha * op(A) * op(B) + beta * C, with op(X) = X or X^T; op(A) is m x k, op(B) is k x n. */
  gemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: FloatArray,
    aOff: number,
    lda: number,
    b: FloatArray,
    bOff: number,
    ldb: number,
    beta: number,
    c: FloatArray,
    cOff: number,
    ldc: number,
  ): void;

  /**
   * One time step of the LSTM cell for `batch` rows. `gates` holds, per row, the pre-activations in the
   * column blocks [f | o | g] (EA-LSTM) or [f | o | g | i] (LSTM), each `hidden` wide; they are replaced by
   * the activations sigma(f), sigma(o), tanh(g)[, sigma(i)]. The EA-LSTM passes its per-sequence input gate
   * in `inputGate` ([batch, hidden]); the LSTM passes null.
   *   c = f * cPrev + i * g,  h = o * tanh(c)
   */
  cellForward(
    batch: number,
    hidden: number,
    gates: FloatArray,
    gatesOff: number,
    inputGate: FloatArray | null,
    cPrev: FloatArray,
    cPrevOff: number,
    c: FloatArray,
    cOff: number,
    h: FloatArray,
    hOff: number,
  ): void;

  /**
   * Backward through one cell step. `dh` is dL/dh_t and `dc` is dL/dc_t from the later step; `dc` is
   * overwritten with dL/dc_{t-1}. `dGates` receives dL/d(pre-activations) in the gate layout of cellForward.
   * For the EA-LSTM, dL/d(input gate activation) is added into `dInputGate`.
   */
  cellBackward(
    batch: number,
    hidden: number,
    gates: FloatArray,
    gatesOff: number,
    inputGate: FloatArray | null,
    cPrev: FloatArray,
    cPrevOff: number,
    c: FloatArray,
    cOff: number,
    dh: FloatArray,
    dc: FloatArray,
    dGates: FloatArray,
    dGatesOff: number,
    dInputGate: FloatArray | null,
  ): void;
}
