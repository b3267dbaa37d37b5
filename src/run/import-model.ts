/**
 * `ealstm import`: a model trained elsewhere into a model bundle (bundle.ts). Sources:
 * - neuralhydrology (format nh): <run>/model_epochNNN.pt (torch.save zip, read by torch-pickle.ts without Python)
 *   with the run's config.yml and train_data/train_data_scaler.yml (found next to the .pt file, or --config /
 *   --scaler); models cudalstm and ealstm;
 * - the paper's code (format paper, kratzert/ealstm_regional_modeling): a torch.save'd state_dict of its Model
 *   (EA-LSTM or LSTM), with our config.yml and scaler.json (--config, --scaler);
 * - safetensors (format safetensors): any of the three namings below, with --config and --scaler as for paper.
 *
 * Name and gate-order mapping to our layout (models/layout.ts: EA-LSTM gates [f|o|g], LSTM [f|o|g|i], weights
 * [inputs, gates]):
 *   NH CudaLSTM   lstm.weight_ih_l0 [4H, D+S] (torch.nn.LSTM: i,f,g,o) -> weight_ih, transposed, blocks reordered;
 *                 lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0 likewise; head.net.0.weight/bias -> fc_*
 *   NH EALSTM     dynamic_gates.weight_ih [D, 3H], .weight_hh [H, 3H], .bias (f,o,g, our layout) -> as they are;
 *                 input_gate.weight [H, S] (nn.Linear) -> weight_sh [S, H] transposed; input_gate.bias -> bias_s
 *   paper EA-LSTM lstm.weight_ih, lstm.weight_hh, lstm.bias, lstm.weight_sh, lstm.bias_s (our layout); fc.* -> fc_*
 *   paper LSTM    lstm.weight_ih [D+S, 4H] (f,i,o,g) -> blocks reordered; lstm.bias -> bias_ih, bias_hh = 0
 *   ours          weight_ih, weight_hh, bias(_ih/_hh), weight_sh, bias_s, fc_weight, fc_bias as in model_epochNNN.safetensors
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { parseConfig } from '../config/load.js';
import type { RunConfig } from '../config/schema.js';
import type { Scaler } from '../data/scaler.js';
import { parameterLayout } from '../models/layout.js';
import { InputError } from '../util/errors.js';
import type { Tensor } from '../util/safetensors.js';
import { readSafetensors } from '../util/safetensors-file.js';
import type { BundleInfo } from './bundle-info.js';
import { writeBundle } from './bundle.js';
import { readRunConfig, readScaler } from './run-dir.js';
import { readTorchStateDict, type TorchTensor } from './torch-pickle.js';

export type ImportFormat = 'nh' | 'paper' | 'safetensors';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['nh', 'paper', 'safetensors'];

export interface ImportOptions {
  from: string;
  format: ImportFormat;
  /** NH: its config.yml (default <dir of --from>/config.yml); paper/safetensors: our config.yml (required). */
  config?: string;
  /** NH: train_data_scaler.yml (default <dir of --from>/train_data/); paper/safetensors: our scaler.json (required). */
  scaler?: string;
  output: string;
}

type StateDict = Map<string, TorchTensor>;

export function importModel(options: ImportOptions): BundleInfo {
  const { from, format } = options;
  if (!existsSync(from)) throw new InputError(`--from ${from}: no such file`);
  let config: RunConfig;
  let scaler: Scaler;
  if (format === 'nh') {
    const configPath = options.config ?? path.join(path.dirname(from), 'config.yml');
    const scalerPath = options.scaler ?? path.join(path.dirname(from), 'train_data', 'train_data_scaler.yml');
    config = nhConfig(configPath);
    scaler = nhScaler(scalerPath, config);
  } else {
    if (!options.config || !options.scaler) {
      throw new InputError(`--format ${format} needs --config (an ealstm config.yml naming the inputs) and --scaler (a scaler.json)`);
    }
    config = readRunConfig(asRunDir(options.config, 'config.yml', '--config'));
    scaler = readScaler(asRunDir(options.scaler, 'scaler.json', '--scaler'));
  }
  const stateDict = format === 'safetensors' ? readSafetensorsDict(from) : readTorchStateDict(readFileSync(from), from);
  const tensors = mapStateDict(stateDict, config, from);
  const epoch = /epoch(\d+)/.exec(path.basename(from));
  const kind = format === 'nh' ? 'neuralhydrology' : format;
  return writeBundle(options.output, {
    config,
    scaler,
    tensors,
    source: { kind, path: path.resolve(from), epoch: epoch ? Number(epoch[1]) || null : null },
  });
}

/** readRunConfig/readScaler read <dir>/config.yml and <dir>/scaler.json: the folder of a file with that name. */
function asRunDir(file: string, expectedName: string, option: string): string {
  if (!existsSync(file)) throw new InputError(`${option} ${file}: no such file`);
  if (path.basename(file) !== expectedName) throw new InputError(`${option} ${file}: expected a file named ${expectedName}`);
  return path.dirname(file);
}

function readSafetensorsDict(file: string): StateDict {
  const { tensors } = readSafetensors(file);
  return new Map(Object.entries(tensors).map(([name, t]) => [name, { shape: t.shape, data: Float64Array.from(t.data) }]));
}

const NH_MODELS: Record<string, 'lstm' | 'ealstm'> = { cudalstm: 'lstm', ealstm: 'ealstm' };

/** NH's config.yml as our RunConfig (same key names where both have one). */
function nhConfig(file: string): RunConfig {
  if (!existsSync(file)) throw new InputError(`neuralhydrology config ${file}: no such file (give --config)`);
  const raw = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (!raw || typeof raw !== 'object') throw new InputError(`${file}: not a YAML mapping`);
  const model = NH_MODELS[String(raw.model)];
  if (!model) throw new InputError(`${file}: model '${String(raw.model)}' cannot be imported (only cudalstm and ealstm)`);
  if (raw.output_activation != null && raw.output_activation !== 'linear') {
    throw new InputError(`${file}: output_activation '${String(raw.output_activation)}' cannot be imported (only a linear head)`);
  }
  const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  const forcings = Array.isArray(raw.forcings) ? raw.forcings : raw.forcings ? [raw.forcings] : ['daymet'];
  const ours = {
    experiment_name: String(raw.experiment_name ?? 'nh_import'),
    model,
    dataset: String(raw.dataset ?? 'camels_us'),
    data_dir: String(raw.data_dir ?? '.'),
    forcings: forcings.length === 1 ? forcings[0] : forcings,
    dynamic_inputs: raw.dynamic_inputs,
    static_attributes: raw.static_attributes ?? raw.camels_attributes ?? [],
    target_variables: raw.target_variables,
    train_basin_file: String(raw.train_basin_file),
    test_basin_file: String(raw.test_basin_file ?? raw.train_basin_file),
    train_start_date: String(first(raw.train_start_date)),
    train_end_date: String(first(raw.train_end_date)),
    test_start_date: String(first(raw.test_start_date ?? raw.train_start_date)),
    test_end_date: String(first(raw.test_end_date ?? raw.train_end_date)),
    seq_length: raw.seq_length,
    hidden_size: raw.hidden_size,
    output_dropout: raw.output_dropout ?? 0,
    ...(raw.initial_forget_bias != null ? { initial_forget_bias: raw.initial_forget_bias } : {}),
    ...(typeof raw.seed === 'number' ? { seed: raw.seed } : {}),
  };
  return parseConfig(stringify(ours), `${file} (converted from neuralhydrology)`, path.dirname(file));
}

/** NH's train_data_scaler.yml: attribute_means/stds and xarray-dumped feature center/scale per variable. */
function nhScaler(file: string, config: RunConfig): Scaler {
  if (!existsSync(file)) throw new InputError(`neuralhydrology scaler ${file}: no such file (give --scaler; the older train_data_scaler.p pickle is not read)`);
  if (file.endsWith('.p')) {
    // Older neuralhydrology versions pickled pandas Series and xarray Datasets here; rebuilding those would mean
    // running (or re-implementing) pandas' and xarray's own unpickling, which the safe reader refuses to do.
    throw new InputError(
      `neuralhydrology scaler ${file}: the pickled train_data_scaler.p of older neuralhydrology versions is not read; ` +
        'load it in Python (pickle.load) and write its attribute_means/attribute_stds and xarray_feature_center/' +
        'xarray_feature_scale as the train_data_scaler.yml current neuralhydrology versions write, then give that with --scaler',
    );
  }
  const raw = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Record<string, Record<string, unknown>>;
  const attributes = (kind: 'means' | 'stds', name: string): number => {
    const table = (raw[`attribute_${kind}`] ?? raw[`camels_attr_${kind}`]) as Record<string, unknown> | undefined;
    const v = table?.[name];
    if (typeof v !== 'number') throw new InputError(`${file}: no attribute_${kind} for static attribute '${name}'`);
    return v;
  };
  const feature = (key: 'xarray_feature_center' | 'xarray_feature_scale', name: string): number => {
    const vars = (raw[key]?.data_vars ?? {}) as Record<string, { data?: unknown }>;
    const v = vars[name]?.data;
    if (typeof v !== 'number') throw new InputError(`${file}: no ${key} for variable '${name}'`);
    return v;
  };
  const target = config.target_variables[0];
  return {
    dynamic_inputs: config.dynamic_inputs,
    input_mean: config.dynamic_inputs.map((n) => feature('xarray_feature_center', n)),
    input_std: config.dynamic_inputs.map((n) => feature('xarray_feature_scale', n)),
    target_variable: target,
    target_mean: feature('xarray_feature_center', target),
    target_std: feature('xarray_feature_scale', target),
    static_attributes: config.static_attributes,
    static_mean: config.static_attributes.map((n) => attributes('means', n)),
    static_std: config.static_attributes.map((n) => attributes('stds', n)),
  };
}

type Naming = 'nh' | 'paper' | 'ours';
function namingOf(sd: StateDict): Naming {
  if (sd.has('dynamic_gates.weight_ih') || sd.has('lstm.weight_ih_l0')) return 'nh';
  if (sd.has('lstm.weight_ih')) return 'paper';
  if (sd.has('weight_ih')) return 'ours';
  throw new InputError(`no known parameter naming (found ${[...sd.keys()].slice(0, 6).join(', ')}); see ealstm import --help`);
}

/** Our block b (f,o,g,i) is the source's block SOURCE_BLOCK[b]. */
const TORCH_LSTM_BLOCKS = [1, 3, 2, 0]; // torch.nn.LSTM: i,f,g,o
const PAPER_LSTM_BLOCKS = [0, 2, 3, 1]; // papercode/lstm.py: f,i,o,g

/** The state dict in our layout, every tensor's shape checked against the config's sizes. */
export function mapStateDict(sd: StateDict, config: RunConfig, file: string): Record<string, Tensor> {
  const naming = namingOf(sd);
  const d = config.dynamic_inputs.length;
  const s = config.static_attributes.length;
  const h = config.hidden_size;
  const sizes = `hidden_size ${h}, ${d} dynamic inputs, ${s} static attributes`;
  const used = new Set<string>();
  const get = (name: string, shape: number[]): Float64Array => {
    used.add(name);
    const t = sd.get(name);
    if (!t) throw new InputError(`${file}: parameter '${name}' is missing (the ${config.model} model with ${sizes} needs it)`);
    if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
      throw new InputError(`${file}: parameter '${name}' has shape [${t.shape}], expected [${shape}] for ${sizes} (does the config match the weights?)`);
    }
    return t.data;
  };
  const out: Record<string, Float64Array> = {};
  const fc = naming === 'nh' ? 'head.net.0.' : naming === 'paper' ? 'fc.' : 'fc_';
  if ((config.num_layers ?? 1) !== 1) throw new InputError(`${file}: only one-layer models can be imported (num_layers is ${config.num_layers})`);
  if (config.model === 'ealstm') {
    const g = 3 * h;
    if (naming === 'nh') {
      out.weight_ih = get('dynamic_gates.weight_ih', [d, g]);
      out.weight_hh = get('dynamic_gates.weight_hh', [h, g]);
      out.bias = get('dynamic_gates.bias', [g]);
      out.weight_sh = transpose(get('input_gate.weight', [h, s]), h, s);
      out.bias_s = get('input_gate.bias', [h]);
    } else {
      const p = naming === 'paper' ? 'lstm.' : '';
      for (const [name, shape] of [['weight_ih', [d, g]], ['weight_hh', [h, g]], ['bias', [g]], ['weight_sh', [s, h]], ['bias_s', [h]]] as const) {
        out[name] = get(p + name, [...shape]);
      }
    }
  } else {
    const g = 4 * h;
    if (naming === 'nh') {
      out.weight_ih = reorderBlocks(transpose(get('lstm.weight_ih_l0', [g, d + s]), g, d + s), d + s, h, TORCH_LSTM_BLOCKS);
      out.weight_hh = reorderBlocks(transpose(get('lstm.weight_hh_l0', [g, h]), g, h), h, h, TORCH_LSTM_BLOCKS);
      out.bias_ih = reorderBlocks(get('lstm.bias_ih_l0', [g]), 1, h, TORCH_LSTM_BLOCKS);
      out.bias_hh = reorderBlocks(get('lstm.bias_hh_l0', [g]), 1, h, TORCH_LSTM_BLOCKS);
    } else if (naming === 'paper') {
      out.weight_ih = reorderBlocks(get('lstm.weight_ih', [d + s, g]), d + s, h, PAPER_LSTM_BLOCKS);
      out.weight_hh = reorderBlocks(get('lstm.weight_hh', [h, g]), h, h, PAPER_LSTM_BLOCKS);
      out.bias_ih = reorderBlocks(get('lstm.bias', [g]), 1, h, PAPER_LSTM_BLOCKS);
      out.bias_hh = new Float64Array(g);
    } else {
      out.weight_ih = get('weight_ih', [d + s, g]);
      out.weight_hh = get('weight_hh', [h, g]);
      out.bias_ih = get('bias_ih', [g]);
      out.bias_hh = get('bias_hh', [g]);
    }
  }
  out.fc_weight = get(`${fc}weight`, [1, h]);
  out.fc_bias = get(`${fc}bias`, [1]);
  // A parameter the mapping does not use belongs to a part we do not have (an embedding network, a second layer):
  // importing without it would predict something else than the source model.
  const unused = [...sd.keys()].filter((name) => !used.has(name));
  if (unused.length > 0) {
    throw new InputError(`${file}: parameter(s) ${unused.slice(0, 4).map((n) => `'${n}'`).join(', ')} are not part of a one-layer ${config.model} (embedding networks and other architectures cannot be imported)`);
  }
  const layout = parameterLayout({ kind: config.model, dynamicInputs: d, staticInputs: s, hidden: h });
  return Object.fromEntries(layout.map((p) => [p.name, { shape: p.shape, data: out[p.name] }]));
}

/** [rows, cols] -> [cols, rows]. */
function transpose(v: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c];
  return out;
}

/** Rows of `blocks.length * h` columns: our block b takes the source's block source[b]. */
function reorderBlocks(v: Float64Array, rows: number, h: number, source: number[]): Float64Array {
  const width = source.length * h;
  const out = new Float64Array(v.length);
  for (let r = 0; r < rows; r++)
    for (let b = 0; b < source.length; b++) out.set(v.subarray(r * width + source[b] * h, r * width + (source[b] + 1) * h), r * width + b * h);
  return out;
}
