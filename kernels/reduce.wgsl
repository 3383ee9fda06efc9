// Deterministic sum of squares (src/ops/optim.ts sumSquares / gradNorm), two levels.
//
// sum_blocks: one workgroup of 256 invocations per block of BLK = 4096 consecutive elements
//   (thread t adds elements t + 256·k, k < 16, then a fixed-order tree): part[pbase + block]
//   = Σ x². The host binds x window by window (windows are whole blocks), so the result does
//   not depend on the binding limit. x @1 (window; element x0 starts it), part @2 (rw).
//   n = elements in the window; row = workgroups per grid row.
// sum_final: one workgroup: out[o0] = Σ part[0..count) (strided per thread, then a tree),
//   or its square root when sqrt != 0. part @1, out @2 (rw).
const WG: u32 = 256u;
const ITEMS: u32 = 16u;
const BLK: u32 = 4096u;

struct Params { n: u32, x0: u32, pbase: u32, row: u32, count: u32, sqrt: u32, o0: u32, _p: u32 }
@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;

var<workgroup> red: array<f32, WG>;

fn tree(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}

@compute @workgroup_size(256)
fn sum_blocks(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let blk = wid.y * p.row + wid.x;
  if (blk * BLK >= p.n) { return; }
  let start = blk * BLK;
  var acc = 0.0;
  for (var k = 0u; k < ITEMS; k++) {
    let i = start + lid + k * WG;
    if (i < p.n) { let v = x[p.x0 + i]; acc += v * v; }
  }
  let s = tree(acc, lid);
  if (lid == 0u) { part[p.pbase + blk] = s; }
}

@group(0) @binding(1) var<storage, read> part_r: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn sum_final(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.count; i += WG) { acc += part_r[i]; }
  let s = tree(acc, lid);
  if (lid == 0u) { out[p.o0] = select(s, sqrt(s), p.sqrt != 0u); }
}
