// Rows by index and the scatter back (kernels/gather.wgsl): logits only where the loss counts.
import { dispatch, grid, kernel } from '../gpu/runtime.ts';
import { Tensor, expectShape, shapeStr } from '../gpu/tensor.ts';

const F = 'gather.wgsl';

function check(op: string, x: Tensor, rows: Tensor) {
  expectShape(op, 'x', x, [null, null]);
  expectShape(op, 'rows', rows, [null], 'i32');
  if (!x.fitsBinding) throw new Error(`${op}: x ${shapeStr(x.shape)} exceeds one storage binding`);
  return { N: x.shape[0], C: x.shape[1], M: rows.shape[0] };
}

/** y [M, C] = x[rows] for x [N, C] and distinct row indexes rows i32 [M] (each in [0, N): the caller's duty). */
export function gatherRows(x: Tensor, rows: Tensor): Tensor {
  const { C, M } = check('gatherRows', x, rows);
  const y = Tensor.empty([M, C]);
  if (M === 0) return y;
  const [gx, gy] = grid(Math.ceil((M * C) / 256));
  const rB = rows.binding,
    xB = x.binding,
    yB = y.binding;
  dispatch(
    kernel(F, 'gather'),
    { M, C, rows0: rB.base, x0: xB.base, y0: yB.base, row: gx * 256 },
    [rB, xB, yB],
    [gx, gy],
  );
  return y;
}

/** dx [N, C]: dy [M, C] at rows (distinct), zero elsewhere — the backward of gatherRows. */
export function scatterRows(dy: Tensor, rows: Tensor, N: number): Tensor {
  const dx = Tensor.zeros([N, dy.shape[1]]);
  const { C, M } = check('scatterRows', dx, rows);
  expectShape('scatterRows', 'dy', dy, [M, C]);
  if (M === 0) return dx;
  const [gx, gy] = grid(Math.ceil((M * C) / 256));
  const rB = rows.binding,
    dyB = dy.binding,
    dxB = dx.binding;
  dispatch(
    kernel(F, 'scatter'),
    { M, C, rows0: rB.base, dx0: dxB.base, dy0: dyB.base, row: gx * 256 },
    [rB, dyB, dxB],
    [gx, gy],
  );
  return dx;
}
