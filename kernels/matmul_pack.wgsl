// Packs a block of a strided f32 matrix (per batch z) into an rgba32float texture for
// kernels/matmul_tex.wgsl: 4 consecutive columns per texel, any transpose absorbed by the strides.
//
// Texel (dx + x, dy + z*dzRows + y), for x < X, y < Y, z < gridZ, receives
//   src[s0 + z*sz + y*sr + (4x+e)*sc] for e = 0..3,  or 0 where y >= R or 4x+e >= C,
// so a block's padding (rows R..Y-1, columns C..4X-1) is written as zeros.
// Bindings: src @1 (a window of the source tensor), dst @2 (texture_storage_2d<rgba32float, write>).
// Entries: main reads scalars (any strides). The vec4 forms read array<vec4f> (one load per 4
// elements; on lavapipe each storage load is a per-lane loop, so this is ~4x fewer):
//   rows4: sc = 1 and s0, sz, sr multiples of 4 (row-major source): one vec4 per texel.
//   cols4: sr = 1 and s0, sz, sc multiples of 4 (a transposed source): an invocation (x, y4)
//          loads 4 vec4 (source columns 4x..4x+3, rows 4y4..4y4+3), transposes them and writes
//          texels (x, 4y4 .. 4y4+3); the grid's y is ceil(Y/4).
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

@group(0) @binding(1) var<storage, read> src4: array<vec4f>;

// src[i] through the vec4 view
fn at(i: u32) -> f32 { return src4[i / 4u][i % 4u]; }

@compute @workgroup_size(16, 16)
fn rows4(@builtin(global_invocation_id) g: vec3u) {
  let x = g.x;
  let y = g.y;
  let z = g.z;
  if (x >= p.X || y >= p.Y) { return; }
  var v = vec4f(0.0);
  if (y < p.R) {
    let i = p.s0 + z * p.sz + y * p.sr + 4u * x;
    if (4u * x + 3u < p.C) {
      v = src4[i / 4u];
    } else {
      for (var e = 0u; e < 4u; e++) { if (4u * x + e < p.C) { v[e] = at(i + e); } }
    }
  }
  textureStore(dst, vec2u(p.dx + x, p.dy + z * p.dzRows + y), v);
}

@compute @workgroup_size(16, 16)
fn cols4(@builtin(global_invocation_id) g: vec3u) {
  let x = g.x;
  let y0 = 4u * g.y;
  let z = g.z;
  if (x >= p.X || y0 >= p.Y) { return; }
  var r: array<vec4f, 4>;  // r[e] = source column 4x+e, rows y0..y0+3
  for (var e = 0u; e < 4u; e++) {
    r[e] = vec4f(0.0);
    let col = 4u * x + e;
    if (col < p.C && y0 < p.R) {
      let i = p.s0 + z * p.sz + col * p.sc + y0;
      if (y0 + 3u < p.R) {
        r[e] = src4[i / 4u];
      } else {
        for (var t = 0u; t < 4u; t++) { if (y0 + t < p.R) { r[e][t] = at(i + t); } }
      }
    }
  }
  for (var t = 0u; t < 4u; t++) {
    if (y0 + t < p.Y) {
      textureStore(dst, vec2u(p.dx + x, p.dy + z * p.dzRows + y0 + t), vec4f(r[0][t], r[1][t], r[2][t], r[3][t]));
    }
  }
}
