import path from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, type Node } from 'yaml';
import type { z } from 'zod';
import { InputError } from '../util/errors.js';
import { parseDdMmYyyy } from '../util/dates.js';
import { readTextFile } from '../util/files.js';
import { configSchema, type RunConfig } from './schema.js';

const PATH_KEYS = ['data_dir', 'train_basin_file', 'test_basin_file', 'cache_dir', 'run_root'] as const;

/** Reads, validates and resolves a YAML config; every problem names the file, line and key. */
export function loadConfig(file: string): RunConfig {
  return parseConfig(readTextFile(file, 'config'), file);
}

export function parseConfig(text: string, file: string, baseDir = process.cwd()): RunConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new InputError(`config ${file}: invalid YAML: ${doc.errors[0].message}`);
  }
  return configFromNode(doc.toJS() ?? {}, doc.contents as Node | null, lineCounter, file, baseDir);
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
    // The first line names the file (the CLI prints it after `error:`); several problems follow it, one a line.
    throw new InputError(messages.length === 1 ? messages[0] : `config ${file}: ${messages.length} errors\n${messages.join('\n')}`);
  }
  const config = result.data;
  for (const key of PATH_KEYS) {
    const value = config[key];
    if (typeof value === 'string') (config as Record<string, unknown>)[key] = path.resolve(baseDir, value);
  }
  validateDates(config, file);
  validateModelInputs(config, file);
  return config;
}

/** An EA-LSTM computes its input gate from the static attributes: without any, it is not defined. */
function validateModelInputs(config: RunConfig, file: string): void {
  if (config.model === 'ealstm' && config.static_attributes.length === 0) {
    throw new InputError(`${file}: key 'static_attributes': model 'ealstm' needs at least one static attribute (its input gate is computed from them); list them or use model: lstm`);
  }
}

function validateDates(config: RunConfig, file: string): void {
  for (const period of ['train', 'test'] as const) {
    const start = parseDdMmYyyy(config[`${period}_start_date`], `${file}: ${period}_start_date`);
    const end = parseDdMmYyyy(config[`${period}_end_date`], `${file}: ${period}_end_date`);
    if (end < start) throw new InputError(`${file}: ${period}_end_date ${config[`${period}_end_date`]} is before ${period}_start_date`);
  }
}

export function findNode(root: Node | null, keyPath: readonly PropertyKey[], lastKey?: string): Node | null {
  let node: Node | null = root;
  const keys = lastKey === undefined ? keyPath : [...keyPath, lastKey];
  for (let i = 0; i < keys.length; i++) {
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
