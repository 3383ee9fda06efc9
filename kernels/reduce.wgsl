// Deterministic sum of squares (src/ops/optim.ts sumSquares / gradNorm), in levels.
//
// sum_blocks: the input is cut into fixed blocks of BLK = 4096 elements; block k is read
//   by one workgroup of 64 invocations and invocation t writes the partial
//   part[pbase + 64·k + t] = Σ_{i < 64} f(x[64·i + t]) of the block (f = square when
//   {{SQUARE}}). No barriers (they are costly on CPU adapters). The host binds x window by
//   window (whole blocks), so results do not depend on the binding limit; it applies the
//   kernel again (plain sums) to the partials while they are many.
//   x @1 (window from element x0; n = elements in it), part @2 (rw); row = groups per grid row.
// sum_final: one workgroup of 256: out[o0] = Σ part[0..count) (strided per thread, then a
//   fixed-order tree, kernels/common/reduce.wgsl), or its square root when sqrt != 0. part @1, out @2 (rw).
const BLK: u32 = 4096u;

struct Params { n: u32, x0: u32, pbase: u32, row: u32, count: u32, sqrt: u32, o0: u32, _p: u32 }
@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;

@compute @workgroup_size(64)
fn sum_blocks(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let blk = wid.y * p.row + wid.x;
  let start = blk * BLK;
  if (start >= p.n) { return; }
  var acc = 0.0;
  for (var k = 0u; k < 64u; k++) {
    let i = start + lid + k * 64u;
    if (i < p.n) {
      let v = x[p.x0 + i];
      if ({{SQUARE}}) { acc += v * v; } else { acc += v; }
    }
  }
  part[p.pbase + blk * 64u + lid] = acc;
}

@group(0) @binding(1) var<storage, read> part_r: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
const RED_WG: u32 = 256u;
#include "common/reduce.wgsl"

@compute @workgroup_size(RED_WG)
fn sum_final(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.count; i += RED_WG) { acc += part_r[i]; }
  let total = wg_sum(acc, lid);
  if (lid == 0u) { out[p.o0] = select(total, sqrt(total), p.sqrt != 0u); }
}
