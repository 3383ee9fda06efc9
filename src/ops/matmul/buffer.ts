// The storage-buffer variants: naive (kernels/matmul_naive.wgsl), the skinny gemv
// (kernels/matmul_gemv.wgsl) and the workgroup-tiled kernels (kernels/matmul_tiled.wgsl), for GPUs.
import { dispatch, kernel } from '../../gpu/runtime.ts';
import type { Tensor } from '../../gpu/tensor.ts';
import {
  MAXG,
  biasWindow,
  blocks,
  flags,
  kPlan,
  mult4,
  pad16,
  planChunks,
  strides,
  windowElems,
  windowOf,
  type Sizes,
  type Strides,
} from './plan.ts';
import { TILED, gemvRows, type ConcreteVariant, type MatmulOpts, type MatmulShape } from './spec.ts';

export function runBuffer(v: ConcreteVariant, a: Tensor, b: Tensor, out: Tensor, s: MatmulShape, o: MatmulOpts) {
  const st = strides(s, o);
  const cfg = v === 'naive' || v === 'gemv' ? undefined : TILED[v];
  const bm = cfg?.BM ?? 16,
    bn = cfg?.BN ?? 16;
  const full: Sizes = { z: s.Z, m: s.M, n: s.N, k: s.K };
  const bias: Strides = { n: 1 };
  const c = planChunks(
    full,
    [st.A, st.B, st.C, bias],
    windowElems(),
    { z: MAXG(), m: MAXG() * bm, n: MAXG() * bn },
    { m: 4, n: 4, k: 4 },
  );
  const kp = kPlan(s, c.k, o, out);
  for (const blk of blocks(full, c)) {
    const e = kp.epi(blk.k0);
    const ra = windowOf(a, st.A, blk),
      rb = windowOf(b, st.B, blk),
      rc = windowOf(kp.target, st.C, blk);
    const rbias = biasWindow(o, blk, e.bias);
    const ep = { alpha: e.alpha, beta: e.beta, bias0: rbias.base };
    if (!cfg) {
      const gemv = v === 'gemv';
      const zs = blk.zc > 1 ? [st.A.z!, st.B.z ?? 0] : [];
      // the vec4 forms of the skinny kernel, where the layout allows (see its header)
      const entry = !gemv
        ? 'main'
        : st.B.k === 1 && st.A.k === 1 && mult4(blk.kc, rb.base, st.B.n!, ra.base, st.A.m!, ...zs)
          ? 'nt4'
          : st.B.n === 1 && mult4(blk.nc, rb.base, st.B.k!, ...zs)
            ? 'nn4'
            : 'main';
      const MR = gemvRows(blk.mc);
      const k = gemv ? kernel('matmul_gemv.wgsl', entry, { MR }) : kernel('matmul_naive.wgsl', 'main');
      const groups: [number, number, number] = gemv
        ? [Math.ceil(blk.nc / (entry === 'nn4' ? 256 : 64)), Math.ceil(blk.mc / MR), blk.zc]
        : [Math.ceil(blk.nc / 16), Math.ceil(blk.mc / 16), blk.zc];
      const vec = entry !== 'main';
      dispatch(
        k,
        {
          M: blk.mc,
          N: blk.nc,
          K: blk.kc,
          a0: ra.base,
          saz: st.A.z!,
          sam: st.A.m!,
          sak: st.A.k!,
          b0: rb.base,
          sbz: st.B.z ?? 0,
          sbk: st.B.k!,
          sbn: st.B.n!,
          c0: rc.base,
          scz: st.C.z!,
          scm: st.C.m!,
          ...ep,
          flags: flags(e),
        },
        [entry === 'nt4' ? pad16(ra) : ra, vec ? pad16(rb) : rb, rbias, rc],
        groups,
      );
    } else {
      const lda = o.transA ? s.M : s.K,
        ldb = o.transB ? s.K : s.N;
      const saz = st.A.z!,
        sbz = st.B.z ?? 0;
      const vecA = mult4(ra.base, lda, blk.zc > 1 ? saz : 0, o.transA ? blk.mc : blk.kc);
      const vecB = mult4(rb.base, ldb, blk.zc > 1 ? sbz : 0, o.transB ? blk.kc : blk.nc);
      const k = kernel('matmul_tiled.wgsl', 'main', { ...cfg });
      const fl = flags(e) | (o.transA ? 4 : 0) | (o.transB ? 8 : 0) | (vecA ? 16 : 0) | (vecB ? 32 : 0);
      dispatch(
        k,
        {
          M: blk.mc,
          N: blk.nc,
          K: blk.kc,
          a0: ra.base,
          lda,
          saz,
          b0: rb.base,
          ldb,
          sbz,
          c0: rc.base,
          ldc: s.N,
          scz: st.C.z!,
          ...ep,
          flags: fl,
        },
        [pad16(ra), pad16(rb), rbias, rc],
        [Math.ceil(blk.nc / cfg.BN), Math.ceil(blk.mc / cfg.BM), blk.zc],
      );
    }
  }
  kp.finish();
}
