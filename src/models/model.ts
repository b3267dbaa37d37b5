import type { ComputeBackend, FloatArray } from '../compute/backend.js';
import type { Random } from '../util/random.js';
import { initializeParameters } from './init.js';
import { Dropout } from './layers/dropout.js';
import { InputGateLayer } from './layers/input-gate.js';
import { LinearHead } from './layers/linear-head.js';
import { type LayerState, LstmLayer } from './layers/lstm-layer.js';
import { type ModelSpec, type ParamSlice, parameterCount, parameterLayout, slice, upperLayerNames } from './layout.js';

/**
 * LSTM / EA-LSTM with dropout on the last hidden state and a linear head, written llm.c style: explicit forward and
 * backward over buffers allocated once for (batch capacity, sequence length), composed of layers that each own
 * their forward/backward pair (./layers):
 *
 *   EA-LSTM:  x_s -> InputGateLayer -> i ─┐
 *             x_d ──────────────────────> LstmLayer (gates [f|o|g]) -> h_T -> Dropout -> LinearHead -> y
 *   LSTM:     [x_d, x_s] ───────────────> LstmLayer (gates [f|o|g|i]) -> h_T -> Dropout -> LinearHead -> y
 *
 * The LSTM's statics enter its layer as per-sequence inputs (rows W_ih[D:] added once per sequence), which equals
 * concatenating x_s to every step. Backward runs the same chain in reverse.
 *
 * Stacked layers (num_layers > 1, torch.nn.LSTM semantics without inter-layer dropout): each further LstmLayer
 * (gates [f|o|g|i]) reads the hidden sequence h_1 .. h_T of the layer below, and the head reads the top layer's h_T.
 * In backward each upper layer's input gradient ([T, n, H]) is the lower layer's dL/dh_t at every step.
 *
 * Inputs are time-major: `dynamicInput` is [T, n, D] for a batch of n <= capacity sequences, `staticInput` is [n, S].
 */
export class RecurrentModel {
  readonly layout: ParamSlice[];
  readonly params: FloatArray;
  readonly grads: FloatArray;

  capacity = 0;
  seqLength = 0;
  /**
   * Inputs, [T, capacity, D] and [capacity, S] (at least one element): filled on the host before forward (which
   * uploads them), or for queueForward announced with inputsWritten or gathered on the backend.
   */
  dynamicInput!: FloatArray;
  staticInput!: FloatArray;
  /** Gradients w.r.t. the inputs after backward(..., {inputGradients: true}): [T, n, D] and [n, S]. */
  dynamicInputGrad!: FloatArray;
  staticInputGrad!: FloatArray;

  /** The EA-LSTM's static layer (null for the LSTM). */
  private readonly inputGateLayer: InputGateLayer | null;
  /** The recurrent layers, bottom first; the head reads the last one. */
  private readonly recurrent: LstmLayer[];
  /** dL/d(hidden sequence) between layer l and l + 1, [T, capacity, H] each (stacked models only). */
  private sequenceGrads: FloatArray[] = [];
  private readonly dropout: Dropout;
  private readonly head: LinearHead;
  private batchSize = 0;

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
    const buffers = { params: this.params, grads: this.grads };
    const at = (name: string) => slice(this.layout, name);
    const { dynamicInputs: d, staticInputs: s, hidden: h } = spec;
    let first: LstmLayer;
    if (spec.kind === 'ealstm') {
      this.inputGateLayer = new InputGateLayer(backend, buffers, { weight: at('weight_sh'), bias: at('bias_s') }, s, h);
      first = new LstmLayer(
        backend,
        buffers,
        { weightIh: at('weight_ih'), weightHh: at('weight_hh'), bias: at('bias'), biasHh: null },
        { sequenceInputs: d, constantInputs: 0, hidden: h, externalInputGate: true },
      );
    } else {
      this.inputGateLayer = null;
      first = new LstmLayer(
        backend,
        buffers,
        { weightIh: at('weight_ih'), weightHh: at('weight_hh'), bias: at('bias_ih'), biasHh: at('bias_hh') },
        { sequenceInputs: d, constantInputs: s, hidden: h, externalInputGate: false },
      );
    }
    this.recurrent = [first];
    for (let l = 1; l < (spec.layers ?? 1); l++) {
      const names = upperLayerNames(l);
      this.recurrent.push(
        new LstmLayer(
          backend,
          buffers,
          { weightIh: at(names.weightIh), weightHh: at(names.weightHh), bias: at(names.biasIh), biasHh: at(names.biasHh) },
          { sequenceInputs: h, constantInputs: 0, hidden: h, externalInputGate: false },
        ),
      );
    }
    this.dropout = new Dropout(backend, outputDropout);
    this.head = new LinearHead(backend, buffers, { weight: at('fc_weight'), bias: at('fc_bias') }, h);
  }

  /** Draws the initial parameters (on the host, then uploaded: the writer of a buffer announces it, see backend.ts). */
  initialize(rng: Random, initialForgetBias: number): void {
    initializeParameters(this.spec, this.layout, this.params, rng, initialForgetBias);
    this.backend.hostWrote(this.params);
  }

  /**
   * Announces inputs written on the host for a batch of n sequences (the first n rows of dynamicInput, time-major
   * [T, n, D], and of staticInput): uploads just those rows to a device backend. Whoever fills the inputs on the host
   * calls it before queueForward (forward calls it itself).
   */
  inputsWritten(n: number): void {
    const { dynamicInputs: d, staticInputs: s } = this.spec;
    this.backend.hostWrote(this.dynamicInput, 0, this.seqLength * n * d);
    if (s > 0) this.backend.hostWrote(this.staticInput, 0, n * s);
  }

  /** Zeroes the parameter gradients on the backend (backward adds to them). */
  zeroGradients(): void {
    this.backend.fill(this.grads, 0, this.grads.length, 0);
  }

  /** (Re)allocates the activation buffers; a no-op when the current ones are large enough. */
  ensureCapacity(batch: number, seqLength: number): void {
    if (batch <= this.capacity && seqLength === this.seqLength) return;
    const { dynamicInputs: d, staticInputs: s, hidden: h } = this.spec;
    const be = this.backend;
    this.capacity = batch;
    this.seqLength = seqLength;
    this.dynamicInput = be.alloc(seqLength * batch * d);
    this.staticInput = be.alloc(Math.max(1, batch * s));
    this.dynamicInputGrad = be.alloc(seqLength * batch * d);
    this.staticInputGrad = be.alloc(Math.max(1, batch * s));
    this.inputGateLayer?.ensureCapacity(batch);
    for (const layer of this.recurrent) layer.ensureCapacity(batch, seqLength);
    this.sequenceGrads = this.recurrent.slice(1).map(() => be.alloc(seqLength * batch * h));
    this.dropout.ensureCapacity(batch * h);
    this.head.ensureCapacity(batch);
  }

  /** Predictions of the last forward, [capacity]: current on the host after forward, on the backend after queueForward. */
  get output(): FloatArray {
    return this.head.output;
  }

  /** The EA-LSTM's input gate of the last forward, [capacity, H]. */
  get inputGate(): FloatArray {
    if (!this.inputGateLayer) throw new Error('the LSTM has no per-sequence input gate (only the EA-LSTM has)');
    this.backend.toHost(this.inputGateLayer.gate);
    return this.inputGateLayer.gate;
  }

  /**
   * Runs n sequences on inputs the caller wrote on the host (uploaded here: inputsWritten) and brings the
   * predictions to the host: the call for inference (predict, evaluate, the analyses). With `dropoutRng` given,
   * output dropout is applied (training); without it the model is in evaluation mode. `initialState` (one entry per
   * recurrent layer, bottom first, e.g. a copy of `finalStates()` of the previous forward) starts the layers from
   * that state instead of the zero state: a long sequence run in consecutive pieces then equals one run over it.
   * Returns `output` ([n] predictions, current on the host).
   */
  forward(n: number, dropoutRng: Random | null = null, initialState: LayerState[] | null = null): FloatArray {
    if (n > this.capacity) throw new Error(`batch ${n} exceeds the allocated capacity ${this.capacity}`);
    this.inputsWritten(n);
    const out = this.queueForward(n, dropoutRng, initialState);
    this.backend.toHost(out, 0, n);
    return out;
  }

  /**
   * forward without the transfers: the inputs and parameters must be current on the backend (their writers
   * announced them with hostWrote / inputsWritten), and `output` is left there (toHost to read it). A training step
   * calls this, so on a device backend nothing waits for the device.
   */
  queueForward(n: number, dropoutRng: Random | null = null, initialState: LayerState[] | null = null): FloatArray {
    if (n > this.capacity) throw new Error(`batch ${n} exceeds the allocated capacity ${this.capacity}`);
    if (initialState && initialState.length !== this.recurrent.length) {
      throw new Error(`initial state for ${initialState.length} layer(s), the model has ${this.recurrent.length}`);
    }
    this.batchSize = n;
    const stateSize = n * this.spec.hidden;
    // The dropout mask is the step's only upload inside the model: made before the first kernel (see Dropout.prepare).
    this.dropout.prepare(stateSize, dropoutRng);
    const gateLayer = this.inputGateLayer;
    gateLayer?.forward(n, this.staticInput);
    const constantInput = this.spec.kind === 'lstm' && this.spec.staticInputs > 0 ? this.staticInput : null;
    const [first, ...upper] = this.recurrent;
    first.forward(n, this.dynamicInput, constantInput, gateLayer ? gateLayer.gate : null, 0, initialState?.[0] ?? null);
    let below = first;
    upper.forEach((layer, l) => {
      layer.forward(n, below.hiddens, null, null, n * this.spec.hidden, initialState?.[l + 1] ?? null);
      below = layer;
    });
    const top = this.top;
    const dropped = this.dropout.forward(stateSize, top.hiddens, top.lastOffset);
    return this.head.forward(n, dropped.x, dropped.offset);
  }

  private get top(): LstmLayer {
    return this.recurrent[this.recurrent.length - 1];
  }

  /** Last hidden and cell state of the top layer in the last forward ([n, H] each, at the returned offset). */
  lastState(): { h: FloatArray; c: FloatArray; offset: number } {
    const top = this.top;
    const size = this.batchSize * this.spec.hidden;
    this.backend.toHost(top.hiddens, top.lastOffset, size);
    this.backend.toHost(top.cells, top.lastOffset, size);
    return { h: top.hiddens, c: top.cells, offset: top.lastOffset };
  }

  /**
   * Copies of every recurrent layer's last h and c after the last forward (bottom first, [n, H] each from offset
   * 0): the state to pass as `initialState` to continue the sequences.
   */
  finalStates(): LayerState[] {
    const size = this.batchSize * this.spec.hidden;
    return this.recurrent.map((layer) => {
      const at = layer.lastOffset;
      this.backend.toHost(layer.hiddens, at, size);
      this.backend.toHost(layer.cells, at, size);
      return { h: layer.hiddens.slice(at, at + size), c: layer.cells.slice(at, at + size), offset: 0 };
    });
  }

  /**
   * Backpropagates dL/d(output) (dOutput, [n]: a backend buffer current on the backend, or a plain host array)
   * through the last forward, on the backend. Parameter gradients are added to `grads` (zero them between steps:
   * zeroGradients); with inputGradients, dynamicInputGrad ([T, n, D]) and staticInputGrad ([n, S]) are written.
   * Nothing comes to the host: whoever reads grads or the input gradients there calls backend.toHost first.
   */
  backward(dOutput: FloatArray, options: { inputGradients?: boolean } = {}): void {
    const n = this.batchSize;
    const wantInputs = options.inputGradients === true;
    const stateSize = n * this.spec.hidden;
    // The head's dL/dx goes straight into the top layer's dL/dh_T, through the dropout mask (dropout's backward).
    this.head.backward(n, dOutput, this.top.dLastHidden, this.dropout.backwardMask);
    const be = this.backend;
    // Down the stack: layer l's input gradient is dL/dh_t of layer l - 1 at every step; only the top gets dL/dh_T.
    for (let l = this.recurrent.length - 1; l >= 1; l--) {
      this.recurrent[l].backward({
        outputGrad: l + 1 < this.recurrent.length ? this.sequenceGrads[l] : null,
        inputGrad: this.sequenceGrads[l - 1],
        constantInputGrad: null,
        inputGateGrad: null,
      });
      be.fill(this.recurrent[l - 1].dLastHidden, 0, stateSize, 0);
    }
    const gateLayer = this.inputGateLayer;
    this.recurrent[0].backward({
      outputGrad: this.recurrent.length > 1 ? this.sequenceGrads[0] : null,
      inputGrad: wantInputs ? this.dynamicInputGrad : null,
      constantInputGrad: wantInputs ? this.staticInputGrad : null,
      inputGateGrad: gateLayer ? gateLayer.dGate : null,
    });
    gateLayer?.backward(n, this.staticInput, wantInputs ? this.staticInputGrad : null);
  }
}
