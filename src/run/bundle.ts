/**
 * The model bundle: one folder (conventionally named *.ealstm) that holds everything needed to run a trained model
 * somewhere else, and nothing tied to the machine it was trained on:
 *
 *   bundle.json       format, model kind, sizes, seq_length, inputs/attributes/target with units, source, epoch
 *   model.safetensors the weights in our layout (names and gate orders of models/layout.ts)
 *   scaler.json       the normalisation (run-dir.ts format)
 *   config.yml        the run config (data_dir, basins and periods as trained; predict takes --data-dir/--dataset)
 *   model_card.md     what a person needs to know: training basins and periods, metrics, data attribution
 *
 * loadRun accepts a bundle wherever it accepts a run directory (config.yml and scaler.json are where a run keeps
 * them; the weights are model.safetensors).
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { RunConfig } from '../config/schema.js';
import type { Scaler } from '../data/scaler.js';
import { InputError } from '../util/errors.js';
import { BUNDLE_FORMAT, type BundleInfo, type NamedInput, parseBundleInfo } from './bundle-info.js';
import { writeFileAtomic } from '../util/files.js';
import { median } from '../util/numeric.js';
import type { Tensor } from '../util/safetensors.js';
import { writeSafetensors } from '../util/safetensors-file.js';
import { configFile, createRunDirectory, scalerFile } from './run-dir.js';

export const bundleInfoFile = (dir: string) => path.join(dir, 'bundle.json');
export const bundleWeightsFile = (dir: string) => path.join(dir, 'model.safetensors');
export const modelCardFile = (dir: string) => path.join(dir, 'model_card.md');

/** The bundle's record, or null when `dir` is not a bundle (e.g. a run directory). */
export function readBundleInfo(dir: string): BundleInfo | null {
  const file = bundleInfoFile(dir);
  return existsSync(file) ? parseBundleInfo(readFileSync(file, 'utf8'), file) : null;
}

/** CAMELS-US attribute units (Addor et al. 2017); names with a "(unit)" suffix carry their own. */
const ATTRIBUTE_UNITS: Record<string, string> = {
  p_mean: 'mm/day', pet_mean: 'mm/day', p_seasonality: '-', frac_snow: '-', aridity: '-', high_prec_freq: 'days/yr',
  high_prec_dur: 'days', low_prec_freq: 'days/yr', low_prec_dur: 'days', elev_mean: 'm', slope_mean: 'm/km',
  area_gages2: 'km2', frac_forest: '-', lai_max: '-', lai_diff: '-', gvf_max: '-', gvf_diff: '-',
  soil_depth_pelletier: 'm', soil_depth_statsgo: 'm', soil_porosity: '-', soil_conductivity: 'cm/hr',
  max_water_content: 'm', sand_frac: '%', silt_frac: '%', clay_frac: '%', carbonate_rocks_frac: '-',
  geol_permeability: 'log10(m2)',
};

export function withUnit(name: string): NamedInput {
  const m = /\(([^()]+)\)\s*$/.exec(name);
  return { name, unit: m ? m[1] : (ATTRIBUTE_UNITS[name] ?? '') };
}

export interface BundleContents {
  config: RunConfig;
  scaler: Scaler;
  /** Weights by our parameter name (models/layout.ts). */
  tensors: Record<string, Tensor>;
  source: BundleInfo['source'];
  /** The training basins' ids, where known (a run's train_basin_file). */
  trainBasins?: string[];
  /** Extra sections of the model card (markdown), e.g. the test metrics. */
  cardSections?: string[];
}

/**
 * Writes a bundle to `output`, built aside and renamed into place, so a failure leaves nothing half-written.
 * An existing `output` is replaced only when it is a bundle (this command's own kind of folder).
 */
export function writeBundle(output: string, contents: BundleContents): BundleInfo {
  if (existsSync(output) && !existsSync(bundleInfoFile(output))) {
    throw new InputError(`--output ${output} exists and is not a model bundle; choose a new name (nothing was written)`);
  }
  const { config, scaler, source } = contents;
  const info: BundleInfo = {
    format: BUNDLE_FORMAT,
    version: 1,
    model: config.model,
    hidden_size: config.hidden_size,
    num_layers: config.num_layers,
    seq_length: config.seq_length,
    dynamic_inputs: config.dynamic_inputs.map(withUnit),
    static_attributes: config.static_attributes.map(withUnit),
    target_variable: withUnit(config.target_variables[0]),
    source,
    train_basins: contents.trainBasins ?? [],
    epoch: source.epoch ?? 1,
    created: new Date().toISOString(),
  };
  const temp = `${output.replace(/[/\\]+$/, '')}.partial-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  createRunDirectory(temp);
  try {
    writeSafetensors(bundleWeightsFile(temp), contents.tensors, { format: 'ealstm', model: config.model });
    writeFileAtomic(scalerFile(temp), `${JSON.stringify(scaler, null, 2)}\n`);
    writeFileAtomic(configFile(temp), stringify(config));
    writeFileAtomic(modelCardFile(temp), modelCard(info, config, contents.cardSections ?? []));
    writeFileAtomic(bundleInfoFile(temp), `${JSON.stringify(info, null, 2)}\n`);
    if (existsSync(output)) rmSync(output, { recursive: true });
    renameSync(temp, output);
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
  return info;
}

function modelCard(info: BundleInfo, config: RunConfig, sections: string[]): string {
  const list = (items: NamedInput[]) => items.map((i) => `\`${i.name}\`${i.unit ? ` (${i.unit})` : ''}`).join(', ') || 'none';
  return [
    `# ${config.experiment_name}: ${info.model === 'ealstm' ? 'EA-LSTM' : 'LSTM'} rainfall-runoff model`,
    '',
    `- Model: ${info.model}, hidden size ${info.hidden_size}, ${info.num_layers} layer(s), sequence length ${info.seq_length} days`,
    `- Dynamic inputs: ${list(info.dynamic_inputs)}`,
    `- Static attributes: ${list(info.static_attributes)}`,
    `- Target: ${list([info.target_variable])}`,
    `- Source: ${info.source.kind} \`${info.source.path}\`${info.source.epoch ? `, epoch ${info.source.epoch}` : ''}`,
    `- Dataset: ${config.dataset} (forcing ${String(config.forcings)}); training basins: ${basinList(info.train_basins, config.train_basin_file)}`,
    `- Training period: ${config.train_start_date} to ${config.train_end_date}; test period: ${config.test_start_date} to ${config.test_end_date}`,
    '',
    ...sections,
    '## Use',
    '',
    '`ealstm predict --run-dir <this folder> --data-dir <data> --dataset <layout> --basins <ids> --start DD/MM/YYYY --end DD/MM/YYYY --output <dir>`.',
    'Inputs are normalised with scaler.json; the model is valid only for basins and inputs like those it was trained on.',
    '',
    '## Data attribution',
    '',
    '- CAMELS: Newman et al. (2014), doi:10.5065/D6MW2F4D; Addor et al. (2017), doi:10.5194/hess-21-5293-2017.',
    '- Caravan: Kratzert et al. (2023), doi:10.1038/s41597-023-01975-w (CC-BY-4.0; cite the source datasets).',
    '- Model: Kratzert et al. (2019), doi:10.5194/hess-23-5089-2019.',
    '',
  ].join('\n');
}

function basinList(basins: string[], file: string): string {
  if (basins.length === 0) return `as listed in \`${path.basename(file)}\` of the source (not included)`;
  const shown = basins.slice(0, 40).join(', ');
  return `${basins.length} (${shown}${basins.length > 40 ? ', ... see bundle.json' : ''})`;
}

/** A markdown section summarising <run>/test/metrics.csv (basin,NSE,...): median and count per metric. */
export function metricsSection(rows: { header: string[]; rows: string[][] }): string[] {
  const lines = ['## Test metrics (per-basin median)', '', '| metric | median | basins |', '|---|---|---|'];
  rows.header.forEach((name, col) => {
    if (col === 0) return;
    // Empty cells are undefined scores, not zeros; a column with text (e.g. note) is no metric.
    const cells = rows.rows.map((r) => (r[col] ?? '').trim()).filter((c) => c !== '');
    const values = cells.map(Number);
    if (values.some((v) => Number.isNaN(v))) return;
    if (values.length > 0) lines.push(`| ${name} | ${median(values).toFixed(3)} | ${values.length} |`);
  });
  return [...lines, ''];
}
