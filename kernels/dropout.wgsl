// Dropout's mask, a pure function of (seed, element index): o[i] = scale where
// hash(hash(seed) ^ (i0 + i)) >= threshold, else 0. With threshold = p·2³² an element is dropped
// with probability p, and scale = 1/(1-p) keeps the expectation. The same seed gives the same
// mask, so nothing but the seed needs to be kept between the forward and backward passes.
// The hash is lowbias32 (Chris Wellons); src/ref/cpu.ts dropoutMask is the same in JavaScript.
//
// Params p: n = elements in this window; o0 = element where the window starts inside the
// binding of o; i0 = index of the window's first element in the whole tensor; seed; threshold;
// scale; row = invocations per row of the 2-D grid (gid.y * row + gid.x).
// o @1 written (f32, one invocation per element).
struct Params { n: u32, o0: u32, i0: u32, seed: u32, threshold: u32, scale: f32, row: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;

fn lowbias32(x: u32) -> u32 {
  var v = x;
  v ^= v >> 16u;
  v *= 0x7feb352du;
  v ^= v >> 15u;
  v *= 0x846ca68bu;
  v ^= v >> 16u;
  return v;
}

@compute @workgroup_size(256)
fn dropout_mask(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.n) { return; }
  let h = lowbias32(lowbias32(p.seed) ^ (p.i0 + i));
  o[p.o0 + i] = select(0.0, p.scale, h >= p.threshold);
}
