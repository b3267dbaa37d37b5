/**
 * The datasets the tool reads, by the name a config gives as `dataset:`. Adding a dataset is one reader file
 * exporting a DatasetReader (data/types.ts) and one line here; the config, the cache and the periods look it up
 * by name.
 */
import { camelsUsDataset } from './camels-us.js';
import { caravanDataset } from './caravan.js';
import { genericDataset } from './generic.js';
import { type DatasetReader } from './types.js';
import { InputError } from '../util/errors.js';

const DATASETS = {
  camels_us: camelsUsDataset,
  caravan: caravanDataset,
  generic: genericDataset,
} satisfies Record<string, DatasetReader>;

export type DatasetName = keyof typeof DATASETS;

/** The registered dataset names. */
export function datasetNames(): DatasetName[] {
  return Object.keys(DATASETS) as DatasetName[];
}

/** The reader of a dataset; an unknown name is an InputError listing the known ones. */
export function datasetReader(name: string): DatasetReader {
  if (!Object.hasOwn(DATASETS, name)) {
    throw new InputError(`unknown dataset '${name}' (key 'dataset'; known: ${datasetNames().join(', ')})`);
  }
  return DATASETS[name as DatasetName];
}
