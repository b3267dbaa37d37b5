import { InvalidArgumentError } from 'commander';

/** Commander parser for a positive integer option. */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Commander parser for --period. */
export function periodOption(value: string): 'test' | 'train' {
  if (value !== 'test' && value !== 'train') throw new InvalidArgumentError("expected 'test' or 'train'");
  return value;
}

/** Commander parser for a non-negative integer option. */
export function integerOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}
