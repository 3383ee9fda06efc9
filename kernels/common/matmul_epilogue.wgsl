// The matmul epilogue, stated once for every matmul kernel:
//   c[ci] = alpha·acc (+ bias[bias0 + n] when flags & 1) (GELU when flags & 2) + beta·c[ci]
// c[ci] is read only when beta ≠ 0, so an uninitialised C never leaks into the result. The
// including module declares `p` (with alpha, beta, bias0 and flags), `bias` (read) and `c`
// (read_write), both array<f32>. Bits of flags above 2 are the kernel's own.
#include "common/gelu.wgsl"

fn epilogue_store(ci: u32, n: u32, acc: f32) {
  var v = p.alpha * acc;
  if ((p.flags & 1u) != 0u) { v += bias[p.bias0 + n]; }
  if ((p.flags & 2u) != 0u) { v = gelu_f(v); }
  if (p.beta != 0.0) { v += p.beta * c[ci]; }
  c[ci] = v;
}
