// matmul: C = op(A) · op(B) (+ bias) (GELU) (+ beta·C), batched, with transposes by strides.
//
// Shapes: A is [..., M, K] ([..., K, M] with transA); B is [K, N] ([N, K] with transB),
// or batched like A. C is [..., M, N]. bias is [N].
import { dispatch, dummy, f32, kernel } from '../gpu/runtime.ts';
import { Tensor, shapeStr } from '../gpu/tensor.ts';

export interface MatmulOpts {
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor;
  gelu?: boolean;
  alpha?: number;
  /** C = A·B + beta·C (out must be given) */
  beta?: number;
  out?: Tensor;
  variant?: 'naive' | 'auto';
}

export interface MatmulShape { Z: number; M: number; N: number; K: number; bBatched: boolean }

export function matmulShape(a: Tensor, b: Tensor, o: MatmulOpts): MatmulShape {
  const err = (why: string) => new Error(`matmul${o.transA ? 'T' : 'N'}${o.transB ? 'T' : 'N'}: A ${shapeStr(a.shape)} · B ${shapeStr(b.shape)}: ${why}`);
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw err('f32 operands expected');
  if (a.rank < 2 || b.rank < 2) throw err('operands need 2+ dimensions');
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const M = o.transA ? ac : ar, K = o.transA ? ar : ac;
  const Kb = o.transB ? bc : br, N = o.transB ? br : bc;
  if (K !== Kb) throw err(`inner dimensions ${K} and ${Kb} differ`);
  const Z = a.size / (ar * ac);
  const bBatched = b.rank > 2;
  if (bBatched && b.size / (br * bc) !== Z) throw err('batch dimensions differ');
  if (o.bias && (o.bias.size !== N || o.bias.dtype !== 'f32')) throw err(`bias ${shapeStr(o.bias.shape)} should be [${N}]`);
  if (o.out && o.out.size !== Z * M * N) throw err(`out ${shapeStr(o.out.shape)} should hold ${Z}x${M}x${N}`);
  if (o.beta && !o.out) throw err('beta needs out');
  return { Z, M, N, K, bBatched };
}

export function matmul(a: Tensor, b: Tensor, o: MatmulOpts = {}): Tensor {
  const s = matmulShape(a, b, o);
  const out = o.out ?? Tensor.empty([...a.shape.slice(0, -2), s.M, s.N]);
  matmulNaive(a, b, out, s, o);
  return out;
}

/** The baseline kernel (kernels/matmul_naive.wgsl). Operands must each fit one binding. */
export function matmulNaive(a: Tensor, b: Tensor, c: Tensor, s: MatmulShape, o: MatmulOpts) {
  const { Z, M, N, K } = s;
  const k = kernel('matmul_naive.wgsl', 'main', { BIAS: !!o.bias, GELU: !!o.gelu });
  const [sam, sak] = o.transA ? [1, M] : [K, 1];
  const [sbk, sbn] = o.transB ? [1, K] : [N, 1];
  const sbz = s.bBatched ? K * N : 0;
  const ra = a.b, rb = b.b, rc = c.b;
  const rbias = o.bias ? o.bias.b : { ...dummy(), base: 0 };
  dispatch(k, [M, N, K, ra.base, M * K, sam, sak, rb.base, sbz, sbk, sbn, rc.base, f32(o.alpha ?? 1), f32(o.beta ?? 0), rbias.base, 0],
    [ra, rb, rbias, rc], [Math.ceil(N / 16), Math.ceil(M / 16), Z]);
}
