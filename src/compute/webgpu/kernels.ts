/**
 * The WGSL kernels of the webgpu backend. Every kernel reads and writes one storage buffer, the device arena `W`
 * that holds every buffer the backend allocated (and a scratch area for host arrays passed in), at element offsets
 * passed in a uniform block. Parameters are all u32 (floats as their bits) so that one uniform layout of 16 words
 * serves every kernel.
 *
 * The numerics follow the reference backend (src/compute/reference.ts) operation by operation; tanh is computed
 * from exp(-2|x|) because some drivers' tanh returns NaN for large |x|.
 */

/** Words in the uniform block (16 u32 = 64 bytes). */
export const PARAM_WORDS = 16;
/** Square tile of the GEMM (workgroup TILE x TILE threads). */
export const GEMM_TILE = 16;
/** Threads per workgroup of the element-wise cell kernels. */
export const CELL_WORKGROUP = 64;
/** The most workgroups in one dispatch dimension (WebGPU's default limit); larger grids fold into z. */
export const MAX_GROUPS_PER_DIM = 65535;

const COMMON = /* wgsl */ `
struct Params {
  p0: u32, p1: u32, p2: u32, p3: u32, p4: u32, p5: u32, p6: u32, p7: u32,
  p8: u32, p9: u32, p10: u32, p11: u32, p12: u32, p13: u32, p14: u32, p15: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> W: array<f32>;

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn tanh_stable(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(t, -t, x < 0.0);
}
`;

/**
 * C = alpha op(A) op(B) + beta C. Params: m, n, k, transA, transB, lda, ldb, ldc, aOff, bOff, cOff, alpha, beta.
 * Grid: (ceil(n / T), rows folded over y and z); threads beyond m or n load zeros (they still reach the barriers).
 */
export const GEMM_WGSL = /* wgsl */ `${COMMON}
const T: u32 = ${GEMM_TILE}u;
var<workgroup> tileA: array<array<f32, ${GEMM_TILE}>, ${GEMM_TILE}>;
var<workgroup> tileB: array<array<f32, ${GEMM_TILE}>, ${GEMM_TILE}>;

fn loadA(i: u32, q: u32) -> f32 {
  if (i >= P.p0 || q >= P.p2) { return 0.0; }
  if (P.p3 != 0u) { return W[P.p8 + q * P.p5 + i]; }
  return W[P.p8 + i * P.p5 + q];
}
fn loadB(q: u32, j: u32) -> f32 {
  if (q >= P.p2 || j >= P.p1) { return 0.0; }
  if (P.p4 != 0u) { return W[P.p9 + j * P.p6 + q]; }
  return W[P.p9 + q * P.p6 + j];
}

@compute @workgroup_size(${GEMM_TILE}, ${GEMM_TILE})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let rowTile = wg.z * ${MAX_GROUPS_PER_DIM}u + wg.y;
  let row = rowTile * T + l.y;
  let col = wg.x * T + l.x;
  var acc = 0.0;
  for (var t = 0u; t < P.p2; t = t + T) {
    tileA[l.y][l.x] = loadA(row, t + l.x);
    tileB[l.y][l.x] = loadB(t + l.y, col);
    workgroupBarrier();
    for (var q = 0u; q < T; q = q + 1u) { acc = acc + tileA[l.y][q] * tileB[q][l.x]; }
    workgroupBarrier();
  }
  if (row < P.p0 && col < P.p1) {
    let ci = P.p10 + row * P.p7 + col;
    let alpha = bitcast<f32>(P.p11);
    let beta = bitcast<f32>(P.p12);
    if (beta == 0.0) { W[ci] = alpha * acc; } else { W[ci] = alpha * acc + beta * W[ci]; }
  }
}
`;

/**
 * One LSTM cell step (see ComputeBackend.cellForward). Params: batch, hidden, hasInputGate, gatesOff, inputGateOff,
 * cPrevOff, cOff, hOff. One thread per (row, unit).
 */
export const CELL_FORWARD_WGSL = /* wgsl */ `${COMMON}
@compute @workgroup_size(${CELL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = gid.y * groups.x * ${CELL_WORKGROUP}u + gid.x;
  let batch = P.p0;
  let hidden = P.p1;
  if (idx >= batch * hidden) { return; }
  let b = idx / hidden;
  let j = idx % hidden;
  let gateGiven = P.p2 != 0u;
  let width = select(4u, 3u, gateGiven) * hidden;
  let g0 = P.p3 + b * width;
  let f = sigmoid(W[g0 + j]);
  let o = sigmoid(W[g0 + hidden + j]);
  let g = tanh_stable(W[g0 + 2u * hidden + j]);
  var i: f32;
  if (gateGiven) {
    i = W[P.p4 + idx];
  } else {
    i = sigmoid(W[g0 + 3u * hidden + j]);
    W[g0 + 3u * hidden + j] = i;
  }
  W[g0 + j] = f;
  W[g0 + hidden + j] = o;
  W[g0 + 2u * hidden + j] = g;
  let cell = f * W[P.p5 + idx] + i * g;
  W[P.p6 + idx] = cell;
  W[P.p7 + idx] = o * tanh_stable(cell);
}
`;

/**
 * Backward through one cell step (see ComputeBackend.cellBackward). Params: batch, hidden, hasInputGate, gatesOff,
 * inputGateOff, cPrevOff, cOff, dhOff, dcOff, dGatesOff, dInputGateOff. One thread per (row, unit).
 */
export const CELL_BACKWARD_WGSL = /* wgsl */ `${COMMON}
@compute @workgroup_size(${CELL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = gid.y * groups.x * ${CELL_WORKGROUP}u + gid.x;
  let batch = P.p0;
  let hidden = P.p1;
  if (idx >= batch * hidden) { return; }
  let b = idx / hidden;
  let j = idx % hidden;
  let gateGiven = P.p2 != 0u;
  let width = select(4u, 3u, gateGiven) * hidden;
  let g0 = P.p3 + b * width;
  let d0 = P.p9 + b * width;
  let f = W[g0 + j];
  let o = W[g0 + hidden + j];
  let g = W[g0 + 2u * hidden + j];
  var i: f32;
  if (gateGiven) { i = W[P.p4 + idx]; } else { i = W[g0 + 3u * hidden + j]; }
  let tc = tanh_stable(W[P.p6 + idx]);
  let dh = W[P.p7 + idx];
  let dcTotal = W[P.p8 + idx] + dh * o * (1.0 - tc * tc);
  W[d0 + j] = dcTotal * W[P.p5 + idx] * f * (1.0 - f);
  W[d0 + hidden + j] = dh * tc * o * (1.0 - o);
  W[d0 + 2u * hidden + j] = dcTotal * i * (1.0 - g * g);
  let di = dcTotal * g;
  if (gateGiven) { W[P.p10 + idx] = W[P.p10 + idx] + di; } else { W[d0 + 3u * hidden + j] = di * i * (1.0 - i); }
  W[P.p8 + idx] = dcTotal * f;
}
`;

/** Modes of the vector kernel. */
export const VECTOR_FILL = 0;
export const VECTOR_COPY = 1;
export const VECTOR_AXPY = 2;
export const VECTOR_MULTIPLY = 3;
export const VECTOR_SIGMOID = 4;
export const VECTOR_SIGMOID_BACKWARD = 5;

/**
 * Vector ops, one thread per element. Params: mode, n, xOff, yOff, alpha (bits), zOff:
 * fill y = alpha; copy y = x; axpy y += alpha x; multiply z = x y; sigmoid y = sigma(y) (in place);
 * sigmoid backward y *= x (1 - x) (x the sigmoid's output, y the gradient).
 */
export const VECTOR_WGSL = /* wgsl */ `${COMMON}
@compute @workgroup_size(${CELL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.y * groups.x * ${CELL_WORKGROUP}u + gid.x;
  if (i >= P.p1) { return; }
  let alpha = bitcast<f32>(P.p4);
  if (P.p0 == ${VECTOR_FILL}u) {
    W[P.p3 + i] = alpha;
  } else if (P.p0 == ${VECTOR_COPY}u) {
    W[P.p3 + i] = W[P.p2 + i];
  } else if (P.p0 == ${VECTOR_AXPY}u) {
    W[P.p3 + i] = W[P.p3 + i] + alpha * W[P.p2 + i];
  } else if (P.p0 == ${VECTOR_MULTIPLY}u) {
    W[P.p5 + i] = W[P.p2 + i] * W[P.p3 + i];
  } else if (P.p0 == ${VECTOR_SIGMOID}u) {
    W[P.p3 + i] = sigmoid(W[P.p3 + i]);
  } else {
    let y = W[P.p2 + i];
    W[P.p3 + i] = W[P.p3 + i] * (y * (1.0 - y));
  }
}
`;

/** Threads per workgroup of the fused step kernels: one workgroup per batch row, striding over the hidden units. */
export const STEP_WORKGROUP = 256;

/**
 * Fused forward step (ComputeBackend.stepForward): per batch row b (one workgroup), per unit j: the 3 or 4 gate
 * pre-activations plus, when recurrent, the row of h_{t-1} times the recurrent weights' columns, then the cell.
 * Params: batch, hidden, hasInputGate, gatesOff, inputGateOff, cPrevOff, cOff, hOff, recurrent, wOff, hPrevOff.
 */
export const STEP_FORWARD_WGSL = /* wgsl */ `${COMMON}
@compute @workgroup_size(${STEP_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let b = wg.x;
  let hidden = P.p1;
  let gateGiven = P.p2 != 0u;
  let blocks = select(4u, 3u, gateGiven);
  let width = blocks * hidden;
  let g0 = P.p3 + b * width;
  let hp = P.p10 + b * hidden;
  for (var j = l.x; j < hidden; j = j + ${STEP_WORKGROUP}u) {
    var pre = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var q = 0u; q < blocks; q = q + 1u) { pre[q] = W[g0 + q * hidden + j]; }
    if (P.p8 != 0u) {
      for (var k = 0u; k < hidden; k = k + 1u) {
        let hk = W[hp + k];
        let wk = P.p9 + k * width + j;
        for (var q = 0u; q < blocks; q = q + 1u) { pre[q] = pre[q] + hk * W[wk + q * hidden]; }
      }
    }
    let s = b * hidden + j;
    let f = sigmoid(pre[0]);
    let o = sigmoid(pre[1]);
    let g = tanh_stable(pre[2]);
    var i: f32;
    if (gateGiven) {
      i = W[P.p4 + s];
    } else {
      i = sigmoid(pre[3]);
      W[g0 + 3u * hidden + j] = i;
    }
    W[g0 + j] = f;
    W[g0 + hidden + j] = o;
    W[g0 + 2u * hidden + j] = g;
    let cell = f * W[P.p5 + s] + i * g;
    W[P.p6 + s] = cell;
    W[P.p7 + s] = o * tanh_stable(cell);
  }
}
`;

/**
 * Fused backward step (ComputeBackend.stepBackward): per batch row b (one workgroup), the cell backward of every
 * unit, then (after a barrier: the row's dGates are complete) dL/dh_{t-1} = dGates W^T when propagating.
 * Params: batch, hidden, hasInputGate, gatesOff, inputGateOff, cPrevOff, cOff, dhOff, dcOff, dGatesOff,
 * dInputGateOff, propagate, wOff.
 */
export const STEP_BACKWARD_WGSL = /* wgsl */ `${COMMON}
@compute @workgroup_size(${STEP_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let b = wg.x;
  let hidden = P.p1;
  let gateGiven = P.p2 != 0u;
  let width = select(4u, 3u, gateGiven) * hidden;
  let g0 = P.p3 + b * width;
  let d0 = P.p9 + b * width;
  for (var j = l.x; j < hidden; j = j + ${STEP_WORKGROUP}u) {
    let s = b * hidden + j;
    let f = W[g0 + j];
    let o = W[g0 + hidden + j];
    let g = W[g0 + 2u * hidden + j];
    var i: f32;
    if (gateGiven) { i = W[P.p4 + s]; } else { i = W[g0 + 3u * hidden + j]; }
    let tc = tanh_stable(W[P.p6 + s]);
    let dh = W[P.p7 + s];
    let dcTotal = W[P.p8 + s] + dh * o * (1.0 - tc * tc);
    W[d0 + j] = dcTotal * W[P.p5 + s] * f * (1.0 - f);
    W[d0 + hidden + j] = dh * tc * o * (1.0 - o);
    W[d0 + 2u * hidden + j] = dcTotal * i * (1.0 - g * g);
    let di = dcTotal * g;
    if (gateGiven) { W[P.p10 + s] = W[P.p10 + s] + di; } else { W[d0 + 3u * hidden + j] = di * i * (1.0 - i); }
    W[P.p8 + s] = dcTotal * f;
  }
  if (P.p11 == 0u) { return; }
  storageBarrier();
  for (var j = l.x; j < hidden; j = j + ${STEP_WORKGROUP}u) {
    let wj = P.p12 + j * width;
    var acc = 0.0;
    for (var q = 0u; q < width; q = q + 1u) { acc = acc + W[d0 + q] * W[wj + q]; }
    W[P.p7 + b * hidden + j] = acc;
  }
}
`;

/** Threads per workgroup of the reductions (loss, squared norm): a power of two (tree reduction). */
export const REDUCE_WORKGROUP = 256;
/** The most workgroups of the first pass of a squared norm (its partial sums, then summed by one workgroup). */
export const REDUCE_GROUPS = 256;

/** Tree reduction of `part` in one workgroup; the sum ends in part[0] (every thread reaches the barriers). */
const TREE_SUM = /* wgsl */ `
  part[l.x] = acc;
  workgroupBarrier();
  for (var s = ${REDUCE_WORKGROUP / 2}u; s > 0u; s = s >> 1u) {
    if (l.x < s) { part[l.x] = part[l.x] + part[l.x + s]; }
    workgroupBarrier();
  }
`;

/**
 * Loss and output gradient (ComputeBackend.lossAndGradient) in one workgroup: per sample the weighted squared error
 * and its gradient 2 w diff / n, then the batch mean added to the device scalar. Params: n, nse, predictionOff,
 * targetOff, stdOff, gradOff, sumAt. The arithmetic follows compute/host-ops.ts squaredErrorLoss.
 */
export const LOSS_WGSL = /* wgsl */ `${COMMON}
var<workgroup> part: array<f32, ${REDUCE_WORKGROUP}>;
@compute @workgroup_size(${REDUCE_WORKGROUP})
fn main(@builtin(local_invocation_id) l: vec3<u32>) {
  let n = P.p0;
  let nf = f32(n);
  var acc = 0.0;
  for (var b = l.x; b < n; b = b + ${REDUCE_WORKGROUP}u) {
    let diff = W[P.p2 + b] - W[P.p3 + b];
    var weight = 1.0;
    if (P.p1 != 0u) {
      let s = W[P.p4 + b] + 0.1;
      weight = 1.0 / (s * s);
    }
    acc = acc + weight * diff * diff;
    W[P.p5 + b] = 2.0 * weight * diff / nf;
  }
${TREE_SUM}
  if (l.x == 0u) { W[P.p6] = W[P.p6] + part[0] / nf; }
}
`;

/**
 * One pass of a sum (of squares): workgroup w sums W[xOff + i] (squared when `square`) over i = w * 256 + thread,
 * striding by the whole grid, and writes its sum to W[outOff + w]. A squared norm is two passes: up to
 * REDUCE_GROUPS partial sums of squares, then one workgroup summing them. Params: square, n, xOff, outOff.
 */
export const REDUCE_WGSL = /* wgsl */ `${COMMON}
var<workgroup> part: array<f32, ${REDUCE_WORKGROUP}>;
@compute @workgroup_size(${REDUCE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let n = P.p1;
  let stride = groups.x * ${REDUCE_WORKGROUP}u;
  var acc = 0.0;
  for (var i = wg.x * ${REDUCE_WORKGROUP}u + l.x; i < n; i = i + stride) {
    let v = W[P.p2 + i];
    acc = acc + select(v, v * v, P.p0 != 0u);
  }
${TREE_SUM}
  if (l.x == 0u) { W[P.p3 + wg.x] = part[0]; }
}
`;

/**
 * Adam (ComputeBackend.adamStep), one thread per parameter, after the clip_grad_norm_ scaling of the gradient when
 * `clip`: the factor maxNorm / (norm + 1e-6) from the squared norm on the device, applied (and written back to
 * the gradient) only when below 1. Params: n, paramsOff, gradsOff, mOff, vOff, clip, normAt, then as float bits
 * maxNorm, beta1, 1 - beta1, beta2, 1 - beta2, eps, stepSize (lr / bias correction 1), sqrt(bias correction 2).
 */
export const ADAM_WGSL = /* wgsl */ `${COMMON}
@compute @workgroup_size(${CELL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.y * groups.x * ${CELL_WORKGROUP}u + gid.x;
  if (i >= P.p0) { return; }
  var g = W[P.p2 + i];
  if (P.p5 != 0u) {
    let factor = bitcast<f32>(P.p7) / (sqrt(W[P.p6]) + 1e-6);
    if (factor < 1.0) {
      g = g * factor;
      W[P.p2 + i] = g;
    }
  }
  let m = bitcast<f32>(P.p8) * W[P.p3 + i] + bitcast<f32>(P.p9) * g;
  let v = bitcast<f32>(P.p10) * W[P.p4 + i] + bitcast<f32>(P.p11) * g * g;
  W[P.p3 + i] = m;
  W[P.p4 + i] = v;
  W[P.p1 + i] = W[P.p1 + i] - bitcast<f32>(P.p13) * m / (sqrt(v) / bitcast<f32>(P.p14) + bitcast<f32>(P.p12));
}
`;

/**
 * A linear layer with one output (ComputeBackend.linearForward), one thread per row: y[b] = bias + x_b . w.
 * Params: n, k, xOff, wOff, biasOff, yOff.
 */
export const LINEAR_FORWARD_WGSL = /* wgsl */ `${COMMON}
@compute @workgroup_size(${CELL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let b = gid.y * groups.x * ${CELL_WORKGROUP}u + gid.x;
  if (b >= P.p0) { return; }
  let k = P.p1;
  var sum = W[P.p4];
  for (var j = 0u; j < k; j = j + 1u) { sum = sum + W[P.p2 + b * k + j] * W[P.p3 + j]; }
  W[P.p5 + b] = sum;
}
`;

/**
 * Backward through LINEAR_FORWARD_WGSL (ComputeBackend.linearBackward). Thread i < n k writes dx[i] = dy[b] w[j]
 * (times mask[i] when masked); thread j < k adds sum_b x[b, j] dy[b] to the weight gradient, thread k the bias's
 * sum_b dy[b]. Params: n, k, xOff, wOff, dyOff, wGradOff, biasGradOff, dxOff, masked, maskOff.
 */
export const LINEAR_BACKWARD_WGSL = /* wgsl */ `${COMMON}
@compute @workgroup_size(${CELL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.y * groups.x * ${CELL_WORKGROUP}u + gid.x;
  let n = P.p0;
  let k = P.p1;
  if (i < n * k) {
    var d = W[P.p4 + i / k] * W[P.p3 + i % k];
    if (P.p8 != 0u) { d = d * W[P.p9 + i]; }
    W[P.p7 + i] = d;
  }
  if (i < k) {
    var acc = 0.0;
    for (var b = 0u; b < n; b = b + 1u) { acc = acc + W[P.p2 + b * k + i] * W[P.p4 + b]; }
    W[P.p5 + i] = W[P.p5 + i] + acc;
  } else if (i == k) {
    var acc = 0.0;
    for (var b = 0u; b < n; b = b + 1u) { acc = acc + W[P.p4 + b]; }
    W[P.p6] = W[P.p6] + acc;
  }
}
`;

/**
 * Gathers windows of rows (ComputeBackend.gatherWindows), one thread per element of y: element (t, i, j) reads row
 * start[i] + t of x (the row numbers are exact integers in float32). Params: n, seqLength, width, xOff, startOff, yOff.
 */
export const GATHER_WGSL = /* wgsl */ `${COMMON}
@compute @workgroup_size(${CELL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let e = gid.y * groups.x * ${CELL_WORKGROUP}u + gid.x;
  let n = P.p0;
  let width = P.p2;
  if (e >= n * P.p1 * width) { return; }
  let t = e / (n * width);
  let i = (e / width) % n;
  let j = e % width;
  let row = u32(W[P.p4 + i]) + t;
  W[P.p5 + e] = W[P.p3 + row * width + j];
}
`;
