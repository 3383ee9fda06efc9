// AdamW over a model's flat parameter buffer: the global gradient norm (one reduction),
// then two fused AdamW dispatches — the weight-decayed range and the rest. Clipping reads
// the norm on the GPU; the caller reads it back once per step to log it and detect NaN/Inf.
import type { Tensor } from '../gpu/tensor.ts';
import { adamw, gradNorm } from '../ops/optim.ts';
import type { Params } from '../tape/params.ts';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** clip the global gradient norm to this (0 = no clipping) */
  clip: number;
}

export const DEFAULT_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1.0 };

export class AdamW {
  /** number of updates applied so far */
  step = 0;
  constructor(
    readonly params: Params,
    readonly cfg: AdamWConfig = DEFAULT_ADAMW,
  ) {}

  /**
   * Apply one update with learning rate `lr` from the gradients (already averaged: gradient
   * accumulation divides the loss by the whole accumulated batch). Returns the gradient norm
   * before clipping ([1], on the GPU).
   */
  update(lr: number): Tensor {
    const P = this.params;
    const { m, v } = P.adamState;
    const norm = gradNorm(P.grads);
    this.step++;
    const base = {
      lr,
      beta1: this.cfg.beta1,
      beta2: this.cfg.beta2,
      eps: this.cfg.eps,
      step: this.step,
      gradNorm: norm,
      clip: this.cfg.clip > 0 ? this.cfg.clip : undefined,
    };
    const ranges: [number, number, number][] = [
      [0, P.decayEnd, this.cfg.weightDecay],
      [P.decayEnd, P.total, 0],
    ];
    for (const [a, b, wd] of ranges) {
      if (b <= a) continue;
      adamw(P.values.view(a, [b - a]), P.grads.view(a, [b - a]), m.view(a, [b - a]), v.view(a, [b - a]), {
        ...base,
        weightDecay: wd,
      });
    }
    return norm;
  }
}

export type Schedule = 'cosine' | 'constant';

/** Linear warmup, then cosine decay to 10% of the peak (or constant). step is 0-based. */
export function learningRate(
  step: number,
  o: { lr: number; warmup: number; total: number; schedule: Schedule },
): number {
  if (o.warmup > 0 && step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  if (o.schedule === 'constant') return o.lr;
  const span = Math.max(1, o.total - o.warmup);
  const t = Math.min(1, (step - o.warmup) / span);
  const min = 0.1 * o.lr;
  return min + 0.5 * (o.lr - min) * (1 + Math.cos(Math.PI * t));
}
