// LayerNorm over the last dimension (kernels/layernorm.wgsl).
//
// Forward: per row, mean / variance; writes y and the per-row mean and rstd for the backward
// pass. Backward: dx per row; dw, db as per-block partial sums (one invocation per channel and
// block of R rows, no barriers; with subgroups and vec4s, kernels/layernorm_backward_sg.wgsl
// computes dx and the partials in one kernel) then a second pass that sums the partials over
// blocks in a fixed order: no atomics, deterministic. x/y/dy/dx larger than one binding are
// cut into row chunks.
// Row kernels: with the `subgroups` feature, one subgroup per row reducing with subgroupAdd
// (kernels/layernorm_sg.wgsl: no workgroup barriers, which are costly on CPU adapters such
// as lavapipe); otherwise one workgroup per row with a workgroup-memory tree.
import { dispatch, grid, gpu, kernel, rowsPerBinding, runtime } from '../gpu/runtime.ts';
import { Tensor, expectShape, shapeStr } from '../gpu/tensor.ts';
import { add } from './elementwise.ts';

const F = 'layernorm.wgsl';
const FSG = 'layernorm_sg.wgsl';
const RPW = 8; // rows per workgroup in the subgroup kernels
const RPW_PAIRS = 16; // forward4 takes rows in pairs: with 8-lane subgroups (lavapipe), one pair each
const FB = 'layernorm_backward_sg.wgsl';
const RB = 8; // backward4_wide: rows whose sums a subgroup holds in registers at once
const BPW = 8; // backward4(_wide): blocks of R rows per workgroup (one per 8-lane subgroup)
/**
 * backward4 holds a row in registers, CPL vec4s per lane, up to this many; wider rows take
 * backward4_wide. On lavapipe (8 lanes) 24 is C = 768, where the two kernels tied: at C = 384
 * backward4 took 0.64 of backward4_wide's time, at 128 0.55 (bench/README.md, LayerNorm).
 */
const CPL_MAX = 24;
/**
 * On a CPU adapter, dw/db blocks of at least this many rows: each block loads w and writes its
 * partials once, and the adapter's few threads need few workgroups. 2048 rows, C = 768, lavapipe:
 * blocks of 8 rows 9.9 ms (median), 16 rows 8.4, 32 rows 7.7–9.2; C = 384: 4.33, 3.86, 3.72.
 */
const CPU_BLOCK_ROWS = 32;

/**
 * The subgroup row kernels, unless runtime().options.subgroups is off or the adapter lacks
 * subgroups or may run ones wider than their 64-invocation workgroups (whose lanes would then
 * skip columns, and whose row loops would not advance).
 */
function useSubgroups() {
  const g = gpu();
  const widest = (g.adapter.info as { subgroupMaxSize?: number }).subgroupMaxSize ?? 0;
  return runtime().options.subgroups && g.features.has('subgroups') && widest <= 64;
}

/** vec4 columns per lane for rows of C channels, at the adapter's smallest subgroup size. */
function colsPerLane(C: number) {
  const narrowest = (gpu().adapter.info as { subgroupMinSize?: number }).subgroupMinSize || 4;
  return Math.ceil(C / 4 / narrowest);
}

function defs(C: number) {
  let wg = 32;
  while (wg < 256 && wg * 4 < C) wg *= 2;
  return { WG: wg, VPT: Math.max(1, Math.ceil(C / wg)) };
}

/** Whether the subgroup kernels' vec4 forms apply: C and every base a multiple of 4 floats. */
const vec4Fits = (C: number, ...bases: number[]) => C % 4 === 0 && bases.every((b) => b % 4 === 0);

/** Rows per chunk (a multiple of `mult`) so that rows × C floats fit one binding. */
function chunkRows(op: string, C: number, mult = 1): number {
  return rowsPerBinding(op, C * 4, `${mult} rows of ${C} floats`, mult);
}

function rowsOf(op: string, x: Tensor): { N: number; C: number } {
  if (x.rank < 1) throw new Error(`${op}: x has shape ${shapeStr(x.shape)}, expected [..., C]`);
  const C = x.shape[x.rank - 1];
  return { N: C ? x.size / C : 0, C };
}

export function layernormForward(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  eps = 1e-5,
): { y: Tensor; mean: Tensor; rstd: Tensor } {
  const op = 'layernormForward';
  const { N, C } = rowsOf(op, x);
  expectShape(op, 'x', x, x.shape);
  expectShape(op, 'w', w, [C]);
  expectShape(op, 'b', b, [C]);
  const y = Tensor.empty(x.shape),
    mean = Tensor.empty([N]),
    rstd = Tensor.empty([N]);
  const sg = useSubgroups();
  const wB = w.binding,
    bB = b.binding,
    mB = mean.binding,
    sB = rstd.binding;
  const step = chunkRows(op, C);
  for (let n0 = 0; n0 < N; n0 += step) {
    const rows = Math.min(step, N - n0);
    const xB = x.range(n0 * C, rows * C),
      yB = y.range(n0 * C, rows * C);
    const v4 = sg && vec4Fits(C, xB.base, yB.base, wB.base, bB.base);
    const rpw = v4 ? RPW_PAIRS : RPW;
    const [gx, gy] = grid(sg ? Math.ceil(rows / rpw) : rows);
    const k = !sg ? kernel(F, 'forward', defs(C)) : kernel(FSG, v4 ? 'forward4' : 'forward', { RPW: rpw });
    dispatch(
      k,
      { rows, C, x0: xB.base, y0: yB.base, w0: wB.base, b0: bB.base, m0: mB.base, s0: sB.base, eps, row: gx, n0 },
      [xB, wB, bB, yB, mB, sB],
      [gx, gy],
    );
  }
  return { y, mean, rstd };
}

/**
 * sum = x + r, then LayerNorm(sum): the residual add fused into the next LayerNorm (inference),
 * one pass over x and r where the subgroup vec4 kernel applies (residual_forward4), else an
 * add and then layernormForward. Returns the residual stream's new value with the forward's.
 */
export function residualLayernormForward(
  x: Tensor,
  r: Tensor,
  w: Tensor,
  b: Tensor,
  eps = 1e-5,
): { sum: Tensor; y: Tensor; mean: Tensor; rstd: Tensor } {
  const op = 'residualLayernormForward';
  const { N, C } = rowsOf(op, x);
  expectShape(op, 'r', r, x.shape);
  expectShape(op, 'w', w, [C]);
  expectShape(op, 'b', b, [C]);
  const wB = w.binding,
    bB = b.binding;
  const step = chunkRows(op, C);
  // with C a multiple of 4, every chunk's base is as aligned as the tensor's first element
  const fused = useSubgroups() && vec4Fits(C, wB.base, bB.base, x.elementOffset, r.elementOffset);
  if (!fused) {
    const sum = add(x, r);
    return { sum, ...layernormForward(sum, w, b, eps) };
  }
  const sum = Tensor.empty(x.shape),
    y = Tensor.empty(x.shape),
    mean = Tensor.empty([N]),
    rstd = Tensor.empty([N]);
  const mB = mean.binding,
    sB = rstd.binding;
  const k = kernel(FSG, 'residual_forward4', { RPW });
  for (let n0 = 0; n0 < N; n0 += step) {
    const rows = Math.min(step, N - n0);
    const [xB, rB, sumB, yB] = [x, r, sum, y].map((t) => t.range(n0 * C, rows * C));
    const [gx, gy] = grid(Math.ceil(rows / RPW));
    dispatch(
      k,
      {
        rows,
        C,
        x0: xB.base,
        r0: rB.base,
        sum0: sumB.base,
        y0: yB.base,
        w0: wB.base,
        b0: bB.base,
        m0: mB.base,
        s0: sB.base,
        eps,
        row: gx,
        n0,
      },
      [xB, wB, bB, yB, mB, sB, rB, sumB],
      [gx, gy],
    );
  }
  return { sum, y, mean, rstd };
}

/**
 * dx, dw, db of y = layernorm(x)·w + b given dy. Each of `into`'s tensors, where given, receives
 * its gradient added to what it holds (a residual stream's gradient so far; a parameter's
 * gradient buffer), in the kernels that compute it, instead of a fresh tensor and a separate
 * accumulate pass; the result then names that tensor.
 */
export function layernormBackward(
  dy: Tensor,
  x: Tensor,
  w: Tensor,
  mean: Tensor,
  rstd: Tensor,
  into: { dx?: Tensor; dw?: Tensor; db?: Tensor } = {},
): { dx: Tensor; dw: Tensor; db: Tensor } {
  const op = 'layernormBackward';
  const { N, C } = rowsOf(op, x);
  expectShape(op, 'x', x, x.shape);
  expectShape(op, 'dy', dy, x.shape);
  expectShape(op, 'w', w, [C]);
  expectShape(op, 'mean', mean, [N]);
  expectShape(op, 'rstd', rstd, [N]);
  if (into.dx) expectShape(op, 'dx', into.dx, x.shape);
  if (into.dw) expectShape(op, 'dw', into.dw, [C]);
  if (into.db) expectShape(op, 'db', into.db, [C]);
  if (!into.dw !== !into.db) throw new Error(`${op}: dw and db accumulate together or not at all`);
  const dx = into.dx ?? Tensor.empty(x.shape),
    dw = into.dw ?? Tensor.empty([C]),
    db = into.db ?? Tensor.empty([C]);
  // rows per dw/db block: at most 256 blocks (and the partials [nblk, 2C] must fit a binding);
  // with subgroups a multiple of RB (backward4_wide takes a block's rows RB at a time), and on a
  // CPU adapter at least CPU_BLOCK_ROWS (or what one binding holds)
  const maxBlk = Math.min(256, rowsPerBinding(op, 8 * C, `the dw/db partials of ${C} channels`));
  const sg = useSubgroups();
  const unit = sg ? RB : 1;
  let R = unit * Math.max(1, Math.ceil(N / maxBlk / unit));
  if (sg && gpu().info.isSoftware) R = Math.max(R, Math.min(CPU_BLOCK_ROWS, chunkRows(op, C, unit)));
  const nblk = Math.ceil(N / R);
  const part = Tensor.empty([Math.max(1, nblk), 2 * C]);
  const wB = w.binding,
    mB = mean.binding,
    sB = rstd.binding,
    pB = part.binding;
  const step = chunkRows(op, C, R);
  for (let n0 = 0; n0 < N; n0 += step) {
    const rows = Math.min(step, N - n0);
    const xB = x.range(n0 * C, rows * C),
      dyB = dy.range(n0 * C, rows * C),
      dxB = dx.range(n0 * C, rows * C);
    const params = {
      rows,
      C,
      x0: xB.base,
      dy0: dyB.base,
      w0: wB.base,
      m0: mB.base,
      s0: sB.base,
      dx0: dxB.base,
      n0,
      R,
      acc: into.dx ? 1 : 0,
    };
    if (sg && vec4Fits(C, xB.base, dyB.base, wB.base, dxB.base, pB.base)) {
      // dx and the dw/db partials in one kernel
      const [gx, gy] = grid(Math.ceil(Math.ceil(rows / R) / BPW));
      const cpl = colsPerLane(C);
      const k = kernel(FB, cpl <= CPL_MAX ? 'backward4' : 'backward4_wide', { RB, BPW, CPL: Math.min(cpl, CPL_MAX) });
      dispatch(k, { ...params, row: gx }, [dyB, xB, wB, mB, sB, dxB, pB], [gx, gy]);
      continue;
    }
    // dx per row, then the dw/db partials per block of R rows
    const [gx, gy] = grid(sg ? Math.ceil(rows / RPW) : rows);
    const kdx = sg ? kernel(FSG, 'backward_dx', { RPW }) : kernel(F, 'backward_dx', defs(C));
    dispatch(kdx, { ...params, row: gx }, [dyB, xB, wB, mB, sB, dxB], [gx, gy]);
    const dw4 = vec4Fits(C, xB.base, dyB.base, pB.base);
    dispatch(
      kernel(F, dw4 ? 'dwdb4' : 'dwdb', defs(C)),
      { ...params, row: gx },
      [dyB, xB, mB, sB, pB],
      [Math.ceil(C / (dw4 ? 4 : 1) / 64), Math.ceil(rows / R)],
    );
  }
  const dwB = dw.binding,
    dbB = db.binding;
  const r4 = vec4Fits(C, pB.base);
  dispatch(
    kernel(F, r4 ? 'reduce4' : 'reduce', defs(C)),
    { C, nblk, dw0: dwB.base, db0: dbB.base, acc: into.dw ? 1 : 0 },
    [pB, dwB, dbB],
    [Math.ceil((2 * C) / (r4 ? 4 : 1) / 64)],
  );
  part.release();
  return { dx, dw, db };
}
