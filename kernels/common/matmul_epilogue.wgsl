// The matmul epilogue, stated once for every matmul kernel:
//   c[ci] = alpha·acc (+ bias[bias0 + n] when flags & 1) (GELU when flags & 2) + beta·c[ci]
// c[ci] is read only when beta ≠ 0, so an uninitialised C never leaks into the result. The
// including module declares `p` (with alpha, beta, bias0 and flags), `bias` (read) and `c`
// (read_write), both array<f32>. Bits of flags above 2 are the kernel's own.
// epilogue_value is the part before beta·c[ci], for a kernel that stores C its own way (as vec4s:
// kernels/matmul_tex.wgsl's store4v; its entry point then never calls epilogue_store).
#include "common/gelu.wgsl"

fn epilogue_value(acc: f32, n: u32) -> f32 {
  var v = p.alpha * acc;
  if ((p.flags & 1u) != 0u) { v += bias[p.bias0 + n]; }
  if ((p.flags & 2u) != 0u) { v = gelu_f(v); }
  return v;
}

fn epilogue_store(ci: u32, n: u32, acc: f32) {
  var v = epilogue_value(acc, n);
  if (p.beta != 0.0) { v += p.beta * c[ci]; }
  c[ci] = v;
}
