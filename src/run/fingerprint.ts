/**
 * The fingerprint of a run, written once when the run directory is created (run.json): the resolved config and a
 * hash of it and of scaler.json. Resuming checks the run against it, so an edited config.yml or scaler.json (which
 * would make training and evaluation normalise or sample differently from the epochs already trained) is an error
 * naming what changed, instead of a silently inconsistent run.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configSchema, type RunConfig } from '../config/schema.js';
import type { Scaler } from '../data/scaler.js';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { scalerFile } from './run-dir.js';

export const fingerprintFile = (runDir: string) => path.join(runDir, 'run.json');

/** Keys that do not change what a run computes: threads, the parse cache's folder, where new runs are named, how often the loss is read. */
const IGNORED_KEYS = new Set(['num_workers', 'cache_dir', 'run_root', 'log_interval']);

export interface RunFingerprint {
  format: 'ealstm-run';
  created: string;
  config_sha256: string;
  scaler_sha256: string;
  /** The resolved config without the ignored keys, to name the keys that changed. */
  config: Record<string, unknown>;
}

/** JSON with object keys sorted, so equal values have equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function relevantConfig(config: RunConfig): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => !IGNORED_KEYS.has(k) && v !== undefined));
}

/** Writes run.json for a run whose config.yml and scaler.json were just written. */
export function writeFingerprint(runDir: string, config: RunConfig): void {
  const relevant = relevantConfig(config);
  const fingerprint: RunFingerprint = {
    format: 'ealstm-run',
    created: new Date().toISOString(),
    config_sha256: sha256(canonicalJson(relevant)),
    scaler_sha256: sha256(readFileSync(scalerFile(runDir))),
    config: relevant,
  };
  writeFileAtomic(fingerprintFile(runDir), `${JSON.stringify(fingerprint, null, 2)}\n`);
}

/** run.json of a run, or null for a run made before fingerprints existed. */
export function readFingerprint(runDir: string): RunFingerprint | null {
  const file = fingerprintFile(runDir);
  if (!existsSync(file)) return null;
  try {
    const fp = JSON.parse(readFileSync(file, 'utf8')) as RunFingerprint;
    if (fp.format !== 'ealstm-run' || typeof fp.config !== 'object' || typeof fp.scaler_sha256 !== 'string') throw new Error('unknown format');
    return fp;
  } catch (err) {
    throw new InputError(`${file}: not a valid run fingerprint (${(err as Error).message}); it is written when the run is created`);
  }
}

const show = (value: unknown) => (value === undefined ? '(absent)' : canonicalJson(value));

/**
 * The settings that shape the trained model and its inputs: with any of them changed, the saved weights compute
 * something else. (Test periods and basins, threads and the data folder's location may change after training.)
 */
const MODEL_KEYS = ['model', 'dataset', 'forcings', 'dynamic_inputs', 'static_attributes', 'target_variables', 'seq_length', 'hidden_size', 'num_layers'];

/**
 * A key's value when the run was created. A key the fingerprint lacks was added to the schema later: the run was
 * made with its default (so upgrading the tool never makes a run look edited).
 */
function valueAtCreation(fp: RunFingerprint, key: string): unknown {
  if (key in fp.config) return fp.config[key];
  const field = (configSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>)[key];
  const parsed = field?.safeParse(undefined);
  return parsed?.success ? parsed.data : undefined;
}

/** The keys among `keys` whose value in config.yml differs from the fingerprint, as "key (was x, now y)". */
function changedKeys(fp: RunFingerprint, config: RunConfig, keys?: readonly string[]): string[] {
  const now = relevantConfig(config);
  const candidates = keys ?? [...new Set([...Object.keys(fp.config), ...Object.keys(now)])].sort();
  return candidates
    .filter((k) => canonicalJson(valueAtCreation(fp, k) ?? null) !== canonicalJson(now[k] ?? null))
    .map((k) => `${k} (was ${show(valueAtCreation(fp, k))}, now ${show(now[k])})`);
}

function checkScalerFile(runDir: string, fp: RunFingerprint, why: string): void {
  if (sha256(readFileSync(scalerFile(runDir))) !== fp.scaler_sha256) {
    throw new InputError(`${scalerFile(runDir)} was changed after the run was created; ${why}`);
  }
}

/**
 * Checks, for resuming, that config.yml (as read now) and scaler.json are those the run was created with; throws
 * an InputError naming each changed key with its old and new value. Returns a note instead for a run without
 * run.json.
 */
export function checkFingerprint(runDir: string, config: RunConfig): string | null {
  const fp = readFingerprint(runDir);
  if (!fp) return `${runDir} has no run.json (made by an older version): edits of its config.yml cannot be detected`;
  const changed = changedKeys(fp, config);
  if (changed.length > 0) {
    throw new InputError(
      `${path.join(runDir, 'config.yml')} was edited after the run was created: ${changed.join('; ')}. ` +
        `A resumed run must keep its settings; restore them, or train a new run with the new config`,
    );
  }
  checkScalerFile(runDir, fp, 'a resumed run must normalise as its trained epochs did');
  return null;
}

/**
 * Checks, for using a run's weights (evaluate, analyses), that config.yml still describes the model that was
 * trained and that scaler.json is the one it was trained with; a run without run.json is not checked.
 */
export function checkModelSettings(runDir: string, config: RunConfig): void {
  const fp = readFingerprint(runDir);
  if (!fp) return;
  const changed = changedKeys(fp, config, MODEL_KEYS);
  if (changed.length > 0) {
    throw new InputError(
      `${path.join(runDir, 'config.yml')} was edited after training: ${changed.join('; ')}; ` +
        'the saved weights were trained with the original settings (restore them; only test periods and basins may change)',
    );
  }
  checkScalerFile(runDir, fp, 'the weights were trained on inputs normalised with the original one');
}

/**
 * Checks that the scaler fitted now (from the data as read now) is the run's scaler.json, naming the first
 * statistics that differ: the training data or the way it is read changed since the run was created.
 */
export function checkScalerUnchanged(runDir: string, stored: Scaler, fitted: Scaler): void {
  const differences: string[] = [];
  const fields = Object.keys(fitted) as (keyof Scaler)[];
  for (const field of fields) {
    const a = stored[field];
    const b = fitted[field];
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((v, i) => {
        if (v !== b[i]) differences.push(`${field}[${i}] ${v} -> ${b[i]}`);
      });
    } else if (canonicalJson(a) !== canonicalJson(b)) {
      differences.push(`${field} ${show(a)} -> ${show(b)}`);
    }
  }
  if (differences.length > 0) {
    const shown = differences.slice(0, 3).join(', ') + (differences.length > 3 ? `, and ${differences.length - 3} more` : '');
    throw new InputError(
      `${scalerFile(runDir)}: the training data changed since the run was created (the scaler fitted now differs: ${shown}); ` +
        'resuming would normalise differently from the trained epochs; train a new run',
    );
  }
}
