import { readTextFile } from '../util/files.js';
import { InputError } from '../util/errors.js';

/** Reads a basin file: one id per line; blank lines and '#' comments are ignored. */
export function readBasinList(file: string): string[] {
  const basins = readTextFile(file, 'basin file')
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line.length > 0);
  if (basins.length === 0) throw new InputError(`basin file ${file}: the basin list is empty`);
  const seen = new Set<string>();
  for (const b of basins) {
    if (seen.has(b)) throw new InputError(`basin file ${file}: basin ${b} is listed twice`);
    seen.add(b);
  }
  return basins;
}
