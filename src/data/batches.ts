import type { ComputeBackend, FloatArray } from '../compute/backend.js';
import type { NormalizedBasin } from './types.js';

/**
 * Gathers n windows into the model's time-major input buffers: dynamic [T, n, D] and static [n, S].
 * Sample k is the pair (samples[2k], samples[2k+1]) = (basin index, last row of the window); the batch takes
 * samples order[from .. from+n-1].
 */
export function gatherWindows(
  basins: NormalizedBasin[],
  samples: Int32Array,
  order: Int32Array,
  from: number,
  n: number,
  seqLength: number,
  dynamicOut: FloatArray,
  staticOut: FloatArray,
): void {
  for (let i = 0; i < n; i++) {
    const k = order[from + i];
    const b = basins[samples[2 * k]];
    const inputs = b.inputs.length / b.rows;
    const statics = b.statics.length;
    const first = samples[2 * k + 1] - seqLength + 1;
    const src = b.inputs;
    for (let t = 0; t < seqLength; t++) {
      const at = (first + t) * inputs;
      const to = (t * n + i) * inputs;
      for (let j = 0; j < inputs; j++) dynamicOut[to + j] = src[at + j];
    }
    for (let j = 0; j < statics; j++) staticOut[i * statics + j] = b.statics[j];
  }
}

/** Row numbers are passed to the backend as float values: exact below 2^24 in float32. */
const MAX_RESIDENT_ROWS = 2 ** 24;

/**
 * The training data resident on a backend, and batches cut from it there (ComputeBackend.gatherWindows): the inputs,
 * targets, statics and per-basin stds are uploaded once, and a batch uploads only its row numbers (3 per sample).
 * The values are those gatherWindows above and the trainer's target/std loop give, copied, so results do not change.
 */
export class ResidentBatches {
  /** Every basin's input rows, one after another, [rows, D]. */
  private readonly inputs: FloatArray;
  /** Every basin's targets, [rows]. */
  private readonly targets: FloatArray;
  /** [basins, S] (at least one element). */
  private readonly statics: FloatArray;
  /** [basins]: the per-basin std of the NSE* weights. */
  private readonly stds: FloatArray;
  /** First row of each basin in `inputs` and `targets`. */
  private readonly rowStart: Int32Array;
  /** Per batch: the first window row of each sample, then its basin, then its target row, [3, capacity]. */
  private readonly rows: FloatArray;
  private readonly inputWidth: number;
  private readonly staticWidth: number;

  constructor(
    private readonly backend: ComputeBackend,
    basins: readonly NormalizedBasin[],
    stds: readonly number[],
    private readonly samples: Int32Array,
    private readonly seqLength: number,
    readonly capacity: number,
  ) {
    const total = basins.reduce((sum, b) => sum + b.rows, 0);
    if (total >= MAX_RESIDENT_ROWS) throw new RangeError(`${total} rows of training data: more than the ${MAX_RESIDENT_ROWS} a batch can address`);
    this.inputWidth = basins.length > 0 ? basins[0].inputs.length / basins[0].rows : 0;
    this.staticWidth = basins.length > 0 ? basins[0].statics.length : 0;
    this.rowStart = new Int32Array(basins.length);
    this.inputs = backend.alloc(Math.max(1, total * this.inputWidth));
    this.targets = backend.alloc(Math.max(1, total));
    this.statics = backend.alloc(Math.max(1, basins.length * this.staticWidth));
    this.stds = backend.alloc(Math.max(1, basins.length));
    let row = 0;
    basins.forEach((b, i) => {
      this.rowStart[i] = row;
      this.inputs.set(b.inputs, row * this.inputWidth);
      this.targets.set(b.target, row);
      this.statics.set(b.statics, i * this.staticWidth);
      this.stds[i] = stds[i];
      row += b.rows;
    });
    for (const x of [this.inputs, this.targets, this.statics, this.stds]) backend.hostWrote(x);
    this.rows = backend.alloc(3 * capacity);
  }

  /**
   * Gathers samples order[from .. from + n) on the backend into the model's inputs (dynamic [T, n, D], static [n, S])
   * and the step's target and basinStd ([n] each); they are then current on the backend only.
   */
  gather(order: Int32Array, from: number, n: number, dynamicOut: FloatArray, staticOut: FloatArray, target: FloatArray, basinStd: FloatArray): void {
    if (n > this.capacity) throw new Error(`batch ${n} exceeds the capacity ${this.capacity}`);
    const rows = this.rows;
    for (let i = 0; i < n; i++) {
      const k = order[from + i];
      const b = this.samples[2 * k];
      const last = this.rowStart[b] + this.samples[2 * k + 1];
      rows[i] = last - this.seqLength + 1;
      rows[n + i] = b;
      rows[2 * n + i] = last;
    }
    const be = this.backend;
    be.hostWrote(rows, 0, 3 * n);
    be.gatherWindows(n, this.seqLength, this.inputWidth, this.inputs, rows, 0, dynamicOut, 0);
    if (this.staticWidth > 0) be.gatherWindows(n, 1, this.staticWidth, this.statics, rows, n, staticOut, 0);
    be.gatherWindows(n, 1, 1, this.targets, rows, 2 * n, target, 0);
    be.gatherWindows(n, 1, 1, this.stds, rows, n, basinStd, 0);
  }
}
