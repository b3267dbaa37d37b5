// AssemblyScript source of the WASM SIMD kernels (compiled by scripts/build-wasm.mjs; not part of the tsc build).
//
// Memory is imported (shared, owned by src/compute/wasm.ts) and this module keeps no state of its own: a job's
// arguments sit in an argument block in that memory, so the main thread and the worker threads run the same code
// on the same data. A job is cut into chunks (column or row blocks of C, batch rows of a cell step) and every
// thread that calls `run` claims chunks with a compare-and-swap until none is left. Every output element is computed
// by the same sequence of float32 operations whichever thread takes its chunk and however the job is cut (chunk
// bounds fall on micro-tile bounds, k is blocked the same way), so results are bitwise reproducible, independent of
// timing and of the thread count.
//
// Built twice: plain SIMD (f32x4.mul + f32x4.add) and relaxed SIMD (f32x4.relaxed_madd, a fused multiply-add on
// x86 with FMA); ASC_FEATURE_RELAXED_SIMD is a compile-time constant.

// ---- argument block ---------------------------------------------------------------------------------------------
// Byte offsets of the job's i32/f32 slots (A_* every job, G_* gemm, L_* cell steps) and the OP_* job kinds, generated
// by scripts/build-wasm.mjs from the table in src/compute/wasm/abi.ts, which wasm.ts writes the arguments by.
// ABI_HASH lets wasm.ts refuse a module compiled from another version of that table.

import {
  OP_GEMM, OP_CELL_FORWARD, OP_CELL_BACKWARD,
  A_OP, A_SPLIT, A_SCRATCH, A_SCRATCH_STRIDE, A_CHUNK, A_CLAIM, A_DONE,
  G_TRANS_A, G_TRANS_B, G_M, G_N, G_K, G_ALPHA, G_A, G_LDA, G_B, G_LDB, G_BETA, G_C, G_LDC,
  L_BATCH, L_HIDDEN, L_GATES, L_INPUT_GATE, L_C_PREV, L_C, L_H, L_DH, L_DC, L_DGATES, L_DINPUT_GATE,
} from './abi';
export { ABI_HASH } from './abi';

// ---- blocking ---------------------------------------------------------------------------------------------------

/**
 * Micro-tile: MR rows x NR columns of C in 8 v128 accumulators. V8 allocates 15 xmm registers and loads all of a
 * step's broadcasts up front, so 8 accumulators + 2 B vectors + 4 A broadcasts is the most that runs unspilled
 * (6 x 8 or 4 x 12 tiles measured 25-45% slower).
 */
const MR: i32 = 4;
const NR: i32 = 8;
/** Depth of a packed block (A panel MR x KC and B panel KC x NR stay in L1). */
const KC: i32 = 256;
/** Rows of A packed at once (MC x KC floats, L2-resident). A multiple of MR. */
const MC: i32 = 128;
/** Columns of B packed at once (KC x NC floats). A multiple of NR. */
const NC: i32 = 1024;
/** Column chunk of the m = 1 (vector-matrix) path; thread splits are multiples of it. */
const VW: i32 = 32;

/** For wasm.ts, which cuts jobs into chunks: column chunks are multiples of NR, row chunks of MR, m = 1 ones of VW. */
export const TILE_ROWS: i32 = MR;
export const TILE_COLS: i32 = NR;
export const VECTOR_CHUNK: i32 = VW;

const PACK_A_BYTES: usize = <usize>(MC * KC) << 2;
const PACK_B_BYTES: usize = <usize>(KC * NC) << 2;
const TILE_BYTES: usize = <usize>(MR * NR) << 2;
/** Scratch bytes one thread needs (wasm.ts reserves at least this much per thread). */
export const SCRATCH_BYTES: usize = PACK_A_BYTES + PACK_B_BYTES + TILE_BYTES;

// ---- helpers ----------------------------------------------------------------------------------------------------

/** a * b + c */
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// ---- gemm -------------------------------------------------------------------------------------------------------

/**
 * Works on job `gen` until no chunk is left to claim: the main thread calls it after publishing a job, each worker
 * when woken. Returns at once for a stale generation. Job arguments are read only after a successful claim (the
 * job cannot be replaced before that chunk is reported done).
 */
export function run(args: usize, tid: i32, gen: u32): void {
  const claimAt = load<u32>(args, A_CLAIM) as usize;
  const doneAt = load<u32>(args, A_DONE) as usize;
  for (;;) {
    const v = atomic.load<i64>(claimAt);
    if (<u32>(<u64>v >> 32) != gen) return;
    const idx = <i32>(v & 0xffff);
    const chunks = <i32>((v >> 16) & 0xffff);
    if (idx >= chunks) return;
    if (atomic.cmpxchg<i64>(claimAt, v, v + 1) != v) continue;
    const op = load<i32>(args, A_OP);
    if (op == OP_GEMM) gemmChunk(args, tid, idx);
    else if (op == OP_CELL_FORWARD) cellForwardChunk(args, idx);
    else if (op == OP_CELL_BACKWARD) cellBackwardChunk(args, idx);
    if (atomic.add<i32>(doneAt, 1) + 1 == chunks) atomic.notify(doneAt, 1);
  }
}

function gemmChunk(args: usize, tid: i32, idx: i32): void {
  const transA = load<i32>(args, G_TRANS_A) != 0;
  const transB = load<i32>(args, G_TRANS_B) != 0;
  const m = load<i32>(args, G_M);
  const n = load<i32>(args, G_N);
  const k = load<i32>(args, G_K);
  const alpha = load<f32>(args, G_ALPHA);
  const a = load<u32>(args, G_A) as usize;
  const lda = load<u32>(args, G_LDA) as usize;
  const b = load<u32>(args, G_B) as usize;
  const ldb = load<u32>(args, G_LDB) as usize;
  const beta = load<f32>(args, G_BETA);
  const c = load<u32>(args, G_C) as usize;
  const ldc = load<u32>(args, G_LDC) as usize;
  const scratch = (load<u32>(args, A_SCRATCH) as usize) + <usize>tid * (load<u32>(args, A_SCRATCH_STRIDE) as usize);
  const chunk = load<i32>(args, A_CHUNK);
  if (m <= 0 || n <= 0) return;

  // This chunk of C: rows [i0, i1) x columns [j0, j1); wasm.ts makes chunk a multiple of NR (columns), MR (rows) or
  // VW (m = 1), so every micro-tile's code path is the same however the job is cut.
  let i0 = 0;
  let i1 = m;
  let j0 = 0;
  let j1 = n;
  if (load<i32>(args, A_SPLIT) == 0) {
    j0 = idx * chunk;
    j1 = min(j0 + chunk, n);
  } else {
    i0 = idx * chunk;
    i1 = min(i0 + chunk, m);
  }
  if (i0 >= i1 || j0 >= j1) return;

  scaleC(c, ldc, i0, i1, j0, j1, beta);
  if (k <= 0 || alpha == 0) return;
  if (m == 1) {
    if (transB) gemvT(k, alpha, a, transA ? lda : 1, b, ldb, c, j0, j1);
    else gemvN(k, alpha, a, transA ? lda : 1, b, ldb, c, j0, j1);
    return;
  }

  const packA = scratch;
  const packB = scratch + PACK_A_BYTES;
  const tile = packB + PACK_B_BYTES;
  const ldcBytes = ldc << 2;
  const valpha = f32x4.splat(alpha);
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      packBBlock(transB, b, ldb, pc, kc, jc, nc, packB);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        packABlock(transA, a, lda, ic, mc, pc, kc, packA);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const pb = packB + ((<usize>jr * <usize>kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const pa = packA + ((<usize>ir * <usize>kc) << 2);
            const cp = c + ((<usize>(ic + ir) * ldc + <usize>(jc + jr)) << 2);
            if (rows == MR && cols == NR) {
              kernel(kc, pa, pb, cp, ldcBytes, valpha);
            } else {
              // Edge tile: compute the full padded tile into scratch, add its valid part.
              memory.fill(tile, 0, TILE_BYTES);
              kernel(kc, pa, pb, tile, <usize>NR << 2, valpha);
              for (let r = 0; r < rows; r++) {
                const crow = cp + <usize>r * ldcBytes;
                const trow = tile + (<usize>(r * NR) << 2);
                for (let q = 0; q < cols; q++) {
                  const o = <usize>q << 2;
                  store<f32>(crow + o, load<f32>(crow + o) + load<f32>(trow + o));
                }
              }
            }
          }
        }
      }
    }
  }
}

/** C[i0:i1, j0:j1] *= beta; beta = 0 stores zeros (whatever C held, NaN included). */
function scaleC(c: usize, ldc: usize, i0: i32, i1: i32, j0: i32, j1: i32, beta: f32): void {
  if (beta == 1) return;
  const w = <usize>(j1 - j0) << 2;
  for (let i = i0; i < i1; i++) {
    const row = c + ((<usize>i * ldc + <usize>j0) << 2);
    if (beta == 0) {
      memory.fill(row, 0, w);
      continue;
    }
    const vb = f32x4.splat(beta);
    let o: usize = 0;
    for (; o + 16 <= w; o += 16) v128.store(row + o, f32x4.mul(v128.load(row + o), vb));
    for (; o < w; o += 4) store<f32>(row + o, load<f32>(row + o) * beta);
  }
}

/**
 * Packs op(B)[pc:pc+kc, jc:jc+nc] into NR-wide panels, each kc x NR row-major (zero-padded to NR columns).
 * op(B)[p, j] = B[p * ldb + j] (no transpose) or B[j * ldb + p] (transpose).
 */
function packBBlock(transB: bool, b: usize, ldb: usize, pc: i32, kc: i32, jc: i32, nc: i32, dst: usize): void {
  const ldbBytes = ldb << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const panel = dst + ((<usize>jr * <usize>kc) << 2);
    if (!transB) {
      let src = b + ((<usize>pc * ldb + <usize>(jc + jr)) << 2);
      if (cols == NR) {
        for (let p = 0; p < kc; p++) {
          const d = panel + (<usize>(p * NR) << 2);
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
          src += ldbBytes;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const d = panel + (<usize>(p * NR) << 2);
          v128.store(d, f32x4.splat(0));
          v128.store(d, f32x4.splat(0), 16);
          for (let q = 0; q < cols; q++) store<f32>(d + (<usize>q << 2), load<f32>(src + (<usize>q << 2)));
          src += ldbBytes;
        }
      }
    } else {
      // Rows jc+jr+q of B, starting at column pc: 4 x 4 blocks transposed with shuffles.
      const src = b + ((<usize>(jc + jr) * ldb + <usize>pc) << 2);
      if (cols == NR) {
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const s = src + (<usize>p << 2);
          const d = panel + (<usize>(p * NR) << 2);
          transpose4(s, ldbBytes, d, <usize>NR << 2);
          transpose4(s + 4 * ldbBytes, ldbBytes, d + 16, <usize>NR << 2);
        }
        for (; p < kc; p++) {
          const d = panel + (<usize>(p * NR) << 2);
          for (let q = 0; q < NR; q++) store<f32>(d + (<usize>q << 2), load<f32>(src + <usize>q * ldbBytes + (<usize>p << 2)));
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const d = panel + (<usize>(p * NR) << 2);
          for (let q = 0; q < NR; q++) {
            const v: f32 = q < cols ? load<f32>(src + <usize>q * ldbBytes + (<usize>p << 2)) : 0;
            store<f32>(d + (<usize>q << 2), v);
          }
        }
      }
    }
  }
}

/**
 * Packs op(A)[ic:ic+mc, pc:pc+kc] into MR-tall panels, each kc x MR (p-major; zero-padded to MR rows).
 * op(A)[i, p] = A[i * lda + p] (no transpose) or A[p * lda + i] (transpose).
 */
function packABlock(transA: bool, a: usize, lda: usize, ic: i32, mc: i32, pc: i32, kc: i32, dst: usize): void {
  const ldaBytes = lda << 2;
  const step = <usize>MR << 2;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const panel = dst + ((<usize>ir * <usize>kc) << 2);
    if (transA) {
      let src = a + ((<usize>pc * lda + <usize>(ic + ir)) << 2);
      let d = panel;
      if (rows == MR) {
        // MR = 4 contiguous floats per p.
        for (let p = 0; p < kc; p++) {
          v128.store(d, v128.load(src));
          src += ldaBytes;
          d += step;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(src + (<usize>r << 2)) : 0);
          src += ldaBytes;
          d += step;
        }
      }
    } else {
      const src = a + ((<usize>(ic + ir) * lda + <usize>pc) << 2);
      if (rows == MR) {
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const s = src + (<usize>p << 2);
          const d = panel + <usize>p * step;
          transpose4(s, ldaBytes, d, step);
        }
        for (; p < kc; p++) {
          const d = panel + <usize>p * step;
          for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), load<f32>(src + <usize>r * ldaBytes + (<usize>p << 2)));
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const d = panel + <usize>p * step;
          for (let r = 0; r < MR; r++) {
            store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(src + <usize>r * ldaBytes + (<usize>p << 2)) : 0);
          }
        }
      }
    }
  }
}

/** Reads a 4 x 4 block (rows `srcStride` bytes apart) and writes its transpose (rows `dstStride` bytes apart). */
// @ts-ignore: decorator
@inline function transpose4(src: usize, srcStride: usize, dst: usize, dstStride: usize): void {
  const r0 = v128.load(src);
  const r1 = v128.load(src + srcStride);
  const r2 = v128.load(src + 2 * srcStride);
  const r3 = v128.load(src + 3 * srcStride);
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + dstStride, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * dstStride, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * dstStride, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

/** C[MR x NR] += alpha * sum over p of Apanel[p][0..MR) (x) Bpanel[p][0..NR) (packed panels; C rows ldcBytes apart). */
function kernel(kc: i32, pa: usize, pb: usize, c: usize, ldcBytes: usize, valpha: v128): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  const end = pb + ((<usize>kc * <usize>NR) << 2);
  while (pb < end) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let av = v128.load32_splat(pa);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(pa, 4);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(pa, 8);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(pa, 12);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    pa += 16;
    pb += 32;
  }
  let r = c;
  v128.store(r, madd(valpha, c00, v128.load(r)));
  v128.store(r, madd(valpha, c01, v128.load(r, 16)), 16);
  r += ldcBytes;
  v128.store(r, madd(valpha, c10, v128.load(r)));
  v128.store(r, madd(valpha, c11, v128.load(r, 16)), 16);
  r += ldcBytes;
  v128.store(r, madd(valpha, c20, v128.load(r)));
  v128.store(r, madd(valpha, c21, v128.load(r, 16)), 16);
  r += ldcBytes;
  v128.store(r, madd(valpha, c30, v128.load(r)));
  v128.store(r, madd(valpha, c31, v128.load(r, 16)), 16);
}

/**
 * m = 1, op(B) = B: C[0, j0:j1] += alpha * sum_p a[p * as] * B[p, j]. Streams over rows of B, VW columns at a
 * time (split points are multiples of VW, so a column's code path does not depend on the split).
 */
function gemvN(k: i32, alpha: f32, a: usize, as: usize, b: usize, ldb: usize, c: usize, j0: i32, j1: i32): void {
  const ldbBytes = ldb << 2;
  const asBytes = as << 2;
  const valpha = f32x4.splat(alpha);
  let j = j0;
  for (; j + VW <= j1; j += VW) {
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    let s2 = f32x4.splat(0);
    let s3 = f32x4.splat(0);
    let s4 = f32x4.splat(0);
    let s5 = f32x4.splat(0);
    let s6 = f32x4.splat(0);
    let s7 = f32x4.splat(0);
    let ap = a;
    let bp = b + (<usize>j << 2);
    for (let p = 0; p < k; p++) {
      const av = v128.load32_splat(ap);
      s0 = madd(av, v128.load(bp), s0);
      s1 = madd(av, v128.load(bp, 16), s1);
      s2 = madd(av, v128.load(bp, 32), s2);
      s3 = madd(av, v128.load(bp, 48), s3);
      s4 = madd(av, v128.load(bp, 64), s4);
      s5 = madd(av, v128.load(bp, 80), s5);
      s6 = madd(av, v128.load(bp, 96), s6);
      s7 = madd(av, v128.load(bp, 112), s7);
      ap += asBytes;
      bp += ldbBytes;
    }
    const cp = c + (<usize>j << 2);
    v128.store(cp, madd(valpha, s0, v128.load(cp)));
    v128.store(cp, madd(valpha, s1, v128.load(cp, 16)), 16);
    v128.store(cp, madd(valpha, s2, v128.load(cp, 32)), 32);
    v128.store(cp, madd(valpha, s3, v128.load(cp, 48)), 48);
    v128.store(cp, madd(valpha, s4, v128.load(cp, 64)), 64);
    v128.store(cp, madd(valpha, s5, v128.load(cp, 80)), 80);
    v128.store(cp, madd(valpha, s6, v128.load(cp, 96)), 96);
    v128.store(cp, madd(valpha, s7, v128.load(cp, 112)), 112);
  }
  // Tail (only in the thread owning the last columns): one column at a time, same per-element arithmetic.
  for (; j < j1; j++) {
    let s = f32x4.splat(0);
    let ap = a;
    let bp = b + (<usize>j << 2);
    for (let p = 0; p < k; p++) {
      s = madd(v128.load32_splat(ap), v128.load32_splat(bp), s);
      ap += asBytes;
      bp += ldbBytes;
    }
    const cp = c + (<usize>j << 2);
    store<f32>(cp, f32x4.extract_lane(madd(valpha, s, f32x4.splat(load<f32>(cp))), 0));
  }
}

/** m = 1, op(B) = B^T: C[0, j] += alpha * sum_p a[p * as] * B[j, p] (a dot product per column). */
function gemvT(k: i32, alpha: f32, a: usize, as: usize, b: usize, ldb: usize, c: usize, j0: i32, j1: i32): void {
  const asBytes = as << 2;
  const valpha = f32x4.splat(alpha);
  for (let j = j0; j < j1; j++) {
    const row = b + (<usize>j * ldb << 2);
    let s = f32x4.splat(0);
    let p = 0;
    if (as == 1) {
      for (; p + 4 <= k; p += 4) s = madd(v128.load(a + (<usize>p << 2)), v128.load(row + (<usize>p << 2)), s);
    } else {
      for (; p + 4 <= k; p += 4) {
        let av = v128.load32_splat(a + <usize>p * asBytes);
        av = v128.load32_lane(a + <usize>(p + 1) * asBytes, av, 1);
        av = v128.load32_lane(a + <usize>(p + 2) * asBytes, av, 2);
        av = v128.load32_lane(a + <usize>(p + 3) * asBytes, av, 3);
        s = madd(av, v128.load(row + (<usize>p << 2)), s);
      }
    }
    // Horizontal sum, then the tail in lane 0.
    s = f32x4.add(s, f32x4.shuffle(s, s, 2, 3, 0, 1));
    s = f32x4.add(s, f32x4.shuffle(s, s, 1, 0, 3, 2));
    for (; p < k; p++) {
      s = madd(v128.load32_splat(a + <usize>p * asBytes), v128.load32_splat(row + (<usize>p << 2)), s);
    }
    const cp = c + (<usize>j << 2);
    store<f32>(cp, f32x4.extract_lane(madd(valpha, s, f32x4.splat(load<f32>(cp))), 0));
  }
}

// ---- activations ------------------------------------------------------------------------------------------------

// Written for V8's code generator: f32x4.pmin/pmax are single minps/maxps (f32x4.min/max and trunc_sat expand to
// 7-8 instructions each for their NaN/-0 rules), and rounding uses the 1.5 * 2^23 trick instead of nearest + trunc.

/** exp(x): Cephes expf's range reduction and polynomial, max relative error ~1.2e-7; x is clamped to [-86, 86]. */
// @ts-ignore: decorator
@inline function vexp(x: v128): v128 {
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-86.0)), f32x4.splat(86.0));
  // t = round(x / ln 2) + 1.5 * 2^23: its low mantissa bits hold n = round(x / ln 2) as an integer.
  const t = madd(x, f32x4.splat(1.44269504088896341), f32x4.splat(12582912.0));
  const fx = f32x4.sub(t, f32x4.splat(12582912.0));
  let r = madd(fx, f32x4.splat(-0.693359375), x);
  r = madd(fx, f32x4.splat(2.12194440e-4), r);
  let y = f32x4.splat(1.9875691500e-4);
  y = madd(y, r, f32x4.splat(1.3981999507e-3));
  y = madd(y, r, f32x4.splat(8.3334519073e-3));
  y = madd(y, r, f32x4.splat(4.1665795894e-2));
  y = madd(y, r, f32x4.splat(1.6666665459e-1));
  y = madd(y, r, f32x4.splat(5.0000001201e-1));
  y = madd(y, f32x4.mul(r, r), f32x4.add(r, f32x4.splat(1.0)));
  // y * 2^n by adding n to the exponent field (n in [-124, 124], y in [0.7, 1.5]: no overflow or denormals).
  const n = i32x4.sub(t, i32x4.splat(0x4b400000));
  return i32x4.add(y, i32x4.shl(n, 23));
}

/** 1 / (1 + exp(-x)), max relative error ~2e-7. */
// @ts-ignore: decorator
@inline function vsigmoid(x: v128): v128 {
  return f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), vexp(f32x4.neg(x))));
}

/**
 * tanh(x): Eigen's float rational approximation (odd degree-13 over even degree-6 polynomial) on x clamped to
 * +-7.9988; max relative error ~4e-7, also near 0 (no cancellation). From |x| = 9.0109 on, where float32 tanh
 * rounds to exactly +-1, it returns exactly +-1 (the clamped quotient is 2 ulp short of it), so saturated units
 * get the reference's exact zero derivative 1 - tanh^2.
 */
// @ts-ignore: decorator
@inline function vtanh(x0: v128): v128 {
  const x = f32x4.pmin(f32x4.pmax(x0, f32x4.splat(-7.99881172180175781)), f32x4.splat(7.99881172180175781));
  const x2 = f32x4.mul(x, x);
  let p = f32x4.splat(-2.76076847742355e-16);
  p = madd(x2, p, f32x4.splat(2.00018790482477e-13));
  p = madd(x2, p, f32x4.splat(-8.60467152213735e-11));
  p = madd(x2, p, f32x4.splat(5.12229709037114e-8));
  p = madd(x2, p, f32x4.splat(1.48572235717979e-5));
  p = madd(x2, p, f32x4.splat(6.37261928875436e-4));
  p = madd(x2, p, f32x4.splat(4.89352455891786e-3));
  p = f32x4.mul(x, p);
  let q = f32x4.splat(1.19825839466702e-6);
  q = madd(x2, q, f32x4.splat(1.18534705686654e-4));
  q = madd(x2, q, f32x4.splat(2.26843463243900e-3));
  q = madd(x2, q, f32x4.splat(4.89352518554385e-3));
  const one = v128.or(f32x4.splat(1.0), v128.and(x0, i32x4.splat(-2147483648))); // copysign(1, x)
  return v128.bitselect(one, f32x4.div(p, q), f32x4.gt(f32x4.abs(x0), f32x4.splat(9.0109)));
}

/**
 * Flushes lanes with |x| < 2^-100 (7.9e-31) to zero, keeping NaN and infinities. Gradients that vanish through
 * long sequences otherwise sink into the subnormal range (below 2^-126), and subnormal operands or products make
 * x86 multiplies and FMAs take microcode assists: a training step measured 40% slower on a Xeon, nearly all of it
 * in the weight-gradient GEMM over dGates. Flushing at 2^-100 rather than 2^-126 keeps those GEMMs' products
 * normal too (unless a factor is below 2^-26). A gradient term of 1e-30 is far below float32 resolution of any
 * sum it joins, so results move by less than 8e-31 in absolute terms.
 */
// @ts-ignore: decorator
@inline function ftz(x: v128): v128 {
  return v128.andnot(x, f32x4.lt(f32x4.abs(x), f32x4.splat(7.888609052210118e-31)));
}

// ---- LSTM cell --------------------------------------------------------------------------------------------------

/** Loads 4 floats, or 1 (in lane 0) when `one`; stores likewise: the scalar tail runs the vector arithmetic. */
// @ts-ignore: decorator
@inline function ld(p: usize, one: bool): v128 {
  return one ? f32x4.splat(load<f32>(p)) : v128.load(p);
}
// @ts-ignore: decorator
@inline function st(p: usize, v: v128, one: bool): void {
  if (one) store<f32>(p, f32x4.extract_lane(v, 0));
  else v128.store(p, v);
}

function cellForwardChunk(args: usize, idx: i32): void {
  const batch = load<i32>(args, L_BATCH);
  const hidden = load<i32>(args, L_HIDDEN);
  const gates = load<u32>(args, L_GATES) as usize;
  const ig = load<u32>(args, L_INPUT_GATE) as usize;
  const cPrev = load<u32>(args, L_C_PREV) as usize;
  const cOut = load<u32>(args, L_C) as usize;
  const hOut = load<u32>(args, L_H) as usize;
  const b0 = idx * load<i32>(args, A_CHUNK);
  const b1 = min(b0 + load<i32>(args, A_CHUNK), batch);
  const hb = <usize>hidden << 2;
  const width = (ig != 0 ? 3 : 4) * <usize>hidden;
  for (let b = b0; b < b1; b++) {
    const gf = gates + ((<usize>b * width) << 2);
    const s = (<usize>b * <usize>hidden) << 2;
    const igRow = ig != 0 ? ig + s : 0;
    let o4: usize = 0;
    for (; o4 + 16 <= hb; o4 += 16) cellForwardAt(gf + o4, hb, igRow != 0 ? igRow + o4 : 0, cPrev + s + o4, cOut + s + o4, hOut + s + o4, false);
    for (; o4 < hb; o4 += 4) cellForwardAt(gf + o4, hb, igRow != 0 ? igRow + o4 : 0, cPrev + s + o4, cOut + s + o4, hOut + s + o4, true);
  }
}

/** Four hidden units (or one, in lane 0, when `one`) of a cell step; gate blocks are hb bytes apart. */
// @ts-ignore: decorator
@inline function cellForwardAt(gf: usize, hb: usize, ig: usize, cPrev: usize, cOut: usize, hOut: usize, one: bool): void {
  const f = vsigmoid(ld(gf, one));
  const o = vsigmoid(ld(gf + hb, one));
  const g = vtanh(ld(gf + 2 * hb, one));
  let i: v128;
  if (ig != 0) i = ld(ig, one);
  else {
    i = vsigmoid(ld(gf + 3 * hb, one));
    st(gf + 3 * hb, i, one);
  }
  st(gf, f, one);
  st(gf + hb, o, one);
  st(gf + 2 * hb, g, one);
  // c = f * cPrev + i * g, h = o * tanh(c)
  const cell = madd(f, ld(cPrev, one), f32x4.mul(i, g));
  st(cOut, cell, one);
  st(hOut, f32x4.mul(o, vtanh(cell)), one);
}

function cellBackwardChunk(args: usize, idx: i32): void {
  const batch = load<i32>(args, L_BATCH);
  const hidden = load<i32>(args, L_HIDDEN);
  const gates = load<u32>(args, L_GATES) as usize;
  const ig = load<u32>(args, L_INPUT_GATE) as usize;
  const cPrev = load<u32>(args, L_C_PREV) as usize;
  const cCur = load<u32>(args, L_C) as usize;
  const dh = load<u32>(args, L_DH) as usize;
  const dc = load<u32>(args, L_DC) as usize;
  const dGates = load<u32>(args, L_DGATES) as usize;
  const dig = load<u32>(args, L_DINPUT_GATE) as usize;
  const b0 = idx * load<i32>(args, A_CHUNK);
  const b1 = min(b0 + load<i32>(args, A_CHUNK), batch);
  const hb = <usize>hidden << 2;
  const width = (ig != 0 ? 3 : 4) * <usize>hidden;
  for (let b = b0; b < b1; b++) {
    const gf = gates + ((<usize>b * width) << 2);
    const df = dGates + ((<usize>b * width) << 2);
    const s = (<usize>b * <usize>hidden) << 2;
    const igRow = ig != 0 ? ig + s : 0;
    const digRow = dig != 0 && ig != 0 ? dig + s : 0;
    let o4: usize = 0;
    for (; o4 + 16 <= hb; o4 += 16) {
      cellBackwardAt(gf + o4, hb, igRow != 0 ? igRow + o4 : 0, cPrev + s + o4, cCur + s + o4, dh + s + o4, dc + s + o4, df + o4, digRow != 0 ? digRow + o4 : 0, false);
    }
    for (; o4 < hb; o4 += 4) {
      cellBackwardAt(gf + o4, hb, igRow != 0 ? igRow + o4 : 0, cPrev + s + o4, cCur + s + o4, dh + s + o4, dc + s + o4, df + o4, digRow != 0 ? digRow + o4 : 0, true);
    }
  }
}

// @ts-ignore: decorator
@inline function cellBackwardAt(
  gf: usize, hb: usize, ig: usize, cPrev: usize, cCur: usize, dh: usize, dc: usize, df: usize, dig: usize, one: bool,
): void {
  const one1 = f32x4.splat(1.0);
  const f = ld(gf, one);
  const o = ld(gf + hb, one);
  const g = ld(gf + 2 * hb, one);
  const i = ig != 0 ? ld(ig, one) : ld(gf + 3 * hb, one);
  const tc = vtanh(ld(cCur, one));
  const dhs = ld(dh, one);
  // dcTotal = dc + dh * o * (1 - tanh(c)^2)
  const dct = madd(f32x4.mul(dhs, o), f32x4.sub(one1, f32x4.mul(tc, tc)), ld(dc, one));
  st(df, ftz(f32x4.mul(f32x4.mul(dct, ld(cPrev, one)), f32x4.mul(f, f32x4.sub(one1, f)))), one);
  st(df + hb, ftz(f32x4.mul(f32x4.mul(dhs, tc), f32x4.mul(o, f32x4.sub(one1, o)))), one);
  st(df + 2 * hb, ftz(f32x4.mul(f32x4.mul(dct, i), f32x4.sub(one1, f32x4.mul(g, g)))), one);
  const di = f32x4.mul(dct, g);
  if (ig == 0) st(df + 3 * hb, ftz(f32x4.mul(f32x4.mul(di, i), f32x4.sub(one1, i))), one); // LSTM: 4th gate block
  else if (dig != 0) st(dig, ftz(f32x4.add(ld(dig, one), di)), one); // EA-LSTM: accumulated (dropped without dig)
  st(dc, ftz(f32x4.mul(dct, f)), one);
}
