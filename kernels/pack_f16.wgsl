// Pack f32 weights into the f16 rows that kernels/gemv_f16.wgsl reads (src/ops/gemv_f16.ts):
// word i < K2 = K/2 of row n < N is pack2x16float(W[n, 2i], W[n, 2i+1]), and rows are interleaved
// in groups of IL: vec4u j of row n (words 4j .. 4j+3) is out4[o0/4 + (n/IL)·K8·IL + j·IL + n%IL]
// (K8 = K/8), so the IL rows that a subgroup's lanes read side by side are contiguous (word(n, i)).
// The source is laid out either way:
//   rows — src[s0 + n*ls + k] = W[n, k]   (wte [V, C]: the lm_head's rows as stored; ls = K)
//   cols — src[s0 + k*ls + n] = W[n, k]   (a Conv1D weight [in = K, out], transposed here; ls = out,
//                                          of which these are the N columns from s0 on)
// main reads either through the strides sn, sk; rows4 and cols4 are its vec4 forms.
// One invocation per output word, `row` = invocations per grid row (grid() in src/gpu/runtime.ts).
// Bindings: src @1, out @2 (read_write).
struct Params {
  N: u32, K2: u32, s0: u32, o0: u32,
  row: u32, ls: u32, sn: u32, sk: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
const IL = {{IL}}u;

// the index in out of word i of row n
fn word(n: u32, i: u32) -> u32 {
  return p.o0 + (((n / IL) * (p.K2 / 4u) + i / 4u) * IL + n % IL) * 4u + i % 4u;
}

// either layout through strides: W[n, k] = src[s0 + n*sn + k*sk] (rows: sn = K, sk = 1;
// cols: sn = 1, sk = ls)
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let t = g.y * p.row + g.x;
  if (t >= p.N * p.K2) { return; }
  let n = t / p.K2;
  let i = t % p.K2;
  let s = p.s0 + n * p.sn + 2u * i * p.sk;
  out[word(n, i)] = pack2x16float(vec2f(src[s], src[s + p.sk]));
}

// The same with vec4 loads (lavapipe turns each storage load into a per-lane loop, so a vec4
// is a quarter of the load work), where s0 and ls are multiples of 4 (and N for cols4):
// rows4 — one invocation per output vec4u (8 weights of row n): t = n·K2/4 + i4.
// cols4 — one invocation per (4 rows n .. n+3, pair i): vec4s of source rows 2i and 2i+1.
@group(0) @binding(1) var<storage, read> src4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4u>;

@compute @workgroup_size(256)
fn rows4(@builtin(global_invocation_id) g: vec3u) {
  let t = g.y * p.row + g.x;
  let K8 = p.K2 / 4u;
  if (t >= p.N * K8) { return; }
  let n = t / K8;
  let i = t % K8;
  let s = (p.s0 + n * p.ls) / 4u + 2u * i;
  let a = src4[s];
  let b = src4[s + 1u];
  out4[word(n, 4u * i) / 4u] = vec4u(pack2x16float(a.xy), pack2x16float(a.zw), pack2x16float(b.xy), pack2x16float(b.zw));
}

@compute @workgroup_size(256)
fn cols4(@builtin(global_invocation_id) g: vec3u) {
  let t = g.y * p.row + g.x;
  let N4 = p.N / 4u;
  if (t >= N4 * p.K2) { return; }
  let i = t / N4;
  let n = 4u * (t % N4);
  let a = src4[(p.s0 + 2u * i * p.ls + n) / 4u];
  let b = src4[(p.s0 + (2u * i + 1u) * p.ls + n) / 4u];
  out[word(n, i)] = pack2x16float(vec2f(a.x, b.x));
  out[word(n + 1u, i)] = pack2x16float(vec2f(a.y, b.y));
  out[word(n + 2u, i)] = pack2x16float(vec2f(a.z, b.z));
  out[word(n + 3u, i)] = pack2x16float(vec2f(a.w, b.w));
}
