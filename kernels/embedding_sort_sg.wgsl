// sort_ids of kernels/embedding.wgsl (the embedding backward's stable sort of the ids), with the
// keys shared through subgroup broadcasts instead of workgroup tiles (src/ops/embedding.ts uses
// it where the subgroup size SG is fixed). Same result: key(n) = (id, n), invalid ids mapped to
// 0xffffffff; rank = #{m : key(m) < key(n)}; perm[rank] = n, sid[rank] = the key's id.
//
// Packed form (the generated block compares `pk`; src/ops/embedding.ts uses it where V < 65535
// and N ≤ 65280): key(n) is the one u32 (min(id, 0xffff) << 16) | n, so one comparison ranks it;
// lanes past N get n ≥ N, above every real position, and never count.
// Each lane holds one key of a chunk of SG consecutive positions (one storage load per chunk)
// and compares its own key with the SG keys of the chunk through subgroupBroadcast (unrolled:
// the COMPARE block generated in src/ops/embedding.ts), so there is no workgroup memory, no barrier
// and no per-key load: on lavapipe every workgroup-memory or storage load is a per-lane loop,
// which made the tiled form's N² key reads the whole cost. Lanes past N take part (keys past
// N are 0xffffffff and never count) and store nothing.
// Bindings: ids @1, perm @2 (u32 rw), sid @3 (u32 rw).
diagnostic(off, subgroup_uniformity);
#include "common/embedding_params.wgsl"
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> perm_w: array<u32>;
@group(0) @binding(3) var<storage, read_write> sid_w: array<u32>;

const SG: u32 = {{SG}}u;

fn packed(k: u32, n: u32) -> u32 { return (min(k, 0xffffu) << 16u) | n; }


@compute @workgroup_size(256)
fn sort_ids(@builtin(global_invocation_id) g: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let n = g.x;
  let mine = key_of(n);
  let pk = packed(mine, n);
  var rank = 0u;
  for (var t0 = 0u; t0 < p.N; t0 += SG) {
    let km = key_of(t0 + lane);
    let kp = packed(km, t0 + lane);
{{COMPARE}}
  }
  if (n < p.N) {
    perm_w[rank] = n;
    sid_w[rank] = mine;
  }
}
