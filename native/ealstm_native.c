/*
 * ealstm_native: the optional OpenBLAS-backed float32 compute backend (see src/compute/native.ts).
 *
 *   gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc)
 *       -> cblas_sgemm(CblasRowMajor, ...) on Float32Array data + element offsets.
 *   cellForward(batch, hidden, gates, gatesOff, inputGate|null, cPrev, cPrevOff, c, cOff, h, hOff)
 *   cellBackward(batch, hidden, gates, gatesOff, inputGate|null, cPrev, cPrevOff, c, cOff, dh, dc,
 *                dGates, dGatesOff, dInputGate|null)
 *       -> the exact semantics of ReferenceBackend (src/compute/reference.ts).
 *   setThreads(n) / getThreads() -> openblas_set_num_threads (and omp_set_num_threads for the cell kernels' rows,
 *       where built with OpenMP) / openblas_get_num_threads.
 *
 * Every array must be a Float32Array; every access range is checked against its length before any work, and a
 * bad call throws a TypeError/RangeError instead of touching memory.
 *
 * The cell kernels use their own branch-free expf (Cephes polynomial, ~1 ulp) and a rational tanh so that gcc can
 * vectorise the loops without -ffast-math; on x86-64 they are also compiled for AVX2+FMA and picked at load time
 * (EALSTM_NATIVE_NO_AVX2=1 forces the baseline SSE2 build).
 */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <node_api.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Declared by OpenBLAS's cblas.h; repeated so that the file also compiles against a generic cblas.h. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

/* On x86-64 the vectorised cell kernels are also compiled for AVX2+FMA and chosen at load time (cpuid). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EALSTM_X86_DISPATCH 1
#define EALSTM_AVX2 __attribute__((target("avx2,fma")))
#endif
/* always_inline so that the elementwise maths is inlined into (and compiled for) each target variant. */
#if defined(__GNUC__)
#define EALSTM_INLINE static inline __attribute__((always_inline))
#else
#define EALSTM_INLINE static inline
#endif

/* ------------------------------------------------------------------------------------------------ */
/* Elementwise maths                                                                                 */
/* ------------------------------------------------------------------------------------------------ */

/* Type punning through a union (well defined in C; memcpy here keeps gcc 12 from vectorising the loops). */
typedef union {
  float f;
  uint32_t u;
} f32bits;

EALSTM_INLINE float bits_to_float(uint32_t u) {
  f32bits b;
  b.u = u;
  return b.f;
}

EALSTM_INLINE uint32_t float_to_bits(float f) {
  f32bits b;
  b.f = f;
  return b.u;
}

/* exp(x) for float32: range reduction x = n ln2 + r, |r| <= ln2/2, Cephes degree-6 polynomial, scale by 2^n built
 * in the exponent bits. Inputs are clamped to [-87, 88] so 2^n stays a normal number (NaN passes through). */
EALSTM_INLINE float fast_expf(float x) {
  x = x > 88.0f ? 88.0f : x;
  x = x < -87.0f ? -87.0f : x;
  /* round(x * log2(e)) with the 1.5 * 2^23 shift trick: the low mantissa bits of t hold n. */
  const float shift = 12582912.0f;
  float t = x * 1.44269504088896341f + shift;
  uint32_t nbits = float_to_bits(t) - float_to_bits(shift); /* n as a two's-complement int in uint32 */
  float n = t - shift;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  float scale = bits_to_float((nbits + 127u) << 23);
  return p * scale;
}

EALSTM_INLINE float sigmoidf_(float x) { return 1.0f / (1.0f + fast_expf(-x)); }

/* tanh(x): Eigen's 13/6 rational approximation (generic_fast_tanh_float) with its non-FMA clamp, so |tanh| <= 1
 * with or without FMA; tiny inputs return x. One division and no exp; checked exhaustively over float32 against
 * double tanh: max error 2.7e-7 absolute (4.6 ulp) with FMA, 3.9e-7 (6.5 ulp) without; the exp-based sigmoid above
 * is within 2.5 ulp. NaN passes through. */
EALSTM_INLINE float tanhf_(float a) {
  float x = a > 7.90531110763549805f ? 7.90531110763549805f : a;
  x = x < -7.90531110763549805f ? -7.90531110763549805f : x;
  const float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * x;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return fabsf(a) < 0.0004f ? a : p / q;
}

/* ------------------------------------------------------------------------------------------------ */
/* Cell kernels (plain C; the N-API wrappers below validate and unpack)                              */
/* ------------------------------------------------------------------------------------------------ */

/* The per-row loops are generated with `restrict` parameters (vectorised; used when the wrapper has found that no
 * written range overlaps any other range), again for AVX2+FMA on x86-64, and without `restrict` (any aliasing the
 * reference tolerates, such as c == cPrev). */
/* The rows of a cell call are split over OpenMP threads (as many as OpenBLAS's, see setThreads) when there are enough
 * elements: each row is computed by the same code on whichever thread, so results do not depend on the thread count. */
#define EALSTM_PARALLEL_MIN_CELLS 8192
#ifdef _OPENMP
#define EALSTM_ROWS_PARALLEL _Pragma("omp parallel for schedule(static) if (batch * hidden >= EALSTM_PARALLEL_MIN_CELLS)")
#else
#define EALSTM_ROWS_PARALLEL
#endif

#define DEFINE_CELL_ROWS(S, R, A, P)                                                                               \
  A static void fwd_row_ig##S(int64_t n, float *R gf, float *R go, float *R gg, const float *R ig,        \
                                   const float *R cp, float *R cb, float *R hb) {                              \
    for (int64_t j = 0; j < n; j++) {                                                                          \
      const float f = sigmoidf_(gf[j]), o = sigmoidf_(go[j]), g = tanhf_(gg[j]), i = ig[j];                   \
      gf[j] = f;                                                                                               \
      go[j] = o;                                                                                               \
      gg[j] = g;                                                                                               \
      const float cell = f * cp[j] + i * g;                                                                    \
      cb[j] = cell;                                                                                            \
      hb[j] = o * tanhf_(cell);                                                                                \
    }                                                                                                          \
  }                                                                                                            \
  A static void fwd_row_lstm##S(int64_t n, float *R gf, float *R go, float *R gg, float *R gi,            \
                                     const float *R cp, float *R cb, float *R hb) {                            \
    for (int64_t j = 0; j < n; j++) {                                                                          \
      const float f = sigmoidf_(gf[j]), o = sigmoidf_(go[j]), g = tanhf_(gg[j]), i = sigmoidf_(gi[j]);        \
      gi[j] = i;                                                                                               \
      gf[j] = f;                                                                                               \
      go[j] = o;                                                                                               \
      gg[j] = g;                                                                                               \
      const float cell = f * cp[j] + i * g;                                                                    \
      cb[j] = cell;                                                                                            \
      hb[j] = o * tanhf_(cell);                                                                                \
    }                                                                                                          \
  }                                                                                                            \
  A static void bwd_row_ig##S(int64_t n, const float *R gf, const float *R go, const float *R gg,         \
                                   const float *R ig, const float *R cp, const float *R cb, const float *R dhb, \
                                   float *R dcb, float *R df, float *R dO, float *R dg, float *R dig) {        \
    for (int64_t j = 0; j < n; j++) {                                                                          \
      const float f = gf[j], o = go[j], g = gg[j], i = ig[j];                                                 \
      const float tc = tanhf_(cb[j]);                                                                          \
      const float dhs = dhb[j];                                                                                \
      const float dct = dcb[j] + dhs * o * (1.0f - tc * tc);                                                   \
      df[j] = dct * cp[j] * f * (1.0f - f);                                                                    \
      dO[j] = dhs * tc * o * (1.0f - o);                                                                       \
      dg[j] = dct * i * (1.0f - g * g);                                                                        \
      dig[j] += dct * g;                                                                                       \
      dcb[j] = dct * f;                                                                                        \
    }                                                                                                          \
  }                                                                                                            \
  A static void bwd_row_ig_nodi##S(int64_t n, const float *R gf, const float *R go, const float *R gg,    \
                                        const float *R ig, const float *R cp, const float *R cb,               \
                                        const float *R dhb, float *R dcb, float *R df, float *R dO,            \
                                        float *R dg) {                                                         \
    for (int64_t j = 0; j < n; j++) {                                                                          \
      const float f = gf[j], o = go[j], g = gg[j], i = ig[j];                                                 \
      const float tc = tanhf_(cb[j]);                                                                          \
      const float dhs = dhb[j];                                                                                \
      const float dct = dcb[j] + dhs * o * (1.0f - tc * tc);                                                   \
      df[j] = dct * cp[j] * f * (1.0f - f);                                                                    \
      dO[j] = dhs * tc * o * (1.0f - o);                                                                       \
      dg[j] = dct * i * (1.0f - g * g);                                                                        \
      dcb[j] = dct * f;                                                                                        \
    }                                                                                                          \
  }                                                                                                            \
  A static void bwd_row_lstm##S(int64_t n, const float *R gf, const float *R go, const float *R gg,       \
                                     const float *R gi, const float *R cp, const float *R cb,                  \
                                     const float *R dhb, float *R dcb, float *R df, float *R dO, float *R dg,  \
                                     float *R di) {                                                            \
    for (int64_t j = 0; j < n; j++) {                                                                          \
      const float f = gf[j], o = go[j], g = gg[j], i = gi[j];                                                 \
      const float tc = tanhf_(cb[j]);                                                                          \
      const float dhs = dhb[j];                                                                                \
      const float dct = dcb[j] + dhs * o * (1.0f - tc * tc);                                                   \
      df[j] = dct * cp[j] * f * (1.0f - f);                                                                    \
      dO[j] = dhs * tc * o * (1.0f - o);                                                                       \
      dg[j] = dct * i * (1.0f - g * g);                                                                        \
      di[j] = dct * g * i * (1.0f - i);                                                                        \
      dcb[j] = dct * f;                                                                                        \
    }                                                                                                          \
  }                                                                                                            \
                                                                                                               \
  A static void cell_forward##S(int64_t batch, int64_t hidden, float *gates, const float *input_gate,            \
                              const float *c_prev, float *c, float *h) {                                       \
    const int64_t width = (input_gate ? 3 : 4) * hidden;                                                       \
    P                                                                                                          \
    for (int64_t b = 0; b < batch; b++) {                                                                      \
      float *gf = gates + b * width;                                                                           \
      const int64_t s = b * hidden;                                                                            \
      if (input_gate)                                                                                          \
        fwd_row_ig##S(hidden, gf, gf + hidden, gf + 2 * hidden, input_gate + s, c_prev + s, c + s, h + s);     \
      else                                                                                                     \
        fwd_row_lstm##S(hidden, gf, gf + hidden, gf + 2 * hidden, gf + 3 * hidden, c_prev + s, c + s, h + s);  \
    }                                                                                                          \
  }                                                                                                            \
                                                                                                               \
  A static void cell_backward##S(int64_t batch, int64_t hidden, const float *gates, const float *input_gate,     \
                               const float *c_prev, const float *c, const float *dh, float *dc, float *d_gates, \
                               float *d_input_gate) {                                                          \
    const int64_t width = (input_gate ? 3 : 4) * hidden;                                                       \
    P                                                                                                          \
    for (int64_t b = 0; b < batch; b++) {                                                                      \
      const float *gf = gates + b * width;                                                                     \
      float *df = d_gates + b * width;                                                                         \
      const int64_t s = b * hidden;                                                                            \
      if (input_gate && d_input_gate)                                                                          \
        bwd_row_ig##S(hidden, gf, gf + hidden, gf + 2 * hidden, input_gate + s, c_prev + s, c + s, dh + s,     \
                      dc + s, df, df + hidden, df + 2 * hidden, d_input_gate + s);                             \
      else if (input_gate)                                                                                     \
        bwd_row_ig_nodi##S(hidden, gf, gf + hidden, gf + 2 * hidden, input_gate + s, c_prev + s, c + s,        \
                           dh + s, dc + s, df, df + hidden, df + 2 * hidden);                                  \
      else                                                                                                     \
        bwd_row_lstm##S(hidden, gf, gf + hidden, gf + 2 * hidden, gf + 3 * hidden, c_prev + s, c + s, dh + s,  \
                        dc + s, df, df + hidden, df + 2 * hidden, df + 3 * hidden);                            \
    }                                                                                                          \
  }

/* The restrict versions get an AVX2+FMA clone on x86-64 (selected at load time); the aliasing fallback is rare. */
DEFINE_CELL_ROWS(_alias, , , )
DEFINE_CELL_ROWS(_noalias, restrict, , EALSTM_ROWS_PARALLEL)
#ifdef EALSTM_X86_DISPATCH
DEFINE_CELL_ROWS(_noalias_avx2, restrict, EALSTM_AVX2, EALSTM_ROWS_PARALLEL)
#endif

static bool use_avx2 = false; /* set once at module load */

/* Ranges [p, p + n) of the arrays a kernel touches; `w` marks the ones it writes. */
typedef struct {
  const float *p;
  int64_t n; /* elements */
  bool w;
} span;

/* True when no written range overlaps any other non-empty range. */
static bool spans_disjoint(const span *s, int count) {
  for (int x = 0; x < count; x++) {
    if (!s[x].w || !s[x].p || s[x].n == 0) continue;
    const uintptr_t a0 = (uintptr_t)s[x].p, a1 = a0 + (uintptr_t)s[x].n * sizeof(float);
    for (int y = 0; y < count; y++) {
      if (y == x || !s[y].p || s[y].n == 0) continue;
      const uintptr_t b0 = (uintptr_t)s[y].p, b1 = b0 + (uintptr_t)s[y].n * sizeof(float);
      if (a0 < b1 && b0 < a1) return false;
    }
  }
  return true;
}

static void cell_forward(int64_t batch, int64_t hidden, float *gates, const float *input_gate,
                         const float *c_prev, float *c, float *h) {
  const int64_t bh = batch * hidden, bw = batch * (input_gate ? 3 : 4) * hidden;
  const span s[] = {{gates, bw, true}, {input_gate, bh, false}, {c_prev, bh, false}, {c, bh, true}, {h, bh, true}};
  if (!spans_disjoint(s, 5)) cell_forward_alias(batch, hidden, gates, input_gate, c_prev, c, h);
#ifdef EALSTM_X86_DISPATCH
  else if (use_avx2) cell_forward_noalias_avx2(batch, hidden, gates, input_gate, c_prev, c, h);
#endif
  else cell_forward_noalias(batch, hidden, gates, input_gate, c_prev, c, h);
}

static void cell_backward(int64_t batch, int64_t hidden, const float *gates, const float *input_gate,
                          const float *c_prev, const float *c, const float *dh, float *dc, float *d_gates,
                          float *d_input_gate) {
  const int64_t bh = batch * hidden, bw = batch * (input_gate ? 3 : 4) * hidden;
  const span s[] = {{gates, bw, false}, {input_gate, bh, false}, {c_prev, bh, false}, {c, bh, false},
                    {dh, bh, false},    {dc, bh, true},          {d_gates, bw, true}, {d_input_gate, bh, true}};
  if (!spans_disjoint(s, 8))
    cell_backward_alias(batch, hidden, gates, input_gate, c_prev, c, dh, dc, d_gates, d_input_gate);
#ifdef EALSTM_X86_DISPATCH
  else if (use_avx2)
    cell_backward_noalias_avx2(batch, hidden, gates, input_gate, c_prev, c, dh, dc, d_gates, d_input_gate);
#endif
  else cell_backward_noalias(batch, hidden, gates, input_gate, c_prev, c, dh, dc, d_gates, d_input_gate);
}

/* ------------------------------------------------------------------------------------------------ */
/* N-API helpers                                                                                     */
/* ------------------------------------------------------------------------------------------------ */

#define MAX_ARGS 16

/* All helpers return false after throwing a JS exception. */
static bool throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_EALSTM_NATIVE", msg);
  return false;
}

static bool throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_EALSTM_NATIVE", msg);
  return false;
}

static bool get_bool(napi_env env, napi_value v, bool *out, const char *name) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return throw_type(env, name);
  if (t == napi_boolean) return napi_get_value_bool(env, v, out) == napi_ok || throw_type(env, name);
  if (t == napi_number) { /* tolerate 0/1 */
    double d;
    if (napi_get_value_double(env, v, &d) != napi_ok) return throw_type(env, name);
    *out = d != 0;
    return true;
  }
  return throw_type(env, name);
}

/* A non-negative integer that fits in int64 (callers further bound it). */
static bool get_index(napi_env env, napi_value v, int64_t *out, const char *name) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return throw_type(env, name);
  if (!(d >= 0 && d <= 9007199254740991.0) || d != (double)(int64_t)d) return throw_range(env, name);
  *out = (int64_t)d;
  return true;
}

static bool get_double(napi_env env, napi_value v, double *out, const char *name) {
  if (napi_get_value_double(env, v, out) != napi_ok) return throw_type(env, name);
  return true;
}

/* A Float32Array (or null when nullable): data pointer and element count. */
static bool get_f32(napi_env env, napi_value v, float **data, int64_t *len, bool nullable, const char *name) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok) return throw_type(env, name);
  if (!is_ta) {
    if (nullable) {
      napi_valuetype t;
      if (napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) {
        *data = NULL;
        *len = 0;
        return true;
      }
    }
    return throw_type(env, name);
  }
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, NULL, NULL) != napi_ok) return throw_type(env, name);
  if (type != napi_float32_array) return throw_type(env, name);
  *data = (float *)ptr;
  *len = (int64_t)length;
  return true;
}

/* Elements [off, off + (rows - 1) * ld + cols) must lie inside an array of len elements (nothing when empty). */
static bool check_span(napi_env env, int64_t off, int64_t rows, int64_t cols, int64_t ld, int64_t len,
                       const char *name) {
  if (rows == 0 || cols == 0) return true;
  const int64_t end = off + (rows - 1) * ld + cols; /* all terms < 2^53 and products bounded by caller limits */
  if (end > len) return throw_range(env, name);
  return true;
}

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return throw_type(env, "bad call");
  if (argc < want) return throw_type(env, "too few arguments");
  return true;
}

/* ------------------------------------------------------------------------------------------------ */
/* Exports                                                                                           */
/* ------------------------------------------------------------------------------------------------ */

static napi_value js_gemm(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 16, argv)) return NULL;
  bool ta, tb;
  int64_t m, n, k, aOff, lda, bOff, ldb, cOff, ldc, alen, blen, clen;
  double alpha, beta;
  float *a, *b, *c;
  if (!get_bool(env, argv[0], &ta, "gemm: transA must be a boolean") ||
      !get_bool(env, argv[1], &tb, "gemm: transB must be a boolean") ||
      !get_index(env, argv[2], &m, "gemm: m must be a non-negative integer") ||
      !get_index(env, argv[3], &n, "gemm: n must be a non-negative integer") ||
      !get_index(env, argv[4], &k, "gemm: k must be a non-negative integer") ||
      !get_double(env, argv[5], &alpha, "gemm: alpha must be a number") ||
      !get_f32(env, argv[6], &a, &alen, false, "gemm: a must be a Float32Array") ||
      !get_index(env, argv[7], &aOff, "gemm: aOff must be a non-negative integer") ||
      !get_index(env, argv[8], &lda, "gemm: lda must be a non-negative integer") ||
      !get_f32(env, argv[9], &b, &blen, false, "gemm: b must be a Float32Array") ||
      !get_index(env, argv[10], &bOff, "gemm: bOff must be a non-negative integer") ||
      !get_index(env, argv[11], &ldb, "gemm: ldb must be a non-negative integer") ||
      !get_double(env, argv[12], &beta, "gemm: beta must be a number") ||
      !get_f32(env, argv[13], &c, &clen, false, "gemm: c must be a Float32Array") ||
      !get_index(env, argv[14], &cOff, "gemm: cOff must be a non-negative integer") ||
      !get_index(env, argv[15], &ldc, "gemm: ldc must be a non-negative integer"))
    return NULL;
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX)
    return throw_range(env, "gemm: dimension too large"), NULL;
  /* Stored shapes (row-major): A is m x k (k x m when transposed), B is k x n (n x k), C is m x n. */
  const int64_t aRows = ta ? k : m, aCols = ta ? m : k;
  const int64_t bRows = tb ? n : k, bCols = tb ? k : n;
  if (m == 0 || n == 0) return NULL;
  if (ldc < n) return throw_range(env, "gemm: ldc < n"), NULL;
  if (!check_span(env, cOff, m, n, ldc, clen, "gemm: C range outside c")) return NULL;
  if (k == 0 || alpha == 0) {
    /* C = beta * C (BLAS would also do this, but it insists on lda/ldb >= 1 even when nothing is read). */
    const float fb = (float)beta;
    for (int64_t i = 0; i < m; i++) {
      float *row = c + cOff + i * ldc;
      if (beta == 0) memset(row, 0, (size_t)n * sizeof(float));
      else if (beta != 1)
        for (int64_t j = 0; j < n; j++) row[j] *= fb;
    }
    return NULL;
  }
  if (lda < aCols) return throw_range(env, "gemm: lda smaller than the stored width of A"), NULL;
  if (ldb < bCols) return throw_range(env, "gemm: ldb smaller than the stored width of B"), NULL;
  if (!check_span(env, aOff, aRows, aCols, lda, alen, "gemm: A range outside a") ||
      !check_span(env, bOff, bRows, bCols, ldb, blen, "gemm: B range outside b"))
    return NULL;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
              (float)alpha, a + aOff, (int)lda, b + bOff, (int)ldb, (float)beta, c + cOff, (int)ldc);
  return NULL;
}

static napi_value js_cell_forward(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 11, argv)) return NULL;
  int64_t batch, hidden, gOff, cpOff, cOff, hOff, glen, iglen, cplen, clen, hlen;
  float *gates, *ig, *cp, *c, *h;
  if (!get_index(env, argv[0], &batch, "cellForward: batch must be a non-negative integer") ||
      !get_index(env, argv[1], &hidden, "cellForward: hidden must be a non-negative integer") ||
      !get_f32(env, argv[2], &gates, &glen, false, "cellForward: gates must be a Float32Array") ||
      !get_index(env, argv[3], &gOff, "cellForward: gatesOff must be a non-negative integer") ||
      !get_f32(env, argv[4], &ig, &iglen, true, "cellForward: inputGate must be a Float32Array or null") ||
      !get_f32(env, argv[5], &cp, &cplen, false, "cellForward: cPrev must be a Float32Array") ||
      !get_index(env, argv[6], &cpOff, "cellForward: cPrevOff must be a non-negative integer") ||
      !get_f32(env, argv[7], &c, &clen, false, "cellForward: c must be a Float32Array") ||
      !get_index(env, argv[8], &cOff, "cellForward: cOff must be a non-negative integer") ||
      !get_f32(env, argv[9], &h, &hlen, false, "cellForward: h must be a Float32Array") ||
      !get_index(env, argv[10], &hOff, "cellForward: hOff must be a non-negative integer"))
    return NULL;
  if (batch > INT_MAX || hidden > INT_MAX) return throw_range(env, "cellForward: size too large"), NULL;
  const int64_t width = (ig ? 3 : 4) * hidden;
  if (!check_span(env, gOff, batch, width, width, glen, "cellForward: gates range outside gates") ||
      (ig && !check_span(env, 0, batch, hidden, hidden, iglen, "cellForward: inputGate shorter than batch*hidden")) ||
      !check_span(env, cpOff, batch, hidden, hidden, cplen, "cellForward: cPrev range outside cPrev") ||
      !check_span(env, cOff, batch, hidden, hidden, clen, "cellForward: c range outside c") ||
      !check_span(env, hOff, batch, hidden, hidden, hlen, "cellForward: h range outside h"))
    return NULL;
  if (batch == 0 || hidden == 0) return NULL;
  cell_forward(batch, hidden, gates + gOff, ig, cp + cpOff, c + cOff, h + hOff);
  return NULL;
}

static napi_value js_cell_backward(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 14, argv)) return NULL;
  int64_t batch, hidden, gOff, cpOff, cOff, dgOff, glen, iglen, cplen, clen, dhlen, dclen, dglen, diglen;
  float *gates, *ig, *cp, *c, *dh, *dc, *dg, *dig;
  if (!get_index(env, argv[0], &batch, "cellBackward: batch must be a non-negative integer") ||
      !get_index(env, argv[1], &hidden, "cellBackward: hidden must be a non-negative integer") ||
      !get_f32(env, argv[2], &gates, &glen, false, "cellBackward: gates must be a Float32Array") ||
      !get_index(env, argv[3], &gOff, "cellBackward: gatesOff must be a non-negative integer") ||
      !get_f32(env, argv[4], &ig, &iglen, true, "cellBackward: inputGate must be a Float32Array or null") ||
      !get_f32(env, argv[5], &cp, &cplen, false, "cellBackward: cPrev must be a Float32Array") ||
      !get_index(env, argv[6], &cpOff, "cellBackward: cPrevOff must be a non-negative integer") ||
      !get_f32(env, argv[7], &c, &clen, false, "cellBackward: c must be a Float32Array") ||
      !get_index(env, argv[8], &cOff, "cellBackward: cOff must be a non-negative integer") ||
      !get_f32(env, argv[9], &dh, &dhlen, false, "cellBackward: dh must be a Float32Array") ||
      !get_f32(env, argv[10], &dc, &dclen, false, "cellBackward: dc must be a Float32Array") ||
      !get_f32(env, argv[11], &dg, &dglen, false, "cellBackward: dGates must be a Float32Array") ||
      !get_index(env, argv[12], &dgOff, "cellBackward: dGatesOff must be a non-negative integer") ||
      !get_f32(env, argv[13], &dig, &diglen, true, "cellBackward: dInputGate must be a Float32Array or null"))
    return NULL;
  if (batch > INT_MAX || hidden > INT_MAX) return throw_range(env, "cellBackward: size too large"), NULL;
  const int64_t width = (ig ? 3 : 4) * hidden;
  if (!check_span(env, gOff, batch, width, width, glen, "cellBackward: gates range outside gates") ||
      (ig && !check_span(env, 0, batch, hidden, hidden, iglen, "cellBackward: inputGate shorter than batch*hidden")) ||
      !check_span(env, cpOff, batch, hidden, hidden, cplen, "cellBackward: cPrev range outside cPrev") ||
      !check_span(env, cOff, batch, hidden, hidden, clen, "cellBackward: c range outside c") ||
      !check_span(env, 0, batch, hidden, hidden, dhlen, "cellBackward: dh shorter than batch*hidden") ||
      !check_span(env, 0, batch, hidden, hidden, dclen, "cellBackward: dc shorter than batch*hidden") ||
      !check_span(env, dgOff, batch, width, width, dglen, "cellBackward: dGates range outside dGates") ||
      (ig && dig &&
       !check_span(env, 0, batch, hidden, hidden, diglen, "cellBackward: dInputGate shorter than batch*hidden")))
    return NULL;
  if (batch == 0 || hidden == 0) return NULL;
  /* Like the reference, dInputGate is only used when there is an input gate. */
  cell_backward(batch, hidden, gates + gOff, ig, cp + cpOff, c + cOff, dh, dc, dg + dgOff, ig ? dig : NULL);
  return NULL;
}

static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 1, argv)) return NULL;
  int64_t n;
  if (!get_index(env, argv[0], &n, "setThreads: n must be a positive integer")) return NULL;
  if (n < 1 || n > 4096) return throw_range(env, "setThreads: n must be between 1 and 4096"), NULL;
  openblas_set_num_threads((int)n);
#ifdef _OPENMP
  omp_set_num_threads((int)n);
#endif
  return NULL;
}

static napi_value js_get_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  if (napi_create_int32(env, openblas_get_num_threads(), &out) != napi_ok) return NULL;
  return out;
}

NAPI_MODULE_INIT() {
#ifdef EALSTM_X86_DISPATCH
  __builtin_cpu_init();
  use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !getenv("EALSTM_NATIVE_NO_AVX2");
#endif
  napi_property_descriptor props[] = {
      {"gemm", NULL, js_gemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"cellForward", NULL, js_cell_forward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"cellBackward", NULL, js_cell_backward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, js_set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getThreads", NULL, js_get_threads, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
