// Skinny matmul for few rows of A (generation's decode step has M = 1): each invocation
// owns one output column n and {{MR}} rows (m0 = group.y·{{MR}} ..), with 64 invocations
// along n per workgroup, so no lanes idle when M is small; each element of B is loaded
// once per {{MR}} rows.
//
// Same contract as kernels/matmul_naive.wgsl (strided A, B, C; bias; GELU; alpha, beta):
// C[z, m, n] = alpha * sum_k A[z, m, k] * B[z, k, n] (+ bias[n] if flags & 1) (GELU if flags & 2) + beta * C[z, m, n]
// Bindings: a @1, b @2, bias @3 (read only when flags & 1), c @4 (read_write).
//
// vec4 entries (lavapipe turns each storage load into a scalar loop, so 4 floats per load
// is up to 4x less load work; real GPUs like the wider loads too):
//   nt4 — B transposed (its k contiguous: sbk = 1) and A's k contiguous (sak = 1), with K, b0,
//         sbn, a0, sam, saz, sbz multiples of 4: vec4 dot products along k;
//   nn4 — B's n contiguous (sbn = 1) with N, b0, sbk, sbz multiples of 4: each invocation owns
//         4 adjacent columns (n = 4·x ..).
#include "common/matmul_strided.wgsl"
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;


const MR = {{MR}}u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x;
  let z = g.z;
  let m0 = g.y * MR;
  if (n >= p.N) { return; }
  let rows = min(MR, p.M - m0);
  var acc: array<f32, MR>;
  let bb = p.b0 + z * p.sbz + n * p.sbn;
  let ab = p.a0 + z * p.saz + m0 * p.sam;
  for (var k = 0u; k < p.K; k++) {
    let bv = b[bb + k * p.sbk];
    for (var r = 0u; r < MR; r++) {
      if (r < rows) { acc[r] += a[ab + r * p.sam + k * p.sak] * bv; }
    }
  }
  for (var r = 0u; r < rows; r++) { store_epilogue(m0 + r, n, z, acc[r]); }
}

@compute @workgroup_size(64)
fn nt4(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x;
  let z = g.z;
  let m0 = g.y * MR;
  if (n >= p.N) { return; }
  let rows = min(MR, p.M - m0);
  var acc: array<vec4<f32>, MR>;
  let bb = (p.b0 + z * p.sbz + n * p.sbn) / 4u;
  let ab = (p.a0 + z * p.saz + m0 * p.sam) / 4u;
  let am = p.sam / 4u;
  for (var k = 0u; k < p.K / 4u; k++) {
    let bv = b4[bb + k];
    for (var r = 0u; r < MR; r++) {
      if (r < rows) { acc[r] += a4[ab + r * am + k] * bv; }
    }
  }
  for (var r = 0u; r < rows; r++) {
    store_epilogue(m0 + r, n, z, acc[r].x + acc[r].y + acc[r].z + acc[r].w);
  }
}

@compute @workgroup_size(64)
fn nn4(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x * 4u;
  let z = g.z;
  let m0 = g.y * MR;
  if (n >= p.N) { return; }
  let rows = min(MR, p.M - m0);
  var acc: array<vec4<f32>, MR>;
  let bb = (p.b0 + z * p.sbz + n) / 4u;
  let bk = p.sbk / 4u;
  let ab = p.a0 + z * p.saz + m0 * p.sam;
  for (var k = 0u; k < p.K; k++) {
    let bv = b4[bb + k * bk];
    for (var r = 0u; r < MR; r++) {
      if (r < rows) { acc[r] += a[ab + r * p.sam + k * p.sak] * bv; }
    }
  }
  for (var r = 0u; r < rows; r++) {
    store_epilogue(m0 + r, n, z, acc[r].x);
    store_epilogue(m0 + r, n + 1u, z, acc[r].y);
    store_epilogue(m0 + r, n + 2u, z, acc[r].z);
    store_epilogue(m0 + r, n + 3u, z, acc[r].w);
  }
}
