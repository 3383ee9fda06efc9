// Greedy decoding's argmax on the GPU (kernels/argmax.wgsl): the first maximum of each row's
// first n entries, so that a decode step can feed its choice to the next without a read-back.
import { dispatch, kernel } from '../gpu/runtime.ts';
import { Tensor, shapeStr } from '../gpu/tensor.ts';

/** i32 [R]: for each row of x [R, S], the lowest index below n (n ≤ S) of its maximum. */
export function argmaxRows(x: Tensor, n: number): Tensor {
  const [R, S] = x.shape;
  if (x.rank !== 2 || x.dtype !== 'f32' || !(n >= 1 && n <= S))
    throw new Error(`argmaxRows: x ${shapeStr(x.shape)}:${x.dtype} with n = ${n}, expected f32 [R, S] and 1 <= n <= S`);
  const out = new Tensor([R], 'i32');
  const xr = x.binding,
    o = out.binding;
  dispatch(kernel('argmax.wgsl', 'main'), { n, stride: S, x0: xr.base, o0: o.base }, [xr, o], [R]);
  return out;
}
