// Token + position embedding, forward and backward (src/ops/embedding.ts).
//
// Shapes: ids i32 [N]; wte [V,C]; wpe [P,C]; out / dout [N,C]. Row n uses position
// posOffset + n % T. An id outside [0,V) gives an all-zero output row and no gradient.
// wte may be larger than one binding: every wte kernel sees a window of rows
// [r0, r0+nr) of it, bound from element wte0; the host loops over the windows.
//
// forward (one invocation per element of a chunk of out rows [n0, n0+rows)):
//   ids @1, wte @2 (window), wpe @3 (rows from posOffset, from element wpe0), out @4 (rw).
//   The first window's dispatch (first = 1) writes every element (wpe + wte if the id
//   falls in the window, 0 for an invalid id); later windows add wte to their rows only.
// forward_rows: as forward, but row n uses position positions[n] (u32 @5; wpe bound whole from
//   element wpe0): batched decoding, where each sequence is at its own position.
// sort_ids (one invocation per id): a stable counting-by-rank sort of the ids, done on
//   the GPU because the host never sees them: key(n) = (id, n) with invalid ids mapped to
//   0xffffffff; rank = #{m : key(m) < key(n)}; perm[rank] = n, sid[rank] = key id.
//   ids @1, perm @2 (u32 rw), sid @3 (u32 rw). O(N²) comparisons through workgroup tiles
//   (kernels/embedding_sort_sg.wgsl: the same through subgroup broadcasts, 4-7x faster on lavapipe).
// dwte_acc (workgroups of 64 channels × 16 sorted positions k): for the first k of each run
//   of equal ids, the invocation of channel c owns row sid[k] and adds Σ dout[perm[j], c]
//   over the run, in sorted (= ascending n) order: deterministic and free of atomics. A block
//   skips the positions of a run begun before it; each sorted position's id is loaded once.
//   perm @1, sid @2, dout @3, dwte @4 (window, rw).
// dwpe (one invocation per (t, c), t < T): dwpe[t, c] += Σ_{n ≡ t mod T} dout[n, c] in
//   ascending n. ids @1, dout @2, dwpe @3 (rw).
// Vector width: wte, wpe, out, dout, dwte and dwpe are array<{{V}}> of {{W}} channels each
// (vec4f and 4 where C and every base are multiples of 4: a quarter of the per-lane load work
// on CPU adapters such as lavapipe; f32 and 1 otherwise). C, the bases and count stay in floats;
// an invocation above covers {{W}} adjacent channels of one row.
#include "common/embedding_params.wgsl"
struct DwteParams { N: u32, C: u32, dwte0: u32, dout0: u32, r0: u32, nr: u32, row: u32, cgroups: u32 }
struct DwpeParams { N: u32, C: u32, T: u32, V: u32, ids0: u32, dwpe0: u32, dout0: u32, row: u32, count: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> p: Params;        // forward, forward_rows, sort_ids
@group(0) @binding(0) var<uniform> pw: DwteParams;   // dwte_acc
@group(0) @binding(0) var<uniform> pp: DwpeParams;   // dwpe_acc

const W: u32 = {{W}}u;

// forward
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> wte: array<{{V}}>;
@group(0) @binding(3) var<storage, read> wpe: array<{{V}}>;
@group(0) @binding(4) var<storage, read_write> out: array<{{V}}>;

/** Vector i (W channels) of the chunk's out rows; row n of the whole output is at position `pos`. */
fn embed(i: u32, n: u32, pos: u32) {
  let Cv = p.C / W;
  let nl = i / Cv;
  let c = i % Cv;
  let id = ids[p.ids0 + n];
  let valid = id >= 0 && u32(id) < p.V;
  let oi = p.out0 / W + nl * Cv + c;
  let r = u32(id);
  let inWin = valid && r >= p.r0 && r - p.r0 < p.nr;
  if (p.first != 0u) {
    var acc = {{V}}(0.0);
    if (valid) {
      acc = wpe[p.wpe0 / W + pos * Cv + c];
      if (inWin) { acc += wte[p.wte0 / W + (r - p.r0) * Cv + c]; }
    }
    out[oi] = acc;
  } else if (inWin) {
    out[oi] = out[oi] + wte[p.wte0 / W + (r - p.r0) * Cv + c];
  }
}

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.count / W) { return; }
  let n = p.n0 + i / (p.C / W);
  embed(i, n, n % p.T);
}

@group(0) @binding(5) var<storage, read> positions: array<u32>;

@compute @workgroup_size(256)
fn forward_rows(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.count / W) { return; }
  let n = p.n0 + i / (p.C / W);
  embed(i, n, positions[n]);
}

// sort_ids
@group(0) @binding(2) var<storage, read_write> perm_w: array<u32>;
@group(0) @binding(3) var<storage, read_write> sid_w: array<u32>;
var<workgroup> tile: array<u32, 256>;

@compute @workgroup_size(256)
fn sort_ids(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x * 256u + lid;
  var mine = 0xffffffffu;
  if (n < p.N) { mine = key_of(n); }
  var rank = 0u;
  for (var t0 = 0u; t0 < p.N; t0 += 256u) {
    let m = t0 + lid;
    var km = 0xffffffffu;
    if (m < p.N) { km = key_of(m); }
    tile[lid] = km;
    workgroupBarrier();
    let lim = min(256u, p.N - t0);
    for (var j = 0u; j < lim; j++) {
      let kj = tile[j];
      if (kj < mine || (kj == mine && t0 + j < n)) { rank += 1u; }
    }
    workgroupBarrier();
  }
  if (n < p.N) {
    perm_w[rank] = n;
    sid_w[rank] = mine;
  }
}

// dwte
@group(0) @binding(1) var<storage, read> perm: array<u32>;
@group(0) @binding(2) var<storage, read> sid: array<u32>;
@group(0) @binding(3) var<storage, read> dout: array<{{V}}>;
@group(0) @binding(4) var<storage, read_write> dwte: array<{{V}}>;

const KB: u32 = 16u; // sorted positions per workgroup

@compute @workgroup_size(64)
fn dwte_acc(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  // row = groups per grid row; cgroups = groups of 64 channel vectors
  let w = wid.y * pw.row + wid.x;
  let Cv = pw.C / W;
  let c = (w % pw.cgroups) * 64u + lid;
  let k0 = (w / pw.cgroups) * KB;
  if (c >= Cv) { return; }
  let kEnd = min(k0 + KB, pw.N);
  if (k0 >= kEnd) { return; }
  // skip the positions that continue a run begun before this block (its owner has them)
  var k = k0;
  var id = sid[k];
  if (k0 > 0u) {
    let before = sid[k0 - 1u];
    while (id == before) {
      k++;
      if (k >= kEnd) { return; }
      id = sid[k];
    }
  }
  // each run starting in the block: its sorted positions are read once, the next id carried
  while (k < kEnd && id != 0xffffffffu) { // invalid ids sort last and get no gradient
    let mine = id >= pw.r0 && id - pw.r0 < pw.nr;
    var acc = {{V}}(0.0);
    var j = k;
    loop {
      if (mine) { acc += dout[pw.dout0 / W + perm[j] * Cv + c]; }
      j++;
      if (j >= pw.N) { id = 0xffffffffu; break; }
      let next = sid[j];
      if (next != id) { id = next; break; }
    }
    if (mine) {
      let o = pw.dwte0 / W + (sid[k] - pw.r0) * Cv + c;
      dwte[o] = dwte[o] + acc;
    }
    k = j;
  }
}

// dwpe
@group(0) @binding(2) var<storage, read> dout2: array<{{V}}>;
@group(0) @binding(3) var<storage, read_write> dwpe: array<{{V}}>;

@compute @workgroup_size(256)
fn dwpe_acc(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * pp.row + g.x;
  if (i >= pp.count / W) { return; }
  let Cv = pp.C / W;
  let t = i / Cv;
  let c = i % Cv;
  var acc = {{V}}(0.0);
  for (var n = t; n < pp.N; n += pp.T) {
    let id = ids[pp.ids0 + n];
    if (id >= 0 && u32(id) < pp.V) { acc += dout2[pp.dout0 / W + n * Cv + c]; }
  }
  let o = pp.dwpe0 / W + t * Cv + c;
  dwpe[o] = dwpe[o] + acc;
}
