import { readFileSync } from 'node:fs';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from './files.js';

export interface Tensor {
  shape: number[];
  data: Float32Array | Float64Array;
}

/**
 * The safetensors format (readable by Python's safetensors): an 8-byte little-endian header length, a JSON
 * header {name: {dtype, shape, data_offsets}, __metadata__: {string: string}}, then the raw little-endian data.
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const { shape, data } = tensors[name];
    const dtype = data instanceof Float64Array ? 'F64' : 'F32';
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors[name];
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, pos);
    pos += data.byteLength;
  }
  return out;
}

export function writeSafetensors(file: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(file: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const buf = readFileSync(file);
  if (buf.length < 8) throw new InputError(`${file}: not a safetensors file (too short)`);
  const headerLength = Number(buf.readBigUInt64LE(0));
  if (8 + headerLength > buf.length) throw new InputError(`${file}: truncated safetensors header`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8'));
  } catch {
    throw new InputError(`${file}: corrupt safetensors header`);
  }
  const base = 8 + headerLength;
  const tensors: Record<string, Tensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as unknown as Record<string, string>;
      continue;
    }
    const [start, end] = entry.data_offsets;
    if (base + end > buf.length) throw new InputError(`${file}: tensor ${name} runs past the end of the file (truncated?)`);
    const bytes = buf.subarray(base + start, base + end);
    const copy = new Uint8Array(bytes); // aligned copy
    let data: Float32Array | Float64Array;
    if (entry.dtype === 'F32') data = new Float32Array(copy.buffer, 0, copy.byteLength / 4);
    else if (entry.dtype === 'F64') data = new Float64Array(copy.buffer, 0, copy.byteLength / 8);
    else throw new InputError(`${file}: tensor ${name} has dtype ${entry.dtype}; only F32 and F64 are supported`);
    tensors[name] = { shape: entry.shape, data };
  }
  return { tensors, metadata };
}
