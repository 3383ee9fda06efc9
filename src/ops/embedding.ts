// Token + position embedding (kernels/embedding.wgsl).
//
// Forward: out[n] = wte[ids[n]] + wpe[posOffset + n % T]. An id outside [0, V) cannot
// read out of bounds: its output row is all zeros (and it gets no gradient).
//
// Backward, deterministic and without float atomics: the ids are sorted on the GPU
// (stable rank sort of (id, n), since the host never sees the ids), then one invocation
// per (run of equal ids, channel) owns that wte row and sums its dout rows in ascending n.
// dwpe: one invocation per (t, c) sums rows n ≡ t (mod T) in ascending n.
// wte / dwte larger than one storage binding (GPT-2: 50257×768×4 = 154 MB) are bound by
// windows of whole rows, one dispatch per window; out is cut into row chunks. dout [N,C]
// (rows read in sorted-id order) and ids must each fit one binding (N·C·4 bytes: 6 MB for
// N = 2048, C = 768).
import { dispatch, grid, kernel, rowsPerBinding, runtime } from '../gpu/runtime.ts';
import { subgroupSize } from '../gpu/texture.ts';
import { Tensor, expectShape, shapeStr } from '../gpu/tensor.ts';

const F = 'embedding.wgsl';

/** Rows per window so that a window of `rows` × `rowElems` f32 always fits one binding. */
function rowsPerWindow(op: string, rowElems: number): number {
  return rowsPerBinding(op, rowElems * 4, `a row of ${rowElems} floats`);
}

/** The kernels' vector width: vec4s where C and every base are multiples of 4 (see the kernel header). */
function width(C: number, ...bases: number[]) {
  return C % 4 === 0 && bases.every((b) => b % 4 === 0) ? { V: 'vec4f', W: 4 } : { V: 'f32', W: 1 };
}

function check(op: string, ids: Tensor, wte: Tensor, wpe: Tensor, T: number) {
  if (ids.rank !== 1) throw new Error(`${op}: ids has shape ${shapeStr(ids.shape)}, expected [N]`);
  expectShape(op, 'ids', ids, [null], 'i32');
  expectShape(op, 'wte', wte, [null, null]);
  const C = wte.shape[1];
  expectShape(op, 'wpe', wpe, [null, C]);
  if (!Number.isInteger(T) || T < 1) throw new Error(`${op}: T = ${T} must be a positive integer`);
  return { N: ids.shape[0], V: wte.shape[0], C, P: wpe.shape[0] };
}

/**
 * out[n] = wte[ids[n]] + wpe[posOffset + n % T]; with `positions` (u32 [N], host values
 * `positionValues` for the bounds check) row n uses wpe[positions[n]] instead (batched decoding).
 */
export function embeddingForward(
  ids: Tensor,
  wte: Tensor,
  wpe: Tensor,
  T: number,
  posOffset = 0,
  at?: { positions: Tensor; values: number[] },
): Tensor {
  const op = 'embeddingForward';
  const { N, V, C, P } = check(op, ids, wte, wpe, T);
  const Tu = Math.min(T, N);
  if (at) {
    expectShape(op, 'positions', at.positions, [N], 'u32');
    const bad = at.values.find((x) => !(Number.isInteger(x) && x >= 0 && x < P));
    if (bad !== undefined) throw new Error(`${op}: position ${bad} exceeds wpe ${shapeStr(wpe.shape)}`);
  } else if (posOffset + Tu > P)
    throw new Error(`${op}: positions ${posOffset}..${posOffset + Tu - 1} exceed wpe ${shapeStr(wpe.shape)}`);
  const out = Tensor.empty([N, C]);
  const rWin = rowsPerWindow(op, C),
    nWin = rowsPerWindow(op, C);
  const idsB = ids.binding;
  const wpeB = at ? wpe.binding : wpe.range(posOffset * C, Tu * C);
  for (let n0 = 0; n0 < N; n0 += nWin) {
    const rows = Math.min(nWin, N - n0);
    const outB = out.range(n0 * C, rows * C);
    const count = rows * C;
    for (let r0 = 0; r0 < V || r0 === 0; r0 += rWin) {
      const nr = Math.min(rWin, V - r0);
      const wteB = nr > 0 ? wte.range(r0 * C, nr * C) : wte.range(0, 0);
      const w = nr > 0 ? width(C, wteB.base, wpeB.base, outB.base) : width(1); // an empty wte binds 4 bytes
      const [gx, gy] = grid(Math.ceil(count / w.W / 256));
      dispatch(
        kernel(F, at ? 'forward_rows' : 'forward', w),
        {
          N,
          C,
          T,
          V,
          ids0: idsB.base,
          wte0: wteB.base,
          wpe0: wpeB.base,
          out0: outB.base,
          r0,
          nr,
          first: r0 === 0 ? 1 : 0,
          row: gx * 256,
          n0,
          count,
        },
        at ? [idsB, wteB, wpeB, outB, at.positions.binding] : [idsB, wteB, wpeB, outB],
        [gx, gy],
      );
    }
  }
  return out;
}

/** The unrolled comparisons of kernels/embedding_sort_sg.wgsl: this lane's key against the chunk's SG keys. */
function sortCompare(SG: number, packed: boolean): string {
  return Array.from({ length: SG }, (_, j) =>
    packed
      ? `    if (subgroupBroadcast(kp, ${j}u) < pk) { rank += 1u; }`
      : `    { let k = subgroupBroadcast(km, ${j}u); if (k < mine || (k == mine && t0 + ${j}u < n)) { rank += 1u; } }`,
  ).join('\n');
}

export function embeddingBackward(ids: Tensor, dout: Tensor, dwte: Tensor, dwpe: Tensor, T: number): void {
  const op = 'embeddingBackward';
  const { N, V, C, P } = check(op, ids, dwte, dwpe, T);
  expectShape(op, 'dout', dout, [N, C]);
  if (Math.min(T, N) > P) throw new Error(`${op}: T = ${T} exceeds dwpe ${shapeStr(dwpe.shape)}`);
  if (!dout.fitsBinding) throw new Error(`${op}: dout ${shapeStr(dout.shape)} exceeds one storage binding`);
  if (N === 0) return;
  const idsB = ids.binding,
    doutB = dout.binding;
  // 1. sort (id, n) on the GPU (through subgroup broadcasts where the subgroup size is fixed:
  // see kernels/embedding_sort_sg.wgsl)
  const perm = Tensor.empty([N], 'u32'),
    sid = Tensor.empty([N], 'u32');
  const SG = runtime().options.subgroups ? subgroupSize() : 0;
  dispatch(
    SG
      ? kernel('embedding_sort_sg.wgsl', 'sort_ids', { SG, COMPARE: sortCompare(SG, V < 0xffff && N <= 65280) })
      : kernel(F, 'sort_ids', width(1)),
    { N, V, ids0: idsB.base },
    [idsB, perm.binding, sid.binding],
    [Math.ceil(N / 256)],
  );
  // 2. dwte, window by window of rows
  const rWin = rowsPerWindow(op, C);
  for (let r0 = 0; r0 < V; r0 += rWin) {
    const nr = Math.min(rWin, V - r0);
    const wB = dwte.range(r0 * C, nr * C);
    const w = width(C, wB.base, doutB.base);
    const cg = Math.ceil(C / w.W / 64);
    const [gx, gy] = grid(Math.ceil(N / 16) * cg); // 16 sorted positions per workgroup (KB)
    dispatch(
      kernel(F, 'dwte_acc', w),
      { N, C, dwte0: wB.base, dout0: doutB.base, r0, nr, row: gx, cgroups: cg },
      [perm.binding, sid.binding, doutB, wB],
      [gx, gy],
    );
  }
  // 3. dwpe rows [0, T)
  const Tu = Math.min(T, N);
  const pB = dwpe.range(0, Tu * C);
  const count = Tu * C;
  const wp = width(C, pB.base, doutB.base);
  const [px, py] = grid(Math.ceil(count / wp.W / 256));
  dispatch(
    kernel(F, 'dwpe_acc', wp),
    { N, C, T, V, ids0: idsB.base, dwpe0: pB.base, dout0: doutB.base, row: px * 256, count },
    [idsB, doutB, pB],
    [px, py],
  );
  perm.release();
  sid.release();
}
