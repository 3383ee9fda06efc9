// The matmul autotuner: time the candidate variants on a shape class once, remember the fastest
// (src/gpu/autotune.ts keeps it on disk); 'auto' in ./index.ts reads it.
import { uniform } from '../../rng.ts';
import { gpu, sync } from '../../gpu/runtime.ts';
import { Tensor } from '../../gpu/tensor.ts';
import { autotune, tuned } from '../../gpu/autotune.ts';
import {
  TEX,
  TILED,
  matmul,
  pickBlock,
  TEX_RULE_BLOCKS,
  tuneKey,
  unavailable,
  untunedClasses,
  type ConcreteVariant,
  type MatmulShape,
} from './index.ts';

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

/**
 * The candidates worth timing inside a run, where a candidate's first compile is paid out of the
 * run's time: on CPU adapters the register blocks that the by-shape rule chooses between (a
 * 64-row block takes 15-25 s to compile on a cold shader cache), on GPUs the tiled family.
 */
export function quickCandidates(s: MatmulShape): ConcreteVariant[] {
  const c: ConcreteVariant[] = gpu().info.isSoftware
    ? [pickBlock(s), ...TEX_RULE_BLOCKS.filter((v) => !unavailable(v))]
    : (Object.keys(TILED) as ConcreteVariant[]);
  return [...new Set(c)];
}

/** The largest product (multiply-adds) that autotuneUsed times at its own shape. */
const EXACT_MAX_MACS = 2 ** 31;

/**
 * Tune every shape class that 'auto' has resolved by rule so far in this process (see
 * untunedClasses: what this run multiplies) among quickCandidates, and forget them. The trainer
 * calls it after its first step; later steps, and later runs on this adapter, use the winners.
 */
export async function autotuneUsed(): Promise<TuneResult[]> {
  const seen = [...untunedClasses().values()];
  untunedClasses().clear();
  const out: TuneResult[] = [];
  for (const { s, transA, transB } of seen) {
    const cands = quickCandidates(s);
    if (cands.length < 2) continue;
    // at its own shape, unless so large (distilgpt2's logits: 4·10^10) that a call takes seconds
    // on a CPU adapter; capped at 2048x2048x1024 it still has workgroups enough for any block
    const exact = s.Z * s.M * s.N * s.K <= EXACT_MAX_MACS;
    out.push(await autotuneMatmul(s, { transA, transB, candidates: cands, exact }));
  }
  return out;
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
 * random operands of the class, with M and N capped at 2048 and K at 1024 to keep it short
 * (unless `exact`: a 6085-row product capped at 2048 rows has a third of the workgroups, and
 * the block that wins there lost at the real shape).
 */
export async function autotuneMatmul(
  shape: { Z?: number; M: number; N: number; K: number; bBatched?: boolean },
  o: {
    transA?: boolean;
    transB?: boolean;
    bias?: boolean;
    gelu?: boolean;
    force?: boolean;
    reps?: number;
    candidates?: ConcreteVariant[];
    /** time at the shape itself, uncapped (what a run multiplies) */
    exact?: boolean;
  } = {},
): Promise<TuneResult> {
  const s: MatmulShape = { Z: shape.Z ?? 1, M: shape.M, N: shape.N, K: shape.K, bBatched: shape.bBatched ?? false };
  const key = tuneKey(s, o);
  const have = tuned(key);
  const M = o.exact ? s.M : Math.min(s.M, 2048),
    N = o.exact ? s.N : Math.min(s.N, 2048),
    K = o.exact ? s.K : Math.min(s.K, 1024);
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
  for (const v of o.candidates ?? tuneCandidates(s)) {
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
