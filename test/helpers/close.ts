import assert from 'node:assert/strict';

/** Tolerance of the float32 backends against the float64 reference. */
export const TOL = 1e-5;

export const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
export const abs64 = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);

/** |got - want| <= TOL * (1 + scale) elementwise (absolute and relative), scale defaulting to |want|. */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, scale?: ArrayLike<number>): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const s = scale ? scale[i] : Math.abs(want[i]);
    const err = Math.abs(got[i] - want[i]) / (1 + s);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (!(worst <= TOL)) assert.fail(`${what}: element ${at} got ${got[at]}, want ${want[at]} (scaled error ${worst})`);
}
