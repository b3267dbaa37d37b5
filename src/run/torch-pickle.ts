import { InputError } from '../util/errors.js';
import { readZipEntries } from './zip-archive.js';

/** A tensor of a PyTorch state dict: its shape and values (row-major, as float64). */
export interface TorchTensor {
  shape: number[];
  data: Float64Array;
}

/**
 * The globals a torch.save'd state_dict needs, and nothing else: unpickling runs no code of the file's choosing.
 * Any other global (os.system, builtins.eval, a model class ...) is refused with its name.
 */
const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch.FloatStorage',
  'torch.DoubleStorage',
  'torch.HalfStorage',
]);
const STORAGE_BYTES: Record<string, number> = { 'torch.FloatStorage': 4, 'torch.DoubleStorage': 8, 'torch.HalfStorage': 2 };

class Global {
  constructor(readonly name: string) {}
}
class OrderedDict {
  readonly entries = new Map<string, unknown>();
}
class Storage {
  constructor(
    readonly type: string,
    /** Null until read: the legacy format writes the storages after the pickle. */
    public bytes: Uint8Array | null,
  ) {}
}
/** A tensor as _rebuild_tensor_v2 describes it, materialised once every storage's bytes are known. */
class TensorRecord {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}
const MARK = Symbol('mark');

/**
 * Reads a PyTorch checkpoint holding a state_dict (torch.save's zip format: <name>/data.pkl and <name>/data/<key>,
 * or the legacy format of PyTorch < 1.6), with a pickle reader that knows only the opcodes torch.save emits for one (protocols 2-5) and the
 * globals above. Returns the tensors by parameter name. Anything else is an InputError naming what was found.
 */
export function readTorchStateDict(bytes: Uint8Array, file: string): Map<string, TorchTensor> {
  const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  // Legacy files are pickles, which start with the PROTO opcode (0x80); anything else is neither format.
  if (!isZip && bytes[0] !== 0x80) {
    throw new InputError(`${file}: not a readable PyTorch zip file (torch.save since PyTorch 1.6) nor a legacy torch.save pickle`);
  }
  const root = isZip ? readZipFormat(bytes, file) : readLegacyFormat(bytes, file);
  const dict = root instanceof OrderedDict ? root.entries : null;
  if (!dict) throw new InputError(`${file}: the pickle holds no state_dict (expected an OrderedDict of tensors)`);
  const out = new Map<string, TorchTensor>();
  for (const [name, value] of dict) {
    if (!(value instanceof TensorRecord)) throw new InputError(`${file}: state_dict entry '${name}' is not a tensor`);
    out.set(name, materialise(value, file));
  }
  return out;
}

/** torch.save since PyTorch 1.6: a zip of <name>/data.pkl and the storages <name>/data/<key>. */
function readZipFormat(bytes: Uint8Array, file: string): unknown {
  const entries = readZipEntries(bytes, file);
  const pickleName = [...entries.keys()].find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (!pickleName) throw new InputError(`${file}: no data.pkl in the zip (is it a torch.save file?)`);
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  // PyTorch 2 records the byte order of the storages; we read little-endian only (as every x86/ARM machine writes).
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder && Buffer.from(byteorder).toString('utf8').trim() !== 'little') {
    throw new InputError(`${file}: the tensors are stored big-endian; only little-endian checkpoints can be read`);
  }
  const storageOf = (type: string, key: string): Storage => {
    const data = entries.get(`${prefix}data/${key}`);
    if (!data) throw new InputError(`${file}: the pickle names storage ${key}, which the zip does not hold`);
    return new Storage(type, data);
  };
  return unpickle(entries.get(pickleName) as Uint8Array, 0, file, storageOf).value;
}

/**
 * torch.save before PyTorch 1.6 (the paper's published model_epoch30.pt): pickles of the magic number, the
 * protocol version and sys_info, then the object (storages as persistent ids), then the sorted list of storage
 * keys, then per storage an int64 element count and the raw little-endian data.
 */
function readLegacyFormat(bytes: Uint8Array, file: string): unknown {
  const storages = new Map<string, Storage>();
  const noStorage = (): never => {
    throw new InputError(`${file}: a storage outside the state_dict (not a torch.save file?)`);
  };
  let pos = 0;
  const magic = unpickle(bytes, pos, file, noStorage);
  if (magic.value !== LEGACY_MAGIC) throw new InputError(`${file}: not a PyTorch checkpoint (neither a zip nor torch.save's legacy magic number)`);
  pos = unpickle(bytes, magic.end, file, noStorage).end; // protocol version
  pos = unpickle(bytes, pos, file, noStorage).end; // sys_info (little-endian, type sizes)
  const root = unpickle(bytes, pos, file, (type, key) => {
    const storage = storages.get(key) ?? new Storage(type, null);
    storages.set(key, storage);
    return storage;
  });
  const keys = unpickle(bytes, root.end, file, noStorage);
  if (!Array.isArray(keys.value)) throw new InputError(`${file}: corrupt legacy checkpoint (no storage key list)`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  pos = keys.end;
  for (const key of keys.value as unknown[]) {
    const storage = storages.get(String(key));
    if (!storage) throw new InputError(`${file}: corrupt legacy checkpoint (storage ${String(key)} is not used)`);
    if (pos + 8 > view.length) throw new InputError(`${file}: the checkpoint ends early (truncated file?)`);
    const length = Number(view.readBigInt64LE(pos)) * STORAGE_BYTES[storage.type];
    pos += 8;
    if (pos + length > view.length) throw new InputError(`${file}: the checkpoint ends early (truncated file?)`);
    storage.bytes = bytes.subarray(pos, pos + length);
    pos += length;
  }
  return root.value;
}
/** torch/serialization.py's MAGIC_NUMBER. */
const LEGACY_MAGIC = Number(0x1950a86a20f9469cfc6cn);

function unpickle(pkl: Uint8Array, start: number, file: string, storageOf: (type: string, key: string) => Storage): { value: unknown; end: number } {
  const buf = Buffer.from(pkl.buffer, pkl.byteOffset, pkl.byteLength);
  const fail = (what: string): never => {
    throw new InputError(`${file}: ${what}`);
  };
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = start;
  const need = (n: number) => {
    if (pos + n > buf.length) fail('the pickle ends early (truncated file?)');
  };
  const u8 = () => (need(1), buf[pos++]);
  const u16 = () => (need(2), (pos += 2), buf.readUInt16LE(pos - 2));
  const u32 = () => (need(4), (pos += 4), buf.readUInt32LE(pos - 4));
  const text = (n: number) => (need(n), (pos += n), buf.toString('utf8', pos - n, pos));
  const line = () => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('the pickle ends early (truncated file?)');
    const s = buf.toString('utf8', pos, end);
    pos = end + 1;
    return s;
  };
  const pop = () => (stack.length === 0 ? fail('corrupt pickle (stack underflow)') : stack.pop());
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail('corrupt pickle (no MARK)');
    const items = stack.slice(at + 1);
    stack.length = at;
    return items;
  };
  const global = (module: string, name: string) => {
    const full = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(full)) {
      fail(`refused to load: the pickle calls '${full}', which a state_dict does not need (only ${[...ALLOWED_GLOBALS].join(', ')} are allowed)`);
    }
    stack.push(new Global(full));
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof OrderedDict)) fail('corrupt pickle (SETITEM on something not a dict)');
    for (let i = 0; i + 1 < items.length; i += 2) (dict as OrderedDict).entries.set(String(items[i]), items[i + 1]);
  };
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); pos += 8; break; // FRAME: frames are only a read-ahead hint
      case 0x63: global(line(), line()); break; // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); global(String(module), String(name)); break; } // STACK_GLOBAL
      case 0x7d: stack.push(new OrderedDict()); break; // EMPTY_DICT (kept as a dict of strings)
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x28: stack.push(MARK); break; // MARK
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: need(4); stack.push(buf.readInt32LE(pos)); pos += 4; break; // BININT
      case 0x8a: { const n = u8(); need(n); let v = 0n; for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[pos + i]); if (n > 0 && buf[pos + n - 1] & 0x80) v -= 1n << BigInt(8 * n); pos += n; stack.push(Number(v)); break; } // LONG1
      case 0x47: need(8); stack.push(buf.readDoubleBE(pos)); pos += 8; break; // BINFLOAT
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const n = Number(buf.readBigUInt64LE(pos)); pos += 8; stack.push(text(n)); break; } // BINUNICODE8
      case 0x71: memo.set(u8(), stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(u32(), stack[stack.length - 1]); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: case 0x6a: { const key = op === 0x68 ? u8() : u32(); if (!memo.has(key)) fail('corrupt pickle (unknown memo key)'); stack.push(memo.get(key)); break; } // BINGET, LONG_BINGET
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x4e: stack.push(null); break; // NONE
      case 0x51: stack.push(persistentLoad(pop(), storageOf, fail)); break; // BINPERSID
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, args, fail)); break; } // REDUCE
      case 0x62: pop(); break; // BUILD: the state dict's _metadata (versions of modules) is not needed
      case 0x73: { const v = pop(); const k = pop(); setItems(stack[stack.length - 1], [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(stack[stack.length - 1], items); break; } // SETITEMS
      case 0x61: { const v = pop(); (stack[stack.length - 1] as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); (stack[stack.length - 1] as unknown[]).push(...items); break; } // APPENDS
      case 0x2e: return { value: pop(), end: pos }; // STOP
      default:
        fail(`refused to load: pickle opcode 0x${op.toString(16)} at byte ${pos - 1} is not one a state_dict needs`);
    }
  }
}

/** torch.save's persistent id: ('storage', <storage type>, key, location, numel[, view_metadata]). */
function persistentLoad(pid: unknown, storageOf: (type: string, key: string) => Storage, fail: (w: string) => never): Storage {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof Global)) fail('unsupported persistent id in the pickle');
  const [, type, key, , , viewMetadata] = pid as [string, Global, string, string, number, unknown];
  if (viewMetadata != null) fail('storage views in a legacy checkpoint are not supported (save the state_dict again)');
  return storageOf(type.name, String(key));
}

function call(fn: unknown, args: unknown, fail: (w: string) => never): unknown {
  if (!(fn instanceof Global) || !Array.isArray(args)) return fail('corrupt pickle (REDUCE of something not callable)');
  if (fn.name === 'collections.OrderedDict') return new OrderedDict();
  if (fn.name === 'torch._utils._rebuild_tensor_v2') return rebuildTensor(args, fail);
  return fail(`refused to load: the pickle calls '${fn.name}'`);
}

/** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks): a strided view. */
function rebuildTensor(args: unknown[], fail: (w: string) => never): TensorRecord {
  const [storage, offset, size, stride] = args as [Storage, number, number[], number[]];
  if (!(storage instanceof Storage) || typeof offset !== 'number' || !Array.isArray(size) || !Array.isArray(stride) || size.length !== stride.length) {
    return fail('corrupt pickle (bad tensor record)');
  }
  return new TensorRecord(storage, offset, size, stride);
}

function materialise(t: TensorRecord, file: string): TorchTensor {
  const { storage, offset, size, stride } = t;
  const width = STORAGE_BYTES[storage.type];
  const bytes = storage.bytes ?? new Uint8Array(0);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = size.reduce((a, b) => a * b, 1);
  const data = new Float64Array(count);
  const index = new Array<number>(size.length).fill(0);
  for (let n = 0; n < count; n++) {
    let at = offset;
    for (let d = 0; d < size.length; d++) at += index[d] * stride[d];
    if (at < 0 || (at + 1) * width > view.length) throw new InputError(`${file}: a tensor reaches past its storage (truncated file?)`);
    data[n] = width === 4 ? view.readFloatLE(at * 4) : width === 8 ? view.readDoubleLE(at * 8) : halfToFloat(view.readUInt16LE(at * 2));
    for (let d = size.length - 1; d >= 0; d--) {
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
  return { shape: [...size], data };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
