// matmul: C = op(A) · op(B) (+ bias) (GELU) (+ beta·C), batched, with transposes by strides.
//
// Shapes: A is [..., M, K] ([..., K, M] with transA); B is [K, N] ([N, K] with transB),
// or batched like A. C is [..., M, N]. bias is [N].
//
// Variants (opts.variant; 'auto' by default):
//   naive          kernels/matmul_naive.wgsl, one invocation per output (the baseline)
//   tiled-BMxBN    kernels/matmul_tiled.wgsl, workgroup-memory tiles, register blocks, vec4 loads
//                  where the layout allows (for GPUs); 'tiled' picks a tile by shape
//   tex-TMxTN      kernels/matmul_tex.wgsl, operands packed into rgba32float textures by
//                  kernels/matmul_pack.wgsl, a TMxTN register block per invocation (for CPU
//                  adapters such as lavapipe); 'tex' picks a block by shape
//   tex-sg-TMxTN   the same with the rows of A shared across a subgroup (subgroupBroadcast): each
//                  A texel is loaded once per subgroup; needs 'subgroups' with one subgroup size
//   auto           the autotuned variant for this adapter and shape class (src/gpu/autotune.ts,
//                  filled by autotuneMatmul()), else 'tex' on software adapters and 'tiled' elsewhere;
//                  the environment variable MATMUL_VARIANT (a variant name) overrides it
// The texture variants read A straight from its buffer where its layout allows (see runTex);
// MATMUL_PACK_A=1 makes them pack A into a texture as well (to compare the two).
//
// Problems whose operands exceed one storage binding (gpu().maxBinding) or a texture
// dimension are cut into blocks over Z, M, N and, where needed, K (the K blocks accumulate
// into C; with GELU they accumulate into a temporary and kernels/matmul_epilogue.wgsl finishes).
import { uniform } from '../rng.ts';
import {
  dispatch,
  dummy,
  encoder,
  gpu,
  grid,
  kernel,
  rowsPerBinding,
  sync,
  type Kernel,
  type BufferRange,
} from '../gpu/runtime.ts';
import { Tensor, shapeStr } from '../gpu/tensor.ts';
import { adapterKey, autotune, tuned } from '../gpu/autotune.ts';

export interface TiledConfig {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN4: number;
}
/** SG: the subgroup form (rows of A shared across a subgroup with subgroupBroadcast) */
export interface TexConfig {
  TM: number;
  TN4: number;
  SG?: boolean;
}

/** Tile configurations of the storage-buffer kernel: BMxBN per workgroup, TMx(4·TN4) per invocation. */
export const TILED: Record<string, TiledConfig> = {
  'tiled-64x64': { BM: 64, BN: 64, BK: 16, TM: 4, TN4: 1 }, // 16x16
  'tiled-128x64': { BM: 128, BN: 64, BK: 16, TM: 8, TN4: 1 }, // 16x16
  'tiled-128x128': { BM: 128, BN: 128, BK: 8, TM: 8, TN4: 2 }, // 16x16
};

/** Register blocks of the texture kernel: TM rows x 4·TN4 columns per invocation, 8x8 invocations. */
export const TEX: Record<string, TexConfig> = {
  'tex-32x16': { TM: 32, TN4: 4 },
  'tex-16x16': { TM: 16, TN4: 4 },
  'tex-8x16': { TM: 8, TN4: 4 },
  'tex-4x16': { TM: 4, TN4: 4 },
  // need the 'subgroups' feature and one subgroup size that divides TM (8 on lavapipe)
  'tex-sg-64x16': { TM: 64, TN4: 4, SG: true },
  'tex-sg-32x16': { TM: 32, TN4: 4, SG: true },
  'tex-sg-8x16': { TM: 8, TN4: 4, SG: true },
};

/** 'gemv': the skinny kernel for few rows of A (kernels/matmul_gemv.wgsl), gemvRows() rows per invocation. */
export type ConcreteVariant = 'naive' | 'gemv' | keyof typeof TILED | keyof typeof TEX;
export type MatmulVariant = 'auto' | 'tiled' | 'tex' | ConcreteVariant;
/** Every concrete variant name. */
export const MATMUL_VARIANTS: string[] = ['naive', 'gemv', ...Object.keys(TILED), ...Object.keys(TEX)];
/**
 * Rows of A per invocation of the skinny kernel: 4 share each load of B; a single row (the decode
 * step) takes a 1-row form, since the idle rows' loop and accumulators cost time (lm_head 384x50304
 * at M = 1: 11.4 ms with 4 rows, 7.5 ms with 1, lavapipe, /tmp gemv timing of 2026-12-03).
 */
const gemvRows = (M: number) => (M === 1 ? 1 : 4);
/** 'auto' takes the skinny kernel up to this many rows of A (decode steps, small batches). */
export const GEMV_MAX_M = 8;

export interface MatmulOpts {
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor;
  gelu?: boolean;
  alpha?: number;
  /** C = A·B + beta·C (out must be given) */
  beta?: number;
  out?: Tensor;
  variant?: MatmulVariant;
}

export interface MatmulShape {
  Z: number;
  M: number;
  N: number;
  K: number;
  bBatched: boolean;
}

export function matmulShape(a: Tensor, b: Tensor, o: MatmulOpts): MatmulShape {
  const err = (why: string) =>
    new Error(
      `matmul${o.transA ? 'T' : 'N'}${o.transB ? 'T' : 'N'}: A ${shapeStr(a.shape)} · B ${shapeStr(b.shape)}: ${why}`,
    );
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw err('f32 operands expected');
  if (a.rank < 2 || b.rank < 2) throw err('operands need 2+ dimensions');
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const M = o.transA ? ac : ar,
    K = o.transA ? ar : ac;
  const Kb = o.transB ? bc : br,
    N = o.transB ? br : bc;
  if (K !== Kb) throw err(`inner dimensions ${K} and ${Kb} differ`);
  const Z = ar * ac ? a.size / (ar * ac) : numelBatch(a.shape);
  const bBatched = b.rank > 2;
  if (bBatched && (br * bc ? b.size / (br * bc) : numelBatch(b.shape)) !== Z) throw err('batch dimensions differ');
  if (o.bias && (o.bias.size !== N || o.bias.dtype !== 'f32'))
    throw err(`bias ${shapeStr(o.bias.shape)} should be [${N}]`);
  if (o.out && (o.out.size !== Z * M * N || o.out.dtype !== 'f32'))
    throw err(`out ${shapeStr(o.out.shape)} should hold ${Z}x${M}x${N} f32`);
  if (o.beta && !o.out) throw err('beta needs out');
  if (
    o.variant &&
    o.variant !== 'auto' &&
    o.variant !== 'tiled' &&
    o.variant !== 'tex' &&
    !MATMUL_VARIANTS.includes(o.variant)
  ) {
    throw err(`unknown variant '${o.variant}' (known: auto, tiled, tex, ${MATMUL_VARIANTS.join(', ')})`);
  }
  for (const [name, t] of [
    ['A', a],
    ['B', b],
    ['bias', o.bias],
    ['out', o.out],
  ] as const) {
    if (t?.released) throw err(`${name} was released`);
  }
  return { Z, M, N, K, bBatched };
}

function numelBatch(shape: readonly number[]) {
  return shape.slice(0, -2).reduce((x, y) => x * y, 1);
}

export function matmul(a: Tensor, b: Tensor, o: MatmulOpts = {}): Tensor {
  const s = matmulShape(a, b, o);
  const out = o.out ?? Tensor.empty([...a.shape.slice(0, -2), s.M, s.N]);
  if (s.Z === 0 || s.M === 0 || s.N === 0) return out;
  if (s.K === 0) {
    // an empty sum: only the epilogue
    const t = Tensor.zeros([s.Z * s.M * s.N]);
    epilogue(t, out, s.N, o);
    t.release();
    return out;
  }
  const v = resolveVariant(s, o);
  if (v === 'naive' || v === 'gemv') runBuffer(v, a, b, out, s, o);
  else if (v in TILED) runBuffer(v, a, b, out, s, o);
  else runTex(v, a, b, out, s, o);
  return out;
}

// ---------------------------------------------------------------- variant choice
/** A coarse class of problem shapes: the transposes, whether B is batched, and each size rounded up to a power of 2. */
export function shapeClass(s: MatmulShape, o: { transA?: boolean; transB?: boolean }): string {
  const p2 = (v: number) => 2 ** Math.ceil(Math.log2(Math.max(1, v)));
  return `${o.transA ? 'T' : 'N'}${o.transB ? 'T' : 'N'}${s.Z > 1 ? (s.bBatched ? ' zb' : ' z') : ''} m${p2(s.M)} n${p2(s.N)} k${p2(s.K)}`;
}

const tuneKey = (s: MatmulShape, o: { transA?: boolean; transB?: boolean }) =>
  `${adapterKey()}|matmul|${shapeClass(s, o)}`;

/** The concrete variant that `variant` (default 'auto') means for this problem. */
export function resolveVariant(s: MatmulShape, o: MatmulOpts): ConcreteVariant {
  const v = o.variant ?? 'auto';
  if (v === 'tiled') return pickTiled(s);
  if (v === 'tex') return pickTex(s);
  if (v !== 'auto') return v;
  const env = process.env.MATMUL_VARIANT; // for experiments: what 'auto' means in this process
  if (env && env !== 'auto') {
    if (env !== 'tiled' && env !== 'tex' && !MATMUL_VARIANTS.includes(env))
      throw new Error(
        `MATMUL_VARIANT=${env}: unknown matmul variant (known: tiled, tex, ${MATMUL_VARIANTS.join(', ')})`,
      );
    return resolveVariant(s, { variant: env as MatmulVariant });
  }
  if (s.M <= GEMV_MAX_M) return 'gemv'; // memory-bound: one pass over B, no packing
  const t = tuned(tuneKey(s, o));
  if (t && MATMUL_VARIANTS.includes(t) && !unavailable(t)) return t as ConcreteVariant;
  return gpu().info.isSoftware ? pickTex(s) : pickTiled(s);
}

function pickTiled(s: MatmulShape): ConcreteVariant {
  if (s.M >= 1024 && s.N >= 1024) return 'tiled-128x128';
  if (s.M >= 512 && s.N >= 256) return 'tiled-128x64';
  return 'tiled-64x64';
}

/**
 * The texture variant for a problem: a 32-row register block where it still leaves
 * TEX_MIN_WORKGROUPS workgroups to spread over the CPU's threads, else 8 rows. Measured on a
 * 2-core lavapipe (Mesa 25.0.7, AVX2; training steps of the tiny and scratch configs timed alone,
 * medians of 7): the
 * 64-row block took 15–25 s to compile per A mode on a cold shader cache and was no faster
 * (scratch step 9.3 s with it, 8.1–8.4 s with this rule; tiny step 0.77–0.92 s vs 0.65–0.71 s);
 * a threshold of 32 workgroups gave 9.1–9.5 s and 0.90 s.
 */
const TEX_MIN_WORKGROUPS = 16;

function pickTex(s: MatmulShape): ConcreteVariant {
  const sg = (v: ConcreteVariant, alt: ConcreteVariant) => (unavailable(v) ? alt : v);
  const [gx, gy, gz] = texGrid(TEX['tex-sg-32x16'], s.M, s.N, s.Z);
  if (gx * gy * gz >= TEX_MIN_WORKGROUPS) return sg('tex-sg-32x16', 'tex-16x16');
  return sg('tex-sg-8x16', s.M >= 8 ? 'tex-8x16' : 'tex-4x16');
}

/** Candidates that autotuneMatmul times on this adapter. */
export function tuneCandidates(s: MatmulShape): ConcreteVariant[] {
  const tex = Object.keys(TEX) as ConcreteVariant[];
  const tiled = Object.keys(TILED) as ConcreteVariant[];
  const c = gpu().info.isSoftware
    ? [...tex, 'tiled-64x64' as ConcreteVariant]
    : [...tiled, 'tex-16x16' as ConcreteVariant];
  if (s.M * s.N * s.K <= 1 << 18) c.push('naive');
  return c.filter((v) => !unavailable(v));
}

export interface TuneResult {
  key: string;
  winner: string;
  ms: Record<string, number>;
  cached: boolean;
  timedShape: string;
}

/**
 * Time the candidate variants on this shape class once and remember the fastest (on disk,
 * cache/autotune.json); later 'auto' calls in this or any process use it. Timing uses
 * random operands of the class, with M and N capped at 2048 and K at 1024 to keep it short.
 */
export async function autotuneMatmul(
  shape: { Z?: number; M: number; N: number; K: number; bBatched?: boolean },
  o: { transA?: boolean; transB?: boolean; bias?: boolean; gelu?: boolean; force?: boolean; reps?: number } = {},
): Promise<TuneResult> {
  const s: MatmulShape = { Z: shape.Z ?? 1, M: shape.M, N: shape.N, K: shape.K, bBatched: shape.bBatched ?? false };
  const key = tuneKey(s, o);
  const have = tuned(key);
  const M = Math.min(s.M, 2048),
    N = Math.min(s.N, 2048),
    K = Math.min(s.K, 1024);
  const timedShape = `${s.Z > 1 ? `${s.Z}x` : ''}${M}x${N}x${K}`;
  if (have && !o.force) return { key, winner: have, ms: {}, cached: true, timedShape };
  const bz = s.bBatched ? s.Z : 1;
  const A = Tensor.from(randomData(s.Z * M * K, 1), o.transA ? [s.Z, K, M] : [s.Z, M, K]);
  const B = Tensor.from(
    randomData(bz * K * N, 2),
    s.bBatched ? (o.transB ? [bz, N, K] : [bz, K, N]) : o.transB ? [N, K] : [K, N],
  );
  const bias = o.bias ? Tensor.from(randomData(N, 3), [N]) : undefined;
  const C = Tensor.empty([s.Z, M, N]);
  const cands: Record<string, () => void> = {};
  for (const v of tuneCandidates(s)) {
    cands[v] = () => {
      matmul(A, B, { transA: o.transA, transB: o.transB, bias, gelu: o.gelu, out: C, variant: v });
    };
  }
  const r = await autotune(key, cands, { reps: o.reps ?? 3 });
  await sync();
  for (const t of [A, B, bias, C]) t?.release();
  return { key, winner: r.winner, ms: r.ms, cached: false, timedShape };
}

function randomData(n: number, seed: number): Float32Array {
  const u = uniform(seed);
  return Float32Array.from({ length: n }, () => u() - 0.5);
}

// ---------------------------------------------------------------- blocking
type Dim = 'z' | 'm' | 'n' | 'k';
type Sizes = Record<Dim, number>;
/** element strides of one operand over the problem dimensions it depends on */
type Strides = Partial<Record<Dim, number>>;

const DIMS: Dim[] = ['z', 'm', 'n', 'k'];

/** Elements spanned by a block of `chunk` sizes of an operand with these strides. */
function span(st: Strides, chunk: Sizes): number {
  let s = 1;
  for (const d of DIMS) if (st[d] !== undefined) s += (chunk[d] - 1) * st[d]!;
  return s;
}

/**
 * The most elements one window may span: it must fit one binding after aligning its start down
 * and padding its end to 16 bytes (pad16).
 */
function windowElems(): number {
  return rowsPerBinding('matmul', 4, 'one float') - 3; // 3: the most pad16 adds
}

/** A window bound as array<vec4f>: its size padded to a multiple of 16 bytes (pool buffers are multiples of 64). */
function pad16(r: BufferRange & { base: number }): BufferRange {
  const size = Math.ceil(r.size! / 16) * 16;
  if ((r.offset ?? 0) + size > r.buffer.size) throw new Error(`matmul: cannot pad a ${r.size}-byte window to 16 bytes`);
  return { buffer: r.buffer, offset: r.offset, size };
}

/**
 * Block sizes (per dimension) such that every operand's window fits `limit` elements and each
 * dimension stays within `max`: repeatedly halve the largest-stride dimension of an operand that
 * does not fit. Halves above 64 are rounded up to multiples of 64, others to `gran` where that
 * still shrinks the block, and always to `hard` (texel columns: multiples of 4).
 */
function planChunks(
  full: Sizes,
  ops: Strides[],
  limit: number,
  max: Partial<Sizes> = {},
  gran: Partial<Sizes> = {},
  hard: Partial<Sizes> = {},
): Sizes {
  const c: Sizes = { ...full };
  const halve = (d: Dim): boolean => {
    const v = c[d],
      g = hard[d] ?? gran[d] ?? 1;
    const h = Math.ceil(v / 2);
    let r = h > 64 ? Math.ceil(h / 64) * 64 : Math.ceil(h / g) * g;
    if (r >= v && !hard[d]) r = h; // below the granularity: only as a last resort (the kernels are correct for any block)
    if (r >= v) return false;
    c[d] = r;
    return true;
  };
  for (const d of DIMS) while (max[d] !== undefined && c[d] > max[d]!) if (!halve(d)) break;
  for (let guard = 0; guard < 1000; guard++) {
    const bad = ops.find((st) => span(st, c) > limit);
    if (!bad) return c;
    const dims = DIMS.filter((d) => bad[d] !== undefined && c[d] > 1).sort((x, y) => bad[y]! - bad[x]!);
    if (!dims.some(halve)) break;
  }
  throw new Error(`matmul: cannot cut ${JSON.stringify(full)} into blocks that fit a ${gpu().maxBinding}-byte binding`);
}

interface Block {
  z0: number;
  zc: number;
  m0: number;
  mc: number;
  n0: number;
  nc: number;
  k0: number;
  kc: number;
}

function* blocks(full: Sizes, c: Sizes, order: Dim[] = ['k', 'z', 'm', 'n']): Generator<Block> {
  const starts = (d: Dim) => {
    const r: number[] = [];
    for (let i = 0; i < full[d]; i += c[d]) r.push(i);
    return r;
  };
  const rec = function* (i: number, acc: Partial<Block>): Generator<Block> {
    if (i === order.length) {
      yield acc as Block;
      return;
    }
    const d = order[i];
    for (const s of starts(d)) yield* rec(i + 1, { ...acc, [`${d}0`]: s, [`${d}c`]: Math.min(c[d], full[d] - s) });
  };
  yield* rec(0, {});
}

/** Operand strides of the problem (element offsets inside each tensor). */
function strides(s: MatmulShape, o: MatmulOpts) {
  const { M, N, K } = s;
  const A: Strides = o.transA ? { z: M * K, m: 1, k: M } : { z: M * K, m: K, k: 1 };
  const B: Strides = o.transB ? { k: 1, n: K } : { k: N, n: 1 };
  if (s.bBatched) B.z = K * N;
  const C: Strides = { z: M * N, m: N, n: 1 };
  return { A, B, C };
}

function windowOf(t: Tensor, st: Strides, blk: Block): BufferRange & { base: number } {
  const start: Record<Dim, number> = { z: blk.z0, m: blk.m0, n: blk.n0, k: blk.k0 };
  const chunk: Sizes = { z: blk.zc, m: blk.mc, n: blk.nc, k: blk.kc };
  let lo = 0;
  for (const d of DIMS) if (st[d] !== undefined) lo += start[d] * st[d]!;
  return t.range(lo, span(st, chunk));
}

interface Epilogue {
  alpha: number;
  beta: number;
  bias: boolean;
  gelu: boolean;
}

/**
 * The epilogue of each K block: the first block applies beta (and, unless GELU needs the whole
 * sum, bias and alpha); later blocks add into C. With GELU and several K blocks the sums go to
 * `tmp` and the epilogue kernel finishes.
 */
function kPlan(s: MatmulShape, kc: number, o: MatmulOpts, out: Tensor) {
  const split = kc < s.K;
  const viaTmp = split && !!o.gelu;
  const target = viaTmp ? Tensor.empty([s.Z * s.M * s.N]) : out;
  const epi = (k0: number): Epilogue => {
    if (!split) return { alpha: o.alpha ?? 1, beta: o.beta ?? 0, bias: !!o.bias, gelu: !!o.gelu };
    if (viaTmp) return { alpha: 1, beta: k0 === 0 ? 0 : 1, bias: false, gelu: false };
    return { alpha: o.alpha ?? 1, beta: k0 === 0 ? (o.beta ?? 0) : 1, bias: k0 === 0 && !!o.bias, gelu: false };
  };
  const finish = () => {
    if (!viaTmp) return;
    epilogue(target, out, s.N, o);
    target.release();
  };
  return { target, epi, finish };
}

function epilogue(t: Tensor, out: Tensor, N: number, o: MatmulOpts) {
  const WG = 256;
  const k = kernel('matmul_epilogue.wgsl', 'main', { BIAS: !!o.bias, GELU: !!o.gelu });
  const win = Math.floor((windowElems() - 1) / WG) * WG;
  const rb = o.bias ? o.bias.b : { ...dummy(), base: 0 };
  for (let start = 0; start < out.size; start += win) {
    const n = Math.min(win, out.size - start);
    const rt = t.range(start, n),
      ro = out.range(start, n);
    const [gx, gy] = grid(Math.ceil(n / WG));
    dispatch(
      k,
      {
        n,
        t0: rt.base,
        o0: ro.base,
        ph: start % N,
        N,
        bias0: rb.base,
        alpha: o.alpha ?? 1,
        beta: o.beta ?? 0,
        row: gx * WG,
      },
      [rt, rb, ro],
      [gx, gy],
    );
  }
}

/** Whether every value is a multiple of 4 (the vec4 forms of the kernels need their bases and strides so). */
const mult4 = (...xs: number[]) => xs.every((x) => x % 4 === 0);

const flags = (e: Epilogue) => (e.bias ? 1 : 0) | (e.gelu ? 2 : 0);

function biasWindow(o: MatmulOpts, blk: Block, on: boolean) {
  return on && o.bias ? o.bias.range(blk.n0, blk.nc) : { ...dummy(), base: 0 };
}

// ---------------------------------------------------------------- storage-buffer variants
const MAXG = () => gpu().device.limits.maxComputeWorkgroupsPerDimension;

function runBuffer(v: ConcreteVariant, a: Tensor, b: Tensor, out: Tensor, s: MatmulShape, o: MatmulOpts) {
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
      const k = gemv
        ? kernel('matmul_gemv.wgsl', entry, { BIAS: e.bias, GELU: e.gelu, MR })
        : kernel('matmul_naive.wgsl', 'main', { BIAS: e.bias, GELU: e.gelu });
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

// ---------------------------------------------------------------- texture variant
/** For tests: a smaller texture-dimension limit than the device's, to exercise texture blocking. */
export const matmulLimits: { maxTexture?: number } = {};

// A pool of rgba32float textures by size: repeated products of one shape reuse their
// packed-operand textures. Queue order makes reuse safe (as for the buffer pool).
const texFree = new Map<string, GPUTexture[]>();
export const texturePoolStats = { textures: 0, bytes: 0, allocations: 0, reuses: 0 };

export function acquireTexture(w: number, h: number): GPUTexture {
  const key = `${w}x${h}`;
  const list = texFree.get(key);
  if (list?.length) {
    texturePoolStats.reuses++;
    return list.pop()!;
  }
  texturePoolStats.textures++;
  texturePoolStats.allocations++;
  texturePoolStats.bytes += w * h * 16;
  return gpu().device.createTexture({
    label: `matmul-operand-${key}`,
    size: [w, h],
    format: 'rgba32float',
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
  });
}

export function releaseTexture(t: GPUTexture) {
  const key = `${t.width}x${t.height}`;
  let list = texFree.get(key);
  if (!list) texFree.set(key, (list = []));
  list.push(t);
}

/** Destroy the free packed-operand textures. */
export function trimTexturePool() {
  for (const list of texFree.values())
    for (const t of list) {
      texturePoolStats.textures--;
      texturePoolStats.bytes -= t.width * t.height * 16;
      t.destroy();
    }
  texFree.clear();
}

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
  const start = t.offset + at.z0 * st.sz + at.r0 * st.sr + at.c0;
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

const texKernels = new Map<string, Kernel>();

/** The subgroup size, when the adapter has subgroups of one fixed size; else 0. */
export function subgroupSize(): number {
  const g = gpu();
  if (!g.features.has('subgroups')) return 0;
  const i = g.adapter.info as unknown as { subgroupMinSize?: number; subgroupMaxSize?: number };
  return i.subgroupMinSize && i.subgroupMinSize === i.subgroupMaxSize ? i.subgroupMinSize : 0;
}

/** Why `v` cannot run on this adapter, or '' if it can. */
export function unavailable(v: string): string {
  const cfg = TEX[v];
  if (!cfg?.SG) return '';
  const sg = subgroupSize();
  if (!sg) return `${v} needs the 'subgroups' feature with a single subgroup size`;
  if (cfg.TM % sg || sg > 64) return `${v} needs a subgroup size dividing ${cfg.TM} (this adapter's is ${sg})`;
  return '';
}

/** The concrete variants this adapter can run. */
export function availableVariants(): string[] {
  return MATMUL_VARIANTS.filter((v) => !unavailable(v));
}

/** Workgroup size of a texture variant. */
function texWorkgroup(cfg: TexConfig): [number, number] {
  if (!cfg.SG) return [8, 8];
  const sg = subgroupSize();
  return [sg, Math.max(1, 64 / sg)];
}

/** The workgroup grid of a texture variant over an M x N (x Z) output block. */
function texGrid(cfg: TexConfig, M: number, N: number, Z: number): [number, number, number] {
  const [WGX, WGY] = texWorkgroup(cfg);
  return [Math.ceil(Math.ceil(N / 4) / cfg.TN4 / WGX), Math.ceil(M / cfg.TM / WGY), Z];
}

/** How the texture kernel reads A: a packed texture, or its buffer (row-major as vec4s, or transposed as scalars). */
type AMode = 'tex' | 'rows' | 'cols';

/** kernels/matmul_tex.wgsl with its TMx(4·TN4) register block unrolled, reading A as aMode says. */
function texKernel(cfg: TexConfig, aMode: AMode): Kernel {
  const id = `${cfg.TM}x${cfg.TN4}${cfg.SG ? 'sg' : ''}${aMode}`;
  let k = texKernels.get(id);
  if (k) return k;
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
    `  for (var i = 0u; i < rows; i++) { for (var j = 0u; j < ${TN4}u; j++) { store4(z, m0 + i, x0 + j, res[i * ${TN4}u + j]); } }`,
  );
  k = kernel('matmul_tex.wgsl', 'main', {
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
  texKernels.set(id, k);
  return k;
}

function runTex(v: string, a: Tensor, b: Tensor, out: Tensor, s: MatmulShape, o: MatmulOpts) {
  const why = unavailable(v);
  if (why) throw new Error(`matmul: ${why}`);
  const cfg = TEX[v];
  const L = Math.min(gpu().device.limits.maxTextureDimension2D, matmulLimits.maxTexture ?? Infinity);
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
        : a.offset % 4 === 0
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
    const k = texKernel(cfg, aMode);
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
      const rbias = biasWindow(o, blk, e.bias);
      // A's rows: texel rows of the packed block; or, from A's window, row z·M + m of lda = K/4
      // vec4s (rows), or element z·M·K + m of a column of lda = M elements (cols)
      const ra = aBuf ? windowOf(a, st.A, blk) : undefined;
      const aRows = aMode === 'tex' ? tb.mc : aMode === 'rows' ? M : M * K,
        aOff = aBuf ? 0 : db.z0 * tb.mc + db.m0;
      const a0 = !ra ? 0 : aMode === 'rows' ? ra.base / 4 : ra.base,
        lda = aMode === 'rows' ? K / 4 : aMode === 'cols' ? M : 0;
      dispatch(
        k,
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
        [ra ? (aMode === 'rows' ? pad16(ra) : ra) : va!, vb, rbias, rc],
        texGrid(cfg, db.mc, db.nc, db.zc),
      );
    }
    if (ta) releaseTexture(ta);
    releaseTexture(tbt);
  }
  kp.finish();
}

/** The baseline kernel alone, for a problem already checked by matmulShape (kept from the first API). */
export function matmulNaive(a: Tensor, b: Tensor, c: Tensor, s: MatmulShape, o: MatmulOpts) {
  runBuffer('naive', a, b, c, s, o);
}
