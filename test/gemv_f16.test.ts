// Decoding's f16-weight products (src/ops/gemv_f16.ts) against the float64 reference on the
// f16-rounded weights: both packing layouts, bias and GELU, the subgroup and portable forms,
// row counts that leave partial row blocks, and matrices cut into parts by a low binding limit.
import { Float16Array } from '@petamoriken/float16';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setMaxBinding } from '../src/gpu/device.ts';
import { runtime } from '../src/gpu/runtime.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { gemvHalf, packHalf, releaseHalf } from '../src/ops/gemv_f16.ts';
import * as ref from '../src/ref/cpu.ts';
import { expectClose, randn, setup } from './helpers.ts';

beforeAll(setup);
afterEach(async () => {
  runtime().options.subgroups = true;
  await setMaxBinding(undefined);
});

let seed = 7;
async function check(M: number, N: number, K: number, layout: 'nk' | 'kn', o: { bias?: boolean; gelu?: boolean }) {
  const x = randn(M * K, seed++),
    w = randn(N * K, seed++, 0.5),
    bias = o.bias ? randn(N, seed++) : undefined;
  const w16 = Float32Array.from(new Float16Array(w)); // what packing keeps
  const W = Tensor.from(w, layout === 'nk' ? [N, K] : [K, N]);
  const h = packHalf(W, layout);
  const tb = bias ? Tensor.from(bias, [N]) : undefined;
  const y = gemvHalf(Tensor.from(x, [M, K]), h, { bias: tb, gelu: o.gelu });
  const want = ref.matmul(x, w16, M, N, K, { transB: layout === 'nk', bias, gelu: o.gelu });
  expectClose(await y.toArray(), want, 1e-4, 1e-4, `${M}x${N}x${K} ${layout}`);
  releaseHalf(h);
  return h.parts.length;
}

describe('gemvHalf', () => {
  for (const sub of [true, false])
    it(`matches the float64 reference on f16 weights (${sub ? 'subgroup' : 'portable'} form)`, async () => {
      runtime().options.subgroups = sub;
      await check(1, 67, 32, 'nk', {});
      await check(1, 200, 96, 'kn', { bias: true });
      await check(3, 130, 64, 'kn', { bias: true, gelu: true });
      await check(5, 64, 128, 'nk', {});
      await check(8, 1, 32, 'kn', { gelu: true });
    });

  it('cuts a matrix beyond one binding into parts of whole rows', async () => {
    await setMaxBinding(64 * 96 * 4 + 256); // 64 rows of 96 f32 weights per part
    expect(await check(2, 300, 96, 'nk', { bias: true })).toBe(5);
  });

  it('packs a source off the vec4 alignment through the scalar form, both layouts', async () => {
    for (const layout of ['nk', 'kn'] as const) {
      const N = 20,
        K = 32;
      const w = randn(N * K, seed++);
      const x = randn(K, seed++);
      const big = Tensor.from([0, ...w], [N * K + 1]); // W starts at element 1
      const h = packHalf(big.view(1, layout === 'nk' ? [N, K] : [K, N]), layout);
      const y = gemvHalf(Tensor.from(x, [1, K]), h);
      const want = ref.matmul(x, Float32Array.from(new Float16Array(w)), 1, N, K, { transB: layout === 'nk' });
      expectClose(await y.toArray(), want, 1e-4, 1e-4, layout);
      releaseHalf(h);
    }
  });

  it('rejects K off the 32-multiple and mismatched x', () => {
    expect(() => packHalf(Tensor.from(randn(40, 1), [2, 20]), 'nk')).toThrow(/multiple of 32/);
    const h = packHalf(Tensor.from(randn(64, 1), [2, 32]), 'nk');
    expect(() => gemvHalf(Tensor.from(randn(64, 1), [1, 64]), h)).toThrow(/against W \[2, 32\]/);
  });
});
