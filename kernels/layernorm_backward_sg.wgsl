// LayerNorm backward with subgroup reductions, vec4 form, dx and the dw/db partials in one
// kernel (src/ops/layernorm.ts uses it with the `subgroups` feature, C and the bases x0, dy0, w0,
// dx0 and part's multiples of 4; layernorm.wgsl's reduce4 then sums the partials over blocks).
// Shapes and params as kernels/layernorm.wgsl's backward (BackParams): dy, x, dx [rows, C] of
// the chunk; w [C]; mean, rstd [N] indexed by global row n0 + r; part [blocks, 2C], dw's C then
// db's C per block (global block n0 / R + block).
// dy @1, x @2, w @3, mean @4, rstd @5, dx @6 (rw), part @7 (rw).
// Two entry points, the same sums in the same order (bit-identical results):
//   backward4       rows up to CPL vec4s per lane: the row is read once and held in registers;
//   backward4_wide  wider rows: RB rows at a time, dy and x read twice.
// Each subgroup takes blocks of R rows (pb.R) of its workgroup's BPW blocks; each lane owns the
// columns lane, lane + sgs, ... in every row, so the partials need no atomics.
diagnostic(off, subgroup_uniformity);
#include "common/layernorm_params.wgsl"

@group(0) @binding(1) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(2) var<storage, read> xb4_: array<vec4f>;
@group(0) @binding(3) var<storage, read> wb4_: array<vec4f>;
@group(0) @binding(4) var<storage, read> mean_r: array<f32>;
@group(0) @binding(5) var<storage, read> rstd_r: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx4: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> part4: array<vec4f>;
const ONES = vec4f(1.0);
const BPW: u32 = {{BPW}};
const CPL: u32 = {{CPL}};
const RB: u32 = {{RB}};

// backward4: per lane, w and the block's dw, db sums in registers for the whole block, and each
// row's dy and xhat while its two sums are reduced, so dy and x are loaded once, w and the
// partials once per block (on lavapipe every storage-buffer access is a per-lane loop: 3 per
// element and row here, 5 in backward4_wide). CPL * (subgroup size) >= C / 4.
@compute @workgroup_size(64)
fn backward4(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
             @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let g = wid.y * pb.row + wid.x;
  let C4 = pb.C / 4u;
  let wb = pb.w0 / 4u;
  let xo = pb.x0 / 4u;
  let yo = pb.dy0 / 4u;
  let dxo = pb.dx0 / 4u;
  for (var k = lid / sgs; k < BPW; k += 64u / sgs) {
    let blk = g * BPW + k;
    if (blk * pb.R >= pb.rows) { break; }
    let pk = (pb.n0 / pb.R + blk) * 2u * C4;
    var wv: array<vec4f, CPL>;
    var aw: array<vec4f, CPL>;
    var ab: array<vec4f, CPL>;
    for (var j = 0u; j < CPL; j++) {
      let c = lane + j * sgs;
      wv[j] = vec4f(0.0);
      aw[j] = vec4f(0.0);
      ab[j] = vec4f(0.0);
      if (c < C4) { wv[j] = wb4_[wb + c]; }
    }
    let r1 = min(blk * pb.R + pb.R, pb.rows);
    for (var r = blk * pb.R; r < r1; r++) {
      let mu = mean_r[pb.m0 + pb.n0 + r];
      let rs = rstd_r[pb.s0 + pb.n0 + r];
      var d: array<vec4f, CPL>;
      var xh: array<vec4f, CPL>;
      var s = vec2f(0.0);
      for (var j = 0u; j < CPL; j++) {
        let c = lane + j * sgs;
        d[j] = vec4f(0.0);
        xh[j] = vec4f(0.0);
        if (c < C4) {
          d[j] = dy4[yo + r * C4 + c];
          xh[j] = (xb4_[xo + r * C4 + c] - mu) * rs;
        }
        let gw = wv[j] * d[j];
        s += vec2f(dot(gw, ONES), dot(gw, xh[j]));
      }
      let t = subgroupAdd(s) / f32(pb.C);
      for (var j = 0u; j < CPL; j++) {
        let c = lane + j * sgs;
        if (c < C4) {
          let o = dxo + r * C4 + c;
          var v = rs * (wv[j] * d[j] - t.x - xh[j] * t.y);
          if (pb.acc != 0u) { v += dx4[o]; }
          dx4[o] = v;
        }
        aw[j] += d[j] * xh[j];
        ab[j] += d[j];
      }
    }
    for (var j = 0u; j < CPL; j++) {
      let c = lane + j * sgs;
      if (c < C4) {
        part4[pk + c] = aw[j];
        part4[pk + C4 + c] = ab[j];
      }
    }
  }
}

// backward4_wide: R a multiple of RB, the block's rows RB at a time: first, columns outer, the
// per-row sums of w·dy and w·dy·xhat (w loaded once for RB rows, the RB sums held in registers);
// then, columns outer again, dx for RB rows and their dw, db sums, added to the block's partials.
@compute @workgroup_size(64)
fn backward4_wide(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
             @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let g = wid.y * pb.row + wid.x;
  let C4 = pb.C / 4u;
  let wb = pb.w0 / 4u;
  let xo = pb.x0 / 4u;
  let yo = pb.dy0 / 4u;
  let dxo = pb.dx0 / 4u;
  for (var k = lid / sgs; k < BPW; k += 64u / sgs) {
    let blk = g * BPW + k;
    if (blk * pb.R >= pb.rows) { break; }
    let pk = (pb.n0 / pb.R + blk) * 2u * C4;
    for (var q = 0u; q < pb.R; q += RB) {
      let r0 = blk * pb.R + q;
      if (r0 >= pb.rows) { break; }
      let nr = min(RB, pb.rows - r0);
      var mu: array<f32, RB>;
      var rs: array<f32, RB>;
      for (var i = 0u; i < RB; i++) {
        let r = pb.n0 + r0 + min(i, nr - 1u);
        mu[i] = mean_r[pb.m0 + r];
        rs[i] = rstd_r[pb.s0 + r];
      }
      var s = array<vec2f, RB>(); // an explicit zero: Dawn on lavapipe kept the last step's sums without it
      for (var c = lane; c < C4; c += sgs) {
        let wv = wb4_[wb + c];
        for (var i = 0u; i < RB; i++) {
          if (i < nr) {
            let o = (r0 + i) * C4 + c;
            let gw = wv * dy4[yo + o];
            s[i] += vec2f(dot(gw, ONES), dot(gw, (xb4_[xo + o] - mu[i]) * rs[i]));
          }
        }
      }
      var t: array<vec2f, RB>;
      for (var i = 0u; i < RB; i++) { t[i] = subgroupAdd(s[i]) / f32(pb.C); }
      for (var c = lane; c < C4; c += sgs) {
        let wv = wb4_[wb + c];
        var aw = vec4f(0.0);
        var ab = vec4f(0.0);
        if (q > 0u) {
          aw = part4[pk + c];
          ab = part4[pk + C4 + c];
        }
        for (var i = 0u; i < RB; i++) {
          if (i < nr) {
            let o = (r0 + i) * C4 + c;
            let d = dy4[yo + o];
            let xh = (xb4_[xo + o] - mu[i]) * rs[i];
            var v = rs[i] * (wv * d - t[i].x - xh * t[i].y);
            if (pb.acc != 0u) { v += dx4[dxo + o]; }
            dx4[dxo + o] = v;
            aw += d * xh;
            ab += d;
          }
        }
        part4[pk + c] = aw;
        part4[pk + C4 + c] = ab;
      }
    }
  }
}
