import { InputError } from '../util/errors.js';
import { checkExistingDir, checkWritableDir } from '../util/files.js';
import type { Command } from 'commander';
import { integerOption } from './options.js';
import { exportOnnxAction } from './onnx-command.js';

/** `ealstm export` and `ealstm import`: model bundles (run/bundle.ts) from our runs and from PyTorch models. */
export function registerModelCommands(program: Command): void {
  program
    .command('export')
    .description('write a model bundle (a folder: model.safetensors, scaler.json, config.yml, bundle.json, model_card.md) of a trained run; predict accepts it as --run-dir')
    .requiredOption('--run-dir <dir>', 'the run directory to export')
    .requiredOption('--output <bundle>', 'the bundle folder to write, e.g. model.ealstm (replaced only if it is a bundle)')
    .option('--epoch <n>', 'epoch whose weights to export (default: the last)', integerOption)
    .option('--format <format>', 'bundle, or onnx: one .onnx file (inputs x_d, x_s raw; output q in mm/day) for any ONNX runtime', 'bundle')
    .action(async (opts) => {
      if (opts.format === 'onnx') return exportOnnxAction({ runDir: opts.runDir, output: opts.output, epoch: opts.epoch });
      if (opts.format !== 'bundle') throw new InputError(`--format ${opts.format}: expected bundle or onnx`);
      checkExistingDir(opts.runDir, '--run-dir');
      checkWritableDir(opts.output, '--output');
      const { exportRun } = await import('../run/export-bundle.js');
      const info = exportRun(opts.runDir, opts.output, opts.epoch);
      console.log(describe(info, opts.output));
    });
  program
    .command('import')
    .description(
      'convert a model trained elsewhere into a model bundle: neuralhydrology model_epochNNN.pt (cudalstm, ealstm; its config.yml and train_data/train_data_scaler.yml are found next to it), the paper code\'s state dict (EA-LSTM or LSTM), or safetensors (NH, paper or ealstm parameter names). The .pt file is read without Python; a pickle that calls anything but the tensor-rebuilding functions is refused',
    )
    .requiredOption('--from <file>', 'the weights file (.pt from torch.save, or .safetensors)')
    .requiredOption('--format <format>', 'nh | paper | safetensors')
    .requiredOption('--output <bundle>', 'the bundle folder to write, e.g. imported.ealstm')
    .option('--config <file>', 'nh: its config.yml (default: next to --from); paper/safetensors: an ealstm config.yml naming the inputs (required)')
    .option('--scaler <file>', 'nh: train_data_scaler.yml (default: <dir of --from>/train_data/); paper/safetensors: a scaler.json (required)')
    .action(async (opts) => {
      const { importModel, IMPORT_FORMATS } = await import('../run/import-model.js');
      if (!IMPORT_FORMATS.includes(opts.format)) throw new InputError(`--format ${opts.format}: expected one of ${IMPORT_FORMATS.join(', ')}`);
      checkWritableDir(opts.output, '--output');
      const info = importModel({ from: opts.from, format: opts.format, config: opts.config, scaler: opts.scaler, output: opts.output });
      console.log(describe(info, opts.output));
    });
}

function describe(info: { model: string; hidden_size: number; seq_length: number; dynamic_inputs: unknown[]; static_attributes: unknown[]; source: { kind: string; path: string }; epoch: number }, output: string): string {
  return `wrote model bundle ${output}: ${info.model}, hidden ${info.hidden_size}, seq_length ${info.seq_length}, ${info.dynamic_inputs.length} dynamic inputs, ${info.static_attributes.length} static attributes (from ${info.source.kind} ${info.source.path}, epoch ${info.epoch})`;
}
