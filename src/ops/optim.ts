// Optimiser kernels: a deterministic sum of squares / global gradient norm
// (kernels/reduce.wgsl) and a fused AdamW step (kernels/adamw.wgsl).
//
// Detecting NaN/Inf: read back the [1] tensor gradNorm() returns (4 bytes, once per step);
// a non-finite loss or gradient makes it non-finite. When that norm tensor is passed to
// adamw() the kernel itself also checks it on the GPU and skips the update (p, m, v left
// untouched) if it is NaN or ±Inf, so a bad batch never reaches the weights even before the
// host has looked at the norm.
import { dispatch, dummy, grid, gpu, kernel, vec4Parts, rowsPerBinding } from '../gpu/runtime.ts';
import { Tensor, expectShape, shapeStr } from '../gpu/tensor.ts';

const BLK = 4096; // elements per block of kernels/reduce.wgsl; each block leaves 64 partials
const FINAL_MAX = 16384; // sum_final reads at most this many partials

/** Elements per window (a multiple of `mult`) such that a window always fits one binding. */
function windowElems(op: string, mult: number): number {
  return rowsPerBinding(op, 4, `one ${mult}-element block`, mult);
}

/** One level: 64 partials per block of `src` (squared when `square`), window by window. */
function level(op: string, src: Tensor, square: boolean): Tensor {
  const nblk = Math.ceil(src.size / BLK);
  const part = Tensor.empty([nblk * 64]);
  const k = kernel('reduce.wgsl', 'sum_blocks', { SQUARE: square });
  const win = windowElems(op, BLK);
  const pB = part.binding;
  for (let s = 0; s < src.size; s += win) {
    const n = Math.min(win, src.size - s);
    const xB = src.range(s, n);
    const [gx, gy] = grid(Math.ceil(n / BLK));
    // the last block of a window may be partial: its missing partials are written as 0
    dispatch(k, { n, x0: xB.base, pbase: pB.base + (s / BLK) * 64, row: gx }, [xB, pB], [gx, gy]);
  }
  return part;
}

function reduceSquares(op: string, x: Tensor, sqrt: boolean): Tensor {
  if (x.dtype !== 'f32') throw new Error(`${op}: x has dtype ${x.dtype}, expected f32`);
  if (x.released) throw new Error(`${op}: x ${shapeStr(x.shape)} was released`);
  const out = Tensor.empty([1]);
  let cur: Tensor | null = null;
  if (x.size === 0) {
    cur = Tensor.zeros([1]);
  } else {
    cur = level(op, x, true);
    while (cur.size > FINAL_MAX) {
      const next = level(op, cur, false);
      cur.release();
      cur = next;
    }
  }
  const oB = out.binding,
    pB = cur.binding;
  dispatch(
    kernel('reduce.wgsl', 'sum_final', { SQUARE: false }),
    { count: cur.size, sqrt: sqrt ? 1 : 0, o0: oB.base },
    [pB, oB],
    [1],
  );
  cur.release();
  return out;
}

/** Σ x² over any number of elements ([1], on the GPU); the same bits whatever the binding limit. */
export function sumSquares(x: Tensor): Tensor {
  return reduceSquares('sumSquares', x, false);
}

/** sqrt(Σ g²): the global gradient norm ([1], on the GPU). */
export function gradNorm(grads: Tensor): Tensor {
  return reduceSquares('gradNorm', grads, true);
}

/** WebGPU forbids a writable binding overlapping another binding of the same dispatch. */
function overlapCheck(op: string, bs: [string, { buffer: GPUBuffer; offset?: number; size?: number }][]) {
  for (let i = 0; i < bs.length; i++)
    for (let j = i + 1; j < bs.length; j++) {
      const [na, a] = bs[i],
        [nb, b] = bs[j];
      if (a.buffer !== b.buffer) continue;
      const a0 = a.offset ?? 0,
        b0 = b.offset ?? 0;
      if (a0 < b0 + (b.size ?? 0) && b0 < a0 + (a.size ?? 0)) {
        throw new Error(
          `${op}: ${na} and ${nb} share a buffer within ${gpu().offsetAlign} bytes of each other; give them separate buffers`,
        );
      }
    }
}

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, for the bias corrections */
  step: number;
  /** the global norm of the unscaled gradient g ([1], e.g. from gradNorm(g)); read on the GPU */
  gradNorm?: Tensor;
  /** clip the gradient (after gradScale) to this global norm: g' ·= min(1, clip / (gradScale·norm + 1e-6)); needs gradNorm */
  clip?: number;
  /** multiply g by this first (e.g. 1/gradAccum) */
  gradScale?: number;
}

/**
 * One AdamW update in place, PyTorch semantics (decoupled weight decay, bias-corrected
 * moments): p -= lr·wd·p; m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²;
 * p -= lr·(m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). p, g, m, v are flat f32 tensors of
 * the same size (views into one big buffer are fine, and they may exceed one binding).
 * All hyper-parameters are uniforms: schedules need no recompilation.
 */
export function adamw(p: Tensor, g: Tensor, m: Tensor, v: Tensor, o: AdamWOptions): void {
  const op = 'adamw';
  const n = p.size;
  for (const [name, t] of [
    ['p', p],
    ['g', g],
    ['m', m],
    ['v', v],
  ] as const) {
    if (t.dtype !== 'f32') throw new Error(`${op}: ${name} has dtype ${t.dtype}, expected f32`);
    if (t.size !== n)
      throw new Error(`${op}: ${name} ${shapeStr(t.shape)} has ${t.size} elements, p ${shapeStr(p.shape)} has ${n}`);
    if (t.released) throw new Error(`${op}: ${name} was released`);
  }
  if (o.gradNorm) expectShape(op, 'gradNorm', o.gradNorm, [1]);
  if (o.clip !== undefined && !o.gradNorm) throw new Error(`${op}: clip needs the gradNorm tensor`);
  if (!Number.isInteger(o.step) || o.step < 1)
    throw new Error(`${op}: step = ${o.step} must be a positive integer (1-based)`);
  const bc1 = 1 - o.beta1 ** o.step,
    bc2 = 1 - o.beta2 ** o.step;
  const nB = o.gradNorm ? o.gradNorm.binding : { ...dummy(), base: 0 };
  const win = windowElems(op, 1024);
  for (let s = 0; s < n; s += win) {
    const c = Math.min(win, n - s);
    const [pB, gB, mB, vB] = [p, g, m, v].map((t) => t.range(s, c));
    overlapCheck(op, [
      ['p', pB],
      ['g', gB],
      ['m', mB],
      ['v', vB],
    ]);
    // vec4 over whole vec4s where every window starts at a multiple of 4 floats, f32 for the rest
    for (const { V, count, bases: b } of vec4Parts(c, [pB.base, gB.base, mB.base, vB.base])) {
      const [gx, gy] = grid(Math.ceil(count / 256));
      dispatch(
        kernel('adamw.wgsl', 'step', { V }),
        {
          n: count,
          p0: b[0],
          g0: b[1],
          m0: b[2],
          v0: b[3],
          row: gx * 256,
          use_norm: o.gradNorm ? 1 : 0,
          n0: nB.base,
          decay: 1 - o.lr * o.weightDecay,
          b1: o.beta1,
          b2: o.beta2,
          eps: o.eps,
          step_size: o.lr / bc1,
          bc2_sqrt: Math.sqrt(bc2),
          clip: o.clip ?? 0,
          gscale: o.gradScale ?? 1,
          omb1: 1 - o.beta1,
          omb2: 1 - o.beta2,
        },
        [pB, gB, mB, vB, nB],
        [gx, gy],
      );
    }
  }
}
