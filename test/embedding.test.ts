import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setup, randn, rng, poisoned, expectClose } from './helpers.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { setMaxBinding } from '../src/gpu/device.ts';
import { runtime } from '../src/gpu/runtime.ts';
import { embeddingForward, embeddingBackward } from '../src/ops/embedding.ts';
import * as ref from '../src/ref/transformer.ts';

beforeAll(setup);
afterEach(() => setMaxBinding(undefined));

/** Make the pool hand out NaN-filled buffers for the next allocations of these shapes. */
function poisonNext(...shapes: number[][]) {
  for (const s of shapes) poisoned(s).release();
}

function ids(N: number, V: number, seed: number, repeats = true): number[] {
  const r = rng(seed);
  // few distinct ids so that many repeat
  return Array.from({ length: N }, () => Math.floor(r() * (repeats ? Math.min(V, 7) : V)));
}

describe('embedding forward', () => {
  const cases: { name: string; V: number; C: number; P: number; T: number; B: number; pos?: number; limit?: number }[] =
    [
      { name: 'B=2 T=17 C=48', V: 37, C: 48, P: 20, T: 17, B: 2 },
      { name: 'T=1 C=96', V: 11, C: 96, P: 4, T: 1, B: 3 },
      { name: 'C=7 (the scalar form)', V: 9, C: 7, P: 6, T: 3, B: 2 },
      { name: 'posOffset=3 (generation)', V: 13, C: 48, P: 9, T: 5, B: 1, pos: 3 },
      { name: 'wte and out larger than one binding', V: 200, C: 48, P: 20, T: 4, B: 8, limit: 4096 },
    ];
  for (const c of cases) {
    it(c.name, async () => {
      const N = c.B * c.T;
      const idv = ids(N, c.V, 1, false);
      idv[0] = -1;
      if (N > 2) idv[2] = c.V + 3; // invalid ids: zero rows
      const wte = randn(c.V * c.C, 2),
        wpe = randn(c.P * c.C, 3);
      const Wte = Tensor.from(wte, [c.V, c.C]),
        Wpe = Tensor.from(wpe, [c.P, c.C]);
      if (c.limit) await setMaxBinding(c.limit);
      poisonNext([N, c.C]);
      const out = embeddingForward(Tensor.from(idv, [N], 'i32'), Wte, Wpe, c.T, c.pos ?? 0);
      const want = ref.embeddingForward(idv, wte, wpe, c.V, c.C, c.T, c.pos ?? 0);
      expectClose(await out.toArray(), want, 1e-6, 1e-6, c.name);
    });
  }

  it('rejects bad shapes and dtypes naming the op', () => {
    const wte = Tensor.empty([5, 8]),
      wpe = Tensor.empty([4, 8]);
    expect(() => embeddingForward(Tensor.empty([3]), wte, wpe, 3)).toThrow(
      /embeddingForward: ids has dtype f32, expected i32/,
    );
    expect(() => embeddingForward(Tensor.empty([3], 'i32'), wte, Tensor.empty([4, 7]), 3)).toThrow(
      /embeddingForward: wpe has shape \[4,7\], expected \[\*,8\]/,
    );
    expect(() => embeddingForward(Tensor.empty([6], 'i32'), wte, wpe, 6)).toThrow(
      /embeddingForward: positions 0..5 exceed wpe \[4,8\]/,
    );
    expect(() => embeddingBackward(Tensor.empty([6], 'i32'), Tensor.empty([6, 7]), wte, wpe, 3)).toThrow(
      /embeddingBackward: dout has shape \[6,7\], expected \[6,8\]/,
    );
  });
});

describe('embedding backward', () => {
  const V = 97,
    C = 48,
    P = 20,
    T = 17,
    B = 3,
    N = B * T;
  const idv = ids(N, V, 5);
  idv[1] = -5;
  idv[4] = V; // ignored
  idv[7] = V - 1;
  const dout = randn(N * C, 6);
  const dwte0 = randn(V * C, 7),
    dwpe0 = randn(P * C, 8);

  async function gpuGrads(limit?: number) {
    const dwte = Tensor.from(dwte0, [V, C]),
      dwpe = Tensor.from(dwpe0, [P, C]);
    if (limit) await setMaxBinding(limit);
    embeddingBackward(Tensor.from(idv, [N], 'i32'), Tensor.from(dout, [N, C]), dwte, dwpe, T);
    const r = { dwte: await dwte.toArray(), dwpe: await dwpe.toArray() };
    await setMaxBinding(undefined);
    return r;
  }

  for (const subgroups of [true, false])
    it(`accumulates repeated ids into dwte and dwpe (+=), matching the reference (${subgroups ? 'subgroup' : 'workgroup-tile'} sort)`, async () => {
      runtime().options.subgroups = subgroups;
      const got = await gpuGrads();
      runtime().options.subgroups = true;
      const want = ref.embeddingBackward(idv, dout, V, P, C, T);
      expectClose(
        got.dwte,
        want.dwte.map((v, i) => v + dwte0[i]),
        1e-5,
        1e-5,
        'dwte',
      );
      expectClose(
        got.dwpe,
        want.dwpe.map((v, i) => v + dwpe0[i]),
        1e-5,
        1e-5,
        'dwpe',
      );
    });

  it('sorts by (id, position) pairs when ids do not fit 16 bits (V = 70000)', async () => {
    const V2 = 70000,
      C2 = 8,
      N2 = 40;
    const idv2 = Array.from({ length: N2 }, (_, i) => [69999, 65535, 65534, 3, 69999][i % 5]);
    idv2[7] = -1;
    const dout2 = randn(N2 * C2, 9);
    const dwte = Tensor.zeros([V2, C2]),
      dwpe = Tensor.zeros([8, C2]);
    embeddingBackward(Tensor.from(idv2, [N2], 'i32'), Tensor.from(dout2, [N2, C2]), dwte, dwpe, 8);
    const want = ref.embeddingBackward(idv2, dout2, V2, 8, C2, 8);
    const got = await dwte.toArray();
    for (const id of [69999, 65535, 65534, 3, 0])
      expectClose(
        got.subarray(id * C2, (id + 1) * C2),
        want.dwte.subarray(id * C2, (id + 1) * C2),
        1e-5,
        1e-5,
        `row ${id}`,
      );
    expectClose(await dwpe.toArray(), want.dwpe, 1e-5, 1e-5, 'dwpe');
  });

  it('is deterministic (bit-identical runs) and independent of the binding limit', async () => {
    const a = await gpuGrads(),
      b = await gpuGrads(),
      c = await gpuGrads(10240) /* dwte in 2 windows */;
    expect(Buffer.from(a.dwte.buffer).equals(Buffer.from(b.dwte.buffer))).toBe(true);
    expect(Buffer.from(a.dwpe.buffer).equals(Buffer.from(b.dwpe.buffer))).toBe(true);
    expect(Buffer.from(a.dwte.buffer).equals(Buffer.from(c.dwte.buffer))).toBe(true);
  });

  it('the reference gradient matches finite differences of the reference forward', () => {
    const Vs = 6,
      Cs = 4,
      Ps = 5,
      Ts = 3,
      Ns = 7;
    const idx = [0, 3, 3, 5, -1, 2, 3];
    const wte = Float64Array.from(randn(Vs * Cs, 9)),
      wpe = Float64Array.from(randn(Ps * Cs, 10));
    const r = randn(Ns * Cs, 11);
    const g = ref.embeddingBackward(idx, r, Vs, Ps, Cs, Ts);
    const coords = [0, 5, 12, 13, 23];
    const fdW = ref.finiteDiff((w) => ref.dot(ref.embeddingForward(idx, w, wpe, Vs, Cs, Ts), r), wte, coords);
    const fdP = ref.finiteDiff(
      (w) => ref.dot(ref.embeddingForward(idx, wte, w, Vs, Cs, Ts), r),
      wpe,
      coords.slice(0, 3),
    );
    expectClose(
      fdW,
      coords.map((i) => g.dwte[i]),
      1e-6,
      1e-7,
      'dwte fd',
    );
    expectClose(
      fdP,
      coords.slice(0, 3).map((i) => g.dwpe[i]),
      1e-6,
      1e-7,
      'dwpe fd',
    );
  });
});
