import type { ComputeBackend, FloatArray } from '../compute/backend.js';
import type { Random } from '../util/random.js';
import { initializeParameters } from './init.js';
import { Dropout } from './layers/dropout.js';
import { InputGateLayer } from './layers/input-gate.js';
import { LinearHead } from './layers/linear-head.js';
import { LstmLayer } from './layers/lstm-layer.js';
import { type ModelSpec, type ParamSlice, parameterCount, parameterLayout, slice } from './layout.js';

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
 * Stacking (torch.nn.LSTM's num_layers, not implemented) would compose further LstmLayers: each takes the hidden
 * sequence of the one below (h_1 .. h_T through a Dropout over [T, n, H]) as its sequence input, with no constant
 * inputs and its own input gate, and the head reads the top layer's h_T. Backward would pass each upper layer's
 * inputGrad ([T, n, H]) back through that Dropout and add it to the lower layer's dL/dh_t at every step of
 * LstmLayer.backward's loop (today only dL/dh_T arrives, from the head).
 *
 * Inputs are time-major: `dynamicInput` is [T, n, D] for a batch of n <= capacity sequences, `staticInput` is [n, S].
 */
export class RecurrentModel {
  readonly layout: ParamSlice[];
  readonly params: FloatArray;
  readonly grads: FloatArray;

  capacity = 0;
  seqLength = 0;
  /** Inputs, filled by the caller before forward: [T, capacity, D] and [capacity, S] (at least one element). */
  dynamicInput!: FloatArray;
  staticInput!: FloatArray;
  /** Gradients w.r.t. the inputs after backward(..., {inputGradients: true}): [T, n, D] and [n, S]. */
  dynamicInputGrad!: FloatArray;
  staticInputGrad!: FloatArray;

  /** The EA-LSTM's static layer (null for the LSTM). */
  private readonly inputGateLayer: InputGateLayer | null;
  private readonly recurrent: LstmLayer;
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
    if (spec.kind === 'ealstm') {
      this.inputGateLayer = new InputGateLayer(backend, buffers, { weight: at('weight_sh'), bias: at('bias_s') }, s, h);
      this.recurrent = new LstmLayer(
        backend,
        buffers,
        { weightIh: at('weight_ih'), weightHh: at('weight_hh'), bias: at('bias'), biasHh: null },
        { sequenceInputs: d, constantInputs: 0, hidden: h, externalInputGate: true },
      );
    } else {
      this.inputGateLayer = null;
      this.recurrent = new LstmLayer(
        backend,
        buffers,
        { weightIh: at('weight_ih'), weightHh: at('weight_hh'), bias: at('bias_ih'), biasHh: at('bias_hh') },
        { sequenceInputs: d, constantInputs: s, hidden: h, externalInputGate: false },
      );
    }
    this.dropout = new Dropout(backend, outputDropout);
    this.head = new LinearHead(backend, buffers, { weight: at('fc_weight'), bias: at('fc_bias') }, h);
  }

  initialize(rng: Random, initialForgetBias: number): void {
    initializeParameters(this.spec, this.layout, this.params, rng, initialForgetBias);
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
    this.recurrent.ensureCapacity(batch, seqLength);
    this.dropout.ensureCapacity(batch * h);
    this.head.ensureCapacity(batch);
  }

  /** Predictions of the last forward, [capacity]. */
  get output(): FloatArray {
    return this.head.output;
  }

  /** The EA-LSTM's input gate of the last forward, [capacity, H]. */
  get inputGate(): FloatArray {
    if (!this.inputGateLayer) throw new Error('the LSTM has no per-sequence input gate (only the EA-LSTM has)');
    return this.inputGateLayer.gate;
  }

  /**
   * Runs n sequences. With `dropoutRng` given, output dropout is applied (training); without it the
   * model is in evaluation mode. Returns `output` ([n] predictions).
   */
  forward(n: number, dropoutRng: Random | null = null): FloatArray {
    if (n > this.capacity) throw new Error(`batch ${n} exceeds the allocated capacity ${this.capacity}`);
    this.batchSize = n;
    const gateLayer = this.inputGateLayer;
    gateLayer?.forward(n, this.staticInput);
    const constantInput = this.spec.kind === 'lstm' && this.spec.staticInputs > 0 ? this.staticInput : null;
    this.recurrent.forward(n, this.dynamicInput, constantInput, gateLayer ? gateLayer.gate : null);
    const dropped = this.dropout.forward(n * this.spec.hidden, this.recurrent.hiddens, this.recurrent.lastOffset, dropoutRng);
    return this.head.forward(n, dropped);
  }

  /** Last hidden and cell state of the last forward ([n, H] each, at the returned offset). */
  lastState(): { h: FloatArray; c: FloatArray; offset: number } {
    return { h: this.recurrent.hiddens, c: this.recurrent.cells, offset: this.recurrent.lastOffset };
  }

  /**
   * Backpropagates dL/d(output) through the last forward. Parameter gradients are added to `grads` (zero them
   * between steps); with inputGradients, dynamicInputGrad ([T, n, D]) and staticInputGrad ([n, S]) are written.
   */
  backward(dOutput: ArrayLike<number>, options: { inputGradients?: boolean } = {}): void {
    const n = this.batchSize;
    const wantInputs = options.inputGradients === true;
    const dDropped = this.head.backward(n, dOutput);
    this.dropout.backward(n * this.spec.hidden, dDropped, this.recurrent.dLastHidden);
    const gateLayer = this.inputGateLayer;
    this.recurrent.backward({
      inputGrad: wantInputs ? this.dynamicInputGrad : null,
      constantInputGrad: wantInputs ? this.staticInputGrad : null,
      inputGateGrad: gateLayer ? gateLayer.dGate : null,
    });
    gateLayer?.backward(n, this.staticInput, wantInputs ? this.staticInputGrad : null);
  }
}
