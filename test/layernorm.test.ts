import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setup, randn, poisoned, expectClose } from './helpers.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { setMaxBinding } from '../src/gpu/device.ts';
import { layernormForward, layernormBackward, residualLayernormForward } from '../src/ops/layernorm.ts';
import { gpu, profileStart, profileStop, runtime } from '../src/gpu/runtime.ts';
import * as ref from '../src/ref/transformer.ts';

beforeAll(setup);
afterEach(() => {
  runtime().options.subgroups = true;
  return setMaxBinding(undefined);
});

/** Make the pool hand out NaN-filled buffers for the next allocations of these shapes. */
function poisonNext(...shapes: number[][]) {
  for (const s of shapes) poisoned(s).release();
}

describe('layernorm', () => {
  const cases: { N: number; C: number; limit?: number }[] = [
    { N: 1, C: 48 },
    { N: 17, C: 96 },
    { N: 67, C: 48 },
    { N: 33, C: 384 },
    { N: 5, C: 7 },
    { N: 9, C: 16 }, // 4 vec4s a row: on 8-lane subgroups half the lanes hold none (the Welford merge's empty lanes)
    { N: 45, C: 48, limit: 4096 }, // x, y, dy, dx in row chunks
    { N: 2100, C: 8 }, // many dw/db blocks: 16 rows each (over 256 blocks of 8; 32 on a CPU adapter)
    { N: 2060, C: 776 }, // rows too wide to hold in registers (backward4_wide), blocks of 16 rows (32 on a CPU adapter): their later 8-row steps add to the partials
  ];
  for (const { N, C, limit } of cases)
    for (const sub of [true, false]) {
      it(`N=${N} C=${C}${limit ? ' (small binding limit)' : ''}, ${sub ? 'subgroup' : 'workgroup-tree'} rows: forward and backward vs float64`, async () => {
        runtime().options.subgroups = sub;
        // an offset mean and a large scale: a one-pass variance would lose digits
        const x = randn(N * C, 1, 3).map((v) => v + 5);
        const w = randn(C, 2),
          b = randn(C, 3),
          dy = randn(N * C, 4);
        if (limit) await setMaxBinding(limit);
        poisonNext([N, C], [N], [N]);
        const f = layernormForward(Tensor.from(x, [N, C]), Tensor.from(w, [C]), Tensor.from(b, [C]));
        const want = ref.layernormForward(x, w, b, N, C);
        expectClose(await f.y.toArray(), want.y, 1e-4, 1e-4, 'y');
        expectClose(await f.mean.toArray(), want.mean, 1e-5, 1e-5, 'mean');
        expectClose(await f.rstd.toArray(), want.rstd, 1e-4, 1e-5, 'rstd');
        poisonNext([N, C], [C], [C]);
        const args = [Tensor.from(dy, [N, C]), Tensor.from(x, [N, C]), Tensor.from(w, [C]), f.mean, f.rstd] as const;
        const g = layernormBackward(...args);
        const wg = ref.layernormBackward(dy, x, w, N, C);
        expectClose(await g.dx.toArray(), wg.dx, 1e-3, 1e-4, 'dx');
        expectClose(await g.dw.toArray(), wg.dw, 1e-4, 1e-4, 'dw');
        expectClose(await g.db.toArray(), wg.db, 1e-4, 1e-4, 'db');
        // into tensors that hold gradients already: each receives its gradient added
        const [dx0, dw0, db0] = [randn(N * C, 5), randn(C, 6), randn(C, 7)];
        const into = { dx: Tensor.from(dx0, [N, C]), dw: Tensor.from(dw0, [C]), db: Tensor.from(db0, [C]) };
        const h = layernormBackward(...args, into);
        expect([h.dx, h.dw, h.db]).toEqual([into.dx, into.dw, into.db]);
        const plus = (a: Float32Array, b: ArrayLike<number>) => a.map((v, i) => v + b[i]);
        expectClose(await h.dx.toArray(), plus(dx0, wg.dx), 1e-3, 1e-4, 'dx accumulated');
        expectClose(await h.dw.toArray(), plus(dw0, wg.dw), 1e-4, 1e-4, 'dw accumulated');
        expectClose(await h.db.toArray(), plus(db0, wg.db), 1e-4, 1e-4, 'db accumulated');
      });
    }

  for (const { N, C } of [
    { N: 33, C: 384 },
    { N: 17, C: 48 },
    { N: 5, C: 7 },
    { N: 9, C: 16 }, // 4 vec4s a row: on 8-lane subgroups half the lanes hold none (the Welford merge's empty lanes)
  ])
    for (const sub of [true, false])
      it(`residual add fused into LayerNorm, N=${N} C=${C}, ${sub ? 'subgroup' : 'workgroup-tree'} rows, vs float64`, async () => {
        runtime().options.subgroups = sub;
        const x = randn(N * C, 11, 2),
          r = randn(N * C, 12),
          w = randn(C, 13),
          b = randn(C, 14);
        const sum = x.map((v, i) => v + r[i]);
        const f = residualLayernormForward(
          Tensor.from(x, [N, C]),
          Tensor.from(r, [N, C]),
          Tensor.from(w, [C]),
          Tensor.from(b, [C]),
        );
        const want = ref.layernormForward(sum, w, b, N, C);
        expectClose(await f.sum.toArray(), Array.from(sum), 1e-6, 1e-6, 'sum');
        expectClose(await f.y.toArray(), want.y, 1e-4, 1e-4, 'y');
        expectClose(await f.mean.toArray(), want.mean, 1e-5, 1e-5, 'mean');
        expectClose(await f.rstd.toArray(), want.rstd, 1e-4, 1e-5, 'rstd');
      });

  it('backward reductions are deterministic', async () => {
    const N = 300,
      C = 96;
    const x = Tensor.from(randn(N * C, 5), [N, C]),
      w = Tensor.from(randn(C, 6), [C]),
      b = Tensor.from(randn(C, 7), [C]);
    const dy = Tensor.from(randn(N * C, 8), [N, C]);
    const f = layernormForward(x, w, b);
    const a = await layernormBackward(dy, x, w, f.mean, f.rstd).dw.toArray();
    const c = await layernormBackward(dy, x, w, f.mean, f.rstd).dw.toArray();
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(true);
  });

  it('the reference gradient matches finite differences of the reference forward', () => {
    const N = 3,
      C = 5;
    const x = Float64Array.from(randn(N * C, 9)),
      w = Float64Array.from(randn(C, 10)),
      b = Float64Array.from(randn(C, 11));
    const r = randn(N * C, 12);
    const g = ref.layernormBackward(r, x, w, N, C);
    const L = (xx: Float64Array, ww: Float64Array, bb: Float64Array) =>
      ref.dot(ref.layernormForward(xx, ww, bb, N, C).y, r);
    const ix = [0, 4, 7, 14];
    expectClose(
      ref.finiteDiff((v) => L(v, w, b), x, ix),
      ix.map((i) => g.dx[i]),
      1e-5,
      1e-7,
      'dx fd',
    );
    expectClose(
      ref.finiteDiff((v) => L(x, v, b), w, [0, 3]),
      [g.dw[0], g.dw[3]],
      1e-5,
      1e-7,
      'dw fd',
    );
    expectClose(
      ref.finiteDiff((v) => L(x, w, v), b, [1, 4]),
      [g.db[1], g.db[4]],
      1e-5,
      1e-7,
      'db fd',
    );
  });

  it('an adapter whose subgroups may be wider than the 64-invocation workgroups gets the workgroup-tree kernels', async () => {
    const info = gpu().adapter.info as { subgroupMaxSize?: number };
    const N = 6,
      C = 32;
    const x = randn(N * C, 21),
      w = randn(C, 22),
      b = randn(C, 23),
      dy = randn(N * C, 24);
    const kernelsRun = async (widest: number) => {
      Object.defineProperty(info, 'subgroupMaxSize', { value: widest, configurable: true });
      try {
        profileStart();
        const f = layernormForward(Tensor.from(x, [N, C]), Tensor.from(w, [C]), Tensor.from(b, [C]));
        const args = [Tensor.from(dy, [N, C]), Tensor.from(x, [N, C]), Tensor.from(w, [C]), f.mean, f.rstd] as const;
        const g = layernormBackward(...args);
        const names = [...(await profileStop()).keys()].map((k) => k.split('{')[0]);
        expectClose(await g.dx.toArray(), ref.layernormBackward(dy, x, w, N, C).dx, 1e-3, 1e-4, 'dx');
        return names.filter((k) => k.startsWith('layernorm'));
      } finally {
        delete (info as Record<string, unknown>).subgroupMaxSize; // back to the adapter's own getter
      }
    };
    expect(await kernelsRun(8)).toContain('layernorm_sg.wgsl:forward4');
    const wide = await kernelsRun(128);
    expect(wide).toContain('layernorm.wgsl:forward');
    expect(wide.some((k) => k.includes('_sg.wgsl'))).toBe(false);
  });

  it('rejects bad shapes naming the op', () => {
    const x = Tensor.empty([4, 8]);
    expect(() => layernormForward(x, Tensor.empty([7]), Tensor.empty([8]))).toThrow(
      /layernormForward: w has shape \[7\], expected \[8\]/,
    );
    expect(() => layernormForward(Tensor.empty([4, 8], 'i32'), Tensor.empty([8]), Tensor.empty([8]))).toThrow(
      /layernormForward: x has dtype i32/,
    );
    expect(() =>
      layernormBackward(Tensor.empty([4, 8]), x, Tensor.empty([8]), Tensor.empty([3]), Tensor.empty([4])),
    ).toThrow(/layernormBackward: mean has shape \[3\], expected \[4\]/);
  });
});
