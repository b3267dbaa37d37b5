/**
 * A model bundle's record (bundle.json; run/bundle.ts describes the bundle), parsed from text so the browser page
 * reads bundles with the same checks.
 */
import { InputError } from '../util/errors.js';

export const BUNDLE_FORMAT = 'ealstm-bundle';

export interface NamedInput {
  name: string;
  /** The unit, where the name or the attribute table states it ('' where unknown; '-' dimensionless). */
  unit: string;
}

export interface BundleInfo {
  format: typeof BUNDLE_FORMAT;
  version: 1;
  model: 'lstm' | 'ealstm';
  hidden_size: number;
  num_layers: number;
  seq_length: number;
  dynamic_inputs: NamedInput[];
  static_attributes: NamedInput[];
  target_variable: NamedInput;
  /** Where the weights came from: a run directory of ours, or an imported file and its format. */
  source: { kind: 'run' | 'neuralhydrology' | 'paper' | 'safetensors'; path: string; epoch: number | null };
  /** The training basins' ids (empty where the source does not say, e.g. an import without its basin file). */
  train_basins: string[];
  /** The epoch loadRun reports for the bundle (the source's, or 1 for an import without one). */
  epoch: number;
  created: string;
}

/** The record in the text of a bundle's bundle.json; `file` names it in errors. */
export function parseBundleInfo(text: string, file: string): BundleInfo {
  let info: BundleInfo;
  try {
    info = JSON.parse(text) as BundleInfo;
  } catch {
    throw new InputError(`${file}: not valid JSON (a damaged model bundle?)`);
  }
  if (info.format !== BUNDLE_FORMAT) throw new InputError(`${file}: format '${String(info.format)}', expected '${BUNDLE_FORMAT}'`);
  const positive = (key: 'epoch' | 'hidden_size' | 'num_layers' | 'seq_length') => {
    if (!Number.isInteger(info[key]) || info[key] < 1) throw new InputError(`${file}: '${key}' must be a positive integer`);
  };
  (['epoch', 'hidden_size', 'num_layers', 'seq_length'] as const).forEach(positive);
  if (info.model !== 'lstm' && info.model !== 'ealstm') throw new InputError(`${file}: 'model' must be 'lstm' or 'ealstm', got '${String(info.model)}'`);
  const named = (x: unknown) => typeof x === 'object' && x !== null && typeof (x as NamedInput).name === 'string';
  for (const key of ['dynamic_inputs', 'static_attributes'] as const) {
    if (!Array.isArray(info[key]) || !info[key].every(named)) throw new InputError(`${file}: '${key}' must be a list of {name, unit}`);
  }
  if (!named(info.target_variable)) throw new InputError(`${file}: 'target_variable' must be {name, unit}`);
  return info;
}
