import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setup, randn, expectClose } from './helpers.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { setMaxBinding } from '../src/gpu/device.ts';
import { adamw, gradNorm, sumSquares } from '../src/ops/optim.ts';
import * as ref from '../src/ref/transformer.ts';

beforeAll(setup);
afterEach(() => setMaxBinding(undefined));

describe('sumSquares / gradNorm', () => {
  for (const n of [1, 4095, 4097, 50001, 1_100_003]) {
    // the last needs two partial levels
    it(`n=${n}`, async () => {
      const x = randn(n, n);
      const s = ref.sumSquares(x);
      expectClose(await sumSquares(Tensor.from(x, [n])).toArray(), [s], 1e-5, 0, 'sumSquares');
      expectClose(await gradNorm(Tensor.from(x, [n])).toArray(), [Math.sqrt(s)], 1e-5, 0, 'gradNorm');
    });
  }

  it('gives the same bits with a small binding limit (windows) and on a view at an odd offset', async () => {
    const n = 50001;
    const x = randn(n + 3, 3);
    const t = Tensor.from(x, [n + 3]).view(3, [n]);
    const a = await gradNorm(t).toArray();
    await setMaxBinding(20000); // 4096 elements per window: 13 windows
    const b = await gradNorm(t).toArray();
    expect(b[0]).toBe(a[0]);
    expectClose(a, [Math.sqrt(ref.sumSquares(x.subarray(3)))], 1e-5, 0);
  });

  it('rejects a non-f32 tensor naming the op', () => {
    expect(() => gradNorm(Tensor.empty([4], 'i32'))).toThrow(/gradNorm: x has dtype i32/);
  });
});

describe('adamw', () => {
  const n = 10007,
    split = 6001; // decayed [0, split), not decayed [split, n)
  const base = { lr: 3e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8 };

  async function run(o: { clip?: number; gradScale?: number; limit?: number; steps?: number }) {
    const p0 = randn(n, 1),
      steps = o.steps ?? 5;
    const P = Tensor.from(p0, [n]),
      G = Tensor.empty([n]),
      M = Tensor.zeros([n]),
      Vv = Tensor.zeros([n]);
    const p = Float64Array.from(p0),
      m = new Float64Array(n),
      v = new Float64Array(n);
    if (o.limit) await setMaxBinding(o.limit);
    for (let step = 1; step <= steps; step++) {
      const g = randn(n, 100 + step, step === 3 ? 20 : 1); // step 3: a large gradient that clipping cuts
      G.write(g);
      const norm = gradNorm(G);
      for (const [a, b, wd] of [
        [0, split, 0.1],
        [split, n, 0],
      ] as const) {
        const vw = (t: Tensor) => t.view(a, [b - a]);
        adamw(vw(P), vw(G), vw(M), vw(Vv), {
          ...base,
          weightDecay: wd,
          step,
          gradNorm: norm,
          clip: o.clip,
          gradScale: o.gradScale,
        });
        const gn = Math.sqrt(ref.sumSquares(g));
        const pp = p.subarray(a, b),
          mm = m.subarray(a, b),
          vv = v.subarray(a, b);
        ref.adamw(pp, g.subarray(a, b), mm, vv, {
          ...base,
          weightDecay: wd,
          step,
          clip: o.clip,
          gradNorm: gn,
          gradScale: o.gradScale,
        });
      }
    }
    expectClose(await M.toArray(), m, 1e-5, 1e-6, 'm');
    expectClose(await Vv.toArray(), v, 1e-5, 1e-7, 'v');
    expectClose(await P.toArray(), p, 1e-5, 1e-5, 'p');
  }

  it('5 steps over a flat split into decayed / non-decayed views match float64 PyTorch AdamW', () => run({}));
  it('with clipping to norm 1 and a gradient scale', () => run({ clip: 1, gradScale: 0.5 }));
  it('with a small binding limit (windows of 4096 elements)', () => run({ clip: 5, limit: 20000, steps: 2 }));

  it('the reference step equals the closed form of the first step', () => {
    // step 1: m = (1-b1) g, v = (1-b2) g², so the update is lr · g / (|g| + eps') ~ lr · sign(g)
    const p = Float64Array.from([1, -2]),
      m = new Float64Array(2),
      v = new Float64Array(2);
    ref.adamw(p, [0.5, -3], m, v, { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 0, weightDecay: 0.5, step: 1 });
    expectClose(p, [1 * (1 - 0.05) - 0.1, -2 * (1 - 0.05) + 0.1], 1e-12, 1e-12);
  });

  it('skips the step when the gradient norm is NaN or Inf', async () => {
    const P = Tensor.from([1, 2, 3], [3]),
      M = Tensor.zeros([3]),
      V = Tensor.zeros([3]);
    for (const bad of [NaN, Infinity]) {
      adamw(P, Tensor.from([1, 1, 1], [3]), M, V, {
        ...base,
        weightDecay: 0.1,
        step: 1,
        gradNorm: Tensor.from([bad], [1]),
        clip: 1,
      });
    }
    expect([...(await P.toArray())]).toEqual([1, 2, 3]);
    expect([...(await M.toArray())]).toEqual([0, 0, 0]);
  });

  it('rejects mismatched tensors naming the op', () => {
    const t = Tensor.empty([4]);
    expect(() =>
      adamw(t, Tensor.empty([5]), Tensor.empty([4]), Tensor.empty([4]), { ...base, weightDecay: 0, step: 1 }),
    ).toThrow(/adamw: g \[5\] has 5 elements/);
    expect(() =>
      adamw(t, Tensor.empty([4]), Tensor.empty([4]), Tensor.empty([4]), { ...base, weightDecay: 0, step: 1, clip: 1 }),
    ).toThrow(/adamw: clip needs the gradNorm/);
    expect(() => adamw(t, t, t, t, { ...base, weightDecay: 0, step: 1 })).toThrow(/adamw: p and g share a buffer/);
  });
});
