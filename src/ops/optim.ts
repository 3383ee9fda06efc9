// Optimiser kernels: a deterministic sum of squares / global gradient norm
// (kernels/reduce.wgsl) and a fused AdamW step (kernels/adamw.wgsl).
//
// Detecting NaN/Inf: read back the [1] tensor gradNorm() returns (4 bytes, once per step);
// a non-finite loss or gradient makes it non-finite. When that norm tensor is passed to
// adamw() the kernel itself also checks it on the GPU and skips the update (p, m, v left
// untouched) if it is NaN or ±Inf, so a bad batch never reaches the weights even before the
// host has looked at the norm.
import { dispatch, dummy, f32, grid, gpu, kernel } from '../gpu/runtime.ts';
import { Tensor, expectShape, shapeStr } from '../gpu/tensor.ts';

const BLK = 4096; // elements per first-level block (kernels/reduce.wgsl)

/** Elements per window (a multiple of `mult`) such that a window always fits one binding. */
function windowElems(op: string, mult: number): number {
  const g = gpu();
  const w = Math.floor((g.maxBinding - g.offsetAlign) / 4 / mult) * mult;
  if (w < mult) throw new Error(`${op}: the ${g.maxBinding}-byte binding limit is below one ${mult}-element block`);
  return w;
}

function reduceSquares(op: string, x: Tensor, sqrt: boolean): Tensor {
  if (x.dtype !== 'f32') throw new Error(`${op}: x has dtype ${x.dtype}, expected f32`);
  if (x.released) throw new Error(`${op}: x ${shapeStr(x.shape)} was released`);
  const out = Tensor.empty([1]);
  const nblk = Math.ceil(x.size / BLK);
  const part = Tensor.empty([Math.max(1, nblk)]);
  const k1 = kernel('reduce.wgsl', 'sum_blocks');
  const win = windowElems(op, BLK);
  // the partials are read whole by the second pass; they must fit a binding (≥ 2^37 elements otherwise)
  const pB = part.b;
  for (let s = 0; s < x.size; s += win) {
    const n = Math.min(win, x.size - s);
    const xB = x.range(s, n);
    const [gx, gy] = grid(Math.ceil(n / BLK));
    dispatch(k1, [n, xB.base, pB.base + s / BLK, gx, 0, 0, 0, 0], [xB, pB], [gx, gy]);
  }
  const oB = out.b;
  if (nblk === 0) part.zero();
  dispatch(kernel('reduce.wgsl', 'sum_final'), [0, 0, 0, 0, Math.max(1, nblk), sqrt ? 1 : 0, oB.base, 0], [pB, oB], [1]);
  part.release();
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
  for (let i = 0; i < bs.length; i++) for (let j = i + 1; j < bs.length; j++) {
    const [na, a] = bs[i], [nb, b] = bs[j];
    if (a.buffer !== b.buffer) continue;
    const a0 = a.offset ?? 0, b0 = b.offset ?? 0;
    if (a0 < b0 + (b.size ?? 0) && b0 < a0 + (a.size ?? 0)) {
      throw new Error(`${op}: ${na} and ${nb} share a buffer within ${gpu().offsetAlign} bytes of each other; give them separate buffers`);
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
  for (const [name, t] of [['p', p], ['g', g], ['m', m], ['v', v]] as const) {
    if (t.dtype !== 'f32') throw new Error(`${op}: ${name} has dtype ${t.dtype}, expected f32`);
    if (t.size !== n) throw new Error(`${op}: ${name} ${shapeStr(t.shape)} has ${t.size} elements, p ${shapeStr(p.shape)} has ${n}`);
    if (t.released) throw new Error(`${op}: ${name} was released`);
  }
  if (o.gradNorm) expectShape(op, 'gradNorm', o.gradNorm, [1]);
  if (o.clip !== undefined && !o.gradNorm) throw new Error(`${op}: clip needs the gradNorm tensor`);
  if (!Number.isInteger(o.step) || o.step < 1) throw new Error(`${op}: step = ${o.step} must be a positive integer (1-based)`);
  const bc1 = 1 - o.beta1 ** o.step, bc2 = 1 - o.beta2 ** o.step;
  const nB = o.gradNorm ? o.gradNorm.b : { ...dummy(), base: 0 };
  const k = kernel('adamw.wgsl', 'step');
  const win = windowElems(op, 256);
  for (let s = 0; s < n; s += win) {
    const c = Math.min(win, n - s);
    const [pB, gB, mB, vB] = [p, g, m, v].map((t) => t.range(s, c));
    overlapCheck(op, [['p', pB], ['g', gB], ['m', mB], ['v', vB]]);
    const [gx, gy] = grid(Math.ceil(c / 256));
    dispatch(k, [
      c, pB.base, gB.base, mB.base,
      vB.base, gx * 256, o.gradNorm ? 1 : 0, nB.base,
      f32(1 - o.lr * o.weightDecay), f32(o.beta1), f32(o.beta2), f32(o.eps),
      f32(o.lr / bc1), f32(Math.sqrt(bc2)), f32(o.clip ?? 0), f32(o.gradScale ?? 1),
      f32(1 - o.beta1), f32(1 - o.beta2), 0, 0,
    ], [pB, gB, mB, vB, nB], [gx, gy]);
  }
}
