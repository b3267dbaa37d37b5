import { ProtoWriter } from './protobuf.js';

/**
 * Builders for the ONNX messages an exported model needs (field numbers from onnx/onnx.proto): tensors, value
 * infos, attributes, nodes, graphs and the model. Float tensors are float32, integer tensors int64, both as raw
 * little-endian bytes.
 */

const FLOAT = 1;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, GRAPH: 5, INTS: 7 } as const;

export type AttributeValue = number | string | number[] | { graph: ProtoWriter } | { float: number };

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): ProtoWriter {
  const size = dims.reduce((a, b) => a * b, 1);
  if (values.length !== size) throw new Error(`tensor ${name}: ${values.length} values for shape [${dims}]`);
  const raw = new Uint8Array(Float32Array.from(values).buffer);
  const t = new ProtoWriter();
  for (const d of dims) t.varint(1, d);
  return t.varint(2, FLOAT).string(8, name).bytes(9, raw);
}

export function int64Tensor(name: string, dims: number[], values: number[]): ProtoWriter {
  const raw = new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer);
  const t = new ProtoWriter();
  for (const d of dims) t.varint(1, d);
  return t.varint(2, INT64).string(8, name).bytes(9, raw);
}

/** A float tensor value: dimensions are numbers (fixed) or strings (symbolic, e.g. 'batch'). */
export function valueInfo(name: string, dims: (number | string)[], docString = ''): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.varint(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().varint(1, FLOAT).message(2, shape);
  const info = new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
  if (docString) info.string(3, docString);
  return info;
}

function attribute(name: string, value: AttributeValue): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float } for non-integers`);
    return a.varint(3, value).varint(20, ATTR.INT);
  }
  if (typeof value === 'string') return a.string(4, value).varint(20, ATTR.STRING);
  if (Array.isArray(value)) {
    for (const v of value) a.varint(8, v);
    return a.varint(20, ATTR.INTS);
  }
  if ('graph' in value) return a.message(6, value.graph).varint(20, ATTR.GRAPH);
  return a.float(2, value.float).varint(20, ATTR.FLOAT);
}

export function node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue> = {}, name = ''): ProtoWriter {
  const n = new ProtoWriter();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, name || `${opType}_${outputs[0]}`).string(4, opType);
  for (const [key, value] of Object.entries(attributes)) n.message(5, attribute(key, value));
  return n;
}

export interface GraphParts {
  name: string;
  nodes: ProtoWriter[];
  initializers: ProtoWriter[];
  inputs: ProtoWriter[];
  outputs: ProtoWriter[];
  docString?: string;
}

export function graph(parts: GraphParts): ProtoWriter {
  const g = new ProtoWriter();
  for (const n of parts.nodes) g.message(1, n);
  g.string(2, parts.name);
  for (const t of parts.initializers) g.message(5, t);
  if (parts.docString) g.string(10, parts.docString);
  for (const i of parts.inputs) g.message(11, i);
  for (const o of parts.outputs) g.message(12, o);
  return g;
}

/** A ModelProto: IR version 8 with the default-domain opset `opset`; `metadata` becomes metadata_props. */
export function model(body: ProtoWriter, opset: number, producer: { name: string; version: string }, docString: string, metadata: Record<string, string>): Uint8Array {
  const m = new ProtoWriter().varint(1, 8).string(2, producer.name).string(3, producer.version);
  m.string(6, docString).message(7, body).message(8, new ProtoWriter().string(1, '').varint(2, opset));
  for (const [key, value] of Object.entries(metadata)) m.message(14, new ProtoWriter().string(1, key).string(2, value));
  return m.finish();
}
