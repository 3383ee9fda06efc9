// Packing a strided matrix (or a batch of them) into an rgba32float texture, for the texture
// kernels of matmul and attention (kernels/matmul_pack.wgsl, or a plain copy where the layout allows).
import { dispatch, encoder, kernel } from '../../gpu/runtime.ts';
import type { Tensor } from '../../gpu/tensor.ts';
import {
  MAXG,
  blocks,
  mult4,
  pad16,
  planChunks,
  span,
  windowElems,
  type Dim,
  type Sizes,
  type Strides,
} from './plan.ts';

/**
 * Pack rows [r0, r0+R) x columns [c0, c0+C) of each of Z matrices (z0..) of `t` (element
 * (z, r, c) at z*sz + r*sr + c*sc) into `dst` from texel row dy: matrix z starts at row
 * dy + z*dzRows, rows R..Y-1 and columns past C are zero. Cut into windows that fit a binding.
 */
export function pack(
  dst: GPUTexture,
  t: Tensor,
  st: { sz: number; sr: number; sc: number },
  at: { z0: number; r0: number; c0: number },
  ext: { Z: number; R: number; C: number; Y: number; dzRows: number },
) {
  // A row-major source in whole texels and 256-byte rows is already the texture's layout: a
  // copy command (no shader; lavapipe copies memory far faster than a kernel stores texels)
  const start = t.elementOffset + at.z0 * st.sz + at.r0 * st.sr + at.c0;
  if (st.sc === 1 && (st.sr * 4) % 256 === 0 && ext.C % 4 === 0 && ext.Y === ext.R && start % 4 === 0 && ext.R > 0) {
    const enc = encoder();
    for (let z = 0; z < ext.Z; z++) {
      enc.copyBufferToTexture(
        { buffer: t.buffer, offset: (start + z * st.sz) * 4, bytesPerRow: st.sr * 4, rowsPerImage: ext.R },
        { texture: dst, origin: [0, z * ext.dzRows] },
        [ext.C / 4, ext.R, 1],
      );
    }
    return;
  }
  const view = dst.createView();
  // dims reuse the planner's names: z -> z, m -> rows, k -> columns
  const full: Sizes = { z: ext.Z, m: ext.R, n: 1, k: ext.C };
  const ps: Strides = { z: st.sz, m: st.sr, k: st.sc };
  const c = planChunks(full, [ps], windowElems(), { z: MAXG() }, {}, { k: 4 });
  for (const blk of blocks(full, c, ['z', 'm', 'k'] as Dim[])) {
    const lo = (at.z0 + blk.z0) * st.sz + (at.r0 + blk.m0) * st.sr + (at.c0 + blk.k0) * st.sc;
    const r = t.range(lo, span(ps, { z: blk.zc, m: blk.mc, n: 1, k: blk.kc }));
    const lastRow = blk.m0 + blk.mc === ext.R;
    const Y = lastRow ? ext.Y - blk.m0 : blk.mc;
    const X = Math.ceil(blk.kc / 4);
    // the vec4 forms where the layout allows (see the kernel's header)
    const zs = blk.zc > 1 ? st.sz : 0;
    const entry =
      st.sc === 1 && mult4(r.base, zs, blk.mc > 1 ? st.sr : 0)
        ? 'rows4'
        : st.sr === 1 && mult4(r.base, zs, blk.kc > 1 ? st.sc : 0)
          ? 'cols4'
          : 'main';
    const gy = entry === 'cols4' ? Math.ceil(Y / 4) : Y;
    dispatch(
      kernel('matmul_pack.wgsl', entry),
      {
        R: blk.mc,
        C: blk.kc,
        X,
        Y,
        s0: r.base,
        sz: st.sz,
        sr: st.sr,
        sc: st.sc,
        dx: blk.k0 / 4,
        dy: blk.z0 * ext.dzRows + blk.m0,
        dzRows: ext.dzRows,
      },
      [entry === 'main' ? r : pad16(r), view],
      [Math.ceil(X / 16), Math.ceil(gy / 16), blk.zc],
    );
  }
}
