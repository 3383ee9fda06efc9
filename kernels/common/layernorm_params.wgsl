// The parameter structs of kernels/layernorm.wgsl and layernorm_sg.wgsl: Params for forward,
// BackParams for backward_dx (and dwdb; acc != 0: dx is added to what dx holds), ResidualParams for
// residual_forward4.
struct Params {
  rows: u32, C: u32, x0: u32, y0: u32,
  w0: u32, b0: u32, m0: u32, s0: u32,
  eps: f32, row: u32, n0: u32, _p0: u32,
}
struct BackParams {
  rows: u32, C: u32, x0: u32, dy0: u32,
  w0: u32, m0: u32, s0: u32, dx0: u32,
  row: u32, n0: u32, R: u32, acc: u32,
}
@group(0) @binding(0) var<uniform> p: Params;       // forward
@group(0) @binding(0) var<uniform> pb: BackParams;
struct ResidualParams {
  rows: u32, C: u32, x0: u32, y0: u32,
  w0: u32, b0: u32, m0: u32, s0: u32,
  eps: f32, row: u32, n0: u32, r0: u32,
  sum0: u32, _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> pres: ResidualParams; // residual_forward4
