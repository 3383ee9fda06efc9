// argmaxRows (src/ops/argmax.ts) against argmax() of src/model/sample.ts: random rows, ties
// (the first maximum wins), a maximum past n ignored, the last element, rows of one.
import { beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.ts';
import { argmax } from '../src/model/sample.ts';
import { argmaxRows } from '../src/ops/argmax.ts';
import { randn, setup } from './helpers.ts';

beforeAll(setup);

describe('argmaxRows', () => {
  it('picks the first maximum of each row below n, as the CPU argmax does', async () => {
    const R = 5,
      S = 1000,
      n = 997;
    const x = randn(R * S, 3);
    x[1 * S + 10] = 9;
    x[1 * S + 700] = 9; // a tie: the first wins
    x[2 * S + 998] = 50; // past n: ignored
    x[3 * S + 996] = 20; // the last counted element
    x.fill(-1, 4 * S, 5 * S); // all equal: index 0
    const got = await argmaxRows(Tensor.from(x, [R, S]), n).read();
    const want = Array.from({ length: R }, (_, r) => argmax(x.subarray(r * S, (r + 1) * S), n));
    expect(Array.from(got)).toEqual(want);
    expect(want.slice(1, 5)).toEqual([10, want[2], 996, 0]);
    expect(Array.from(await argmaxRows(Tensor.from([3], [1, 1]), 1).read())).toEqual([0]);
    expect(() => argmaxRows(Tensor.from([1, 2], [1, 2]), 3)).toThrow(/1 <= n <= S/);
  });
});
