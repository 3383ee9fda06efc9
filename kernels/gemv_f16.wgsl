// Decoding's matrix–vector products against f16 weights (src/ops/gemv_f16.ts), for few rows of x
// (one token per sequence):
//   c[c0 + m*ldc + n] = sum_k x[m, k] · W[n, k]  (+ bias[bias0 + n] if flags & 1) (GELU if flags & 2)
// for m < M, n < N; alpha = 1 and beta = 0 in the shared epilogue (kernels/common/matmul_epilogue.wgsl).
//
// W: packed halves (kernels/pack_f16.wgsl), row n holding its K inputs (the transpose of a Conv1D
// weight, or wte as stored), rows interleaved in groups of IL: w[w0 + (n/IL)*K8*IL + j*IL + n%IL]
// is a vec4u of pack2x16float pairs, W[n, 8j .. 8j+7] low half first, so the IL lanes of a
// subgroup load 16·IL contiguous bytes at each step (row after row, lavapipe's per-lane loads
// took 1.05–1.2× as long). x [M, K] f32 as vec4s: x4[x0 + m*K/4 + i] = x[m, 4i .. 4i+3].
// Half the bytes of f32 weights and, on lavapipe (where every storage load is a per-lane scalar
// loop per component), half the loads: 8 weights per vec4u where a vec4f holds 4.
//
// Each invocation owns one column n and rows m0 .. m0+MR-1 (m0 = workgroup y · MR); 64 along n.
// x is read in blocks of XB vec4s (K a multiple of 4·XB). The generated XLOAD and BLOCK
// (src/ops/gemv_f16.ts) take one block: in the subgroup form (XB = the subgroup size) lane l loads
// vec4 l of the block for each row and the lanes share it with subgroupBroadcast, so x costs one
// load per lane per block instead of one per vec4; in the portable form each lane loads the
// block's vec4s itself. Invocations past N compute column N-1 (every lane must take part in the
// broadcasts) and store nothing. Bindings: x4 @1, w @2, bias @3, c @4 (read_write).
struct Params {
  M: u32, N: u32, K8: u32, ldc: u32,
  x0: u32, w0: u32, c0: u32, bias0: u32,
  alpha: f32, beta: f32, flags: u32, _p: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(2) var<storage, read> w: array<vec4u>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

#include "common/matmul_epilogue.wgsl"

const MR = {{MR}}u;
const XB = {{XB}}u;
const IL = {{IL}}u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u{{LANE_ARG}}) {
  let n = min(g.x, p.N - 1u);
  let m0 = g.y * MR;
  let K4 = p.K8 * 2u;
  // rows past M read row M-1 (valid memory) and are not stored
  var xr: array<u32, MR>;
  for (var r = 0u; r < MR; r++) { xr[r] = p.x0 + min(m0 + r, p.M - 1u) * K4; }
  var acc: array<vec4f, MR>;
  let wb = p.w0 + (n / IL) * p.K8 * IL + n % IL;
  for (var kb = 0u; kb < K4 / XB; kb++) {
    let xk = kb * XB;         // first vec4 of x in this block
    let wk = wb + kb * XB / 2u * IL; // first vec4u of W's row n in this block
{{XLOAD}}
{{BLOCK}}
  }
  if (g.x >= p.N) { return; }
  for (var r = 0u; r < MR; r++) {
    if (m0 + r < p.M) {
      let a = acc[r];
      epilogue_store(p.c0 + (m0 + r) * p.ldc + n, n, a.x + a.y + a.z + a.w);
    }
  }
}
