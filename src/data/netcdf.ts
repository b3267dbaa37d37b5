/**
 * Reading the variables of a netCDF-4 (HDF5) file synchronously. h5wasm (HDF5 compiled to WebAssembly) only
 * starts asynchronously and takes a noticeable time to compile, while the dataset readers are synchronous
 * (data/types.ts DatasetReader). So h5wasm runs in a worker thread, started on the first netCDF file read (a run
 * on CSV files never loads it); the calling thread posts a request and blocks on an Atomics.wait until the worker
 * has answered (the answer is then taken with receiveMessageOnPort). The worker only copies the root group's
 * datasets out of the file: interpreting them (time axis, fill values) is the caller's job.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { InputError } from '../util/errors.js';

/** One dataset of a file's root group, as stored. */
export interface StoredVariable {
  name: string;
  /** Dimension lengths; [] for a scalar. */
  shape: number[];
  /** Numbers (as read, any numeric type, converted to float64), or null for a non-numeric dataset (strings ...). */
  values: Float64Array | null;
  /** Attributes whose value is a string or one number (units, _FillValue, missing_value, calendar ...). */
  attributes: Record<string, string | number>;
  /** Names of the dimension scales attached to dimension 0 (the netCDF dimension), if any. */
  dimension: string | null;
}

/** How long one file may take before the worker is deemed stuck. */
const READ_TIMEOUT_MS = 120_000;

// Plain JavaScript run in the worker (CommonJS eval): it imports h5wasm from the URL the caller resolved.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { port, signal, h5wasmUrl } = workerData;
const flag = new Int32Array(signal);
// HDF5 prints a diagnostic trace for every failed call; the answers carry what matters, so the worker stays quiet.
for (const name of ['log', 'info', 'warn', 'error', 'debug']) console[name] = () => {};
process.stdout.write = process.stderr.write = () => true;
const answer = (message) => { port.postMessage(message); Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); };
const started = import(h5wasmUrl).then(async (m) => { const h5 = m.default ?? m; await h5.ready; return h5; });
function attributeValues(entity) {
  const out = {};
  for (const [name, attr] of Object.entries(entity.attrs)) {
    let v;
    try { v = attr.json_value; } catch { continue; }
    if (Array.isArray(v) && v.length === 1) v = v[0];
    if (typeof v === 'string' || typeof v === 'number') out[name] = v;
    else if (typeof v === 'bigint') out[name] = Number(v);
  }
  return out;
}
function read(h5, file) {
  const f = new h5.File(file, 'r');
  try {
    const variables = [];
    for (const name of f.keys()) {
      const d = f.get(name);
      if (!d || d.type !== 'Dataset') continue;
      const shape = d.shape ?? [];
      let values = null;
      const meta = d.metadata;
      if (meta && (meta.type === 0 || meta.type === 1)) {
        const raw = d.value;
        values = Float64Array.from(raw, (x) => Number(x));
      }
      let dimension = null;
      try {
        const scales = shape.length > 0 ? d.get_attached_scales(0) : [];
        if (scales.length > 0) dimension = scales[0].replace(/^\\//, '');
        else if (d.get_scale_name && d.get_scale_name()) dimension = name;
      } catch {}
      variables.push({ name, shape, values, attributes: attributeValues(d), dimension });
    }
    return variables;
  } finally {
    f.close();
  }
}
port.on('message', (file) => {
  started.then(
    (h5) => {
      try { answer({ variables: read(h5, file) }); }
      catch (e) { answer({ error: e && e.message ? e.message : String(e) }); }
    },
    (e) => answer({ error: 'cannot start h5wasm (the netCDF reader): ' + (e && e.message ? e.message : String(e)) }),
  );
});
`;

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * An InputError unless the file starts as an HDF5 file does (netCDF-4 is HDF5); a classic netCDF (CDF1/2/5) file
 * is named as such. HDF5 itself, handed another file, fails late and with a message that names nothing.
 */
function checkSignature(file: string): void {
  const head = Buffer.alloc(8);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    readSync(fd, head, 0, 8, 0);
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (head.equals(HDF5_SIGNATURE)) return;
  if (head.subarray(0, 3).toString('latin1') === 'CDF') {
    throw new InputError(
      `${file}: a classic netCDF (netCDF-3) file; only netCDF-4 (HDF5-based) files are read: convert it, e.g. with 'nccopy -k nc4 ${file} out.nc'`,
    );
  }
  throw new InputError(`${file}: not a netCDF-4/HDF5 file (it does not start with the HDF5 signature)`);
}

interface Reader {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
}

let reader: Reader | null = null;

function startReader(): Reader {
  let h5wasmUrl: string;
  try {
    h5wasmUrl = import.meta.resolve('h5wasm/node');
  } catch {
    throw new InputError("reading netCDF files needs the package 'h5wasm' (npm install h5wasm)");
  }
  const { port1, port2 } = new MessageChannel();
  const signal = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { port: port2, signal, h5wasmUrl }, transferList: [port2] });
  // The worker waits for requests for as long as the process lives; it must not keep the process alive.
  worker.unref();
  port1.unref();
  return { worker, port: port1, flag: new Int32Array(signal) };
}

/**
 * The datasets of the root group of a netCDF-4/HDF5 file. A file HDF5 cannot open is an InputError naming it
 * (HDF5's own message: not an HDF5 file, e.g. a classic netCDF-3 file, or truncated).
 */
export function readNetcdfVariables(file: string): StoredVariable[] {
  checkSignature(file);
  reader ??= startReader();
  const { port, flag } = reader;
  Atomics.store(flag, 0, 0);
  port.postMessage(file);
  const waited = Atomics.wait(flag, 0, 0, READ_TIMEOUT_MS);
  const message = receiveMessageOnPort(port)?.message as { variables?: StoredVariable[]; error?: string } | undefined;
  if (!message) {
    void reader.worker.terminate();
    reader = null;
    throw new Error(`netCDF reader gave no answer for ${file} (${waited === 'timed-out' ? 'timed out' : 'no message'})`);
  }
  if (message.error !== undefined) {
    throw new InputError(`${file}: cannot read as netCDF-4/HDF5: ${message.error.split('\n')[0]}`);
  }
  return message.variables ?? [];
}
