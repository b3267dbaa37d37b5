import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
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
