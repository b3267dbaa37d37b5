import { accessSync, closeSync, constants, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
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

/**
 * A text file's content, decoded as UTF-8 (a byte-order mark is dropped). An unreadable file, or one that is not
 * valid UTF-8 (e.g. saved as Latin-1, whose accented letters would otherwise silently become U+FFFD and turn an
 * existing path into a missing one), is an InputError naming it after `what` (e.g. 'config').
 */
export function readTextFile(file: string, what = ''): string {
  const label = `${what ? `${what} ` : ''}${file}`;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new InputError(`${label}: cannot read (${(err as Error).message})`);
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new InputError(`${label}: not UTF-8 text (${describeInvalidUtf8(bytes)}); save it as UTF-8`);
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Where the first invalid UTF-8 sequence of `bytes` is, as 'line L, byte B (0xXX)' (B: 1-based in the line). */
export function describeInvalidUtf8(bytes: Uint8Array): string {
  const at = firstInvalidUtf8(bytes);
  if (at < 0) return 'invalid byte sequence';
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at; i++) {
    if (bytes[i] === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line}, byte ${at - lineStart + 1}: 0x${bytes[at].toString(16).toUpperCase().padStart(2, '0')}`;
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629), or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Length of the sequence and the allowed range of its second byte (excludes overlong forms and surrogates).
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else return i;
    if (i + length > n || bytes[i + 1] < low || bytes[i + 1] > high) return i;
    for (let k = 2; k < length; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += length;
  }
  return -1;
}

/** The lines of a text file (see readTextFile), without trailing blank lines. */
export function readTextLines(file: string, what = ''): string[] {
  const lines = readTextFile(file, what).split(/\r?\n/);
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
  checkFolderWritable(dir, option, dir);
}

/** checkWritableDir for the folder `dir`; errors name `option` and the path the user gave (`given`). */
function checkFolderWritable(dir: string, option: string, given: string): void {
  const subject = `${option} ${given}`;
  let existing = path.resolve(dir);
  // existsSync is false below a file (ENOTDIR), so this walk stops at that file.
  while (!existsSync(existing)) existing = path.dirname(existing);
  if (!statSync(existing).isDirectory()) {
    throw new InputError(existing === path.resolve(given) ? `${subject}: is a file, not a folder` : `${subject}: ${existing} is a file, not a folder`);
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
  if (!options.createsFolder && !existsSync(folder)) throw new InputError(`${subject}: the folder ${folder} does not exist`);
  checkFolderWritable(folder, option, file);
}

/** Checks that `dir` given by `option` is an existing folder (an input such as a run directory). */
export function checkExistingDir(dir: string, option: string): void {
  if (!existsSync(dir)) throw new InputError(`${option} ${dir}: no such folder`);
  if (!statSync(dir).isDirectory()) throw new InputError(`${option} ${dir}: is a file, not a folder`);
}

/**
 * Removes `dir` and the folders above it up to and including `top`, each only while it is empty: undoes the
 * mkdirSync(dir, { recursive: true }) that returned `top` when the command then failed.
 */
export function removeEmptyFolders(dir: string, top: string): void {
  let folder = path.resolve(dir);
  const last = path.resolve(top);
  for (;;) {
    if (!existsSync(folder) || readdirSync(folder).length > 0) return;
    rmdirSync(folder);
    if (folder === last || path.dirname(folder) === folder) return;
    folder = path.dirname(folder);
  }
}
