import { accessSync, closeSync, constants, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';

/**
 * Writes a file so that readers only ever see the old or the complete new content: write a temporary file in
 * the same folder, flush it, then rename over the target (atomic on POSIX file systems).
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** A text file's content; an unreadable file is an InputError naming it, after `what` (e.g. 'config'). */
export function readTextFile(file: string, what = ''): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`${what ? `${what} ` : ''}${file}: cannot read (${(err as Error).message})`);
  }
}

/** The lines of a text file, without a UTF-8 byte-order mark and without trailing blank lines. */
export function readTextLines(file: string, what = ''): string[] {
  const lines = readTextFile(file, what).replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  return lines;
}

/** Why a folder cannot be written, from the error of access(W_OK). */
function notWritableReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return (err as Error).message;
}

function assertWritable(folder: string, subject: string): void {
  try {
    accessSync(folder, constants.W_OK);
  } catch (err) {
    throw new InputError(`${subject}: cannot write to ${folder} (${notWritableReason(err)})`);
  }
}

/**
 * Checks, before any work starts, that the output folder `dir` given by `option` (e.g. '--output') can be
 * written: it is a folder or does not exist yet, and the nearest existing folder on its path is writable (the
 * writers create the missing folders). Creates nothing, so a run that fails later leaves no empty folders.
 */
export function checkWritableDir(dir: string, option: string): void {
  const subject = `${option} ${dir}`;
  const target = path.resolve(dir);
  let existing = target;
  // existsSync is false below a file (ENOTDIR), so this walk stops at that file.
  while (!existsSync(existing)) existing = path.dirname(existing);
  if (!statSync(existing).isDirectory()) {
    throw new InputError(existing === target ? `${subject}: is a file, not a folder` : `${subject}: ${existing} is a file, not a folder`);
  }
  assertWritable(existing, subject);
}

/**
 * Checks, before any work starts, that the output file `file` given by `option` can be written atomically: it is
 * not a folder, and its folder is writable (a temporary file is made there). A missing folder is an error unless
 * the writer creates it (`createsFolder`); then its nearest existing folder must be writable.
 */
export function checkWritableFile(file: string, option: string, options: { createsFolder?: boolean } = {}): void {
  const subject = `${option} ${file}`;
  const target = path.resolve(file);
  if (existsSync(target) && statSync(target).isDirectory()) throw new InputError(`${subject}: is a folder, expected a file name`);
  const folder = path.dirname(target);
  if (options.createsFolder) {
    checkWritableDir(folder, option);
    return;
  }
  if (!existsSync(folder)) throw new InputError(`${subject}: the folder ${folder} does not exist`);
  if (!statSync(folder).isDirectory()) throw new InputError(`${subject}: ${folder} is a file, not a folder`);
  assertWritable(folder, subject);
}

/** Checks that `dir` given by `option` is an existing folder (an input such as a run directory). */
export function checkExistingDir(dir: string, option: string): void {
  if (!existsSync(dir)) throw new InputError(`${option} ${dir}: no such folder`);
  if (!statSync(dir).isDirectory()) throw new InputError(`${option} ${dir}: is a file, not a folder`);
}
