/**
 * What the browser page does with the files a person gives it, without the page's DOM, so Node tests run it too:
 * a model bundle's files become a model, and a basin's time-series CSV (the generic dataset's format) with, for a
 * model that takes static attributes, an attributes CSV becomes the simulation `ealstm predict` writes for the same
 * files (window mode, every day of the CSV; the first seq_length-1 days are warm-up). Every part is the code the CLI
 * runs: the bundle, scaler, safetensors and CSV readers, the model, simulateWindows and the predict CSV writer.
 */
import type { ComputeBackend } from '../compute/backend.js';
import { ReferenceBackend } from '../compute/reference.js';
import { parseKeyedTable, requireAllAttributes, selectAttributes } from '../data/attribute-table.js';
import { periodRows } from '../data/period-rows.js';
import { parseScaler, type Scaler } from '../data/scaler.js';
import { parseGenericCsv } from '../data/time-series-csv.js';
import { simulateWindows } from '../evaluation/simulate.js';
import { type BasinCounts, simulationCsv } from '../evaluation/simulation-csv.js';
import { RecurrentModel } from '../models/model.js';
import { applyWeights } from '../models/weights.js';
import { type BundleInfo, parseBundleInfo } from '../run/bundle-info.js';
import { InputError } from '../util/errors.js';
import { missingValueRule } from '../util/missing.js';
import { decodeSafetensors, type Tensor } from '../util/safetensors.js';

/** The files of a bundle the page needs (run/bundle.ts writes them). */
export const BUNDLE_FILES = ['bundle.json', 'scaler.json', 'model.safetensors'] as const;

/** A model bundle as the page holds it. */
export interface PageBundle {
  /** The bundle's name, for messages (its folder name, or 'the example'). */
  name: string;
  info: BundleInfo;
  scaler: Scaler;
  tensors: Record<string, Tensor>;
}

/** One basin simulated from its CSV: the predict CSV text, its counts (with NSE and KGE) and the series to plot. */
export interface PageSimulation {
  basin: string;
  dates: Float64Array;
  qsim: Float64Array;
  qobs: Float64Array;
  csv: string;
  counts: BasinCounts;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The UTF-8 text of a file's bytes; an InputError naming the file where they are not UTF-8 text. */
export function fileText(bytes: Uint8Array, name: string): string {
  try {
    return decoder.decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw new InputError(`${name}: not a UTF-8 text file`);
  }
}

/**
 * A bundle from its files by base name (bundle.json, scaler.json, model.safetensors; others are ignored). The
 * scaler must describe the inputs bundle.json names, in its order.
 */
export function readPageBundle(files: ReadonlyMap<string, Uint8Array>, name: string): PageBundle {
  const missing = BUNDLE_FILES.filter((f) => !files.has(f));
  if (missing.length > 0) {
    throw new InputError(
      `model bundle ${name}: ${missing.join(', ')} missing; give the whole *.ealstm folder (ealstm export writes it), or its ${BUNDLE_FILES.join(', ')}`,
    );
  }
  const file = (f: (typeof BUNDLE_FILES)[number]) => `${name}/${f}`;
  const info = parseBundleInfo(fileText(files.get('bundle.json') as Uint8Array, file('bundle.json')), file('bundle.json'));
  const scaler = parseScaler(fileText(files.get('scaler.json') as Uint8Array, file('scaler.json')), file('scaler.json'));
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(scaler.dynamic_inputs, info.dynamic_inputs.map((i) => i.name)) || !same(scaler.static_attributes, info.static_attributes.map((i) => i.name))) {
    throw new InputError(`${file('scaler.json')}: its inputs are not those of ${file('bundle.json')} (files of two different bundles?)`);
  }
  const { tensors } = decodeSafetensors(files.get('model.safetensors') as Uint8Array, file('model.safetensors'));
  return { name, info, scaler, tensors };
}

/**
 * Windows run through the model at once: the memory the page needs grows with it. (Results may differ from predict's,
 * which takes 256, in the last float32 bits: a one-row product runs another kernel than a many-row one.)
 */
export const PAGE_BATCH = 64;

function emptyModel(info: BundleInfo, backend: ComputeBackend): RecurrentModel {
  return new RecurrentModel(backend, {
    kind: info.model,
    dynamicInputs: info.dynamic_inputs.length,
    staticInputs: info.static_attributes.length,
    hidden: info.hidden_size,
    layers: info.num_layers,
  });
}

/** The bundle's model on `backend`, in eval mode (no dropout). */
export function pageModel(bundle: PageBundle, backend: ComputeBackend): RecurrentModel {
  const model = emptyModel(bundle.info, backend);
  applyWeights(model, bundle.tensors, `${bundle.name}/model.safetensors`);
  return model;
}

/**
 * The lengths of the buffers the bundle's model allocates to simulate (PAGE_BATCH windows of seq_length days), found
 * by building it on a reference backend that records them: the page's WASM memory cannot grow once the model holds
 * views into it, so it is sized from these.
 */
export function pageAllocations(info: BundleInfo): number[] {
  const recording = new ReferenceBackend('float32');
  const lengths: number[] = [];
  const alloc = recording.alloc.bind(recording);
  recording.alloc = (n: number) => {
    lengths.push(n);
    return alloc(n);
  };
  emptyModel(info, recording).ensureCapacity(PAGE_BATCH, info.seq_length);
  return lengths;
}

/** The basin id a time-series file names (its base name without .csv), as the generic dataset's layout has it. */
export function basinOfFile(name: string): string {
  return name.replace(/^.*[/\\]/, '').replace(/\.csv$/i, '');
}

/**
 * Simulates the basin of a time-series CSV (`series.name` like 01022500.csv) with the bundle's model. The CSV needs
 * every dynamic input the model takes; the target column is optional (without it there are no NSE/KGE). A model
 * with static attributes needs `attributes`, a CSV whose first column holds basin ids, with the basin's row.
 */
export function simulatePage(
  bundle: PageBundle,
  model: RecurrentModel,
  series: { name: string; text: string },
  attributes: { name: string; text: string } | null,
): PageSimulation {
  const { info, scaler } = bundle;
  const basin = basinOfFile(series.name);
  const data = parseGenericCsv(series.text, series.name, basin, missingValueRule([]));
  const inputColumns = info.dynamic_inputs.map(({ name }) => {
    const column = data.variables.indexOf(name);
    if (column < 0) {
      throw new InputError(
        `${series.name}:1: no column '${name}'; the model takes ${info.dynamic_inputs.map((i) => i.name).join(', ')} (the CSV has ${data.variables.join(', ')})`,
      );
    }
    return column;
  });
  let statics: Float64Array = new Float64Array(0);
  if (info.static_attributes.length > 0) {
    if (!attributes) {
      throw new InputError(`the model takes ${info.static_attributes.length} static attributes: give an attributes CSV with a row for basin ${basin} too`);
    }
    const table = parseKeyedTable(attributes.text, attributes.name, ',', null);
    if (!table.rows.has(basin)) {
      const ids = [...table.rows.keys()];
      throw new InputError(
        `${attributes.name}: no row for basin '${basin}' (the basin is named by the time-series file, ${series.name}); its rows are ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', ...' : ''}`,
      );
    }
    const selected = selectAttributes([table], [basin], info.static_attributes.map((a) => a.name));
    requireAllAttributes(selected);
    statics = selected.values;
  }
  const seqLength = info.seq_length;
  const end = data.startDay + data.length - 1;
  const firstDay = data.startDay - (seqLength - 1);
  const rows = end - firstDay + 1;
  const period = periodRows(data, inputColumns, data.variables.indexOf(info.target_variable.name), firstDay, rows, statics);
  const [simulation] = simulateWindows(model, scaler, [period], seqLength, PAGE_BATCH);
  const { text, counts } = simulationCsv(simulation, simulation.status, simulation.qsim, null);
  return { basin, dates: simulation.dates, qsim: simulation.qsim, qobs: simulation.qobs, csv: text, counts };
}
