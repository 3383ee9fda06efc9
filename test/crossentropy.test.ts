import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setup, randn, rng, poisoned, expectClose } from './helpers.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { setMaxBinding } from '../src/gpu/device.ts';
import { crossEntropy } from '../src/ops/crossentropy.ts';
import * as ref from '../src/ref/transformer.ts';

beforeAll(setup);
afterEach(() => setMaxBinding(undefined));

/** Make the pool hand out NaN-filled buffers for the next allocations of these shapes. */
function poisonNext(...shapes: number[][]) {
  for (const s of shapes) poisoned(s).release();
}

function data(N: number, Vp: number, V: number, seed: number) {
  const r = rng(seed);
  const logits = randn(N * Vp, seed, 4);
  const targets = Array.from({ length: N }, () => Math.floor(r() * V));
  targets[1 % N] = -1; // ignored
  if (N > 3) targets[3] = V - 1;
  if (N > 5) targets[5] = -100;
  const weights = Array.from({ length: N }, (_, i) => (i % 4 === 2 ? 0 : r()));
  return { logits, targets, weights };
}

describe('crossEntropy', () => {
  const cases: {
    name: string;
    N: number;
    Vp: number;
    V: number;
    weights?: boolean;
    inPlace?: boolean;
    limit?: number;
    grad?: boolean;
  }[] = [
    { name: 'weights, ignore index, padded vocab', N: 37, Vp: 70, V: 61, weights: true },
    { name: 'no weights, vocab = Vp > 256', N: 9, Vp: 301, V: 301 },
    { name: 'in place', N: 37, Vp: 70, V: 61, weights: true, inPlace: true },
    { name: 'rows in chunks (small binding limit)', N: 37, Vp: 70, V: 61, weights: true, limit: 2048 },
    { name: 'rows in chunks, in place', N: 37, Vp: 70, V: 61, inPlace: true, limit: 2048 },
    { name: 'loss only', N: 5, Vp: 64, V: 50, grad: false },
    { name: 'one row, one column', N: 1, Vp: 1, V: 1 },
    { name: 'vec4 rows: weights, ignore index, V not a multiple of 4', N: 37, Vp: 72, V: 61, weights: true },
    { name: 'vec4 rows: vocab = Vp > 1024', N: 6, Vp: 1100, V: 1100 },
    { name: 'vec4 rows in chunks, V = Vp - 2', N: 37, Vp: 72, V: 70, limit: 2048 },
    { name: 'vec4 rows, loss only', N: 5, Vp: 64, V: 63, grad: false },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { logits, targets, weights } = data(c.N, c.Vp, c.V, c.N + c.Vp);
      if (c.N === 1) targets[0] = 0;
      const normalizer = 23.5;
      const L = Tensor.from(logits, [c.N, c.Vp]);
      if (c.limit) await setMaxBinding(c.limit);
      poisonNext([c.N, c.Vp], [1], [c.N]);
      const r = crossEntropy(L, Tensor.from(targets, [c.N], 'i32'), {
        vocab: c.V,
        normalizer,
        weights: c.weights ? Tensor.from(weights, [c.N]) : undefined,
        grad: c.grad,
        inPlace: c.inPlace,
      });
      const want = ref.crossEntropy(logits, targets, c.N, c.Vp, {
        vocab: c.V,
        normalizer,
        weights: c.weights ? weights : undefined,
      });
      expectClose(await r.losses.toArray(), want.losses, 1e-5, 1e-5, 'losses');
      expectClose(await r.loss.toArray(), [want.loss], 1e-5, 1e-6, 'loss');
      if (c.grad === false) {
        expect(r.dlogits).toBeUndefined();
        return;
      }
      expect(r.dlogits === L).toBe(!!c.inPlace);
      expectClose(await r.dlogits!.toArray(), want.dlogits, 1e-4, 1e-7, 'dlogits');
    });
  }

  it('stays finite for huge logits', async () => {
    const logits = [1e30, -1e30, 3e38, 0, -3e38, 5, 80, 100];
    const r = crossEntropy(Tensor.from(logits, [2, 4]), Tensor.from([1, 2], [2], 'i32'), { normalizer: 2 });
    const l = await r.losses.toArray();
    expectClose([l[0]], [3e38 + 1e30], 1e-6, 0, 'huge');
    expectClose(l.slice(1), [100 - 80 + Math.log(1 + Math.exp(-20) + Math.exp(-95)) + 0], 1e-6, 1e-6);
    expect([...(await r.dlogits!.toArray())].every(Number.isFinite)).toBe(true);
  });

  it('the reference gradient matches finite differences of the reference loss', () => {
    const N = 4,
      Vp = 6,
      V = 5;
    const { logits, targets, weights } = data(N, Vp, V, 3);
    const x = Float64Array.from(logits);
    const o = { vocab: V, normalizer: 3, weights };
    const g = ref.crossEntropy(x, targets, N, Vp, o).dlogits;
    const idx = [0, 3, 4, 5, 8, 13, 20, 23];
    expectClose(
      ref.finiteDiff((v) => ref.crossEntropy(v, targets, N, Vp, o).loss, x, idx),
      idx.map((i) => g[i]),
      1e-5,
      1e-8,
      'fd',
    );
  });

  it('rejects bad shapes and options naming the op', () => {
    const L = Tensor.empty([4, 10]);
    expect(() => crossEntropy(L, Tensor.empty([4]), { normalizer: 1 })).toThrow(
      /crossEntropy: targets has dtype f32, expected i32/,
    );
    expect(() => crossEntropy(L, Tensor.empty([3], 'i32'), { normalizer: 1 })).toThrow(
      /crossEntropy: targets \[3\] should hold 4 values for logits \[4,10\]/,
    );
    expect(() => crossEntropy(L, Tensor.empty([4], 'i32'), { normalizer: 1, vocab: 11 })).toThrow(
      /crossEntropy: vocab 11 must be in \[1, 10\]/,
    );
    expect(() => crossEntropy(L, Tensor.empty([4], 'i32'), { normalizer: 0 })).toThrow(/crossEntropy: normalizer 0/);
    expect(() => crossEntropy(L, Tensor.empty([4], 'i32'), { normalizer: 1, weights: Tensor.empty([5]) })).toThrow(
      /crossEntropy: weights \[5\]/,
    );
  });
});
