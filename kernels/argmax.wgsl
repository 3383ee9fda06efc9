// Greedy decoding's choice on the GPU (src/ops/argmax.ts): for each row r of x,
//   out[o0 + r] = the lowest index i < n with x[x0 + r*stride + i] maximal
// (the first maximum, as argmax() in src/model/sample.ts; with NaNs in the row the two may differ).
// One workgroup of 256 per row: each thread keeps the first maximum of its strided elements,
// then the workgroup takes the maximum value and, among the threads holding it, the lowest
// index (as a max of -index: indices below 2^24 are exact in f32).
// Bindings: x @1, out @2 (i32, read_write).
struct Params { n: u32, stride: u32, x0: u32, o0: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

const RED_WG: u32 = 256u;
#include "common/reduce.wgsl"

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = p.x0 + wid.x * p.stride;
  var best = -3.4e38;
  var at = 0xffffffffu;
  for (var i = lid; i < p.n; i += RED_WG) {
    let v = x[base + i];
    if (v > best || at == 0xffffffffu) { best = v; at = i; }
  }
  let m = wg_max(best, lid);
  var cand = -3.4e38;
  if (at != 0xffffffffu && best == m) { cand = -f32(at); }
  let first = wg_max(cand, lid);
  if (lid == 0u) { out[p.o0 + wid.x] = i32(-first); }
}
