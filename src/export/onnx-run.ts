import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { loadRun } from '../run/load-run.js';
import { InputError } from '../util/errors.js';
import { checkWritableFile, writeFileAtomic } from '../util/files.js';
import { packageRoot } from '../util/package-root.js';
import { buildOnnxModel, ONNX_PRODUCER } from './onnx.js';

export interface OnnxExportResult {
  output: string;
  epoch: number;
  bytes: number;
}

/**
 * Writes the weights of `epoch` (default: the last) of a run directory as an ONNX model (see ./onnx.ts for the
 * graph's inputs and output). The weights are read on the float64 reference backend: they are float32 in the
 * checkpoint and stay exact.
 */
export function exportOnnxRun(runDir: string, output: string, options: { epoch?: number } = {}): OnnxExportResult {
  checkWritableFile(output, '--output');
  if (existsSync(output) && !writtenByUs(output)) {
    throw new InputError(`--output ${output}: the file exists and is not an ONNX model written by ealstm; it is left as it is (choose another name or remove it)`);
  }
  const run = loadRun(runDir, { epoch: options.epoch, backend: 'reference-f64', threads: 1 });
  const version = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  const bytes = buildOnnxModel({
    spec: run.model.spec,
    layout: run.model.layout,
    params: run.model.params,
    scaler: run.scaler,
    seqLength: run.config.seq_length,
    producerVersion: version,
    metadata: { run_dir: path.resolve(runDir), epoch: String(run.epoch), experiment_name: run.config.experiment_name },
  });
  writeFileAtomic(output, bytes);
  return { output, epoch: run.epoch, bytes: bytes.length };
}

/** Whether `file` starts as our ModelProto does: ir_version (field 1), then producer_name (field 2) 'ealstm'. */
function writtenByUs(file: string): boolean {
  const producer = new TextEncoder().encode(ONNX_PRODUCER);
  const expected = Uint8Array.from([0x08, 0x08, 0x12, producer.length, ...producer]);
  const head = new Uint8Array(expected.length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return head.every((byte, i) => byte === expected[i]);
}
