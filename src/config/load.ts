import path from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node } from 'yaml';
import type { z } from 'zod';
import { fileProblems, InputError } from '../util/errors.js';
import { parseDdMmYyyy } from '../util/dates.js';
import { readTextFile } from '../util/files.js';
import { warnOnce } from '../util/warnings.js';
import { configSchema, type RunConfig } from './schema.js';

const PATH_KEYS = ['data_dir', 'train_basin_file', 'test_basin_file', 'cache_dir', 'run_root', 'base_run_dir'] as const;

/** Reads, validates and resolves a YAML config; every problem names the file, line and key. */
export function loadConfig(file: string, defaults?: RunConfig): RunConfig {
  return parseConfig(readTextFile(file, 'config'), file, process.cwd(), defaults);
}

/**
 * With `defaults` (a resolved config, e.g. the base run of a fine-tuning), the file's keys override it and only
 * what changes needs to be written, as in neuralhydrology's fine-tuning configs.
 */
export function parseConfig(text: string, file: string, baseDir = process.cwd(), defaults?: RunConfig): RunConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new InputError(`config ${file}: invalid YAML: ${doc.errors[0].message}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  const isMapping = typeof raw === 'object' && raw !== null && !Array.isArray(raw);
  return configFromNode(defaults && isMapping ? { ...defaults, ...raw } : raw, doc.contents as Node | null, lineCounter, file, baseDir);
}

/**
 * Validates and resolves a config given as a parsed YAML mapping; `root` is its node in the document (for the
 * line numbers of errors), e.g. a whole config file or the inline `base:` of a study file.
 */
export function configFromNode(raw: unknown, root: Node | null, lineCounter: LineCounter, file: string, baseDir = process.cwd()): RunConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError(`config ${file}: expected a mapping of keys to values`);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const where = (issue: z.core.$ZodIssue, key?: string) => {
      const node = findNode(root, issue.path, key);
      const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
      return line ? `${file}:${line}` : file;
    };
    const messages = result.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => `${where(issue, k)}: unknown key '${k}'${suggest(k)}`).join('\n');
      }
      const key = issue.path.join('.') || '(top level)';
      const missing = issue.code === 'invalid_type' && (raw as Record<string, unknown>)[String(issue.path[0])] === undefined;
      return missing ? `${file}: key '${key}' is required but missing` : `${where(issue)}: key '${key}': ${issue.message}`;
    });
    throw fileProblems(file, 'config', messages);
  }
  const config = result.data;
  for (const key of PATH_KEYS) {
    const value = config[key];
    if (typeof value === 'string') (config as Record<string, unknown>)[key] = path.resolve(baseDir, value);
  }
  // `file:line` of a key (or of a list element: ('static_attributes', 2)), for the checks below.
  const at = (...keyPath: (string | number)[]): string => {
    const node = findNode(root, keyPath);
    const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    return line ? `${file}:${line}` : file;
  };
  validateDates(config, at);
  validateVariableLists(config, at);
  validateModelInputs(config, file);
  if (config.missing_values.length > 0 && config.dataset !== 'generic') {
    throw new InputError(
      `${at('missing_values')}: key 'missing_values' is for dataset generic only; the ${config.dataset} readers use the` +
        ' fixed missing-value rule (empty, NA, NaN, -999, -9999)',
    );
  }
  return config;
}

/**
 * A variable listed twice in dynamic_inputs or static_attributes is an error (it would be fed to the model twice
 * and counted twice in the scaler). The target listed as a dynamic input is allowed but warned about (once per
 * process): the model then sees the observed value of the very day it predicts, so its scores measure no
 * simulation; that can be meant (a data-assimilation experiment), but is usually a mistake.
 */
function validateVariableLists(config: RunConfig, at: (...keyPath: (string | number)[]) => string): void {
  for (const key of ['dynamic_inputs', 'static_attributes'] as const) {
    const names = config[key];
    names.forEach((name, j) => {
      const first = names.indexOf(name);
      if (first !== j) throw new InputError(`${at(key, j)}: key '${key}': '${name}' is listed twice (also item ${first + 1})`);
    });
  }
  const target = config.target_variables[0];
  const k = config.dynamic_inputs.indexOf(target);
  if (k >= 0) {
    warnOnce(
      `${at('dynamic_inputs', k)}: the target '${target}' is also listed in dynamic_inputs: the model sees the observed` +
        ' value of each day it predicts, so its scores do not measure a simulation',
      `target-as-input:${target}`,
    );
  }
}

/** An EA-LSTM computes its input gate from the static attributes: without any, it is not defined. */
function validateModelInputs(config: RunConfig, file: string): void {
  if (config.model === 'ealstm' && config.static_attributes.length === 0) {
    throw new InputError(`${file}: key 'static_attributes': model 'ealstm' needs at least one static attribute (its input gate is computed from them); list them or use model: lstm`);
  }
}

/** Each period's dates are calendar dates and its end is not before its start; errors name the file and line. */
function validateDates(config: RunConfig, at: (key: string) => string): void {
  for (const period of ['train', 'test'] as const) {
    const startKey = `${period}_start_date` as const;
    const endKey = `${period}_end_date` as const;
    const start = parseDdMmYyyy(config[startKey], `${at(startKey)}: ${startKey}`);
    const end = parseDdMmYyyy(config[endKey], `${at(endKey)}: ${endKey}`);
    if (end < start) {
      throw new InputError(`${at(endKey)}: ${endKey} ${config[endKey]} is before ${startKey} ${config[startKey]}`);
    }
  }
}

export function findNode(root: Node | null, keyPath: readonly PropertyKey[], lastKey?: string): Node | null {
  let node: Node | null = root;
  const keys = lastKey === undefined ? keyPath : [...keyPath, lastKey];
  for (let i = 0; i < keys.length; i++) {
    if (isSeq(node) && typeof keys[i] === 'number') {
      node = (node.items[keys[i] as number] as Node | undefined) ?? node;
      continue;
    }
    if (!isMap(node)) return node;
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(keys[i]));
    if (!pair) return node;
    // For the key itself (unknown keys) point at the key; otherwise at its value.
    node = (i === keys.length - 1 && lastKey !== undefined ? pair.key : pair.value) as Node | null;
  }
  return node;
}

const KNOWN_KEYS = Object.keys(configSchema.shape);
/** ` (did you mean 'x'?)` for the known key closest to a misspelt one, or '' when none is close. */
export function suggest(key: string, knownKeys: readonly string[] = KNOWN_KEYS): string {
  let best = '';
  let bestDistance = 4;
  for (const known of knownKeys) {
    const d = editDistance(key, known);
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/** The learning rate of an epoch (1-based) from a constant or an {epoch: lr} schedule. */
export function learningRateAt(schedule: RunConfig['learning_rate'], epoch: number): number {
  if (typeof schedule === 'number') return schedule;
  let rate = Number.NaN;
  let from = -1;
  for (const [key, value] of Object.entries(schedule)) {
    const e = Number(key);
    if (e <= epoch && e > from) [rate, from] = [value, e];
  }
  if (Number.isNaN(rate)) throw new InputError(`learning_rate: the schedule has no entry at or before epoch ${epoch}`);
  return rate;
}

export function forcingOf(config: RunConfig): 'daymet' | 'maurer' | 'maurer_extended' | 'nldas' {
  return Array.isArray(config.forcings) ? config.forcings[0] : config.forcings;
}
