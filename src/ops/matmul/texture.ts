// The texture variants (kernels/matmul_tex.wgsl, for CPU adapters such as lavapipe): B, and A
// unless it is read straight from its buffer, packed into rgba32float textures; a TMx(4·TN4)
// register block per invocation, unrolled in generated WGSL.
import { dispatch, kernel, runtime, type Kernel } from '../../gpu/runtime.ts';
import type { Tensor } from '../../gpu/tensor.ts';
import { acquireTexture, maxTexture, releaseTexture, subgroupSize } from '../../gpu/texture.ts';
import { pack } from './pack.ts';
import {
  MAXG,
  biasWindow,
  blocks,
  flags,
  kPlan,
  pad16,
  planChunks,
  strides,
  windowElems,
  windowOf,
  type Block,
  type Sizes,
} from './plan.ts';
import { TEX, unavailable, type MatmulOpts, type MatmulShape, type TexConfig } from './spec.ts';

/**
 * Workgroup size of a texture variant: one row of 8 invocations, or one subgroup in the subgroup
 * form. lavapipe runs each workgroup on one CPU thread, so the workgroup is the unit its threads
 * share: with 8 rows of 8 (64 invocations), a weight gradient such as 128x384 (K = 1024) of
 * 32-row blocks was a single workgroup and kept one of two cores idle. One row, measured on a
 * 2-core lavapipe (Mesa 25.0.7, Zen 1; tmpx A/B, alternated, minimums of 3): tex-sg-32x16
 * 128x384x1024 TN 18.3 -> 6.1 ms, 128x128x1024 TN 7.4 -> 2.3, 384x1536x2048 TN 171 -> 120,
 * 646x128x6085 NN 99 -> 74; 1024^3 and the other shapes within 3% either way; tex-16x16 the same
 * (128x128x1024 TN 13.7 -> 5.3 ms).
 */
function texWorkgroup(cfg: TexConfig): [number, number] {
  return [cfg.SG ? subgroupSize() : 8, 1];
}

/** The workgroup grid of a texture variant over an M x N (x Z) output block. */
function texGrid(cfg: TexConfig, M: number, N: number, Z: number): [number, number, number] {
  const [WGX, WGY] = texWorkgroup(cfg);
  return [Math.ceil(Math.ceil(N / 4) / cfg.TN4 / WGX), Math.ceil(M / cfg.TM / WGY), Z];
}

/** How the texture kernel reads A: a packed texture, or its buffer (row-major as vec4s, or transposed as scalars). */
type AMode = 'tex' | 'rows' | 'cols';

/**
 * kernels/matmul_tex.wgsl with its TMx(4·TN4) register block unrolled, reading A as aMode says and
 * storing C as vec4s (store4v) where cVec4.
 */
function texKernel(cfg: TexConfig, aMode: AMode, cVec4: boolean): Kernel {
  const id = `${cfg.TM}x${cfg.TN4}${cfg.SG ? 'sg' : ''}${aMode}${cVec4 ? 'c4' : ''}`;
  return runtime().memo(`matmul_tex:${id}`, () => generateTexKernel(cfg, aMode, cVec4));
}

function generateTexKernel(cfg: TexConfig, aMode: AMode, cVec4: boolean): Kernel {
  const { TM, TN4 } = cfg;
  const [WGX, WGY] = texWorkgroup(cfg);
  const SG = cfg.SG ? WGX : 0;
  const decl: string[] = [],
    step: string[] = [],
    store: string[] = [];
  for (let i = 0; i < TM; i++) for (let j = 0; j < TN4; j++) decl.push(`  var c${i}_${j} = vec4f(0.0);`);
  for (let kk = 0; kk < 4; kk++)
    for (let j = 0; j < TN4; j++)
      step.push(`    let b${kk}_${j} = textureLoad(Bt, vec2u(bx + ${j}u, kr + ${kk}u), 0);`);
  const loadA = (row: string) =>
    aMode === 'rows'
      ? `A4[p.a0 + (${row}) * p.lda + k]`
      : aMode === 'cols'
        ? `vec4f(${[0, 1, 2, 3].map((e) => `A1[p.a0 + (${row}) + (4u * k + ${e}u) * p.lda]`).join(', ')})`
        : `textureLoad(At, vec2u(k, ${row}), 0)`;
  if (SG) for (let t = 0; t < TM / SG; t++) step.push(`    let at${t} = ${loadA(`ar + ${t * SG}u + lane`)};`);
  for (let i = 0; i < TM; i++) {
    step.push(
      SG
        ? `    let a${i} = subgroupBroadcast(at${Math.floor(i / SG)}, ${i % SG}u);`
        : `    let a${i} = ${loadA(`ar + ${i}u`)};`,
    );
    for (let j = 0; j < TN4; j++) {
      step.push(
        `    c${i}_${j} = fma(vec4f(a${i}.w), b3_${j}, fma(vec4f(a${i}.z), b2_${j}, fma(vec4f(a${i}.y), b1_${j}, fma(vec4f(a${i}.x), b0_${j}, c${i}_${j}))));`,
      );
    }
  }
  // the epilogue runs once per accumulator through an array and a loop with a run-time bound,
  // so that it is compiled once rather than TM·TN4 times
  store.push(`  var res: array<vec4f, ${TM * TN4}>;`);
  for (let i = 0; i < TM; i++) for (let j = 0; j < TN4; j++) store.push(`  res[${i * TN4 + j}] = c${i}_${j};`);
  store.push(`  if (m0 >= p.M || 4u * x0 >= p.N) { return; }`);
  store.push(`  let rows = min(${TM}u, p.M - m0);`);
  store.push(
    `  for (var i = 0u; i < rows; i++) { for (var j = 0u; j < ${TN4}u; j++) { ${cVec4 ? 'store4v' : 'store4'}(z, m0 + i, x0 + j, res[i * ${TN4}u + j]); } }`,
  );
  return kernel('matmul_tex.wgsl', 'main', {
    TM,
    TN4,
    WGX,
    WGY,
    A_DECL: {
      tex: 'var At: texture_2d<f32>;',
      rows: 'var<storage, read> A4: array<vec4f>;',
      cols: 'var<storage, read> A1: array<f32>;',
    }[aMode],
    LANE_ARG: SG ? ', @builtin(subgroup_invocation_id) lane: u32' : '',
    EXIT: SG ? '' : '  if (m0 >= p.M || 4u * x0 >= p.N) { return; }',
    DECL: decl.join('\n'),
    STEP: step.join('\n'),
    STORE: store.join('\n'),
  });
}

export function runTex(v: string, a: Tensor, b: Tensor, out: Tensor, s: MatmulShape, o: MatmulOpts) {
  const why = unavailable(v);
  if (why) throw new Error(`matmul: ${why}`);
  const cfg = TEX[v];
  const L = maxTexture();
  const st = strides(s, o);
  const { Z, M, N, K } = s;
  // texture blocks: A texture (K4 x zc*mc), B texture (ceil(nc/4) x zcB*Kp)
  const kc = K <= L ? K : Math.ceil(K / Math.ceil(K / L) / 4) * 4;
  const nt = Math.min(N, 4 * L);
  const mt = Math.min(M, L);
  const Kp4 = Math.ceil(kc / 4) * 4;
  let zt = Math.max(1, Math.min(Z, Math.floor(L / mt), MAXG()));
  if (s.bBatched) zt = Math.max(1, Math.min(zt, Math.floor(L / Kp4)));
  const full: Sizes = { z: Z, m: M, n: N, k: K };
  const tc: Sizes = { z: zt, m: mt, n: nt, k: kc };
  const kp = kPlan(s, kc, o, out);
  const sA = { sz: st.A.z!, sr: st.A.m!, sc: st.A.k! };
  const sB = { sz: st.B.z ?? 0, sr: st.B.k!, sc: st.B.n! };
  // A read straight from its buffer (no packing) where it is row-major in whole vec4s
  // (a transposed A is read from its buffer only where a window of whole columns of a K block fits)
  const aMode: AMode =
    process.env.MATMUL_PACK_A === '1' || K % 4
      ? 'tex'
      : o.transA
        ? (kc - 1) * M + 4 <= windowElems()
          ? 'cols'
          : 'tex'
        : a.elementOffset % 4 === 0
          ? 'rows'
          : 'tex';
  const aBuf = aMode !== 'tex';
  for (const tb of blocks(full, tc, ['k', 'z', 'm', 'n'])) {
    const e = kp.epi(tb.k0);
    const K4 = Math.ceil(tb.kc / 4);
    const ta = aBuf ? undefined : acquireTexture(K4, tb.zc * tb.mc);
    if (ta)
      pack(ta, a, sA, { z0: tb.z0, r0: tb.m0, c0: tb.k0 }, { Z: tb.zc, R: tb.mc, C: tb.kc, Y: tb.mc, dzRows: tb.mc });
    const zB = s.bBatched ? tb.zc : 1;
    const tbt = acquireTexture(Math.ceil(tb.nc / 4), zB * 4 * K4);
    pack(
      tbt,
      b,
      sB,
      { z0: s.bBatched ? tb.z0 : 0, r0: tb.k0, c0: tb.n0 },
      { Z: zB, R: tb.kc, C: tb.nc, Y: 4 * K4, dzRows: 4 * K4 },
    );
    const va = ta?.createView(),
      vb = tbt.createView();
    // dispatch blocks inside the texture block: C windows (and A's, when read from its buffer) must fit a binding
    const sub: Sizes = { z: tb.zc, m: tb.mc, n: tb.nc, k: tb.kc };
    const cc = planChunks(sub, aBuf ? [st.C, { n: 1 }, st.A] : [st.C, { n: 1 }], windowElems(), {}, {}, { n: 4 });
    if (cc.k !== tb.kc) throw new Error(`matmul: one row of A (${tb.kc} elements) exceeds a storage binding`);
    for (const db of blocks(sub, cc, ['z', 'm', 'n'])) {
      const blk: Block = {
        z0: tb.z0 + db.z0,
        zc: db.zc,
        m0: tb.m0 + db.m0,
        mc: db.mc,
        n0: tb.n0 + db.n0,
        nc: db.nc,
        k0: tb.k0,
        kc: tb.kc,
      };
      const rc = windowOf(kp.target, st.C, blk);
      // C stored as vec4s where its rows, batches and this block's columns come in whole vec4s
      const cVec4 = rc.base % 4 === 0 && db.nc % 4 === 0 && st.C.m! % 4 === 0 && (db.zc === 1 || st.C.z! % 4 === 0);
      const rbias = biasWindow(o, blk, e.bias);
      // A's rows: texel rows of the packed block; or, from A's window, row z·M + m of lda = K/4
      // vec4s (rows), or element z·M·K + m of a column of lda = M elements (cols)
      const ra = aBuf ? windowOf(a, st.A, blk) : undefined;
      const aRows = aMode === 'tex' ? tb.mc : aMode === 'rows' ? M : M * K,
        aOff = aBuf ? 0 : db.z0 * tb.mc + db.m0;
      const a0 = !ra ? 0 : aMode === 'rows' ? ra.base / 4 : ra.base,
        lda = aMode === 'rows' ? K / 4 : aMode === 'cols' ? M : 0;
      dispatch(
        texKernel(cfg, aMode, cVec4),
        {
          M: db.mc,
          N: db.nc,
          K4,
          aRows,
          aOff,
          bRows: s.bBatched ? 4 * K4 : 0,
          bOff: s.bBatched ? db.z0 * 4 * K4 : 0,
          bx0: db.n0 / 4,
          c0: rc.base,
          scm: st.C.m!,
          scz: st.C.z!,
          bias0: rbias.base,
          alpha: e.alpha,
          beta: e.beta,
          flags: flags(e),
          a0,
          lda,
        },
        [ra ? (aMode === 'rows' ? pad16(ra) : ra) : va!, vb, rbias, cVec4 ? pad16(rc) : rc],
        texGrid(cfg, db.mc, db.nc, db.zc),
      );
    }
    if (ta) releaseTexture(ta);
    releaseTexture(tbt);
  }
  kp.finish();
}
