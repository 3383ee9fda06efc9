import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setup, randn, poisoned, expectClose, tempDir } from './helpers.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { setMaxBinding } from '../src/gpu/device.ts';
import { runtime, sync } from '../src/gpu/runtime.ts';
import { adapterKey, autotune, setAutotuneFile, tuneEntry } from '../src/gpu/autotune.ts';
import { cpuInfo, describeCpu } from '../src/gpu/cpu.ts';
import { texturePoolStats } from '../src/gpu/texture.ts';
import {
  matmul,
  resolveVariant,
  availableVariants,
  MATMUL_VARIANTS,
  TILED,
  TEX,
  tuneKey,
  untunedClasses,
  type MatmulVariant,
} from '../src/ops/matmul/index.ts';
import { autotuneMatmul, autotuneUsed, quickCandidates } from '../src/ops/matmul/tune.ts';
import * as ref from '../src/ref/cpu.ts';

beforeAll(setup);
afterEach(async () => {
  await setMaxBinding(undefined);
  runtime().options.maxTexture = undefined;
});

interface Case {
  variant: MatmulVariant;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  Z?: number;
  bBatched?: boolean;
  bias?: boolean;
  gelu?: boolean;
  alpha?: number;
  beta?: number;
}

let seed = 1;
/** Run one product on the GPU (into a NaN-poisoned or pre-filled output) and compare with the float64 reference. */
async function check(c: Case) {
  const { M, N, K, transA = false, transB = false } = c;
  const Z = c.Z ?? 1,
    bz = c.bBatched ? Z : 1;
  const a = randn(Z * M * K, seed++),
    b = randn(bz * K * N, seed++),
    bias = c.bias ? randn(N, seed++) : undefined;
  const batch = (s: number[]) => (c.Z ? [Z, ...s] : s);
  const A = Tensor.from(a, batch(transA ? [K, M] : [M, K]));
  const B = Tensor.from(b, c.bBatched ? [bz, ...(transB ? [N, K] : [K, N])] : transB ? [N, K] : [K, N]);
  const old = c.beta ? randn(Z * M * N, seed++) : undefined;
  const out = old ? Tensor.from(old, batch([M, N])) : poisoned(batch([M, N]));
  const tbias = bias ? Tensor.from(bias, [N]) : undefined;
  matmul(A, B, { transA, transB, bias: tbias, gelu: c.gelu, alpha: c.alpha, beta: c.beta, out, variant: c.variant });
  const want = ref.matmul(a, b, M, N, K, {
    transA,
    transB,
    batch: Z,
    bBatched: !!c.bBatched,
    bias,
    gelu: c.gelu,
    alpha: c.alpha,
  });
  if (old) for (let i = 0; i < want.length; i++) want[i] += c.beta! * old[i];
  const what = `${c.variant} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} Z=${Z}${c.bBatched ? '(B batched)' : ''} M=${M} N=${N} K=${K}`;
  expectClose(await out.toArray(), want, 1e-4, 2e-4, what);
  for (const t of [A, B, out, tbias]) t?.release();
}

const TRANS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];
const tname = ([ta, tb]: [boolean, boolean]) => `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`;
// none is a multiple of any tile; the last two have N and K multiples of 4 (vec4 loads)
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 17, 65],
  [65, 3, 127],
  [17, 257, 33],
  [127, 65, 31],
  [33, 68, 132],
  [70, 36, 44],
  [36, 20, 45],
  [70, 64, 128],
]; // the last: rows of 256 bytes (packed by a copy command)

describe('matmul: every variant x NN/NT/TN/TT x awkward shapes (bias + GELU, alpha)', () => {
  // the subgroup texture variants exist where the adapter has one fixed subgroup size (lavapipe: 8)
  for (const variant of MATMUL_VARIANTS)
    for (const tr of TRANS) {
      it(`${variant} ${tname(tr)}`, async () => {
        if (!availableVariants().includes(variant)) {
          // an adapter without the feature refuses the variant by name
          expect(() =>
            matmul(Tensor.empty([4, 4]), Tensor.empty([4, 4]), { variant: variant as MatmulVariant }),
          ).toThrow(new RegExp(variant));
          return;
        }
        for (const [M, N, K] of SHAPES)
          await check({
            variant,
            M,
            N,
            K,
            transA: tr[0],
            transB: tr[1],
            bias: true,
            gelu: true,
            alpha: M === 3 ? 0.5 : undefined,
          });
      });
    }
  it('gemv: the vec4 entries for decode-sized M (1, 2, 5) with aligned N and K', async () => {
    for (const tr of TRANS)
      for (const M of [1, 2, 5])
        await check({ variant: 'gemv', M, N: 68, K: 132, transA: tr[0], transB: tr[1], bias: true, gelu: M === 2 });
  });
  it('plain product (no bias, no GELU) of a 257-square, naive / tiled / tex', async () => {
    for (const variant of ['naive', 'tiled-128x128', 'tex-32x16'] as const)
      await check({ variant, M: 257, N: 257, K: 257 });
  });
});

// representatives of each kernel family (the tiled kernel's other tiles share its code paths)
const FAMILY: MatmulVariant[] = ['naive', 'tiled-64x64', 'tex-16x16', 'tex-sg-64x16'];

describe('matmul: batched', () => {
  for (const variant of FAMILY)
    for (const tr of TRANS.slice(0, 3)) {
      it(`${variant} ${tname(tr)}: B batched and B broadcast`, async () => {
        await check({ variant, Z: 3, bBatched: true, M: 17, N: 33, K: 65, transA: tr[0], transB: tr[1], bias: true });
        await check({ variant, Z: 3, bBatched: false, M: 65, N: 17, K: 31, transA: tr[0], transB: tr[1], gelu: true });
      });
    }
  it('auto with batch dims of rank 4 (attention-like [2,3,T,T]·[2,3,T,d])', async () => {
    const a = randn(2 * 3 * 19 * 19, 5),
      b = randn(2 * 3 * 19 * 8, 6);
    const out = poisoned([2, 3, 19, 8]);
    matmul(Tensor.from(a, [2, 3, 19, 19]), Tensor.from(b, [2, 3, 19, 8]), { out });
    expectClose(await out.toArray(), ref.matmul(a, b, 19, 8, 19, { batch: 6, bBatched: true }), 1e-4, 2e-4);
  });
});

describe('matmul: beta accumulates into out', () => {
  for (const variant of FAMILY) {
    it(variant, async () => {
      await check({ variant, M: 37, N: 19, K: 23, beta: 0.5, bias: true });
      await check({ variant, M: 19, N: 37, K: 23, transA: true, beta: 1, gelu: true, bias: true });
      await check({ variant, Z: 2, bBatched: true, M: 19, N: 21, K: 9, transB: true, beta: -1, alpha: 2 });
      // N a multiple of 4: the texture variants store (and read back under beta) C as vec4s
      await check({ variant, M: 19, N: 36, K: 23, beta: 0.5, bias: true, gelu: true });
      await check({ variant, Z: 2, bBatched: false, M: 19, N: 20, K: 9, transA: true, beta: -1, alpha: 2 });
    });
  }
});

describe('matmul: tensors larger than one storage binding', () => {
  // 16 KiB bindings (4096 floats): A, B and C all exceed one, so the product is cut over M, N and K
  for (const variant of ['naive', 'tiled-64x64', 'tiled-128x128', 'tex-32x16', 'tex-sg-64x16'] as MatmulVariant[])
    for (const tr of TRANS.slice(0, 3)) {
      it(`${variant} ${tname(tr)} with a bias`, async () => {
        await setMaxBinding(16384);
        await check({ variant, M: 150, N: 70, K: 93, transA: tr[0], transB: tr[1], bias: true });
        // K a multiple of 4: the texture variants read a row-major A from its buffer, in windows
        await check({ variant, M: 150, N: 70, K: 92, transA: tr[0], transB: tr[1], bias: true });
        await check({ variant, M: 30, N: 170, K: 92, transA: tr[0], transB: tr[1] }); // a transposed A fits: read from its buffer
        await check({ variant, M: 150, N: 72, K: 92, transA: tr[0], transB: tr[1], bias: true }); // C windows in whole vec4s
      });
    }
  // (the texture variant's K blocks come from the texture size limit: tested below)
  it('K blocks with GELU (summed in a temporary, then the epilogue) and with beta', async () => {
    await setMaxBinding(4096);
    for (const variant of ['naive', 'tiled-64x64'] as MatmulVariant[]) {
      await check({ variant, M: 9, N: 11, K: 1500, transB: true, bias: true, gelu: true, beta: 0.5 });
      await check({ variant, M: 9, N: 11, K: 1500, transA: true, bias: true, beta: 0.5, alpha: 3 });
    }
  });
  it('batched, B broadcast and batched, in small bindings', async () => {
    await setMaxBinding(4096);
    for (const variant of ['naive', 'tiled-128x64', 'tex-8x16'] as MatmulVariant[]) {
      await check({ variant, Z: 5, bBatched: true, M: 40, N: 30, K: 50, transB: true, bias: true });
      await check({ variant, Z: 5, bBatched: false, M: 40, N: 30, K: 50, transA: true });
    }
  });
  it('texture-dimension limits: the texture variant cuts Z, M, N and K into texture blocks', async () => {
    runtime().options.maxTexture = 32; // 32 texels: K <= 32, N <= 128, Z*M <= 32 per block
    await check({ variant: 'tex-8x16', M: 70, N: 300, K: 75, transB: true, bias: true });
    await check({ variant: 'tex-4x16', M: 70, N: 300, K: 75, transA: true, bias: true, gelu: true });
    await check({ variant: 'tex-8x16', Z: 3, bBatched: true, M: 13, N: 20, K: 9, bias: true });
    await check({ variant: 'tex-8x16', Z: 3, bBatched: true, M: 13, N: 20, K: 40, beta: 0.5 });
    await check({ variant: 'tex-sg-32x16', Z: 3, bBatched: false, M: 70, N: 20, K: 200, bias: true }); // A from its buffer, K blocks
    await check({ variant: 'tex-sg-32x16', Z: 3, bBatched: false, M: 70, N: 20, K: 200, transA: true }); // transposed A from its buffer
  });
});

describe('matmul: API', () => {
  it('rejects mismatched shapes before dispatch', () => {
    expect(() => matmul(Tensor.empty([3, 4]), Tensor.empty([5, 6]))).toThrow(
      /matmulNN: A \[3,4\] · B \[5,6\]: inner dimensions 4 and 5 differ/,
    );
    expect(() => matmul(Tensor.empty([3, 4]), Tensor.empty([5, 4]), { transB: true, bias: Tensor.empty([4]) })).toThrow(
      /matmulNT: .*bias \[4\] should be \[5\]/,
    );
    expect(() => matmul(Tensor.empty([2, 3, 4]), Tensor.empty([3, 4, 5]))).toThrow(/batch dimensions differ/);
    expect(() => matmul(Tensor.empty([3, 4], 'f16'), Tensor.empty([4, 5]))).toThrow(
      /matmulNN: .*f32 operands expected/,
    );
    expect(() => matmul(Tensor.empty([3, 4]), Tensor.empty([4, 5]), { variant: 'bogus' as MatmulVariant })).toThrow(
      /unknown variant 'bogus'/,
    );
  });

  it('K = 0 leaves only the epilogue; M = 0 is a no-op', async () => {
    const bias = randn(5, 9);
    const out = poisoned([3, 5]);
    matmul(Tensor.empty([3, 0]), Tensor.empty([0, 5]), { bias: Tensor.from(bias, [5]), out });
    expectClose(
      await out.toArray(),
      Array.from({ length: 15 }, (_, i) => bias[i % 5]),
      0,
      0,
    );
    expect(matmul(Tensor.empty([0, 4]), Tensor.empty([4, 5])).shape).toEqual([0, 5]);
  });

  it('names its variants, resolves the families and defaults software adapters to textures', async () => {
    expect(MATMUL_VARIANTS).toEqual(['naive', 'gemv', ...Object.keys(TILED), ...Object.keys(TEX)]);
    expect(resolveVariant({ Z: 1, M: 1, N: 50304, K: 384, bBatched: false }, { transB: true })).toBe('gemv');
    const s = { Z: 1, M: 512, N: 512, K: 512, bBatched: false };
    expect(resolveVariant(s, { variant: 'tiled' })).toMatch(/^tiled-/);
    expect(resolveVariant(s, { variant: 'tex' })).toMatch(/^tex-/);
    const { gpu } = await import('../src/gpu/runtime.ts');
    const dir = tempDir('autotune-');
    setAutotuneFile(path.join(dir, 'none.json'));
    try {
      if (gpu().info.isSoftware) expect(resolveVariant(s, {})).toMatch(/^tex-/);
    } finally {
      setAutotuneFile(undefined);
    }
  });

  it('the texture pool reuses packed-operand textures', async () => {
    const A = Tensor.from(randn(40 * 24, 1), [40, 24]),
      B = Tensor.from(randn(24 * 52, 2), [24, 52]);
    matmul(A, B, { variant: 'tex-8x16' }).release();
    await sync();
    const before = texturePoolStats().allocations;
    for (let i = 0; i < 3; i++) matmul(A, B, { variant: 'tex-8x16' }).release();
    await sync();
    expect(texturePoolStats().allocations).toBe(before);
  });
});

describe('matmul: autotune', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autotune-'));
  afterAll(() => {
    setAutotuneFile(undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('times the candidates once, caches the winner on disk, and auto uses it', async () => {
    const file = path.join(dir, 'autotune.json');
    setAutotuneFile(file);
    const r = await autotuneMatmul({ M: 20, N: 24, K: 12 }, { transB: true, reps: 1 });
    expect(r.cached).toBe(false);
    expect(MATMUL_VARIANTS).toContain(r.winner);
    const disk = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(disk[r.key].winner).toBe(r.winner);
    expect(tuneEntry(r.key)?.winner).toBe(r.winner);
    // a fresh process would read it from disk: forget the in-memory copy and ask again
    setAutotuneFile(file);
    expect((await autotuneMatmul({ M: 19, N: 30, K: 9 }, { transB: true })).cached).toBe(true);
    expect(resolveVariant({ Z: 1, M: 20, N: 24, K: 12, bBatched: false }, { transB: true })).toBe(r.winner);
    await check({ variant: 'auto', M: 20, N: 24, K: 12, transB: true, bias: true });
  });

  it('an entry written by an earlier tuner is tuned again, not used', async () => {
    const file = path.join(dir, 'old.json');
    const key = tuneKey({ Z: 1, M: 20, N: 24, K: 12, bBatched: false }, { transB: true });
    fs.writeFileSync(file, JSON.stringify({ [key]: { winner: 'naive', ms: { naive: 1 }, date: '2026-12-01' } }));
    setAutotuneFile(file);
    expect(tuneEntry(key)).toBeUndefined();
    expect(resolveVariant({ Z: 1, M: 20, N: 24, K: 12, bBatched: false }, { transB: true })).not.toBe('naive');
    const r = await autotuneMatmul({ M: 20, N: 24, K: 12 }, { transB: true, reps: 1 });
    expect(r.cached).toBe(false);
    const entry = JSON.parse(fs.readFileSync(file, 'utf8'))[key];
    expect(entry.winner).toBe(r.winner);
    expect(entry.tuner).toBeGreaterThan(1);
    expect(tuneEntry(key)?.winner).toBe(r.winner);
  });

  it('a slow spell while one candidate is timed does not decide the winner (rounds interleave them)', async () => {
    setAutotuneFile(path.join(dir, 'spell.json'));
    // 'fast' takes 2 ms and 'slow' 6 ms, but the first 4 timed calls of the tuning (after each
    // candidate's warm-up call) fall in a 30 ms slow spell: timed one candidate after the other,
    // 'fast' took all of it and lost
    let calls = 0;
    const busy = (ms: number) => {
      const t = performance.now() + ms + (calls++ >= 2 && calls <= 6 ? 30 : 0);
      while (performance.now() < t);
    };
    const r = await autotune('test|spell', { fast: () => busy(2), slow: () => busy(6) }, { reps: 4 });
    expect(r.winner).toBe('fast');
    expect(r.ms.fast).toBeLessThan(r.ms.slow);
  });

  it("keys a CPU adapter's winners by the CPU too (lavapipe's description is the same on every CPU)", async () => {
    const { gpu } = await import('../src/gpu/runtime.ts');
    const cpu = describeCpu(cpuInfo());
    expect(cpu).toMatch(/\(\d+ cores/);
    if (gpu().info.isSoftware) expect(adapterKey()).toContain(cpu);
    else expect(adapterKey()).not.toContain(cpu);
  });

  it('a cache file that cannot be written keeps the winners for this process and says so once', async () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, ''); // a file where the cache's folder should be: not even root can write there
    setAutotuneFile(path.join(blocker, 'autotune.json'));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const r = await autotuneMatmul({ M: 20, N: 24, K: 12 }, { reps: 1 });
      await autotuneMatmul({ M: 20, N: 24, K: 12 }, { transA: true, reps: 1 });
      expect(resolveVariant({ Z: 1, M: 20, N: 24, K: 12, bBatched: false }, {})).toBe(r.winner);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/could not write .*a-file.*last only this process/);
    } finally {
      warn.mockRestore();
    }
  });

  it('tunes the products a run multiplied by rule, at their own shapes, and then uses the winners', async () => {
    setAutotuneFile(path.join(dir, 'used.json'));
    untunedClasses().clear();
    const big = { Z: 1, M: 2560, N: 128, K: 128, bBatched: false }; // over 2^22 multiply-adds: worth tuning
    const A = Tensor.from(randn(2560 * 128, 1), [128, 2560]),
      B = Tensor.from(randn(128 * 128, 2), [128, 128]);
    matmul(A, B, { transA: true }).release();
    matmul(Tensor.from(randn(20 * 12, 3), [20, 12]), Tensor.from(randn(12 * 24, 4), [12, 24])).release(); // too small
    expect([...untunedClasses().keys()]).toEqual([tuneKey(big, { transA: true })]);
    const r = await autotuneUsed();
    expect(untunedClasses().size).toBe(0);
    expect(r).toHaveLength(1);
    expect(r[0].timedShape).toBe('2560x128x128'); // uncapped (autotuneMatmul caps M at 2048)
    expect(Object.keys(r[0].ms).sort()).toEqual([...quickCandidates(big)].sort());
    expect(resolveVariant(big, { transA: true })).toBe(r[0].winner);
    // tuned now: no longer recorded, and it still multiplies right
    matmul(A, B, { transA: true }).release();
    expect(untunedClasses().size).toBe(0);
    expect(await autotuneUsed()).toEqual([]);
    await check({ variant: 'auto', M: 2560, N: 128, K: 128, transA: true });
    for (const t of [A, B]) t.release();
  });
});
