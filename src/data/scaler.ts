import { z } from 'zod';
import { InputError } from '../util/errors.js';

/** Standardisation statistics, stored with the run as scaler.json. */
export interface Scaler {
  dynamic_inputs: string[];
  input_mean: number[];
  input_std: number[];
  target_variable: string;
  target_mean: number;
  target_std: number;
  static_attributes: string[];
  static_mean: number[];
  static_std: number[];
}

/** Running mean/std over many values, NaN skipped (Welford, population std as xarray's default). */
export class RunningStats {
  count = 0;
  mean = 0;
  private m2 = 0;
  add(x: number): void {
    if (Number.isNaN(x)) return;
    this.count++;
    const delta = x - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (x - this.mean);
  }
  std(ddof = 0): number {
    return Math.sqrt(this.m2 / (this.count - ddof));
  }
}

/**
 * Mean and std (ddof=1, as pandas in the paper code) of each attribute across the training basins.
 * An attribute without variance cannot be standardised: that is an error naming it.
 */
export function attributeStatistics(names: string[], values: Float64Array, basins: string[]): { mean: number[]; std: number[] } {
  const mean: number[] = [];
  const std: number[] = [];
  for (let j = 0; j < names.length; j++) {
    const stats = new RunningStats();
    for (let b = 0; b < basins.length; b++) stats.add(values[b * names.length + j]);
    const s = stats.std(1);
    if (!(s > 0)) {
      throw new InputError(
        `static attribute '${names[j]}' has zero variance across the ${basins.length} training basin(s)` +
          ' and cannot be standardised; remove it from static_attributes or use more basins',
      );
    }
    mean.push(stats.mean);
    std.push(s);
  }
  return { mean, std };
}

/** scaler.json as a run writes it: a mean and a positive std per input, in the order of the names. */
const positiveNumber = z.number().positive();
const scalerSchema = z
  .object({
    dynamic_inputs: z.array(z.string()),
    input_mean: z.array(z.number()),
    input_std: z.array(positiveNumber),
    target_variable: z.string(),
    target_mean: z.number(),
    target_std: positiveNumber,
    static_attributes: z.array(z.string()),
    static_mean: z.array(z.number()),
    static_std: z.array(positiveNumber),
  })
  .refine((s) => s.input_mean.length === s.dynamic_inputs.length && s.input_std.length === s.dynamic_inputs.length, {
    message: 'input_mean and input_std need one value per dynamic input',
  })
  .refine((s) => s.static_mean.length === s.static_attributes.length && s.static_std.length === s.static_attributes.length, {
    message: 'static_mean and static_std need one value per static attribute',
  });

/** The scaler in the text of a scaler.json; `file` names it in errors. */
export function parseScaler(text: string, file: string): Scaler {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InputError(`${file}: not valid JSON`);
  }
  const parsed = scalerSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(`${file}: ${issue.path.length ? `key '${issue.path.join('.')}': ` : ''}${issue.message} (was the file edited? train the run again)`);
  }
  return parsed.data;
}
