import type { Scaler } from '../data/scaler.js';
import { type ModelSpec, type ParamSlice, slice, upperLayerNames } from '../models/layout.js';
import { type AttributeValue, floatTensor, graph, int64Tensor, model, node, valueInfo } from './onnx-graph.js';
import type { ProtoWriter } from './protobuf.js';

/**
 * A trained model as an ONNX graph (opset 17) that any ONNX runtime runs without this package:
 *
 *   inputs   x_d [batch, seq, D]  raw dynamic inputs (units of the run's dynamic_inputs), batch-major
 *            x_s [batch, S]       raw static attributes (only when the model has static attributes)
 *   output   q   [batch]          discharge on the last day of each window, mm/day: the head's output
 *                                 de-normalised (q * target_std + target_mean) and clipped at 0 (Relu),
 *                                 exactly as our predictions
 *
 * The scaler's standardisation ((x - mean) / std) is inside the graph. The LSTM runs as ONNX LSTM ops (one per
 * stacked layer; statics, if any, expanded to every step and concatenated). The EA-LSTM's input gate comes from
 * the statics, which ONNX's LSTM op cannot express, so its first layer is a Scan over time whose body is the cell
 * in MatMul/Add/Sigmoid/Tanh/Mul nodes; the input gate and the input projections of all steps are computed once
 * before the Scan. Layers above the first are ONNX LSTM ops for both kinds. A window with a NaN input gives NaN.
 */

export const ONNX_OPSET = 17;
/** The model's producer_name (also how an existing output file is recognised as ours before it is replaced). */
export const ONNX_PRODUCER = 'ealstm';

/** ONNX's LSTM gate order is i, o, f, c; ours is [f | o | g | i]: ONNX gate k is our gate OURS_FOR_ONNX[k]. */
const OURS_FOR_ONNX = [3, 1, 0, 2];

export interface OnnxModelInfo {
  spec: ModelSpec;
  layout: ParamSlice[];
  params: ArrayLike<number>;
  scaler: Scaler;
  seqLength: number;
  producerVersion: string;
  /** Free-form key/values stored as the model's metadata_props (e.g. the run directory, the epoch). */
  metadata: Record<string, string>;
}

/** Nodes and initializers of one graph, with unique names for intermediate values. */
class GraphBuilder {
  readonly nodes: ProtoWriter[] = [];
  readonly initializers: ProtoWriter[] = [];
  private counter = 0;

  /** `prefix` keeps a subgraph's value names apart from the outer graph's (ONNX forbids shadowing). */
  constructor(private readonly prefix = '') {}

  fresh(stem: string): string {
    this.counter += 1;
    return `${this.prefix}${stem}_${this.counter}`;
  }

  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputs = 1, stem = opType.toLowerCase()): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(stem));
    this.nodes.push(node(opType, inputs, names, attributes));
    return names;
  }

  one(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, stem?: string): string {
    return this.op(opType, inputs, attributes, 1, stem)[0] as string;
  }

  constant(name: string, dims: number[], values: ArrayLike<number>): string {
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }

  ints(name: string, values: number[]): string {
    this.initializers.push(int64Tensor(name, [values.length], values));
    return name;
  }
}

function parameter(info: OnnxModelInfo, name: string): Float64Array {
  const p = slice(info.layout, name);
  const out = new Float64Array(p.size);
  for (let i = 0; i < p.size; i++) out[i] = info.params[p.offset + i] as number;
  return out;
}

/** Our [in, 4H] weights (gate columns [f|o|g|i]) as ONNX's [1, 4H, in] (gate rows i, o, f, c). */
function onnxGateRows(weights: Float64Array, inputs: number, hidden: number): Float64Array {
  const out = new Float64Array(4 * hidden * inputs);
  for (let k = 0; k < 4; k++) {
    const ours = OURS_FOR_ONNX[k] as number;
    for (let j = 0; j < hidden; j++) {
      for (let r = 0; r < inputs; r++) out[(k * hidden + j) * inputs + r] = weights[r * 4 * hidden + ours * hidden + j] as number;
    }
  }
  return out;
}

/** Our [4H] bias ([f|o|g|i]) in ONNX's order (i, o, f, c). */
function onnxGateBias(bias: Float64Array, hidden: number): Float64Array {
  const out = new Float64Array(4 * hidden);
  for (let k = 0; k < 4; k++) out.set(bias.subarray((OURS_FOR_ONNX[k] as number) * hidden, ((OURS_FOR_ONNX[k] as number) + 1) * hidden), k * hidden);
  return out;
}

/** One ONNX LSTM op over `sequence` ([seq, batch, inputs]); returns its hidden sequence [seq, batch, H]. */
function lstmOp(g: GraphBuilder, sequence: string, inputs: number, hidden: number, w: Float64Array, r: Float64Array, biasIh: Float64Array, biasHh: Float64Array, tag: string): string {
  const W = g.constant(`${tag}_W`, [1, 4 * hidden, inputs], onnxGateRows(w, inputs, hidden));
  const R = g.constant(`${tag}_R`, [1, 4 * hidden, hidden], onnxGateRows(r, hidden, hidden));
  const bias = new Float64Array(8 * hidden);
  bias.set(onnxGateBias(biasIh, hidden), 0);
  bias.set(onnxGateBias(biasHh, hidden), 4 * hidden);
  const B = g.constant(`${tag}_B`, [1, 8 * hidden], bias);
  const [y] = g.op('LSTM', [sequence, W, R, B], { hidden_size: hidden, direction: 'forward' }, 1, `${tag}_Y`);
  // Y is [seq, num_directions = 1, batch, H].
  return g.one('Squeeze', [y as string, g.ints(`${tag}_axis1`, [1])], {}, `${tag}_h`);
}

/** The EA-LSTM's first layer as a Scan over time; returns the hidden sequence [seq, batch, H]. */
function eaLstmScan(g: GraphBuilder, info: OnnxModelInfo, timeMajor: string, staticNormalized: string, batchDim: string): string {
  const { dynamicInputs: d, staticInputs: s, hidden: h } = info.spec;
  // i = sigmoid(x_s W_sh + b_s), once per sequence.
  const gateLinear = g.one('Add', [g.one('MatMul', [staticNormalized, g.constant('weight_sh', [s, h], parameter(info, 'weight_sh'))]), g.constant('bias_s', [h], parameter(info, 'bias_s'))]);
  const inputGate = g.one('Sigmoid', [gateLinear], {}, 'input_gate');
  // x_t W_ih + b for every step at once: [seq, batch, 3H].
  const projected = g.one('Add', [g.one('MatMul', [timeMajor, g.constant('weight_ih', [d, 3 * h], parameter(info, 'weight_ih'))]), g.constant('bias', [3 * h], parameter(info, 'bias'))], {}, 'x_proj');
  const zeroShape = g.one('Concat', [batchDim, g.ints('hidden_dim', [h])], { axis: 0 }, 'state_shape');
  const zeros = g.one('ConstantOfShape', [zeroShape], {}, 'zero_state');

  // The cell, gates [f | o | g]: c = f * c_prev + i * g, h = o * tanh(c). The body reads W_hh and the input gate
  // from the outer graph.
  const body = new GraphBuilder('cell_');
  const weightHh = g.constant('weight_hh', [h, 3 * h], parameter(info, 'weight_hh'));
  const gates = body.one('Add', ['x_t', body.one('MatMul', ['h_prev', weightHh])], {}, 'gates');
  const [fPre, oPre, gPre] = body.op('Split', [gates, body.ints('gate_split', [h, h, h])], { axis: 1 }, 3, 'gate') as [string, string, string];
  const f = body.one('Sigmoid', [fPre]);
  const o = body.one('Sigmoid', [oPre]);
  const cand = body.one('Tanh', [gPre]);
  body.nodes.push(node('Add', [body.one('Mul', [f, 'c_prev']), body.one('Mul', [inputGate, cand])], ['c_next']));
  body.nodes.push(node('Mul', [o, body.one('Tanh', ['c_next'])], ['h_next']));
  body.nodes.push(node('Identity', ['h_next'], ['h_out']));
  const bodyGraph = graph({
    name: 'ealstm_cell',
    nodes: body.nodes,
    initializers: body.initializers,
    inputs: [valueInfo('h_prev', ['batch', h]), valueInfo('c_prev', ['batch', h]), valueInfo('x_t', ['batch', 3 * h])],
    outputs: [valueInfo('h_next', ['batch', h]), valueInfo('c_next', ['batch', h]), valueInfo('h_out', ['batch', h])],
  });
  const [, , hiddenSequence] = g.op('Scan', [zeros, zeros, projected], { num_scan_inputs: 1, body: { graph: bodyGraph } }, 3, 'scan');
  return hiddenSequence as string;
}

/** The ONNX model (serialised ModelProto) of a trained LSTM or EA-LSTM with its scaler. */
export function buildOnnxModel(info: OnnxModelInfo): Uint8Array {
  const { spec, scaler } = info;
  const { kind, dynamicInputs: d, staticInputs: s, hidden: h } = spec;
  if (scaler.input_mean.length !== d || scaler.static_mean.length !== s) {
    throw new Error(`scaler has ${scaler.input_mean.length} inputs and ${scaler.static_mean.length} attributes, the model ${d} and ${s}`);
  }
  const g = new GraphBuilder();
  const standardised = (input: string, mean: number[], std: number[], stem: string) =>
    g.one('Div', [g.one('Sub', [input, g.constant(`${stem}_mean`, [mean.length], mean)]), g.constant(`${stem}_std`, [std.length], std)], {}, `${stem}_norm`);

  const dynamicNormalized = standardised('x_d', scaler.input_mean, scaler.input_std, 'x_d');
  const timeMajor = g.one('Transpose', [dynamicNormalized], { perm: [1, 0, 2] }, 'x_d_tm'); // [seq, batch, D]
  const staticNormalized = s > 0 ? standardised('x_s', scaler.static_mean, scaler.static_std, 'x_s') : '';

  let hiddenSequence: string;
  if (kind === 'ealstm') {
    const batchDim = g.one('Shape', [timeMajor], { start: 1, end: 2 }, 'batch_dim');
    hiddenSequence = eaLstmScan(g, info, timeMajor, staticNormalized, batchDim);
  } else {
    let sequence = timeMajor;
    if (s > 0) {
      // Statics concatenated to every step: [batch, S] -> [seq, batch, S].
      const seqBatch = g.one('Shape', [timeMajor], { start: 0, end: 2 }, 'seq_batch');
      const expandShape = g.one('Concat', [seqBatch, g.ints('static_dim', [s])], { axis: 0 }, 'static_shape');
      const perStep = g.one('Expand', [g.one('Unsqueeze', [staticNormalized, g.ints('axis0', [0])]), expandShape], {}, 'x_s_steps');
      sequence = g.one('Concat', [timeMajor, perStep], { axis: 2 }, 'x_steps');
    }
    hiddenSequence = lstmOp(g, sequence, d + s, h, parameter(info, 'weight_ih'), parameter(info, 'weight_hh'), parameter(info, 'bias_ih'), parameter(info, 'bias_hh'), 'lstm_l0');
  }
  for (let l = 1; l < (spec.layers ?? 1); l++) {
    const names = upperLayerNames(l);
    hiddenSequence = lstmOp(g, hiddenSequence, h, h, parameter(info, names.weightIh), parameter(info, names.weightHh), parameter(info, names.biasIh), parameter(info, names.biasHh), `lstm_l${l}`);
  }
  // The head reads the top layer's last hidden state: h_T = hidden[seq - 1], [batch, H].
  g.initializers.push(int64Tensor('last_step', [], [-1]));
  const last = g.one('Gather', [hiddenSequence, 'last_step'], { axis: 0 }, 'h_last');
  const fcWeight = g.constant('fc_weight', [h, 1], parameter(info, 'fc_weight')); // [1, H] transposed: same values
  const head = g.one('Add', [g.one('MatMul', [last, fcWeight]), g.constant('fc_bias', [1], parameter(info, 'fc_bias'))], {}, 'head');
  const normalized = g.one('Squeeze', [head, g.ints('axis1', [1])], {}, 'q_normalized');
  const discharge = g.one('Add', [g.one('Mul', [normalized, g.constant('target_std', [1], [scaler.target_std])]), g.constant('target_mean', [1], [scaler.target_mean])]);
  g.nodes.push(node('Relu', [discharge], ['q']));

  const inputs = [valueInfo('x_d', ['batch', 'seq', d], `raw dynamic inputs: ${scaler.dynamic_inputs.join(', ')}`)];
  if (s > 0) inputs.push(valueInfo('x_s', ['batch', s], `raw static attributes: ${scaler.static_attributes.join(', ')}`));
  const body = graph({
    name: `${kind}_rainfall_runoff`,
    nodes: g.nodes,
    initializers: g.initializers,
    inputs,
    outputs: [valueInfo('q', ['batch'], `${scaler.target_variable} on the last day of each window, mm/day, clipped at 0`)],
  });
  const doc =
    `${kind === 'ealstm' ? 'EA-LSTM' : 'LSTM'} (hidden ${h}, ${spec.layers ?? 1} layer(s)) exported by ealstm. ` +
    `x_d [batch, seq, ${d}] raw inputs (${scaler.dynamic_inputs.join(', ')}), trained with seq = ${info.seqLength}; ` +
    (s > 0 ? `x_s [batch, ${s}] raw attributes (${scaler.static_attributes.join(', ')}); ` : '') +
    'q [batch]: discharge of the last day of each window in mm/day (de-normalised, clipped at 0). Inputs are standardised inside the graph.';
  const metadata = {
    model: kind,
    hidden_size: String(h),
    num_layers: String(spec.layers ?? 1),
    seq_length: String(info.seqLength),
    dynamic_inputs: JSON.stringify(scaler.dynamic_inputs),
    static_attributes: JSON.stringify(scaler.static_attributes),
    target_variable: scaler.target_variable,
    ...info.metadata,
  };
  return model(body, ONNX_OPSET, { name: ONNX_PRODUCER, version: info.producerVersion }, doc, metadata);
}
