// Fused causal multi-head attention, FlashAttention-2 style (src/ops/attention.ts), plus
// the KV-cache kernels for generation.
//
// Layouts (f32, row-major): qkv [B,T,3C] = q | k | v per row, head h at columns h·HD..
// of each part (C = NH·HD); y, dy [B,T,C] (heads merged); lse, D [B,NH,T]; dqkv [B,T,3C].
// The host binds a chunk of whole batches: b below is the batch within the chunk and
// q0 / y0 / l0 / dy0 / D0 / o0 are the chunk's element bases inside the bindings.
// Scores are s_ij = scale·q_i·k_j (scale = 1/sqrt(HD)), causal (j ≤ i). The T×T score
// matrix is never stored: tiles of {{BC}} keys (or queries) go through workgroup memory
// and are read at addresses uniform across the workgroup (broadcasts); each of the {{BR}}
// threads of a workgroup owns one row and keeps that row's vectors ({{HD}} floats each,
// HD a multiple of 4) in registers. Loops over the head dim have constant trip counts
// (unrolled: registers); loops over a tile run to the uniform p.bc (= BC) so that the
// compiler does not also unroll them (that multiplies the shader compile time).
//
// forward (workgroup (query block, b·NH + h)): online softmax over key tiles; thread i keeps
//   q_i, the running max m, sum l and output o. Writes y rows and lse = m + log l.
//   qkv @1, y @2 (rw), lse @3 (rw).
// bwd_d (one invocation per (b, t, h)): D = Σ_d dy·y over the head's columns.
//   dy @1, y @2, D @3 (rw).
// bwd_dkdv (workgroup (key block, b·NH + h)): thread j keeps k_j, v_j, dk_j, dv_j and walks
//   the query tiles (q·scale and dy staged) from the block's first key: p = exp(s - lse_i),
//   dv += p·dy_i, ds = p·(dy_i·v_j - D_i), dk += ds·scale·q_i. Writes dqkv's k, v columns.
//   qkv @1, dy @2, lse @3, D @4, dqkv @5 (rw).
// bwd_dq (workgroup (query block, b·NH + h)): thread i walks the key tiles j ≤ i:
//   dq += ds·k_j, then dq ·= scale. Writes dqkv's q columns. Bindings as bwd_dkdv.
//   (dk/dv and dq in two passes: every output element has exactly one writer, no atomics.)
//
// KV cache (generation, batch 1): kCache, vCache [NH, P, HD] (head-major: one head's keys
// are contiguous, P = capacity in positions).
// kv_append (one invocation per (t, c) of the new rows): kCache[h, pos + t, d] = k[t, h·HD + d],
//   same for v, from qkv rows [Tn, 3C] (q0 = base). qkv @1, kc @2 (rw), vc @3 (rw).
// decode (workgroup (query row t, head h), {{DW}} threads ≥ HD): the query at position
//   pos + t attends to cache positions 0..pos + t, key chunks of DW through workgroup memory
//   with an online softmax; the caches are read as vec4s (k0, v0 multiples of 4). q rows have stride qs (C, or 3C when q is read from qkv rows).
//   q @1, kc @2, vc @3, y @4 (rw; [Tq, C]).
// Batched decode (B sequences, one new token each, each at its own position): caches
// [B, NH, P, HD] (row b's cache at element b·NH·P·HD), positions u32 [B].
// kv_append_rows (one invocation per (b, c)): row b's k, v go to position positions[b] of
//   its cache. qkv @1 ([B, 3C]), kc @2 (rw), vc @3 (rw), positions @4.
// decode_rows (workgroup (row b, head h)): as decode, over row b's cache positions
//   0..positions[b]. q @1, kc @2, vc @3, y @4 (rw; [B, C]), positions @5.
const HD: u32 = {{HD}};
const H4: u32 = {{HD}} / 4u;
const BR: u32 = {{BR}};
const BC: u32 = {{BC}};
const NEG: f32 = -3.0e38;
struct Params {
  T: u32, NH: u32, C: u32, scale: f32,
  q0: u32, y0: u32, l0: u32, dy0: u32,
  D0: u32, o0: u32, n: u32, row: u32,
  bc: u32, _p0: u32, _p1: u32, _p2: u32,
}
// the KV-cache kernels': k0 / v0 are the caches' bases, P their capacity in positions, pos the
// first new position, qs the stride of q rows
struct KvParams {
  T: u32, NH: u32, C: u32, scale: f32,
  q0: u32, y0: u32, k0: u32, v0: u32,
  P: u32, pos: u32, qs: u32, n: u32,
  row: u32, _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> p: Params;    // forward, bwd_d, bwd_dkdv, bwd_dq
@group(0) @binding(0) var<uniform> pk: KvParams; // kv_append, kv_append_rows, decode, decode_rows
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
fn ld4(i: u32) -> vec4<f32> { return vec4<f32>(qkv[i], qkv[i + 1u], qkv[i + 2u], qkv[i + 3u]); }
fn hsum(v: vec4<f32>) -> f32 { return v.x + v.y + v.z + v.w; }
// ---------------------------------------------------------------- forward
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse_w: array<f32>;
var<workgroup> ks: array<vec4<f32>, BC * H4>;
var<workgroup> vs: array<vec4<f32>, BC * H4>;

fn load_kv(base: u32, kb: u32, h: u32, lid: u32) {
  let C3 = 3u * p.C;
  for (var e = lid; e < BC * H4; e += BR) {
    let j = kb + e / H4;
    var kv = vec4<f32>(0.0);
    var vv = vec4<f32>(0.0);
    if (j < p.T) {
      let kj = base + j * C3 + p.C + h * HD + 4u * (e % H4);
      kv = ld4(kj);
      vv = ld4(kj + p.C);
    }
    ks[e] = kv;
    vs[e] = vv;
  }
}

@compute @workgroup_size(BR)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let qb = wid.x;
  let b = wid.y / p.NH;
  let h = wid.y % p.NH;
  let C3 = 3u * p.C;
  let base = p.q0 + b * p.T * C3;
  let i = qb * BR + lid;
  let qi = base + min(i, p.T - 1u) * C3 + h * HD;
  var q: array<vec4<f32>, H4>;
  var o: array<vec4<f32>, H4>;
  for (var d = 0u; d < H4; d++) {
    q[d] = ld4(qi + 4u * d) * p.scale;
    o[d] = vec4<f32>(0.0);
  }
  var m = NEG;
  var l = 0.0;
  let kend = min(p.T, (qb + 1u) * BR);
  for (var kb = 0u; kb < kend; kb += BC) {
    load_kv(base, kb, h, lid);
    workgroupBarrier();
    var s: array<f32, BC>;
    var mt = m;
    for (var jj = 0u; jj < p.bc; jj++) {
      var acc = vec4<f32>(0.0);
      for (var d = 0u; d < H4; d++) { acc += q[d] * ks[jj * H4 + d]; }
      var sv = hsum(acc);
      if (kb + jj > i) { sv = NEG; }
      s[jj] = sv;
      mt = max(mt, sv);
    }
    let corr = exp(m - mt);
    l *= corr;
    for (var d = 0u; d < H4; d++) { o[d] *= corr; }
    for (var jj = 0u; jj < p.bc; jj++) {
      let pj = exp(s[jj] - mt);
      l += pj;
      for (var d = 0u; d < H4; d++) { o[d] += pj * vs[jj * H4 + d]; }
    }
    m = mt;
    workgroupBarrier();
  }
  if (i < p.T) {
    let yi = p.y0 + (b * p.T + i) * p.C + h * HD;
    let il = 1.0 / l;
    for (var d = 0u; d < H4; d++) {
      let v = o[d] * il;
      y[yi + 4u * d] = v.x;
      y[yi + 4u * d + 1u] = v.y;
      y[yi + 4u * d + 2u] = v.z;
      y[yi + 4u * d + 3u] = v.w;
    }
    lse_w[p.l0 + (b * p.NH + h) * p.T + i] = m + log(l);
  }
}

// ---------------------------------------------------------------- backward: D
@group(0) @binding(1) var<storage, read> dy_d: array<f32>;
@group(0) @binding(2) var<storage, read> y_d: array<f32>;
@group(0) @binding(3) var<storage, read_write> D_w: array<f32>;

@compute @workgroup_size(64)
fn bwd_d(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.y * p.row + gid.x;  // (b·T + t)·NH + h
  if (e >= p.n) { return; }
  let h = e % p.NH;
  let bt = e / p.NH;
  let b = bt / p.T;
  let t = bt % p.T;
  let a = bt * p.C + h * HD;
  var acc = 0.0;
  for (var d = 0u; d < HD; d++) { acc += dy_d[p.dy0 + a + d] * y_d[p.y0 + a + d]; }
  D_w[p.D0 + (b * p.NH + h) * p.T + t] = acc;
}

// ---------------------------------------------------------------- backward: dk, dv and dq
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> Dv: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;
fn ldy4(i: u32) -> vec4<f32> { return vec4<f32>(dy[i], dy[i + 1u], dy[i + 2u], dy[i + 3u]); }
fn st4(i: u32, v: vec4<f32>) { dqkv[i] = v.x; dqkv[i + 1u] = v.y; dqkv[i + 2u] = v.z; dqkv[i + 3u] = v.w; }
var<workgroup> lss: array<f32, BC>;
var<workgroup> dss: array<f32, BC>;

@compute @workgroup_size(BR)
fn bwd_dkdv(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let kb = wid.x;
  let b = wid.y / p.NH;
  let h = wid.y % p.NH;
  let C3 = 3u * p.C;
  let base = p.q0 + b * p.T * C3;
  let ybase = p.dy0 + b * p.T * p.C + h * HD;
  let lbase = (b * p.NH + h) * p.T;
  let j = kb * BR + lid;
  let kj = base + min(j, p.T - 1u) * C3 + p.C + h * HD;
  var kr: array<vec4<f32>, H4>;
  var vr: array<vec4<f32>, H4>;
  var dk: array<vec4<f32>, H4>;
  var dv: array<vec4<f32>, H4>;
  for (var d = 0u; d < H4; d++) {
    kr[d] = ld4(kj + 4u * d);
    vr[d] = ld4(kj + p.C + 4u * d);
    dk[d] = vec4<f32>(0.0);
    dv[d] = vec4<f32>(0.0);
  }
  for (var qt = kb * BR; qt < p.T; qt += BC) {
    for (var e = lid; e < BC * H4; e += BR) {
      let i = qt + e / H4;
      var qv = vec4<f32>(0.0);
      var dv4 = vec4<f32>(0.0);
      if (i < p.T) {
        qv = ld4(base + i * C3 + h * HD + 4u * (e % H4)) * p.scale;
        dv4 = ldy4(ybase + i * p.C + 4u * (e % H4));
      }
      ks[e] = qv;
      vs[e] = dv4;
    }
    for (var e = lid; e < BC; e += BR) {
      let i = qt + e;
      var lv = 0.0;
      var dd = 0.0;
      if (i < p.T) { lv = lse[p.l0 + lbase + i]; dd = Dv[p.D0 + lbase + i]; }
      lss[e] = lv;
      dss[e] = dd;
    }
    workgroupBarrier();
    for (var ii = 0u; ii < p.bc; ii++) {
      let i = qt + ii;
      var acc = vec4<f32>(0.0);
      var accp = vec4<f32>(0.0);
      for (var d = 0u; d < H4; d++) {
        acc += ks[ii * H4 + d] * kr[d];
        accp += vs[ii * H4 + d] * vr[d];
      }
      var pij = 0.0;
      if (i >= j && i < p.T) { pij = exp(hsum(acc) - lss[ii]); }
      let ds = pij * (hsum(accp) - dss[ii]);
      for (var d = 0u; d < H4; d++) {
        dv[d] += pij * vs[ii * H4 + d];
        dk[d] += ds * ks[ii * H4 + d];
      }
    }
    workgroupBarrier();
  }
  if (j < p.T) {
    let o = p.o0 + (b * p.T + j) * C3 + p.C + h * HD;
    for (var d = 0u; d < H4; d++) {
      st4(o + 4u * d, dk[d]);
      st4(o + p.C + 4u * d, dv[d]);
    }
  }
}

@compute @workgroup_size(BR)
fn bwd_dq(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let qb = wid.x;
  let b = wid.y / p.NH;
  let h = wid.y % p.NH;
  let C3 = 3u * p.C;
  let base = p.q0 + b * p.T * C3;
  let i = qb * BR + lid;
  let ic = min(i, p.T - 1u);
  let qi = base + ic * C3 + h * HD;
  let yi = p.dy0 + (b * p.T + ic) * p.C + h * HD;
  var qr: array<vec4<f32>, H4>;
  var dor: array<vec4<f32>, H4>;
  var dq: array<vec4<f32>, H4>;
  for (var d = 0u; d < H4; d++) {
    qr[d] = ld4(qi + 4u * d) * p.scale;
    dor[d] = ldy4(yi + 4u * d);
    dq[d] = vec4<f32>(0.0);
  }
  let li = lse[p.l0 + (b * p.NH + h) * p.T + ic];
  let Di = Dv[p.D0 + (b * p.NH + h) * p.T + ic];
  let kend = min(p.T, (qb + 1u) * BR);
  for (var kb = 0u; kb < kend; kb += BC) {
    load_kv(base, kb, h, lid);
    workgroupBarrier();
    for (var jj = 0u; jj < p.bc; jj++) {
      var acc = vec4<f32>(0.0);
      var accp = vec4<f32>(0.0);
      for (var d = 0u; d < H4; d++) {
        acc += qr[d] * ks[jj * H4 + d];
        accp += dor[d] * vs[jj * H4 + d];
      }
      var pij = 0.0;
      if (kb + jj <= i) { pij = exp(hsum(acc) - li); }
      let ds = pij * (hsum(accp) - Di);
      for (var d = 0u; d < H4; d++) { dq[d] += ds * ks[jj * H4 + d]; }
    }
    workgroupBarrier();
  }
  if (i < p.T) {
    let o = p.o0 + (b * p.T + i) * C3 + h * HD;
    for (var d = 0u; d < H4; d++) { st4(o + 4u * d, dq[d] * p.scale); }
  }
}

// ---------------------------------------------------------------- KV cache
@group(0) @binding(2) var<storage, read_write> kc_w: array<f32>;
@group(0) @binding(3) var<storage, read_write> vc_w: array<f32>;

@compute @workgroup_size(64)
fn kv_append(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.y * pk.row + gid.x;  // t·C + c
  if (e >= pk.n) { return; }
  let t = e / pk.C;
  let c = e % pk.C;
  let h = c / HD;
  let d = c % HD;
  let src = pk.q0 + t * 3u * pk.C + pk.C + c;
  let dst = (h * pk.P + pk.pos + t) * HD + d;
  kc_w[pk.k0 + dst] = qkv[src];
  vc_w[pk.v0 + dst] = qkv[src + pk.C];
}

@group(0) @binding(4) var<storage, read> positions_a: array<u32>;

@compute @workgroup_size(64)
fn kv_append_rows(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.y * pk.row + gid.x;  // b·C + c
  if (e >= pk.n) { return; }
  let b = e / pk.C;
  let c = e % pk.C;
  let h = c / HD;
  let d = c % HD;
  let src = pk.q0 + b * 3u * pk.C + pk.C + c;
  let dst = ((b * pk.NH + h) * pk.P + positions_a[b]) * HD + d;
  kc_w[pk.k0 + dst] = qkv[src];
  vc_w[pk.v0 + dst] = qkv[src + pk.C];
}

const DW: u32 = {{DW}};
@group(0) @binding(5) var<storage, read> positions: array<u32>;
@group(0) @binding(2) var<storage, read> kc4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> vc4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> yd: array<f32>;

var<workgroup> qsh4: array<vec4<f32>, H4>;
var<workgroup> psh: array<f32, DW>;
const RED_WG: u32 = DW;
#include "common/reduce.wgsl"

/**
 * Query row t, head h over nk cached positions from element kbase of the caches (+ k0 / v0,
 * multiples of 4). The caches are read as vec4s: a quarter of the load instructions, which is
 * what the per-lane storage loads of CPU adapters such as lavapipe cost. Lane j < DW scores key
 * kc0 + j; for p·V the lanes below H4 each own 4 of the head's dimensions.
 */
fn decode_row(t: u32, h: u32, lid: u32, nk: u32, kbase: u32) {
  let qb = pk.q0 + t * pk.qs + h * HD;
  if (lid < H4) { qsh4[lid] = ld4(qb + 4u * lid) * pk.scale; }
  workgroupBarrier();
  var m = NEG;
  var l = 0.0;
  var o = vec4<f32>(0.0);
  for (var kc0 = 0u; kc0 < nk; kc0 += DW) {
    let j = kc0 + lid;
    var s = NEG;
    if (j < nk) {
      var acc = 0.0;
      let kr = (pk.k0 + kbase + j * HD) / 4u;
      for (var d = 0u; d < H4; d++) { acc += dot(qsh4[d], kc4[kr + d]); }
      s = acc;
    }
    let mn = max(m, wg_max(s, lid));
    var pj = 0.0;
    if (j < nk) { pj = exp(s - mn); }
    psh[lid] = pj;
    let corr = exp(m - mn);
    l = l * corr + wg_sum(pj, lid);
    if (lid < H4) {
      var acc = o * corr;
      let cnt = min(DW, nk - kc0);
      let vr = (pk.v0 + kbase + kc0 * HD) / 4u + lid;
      for (var jj = 0u; jj < cnt; jj++) { acc += psh[jj] * vc4[vr + jj * H4]; }
      o = acc;
    }
    m = mn;
    workgroupBarrier();
  }
  if (lid < H4) {
    let yb = pk.y0 + t * pk.C + h * HD + 4u * lid;
    let r = o / l;
    yd[yb] = r.x;
    yd[yb + 1u] = r.y;
    yd[yb + 2u] = r.z;
    yd[yb + 3u] = r.w;
  }
}

@compute @workgroup_size(DW)
fn decode(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  decode_row(wid.x, wid.y, lid, pk.pos + wid.x + 1u, wid.y * pk.P * HD);
}

@compute @workgroup_size(DW)
fn decode_rows(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = wid.x;
  decode_row(b, wid.y, lid, positions[b] + 1u, (b * pk.NH + wid.y) * pk.P * HD);
}
