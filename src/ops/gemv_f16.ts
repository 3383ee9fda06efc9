// Decoding's products against f16 weights (kernels/gemv_f16.wgsl, packed by kernels/pack_f16.wgsl):
// y [M, N] = x [M, K] · Wᵀ (+ bias) (GELU) for few rows M, with W [N, K] stored as packed halves.
// On lavapipe a decode step is bound by the weights' storage loads, and a vec4u of halves is 8
// weights per load where a vec4f is 4: the lm_head product of the scratch model (50304×384) took
// 7.6-7.9 ms in f32 and 3.8-5.8 ms in f16 (`npx tsx bench/gemv.ts`, 2026-12-04, Mesa 25.0.7).
// A matrix larger than one storage binding is kept in parts of whole rows, one dispatch each.
import { dispatch, dummy, grid, kernel, rowsPerBinding, runtime } from '../gpu/runtime.ts';
import { Tensor, shapeStr } from '../gpu/tensor.ts';
import { subgroupSize } from '../gpu/texture.ts';
import { gemvRows } from './matmul/spec.ts';

/**
 * W [N, K] as packed halves: parts of whole rows, part p holding rows n0 .. n0+rows-1 (u32
 * [rows rounded up to HALF_INTERLEAVE, K/2], rows interleaved as kernels/pack_f16.wgsl says).
 */
export interface HalfMatrix {
  N: number;
  K: number;
  parts: { n0: number; rows: number; w: Tensor }[];
}

/**
 * Rows interleaved per group in the packed layout: the lanes of an 8-wide subgroup (lavapipe's)
 * then read one contiguous run. `npx tsx bench/gemv.ts` on a Zen 1 (2026-12-06): the products took
 * 0.82–0.95 of the row-after-row layout's time (bench/README.md, On the Zen 1).
 */
const HALF_INTERLEAVE = 8;

/** The reduction dimension must be a multiple of this (blocks of 8 vec4s of x). */
export const HALF_K_MULTIPLE = 32;

/**
 * Pack w into f16 rows: layout 'nk' for w [N, K] (wte: a row per output), 'kn' for a Conv1D
 * weight [K, N] (transposed while packing). Values beyond f16's range become ±inf.
 */
export function packHalf(w: Tensor, layout: 'nk' | 'kn'): HalfMatrix {
  if (w.rank !== 2 || w.dtype !== 'f32') throw new Error(`packHalf: expected an f32 matrix, got ${w}`);
  const [N, K] = layout === 'nk' ? w.shape : [w.shape[1], w.shape[0]];
  if (K % HALF_K_MULTIPLE) throw new Error(`packHalf: K = ${K} is not a multiple of ${HALF_K_MULTIPLE}`);
  // a part's f32 source rows fit one binding (for 'kn' the source is the whole matrix)
  const per = layout === 'nk' ? rowsPerBinding('packHalf', K * 4, `a row of ${K} floats`, 64) : N;
  const src = layout === 'kn' ? w.binding : null;
  const parts: HalfMatrix['parts'] = [];
  for (let n0 = 0; n0 < N; n0 += per) {
    const rows = Math.min(per, N - n0);
    const out = new Tensor([Math.ceil(rows / HALF_INTERLEAVE) * HALF_INTERLEAVE, K / 2], 'u32');
    const s = src ?? w.range(n0 * K, rows * K);
    const s0 = s.base + (src ? n0 : 0),
      ls = layout === 'nk' ? K : N;
    // the vec4 forms where the source is aligned (rows: 8 weights per invocation; cols: 4 rows);
    // else the scalar one, W[n, k] at s0 + n·sn + k·sk
    const vec = s0 % 4 === 0 && ls % 4 === 0 && (layout === 'nk' || rows % 4 === 0);
    const entry = vec ? (layout === 'nk' ? 'rows4' : 'cols4') : 'main';
    const total = (rows * (K / 2)) / (vec ? 4 : 1);
    const [gx, gy] = grid(Math.ceil(total / 256));
    const [sn, sk] = layout === 'nk' ? [K, 1] : [1, N];
    dispatch(
      kernel('pack_f16.wgsl', entry, { IL: HALF_INTERLEAVE }),
      { N: rows, K2: K / 2, s0, ls, sn, sk, o0: 0, row: gx * 256 },
      [s, out.binding],
      [gx, gy],
    );
    parts.push({ n0, rows, w: out });
  }
  return { N, K, parts };
}

export function releaseHalf(h: HalfMatrix) {
  for (const p of h.parts) p.w.release();
}

/** y [M, N] = x [M, K] · Wᵀ (+ bias [N]) (then GELU), W packed by packHalf. */
export function gemvHalf(x: Tensor, h: HalfMatrix, o: { bias?: Tensor; gelu?: boolean } = {}): Tensor {
  const [M, K] = x.shape;
  if (x.rank !== 2 || K !== h.K) throw new Error(`gemvHalf: x ${shapeStr(x.shape)} against W [${h.N}, ${h.K}]`);
  if (o.bias && o.bias.size !== h.N) throw new Error(`gemvHalf: bias ${shapeStr(o.bias.shape)} for N = ${h.N}`);
  const y = new Tensor([M, h.N]);
  const xr = x.binding,
    yr = y.binding;
  if (xr.base % 4) throw new Error('gemvHalf: x must start on a multiple of 4 floats');
  const K4 = K / 4;
  const SG = runtime().options.subgroups ? subgroupSize() : 0;
  const XB = SG && K4 % SG === 0 ? SG : 8;
  const MR = gemvRows(M);
  const k = kernel('gemv_f16.wgsl', 'main', blockDefs(MR, XB, XB === SG));
  for (const p of h.parts) {
    const br = o.bias ? o.bias.range(p.n0, p.rows) : { ...dummy(), base: 0 }; // unread without flags & 1
    dispatch(
      k,
      {
        M,
        N: p.rows,
        K8: K / 8,
        ldc: h.N,
        x0: xr.base / 4,
        w0: 0,
        c0: yr.base + p.n0,
        bias0: br.base,
        alpha: 1,
        flags: (o.bias ? 1 : 0) | (o.gelu ? 2 : 0),
      },
      [xr, p.w.binding, br, yr],
      [Math.ceil(p.rows / 64), Math.ceil(M / MR)],
    );
  }
  return y;
}

/** The unrolled block of kernels/gemv_f16.wgsl: XB vec4s of x against XB/2 vec4u of W per row. */
function blockDefs(MR: number, XB: number, subgroup: boolean) {
  const xOf = (i: number) => (subgroup ? `subgroupBroadcast(xv[r], ${i}u)` : `x4[xr[r] + xk + ${i}u]`);
  const steps = Array.from(
    { length: XB / 2 },
    (_, j) =>
      `    { let q = w[wk + ${j * HALF_INTERLEAVE}u];
      let lo = vec4f(unpack2x16float(q.x), unpack2x16float(q.y));
      let hi = vec4f(unpack2x16float(q.z), unpack2x16float(q.w));
      for (var r = 0u; r < MR; r++) { acc[r] += lo * ${xOf(2 * j)} + hi * ${xOf(2 * j + 1)}; } }`,
  );
  return {
    MR,
    XB,
    IL: HALF_INTERLEAVE,
    LANE_ARG: subgroup ? ', @builtin(subgroup_invocation_id) lane: u32' : '',
    XLOAD: subgroup
      ? '    var xv: array<vec4f, MR>;\n    for (var r = 0u; r < MR; r++) { xv[r] = x4[xr[r] + xk + lane]; }'
      : '',
    BLOCK: steps.join('\n'),
  };
}
