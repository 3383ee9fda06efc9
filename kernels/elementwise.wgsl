// Elementwise ops over one window of contiguous f32 elements; one invocation per element of
// type V: f32, or vec4f (4 floats per load: on lavapipe each storage load is a per-lane loop),
// which src/ops/elementwise.ts uses where every window starts at a multiple of 4 floats, with
// the f32 form for the tail. Counts and bases below are in units of V.
//
// Params p: n = elements in this window; a0, b0, o0 = element index where the window
// starts inside the binding of a, b, o (bindings start at aligned offsets); alpha, beta
// = scalars; row = invocations per row of the 2-D grid (gid.y * row + gid.x).
// Binary entries (add, axpby, gelu_backward, mul): a @1, b @2 read; o @3 written.
// Unary entries (scale, gelu, copy, accumulate): a @1 read (bound as x), o @2 written (bound as y).
// fill: o @1 written.
// GELU: kernels/common/gelu.wgsl, per component (GELU_V / GELU_GRAD_V map it over V).
alias V = {{V}};
struct Params { n: u32, a0: u32, b0: u32, o0: u32, alpha: f32, beta: f32, row: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> a: array<V>;
@group(0) @binding(2) var<storage, read> b: array<V>;
@group(0) @binding(3) var<storage, read_write> o: array<V>;

@group(0) @binding(1) var<storage, read> x: array<V>;
@group(0) @binding(2) var<storage, read_write> y: array<V>;

@group(0) @binding(1) var<storage, read_write> f: array<V>;

#include "common/gelu.wgsl"
fn gelu_v(v: V) -> V { return {{GELU_V}}; }
fn gelu_grad_v(v: V) -> V { return {{GELU_GRAD_V}}; }

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.n) { return; }
  o[p.o0 + i] = a[p.a0 + i] + b[p.b0 + i];
}

// o = alpha * a + beta * b
@compute @workgroup_size(256)
fn axpby(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.n) { return; }
  o[p.o0 + i] = p.alpha * a[p.a0 + i] + p.beta * b[p.b0 + i];
}

@compute @workgroup_size(256)
fn mul(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.n) { return; }
  o[p.o0 + i] = a[p.a0 + i] * b[p.b0 + i];
}

// a = x (the forward input), b = dy, o = dx
@compute @workgroup_size(256)
fn gelu_backward(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.n) { return; }
  o[p.o0 + i] = b[p.b0 + i] * gelu_grad_v(a[p.a0 + i]);
}

@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.n) { return; }
  y[p.o0 + i] = p.alpha * x[p.a0 + i];
}

@compute @workgroup_size(256)
fn gelu(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.n) { return; }
  y[p.o0 + i] = gelu_v(x[p.a0 + i]);
}

@compute @workgroup_size(256)
fn copy(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.n) { return; }
  y[p.o0 + i] = x[p.a0 + i];
}

// y += alpha * x (in place: y is read and written through its one binding)
@compute @workgroup_size(256)
fn accumulate(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.n) { return; }
  y[p.o0 + i] += p.alpha * x[p.a0 + i];
}

@compute @workgroup_size(256)
fn fill(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * p.row + g.x;
  if (i >= p.n) { return; }
  f[p.o0 + i] = V(p.alpha);
}
