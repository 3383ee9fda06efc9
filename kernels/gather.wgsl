// Rows of a matrix by index, and the scatter that is its backward (src/ops/gather.ts): the
// loss needs logits only at the positions it counts, so the residual stream's rows there are
// gathered before ln_f and lm_head, and their gradient is scattered back.
//
// Shapes (f32, row-major): x, dx [N, C]; rows i32 [M], distinct, each in [0, N); y, dy [M, C].
// gather (one invocation per element of y): y[m, c] = x[rows[m], c].
//   rows @1, x @2, y @3 (rw).
// scatter (one invocation per element of dy): dx[rows[m], c] = dy[m, c]. dx is zeroed first by
//   the host: rows not in `rows` get no gradient. The rows are distinct, so every element of dx
//   has at most one writer (no atomics). rows @1, dy @2, dx @3 (rw).
// Bases (rows0, x0, y0; dx0, dy0) are element indexes inside the bindings; row = invocations
// per row of the 2-D grid (gid.y * row + gid.x).
struct GatherParams { M: u32, C: u32, rows0: u32, x0: u32, y0: u32, row: u32, _p0: u32, _p1: u32 }
struct ScatterParams { M: u32, C: u32, rows0: u32, dx0: u32, dy0: u32, row: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> p: GatherParams;
@group(0) @binding(0) var<uniform> ps: ScatterParams;
@group(0) @binding(1) var<storage, read> rows: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.M * p.C) { return; }
  let m = i / p.C;
  let c = i % p.C;
  dst[p.y0 + i] = src[p.x0 + u32(rows[p.rows0 + m]) * p.C + c];
}

@compute @workgroup_size(256)
fn scatter(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * ps.row + g.x;
  if (i >= ps.M * ps.C) { return; }
  let m = i / ps.C;
  let c = i % ps.C;
  dst[ps.dx0 + u32(rows[ps.rows0 + m]) * ps.C + c] = src[ps.dy0 + i];
}
