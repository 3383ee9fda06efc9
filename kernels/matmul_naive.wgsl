// Naive matmul, the baseline for tests and bench: one invocation per output element,
// 16x16 workgroups, operands read straight from storage buffers through strides.
//
// C[z, m, n] = alpha * sum_k A[z, m, k] * B[z, k, n] (+ bias[n] if flags & 1) (GELU if flags & 2) + beta * C[z, m, n]
// Element (z, m, k) of A is a[a0 + z*saz + m*sam + k*sak] (so any transpose is a choice of
// strides); likewise B with sbz, sbk, sbn. Element (z, m, n) of C is c[c0 + z*scz + m*scm + n].
// M, N, K are the sizes of this block (src/ops/matmul/plan.ts cuts large problems into blocks
// whose windows fit one binding); bias[bias0 + n] is the bias of block column n.
// Bindings: a @1, b @2, bias @3 (read only when flags & 1), c @4 (read_write).
#include "common/matmul_strided.wgsl"


@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x;
  let m = g.y;
  let z = g.z;
  if (m >= p.M || n >= p.N) { return; }
  var acc = 0.0;
  let ab = p.a0 + z * p.saz + m * p.sam;
  let bb = p.b0 + z * p.sbz + n * p.sbn;
  for (var k = 0u; k < p.K; k++) {
    acc += a[ab + k * p.sak] * b[bb + k * p.sbk];
  }
  store_epilogue(m, n, z, acc);
}
