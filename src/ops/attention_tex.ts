// Causal attention through textures and subgroups (kernels/attention_tex.wgsl), for CPU adapters.
//
// The same contract as attentionForward / attentionBackward in src/ops/attention.ts (which pick
// this variant on software adapters): qkv [B,T,3C] → y [B,T,C], lse [B,NH,T]; and dqkv from dy.
// Per chunk of whole batches (a texture holds at most maxTextureDimension2D rows, a window one
// binding) qkv (and dy) are packed into rgba32float textures, then one dispatch per kernel.
// This file writes the kernels' bodies: the loops over a lane's register block (RB rows or
// keys) and the head's H4 texels are unrolled, as in matmul_tex; the loop over a chunk's SG lanes is not.
import { dispatch, kernel, runtime, type Kernel } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { acquireTexture, maxTexture, releaseTexture, subgroupSize } from '../gpu/texture.ts';
import { pack } from './matmul/pack.ts';

const F = 'attention_tex.wgsl';
/** Register block: rows per lane in forward and bwd_dq, keys per lane in bwd_dkdv. */
// (Measured on lavapipe at T=256, hd=64: larger blocks ran no faster and took up to 17 s to compile.)
export const ATTN_TEX_BLOCK = { forward: 2, bwd_dq: 2, bwd_dkdv: 1 };

/** Why this adapter cannot run the texture attention for head dim hd and T positions, or ''. */
export function attentionTexUnavailable(hd: number, T: number): string {
  const sg = subgroupSize();
  if (!sg) return "needs the 'subgroups' feature with a single subgroup size";
  if (sg > 64) return `subgroup size ${sg} is above 64`;
  if (T > maxTexture()) return `T = ${T} exceeds the texture height limit`;
  if (hd % 4) return `head dim ${hd} is not a multiple of 4`;
  return '';
}

type Entry = 'forward' | 'bwd_dq' | 'bwd_dkdv';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** `${f(i)}` for i < n, joined by sep. */
const each = (n: number, f: (i: number) => string, sep = '\n') => range(n).map(f).join(sep);
/** The dot product of two head vectors held as H4 vec4 names a<d> and b<d>, as one vec4 fma chain. */
const dot = (H4: number, a: (d: number) => string, b: (d: number) => string) => {
  let e = `${a(0)} * ${b(0)}`;
  for (let d = 1; d < H4; d++) e = `fma(${a(d)}, ${b(d)}, ${e})`;
  return `hsum(${e})`;
};

/**
 * The loop over the SG lanes of a chunk, lane j's values taken with subgroupShuffle. (A loop:
 * unrolling it with constant-lane subgroupBroadcast compiled SG times more code and ran slower.)
 */
function lanes(SG: number, body: (j: string, bc: (x: string) => string) => string[]): string[] {
  return [`    for (var j = 0u; j < ${SG}u; j++) {`, ...body('j', (x) => `subgroupShuffle(${x}, j)`), '    }'];
}

/** Common to the three bodies: batch b, head h, the block's first row r0, texel columns of q, k, v. */
const prelude = (SG: number, RB: number, H4: number) =>
  [
    `  let b = wid.y / p.NH; let h = wid.y % p.NH;`,
    `  let r0 = wid.x * ${SG * RB}u; let tb = b * p.T;`,
    `  let xq = h * ${H4}u; let xk = p.C4 + xq; let xv = 2u * p.C4 + xq;`,
  ].join('\n');

/** Store a head vector (H4 vec4s, value(d)) into buf at element base. */
const storeHead = (buf: string, base: string, H4: number, value: (d: number) => string) =>
  each(
    H4,
    (d) =>
      `    { let v = ${value(d)}; ${range(4)
        .map((e) => `${buf}[${base} + ${4 * d + e}u] = v.${'xyzw'[e]};`)
        .join(' ')} }`,
  );

function forwardBody(SG: number, RB: number, H4: number): string {
  const L: string[] = [prelude(SG, RB, H4)];
  for (let u = 0; u < RB; u++) {
    L.push(`  let i${u} = r0 + ${u * SG}u + lane; let ti${u} = tb + min(i${u}, p.T - 1u);`);
    L.push(each(H4, (d) => `  let q${u}_${d} = textureLoad(QKV, vec2u(xq + ${d}u, ti${u}), 0) * p.scale;`));
    L.push(each(H4, (d) => `  var o${u}_${d} = vec4f(0.0);`));
    L.push(`  var m${u} = NEG; var l${u} = 0.0;`);
  }
  L.push(`  let kend = min(p.T, r0 + ${SG * RB}u);`);
  L.push(`  for (var c0 = 0u; c0 < kend; c0 += ${SG}u) {`);
  L.push(`    let tj = tb + min(c0 + lane, p.T - 1u);`);
  L.push(each(H4, (d) => `    let kt${d} = textureLoad(QKV, vec2u(xk + ${d}u, tj), 0);`));
  for (let u = 0; u < RB; u++) L.push(`    var s${u}: array<f32, ${SG}>;`);
  L.push(
    ...lanes(SG, (j, bc) => [
      each(H4, (d) => `      let kb${d} = ${bc(`kt${d}`)};`),
      ...range(RB).map(
        (u) =>
          `      s${u}[${j}] = select(${dot(
            H4,
            (d) => `q${u}_${d}`,
            (d) => `kb${d}`,
          )}, NEG, c0 + ${j} > i${u});`,
      ),
    ]),
  );
  for (let u = 0; u < RB; u++) {
    const mx = range(SG).reduce((e, j) => (j === 0 ? `s${u}[0]` : `max(${e}, s${u}[${j}])`), '');
    L.push(`    let mt${u} = max(m${u}, ${mx});`);
    L.push(`    let cr${u} = exp(m${u} - mt${u});`);
    L.push(`    m${u} = mt${u};`);
    L.push(`    var p${u}: array<f32, ${SG}>;`);
    L.push(each(SG, (j) => `    p${u}[${j}] = exp(s${u}[${j}] - mt${u});`));
    L.push(`    l${u} = l${u} * cr${u} + ${each(SG, (j) => `p${u}[${j}]`, ' + ')};`);
    L.push(each(H4, (d) => `    o${u}_${d} *= cr${u};`));
  }
  L.push(each(H4, (d) => `    let vt${d} = textureLoad(QKV, vec2u(xv + ${d}u, tj), 0);`));
  L.push(
    ...lanes(SG, (j, bc) => [
      each(H4, (d) => `      let vb${d} = ${bc(`vt${d}`)};`),
      ...range(RB).map((u) => each(H4, (d) => `      o${u}_${d} = fma(vec4f(p${u}[${j}]), vb${d}, o${u}_${d});`)),
    ]),
  );
  L.push(`  }`);
  for (let u = 0; u < RB; u++) {
    L.push(`  if (i${u} < p.T) {`);
    L.push(`    let yi = p.y0 + (tb + i${u}) * p.C + 4u * xq; let il = 1.0 / l${u};`);
    L.push(storeHead('y', 'yi', H4, (d) => `o${u}_${d} * il`));
    L.push(`    lse_w[p.l0 + wid.y * p.T + i${u}] = m${u} + log(l${u});`);
    L.push(`  }`);
  }
  return L.join('\n');
}

function dqBody(SG: number, RB: number, H4: number): string {
  const L: string[] = [prelude(SG, RB, H4)];
  for (let u = 0; u < RB; u++) {
    L.push(`  let i${u} = r0 + ${u * SG}u + lane; let ti${u} = tb + min(i${u}, p.T - 1u);`);
    L.push(each(H4, (d) => `  let q${u}_${d} = textureLoad(QKV, vec2u(xq + ${d}u, ti${u}), 0) * p.scale;`));
    L.push(each(H4, (d) => `  let dy${u}_${d} = textureLoad(DY, vec2u(xq + ${d}u, ti${u}), 0);`));
    L.push(each(H4, (d) => `  var dq${u}_${d} = vec4f(0.0);`));
    L.push(`  let li${u} = lse[p.l0 + wid.y * p.T + min(i${u}, p.T - 1u)];`);
    L.push(`  let Di${u} = D[p.D0 + wid.y * p.T + min(i${u}, p.T - 1u)];`);
  }
  L.push(`  let kend = min(p.T, r0 + ${SG * RB}u);`);
  L.push(`  for (var c0 = 0u; c0 < kend; c0 += ${SG}u) {`);
  L.push(`    let tj = tb + min(c0 + lane, p.T - 1u);`);
  L.push(each(H4, (d) => `    let kt${d} = textureLoad(QKV, vec2u(xk + ${d}u, tj), 0);`));
  L.push(each(H4, (d) => `    let vt${d} = textureLoad(QKV, vec2u(xv + ${d}u, tj), 0);`));
  L.push(
    ...lanes(SG, (j, bc) => [
      each(H4, (d) => `      let kb${d} = ${bc(`kt${d}`)};`),
      each(H4, (d) => `      let vb${d} = ${bc(`vt${d}`)};`),
      ...range(RB).flatMap((u) => [
        `      {`,
        `        let pp = select(exp(${dot(
          H4,
          (d) => `q${u}_${d}`,
          (d) => `kb${d}`,
        )} - li${u}), 0.0, c0 + ${j} > i${u});`,
        `        let ds = vec4f(pp * (${dot(
          H4,
          (d) => `dy${u}_${d}`,
          (d) => `vb${d}`,
        )} - Di${u}));`,
        each(H4, (d) => `        dq${u}_${d} = fma(ds, kb${d}, dq${u}_${d});`),
        `      }`,
      ]),
    ]),
  );
  L.push(`  }`);
  for (let u = 0; u < RB; u++) {
    L.push(`  if (i${u} < p.T) {`);
    L.push(`    let oi = p.o0 + (tb + i${u}) * 3u * p.C + 4u * xq;`);
    L.push(storeHead('dqkv', 'oi', H4, (d) => `dq${u}_${d} * p.scale`));
    L.push(`  }`);
  }
  return L.join('\n');
}

function dkdvBody(SG: number, RB: number, H4: number): string {
  const L: string[] = [prelude(SG, RB, H4)];
  for (let u = 0; u < RB; u++) {
    L.push(`  let j${u} = r0 + ${u * SG}u + lane; let tj${u} = tb + min(j${u}, p.T - 1u);`);
    L.push(each(H4, (d) => `  let k${u}_${d} = textureLoad(QKV, vec2u(xk + ${d}u, tj${u}), 0) * p.scale;`));
    L.push(each(H4, (d) => `  let v${u}_${d} = textureLoad(QKV, vec2u(xv + ${d}u, tj${u}), 0);`));
    L.push(each(H4, (d) => `  var dk${u}_${d} = vec4f(0.0);`));
    L.push(each(H4, (d) => `  var dv${u}_${d} = vec4f(0.0);`));
  }
  L.push(`  for (var c0 = r0; c0 < p.T; c0 += ${SG}u) {`);
  L.push(`    let ri = min(c0 + lane, p.T - 1u); let ti = tb + ri;`);
  L.push(each(H4, (d) => `    let qt${d} = textureLoad(QKV, vec2u(xq + ${d}u, ti), 0);`));
  L.push(each(H4, (d) => `    let dyt${d} = textureLoad(DY, vec2u(xq + ${d}u, ti), 0);`));
  L.push(`    let lt = lse[p.l0 + wid.y * p.T + ri]; let Dt = D[p.D0 + wid.y * p.T + ri];`);
  L.push(
    ...lanes(SG, (j, bc) => [
      each(H4, (d) => `      let qb${d} = ${bc(`qt${d}`)};`),
      each(H4, (d) => `      let dyb${d} = ${bc(`dyt${d}`)};`),
      `      let lb = ${bc('lt')}; let Db = ${bc('Dt')}; let row = c0 + ${j};`,
      ...range(RB).flatMap((u) => [
        `      {`,
        `        let pp = select(exp(${dot(
          H4,
          (d) => `k${u}_${d}`,
          (d) => `qb${d}`,
        )} - lb), 0.0, row < j${u} || row >= p.T);`,
        `        let ds = vec4f(pp * (${dot(
          H4,
          (d) => `v${u}_${d}`,
          (d) => `dyb${d}`,
        )} - Db));`,
        each(H4, (d) => `        dv${u}_${d} = fma(vec4f(pp), dyb${d}, dv${u}_${d});`),
        each(H4, (d) => `        dk${u}_${d} = fma(ds, qb${d}, dk${u}_${d});`),
        `      }`,
      ]),
    ]),
  );
  L.push(`  }`);
  for (let u = 0; u < RB; u++) {
    L.push(`  if (j${u} < p.T) {`);
    L.push(`    let ok = p.o0 + (tb + j${u}) * 3u * p.C + 4u * xk; let ov = ok + p.C;`);
    L.push(storeHead('dqkv', 'ok', H4, (d) => `dk${u}_${d} * p.scale`));
    L.push(storeHead('dqkv', 'ov', H4, (d) => `dv${u}_${d}`));
    L.push(`  }`);
  }
  return L.join('\n');
}

function texKernel(entry: Entry, hd: number): { k: Kernel; SG: number; RB: number } {
  const SG = subgroupSize(),
    RB = ATTN_TEX_BLOCK[entry],
    H4 = hd / 4;
  const id = `${entry}/${hd}/${SG}/${RB}`;
  // generated once per shape: building the body's text costs more than the dispatch
  const k = runtime().memo(`attention_tex:${id}`, () => {
    const body = { forward: forwardBody, bwd_dq: dqBody, bwd_dkdv: dkdvBody }[entry](SG, RB, H4);
    return kernel(F, entry, {
      SG,
      RB,
      FORWARD: entry === 'forward' ? body : '',
      BWD_DQ: entry === 'bwd_dq' ? body : '',
      BWD_DKDV: entry === 'bwd_dkdv' ? body : '',
    });
  });
  return { k, SG, RB };
}

/** Pack rows [r0, r0+R) of a row-major [*, cols] tensor into a (cols/4) x R texture (from the pool). */
function packRows(t: Tensor, r0: number, R: number, cols: number): GPUTexture {
  const tex = acquireTexture(cols / 4, R);
  pack(tex, t, { sz: 0, sr: cols, sc: 1 }, { z0: 0, r0, c0: 0 }, { Z: 1, R, C: cols, Y: R, dzRows: 0 });
  return tex;
}

interface Chunked {
  B: number;
  T: number;
  NH: number;
  C: number;
  hd: number;
  step: number;
}

/** y, lse of attentionForward, batches b0.. in chunks of `step`. */
export function attentionTexForward(qkv: Tensor, g: Chunked, y: Tensor, lse: Tensor) {
  const { B, T, NH, C, hd } = g;
  const { k, SG, RB } = texKernel('forward', hd);
  for (let b0 = 0; b0 < B; b0 += g.step) {
    const nb = Math.min(g.step, B - b0);
    const tq = packRows(qkv, b0 * T, nb * T, 3 * C);
    const yB = y.range(b0 * T * C, nb * T * C),
      lB = lse.range(b0 * NH * T, nb * NH * T);
    dispatch(
      k,
      { T, NH, C, C4: C / 4, scale: 1 / Math.sqrt(hd), y0: yB.base, l0: lB.base },
      [tq.createView(), yB, lB],
      [Math.ceil(T / (SG * RB)), nb * NH],
    );
    releaseTexture(tq);
  }
}

/** dqkv of attentionBackward (D = rowsum(dy∘y) computed by the caller). */
export function attentionTexBackward(dy: Tensor, qkv: Tensor, lse: Tensor, D: Tensor, g: Chunked, dqkv: Tensor) {
  const { B, T, NH, C, hd } = g;
  const kq = texKernel('bwd_dq', hd),
    kkv = texKernel('bwd_dkdv', hd);
  for (let b0 = 0; b0 < B; b0 += g.step) {
    const nb = Math.min(g.step, B - b0);
    const tq = packRows(qkv, b0 * T, nb * T, 3 * C),
      tdy = packRows(dy, b0 * T, nb * T, C);
    const lB = lse.range(b0 * NH * T, nb * NH * T),
      DB = D.range(b0 * NH * T, nb * NH * T);
    const oB = dqkv.range(b0 * T * 3 * C, nb * T * 3 * C);
    const params = { T, NH, C, C4: C / 4, scale: 1 / Math.sqrt(hd), l0: lB.base, D0: DB.base, o0: oB.base };
    const views = [tq.createView(), tdy.createView(), lB, DB, oB];
    dispatch(kq.k, params, views, [Math.ceil(T / (kq.SG * kq.RB)), nb * NH]);
    dispatch(kkv.k, params, views, [Math.ceil(T / (kkv.SG * kkv.RB)), nb * NH]);
    releaseTexture(tq);
    releaseTexture(tdy);
  }
}
