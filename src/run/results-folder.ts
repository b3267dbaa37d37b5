/**
 * Writing a results folder (<run>/<period>/ of evaluate, <ensemble>/<period>/ of ensemble) safely:
 * - an interrupted earlier write is repaired first (see publish.ts),
 * - a folder this tool did not write is never replaced (the caller's marker check),
 * - the new content is built aside and swapped in atomically,
 * - files other commands derived from the old results (signatures.csv, figures/) are not deleted: the old
 *   folder is kept with them, and the user is told which commands make them for the new results,
 * - a report page showing the old results is marked stale.
 * The caller holds the lock of the folder's parent directory.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { InputError } from '../util/errors.js';
import { shellQuote } from '../util/shell.js';
import { pausePoint } from './pause.js';
import { createStaging, type PublishResult, publishFolder, recoverInterruptedPublish } from './publish.js';
import { markReportStale } from './stale-report.js';

export interface ResultsFolderOptions {
  /** The folder to (re)write, e.g. <run>/test. */
  target: string;
  /** The entries the writer puts in it; anything else there was made by another command. */
  ownEntries: readonly string[];
  /** Whether an existing `target` is this writer's output (its marker file), i.e. may be replaced. */
  isOwnOutput: (folder: string) => boolean;
  /** Why an existing folder that is not the writer's output is refused (completes "<target> ..."). */
  notOwnReason: string;
  /** Commands that remake derived entries, by entry name (folders with a trailing '/'). */
  regenerate?: Readonly<Record<string, string>>;
  /** A report page that shows the folder's results, and the command that remakes it. */
  report?: { file: string; regenerate: string };
  /** Describes the replaced results for the notes, e.g. 'epoch 1, evaluated 2026-12-01 05:03'. */
  describeOld?: (folder: string) => string | null;
  /** Fills the staging folder with the complete new content. */
  write: (staging: string) => void;
}

export interface ResultsFolderOutcome {
  published: PublishResult;
  /** What the user should know: repairs of interrupted writes, what was replaced, what is stale and how to remake it. */
  notes: string[];
}

/** Writes a results folder as described in the module comment. */
export function replaceResultsFolder(options: ResultsFolderOptions): ResultsFolderOutcome {
  const { target } = options;
  const notes = recoverInterruptedPublish(target, options.ownEntries);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new InputError(`${target} is a file; it is not replaced (move it away first)`);
    if (!options.isOwnOutput(target)) throw new InputError(`${target} ${options.notOwnReason}; it is not replaced (move it away or choose another output)`);
  }
  pausePoint('results:recovered');
  const old = existsSync(target) ? options.describeOld?.(target) : null;
  const staging = createStaging(target);
  try {
    options.write(staging);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  const published = publishFolder(staging, target, options.ownEntries);
  if (published.replaced) notes.push(`replaced the previous results in ${target}${old ? ` (${old})` : ''}`);
  if (published.keptAt) {
    const commands = published.derived.map((entry) => options.regenerate?.[entry]).filter((c): c is string => Boolean(c));
    const one = published.derived.length === 1;
    notes.push(
      `${published.derived.join(', ')} ${one ? 'was' : 'were'} made from the previous results, so the previous folder is kept ` +
        `whole as ${published.keptAt}` +
        (commands.length > 0 ? `; to make ${one ? 'it' : 'them'} for the new results run: ${[...new Set(commands)].join('; ')}` : ''),
    );
  }
  if (options.report && markReportStale(options.report.file, `The results it shows were replaced by a newer run of the command; regenerate it with: ${options.report.regenerate}`)) {
    notes.push(`${options.report.file} shows the previous results: marked it stale; regenerate it with: ${options.report.regenerate}`);
  }
  return { published, notes };
}


/** `--run-dir <dir>` plus ` --period <period>` unless it is the default test period. */
export function runDirArgs(dir: string, period: string): string {
  return `--run-dir ${shellQuote(dir)}${period === 'test' ? '' : ` --period ${period}`}`;
}

/** The commands that remake what other commands derive from the results folder of `dir` (a run or an ensemble). */
export function derivedOutputCommands(dir: string, period: string): Record<string, string> {
  const args = runDirArgs(dir, period);
  return { 'signatures.csv': `ealstm signatures ${args}`, 'figures/': `ealstm figures ${args}` };
}
