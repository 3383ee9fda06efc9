// Blocking: problems whose operands exceed one storage binding (gpu().maxBinding) or a texture
// dimension are cut into blocks over Z, M, N and, where needed, K. The K blocks accumulate into C;
// with GELU they accumulate into a temporary and kernels/matmul_epilogue.wgsl finishes.
import { dispatch, dummy, gpu, grid, kernel, rowsPerBinding, type BufferRange } from '../../gpu/runtime.ts';
import { Tensor } from '../../gpu/tensor.ts';
import type { MatmulOpts, MatmulShape } from './spec.ts';

export type Dim = 'z' | 'm' | 'n' | 'k';
export type Sizes = Record<Dim, number>;
/** element strides of one operand over the problem dimensions it depends on */
export type Strides = Partial<Record<Dim, number>>;

const DIMS: Dim[] = ['z', 'm', 'n', 'k'];

/** Elements spanned by a block of `chunk` sizes of an operand with these strides. */
export function span(st: Strides, chunk: Sizes): number {
  let s = 1;
  for (const d of DIMS) if (st[d] !== undefined) s += (chunk[d] - 1) * st[d]!;
  return s;
}

/**
 * The most elements one window may span: it must fit one binding after aligning its start down
 * and padding its end to 16 bytes (pad16).
 */
export function windowElems(): number {
  return rowsPerBinding('matmul', 4, 'one float') - 3; // 3: the most pad16 adds
}

/** A window bound as array<vec4f>: its size padded to a multiple of 16 bytes (pool buffers are multiples of 64). */
export function pad16(r: BufferRange & { base: number }): BufferRange {
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
export function planChunks(
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

export interface Block {
  z0: number;
  zc: number;
  m0: number;
  mc: number;
  n0: number;
  nc: number;
  k0: number;
  kc: number;
}

export function* blocks(full: Sizes, c: Sizes, order: Dim[] = ['k', 'z', 'm', 'n']): Generator<Block> {
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
export function strides(s: MatmulShape, o: MatmulOpts) {
  const { M, N, K } = s;
  const A: Strides = o.transA ? { z: M * K, m: 1, k: M } : { z: M * K, m: K, k: 1 };
  const B: Strides = o.transB ? { k: 1, n: K } : { k: N, n: 1 };
  if (s.bBatched) B.z = K * N;
  const C: Strides = { z: M * N, m: N, n: 1 };
  return { A, B, C };
}

export function windowOf(t: Tensor, st: Strides, blk: Block): BufferRange & { base: number } {
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
export function kPlan(s: MatmulShape, kc: number, o: MatmulOpts, out: Tensor) {
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

export function epilogue(t: Tensor, out: Tensor, N: number, o: MatmulOpts) {
  const WG = 256;
  const k = kernel('matmul_epilogue.wgsl', 'main');
  const win = Math.floor((windowElems() - 1) / WG) * WG;
  const rb = o.bias ? o.bias.binding : { ...dummy(), base: 0 };
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
        c0: ro.base,
        ph: start % N,
        N,
        bias0: rb.base,
        alpha: o.alpha ?? 1,
        beta: o.beta ?? 0,
        row: gx * WG,
        flags: flags({ bias: !!o.bias, gelu: !!o.gelu }),
      },
      [rt, rb, ro],
      [gx, gy],
    );
  }
}

/** Whether every value is a multiple of 4 (the vec4 forms of the kernels need their bases and strides so). */
export const mult4 = (...xs: number[]) => xs.every((x) => x % 4 === 0);

/** The epilogue's bits of a kernel's flags (kernels/common/matmul_epilogue.wgsl): 1 bias, 2 GELU. */
export const flags = (e: { bias: boolean; gelu: boolean }) => (e.bias ? 1 : 0) | (e.gelu ? 2 : 0);

export function biasWindow(o: MatmulOpts, blk: Block, on: boolean) {
  return on && o.bias ? o.bias.range(blk.n0, blk.nc) : { ...dummy(), base: 0 };
}

/** The most workgroups along one grid dimension. */
export const MAXG = () => gpu().device.limits.maxComputeWorkgroupsPerDimension;
