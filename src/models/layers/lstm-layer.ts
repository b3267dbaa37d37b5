import type { ComputeBackend, FloatArray } from '../../compute/backend.js';
import type { ParamSlice } from '../layout.js';
import type { ParameterBuffers } from './parameters.js';

export interface LstmLayerShape {
  /** D: inputs that change every step (the dynamic inputs, or the hidden size of a layer below). */
  sequenceInputs: number;
  /** S: inputs constant over a sequence, concatenated to every step (the LSTM's static attributes; else 0). */
  constantInputs: number;
  hidden: number;
  /**
   * True when the input gate comes from outside, once per sequence (the EA-LSTM): the layer then has the gate
   * columns [f | o | g]; otherwise it computes its own input gate from [f | o | g | i].
   */
  externalInputGate: boolean;
}

export interface LstmLayerSlices {
  /** [D + S, G]: the sequence rows first, then the constant ones. */
  weightIh: ParamSlice;
  /** [H, G] */
  weightHh: ParamSlice;
  /** [G] */
  bias: ParamSlice;
  /** [G], a second bias as torch.nn.LSTM has (same model; Adam and clipping see both), or null. */
  biasHh: ParamSlice | null;
}

/** A layer's state between two forwards: h and c of n sequences, [n, H] each from `offset`. */
export interface LayerState {
  h: FloatArray;
  c: FloatArray;
  offset: number;
}

/**
 * One recurrent layer run over all time steps, from the zero state or a given one (torch.nn.LSTM semantics for one
 * layer, its h_0/c_0 argument).
 * G is the gate width, 3H or 4H. Buffers are allocated for (capacity, T); a forward on n <= capacity sequences
 * packs its time-major arrays as [T, n, ...].
 *
 * Pre-activations are built as ((biases + x_s W_ih[D:]) + x_t W_ih[:D]) + h_{t-1} W_hh: the per-sequence part once,
 * the input projection of all steps in one product, then one recurrent product per step.
 */
export class LstmLayer {
  readonly gateWidth: number;
  /** h_0 .. h_T, [T + 1, n, H]; h_0 = 0. The output sequence is h_1 .. h_T (from offset n * H). */
  hiddens!: FloatArray;
  /** c_0 .. c_T, [T + 1, n, H]; c_0 = 0. */
  cells!: FloatArray;
  /** dL/dh_T, [capacity, H]: the caller writes it before backward (it is then overwritten with dL/dh_t). */
  dLastHidden!: FloatArray;

  private readonly weightIh: number;
  private readonly weightHh: number;
  private readonly bias: number;
  private readonly biasHh: number | null;
  private seqLength = 0;
  private batchSize = 0;
  private input: FloatArray | null = null;
  private inputOffset = 0;
  private constantInput: FloatArray | null = null;
  private inputGate: FloatArray | null = null;
  /** Per-sequence part of the pre-activations, [capacity, G]. */
  private constant!: FloatArray;
  /** Gate activations of every step, [T, n, G]. */
  private gates!: FloatArray;
  /** dL/d(pre-activations) of every step, [T, n, G]. */
  private dGates!: FloatArray;
  /** dL/dc_t during backward, [capacity, H]. */
  private dc!: FloatArray;
  /** dGates summed over time, [capacity, G]. */
  private dGateSum!: FloatArray;
  /** [T] ones: the sum over time (and the broadcast over time) as a product. */
  private onesOverTime!: FloatArray;
  /** [capacity] ones: the sum over the batch (and the broadcast over the rows) as a product. */
  private onesOverBatch!: FloatArray;

  constructor(
    private readonly backend: ComputeBackend,
    private readonly buffers: ParameterBuffers,
    slices: LstmLayerSlices,
    readonly shape: LstmLayerShape,
  ) {
    this.gateWidth = (shape.externalInputGate ? 3 : 4) * shape.hidden;
    this.weightIh = slices.weightIh.offset;
    this.weightHh = slices.weightHh.offset;
    this.bias = slices.bias.offset;
    this.biasHh = slices.biasHh ? slices.biasHh.offset : null;
  }

  ensureCapacity(batch: number, seqLength: number): void {
    const h = this.shape.hidden;
    const g = this.gateWidth;
    const be = this.backend;
    this.seqLength = seqLength;
    this.gates = be.alloc(seqLength * batch * g);
    this.cells = be.alloc((seqLength + 1) * batch * h);
    this.hiddens = be.alloc((seqLength + 1) * batch * h);
    this.constant = be.alloc(batch * g);
    this.dGates = be.alloc(seqLength * batch * g);
    this.dLastHidden = be.alloc(batch * h);
    this.dc = be.alloc(batch * h);
    this.dGateSum = be.alloc(batch * g);
    this.onesOverTime = be.alloc(seqLength);
    be.fill(this.onesOverTime, 0, seqLength, 1);
    this.onesOverBatch = be.alloc(batch);
    be.fill(this.onesOverBatch, 0, batch, 1);
  }

  /**
   * input: [T, n, D] from inputOffset (a stacked layer reads the hidden sequence h_1 .. h_T of the layer below);
   * constantInput: [n, S] (null when S = 0); inputGate: [n, H] when the gate is external; initialState: h_0 and
   * c_0 ([n, H] each), the zero state when null (a continued simulation passes the last state of the previous
   * forward: a hot start). The arrays are kept for backward.
   */
  forward(
    n: number,
    input: FloatArray,
    constantInput: FloatArray | null,
    inputGate: FloatArray | null,
    inputOffset = 0,
    initialState: LayerState | null = null,
  ): void {
    const { sequenceInputs: d, constantInputs: s, hidden: h } = this.shape;
    const g = this.gateWidth;
    const t = this.seqLength;
    const be = this.backend;
    const p = this.buffers.params;
    this.batchSize = n;
    this.input = input;
    this.inputOffset = inputOffset;
    this.constantInput = constantInput;
    this.inputGate = inputGate;

    // Everything below runs on the backend (no host loops), so a device backend keeps the whole sequence on the
    // device: broadcasts and sums are products with a ones vector (exact: 1 * x), zeroing and copies are fill/copy.
    const constant = this.constant;
    const ones = this.onesOverBatch;
    be.gemm(false, false, n, g, 1, 1, ones, 0, 1, p, this.bias, g, 0, constant, 0, g);
    if (this.biasHh !== null) be.gemm(false, false, n, g, 1, 1, ones, 0, 1, p, this.biasHh, g, 1, constant, 0, g);
    if (s > 0) be.gemm(false, false, n, g, s, 1, constantInput!, 0, s, p, this.weightIh + d * g, g, 1, constant, 0, g);

    const gates = this.gates;
    const step = n * g;
    be.gemm(false, false, t, step, 1, 1, this.onesOverTime, 0, 1, constant, 0, step, 0, gates, 0, step);
    be.gemm(false, false, t * n, g, d, 1, input, inputOffset, d, p, this.weightIh, g, 1, gates, 0, g);

    const hs = this.hiddens;
    const cs = this.cells;
    if (initialState) {
      be.copy(n * h, initialState.h, initialState.offset, hs, 0);
      be.copy(n * h, initialState.c, initialState.offset, cs, 0);
    } else {
      be.fill(hs, 0, n * h, 0);
      be.fill(cs, 0, n * h, 0);
    }
    // h_0 W_hh is zero from the zero state, so that product is skipped then (as before hot starts existed).
    for (let k = 0; k < t; k++) {
      // The recurrent product h_{t-1} W_hh, then the cell: one fused kernel per step on a device backend.
      be.stepForward(k > 0 || initialState !== null, n, h, p, this.weightHh, hs, k * n * h, gates, k * step, inputGate, cs, k * n * h, cs, (k + 1) * n * h, hs, (k + 1) * n * h);
    }
  }

  /** Offset of h_T in `hiddens` (and of c_T in `cells`) after the last forward: [n, H] from there. */
  get lastOffset(): number {
    return this.seqLength * this.batchSize * this.shape.hidden;
  }

  /**
   * Backpropagation through time from dLastHidden (dL/dh_T) and, for a layer below another, outputGrad: dL/dh_t of
   * every step from the layer above ([T, n, H], added to dL/dh_t step by step). Adds the gradients of this layer's
   * parameters; writes, when given, dL/d(input) ([T, n, D]), dL/d(constant input) ([n, S]) and dL/d(external input
   * gate) summed over time ([n, H], overwritten).
   */
  backward(targets: {
    outputGrad?: FloatArray | null;
    inputGrad: FloatArray | null;
    constantInputGrad: FloatArray | null;
    inputGateGrad: FloatArray | null;
  }): void {
    const n = this.batchSize;
    const { sequenceInputs: d, constantInputs: s, hidden: h } = this.shape;
    const g = this.gateWidth;
    const t = this.seqLength;
    const be = this.backend;
    const { params: p, grads: gr } = this.buffers;
    const dh = this.dLastHidden;
    const dc = this.dc;
    const dGates = this.dGates;

    be.fill(dc, 0, n * h, 0);
    const dig = this.inputGate ? targets.inputGateGrad : null;
    if (dig) be.fill(dig, 0, n * h, 0);
    const step = n * g;
    const outputGrad = targets.outputGrad ?? null;
    const stateSize = n * h;
    for (let k = t - 1; k >= 0; k--) {
      if (outputGrad) be.axpy(stateSize, 1, outputGrad, k * stateSize, dh, 0);
      // The cell, then dL/dh_{t-1} through W_hh: one fused kernel per step on a device backend.
      be.stepBackward(k > 0, n, h, p, this.weightHh, this.gates, k * step, this.inputGate, this.cells, k * n * h, this.cells, (k + 1) * n * h, dh, dc, dGates, k * step, dig);
    }

    // Weight gradients over all steps in single products: h_{t-1} is hiddens[t] (hiddens[0] = 0).
    be.gemm(true, false, h, g, t * n, 1, this.hiddens, 0, h, dGates, 0, g, 1, gr, this.weightHh, g);
    be.gemm(true, false, d, g, t * n, 1, this.input!, this.inputOffset, d, dGates, 0, g, 1, gr, this.weightIh, g);
    // Sum over time of dGates ([n, G]) for the biases and the per-sequence inputs.
    const sum = this.dGateSum;
    be.gemm(false, false, 1, step, t, 1, this.onesOverTime, 0, t, dGates, 0, step, 0, sum, 0, step);
    be.gemm(false, false, 1, g, n, 1, this.onesOverBatch, 0, n, sum, 0, g, 1, gr, this.bias, g);
    if (this.biasHh !== null) be.copy(g, gr, this.bias, gr, this.biasHh);

    if (s > 0) {
      const wConstant = this.weightIh + d * g;
      be.gemm(true, false, s, g, n, 1, this.constantInput!, 0, s, sum, 0, g, 1, gr, wConstant, g);
      if (targets.constantInputGrad) be.gemm(false, true, n, s, g, 1, sum, 0, g, p, wConstant, g, 0, targets.constantInputGrad, 0, s);
    }
    if (targets.inputGrad) be.gemm(false, true, t * n, d, g, 1, dGates, 0, g, p, this.weightIh, g, 0, targets.inputGrad, 0, d);
  }
}
