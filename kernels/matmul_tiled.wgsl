// Tiled matmul for GPUs: each workgroup computes a {{BM}}x{{BN}} tile of C, staging
// {{BM}}x{{BK}} of A and {{BK}}x{{BN}} of B in workgroup memory per step; each invocation
// holds a {{TM}}x(4*{{TN4}}) register block (rows ty*TM.., vec4 columns tx*TN4..).
// Workgroup ({{BN}}/(4*{{TN4}}), {{BM}}/{{TM}}).
//
// C[z, m, n] = alpha * sum_k A[z, m, k] * B[z, k, n] (+ bias[n] if flags & 1) (GELU if flags & 2) + beta * C[z, m, n]
// Layouts (transposes are read in place, no copies):
//   A: element (z, m, k) = a[a0 + z*saz + m*lda + k]   or, transposed, a[a0 + z*saz + k*lda + m]
//   B: element (z, k, n) = b[b0 + z*sbz + k*ldb + n]   or, transposed, b[b0 + z*sbz + n*ldb + k]
//   (a and b indexed as flat f32 arrays)
//   C: element (z, m, n) = c[c0 + z*scz + m*ldc + n]
// Operands are bound as array<vec4f> (windows padded to 16 bytes) and read 4 contiguous
// elements at a time: one vec4 load when flags & 16 (A) / flags & 32 (B) say that the offset,
// strides and contiguous extent are multiples of 4 (src/ops/matmul/buffer.ts checks), else 4 scalar
// reads. Elements past M, N, K read as 0. Transposes (flags & 4: A, flags & 8: B) are run-time
// uniform branches, so one pipeline per tile configuration serves every layout.
// M, N, K are the sizes of this block (large problems are cut into blocks whose windows fit a binding).
// Workgroup memory: As[k][m/4], Bs[k][n/4] as vec4 (k-major), (BM+BN)*BK*4 bytes.
// Bindings: a @1, b @2, bias @3 (read only when flags & 1), c @4 (read_write).
struct Params {
  M: u32, N: u32, K: u32, a0: u32,
  lda: u32, saz: u32, b0: u32, ldb: u32,
  sbz: u32, c0: u32, ldc: u32, scz: u32,
  alpha: f32, beta: f32, bias0: u32, flags: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

#include "common/matmul_epilogue.wgsl"

const BM = {{BM}}u;
const BN = {{BN}}u;
const BK = {{BK}}u;
const TM = {{TM}}u;
const TN4 = {{TN4}}u;
const WX = BN / (4u * TN4);
const WY = BM / TM;
const NT = WX * WY;

var<workgroup> As: array<vec4f, BK * BM / 4u>;
var<workgroup> Bs: array<vec4f, BK * BN / 4u>;

// Elements e..e+3 of a (zero at and past `lim`).
fn loadA(e: u32, lim: u32) -> vec4f {
  if ((p.flags & 16u) != 0u) {
    if (e < lim) { return a[e / 4u]; }
    return vec4f(0.0);
  }
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) { if (e + i < lim) { v[i] = a[(e + i) / 4u][(e + i) % 4u]; } }
  return v;
}

fn loadB(e: u32, lim: u32) -> vec4f {
  if ((p.flags & 32u) != 0u) {
    if (e < lim) { return b[e / 4u]; }
    return vec4f(0.0);
  }
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) { if (e + i < lim) { v[i] = b[(e + i) / 4u][(e + i) % 4u]; } }
  return v;
}

// Stage A[mt.., kt..] into As[k][m].
fn stageA(t: u32, z: u32, mt: u32, kt: u32) {
  let base = p.a0 + z * p.saz;
  for (var u = t; u < BM * BK / 4u; u += NT) {
    if ((p.flags & 4u) != 0u) {
      // rows of A's storage are k; 4 contiguous m per unit -> one vec4 store
      let kr = u / (BM / 4u);
      let m4 = u % (BM / 4u);
      let k = kt + kr;
      var v = vec4f(0.0);
      if (k < p.K) {
        let row = base + k * p.lda;
        v = loadA(row + mt + 4u * m4, row + p.M);
      }
      As[kr * (BM / 4u) + m4] = v;
    } else {
      // rows of A's storage are m; 4 contiguous k per unit -> four scalar stores
      let r = u / (BK / 4u);
      let k4 = u % (BK / 4u);
      let m = mt + r;
      var v = vec4f(0.0);
      if (m < p.M) {
        let row = base + m * p.lda;
        v = loadA(row + kt + 4u * k4, row + p.K);
      }
      for (var i = 0u; i < 4u; i++) { As[(4u * k4 + i) * (BM / 4u) + r / 4u][r % 4u] = v[i]; }
    }
  }
}

// Stage B[kt.., nt..] into Bs[k][n].
fn stageB(t: u32, z: u32, nt: u32, kt: u32) {
  let base = p.b0 + z * p.sbz;
  for (var u = t; u < BN * BK / 4u; u += NT) {
    if ((p.flags & 8u) != 0u) {
      let r = u / (BK / 4u);
      let k4 = u % (BK / 4u);
      let n = nt + r;
      var v = vec4f(0.0);
      if (n < p.N) {
        let row = base + n * p.ldb;
        v = loadB(row + kt + 4u * k4, row + p.K);
      }
      for (var i = 0u; i < 4u; i++) { Bs[(4u * k4 + i) * (BN / 4u) + r / 4u][r % 4u] = v[i]; }
    } else {
      let kr = u / (BN / 4u);
      let n4 = u % (BN / 4u);
      let k = kt + kr;
      var v = vec4f(0.0);
      if (k < p.K) {
        let row = base + k * p.ldb;
        v = loadB(row + nt + 4u * n4, row + p.N);
      }
      Bs[kr * (BN / 4u) + n4] = v;
    }
  }
}

@compute @workgroup_size(WX, WY)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let t = l.y * WX + l.x;
  let mt = wg.y * BM;
  let nt = wg.x * BN;
  let z = wg.z;
  var acc: array<array<vec4f, TN4>, TM>;
  for (var kt = 0u; kt < p.K; kt += BK) {
    stageA(t, z, mt, kt);
    stageB(t, z, nt, kt);
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      var bv: array<vec4f, TN4>;
      for (var j = 0u; j < TN4; j++) { bv[j] = Bs[k * (BN / 4u) + l.x * TN4 + j]; }
      for (var i4 = 0u; i4 < TM / 4u; i4++) {
        let av = As[k * (BM / 4u) + l.y * (TM / 4u) + i4];
        for (var j = 0u; j < TN4; j++) {
          acc[4u * i4][j] = fma(vec4f(av.x), bv[j], acc[4u * i4][j]);
          acc[4u * i4 + 1u][j] = fma(vec4f(av.y), bv[j], acc[4u * i4 + 1u][j]);
          acc[4u * i4 + 2u][j] = fma(vec4f(av.z), bv[j], acc[4u * i4 + 2u][j]);
          acc[4u * i4 + 3u][j] = fma(vec4f(av.w), bv[j], acc[4u * i4 + 3u][j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let m = mt + l.y * TM + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < TN4; j++) {
      for (var e = 0u; e < 4u; e++) {
        let n = nt + 4u * (l.x * TN4 + j) + e;
        if (n < p.N) {
          epilogue_store(p.c0 + z * p.scz + m * p.ldc + n, n, acc[i][j][e]);
        }
      }
    }
  }
}
