// Unfused causal attention helpers (src/ops/attention.ts attentionNaive*): the baseline
// that writes the full score matrix; the matmuls in between are matmul() calls.
//
// Layouts: rows [B,T,S] with a head's columns at co + h·HD (S = 3C for qkv / dqkv,
// C for y / dy); per-head [B,NH,T,HD]; scores / probabilities [B·NH, T, T]; lse [B,NH,T].
//
// split (one invocation per element of the per-head tensor): o[b,h,t,d] = x[b,t,co + h·HD + d].
//   x @1, o @2 (rw).
// merge (same indexing, the other way): x[b,t,co + h·HD + d] = o[b,h,t,d]. hd @1, rows @2 (rw).
// softmax (one workgroup of 256 per score row, in place): row i of each T×T block gets
//   P_ij = exp(S_ij - lse_i) for j ≤ i and 0 for j > i; lse_i = logsumexp_{j≤i} S_ij.
//   S @1 (rw), lse @2 (rw).
// probs (one invocation per score element, in place): P_ij = exp(S_ij - lse_i) for j ≤ i,
//   else 0 (the backward pass recomputes P from S and the saved lse). S @1 (rw), lse @2.
// softmax_bwd (one workgroup per row, in place): dS_ij = P_ij·(dP_ij - Σ_k P_ik·dP_ik).
//   P @1, dP @2 (rw).
// Scalars: B, T, NH, HD, S (row stride), co (column offset), n (elements), row (grid row).
struct Params {
  B: u32, T: u32, NH: u32, HD: u32,
  S: u32, co: u32, n: u32, row: u32,
}
@group(0) @binding(0) var<uniform> p: Params;

fn rows_index(e: u32) -> u32 {
  let d = e % p.HD;
  let t = (e / p.HD) % p.T;
  let h = (e / (p.HD * p.T)) % p.NH;
  let b = e / (p.HD * p.T * p.NH);
  return (b * p.T + t) * p.S + p.co + h * p.HD + d;
}

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;

@compute @workgroup_size(256)
fn split(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.y * p.row + gid.x;
  if (e >= p.n) { return; }
  o[e] = x[rows_index(e)];
}

@compute @workgroup_size(256)
fn merge(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.y * p.row + gid.x;
  if (e >= p.n) { return; }
  o[rows_index(e)] = x[e];
}

@group(0) @binding(1) var<storage, read_write> s: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse_w: array<f32>;
const RED_WG: u32 = 256u;
#include "common/reduce.wgsl"

@compute @workgroup_size(256)
fn softmax(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * p.row + wid.x;   // z·T + i
  if (r >= p.n) { return; }
  let i = r % p.T;
  let a = r * p.T;
  var m = -3.0e38;
  for (var j = lid; j <= i; j += 256u) { m = max(m, s[a + j]); }
  let mx = wg_max(m, lid);
  var acc = 0.0;
  for (var j = lid; j <= i; j += 256u) { acc += exp(s[a + j] - mx); }
  let lse = mx + log(wg_sum(acc, lid));
  for (var j = lid; j < p.T; j += 256u) {
    var v = 0.0;
    if (j <= i) { v = exp(s[a + j] - lse); }
    s[a + j] = v;
  }
  if (lid == 0u) { lse_w[r] = lse; }
}

@group(0) @binding(2) var<storage, read> lse_r: array<f32>;

@compute @workgroup_size(256)
fn probs(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.y * p.row + gid.x;
  if (e >= p.n) { return; }
  let r = e / p.T;
  let j = e % p.T;
  var v = 0.0;
  if (j <= r % p.T) { v = exp(s[e] - lse_r[r]); }
  s[e] = v;
}

@group(0) @binding(1) var<storage, read> pr: array<f32>;
@group(0) @binding(2) var<storage, read_write> dp: array<f32>;

@compute @workgroup_size(256)
fn softmax_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * p.row + wid.x;
  if (r >= p.n) { return; }
  let a = r * p.T;
  var acc = 0.0;
  for (var j = lid; j < p.T; j += 256u) { acc += pr[a + j] * dp[a + j]; }
  let dsum = wg_sum(acc, lid);
  for (var j = lid; j < p.T; j += 256u) { dp[a + j] = pr[a + j] * (dp[a + j] - dsum); }
}
