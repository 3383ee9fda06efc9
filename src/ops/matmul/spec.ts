// What a matmul problem is: its options, its shape (checked), and the variants that can run it.
// The header of ./index.ts describes the variants and how 'auto' chooses one.
import { type Tensor, shapeStr } from '../../gpu/tensor.ts';
import { subgroupSize } from '../../gpu/texture.ts';

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
export const gemvRows = (M: number) => (M === 1 ? 1 : 4);
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
