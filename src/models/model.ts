import type { ComputeBackend, FloatArray } from '../compute/backend.js';
import type { Random } from '../util/random.js';
import { initializeParameters } from './init.js';
import { type ModelSpec, type ParamSlice, parameterCount, parameterLayout, slice } from './layout.js';

/**
 * LSTM / EA-LSTM with dropout on the last hidden state and a linear head, written llm.c style: explicit
 * forward and backward over buffers allocated once for (batch capacity, sequence length).
 *
 * Inputs are time-major: `dynamicInput` is [T, n, D] for a batch of n <= capacity sequences, `staticInput`
 * is [n, S]. The EA-LSTM's input gate is sigma(x_s W_sh + b_s), once per sequence; the LSTM adds
 * x_s W_ih[D:] to every step's pre-activations, which equals concatenating x_s to every step.
 */
export class RecurrentModel {
  readonly layout: ParamSlice[];
  readonly params: FloatArray;
  readonly grads: FloatArray;
  readonly gateWidth: number;
  private readonly off: Record<'wih' | 'whh' | 'bias' | 'biasHh' | 'wsh' | 'bs' | 'fcw' | 'fcb', number>;

  capacity = 0;
  seqLength = 0;
  /** Inputs, filled by the caller before forward: [T, capacity, D] and [capacity, S]. */
  dynamicInput!: FloatArray;
  staticInput!: FloatArray;
  /** Predictions of the last forward, [capacity]. */
  output!: FloatArray;
  /** Gradients w.r.t. the inputs after backward(..., {inputGradients: true}). */
  dynamicInputGrad!: FloatArray;
  staticInputGrad!: FloatArray;
  /** The EA-LSTM input gate of the last forward, [capacity, H]. */
  inputGate!: FloatArray;

  private gates!: FloatArray;
  private cells!: FloatArray;
  private hiddens!: FloatArray;
  private staticProjection!: FloatArray;
  private dropoutMask!: FloatArray;
  private droppedHidden!: FloatArray;
  private dGates!: FloatArray;
  private dh!: FloatArray;
  private dc!: FloatArray;
  private dInputGate!: FloatArray;
  private dGateSum!: FloatArray;
  private onesOverTime!: FloatArray;
  private batchSize = 0;
  private dropoutActive = false;

  constructor(
    readonly backend: ComputeBackend,
    readonly spec: ModelSpec,
    readonly outputDropout = 0,
  ) {
    if (spec.kind === 'ealstm' && spec.staticInputs === 0) {
      throw new Error('model ealstm needs static_attributes: its input gate is computed from them');
    }
    this.layout = parameterLayout(spec);
    const count = parameterCount(this.layout);
    this.params = backend.alloc(count);
    this.grads = backend.alloc(count);
    this.gateWidth = (spec.kind === 'ealstm' ? 3 : 4) * spec.hidden;
    const ea = spec.kind === 'ealstm';
    const at = (name: string) => slice(this.layout, name).offset;
    this.off = {
      wih: at('weight_ih'),
      whh: at('weight_hh'),
      bias: at(ea ? 'bias' : 'bias_ih'),
      biasHh: ea ? -1 : at('bias_hh'),
      wsh: ea ? at('weight_sh') : -1,
      bs: ea ? at('bias_s') : -1,
      fcw: at('fc_weight'),
      fcb: at('fc_bias'),
    };
  }

  get isEaLstm(): boolean {
    return this.spec.kind === 'ealstm';
  }

  initialize(rng: Random, initialForgetBias: number): void {
    initializeParameters(this.spec, this.layout, this.params, rng, initialForgetBias);
  }

  /** (Re)allocates the activation buffers; a no-op when the current ones are large enough. */
  ensureCapacity(batch: number, seqLength: number): void {
    if (batch <= this.capacity && seqLength === this.seqLength) return;
    const { dynamicInputs: d, staticInputs: s, hidden: h } = this.spec;
    const g = this.gateWidth;
    const be = this.backend;
    this.capacity = batch;
    this.seqLength = seqLength;
    this.dynamicInput = be.alloc(seqLength * batch * d);
    this.staticInput = be.alloc(Math.max(1, batch * s));
    this.output = be.alloc(batch);
    this.gates = be.alloc(seqLength * batch * g);
    this.cells = be.alloc((seqLength + 1) * batch * h);
    this.hiddens = be.alloc((seqLength + 1) * batch * h);
    this.staticProjection = be.alloc(batch * g);
    this.inputGate = be.alloc(batch * h);
    this.dropoutMask = be.alloc(batch * h);
    this.droppedHidden = be.alloc(batch * h);
    this.dGates = be.alloc(seqLength * batch * g);
    this.dh = be.alloc(batch * h);
    this.dc = be.alloc(batch * h);
    this.dInputGate = be.alloc(batch * h);
    this.dGateSum = be.alloc(batch * g);
    this.onesOverTime = be.alloc(seqLength).fill(1);
    this.dynamicInputGrad = be.alloc(seqLength * batch * d);
    this.staticInputGrad = be.alloc(Math.max(1, batch * s));
  }

  /**
   * Runs n sequences. With `dropoutRng` given, output dropout is applied (training); without it the
   * model is in evaluation mode. Returns `output` ([n] predictions).
   */
  forward(n: number, dropoutRng: Random | null = null): FloatArray {
    if (n > this.capacity) throw new Error(`batch ${n} exceeds the allocated capacity ${this.capacity}`);
    const { dynamicInputs: d, staticInputs: s, hidden: h } = this.spec;
    const g = this.gateWidth;
    const t = this.seqLength;
    const be = this.backend;
    const p = this.params;
    const o = this.off;
    this.batchSize = n;

    // Per-sequence constant part of the pre-activations: bias (+ x_s W_ih[D:] for the LSTM with statics).
    const sp = this.staticProjection;
    for (let b = 0; b < n; b++) {
      for (let j = 0; j < g; j++) sp[b * g + j] = o.biasHh < 0 ? p[o.bias + j] : p[o.bias + j] + p[o.biasHh + j];
    }
    if (!this.isEaLstm && s > 0) {
      be.gemm(false, false, n, g, s, 1, this.staticInput, 0, s, p, o.wih + d * g, g, 1, sp, 0, g);
    }
    if (this.isEaLstm) {
      const ig = this.inputGate;
      for (let b = 0; b < n; b++) for (let j = 0; j < h; j++) ig[b * h + j] = p[o.bs + j];
      be.gemm(false, false, n, h, s, 1, this.staticInput, 0, s, p, o.wsh, h, 1, ig, 0, h);
      for (let i = 0; i < n * h; i++) ig[i] = 1 / (1 + Math.exp(-ig[i]));
    }

    // Input projection of all steps at once, on top of the constant part copied to every step.
    const gates = this.gates;
    const step = n * g;
    for (let i = 0; i < step; i++) gates[i] = sp[i];
    for (let k = 1; k < t; k++) gates.copyWithin(k * step, 0, step);
    be.gemm(false, false, t * n, g, d, 1, this.dynamicInput, 0, d, p, o.wih, g, 1, gates, 0, g);

    const hs = this.hiddens;
    const cs = this.cells;
    hs.fill(0, 0, n * h);
    cs.fill(0, 0, n * h);
    const ig = this.isEaLstm ? this.inputGate : null;
    for (let k = 0; k < t; k++) {
      if (k > 0) be.gemm(false, false, n, g, h, 1, hs, k * n * h, h, p, o.whh, g, 1, gates, k * step, g);
      be.cellForward(n, h, gates, k * step, ig, cs, k * n * h, cs, (k + 1) * n * h, hs, (k + 1) * n * h);
    }

    // Dropout on the last hidden state (inverted dropout, as torch.nn.Dropout), then the linear head.
    const last = t * n * h;
    const mask = this.dropoutMask;
    const dropped = this.droppedHidden;
    this.dropoutActive = dropoutRng !== null && this.outputDropout > 0;
    const keepScale = 1 / (1 - this.outputDropout);
    for (let i = 0; i < n * h; i++) {
      mask[i] = this.dropoutActive ? (dropoutRng!.uniform() >= this.outputDropout ? keepScale : 0) : 1;
      dropped[i] = hs[last + i] * mask[i];
    }
    const out = this.output;
    for (let b = 0; b < n; b++) {
      let sum = p[o.fcb];
      for (let j = 0; j < h; j++) sum += dropped[b * h + j] * p[o.fcw + j];
      out[b] = sum;
    }
    return out;
  }

  /** Last hidden and cell state of the last forward ([n, H] each, at the returned offset). */
  lastState(): { h: FloatArray; c: FloatArray; offset: number } {
    return { h: this.hiddens, c: this.cells, offset: this.seqLength * this.batchSize * this.spec.hidden };
  }

  /**
   * Backpropagates dL/d(output) through the last forward. Parameter gradients are added to `grads` (zero them
   * between steps); with inputGradients, dynamicInputGrad ([T, n, D]) and staticInputGrad ([n, S]) are written.
   */
  backward(dOutput: FloatArray, options: { inputGradients?: boolean } = {}): void {
    const n = this.batchSize;
    const { dynamicInputs: d, staticInputs: s, hidden: h } = this.spec;
    const g = this.gateWidth;
    const t = this.seqLength;
    const be = this.backend;
    const p = this.params;
    const gr = this.grads;
    const o = this.off;
    const dropped = this.droppedHidden;
    const mask = this.dropoutMask;
    const dh = this.dh;
    const dc = this.dc;

    let dBiasHead = 0;
    for (let b = 0; b < n; b++) {
      const dy = dOutput[b];
      dBiasHead += dy;
      for (let j = 0; j < h; j++) {
        gr[o.fcw + j] += dropped[b * h + j] * dy;
        dh[b * h + j] = dy * p[o.fcw + j] * mask[b * h + j];
      }
    }
    gr[o.fcb] += dBiasHead;

    dc.fill(0, 0, n * h);
    const ig = this.isEaLstm ? this.inputGate : null;
    const dig = this.isEaLstm ? this.dInputGate : null;
    dig?.fill(0, 0, n * h);
    const step = n * g;
    for (let k = t - 1; k >= 0; k--) {
      be.cellBackward(n, h, this.gates, k * step, ig, this.cells, k * n * h, this.cells, (k + 1) * n * h, dh, dc, this.dGates, k * step, dig);
      if (k > 0) be.gemm(false, true, n, h, g, 1, this.dGates, k * step, g, p, o.whh, g, 0, dh, 0, h);
    }

    // Weight gradients over all steps in single products: h_{t-1} is hiddens[t] (hiddens[0] = 0).
    be.gemm(true, false, h, g, t * n, 1, this.hiddens, 0, h, this.dGates, 0, g, 1, gr, o.whh, g);
    be.gemm(true, false, d, g, t * n, 1, this.dynamicInput, 0, d, this.dGates, 0, g, 1, gr, o.wih, g);
    // Sum over time of dGates ([n, G]) for the bias and the per-sequence static terms.
    const sum = this.dGateSum;
    be.gemm(false, false, 1, step, t, 1, this.onesOverTime, 0, t, this.dGates, 0, step, 0, sum, 0, step);
    for (let b = 0; b < n; b++) for (let j = 0; j < g; j++) gr[o.bias + j] += sum[b * g + j];
    if (o.biasHh >= 0) for (let j = 0; j < g; j++) gr[o.biasHh + j] = gr[o.bias + j];

    if (!this.isEaLstm && s > 0) {
      be.gemm(true, false, s, g, n, 1, this.staticInput, 0, s, sum, 0, g, 1, gr, o.wih + d * g, g);
      if (options.inputGradients) be.gemm(false, true, n, s, g, 1, sum, 0, g, p, o.wih + d * g, g, 0, this.staticInputGrad, 0, s);
    }
    if (this.isEaLstm) {
      // dL/d(pre-activation of the input gate), reusing dInputGate in place.
      const igv = this.inputGate;
      const dpre = this.dInputGate;
      for (let i = 0; i < n * h; i++) dpre[i] *= igv[i] * (1 - igv[i]);
      be.gemm(true, false, s, h, n, 1, this.staticInput, 0, s, dpre, 0, h, 1, gr, o.wsh, h);
      for (let b = 0; b < n; b++) for (let j = 0; j < h; j++) gr[o.bs + j] += dpre[b * h + j];
      if (options.inputGradients) be.gemm(false, true, n, s, h, 1, dpre, 0, h, p, o.wsh, h, 0, this.staticInputGrad, 0, s);
    }
    if (options.inputGradients) {
      be.gemm(false, true, t * n, d, g, 1, this.dGates, 0, g, p, o.wih, g, 0, this.dynamicInputGrad, 0, d);
    }
  }
}
