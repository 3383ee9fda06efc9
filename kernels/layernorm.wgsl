// LayerNorm over the last dimension, forward and backward (src/ops/layernorm.ts).
//
// Shapes: x, y, dy, dx [N,C] row-major; w, b, dw, db [C]; mean, rstd [N].
// y = (x - mean)·rstd·w + b, rstd = 1/sqrt(var + eps) (biased variance, two-pass).
// The host cuts x/y/dy/dx into chunks of whole rows that fit one binding: row r of a chunk
// is global row n0 + r; x0, y0, dy0, dx0 are the chunk's element bases inside its bindings.
// Each family of entry points reads its own parameter struct (Params, BackParams, ReduceParams).
// (kernels/layernorm_sg.wgsl has subgroup versions of forward / backward_dx, used when the
// device supports subgroups.) {{WG}} threads (a power of two) per row; thread t holds columns t + k·WG, k < {{VPT}}.
// Reductions are fixed-order workgroup trees (kernels/common/reduce.wgsl): results are deterministic.
//
// forward: one workgroup per row. x @1, w @2, b @3, y @4 (rw), mean @5 (rw), rstd @6 (rw).
// backward_dx: one workgroup per row: dx = rstd·(w·dy - mean_c(w·dy) - xhat·mean_c(w·dy·xhat)).
//   dy @1, x @2, w @3, mean @4, rstd @5, dx @6 (rw).
// dwdb: see below (partials of dw, db per block of R rows, one invocation per channel).
// reduce (one invocation per c < 2C): dw/db[c] = Σ_blocks part[block, c] in block order.
//   part @1, dw @2 (rw), db @3 (rw).
const WG: u32 = {{WG}};
const VPT: u32 = {{VPT}};

#include "common/layernorm_params.wgsl"
const RED_WG: u32 = WG;
#include "common/reduce.wgsl"
struct ReduceParams { C: u32, nblk: u32, dw0: u32, db0: u32, acc: u32, _p0: u32, _p1: u32, _p2: u32 } // acc: add to dw, db
@group(0) @binding(0) var<uniform> pr: ReduceParams; // reduce

// forward
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean_w: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd_w: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * p.row + wid.x;
  if (r >= p.rows) { return; }
  let C = p.C;
  let xb = p.x0 + r * C;
  var xv: array<f32, VPT>;
  var s = 0.0;
  for (var k = 0u; k < VPT; k++) {
    let c = lid + k * WG;
    var v = 0.0;
    if (c < C) { v = x[xb + c]; }
    xv[k] = v;
    s += v;
  }
  let mu = wg_sum(s, lid) / f32(C);
  var q = 0.0;
  for (var k = 0u; k < VPT; k++) {
    let c = lid + k * WG;
    if (c < C) { let d = xv[k] - mu; q += d * d; }
  }
  let rs = inverseSqrt(wg_sum(q, lid) / f32(C) + p.eps);
  let yb = p.y0 + r * C;
  for (var k = 0u; k < VPT; k++) {
    let c = lid + k * WG;
    if (c < C) { y[yb + c] = (xv[k] - mu) * rs * w[p.w0 + c] + b[p.b0 + c]; }
  }
  if (lid == 0u) {
    mean_w[p.m0 + p.n0 + r] = mu;
    rstd_w[p.s0 + p.n0 + r] = rs;
  }
}

// backward_dx
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> xb_: array<f32>;
@group(0) @binding(3) var<storage, read> wb_: array<f32>;
@group(0) @binding(4) var<storage, read> mean_r: array<f32>;
@group(0) @binding(5) var<storage, read> rstd_r: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn backward_dx(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * pb.row + wid.x;
  if (r >= pb.rows) { return; }
  let C = pb.C;
  let mu = mean_r[pb.m0 + pb.n0 + r];
  let rs = rstd_r[pb.s0 + pb.n0 + r];
  var gw: array<f32, VPT>;
  var xh: array<f32, VPT>;
  var s = vec2<f32>(0.0, 0.0);
  for (var k = 0u; k < VPT; k++) {
    let c = lid + k * WG;
    var g = 0.0;
    var h = 0.0;
    if (c < C) {
      g = wb_[pb.w0 + c] * dy[pb.dy0 + r * C + c];
      h = (xb_[pb.x0 + r * C + c] - mu) * rs;
    }
    gw[k] = g;
    xh[k] = h;
    s += vec2<f32>(g, g * h);
  }
  let t = wg_sum2(s, lid) / f32(C);
  for (var k = 0u; k < VPT; k++) {
    let c = lid + k * WG;
    if (c < C) {
      let i = pb.dx0 + r * C + c;
      var v = rs * (gw[k] - t.x - xh[k] * t.y);
      if (pb.acc != 0u) { v += dx[i]; }
      dx[i] = v;
    }
  }
}

// dwdb (one invocation per (channel c, block of R rows), no barriers): the block's partial
// sums dw = Σ dy·xhat, db = Σ dy over its rows in order, to part[block, c] and
// part[block, C + c]; global block = n0 / R + group row. dy @1, x @2, mean @3, rstd @4, part @5 (rw).
@group(0) @binding(1) var<storage, read> dy_c: array<f32>;
@group(0) @binding(2) var<storage, read> x_c: array<f32>;
@group(0) @binding(3) var<storage, read> mean_c: array<f32>;
@group(0) @binding(4) var<storage, read> rstd_c: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

@compute @workgroup_size(64)
fn dwdb(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let k = gid.y;
  let C = pb.C;
  let r0 = k * pb.R;
  if (c >= C || r0 >= pb.rows) { return; }
  let r1 = min(r0 + pb.R, pb.rows);
  var aw = 0.0;
  var ab = 0.0;
  for (var r = r0; r < r1; r++) {
    let d = dy_c[pb.dy0 + r * C + c];
    aw += d * (x_c[pb.x0 + r * C + c] - mean_c[pb.m0 + pb.n0 + r]) * rstd_c[pb.s0 + pb.n0 + r];
    ab += d;
  }
  let blk = pb.n0 / pb.R + k;
  part[blk * 2u * C + c] = aw;
  part[blk * 2u * C + C + c] = ab;
}

// dwdb4: dwdb with 4 channels per invocation, dy, x and part as vec4s (C and the bases x0, dy0
// and part's multiples of 4; lavapipe's storage loads are per-lane loops, so a quarter of them).
@group(0) @binding(1) var<storage, read> dy_c4: array<vec4f>;
@group(0) @binding(2) var<storage, read> x_c4: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> part4: array<vec4f>;

@compute @workgroup_size(64)
fn dwdb4(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let k = gid.y;
  let C4 = pb.C / 4u;
  let r0 = k * pb.R;
  if (c >= C4 || r0 >= pb.rows) { return; }
  let r1 = min(r0 + pb.R, pb.rows);
  var aw = vec4f(0.0);
  var ab = vec4f(0.0);
  for (var r = r0; r < r1; r++) {
    let d = dy_c4[pb.dy0 / 4u + r * C4 + c];
    aw += d * (x_c4[pb.x0 / 4u + r * C4 + c] - mean_c[pb.m0 + pb.n0 + r]) * rstd_c[pb.s0 + pb.n0 + r];
    ab += d;
  }
  let blk = pb.n0 / pb.R + k;
  part4[blk * 2u * C4 + c] = aw;
  part4[blk * 2u * C4 + C4 + c] = ab;
}

// reduce
@group(0) @binding(1) var<storage, read> part_r: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<storage, read_write> db: array<f32>;

@compute @workgroup_size(64)
fn reduce(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let C = pr.C;
  if (c >= 2u * C) { return; }
  var acc = 0.0;
  for (var k = 0u; k < pr.nblk; k++) { acc += part_r[k * 2u * C + c]; }
  if (c < C) {
    if (pr.acc != 0u) { acc += dw[pr.dw0 + c]; }
    dw[pr.dw0 + c] = acc;
  } else {
    if (pr.acc != 0u) { acc += db[pr.db0 + c - C]; }
    db[pr.db0 + c - C] = acc;
  }
}

// reduce4: reduce with 4 channels per invocation, the partials as vec4s (C a multiple of 4).
@group(0) @binding(1) var<storage, read> part_r4: array<vec4f>;

@compute @workgroup_size(64)
fn reduce4(@builtin(global_invocation_id) gid: vec3u) {
  let c4 = gid.x;
  let C4 = pr.C / 4u;
  if (c4 >= 2u * C4) { return; }
  var acc = vec4f(0.0);
  for (var k = 0u; k < pr.nblk; k++) { acc += part_r4[k * 2u * C4 + c4]; }
  for (var e = 0u; e < 4u; e++) {
    let c = 4u * c4 + e;
    var v = acc[e];
    if (c < pr.C) {
      if (pr.acc != 0u) { v += dw[pr.dw0 + c]; }
      dw[pr.dw0 + c] = v;
    } else {
      if (pr.acc != 0u) { v += db[pr.db0 + c - pr.C]; }
      db[pr.db0 + c - pr.C] = v;
    }
  }
}
