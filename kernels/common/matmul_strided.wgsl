// Params, bindings and the epilogue shared by the strided matmul kernels (matmul_naive.wgsl, matmul_gemv.wgsl).
struct Params {
  M: u32, N: u32, K: u32, a0: u32,
  saz: u32, sam: u32, sak: u32, b0: u32,
  sbz: u32, sbk: u32, sbn: u32, c0: u32,
  scz: u32, scm: u32, alpha: f32, beta: f32,
  bias0: u32, flags: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

#include "common/matmul_epilogue.wgsl"

// Each output goes through the epilogue (flags: bias, GELU).
fn store_epilogue(m: u32, n: u32, z: u32, acc: f32) {
  epilogue_store(p.c0 + z * p.scz + m * p.scm + n, n, acc);
}
