// Fused AdamW step, PyTorch semantics (src/ops/optim.ts adamw); one invocation per element
// of a window of the flat p, g, m, v (all the same length; the host loops over windows).
// Elements are of type V: vec4f where every window starts at a multiple of 4 floats (4 floats
// per storage load), f32 for the tail; n and the bases p0, g0, m0, v0 count V elements.
//
//   g' = g · gscale · clipf,  clipf = min(1, clip / (gscale·norm + 1e-6)) when clip > 0
//   p *= 1 - lr·wd;  m = m + (1-b1)(g' - m);  v = b2·v + (1-b2)·g'²
//   p -= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps)       (bc_i = 1 - b_i^step)
// norm = the unscaled gradient's global norm, read from norm[n0] when use_norm != 0 (no CPU
// readback). If that norm is NaN or ±Inf the step is skipped: p, m, v are left untouched.
// Bindings: p @1 (rw), g @2, m @3 (rw), v @4 (rw), norm @5 (dummy unless use_norm).
// omb1 = 1 - b1, omb2 = 1 - b2, decay = 1 - lr·wd, step_size = lr / bc1 (computed on the host in
// float64). p0, g0, m0, v0 = element bases of the window in each binding; row = invocations per grid row.
alias V = {{V}};
struct Params {
  n: u32, p0: u32, g0: u32, m0: u32,
  v0: u32, row: u32, use_norm: u32, n0: u32,
  decay: f32, b1: f32, b2: f32, eps: f32,
  step_size: f32, bc2_sqrt: f32, clip: f32, gscale: f32,
  omb1: f32, omb2: f32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> pw: array<V>;
@group(0) @binding(2) var<storage, read> g: array<V>;
@group(0) @binding(3) var<storage, read_write> m: array<V>;
@group(0) @binding(4) var<storage, read_write> v: array<V>;
@group(0) @binding(5) var<storage, read> norm: array<f32>;

// exponent bits all ones: Inf or NaN (a bit test survives fast-math compilers)
fn non_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u; }

@compute @workgroup_size(256)
fn step(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * p.row + gid.x;
  if (i >= p.n) { return; }
  var s = p.gscale;
  if (p.use_norm != 0u) {
    let nr = norm[p.n0];
    if (non_finite(nr)) { return; }
    if (p.clip > 0.0) { s *= min(1.0, p.clip / (nr * p.gscale + 1e-6)); }
  }
  let gi = g[p.g0 + i] * s;
  let mi = m[p.m0 + i] + p.omb1 * (gi - m[p.m0 + i]);
  let vi = p.b2 * v[p.v0 + i] + p.omb2 * gi * gi;
  m[p.m0 + i] = mi;
  v[p.v0 + i] = vi;
  let pi = pw[p.p0 + i] * p.decay;
  pw[p.p0 + i] = pi - p.step_size * mi / (sqrt(vi) / p.bc2_sqrt + p.eps);
}
