// Fused softmax cross-entropy (src/ops/crossentropy.ts).
//
// Shapes: logits [N,Vp] row-major (only columns < V, the real vocabulary, enter the
// softmax); targets i32 [N] (a target outside [0,V), e.g. -1, means "ignore this row");
// weights [N] (optional, {{WEIGHTS}}); losses [N]; dlogits [N,Vp].
// The host binds logits / dlogits by chunks of whole rows: row r of a chunk is global row
// n0 + r, l0 / d0 are the chunk's element bases inside those bindings.
//
// rows (one workgroup of 256 per row):
//   pass 1: each thread keeps an online (max, sum of exp) over columns t, t+256, .. < V;
//           a fixed-order tree merges them: lse = max + log(sum).
//   losses[n] = lse - logits[n, target] (0 for an ignored row);
//   pass 2 ({{GRAD}}): dlogits[n, c] = (exp(logits[n,c] - lse) - [c = target]) · w_n · inv_norm
//           for c < V, 0 for c ≥ V and in ignored rows. With {{INPLACE}} dlogits overwrites
//           the logits (same binding, read_write; every element is read before it is written,
//           by the same thread).
//   logits @1 ({{LACCESS}}), targets @2, weights @3 (dummy unless {{WEIGHTS}}), losses @4 (rw),
//   dlogits @5 (rw; dummy when {{INPLACE}} or not {{GRAD}}).
// logits_out(i, v) (from {{INPLACE_FN}}): logits[i] = v when in place, otherwise a no-op
// (a read-only binding cannot be assigned, even in a branch that never runs).
// total (one workgroup): loss[0] = inv_norm · Σ_n w_n·losses[n] (strided per thread, then a
//   tree: deterministic). losses @1, weights @2 (dummy unless {{WEIGHTS}}), loss @3 (rw).
const WG: u32 = 256u;
const NEG: f32 = -3.0e38;

struct Params {
  rows: u32, Vp: u32, V: u32, n0: u32,
  l0: u32, d0: u32, t0: u32, w0: u32,
  s0: u32, row: u32, inv_norm: f32, N: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
struct TotalParams { N: u32, s0: u32, w0: u32, loss0: u32, inv_norm: f32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> pt: TotalParams;

@group(0) @binding(1) var<storage, {{LACCESS}}> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

const RED_WG: u32 = WG;
#include "common/reduce.wgsl"

@compute @workgroup_size(256)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * p.row + wid.x;
  if (r >= p.rows) { return; }
  let n = p.n0 + r;
  let lb = p.l0 + r * p.Vp;
  // pass 1: online max / sum
  var m = NEG;
  var s = 0.0;
  for (var c = lid; c < p.V; c += WG) {
    let x = logits[lb + c];
    if (x > m) { s = s * exp(m - x) + 1.0; m = x; } else { s += exp(x - m); }
  }
  let ms = wg_max_sum(vec2<f32>(m, s), lid);
  let lse = ms.x + log(ms.y);
  let t = targets[p.t0 + n];
  let valid = t >= 0 && u32(t) < p.V;
  let tc = u32(t);
  if (lid == 0u) {
    var l = 0.0;
    if (valid) { l = lse - logits[lb + tc]; }
    losses[p.s0 + n] = l;
  }
  if ({{GRAD}}) {
    // every thread reads logits[lb + tc] above (lid 0) before anyone overwrites it in place
    workgroupBarrier();
    var coef = 0.0;
    if (valid) {
      coef = p.inv_norm;
      if ({{WEIGHTS}}) { coef *= weights[p.w0 + n]; }
    }
    let db = select(p.d0 + r * p.Vp, lb, {{INPLACE}});
    for (var c = lid; c < p.Vp; c += WG) {
      var d = 0.0;
      if (coef != 0.0 && c < p.V) {
        d = exp(logits[lb + c] - lse);
        if (c == tc) { d -= 1.0; }
        d *= coef;
      }
      if ({{INPLACE}}) { logits_out(db + c, d); } else { dlogits[db + c] = d; }
    }
  }
}

{{INPLACE_FN}}

// rows4: rows with the logits read and dlogits written as vec4s (not in place; Vp and the bases
// l0, d0 multiples of 4): a quarter of the per-lane storage loads of CPU adapters such as
// lavapipe, and a branch-free online max/sum per vec4. Columns 4·⌊V/4⌋ .. V-1 (at most 3) are
// folded in by the first threads; dlogits columns ≥ V are 0, as in rows.
@group(0) @binding(1) var<storage, read> logits4: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> dlogits4: array<vec4f>;

@compute @workgroup_size(256)
fn rows4(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * p.row + wid.x;
  if (r >= p.rows) { return; }
  let n = p.n0 + r;
  let lb = (p.l0 + r * p.Vp) / 4u;
  let V4 = p.V / 4u;
  var m = NEG;
  var s = 0.0;
  for (var c = lid; c < V4; c += WG) {
    let x = logits4[lb + c];
    let mn = max(m, max(max(x.x, x.y), max(x.z, x.w)));
    s = s * exp(m - mn) + dot(exp(x - mn), vec4f(1.0));
    m = mn;
  }
  if (4u * V4 + lid < p.V) {
    let x = logits4[lb + V4][lid];
    let mn = max(m, x);
    s = s * exp(m - mn) + exp(x - mn);
    m = mn;
  }
  let ms = wg_max_sum(vec2<f32>(m, s), lid);
  let lse = ms.x + log(ms.y);
  let t = targets[p.t0 + n];
  let valid = t >= 0 && u32(t) < p.V;
  let tc = u32(t);
  if (lid == 0u) {
    var l = 0.0;
    if (valid) { l = lse - logits4[lb + tc / 4u][tc % 4u]; }
    losses[p.s0 + n] = l;
  }
  if ({{GRAD}}) {
    var coef = 0.0;
    if (valid) {
      coef = p.inv_norm;
      if ({{WEIGHTS}}) { coef *= weights[p.w0 + n]; }
    }
    let db = (p.d0 + r * p.Vp) / 4u;
    for (var c = lid; c < p.Vp / 4u; c += WG) {
      var d = vec4f(0.0);
      if (coef != 0.0 && 4u * c < p.V) {
        let cols = vec4u(4u * c) + vec4u(0u, 1u, 2u, 3u);
        d = select(vec4f(0.0), exp(logits4[lb + c] - lse), cols < vec4u(p.V));
        d = (d - select(vec4f(0.0), vec4f(1.0), cols == vec4u(tc))) * coef;
      }
      dlogits4[db + c] = d;
    }
  }
}

// total
@group(0) @binding(1) var<storage, read> losses_r: array<f32>;
@group(0) @binding(2) var<storage, read> weights_r: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

@compute @workgroup_size(256)
fn total(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var n = lid; n < pt.N; n += WG) {
    var l = losses_r[pt.s0 + n];
    if ({{WEIGHTS}}) { l *= weights_r[pt.w0 + n]; }
    acc += l;
  }
  let total = wg_sum(acc, lid);
  if (lid == 0u) { loss[pt.loss0] = total * pt.inv_norm; }
}
