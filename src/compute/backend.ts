/**
 * The compute interface every model talks to. A backend owns its buffers (plain typed arrays, WASM memory or
 * native memory) and provides the few kernels the recurrent models need. All matrices are row-major and
 * addressed by (array, offset, leading dimension) so hot loops never create views.
 */
export type FloatArray = Float32Array | Float64Array;

/** A backend, or why it is not available here (`ealstm bench` shows it, and so does the error for a named backend). */
export type BackendLoad<T> = { backend: T; reason?: undefined } | { backend: null; reason: string };

export interface ComputeBackend {
  readonly name: string;
  readonly precision: 'float32' | 'float64';
  /** A zero-filled buffer of n elements in this backend's precision. */
  alloc(n: number): FloatArray;

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
