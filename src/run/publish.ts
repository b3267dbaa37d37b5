/**
 * Replacing a results folder (e.g. <run>/test/) so that a complete folder exists at every instant: the new
 * content is built in a staging folder, the old folder is renamed aside, the new one renamed in, and only then
 * is the old one removed. A process killed between the two renames leaves the old folder under its aside name;
 * `recoverInterruptedPublish` (called at the next start, under the directory's lock) renames it back.
 *
 * Entries of the old folder that the writer does not produce itself (e.g. signatures.csv or figures/, made by
 * other commands from the old predictions) are never deleted: the old folder is then kept whole, next to the new
 * one, as <name>.previous-<time>/.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pausePoint } from './pause.js';

export interface PublishResult {
  target: string;
  /** Whether a previous folder was replaced. */
  replaced: boolean;
  /** Entries of the previous folder that the writer does not make (derived outputs), sorted; folders end in '/'. */
  derived: string[];
  /** Where the previous folder was kept because it had derived entries. */
  keptAt?: string;
}

const asidePrefix = (name: string) => `.${name}.old-`;
const stagingPrefix = (name: string) => `.${name}.staging-`;

/** A new, empty staging folder for the next content of `target`, named uniquely for this process. */
export function createStaging(target: string): string {
  const staging = path.join(path.dirname(target), `${stagingPrefix(path.basename(target))}${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(staging, { recursive: true });
  return staging;
}

/** Entries of `folder` not in `own`, sorted, folders with a trailing '/'. */
function foreignEntries(folder: string, own: readonly string[]): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .filter((e) => !own.includes(e.name))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
    .sort();
}

function timestamp(date = new Date()): string {
  const two = (v: number) => String(v).padStart(2, '0');
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}-${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
}

/** <name>.previous-<time>, with a counter if that exists already. */
function previousName(dir: string, name: string): string {
  const base = path.join(dir, `${name}.previous-${timestamp()}`);
  let candidate = base;
  for (let i = 2; existsSync(candidate); i++) candidate = `${base}-${i}`;
  return candidate;
}

/** Flushes a directory's entries (the renames) to disk; best effort where the platform cannot. */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported (e.g. Windows): the renames are still atomic, only their durability is the OS's
  }
}

/** Retires an old folder that is no longer in place: deleted when it holds only `own` entries, else kept. */
function retireOld(old: string, target: string, own: readonly string[]): { derived: string[]; keptAt?: string } {
  const derived = foreignEntries(old, own);
  if (derived.length === 0) {
    rmSync(old, { recursive: true, force: true });
    return { derived };
  }
  const keptAt = previousName(path.dirname(target), path.basename(target));
  renameSync(old, keptAt);
  return { derived, keptAt };
}

/**
 * Moves the complete `staging` folder to `target`, replacing what is there (which the caller has checked is its
 * own output). `own` lists the entry names the writer produces; see the module comment for the others.
 */
export function publishFolder(staging: string, target: string, own: readonly string[]): PublishResult {
  const dir = path.dirname(target);
  const replaced = existsSync(target);
  const aside = path.join(dir, `${asidePrefix(path.basename(target))}${process.pid}`);
  if (replaced) {
    renameSync(target, aside);
    pausePoint('publish:old-aside');
  }
  renameSync(staging, target);
  syncDirectory(dir);
  if (!replaced) return { target, replaced, derived: [] };
  pausePoint('publish:new-in-place');
  const retired = retireOld(aside, target, own);
  syncDirectory(dir);
  return { target, replaced, ...retired };
}

/**
 * Where the previous content of `target` waits when a swap was interrupted between its renames (target missing,
 * the old folder still aside), for readers to say so; null otherwise. Readers do not repair (they hold no lock).
 */
export function interruptedPublish(target: string): string | null {
  const dir = path.dirname(target);
  if (existsSync(target) || !existsSync(dir)) return null;
  const aside = readdirSync(dir).find((n) => n.startsWith(asidePrefix(path.basename(target))));
  return aside ? path.join(dir, aside) : null;
}

/**
 * Repairs what an interrupted `publishFolder` of `target` left (call it holding the directory's lock, before
 * writing): an old folder renamed aside is put back when no new one replaced it, or retired like a completed
 * swap's; staging folders (never complete) are removed. Returns notes saying what was done.
 */
export function recoverInterruptedPublish(target: string, own: readonly string[]): string[] {
  const dir = path.dirname(target);
  const name = path.basename(target);
  if (!existsSync(dir)) return [];
  const notes: string[] = [];
  const leftovers = readdirSync(dir);
  // Newest first, so that if several were left (several crashes), the most recent results are restored.
  const asides = leftovers
    .filter((n) => n.startsWith(asidePrefix(name)))
    .map((n) => path.join(dir, n))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const old of asides) {
    if (!existsSync(target)) {
      renameSync(old, target);
      notes.push(`restored ${target} from ${path.basename(old)}: an earlier command was interrupted while replacing it`);
    } else {
      const { keptAt } = retireOld(old, target, own);
      if (keptAt) notes.push(`an earlier command was interrupted after replacing ${target}; kept the previous folder as ${keptAt}`);
    }
  }
  for (const staging of leftovers.filter((n) => n.startsWith(stagingPrefix(name)))) {
    rmSync(path.join(dir, staging), { recursive: true, force: true });
    notes.push(`removed ${path.join(dir, staging)}: incomplete output of an interrupted command`);
  }
  if (notes.length > 0) syncDirectory(dir);
  return notes;
}
