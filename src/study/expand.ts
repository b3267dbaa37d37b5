import path from 'node:path';
import { LineCounter } from 'yaml';
import { configFromNode } from '../config/load.js';
import type { RunConfig } from '../config/schema.js';
import { readBasinList } from '../data/basin-list.js';
import { InputError } from '../util/errors.js';
import { foldFiles, kFoldSplit } from './folds.js';
import type { AxisValue, StudyFile } from './study-file.js';

/** One training run of a study. */
export interface StudyRun {
  /** Position in the study's run list (stable for a given study file). */
  index: number;
  /** Readable path below <output>/runs: <variant>/<axis values>/fold<f>/seed<s>. */
  name: string;
  /** Absolute run directory. */
  dir: string;
  variant?: string;
  /** The axis values of this run, seed excluded. */
  values: Record<string, AxisValue>;
  /** 1-based held-out fold of a k-fold study. */
  fold?: number;
  seed: number;
  /** The run's name without fold and seed: a model of the comparison, a setting of the grid search. */
  setup: string;
  config: RunConfig;
}

export interface ExpandedStudy {
  study: StudyFile;
  runs: StudyRun[];
  /** The k folds of basins (k-fold studies only). */
  folds?: string[][];
  runsDir: string;
  foldsDir: string;
}

/** `key-value`, with characters that do not belong in a folder name replaced. */
function segment(key: string, value: AxisValue): string {
  return `${key}-${String(value).replace(/[^A-Za-z0-9.+-]/g, '_')}`;
}

/** Every combination of variants, axes, folds and seeds, in file order (seeds innermost). */
export function expandStudy(study: StudyFile): ExpandedStudy {
  const runsDir = path.join(study.outputDir, 'runs');
  const foldsDir = path.join(study.outputDir, 'folds');
  const seedAxis = study.axes.find((a) => a.key === 'seed');
  const seeds = (seedAxis?.values ?? [study.base.seed as number]).map(Number);
  const axes = study.axes.filter((a) => a.key !== 'seed');
  const variants = study.variants.length > 0 ? study.variants : [undefined];

  let folds: string[][] | undefined;
  if (study.folds) {
    for (const v of study.variants) {
      for (const key of ['train_basin_file', 'test_basin_file']) {
        if (key in v.changes) throw new InputError(`${study.where('variants', key, v.name)}: '${key}' is set by the folds of a k-fold study`);
      }
    }
    folds = kFoldSplit(readBasinList(study.base.train_basin_file), study.folds.k, study.folds.seed);
  }

  // Cartesian product of the axes, first axis outermost.
  let combos: Record<string, AxisValue>[] = [{}];
  for (const axis of axes) combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.key]: v })));
  const foldList: (number | undefined)[] = folds ? folds.map((_, i) => i + 1) : [undefined];

  const runs: StudyRun[] = [];
  for (const variant of variants) {
    for (const values of combos) {
      const setupParts = [variant?.name, axes.length > 0 ? axes.map((a) => segment(a.key, values[a.key])).join('_') : undefined];
      const setup = setupParts.filter((p) => p !== undefined).join('/') || study.name;
      for (const fold of foldList) {
        for (const seed of seeds) {
          const name = [...setupParts, fold === undefined ? undefined : `fold${fold}`, `seed${seed}`].filter((p) => p !== undefined).join('/');
          const raw: Record<string, unknown> = { ...study.base, ...variant?.changes, ...values, seed, experiment_name: study.name };
          if (fold !== undefined && study.folds) {
            const files = foldFiles(foldsDir, fold);
            raw.train_basin_file = files.train;
            raw.test_basin_file = files.heldOut;
            if (study.folds.period === 'calibration') {
              raw.test_start_date = raw.train_start_date;
              raw.test_end_date = raw.train_end_date;
            }
          }
          const config = configFromNode(raw, null, new LineCounter(), `${study.file} (run ${name})`);
          runs.push({ index: runs.length, name, dir: path.join(runsDir, name), variant: variant?.name, values, fold, seed, setup, config });
        }
      }
    }
  }
  return { study, runs, folds, runsDir, foldsDir };
}

/** The runs named by `names` (as listed by `study plan`), in study order; an unknown name is an error. */
export function selectRuns(expanded: ExpandedStudy, names: readonly string[]): StudyRun[] {
  const byName = new Map(expanded.runs.map((r) => [r.name, r]));
  return names.map((n) => {
    const run = byName.get(n);
    if (!run) throw new InputError(`study ${expanded.study.name}: no run named '${n}' (see \`ealstm study plan ${expanded.study.file}\`)`);
    return run;
  });
}
