/**
 * The study file: a base config plus the axes of an experiment (config keys with lists of values, named
 * variants, k-fold cross-validation over the basins) and how to run it. Every problem names the file and line.
 */
import path from 'node:path';
import { isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';
import { configFromNode, findNode, loadConfig, suggest } from '../config/load.js';
import { configSchema, type RunConfig } from '../config/schema.js';
import { fileProblems, InputError } from '../util/errors.js';
import { readTextFile } from '../util/files.js';

export type AxisValue = string | number | boolean;

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a name of letters, digits, _ . - (it names folders)');
const positiveInt = z.number().int().positive();

/** Slurm resources; every key maps to the sbatch option of the same name (max_parallel: the %K of --array). */
const slurmSchema = z.strictObject({
  partition: z.string().min(1).optional(),
  account: z.string().min(1).optional(),
  time: z.string().min(1).optional(),
  cpus_per_task: positiveInt.optional(),
  mem: z.string().min(1).optional(),
  gres: z.string().min(1).optional(),
  max_parallel: positiveInt.optional(),
});
export type SlurmOptions = z.output<typeof slurmSchema>;

const studySchema = z.strictObject({
  name,
  description: z.string().optional(),
  /** A config file (path from the current directory, as config paths) or an inline config mapping. */
  base: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  /** Where the study's runs, fold lists and results go (default: studies-out/<name>, from the current directory). */
  output_dir: z.string().min(1).optional(),
  /** Named sets of config changes, e.g. the paper's LSTM without statics {model: lstm, static_attributes: []}. */
  variants: z.record(name, z.record(z.string(), z.unknown())).optional(),
  /** Config keys with the list of values to try; the runs are all combinations. */
  axes: z.record(z.string(), z.array(z.union([z.string(), z.number(), z.boolean()])).min(1)).optional(),
  /** k-fold cross-validation over the train basins: each run trains on k-1 folds, is evaluated on the held-out one. */
  folds: z
    .strictObject({
      k: z.number().int().min(2),
      seed: z.number().int().min(0).default(0),
      /** Evaluation period of the held-out basins: their calibration (train) period, as Appendix B, or the test period. */
      period: z.enum(['calibration', 'test']).default('calibration'),
    })
    .optional(),
  /** Compute threads of each run (jobs x threads never exceeds the cores). */
  threads: positiveInt.default(1),
  slurm: slurmSchema.default({}),
});

export interface StudyFile {
  file: string;
  name: string;
  description?: string;
  /** The validated base config (paths resolved). */
  base: RunConfig;
  outputDir: string;
  variants: { name: string; changes: Record<string, unknown> }[];
  axes: { key: string; values: AxisValue[] }[];
  folds?: { k: number; seed: number; period: 'calibration' | 'test' };
  threads: number;
  slurm: SlurmOptions;
  /** `file:line` of a config key set by a variant or axis (for errors found when a run's config is built). */
  where(kind: 'variants' | 'axes', key: string, variant?: string): string;
}

const CONFIG_KEYS = Object.keys(configSchema.shape);
const shape = configSchema.shape as Record<string, z.ZodType>;

/** Reads and validates a study file; `outputDir` overrides the file's output_dir. */
export function loadStudy(file: string, options: { outputDir?: string } = {}): StudyFile {
  const text = readTextFile(file, 'study file');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) throw new InputError(`study file ${file}: invalid YAML: ${doc.errors[0].message}`);
  const root = doc.contents as Node | null;
  const lineOf = (keys: PropertyKey[], lastKey?: string): string => {
    const node = findNode(root, keys, lastKey);
    return node?.range ? `${file}:${lineCounter.linePos(node.range[0]).line}` : file;
  };
  const raw = doc.toJS() ?? {};
  const parsed = studySchema.safeParse(raw);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const known = issue.path.length === 0 ? Object.keys(studySchema.shape) : [];
        return issue.keys.map((k) => `${lineOf(issue.path as PropertyKey[], k)}: unknown key '${k}'${suggest(k, known)}`).join('\n');
      }
      const key = issue.path.join('.') || '(top level)';
      return `${lineOf(issue.path as PropertyKey[])}: key '${key}': ${issue.message}`;
    });
    throw fileProblems(file, 'study file', messages);
  }
  const study = parsed.data;

  // Variants and axes may only set config keys, with values the config accepts.
  const problems: string[] = [];
  const checkKey = (where: PropertyKey[], key: string, values: unknown[]): void => {
    const schema = shape[key];
    if (!schema) {
      problems.push(`${lineOf(where, key)}: unknown config key '${key}'${suggest(key, CONFIG_KEYS)}`);
      return;
    }
    for (const value of values) {
      const result = schema.safeParse(value);
      if (!result.success) problems.push(`${lineOf([...where, key])}: key '${key}': ${JSON.stringify(value)}: ${result.error.issues[0]?.message}`);
    }
  };
  for (const [variant, changes] of Object.entries(study.variants ?? {})) {
    for (const [key, value] of Object.entries(changes)) {
      checkKey(['variants', variant], key, [value]);
      // The seed is an axis (or the base config's); names and folders are set by the study.
      if (['seed', 'experiment_name', 'run_root'].includes(key)) problems.push(`${lineOf(['variants', variant], key)}: '${key}' cannot be set by a variant`);
    }
  }
  for (const [key, values] of Object.entries(study.axes ?? {})) {
    checkKey(['axes'], key, values);
    if (new Set(values.map(String)).size !== values.length) problems.push(`${lineOf(['axes', key])}: axis '${key}' lists a value twice`);
    if (key === 'experiment_name' || key === 'run_root') problems.push(`${lineOf(['axes'], key)}: '${key}' is set by the study, not an axis`);
    if (study.variants && Object.values(study.variants).some((v) => key in v)) {
      problems.push(`${lineOf(['axes'], key)}: '${key}' is both an axis and changed by a variant`);
    }
  }
  if (study.folds) {
    for (const key of ['train_basin_file', 'test_basin_file'] as const) {
      if (study.axes && key in study.axes) problems.push(`${lineOf(['axes'], key)}: '${key}' is set by the folds of a k-fold study`);
    }
  }
  if (problems.length > 0) throw fileProblems(file, 'study file', problems);

  let base: RunConfig;
  if (typeof study.base === 'string') {
    base = loadConfig(study.base);
  } else {
    const baseNode = isMap(root) ? (root.items.find((p) => isScalar(p.key) && p.key.value === 'base')?.value as Node | null) : null;
    base = configFromNode(study.base, baseNode ?? null, lineCounter, file);
  }
  if (base.seed === undefined && !study.axes?.seed) {
    throw new InputError(`${file}: a study needs fixed seeds: set seed in the base config or give a seed axis (e.g. seed: [111, 222])`);
  }

  return {
    file,
    name: study.name,
    description: study.description,
    base,
    outputDir: path.resolve(options.outputDir ?? study.output_dir ?? path.join('studies-out', study.name)),
    variants: Object.entries(study.variants ?? {}).map(([n, changes]) => ({ name: n, changes })),
    axes: Object.entries(study.axes ?? {}).map(([key, values]) => ({ key, values })),
    folds: study.folds,
    threads: study.threads,
    slurm: study.slurm,
    where: (kind, key, variant) => (kind === 'variants' && variant ? lineOf(['variants', variant], key) : lineOf(['axes'], key)),
  };
}
