// One decoding step of attention through the KV cache, with the cache append fused in, one
// subgroup per (row, head) and no workgroup memory or barriers (src/ops/attention.ts
// attentionStep; for adapters with a fixed subgroup size SG and HD a multiple of 4·SG: lavapipe,
// SG = 8, HD = 64). kernels/attention.wgsl's kv_append + decode do the same in two dispatches
// with workgroup-tree reductions, whose barriers are costly on CPU adapters.
//
// Lane l owns D4 = HD / (4·SG) vec4s of the head's dims, vec4 l·D4 + i for i < D4. It writes those
// dims of the new k and v into the cache at position `at`, then walks positions j = 0 .. at:
// s_j = scale · subgroupAdd(q·k_j over its dims) (the same on every lane), an online softmax
// (running max m and sum l), o += p_j · v_j over its dims; finally y = o / l. Each lane reads
// back only cache entries it wrote itself or that earlier dispatches wrote: no barrier needed.
//
// Layouts as kernels/attention.wgsl, read as vec4s (q0, k0, v0, y0, C multiples of 4):
// qkv rows [rows, 3C] (q | k | v, head h at columns h·HD..), y [rows, C].
// step (workgroup (0, h)): batch 1, caches [NH, P, HD], at = pos.
// step_rows (workgroup (b, h)): row b's caches at element b·NH·P·HD of [B, NH, P, HD], at = positions[b].
// Bindings: qkv @1, kc @2 (rw), vc @3 (rw), y @4 (rw), positions @5 (step_rows).
diagnostic(off, subgroup_uniformity);
const HD: u32 = {{HD}};
const SG: u32 = {{SG}};
const D4: u32 = {{HD}} / (4u * {{SG}});

struct KvParams {
  T: u32, NH: u32, C: u32, scale: f32,
  q0: u32, y0: u32, k0: u32, v0: u32,
  P: u32, pos: u32, qs: u32, n: u32,
  row: u32, _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> pk: KvParams;
@group(0) @binding(1) var<storage, read> qkv4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> kc4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> vc4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> y4: array<vec4f>;

/** Row b (its qkv row, its y row, its cache from element cbase), head h, new position at. */
fn step_row(b: u32, h: u32, lane: u32, at: u32, cbase: u32) {
  let C4 = pk.C / 4u;
  let qr = pk.q0 / 4u + b * 3u * C4 + h * (HD / 4u) + lane * D4; // this lane's first q vec4
  let kr = (pk.k0 + cbase) / 4u + lane * D4;                       // its dims of cache position 0
  let vr = (pk.v0 + cbase) / 4u + lane * D4;
  let H4 = HD / 4u;
  var q: array<vec4f, D4>;
  for (var i = 0u; i < D4; i++) {
    q[i] = qkv4[qr + i] * pk.scale;
    kc4[kr + at * H4 + i] = qkv4[qr + C4 + i];
    vc4[vr + at * H4 + i] = qkv4[qr + 2u * C4 + i];
  }
  var m = -3.0e38;
  var l = 0.0;
  var o: array<vec4f, D4>;
  for (var j = 0u; j <= at; j++) {
    var part = 0.0;
    for (var i = 0u; i < D4; i++) { part += dot(q[i], kc4[kr + j * H4 + i]); }
    let s = subgroupAdd(part);
    let mn = max(m, s);
    let corr = exp(m - mn);
    let p = exp(s - mn);
    l = l * corr + p;
    for (var i = 0u; i < D4; i++) { o[i] = o[i] * corr + p * vc4[vr + j * H4 + i]; }
    m = mn;
  }
  let yr = pk.y0 / 4u + b * C4 + h * H4 + lane * D4;
  for (var i = 0u; i < D4; i++) { y4[yr + i] = o[i] / l; }
}

@compute @workgroup_size(SG)
fn step(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  step_row(0u, wid.y, lane, pk.pos, wid.y * pk.P * HD);
}

@group(0) @binding(5) var<storage, read> positions: array<u32>;

@compute @workgroup_size(SG)
fn step_rows(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let b = wid.x;
  step_row(b, wid.y, lane, positions[b], (b * pk.NH + wid.y) * pk.P * HD);
}
