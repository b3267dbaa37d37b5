import { checkExistingDir } from '../util/files.js';

export interface OnnxExportCliOptions {
  runDir: string;
  output: string;
  epoch?: number;
}

/** Writes a run's model as ONNX and prints what was written (used by `ealstm export --format onnx`). */
export async function exportOnnxAction(options: OnnxExportCliOptions): Promise<void> {
  checkExistingDir(options.runDir, '--run-dir');
  const { exportOnnxRun } = await import('../export/onnx-run.js');
  const result = exportOnnxRun(options.runDir, options.output, { epoch: options.epoch });
  console.log(`wrote ${result.output} (ONNX opset 17, epoch ${result.epoch}, ${result.bytes} bytes): inputs x_d [batch, seq, D] and (with static attributes) x_s [batch, S], raw; output q [batch] in mm/day`);
}
