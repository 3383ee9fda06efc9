// The embedding kernels' main parameters (kernels/embedding.wgsl's forward, forward_rows and
// sort_ids; kernels/embedding_sort_sg.wgsl) and the sort key of position n: its id, or
// 0xffffffff for an invalid id or n past N (invalid keys sort last). The including module
// declares `p: Params` at binding 0 and `ids: array<i32>` at binding 1.
struct Params {
  N: u32, C: u32, T: u32, V: u32,
  ids0: u32, wte0: u32, wpe0: u32, out0: u32,
  r0: u32, nr: u32, first: u32, row: u32,
  n0: u32, count: u32, _p1: u32, _p2: u32,
}

fn key_of(n: u32) -> u32 {
  if (n >= p.N) { return 0xffffffffu; }
  let id = ids[p.ids0 + n];
  if (id >= 0 && u32(id) < p.V) { return u32(id); }
  return 0xffffffffu;
}
