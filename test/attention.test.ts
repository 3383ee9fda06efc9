import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setup, randn, poisoned, expectClose } from './helpers.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { setMaxBinding } from '../src/gpu/device.ts';
import {
  attentionForward,
  attentionBackward,
  attentionNaive,
  attentionNaiveBackward,
  attentionDecode,
  kvAppend,
  kvCacheCreate,
} from '../src/ops/attention.ts';
import { attentionTexUnavailable } from '../src/ops/attention_tex.ts';
import { runtime } from '../src/gpu/runtime.ts';
import * as ref from '../src/ref/transformer.ts';

beforeAll(setup);
afterEach(() => {
  setMaxBinding(undefined);
  runtime().options.maxTexture = undefined;
});

/** Make the pool hand out NaN-filled buffers for the next allocations of these shapes. */
function poisonNext(...shapes: number[][]) {
  for (const s of shapes) poisoned(s).release();
}

const cases: { B: number; T: number; NH: number; hd: number; naive?: boolean; limit?: number; maxTexture?: number }[] =
  [
    { B: 2, T: 17, NH: 3, hd: 16, naive: true }, // C = 48
    { B: 1, T: 1, NH: 2, hd: 16, naive: true },
    { B: 1, T: 65, NH: 6, hd: 16, naive: true }, // C = 96
    { B: 2, T: 33, NH: 1, hd: 64, naive: true },
    { B: 1, T: 70, NH: 2, hd: 64 },
    { B: 3, T: 17, NH: 3, hd: 16, limit: 12288 }, // one batch per binding window
    { B: 3, T: 17, NH: 3, hd: 16, maxTexture: 40 }, // tex: two batches per texture, then one
  ];

describe('attention', () => {
  for (const c of cases) {
    const C = c.NH * c.hd,
      N = c.B * c.T;
    it(`B=${c.B} T=${c.T} nHead=${c.NH} hd=${c.hd}${c.limit ? ' (batches in windows)' : ''}${c.maxTexture ? ' (batches in textures)' : ''}: fused, tex${c.naive ? ' and naive' : ''} vs float64, forward and backward`, async () => {
      const qkv = randn(N * 3 * C, c.T * 7 + c.hd, 1.5),
        dy = randn(N * C, 99);
      const want = ref.attentionForward(qkv, c.B, c.T, c.NH);
      const wantG = ref.attentionBackward(dy, qkv, c.B, c.T, c.NH);
      const Q = Tensor.from(qkv, [c.B, c.T, 3 * C]),
        DY = Tensor.from(dy, [c.B, c.T, C]);
      if (c.limit) await setMaxBinding(c.limit);
      if (c.maxTexture) runtime().options.maxTexture = c.maxTexture;
      // 'tex' (textures + subgroups) where the adapter has it: the default on CPU adapters
      for (const v of attentionTexUnavailable(c.hd, c.T) ? (['fused'] as const) : (['fused', 'tex'] as const)) {
        poisonNext([c.B, c.T, C], [c.B, c.NH, c.T]);
        const f = attentionForward(Q, c.B, c.T, c.NH, v);
        expectClose(await f.y.toArray(), want.y, 2e-4, 2e-5, `${v} y`);
        expectClose(await f.lse.toArray(), want.lse, 1e-5, 1e-5, `${v} lse`);
        poisonNext([c.B, c.T, 3 * C]);
        const g = attentionBackward(DY, Q, f.y, f.lse, c.B, c.T, c.NH, v);
        expectClose(await g.toArray(), wantG, 1e-3, 1e-4, `${v} dqkv`);
      }
      if (!c.naive) return;
      poisonNext([c.B, c.T, C], [c.B, c.NH, c.T]);
      const nf = attentionNaive(Q, c.B, c.T, c.NH);
      expectClose(await nf.y.toArray(), want.y, 2e-4, 2e-5, 'naive y');
      expectClose(await nf.lse.toArray(), want.lse, 1e-5, 1e-5, 'naive lse');
      poisonNext([c.B, c.T, 3 * C]);
      const ng = attentionNaiveBackward(DY, Q, nf.y, nf.lse, c.B, c.T, c.NH);
      expectClose(await ng.toArray(), wantG, 1e-3, 1e-4, 'naive dqkv');
    });
  }

  it('accepts qkv as [B·T, 3C] (y and dqkv keep that shape)', async () => {
    const B = 2,
      T = 5,
      NH = 2,
      hd = 16,
      C = NH * hd;
    const qkv = randn(B * T * 3 * C, 4);
    const f = attentionForward(Tensor.from(qkv, [B * T, 3 * C]), B, T, NH);
    expect(f.y.shape).toEqual([B * T, C]);
    expectClose(await f.y.toArray(), ref.attentionForward(qkv, B, T, NH).y, 2e-4, 2e-5);
  });

  it('the reference gradient matches finite differences of the reference forward', () => {
    const B = 2,
      T = 4,
      NH = 2,
      hd = 3,
      C = NH * hd;
    const qkv = Float64Array.from(randn(B * T * 3 * C, 5));
    const r = randn(B * T * C, 6),
      rl = randn(B * NH * T, 7);
    const g = ref.attentionBackward(r, qkv, B, T, NH);
    const idx = [0, 4, 7, 20, 31, 40, 60, 71, 100, 143];
    const fd = ref.finiteDiff((x) => ref.dot(ref.attentionForward(x, B, T, NH).y, r), qkv, idx);
    expectClose(
      fd,
      idx.map((i) => g[i]),
      1e-5,
      1e-8,
      'dqkv fd',
    );
    // lse is a function of q, k only: its finite differences are smooth too (sanity of the lse definition)
    const fdl = ref.finiteDiff((x) => ref.dot(ref.attentionForward(x, B, T, NH).lse, rl), qkv, [0, 8]);
    expect(fdl.every(Number.isFinite)).toBe(true);
  });

  it('rejects bad shapes naming the op', () => {
    const Q = Tensor.empty([2, 5, 96]);
    expect(() => attentionForward(Q, 2, 6, 2)).toThrow(
      /attentionForward: qkv has shape \[2,5,96\], expected \[2,6,3·C\]/,
    );
    expect(() => attentionForward(Q, 2, 5, 5)).toThrow(/attentionForward: .*C divisible by nHead = 5/);
    expect(() => attentionForward(Tensor.empty([2, 5, 18]), 2, 5, 2)).toThrow(/attentionForward: head dim 3/);
    expect(() =>
      attentionBackward(Tensor.empty([2, 5, 31]), Q, Tensor.empty([2, 5, 32]), Tensor.empty([2, 2, 5]), 2, 5, 2),
    ).toThrow(/attentionBackward: dy has shape \[2,5,31\]/);
    const kv = kvCacheCreate(2, 8, 16);
    expect(() => kvAppend(Tensor.empty([9, 96]), kv.k, kv.v, 0)).toThrow(
      /kvAppend: positions 0..8 exceed the cache capacity 8/,
    );
    expect(() => attentionDecode(Tensor.empty([1, 32]), kv.k, kv.v, 0, 3)).toThrow(/attentionDecode: nHead 3 differs/);
  });
});

describe('KV-cache decode', () => {
  for (const [NH, hd, T] of [
    [3, 16, 19],
    [2, 64, 9],
  ] as const) {
    it(`nHead=${NH} hd=${hd}: prefill through the cache, then one position at a time, equal the full attention`, async () => {
      const C = NH * hd,
        P = T + 3;
      const qkv = randn(T * 3 * C, 11 + hd);
      const want = ref.attentionForward(qkv, 1, T, NH).y;
      const Q = Tensor.from(qkv, [T, 3 * C]);
      // prefill the first 7 rows in one call (q read from the qkv rows), then decode the rest one by one
      const kv = kvCacheCreate(NH, P, hd);
      const pre = 7;
      kvAppend(Q.view(0, [pre, 3 * C]), kv.k, kv.v, 0);
      const y0 = attentionDecode(Q.view(0, [pre, 3 * C]), kv.k, kv.v, 0, NH);
      expectClose(await y0.toArray(), want.subarray(0, pre * C), 2e-4, 2e-5, 'prefill');
      for (let t = pre; t < T; t++) {
        const row = Q.view(t * 3 * C, [1, 3 * C]);
        kvAppend(row, kv.k, kv.v, t);
        poisonNext([1, C]);
        const y = attentionDecode(Q.view(t * 3 * C, [1, C]), kv.k, kv.v, t, NH); // q as [1, C]
        expectClose(await y.toArray(), want.subarray(t * C, (t + 1) * C), 2e-4, 2e-5, `position ${t}`);
      }
      // the cache layout: [nHead, P, hd]
      const k = await kv.k.toArray();
      const h = NH - 1,
        t = T - 1,
        d = hd - 1;
      expect(k[(h * P + t) * hd + d]).toBe(qkv[t * 3 * C + C + h * hd + d]);
    });
  }
});
