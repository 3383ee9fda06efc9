// Texture-operand matmul, for CPU adapters (lavapipe): there every storage-buffer load is a
// per-lane scalar loop with a bounds check, while textureLoad is a vector gather. Operands
// are read only through rgba32float textures and no workgroup memory is used: each
// invocation holds a {{TM}}x(4*{{TN4}}) block of C in registers. Workgroup {{WGX}}x{{WGY}}.
//
// C[z, m, n] = alpha * sum_k A[z, m, k] * B[z, k, n] (+ bias[n] if flags & 1) (GELU if flags & 2) + beta * C[z, m, n]
// A and B arrive packed by kernels/matmul_pack.wgsl (which absorbs any transpose):
//   At: texel (x, aOff + z*aRows + m)   = A[z, m, 4x .. 4x+3]       (zero past K)
//   Bt: texel (bx0 + x, bOff + z*bRows + k) = B[z, k, 4x .. 4x+3]   (zero past N; rows K .. 4*K4-1
//                                                                     are zero; bRows = 0: B broadcast)
// K4 = ceil(K/4). Rows past M / columns past N may read anything (clamped or neighbouring texels)
// and are never stored. C: element (z, m, n) = c[c0 + z*scz + m*scm + n]; bias[bias0 + n].
// M, N are the sizes of this block (src/ops/matmul/plan.ts cuts large problems into blocks).
// The register block is unrolled by text substitution (src/ops/matmul/texture.ts texKernel): DECL declares
// accumulators c<i>_<j> (rows i < TM, vec4 columns j < TN4), STEP is one k-step of 4 (loads
// b<kk>_<j> from Bt, one At texel a<i> per row, 4 vec4 fma per accumulator), STORE copies them to
// an array and calls store4 (or store4v, where C is aligned for vec4 stores) for each in a loop.
// EXIT is the early return of invocations past M, N.
// Subgroup form (LANE_ARG declares `lane`, the subgroup invocation id; the workgroup's x size is the
// subgroup size SG, so a subgroup is one workgroup row and shares its rows of A): lane l loads the
// At texels of rows l, SG+l, ... and STEP takes each row's texel with subgroupBroadcast, so a
// subgroup loads every A texel once instead of SG times. EXIT is then empty (uniform control flow).
// Bindings: At @1 (or A4), Bt @2, bias @3 (read only when flags & 1), c @4 (read_write; or c4).
// Or A straight from its storage buffer, no packing pass (each lane loads only its TM/SG rows
// per k-step in the subgroup form, so these loads cost little), K a multiple of 4, aOff = 0:
//   A4 (row-major A): array<vec4f>, texel x of row r = z*aRows + m at A4[a0 + r*lda + x];
//   A1 (transposed A, stored [K, M] per batch): array<f32>, A[z, m, 4x+e] at
//      A1[a0 + z*aRows + m + (4x+e)*lda] (aRows = M*K, lda = M).
// A_DECL declares At, A4 or A1 at binding 1.
struct Params {
  M: u32, N: u32, K4: u32, aRows: u32,
  aOff: u32, bRows: u32, bOff: u32, bx0: u32,
  c0: u32, scm: u32, scz: u32, bias0: u32,
  alpha: f32, beta: f32, flags: u32, _p1: u32,
  a0: u32, lda: u32, _p2: u32, _p3: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) {{A_DECL}}
@group(0) @binding(2) var Bt: texture_2d<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> c4: array<vec4f>; // C as vec4s (store4v; main uses c or c4, never both)

#include "common/matmul_epilogue.wgsl"

// Store the 4 columns n = 4*x4 .. 4*x4+3 of row m, skipping those past the block.
fn store4(z: u32, m: u32, x4: u32, v: vec4f) {
  if (m >= p.M) { return; }
  for (var e = 0u; e < 4u; e++) {
    let n = 4u * x4 + e;
    if (n < p.N) {
      epilogue_store(p.c0 + z * p.scz + m * p.scm + n, n, v[e]);
    }
  }
}

// store4 with one vec4 store (and, under beta, one vec4 load) where c0, scm, scz and the block's N
// are multiples of 4: lavapipe turns each storage access into a per-lane loop, and at K = 128 the
// scalar stores took about a tenth of the product's time.
fn store4v(z: u32, m: u32, x4: u32, v: vec4f) {
  let n = 4u * x4;
  if (m >= p.M || n >= p.N) { return; }
  var r = vec4f(epilogue_value(v.x, n), epilogue_value(v.y, n + 1u), epilogue_value(v.z, n + 2u), epilogue_value(v.w, n + 3u));
  let ci = (p.c0 + z * p.scz + m * p.scm) / 4u + x4;
  if (p.beta != 0.0) { r += p.beta * c4[ci]; }
  c4[ci] = r;
}

@compute @workgroup_size({{WGX}}, {{WGY}})
fn main(@builtin(global_invocation_id) g: vec3u{{LANE_ARG}}) {
  let x0 = g.x * {{TN4}}u;         // first vec4 column of this invocation's block
  let m0 = g.y * {{TM}}u;          // first row
  let z = g.z;
{{EXIT}}
  let ar = p.aOff + z * p.aRows + m0;
  let br = p.bOff + z * p.bRows;
  let bx = p.bx0 + x0;
{{DECL}}
  for (var k = 0u; k < p.K4; k++) {
    let kr = br + 4u * k;
{{STEP}}
  }
{{STORE}}
}
