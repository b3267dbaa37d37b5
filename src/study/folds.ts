import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { Random } from '../util/random.js';

/**
 * Splits basins into k folds of nearly equal size (sizes differ by at most one) after a seeded shuffle; every
 * basin is in exactly one fold. Within a fold the basins keep the order of the list, so the files read well.
 */
export function kFoldSplit(basins: readonly string[], k: number, seed: number): string[][] {
  if (k > basins.length) throw new InputError(`folds: k = ${k} is more than the ${basins.length} basins to split`);
  const order = new Int32Array(basins.length).map((_, i) => i);
  new Random(seed, 0).shuffle(order);
  const folds: string[][] = [];
  for (let f = 0; f < k; f++) {
    const members = Array.from(order.slice(Math.floor((f * basins.length) / k), Math.floor(((f + 1) * basins.length) / k))).sort((a, b) => a - b);
    folds.push(members.map((i) => basins[i]));
  }
  return folds;
}

/** The basin files of fold f (1-based): training on the other folds, evaluation on this one. */
export function foldFiles(foldsDir: string, fold: number): { train: string; heldOut: string } {
  return { train: path.join(foldsDir, `fold${fold}_train.txt`), heldOut: path.join(foldsDir, `fold${fold}_heldout.txt`) };
}

/** Writes (or confirms) the fold files; a file that exists with other content is an error, never overwritten. */
export function writeFoldFiles(foldsDir: string, folds: string[][]): void {
  mkdirSync(foldsDir, { recursive: true });
  folds.forEach((heldOut, i) => {
    const files = foldFiles(foldsDir, i + 1);
    const train = folds.filter((_, j) => j !== i).flat();
    for (const [file, basins] of [[files.train, train], [files.heldOut, heldOut]] as const) {
      const text = `${basins.join('\n')}\n`;
      if (existsSync(file)) {
        if (readFileSync(file, 'utf8') !== text) {
          throw new InputError(`${file} holds another split of the basins (the study's basins, k or folds.seed changed?); move the study's output folder away to start it anew`);
        }
        continue;
      }
      writeFileAtomic(file, text);
    }
  });
}
