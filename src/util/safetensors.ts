import { InputError } from './errors.js';

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
  let headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(headerBytes.length + ((8 - (headerBytes.length % 8)) % 8)).fill(0x20);
  padded.set(headerBytes);
  headerBytes = padded;
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors[name];
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    pos += data.byteLength;
  }
  return out;
}

/** The tensors and metadata of a safetensors file's bytes; `file` names it in errors. F32 and F64 tensors only. */
export function decodeSafetensors(buf: Uint8Array, file: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new InputError(`${file}: not a safetensors file (too short)`);
  const headerLength = Number(new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(0, true));
  if (8 + headerLength > buf.length) throw new InputError(`${file}: truncated safetensors header`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headerLength)));
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
