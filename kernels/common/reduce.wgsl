// Workgroup tree reductions. The including kernel defines `const RED_WG: u32`: the threads
// taking part (its workgroup size, a power of two).
// Every thread of the workgroup calls them together, in uniform control flow, with its
// local_invocation_index; every thread gets the result, and the scratch may be reused at once.
// Fixed order: at step s = RED_WG/2, …, 2, 1, slot i < s takes combine(slot i, slot i + s), so
// the result is deterministic.
//   wg_sum(v), wg_sum2(v) (a vec2 of two sums), wg_max(v);
//   wg_max_sum(v): v = (running max, sum of exp(x - max)) pairs, merged into the workgroup's
//   max and its sum of exp (the online softmax normaliser).
const RED_SUM: u32 = 0u;
const RED_MAX: u32 = 1u;
const RED_MAX_SUM: u32 = 2u;

var<workgroup> wg_red: array<vec2<f32>, RED_WG>;

fn wg_combine(op: u32, a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  switch op {
    case RED_MAX: { return max(a, b); }
    case RED_MAX_SUM: {
      let mx = max(a.x, b.x);
      return vec2<f32>(mx, a.y * exp(a.x - mx) + b.y * exp(b.x - mx));
    }
    default: { return a + b; }
  }
}

fn wg_reduce(op: u32, v: vec2<f32>, lid: u32) -> vec2<f32> {
  wg_red[lid] = v;
  workgroupBarrier();
  for (var s = RED_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { wg_red[lid] = wg_combine(op, wg_red[lid], wg_red[lid + s]); }
    workgroupBarrier();
  }
  let r = wg_red[0];
  workgroupBarrier();
  return r;
}

fn wg_sum(v: f32, lid: u32) -> f32 { return wg_reduce(RED_SUM, vec2<f32>(v, 0.0), lid).x; }
fn wg_sum2(v: vec2<f32>, lid: u32) -> vec2<f32> { return wg_reduce(RED_SUM, v, lid); }
fn wg_max(v: f32, lid: u32) -> f32 { return wg_reduce(RED_MAX, vec2<f32>(v, v), lid).x; }
fn wg_max_sum(v: vec2<f32>, lid: u32) -> vec2<f32> { return wg_reduce(RED_MAX_SUM, v, lid); }
