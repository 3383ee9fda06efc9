// What the matmul section and its WebGPU peers (tfjs.ts, jaxjs.ts) share: the product's shape, its
// operands' data, the peers' timing loop, and the one navigator.gpu shim both libraries look for.
import { uniform } from '../../src/rng.ts';
import { gpuObject } from '../../src/gpu/device.ts';
import { medianOf } from '../harness.ts';

/** C = op(A)·op(B) with C M×N and inner dimension K; tr says which of A and B are transposed. */
export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  tr: 'NN' | 'NT' | 'TN';
}

/** A peer's figure for one row, or (as a string) the one line saying why it has none. */
export type PeerResult = { value: number; note: string } | string;

export const flops = (c: { M: number; N: number; K: number }) => 2 * c.M * c.N * c.K;
export const shape = (c: { M: number; N: number; K: number }) => `${c.M}x${c.N}x${c.K}`;
export const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** n uniform values in [-scale, scale) from the project's seeded generator: every library gets the same data. */
export function rand(n: number, seed: number, scale = 1): Float32Array {
  const u = uniform(seed);
  return Float32Array.from({ length: n }, () => (u() * 2 - 1) * scale);
}

/** The operands' data as stored (a transposed operand stored transposed), with their shapes. */
export function operandData(c: MatmulShape) {
  const transA = c.tr[0] === 'T',
    transB = c.tr[1] === 'T';
  return {
    transA,
    transB,
    a: rand(c.M * c.K, 1),
    aShape: transA ? [c.K, c.M] : [c.M, c.K],
    b: rand(c.K * c.N, 2),
    bShape: transB ? [c.N, c.K] : [c.K, c.N],
  };
}

/**
 * The shape a peer can time: neither tfjs nor jax-js splits an output larger than one storage
 * binding (tfjs throws, jax-js logs a validation error and returns zeros), so N is clipped to 4096
 * there (the logits row); the note names the shape.
 */
export function clipToBinding(c: MatmulShape, maxBinding: number): MatmulShape {
  return c.M * c.N * 4 > maxBinding ? { ...c, N: 4096 } : c;
}

/**
 * Median of `once()` (which runs one product, waits for the GPU and returns its ms) over `reps`
 * runs after one warm-up (skipped when the caller has already run one), one run above 4.3 GFLOP.
 */
export async function timePeer(
  s: MatmulShape,
  reps: number,
  once: () => Promise<number>,
  warmup = true,
): Promise<{ ms: number; n: number }> {
  if (warmup) await once();
  const n = flops(s) > 4.3e9 ? 1 : reps;
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await once());
  return { ms: medianOf(times), n };
}

/** The row's note for a peer: the shape it ran if not the row's, and its repetitions. */
export function peerNote(label: string, c: MatmulShape, s: MatmulShape, n: number): string {
  return `${label}${s === c ? '' : ` at ${shape(s)}`}${s === c ? ' ' : ', '}${n} rep${n > 1 ? 's' : ''}`;
}

/**
 * Libraries written for browsers find WebGPU at navigator.gpu, which Node 20 lacks: make it this
 * process's GPU object (Dawn's, from src/gpu/device.ts; the library then requests its own adapter
 * and device from it, the same adapter as ours), with a userAgent, which jax-js reads. Returns why
 * not, or undefined. Call after init().
 */
export function shimNavigatorGpu(): string | undefined {
  const gpu = gpuObject();
  if (!gpu) return 'no GPU object to give as navigator.gpu';
  const g = globalThis as unknown as { navigator?: { gpu?: unknown; userAgent?: string } };
  if (!g.navigator) {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu, userAgent: `Node.js/${process.versions.node}` },
      configurable: true,
      writable: true,
    });
    return undefined;
  }
  if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  if (typeof g.navigator.userAgent !== 'string')
    Object.defineProperty(g.navigator, 'userAgent', { value: `Node.js/${process.versions.node}`, configurable: true });
  return undefined;
}
