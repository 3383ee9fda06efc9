// The matmul epilogue as a pass of its own, for products whose K was cut into chunks while GELU
// is on (GELU must follow the whole sum): c = GELU(alpha * t (+ bias)) + beta * c, elementwise
// over one window (kernels/common/matmul_epilogue.wgsl; flags: 1 bias, 2 GELU).
//
// Element i < n of the window: t[t0 + i], c[c0 + i]; its column is (ph + i) % N, the bias index
// bias[bias0 + column]. row = invocations per row of the 2-D grid (i = gid.y * row + gid.x).
// Bindings: t @1 (the raw sums), bias @2 (read only when flags & 1), c @3 (read_write).
struct Params {
  n: u32, t0: u32, c0: u32, ph: u32,
  N: u32, bias0: u32, alpha: f32, beta: f32,
  row: u32, flags: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

#include "common/matmul_epilogue.wgsl"

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.n) { return; }
  epilogue_store(p.c0 + i, (p.ph + i) % p.N, t[p.t0 + i]);
}
