// LayerNorm row kernels with subgroup reductions (src/ops/layernorm.ts uses them when the
// device has the `subgroups` feature; kernels/layernorm.wgsl has the portable versions and
// the dw/db kernels). One subgroup per row, no workgroup barriers: a workgroup of 64
// invocations holds 64 / subgroup_size subgroups (numbered lid / subgroup_size, i.e. the
// usual linear layout) that take rows g·RPW + k, k + nsg, ... of its block of {{RPW}} rows.
// Lanes stride over the columns; sums are subgroupAdd (row results identical across lanes).
// The row is re-read from memory (cache) instead of held in registers: the subgroup size
// is not known at compile time.
//
// Shapes, params and bindings as kernels/layernorm.wgsl:
// forward: x @1, w @2, b @3, y @4 (rw), mean @5 (rw), rstd @6 (rw).
// backward_dx: dy @1, x @2, w @3, mean @4, rstd @5, dx @6 (rw).
// residual_forward4 (inference): the residual add fused into the next LayerNorm: sum = x + r is
// written (the residual stream goes on) and y = LayerNorm(sum), with mean and rstd; r @7,
// sum @8 (rw), the others as forward; vec4s as below. One pass over x and r instead of an add
// kernel's pass and then the LayerNorm's.
// forward4 is forward with x, w, b and y read and written as vec4s (lavapipe turns each storage
// load into a per-lane loop, so a vec4 is a quarter of the load work): C and the bases x0, y0, w0,
// b0 must be multiples of 4; the bases stay in floats. It takes rows in pairs, loading w and b
// once for both, and reads x once for its statistics (Welford per lane, merged across the
// subgroup) instead of twice: per element 3 loads and a store where the scalar forward has 5 and
// a store. RPW must be even for it. (The vec4 backward is kernels/layernorm_backward_sg.wgsl.)
diagnostic(off, subgroup_uniformity);
const RPW: u32 = {{RPW}};

#include "common/layernorm_params.wgsl"

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean_w: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd_w: array<f32>;

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
           @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let g = wid.y * p.row + wid.x;
  let C = p.C;
  for (var k = lid / sgs; k < RPW; k += 64u / sgs) {
    let r = g * RPW + k;
    if (r >= p.rows) { break; }
    let xb = p.x0 + r * C;
    var s = 0.0;
    for (var c = lane; c < C; c += sgs) { s += x[xb + c]; }
    let mu = subgroupAdd(s) / f32(C);
    var q = 0.0;
    for (var c = lane; c < C; c += sgs) { let d = x[xb + c] - mu; q += d * d; }
    let rs = inverseSqrt(subgroupAdd(q) / f32(C) + p.eps);
    let yb = p.y0 + r * C;
    for (var c = lane; c < C; c += sgs) { y[yb + c] = (x[xb + c] - mu) * rs * w[p.w0 + c] + b[p.b0 + c]; }
    if (lane == 0u) {
      mean_w[p.m0 + p.n0 + r] = mu;
      rstd_w[p.s0 + p.n0 + r] = rs;
    }
  }
}

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> xb_: array<f32>;
@group(0) @binding(3) var<storage, read> wb_: array<f32>;
@group(0) @binding(4) var<storage, read> mean_r: array<f32>;
@group(0) @binding(5) var<storage, read> rstd_r: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn backward_dx(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
               @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let g = wid.y * pb.row + wid.x;
  let C = pb.C;
  for (var k = lid / sgs; k < RPW; k += 64u / sgs) {
    let r = g * RPW + k;
    if (r >= pb.rows) { break; }
    let mu = mean_r[pb.m0 + pb.n0 + r];
    let rs = rstd_r[pb.s0 + pb.n0 + r];
    let xb = pb.x0 + r * C;
    let yb = pb.dy0 + r * C;
    var s = vec2<f32>(0.0, 0.0);
    for (var c = lane; c < C; c += sgs) {
      let gw = wb_[pb.w0 + c] * dy[yb + c];
      s += vec2<f32>(gw, gw * (xb_[xb + c] - mu) * rs);
    }
    let t = subgroupAdd(s) / f32(C);
    let db = pb.dx0 + r * C;
    for (var c = lane; c < C; c += sgs) {
      let xh = (xb_[xb + c] - mu) * rs;
      var v = rs * (wb_[pb.w0 + c] * dy[yb + c] - t.x - xh * t.y);
      if (pb.acc != 0u) { v += dx[db + c]; }
      dx[db + c] = v;
    }
  }
}

// ---------------------------------------------------------------- vec4 forms
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(2) var<storage, read> w4: array<vec4f>;
@group(0) @binding(3) var<storage, read> b4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> y4: array<vec4f>;

const ONES = vec4f(1.0);

@compute @workgroup_size(64)
fn forward4(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
            @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let g = wid.y * p.row + wid.x;
  let C4 = p.C / 4u;
  let wb = p.w0 / 4u;
  let bb = p.b0 / 4u;
  // rows in pairs (r, r + 1): w and b are loaded once for both
  for (var k = 2u * (lid / sgs); k < RPW; k += 2u * (64u / sgs)) {
    let r = g * RPW + k;
    if (r >= p.rows) { break; }
    let two = r + 1u < p.rows;
    let xa = p.x0 / 4u + r * C4;
    let xb = select(xa, xa + C4, two); // a lone last row is computed twice and stored once
    // one pass over x: Welford's mean and sum of squared deviations per lane and component,
    // then merged across the subgroup (exact, unlike sum-of-squares minus squared sum)
    var ma = vec4f(0.0);
    var qa = vec4f(0.0);
    var mb = vec4f(0.0);
    var qb = vec4f(0.0);
    var n = 0.0;
    for (var c = lane; c < C4; c += sgs) {
      n += 1.0;
      let inv = 1.0 / n;
      let va = x4[xa + c];
      let da = va - ma;
      ma += da * inv;
      qa += da * (va - ma);
      let vb = x4[xb + c];
      let db = vb - mb;
      mb += db * inv;
      qb += db * (vb - mb);
    }
    let mu = subgroupAdd(vec2f(dot(ma, ONES), dot(mb, ONES)) * n) / f32(p.C);
    let ea = ma - mu.x;
    let eb = mb - mu.y;
    let m2 = subgroupAdd(vec2f(dot(qa, ONES) + n * dot(ea, ea), dot(qb, ONES) + n * dot(eb, eb)));
    let rs = inverseSqrt(m2 / f32(p.C) + p.eps);
    let ya = p.y0 / 4u + r * C4;
    for (var c = lane; c < C4; c += sgs) {
      let wv = w4[wb + c];
      let bv = b4[bb + c];
      y4[ya + c] = (x4[xa + c] - mu.x) * rs.x * wv + bv;
      if (two) { y4[ya + C4 + c] = (x4[xb + c] - mu.y) * rs.y * wv + bv; }
    }
    if (lane == 0u) {
      mean_w[p.m0 + p.n0 + r] = mu.x;
      rstd_w[p.s0 + p.n0 + r] = rs.x;
      if (two) {
        mean_w[p.m0 + p.n0 + r + 1u] = mu.y;
        rstd_w[p.s0 + p.n0 + r + 1u] = rs.y;
      }
    }
  }
}

@group(0) @binding(7) var<storage, read> r4: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> sum4: array<vec4f>;

@compute @workgroup_size(64)
fn residual_forward4(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
                     @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let g = wid.y * pres.row + wid.x;
  let C4 = pres.C / 4u;
  for (var k = lid / sgs; k < RPW; k += 64u / sgs) {
    let r = g * RPW + k;
    if (r >= pres.rows) { break; }
    let xb = pres.x0 / 4u + r * C4;
    let rb = pres.r0 / 4u + r * C4;
    let sb = pres.sum0 / 4u + r * C4;
    var s = 0.0;
    // each lane re-reads below only the elements of sum it wrote itself
    for (var c = lane; c < C4; c += sgs) {
      let v = x4[xb + c] + r4[rb + c];
      sum4[sb + c] = v;
      s += dot(v, ONES);
    }
    let mu = subgroupAdd(s) / f32(pres.C);
    var q = 0.0;
    for (var c = lane; c < C4; c += sgs) { let d = sum4[sb + c] - mu; q += dot(d, d); }
    let rs = inverseSqrt(subgroupAdd(q) / f32(pres.C) + pres.eps);
    let yb = pres.y0 / 4u + r * C4;
    for (var c = lane; c < C4; c += sgs) {
      y4[yb + c] = (sum4[sb + c] - mu) * rs * w4[pres.w0 / 4u + c] + b4[pres.b0 / 4u + c];
    }
    if (lane == 0u) {
      mean_w[pres.m0 + pres.n0 + r] = mu;
      rstd_w[pres.s0 + pres.n0 + r] = rs;
    }
  }
}
