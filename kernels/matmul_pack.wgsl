// Packs a block of a strided f32 matrix (per batch z) into an rgba32float texture for
// kernels/matmul_tex.wgsl: 4 consecutive columns per texel, any transpose absorbed by the strides.
//
// Texel (dx + x, dy + z*dzRows + y), for x < X, y < Y, z < gridZ, receives
//   src[s0 + z*sz + y*sr + (4x+e)*sc] for e = 0..3,  or 0 where y >= R or 4x+e >= C,
// so a block's padding (rows R..Y-1, columns C..4X-1) is written as zeros.
// Bindings: src @1 (a window of the source tensor), dst @2 (texture_storage_2d<rgba32float, write>).
struct Params {
  R: u32, C: u32, X: u32, Y: u32,
  s0: u32, sz: u32, sr: u32, sc: u32,
  dx: u32, dy: u32, dzRows: u32, _pad: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let x = g.x;
  let y = g.y;
  let z = g.z;
  if (x >= p.X || y >= p.Y) { return; }
  var v = vec4f(0.0);
  if (y < p.R) {
    let row = p.s0 + z * p.sz + y * p.sr;
    for (var e = 0u; e < 4u; e++) {
      let col = 4u * x + e;
      if (col < p.C) { v[e] = src[row + col * p.sc]; }
    }
  }
  textureStore(dst, vec2u(p.dx + x, p.dy + z * p.dzRows + y), v);
}
