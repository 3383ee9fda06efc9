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
// Files: spec.ts (options, shape check, variant tables), index.ts (the API and the choice of
// variant), plan.ts (blocks that fit a binding or a texture, the K-block epilogue), buffer.ts and
// texture.ts (the two kernel families), pack.ts (operands into textures), tune.ts (the autotuner).
import { gpu, runtime } from '../../gpu/runtime.ts';
import { Tensor } from '../../gpu/tensor.ts';
import { adapterKey, tuned } from '../../gpu/autotune.ts';
import { runBuffer } from './buffer.ts';
import { epilogue } from './plan.ts';
import { runTex } from './texture.ts';
import {
  GEMV_MAX_M,
  MATMUL_VARIANTS,
  TEX,
  TILED,
  matmulShape,
  unavailable,
  type ConcreteVariant,
  type MatmulOpts,
  type MatmulShape,
  type MatmulVariant,
} from './spec.ts';

export { GEMV_MAX_M, MATMUL_VARIANTS, TEX, TILED, availableVariants, matmulShape, unavailable } from './spec.ts';
export type { ConcreteVariant, MatmulOpts, MatmulShape, MatmulVariant, TexConfig, TiledConfig } from './spec.ts';

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

/** A coarse class of problem shapes: the transposes, whether B is batched, and each size rounded up to a power of 2. */
export function shapeClass(s: MatmulShape, o: { transA?: boolean; transB?: boolean }): string {
  const p2 = (v: number) => 2 ** Math.ceil(Math.log2(Math.max(1, v)));
  return `${o.transA ? 'T' : 'N'}${o.transB ? 'T' : 'N'}${s.Z > 1 ? (s.bBatched ? ' zb' : ' z') : ''} m${p2(s.M)} n${p2(s.N)} k${p2(s.K)}`;
}

export const tuneKey = (s: MatmulShape, o: { transA?: boolean; transB?: boolean }) =>
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
  const key = tuneKey(s, o);
  const t = tuned(key);
  if (t && MATMUL_VARIANTS.includes(t) && !unavailable(t)) return t as ConcreteVariant;
  if (s.M * s.N * s.K >= UNTUNED_MIN_MACS) untunedClasses().set(key, { s, transA: !!o.transA, transB: !!o.transB });
  return pickBlock(s);
}

/** The by-shape rule that 'auto' follows where nothing is tuned. */
export function pickBlock(s: MatmulShape): ConcreteVariant {
  return gpu().info.isSoftware ? pickTex(s) : pickTiled(s);
}

/**
 * Products below this many multiply-adds are not worth tuning (a fraction of a millisecond);
 * the tiny preset's smallest is 1024·128·128 = 2^24.
 */
const UNTUNED_MIN_MACS = 1 << 22;

/**
 * The shape classes that 'auto' resolved by rule since the last autotuneUsed() (src/ops/matmul/tune.ts),
 * by tune key: what a run actually multiplies, for the trainer to tune after its first step.
 */
export function untunedClasses() {
  return runtime().memo(
    'matmul.untuned',
    () => new Map<string, { s: MatmulShape; transA: boolean; transB: boolean }>(),
  );
}

function pickTiled(s: MatmulShape): ConcreteVariant {
  if (s.M >= 1024 && s.N >= 1024) return 'tiled-128x128';
  if (s.M >= 512 && s.N >= 256) return 'tiled-128x64';
  return 'tiled-64x64';
}

/** The two subgroup blocks pickTex chooses between (large, small); the in-run tuner (tune.ts) times both. */
export const TEX_RULE_BLOCKS = ['tex-sg-32x16', 'tex-sg-8x16'] as const satisfies readonly ConcreteVariant[];

/**
 * The texture variant for a problem: the 32-row register block, or 8 rows where A has fewer than
 * 32. With one subgroup per workgroup (texture.ts texWorkgroup) even a small product leaves work
 * for every CPU thread, and the 32-row block was as fast or faster at every shape timed on a
 * 2-core lavapipe (Mesa 25.0.7; the tiny and scratch presets' products, and M = 48 to 128 with
 * K or N down to 8: e.g. 128x64x4096 7.0 ms against 11.1, 64x128x1024 1.3 against 2.4); at M = 16
 * the two tied. The 64-row block was 5-10% faster again but took 16-17 s to compile per A mode
 * on a cold shader cache (32 rows: 5.5 s), time the ten-minute main job would lose.
 */
function pickTex(s: MatmulShape): ConcreteVariant {
  const sg = (v: ConcreteVariant, alt: ConcreteVariant) => (unavailable(v) ? alt : v);
  const [large, small] = TEX_RULE_BLOCKS;
  if (s.M >= TEX[large].TM) return sg(large, 'tex-16x16');
  return sg(small, s.M >= 8 ? 'tex-8x16' : 'tex-4x16');
}
