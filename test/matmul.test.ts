import { beforeAll, describe, expect, it } from 'vitest';
import { setup, randn, poisoned, expectClose } from './helpers.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { matmul } from '../src/ops/matmul.ts';
import * as ref from '../src/ref/cpu.ts';

beforeAll(setup);

describe('matmul (naive)', () => {
  const shapes: [number, number, number][] = [[1, 1, 1], [3, 17, 65], [65, 3, 127], [17, 257, 33]];
  for (const [M, N, K] of shapes) for (const transA of [false, true]) for (const transB of [false, true]) {
    it(`M=${M} N=${N} K=${K} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`, async () => {
      const a = randn(M * K, 1), b = randn(K * N, 2), bias = randn(N, 3);
      const A = Tensor.from(a, transA ? [K, M] : [M, K]);
      const B = Tensor.from(b, transB ? [N, K] : [K, N]);
      const out = poisoned([M, N]);
      matmul(A, B, { transA, transB, bias: Tensor.from(bias, [N]), gelu: true, out, variant: 'naive' });
      const want = ref.matmul(a, b, M, N, K, { transA, transB, bias, gelu: true });
      expectClose(await out.toArray(), want, 1e-4, 1e-4);
    });
  }
  it('rejects mismatched shapes before dispatch', () => {
    expect(() => matmul(Tensor.empty([3, 4]), Tensor.empty([5, 6]))).toThrow(/matmulNN: A \[3,4\] · B \[5,6\]: inner dimensions 4 and 5 differ/);
  });
});
