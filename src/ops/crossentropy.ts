// Fused softmax cross-entropy over a (padded) vocabulary (kernels/crossentropy.wgsl).
//
// One workgroup per row reads the row once for an online max / sum of exponentials, then
// (with grad) once more to write dlogits: loss and gradient in one kernel, and the loss
// total in a second, deterministic one. logits larger than one storage binding (e.g.
// [2048, 50304] f32 = 412 MB) are processed in chunks of whole rows.
import { dispatch, dummy, grid, gpu, kernel, rowsPerBinding, runtime } from '../gpu/runtime.ts';
import { Tensor, expectShape, shapeStr } from '../gpu/tensor.ts';

// A second placeholder buffer: the runtime's dummy() may already fill the (read-only)
// weights slot, and one buffer cannot be bound read-only and writable in one dispatch.
function writableDummy() {
  const buffer = runtime().memo('crossentropy-dummy', () =>
    gpu().device.createBuffer({ label: 'crossentropy-dummy', size: 256, usage: GPUBufferUsage.STORAGE }),
  );
  return { buffer, offset: 0, size: 256, base: 0 };
}

export interface CrossEntropyOptions {
  /** the real vocabulary V ≤ Vp: columns ≥ V are excluded from the softmax (default Vp) */
  vocab?: number;
  /** [N] per-position weights (e.g. a 0/1 answer mask); default 1 */
  weights?: Tensor;
  /** loss = Σ_n w_n·l_n / normalizer (e.g. the number of target tokens) */
  normalizer: number;
  /** compute dlogits (default true) */
  grad?: boolean;
  /** write dlogits over the logits (saves N·Vp·4 bytes); then dlogits === logits */
  inPlace?: boolean;
}

export interface CrossEntropyResult {
  /** [N] unweighted -log p(target); 0 where the target is ignored (outside [0, vocab)) */
  losses: Tensor;
  /** [1] Σ w_n·losses_n / normalizer */
  loss: Tensor;
  /** logits' shape: (softmax - onehot)·w_n / normalizer; 0 in padded columns and ignored rows */
  dlogits?: Tensor;
}

/**
 * Cross-entropy of logits [..., Vp] (N rows) against targets i32 [N]; a target < 0 (or
 * ≥ vocab) ignores its row: loss 0, gradient 0.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, o: CrossEntropyOptions): CrossEntropyResult {
  const op = 'crossEntropy';
  if (logits.rank < 2) throw new Error(`${op}: logits has shape ${shapeStr(logits.shape)}, expected [N, Vp]`);
  expectShape(op, 'logits', logits, logits.shape);
  const Vp = logits.shape[logits.rank - 1];
  const N = Vp ? logits.size / Vp : 0;
  const V = o.vocab ?? Vp;
  if (!Number.isInteger(V) || V < 1 || V > Vp)
    throw new Error(`${op}: vocab ${V} must be in [1, ${Vp}] for logits ${shapeStr(logits.shape)}`);
  if (targets.dtype !== 'i32') throw new Error(`${op}: targets has dtype ${targets.dtype}, expected i32`);
  if (targets.size !== N)
    throw new Error(
      `${op}: targets ${shapeStr(targets.shape)} should hold ${N} values for logits ${shapeStr(logits.shape)}`,
    );
  if (o.weights && (o.weights.dtype !== 'f32' || o.weights.size !== N)) {
    throw new Error(`${op}: weights ${shapeStr(o.weights.shape)}:${o.weights.dtype} should be f32 with ${N} values`);
  }
  if (!(o.normalizer > 0) || !Number.isFinite(o.normalizer))
    throw new Error(`${op}: normalizer ${o.normalizer} must be a positive number`);
  const grad = o.grad ?? true;
  const inPlace = grad && !!o.inPlace;
  const losses = Tensor.empty([N]),
    loss = Tensor.empty([1]);
  const dlogits = grad ? (inPlace ? logits : Tensor.empty(logits.shape)) : undefined;
  const W = !!o.weights;
  const defs = {
    GRAD: grad,
    WEIGHTS: W,
    INPLACE: inPlace,
    LACCESS: inPlace ? 'read_write' : 'read',
    INPLACE_FN: inPlace ? 'fn logits_out(i: u32, v: f32) { logits[i] = v; }' : 'fn logits_out(i: u32, v: f32) {}',
  };
  const tB = targets.binding,
    sB = losses.binding;
  const wB = o.weights ? o.weights.binding : { ...dummy(), base: 0 };
  const step = N > 0 ? rowsPerBinding(op, Vp * 4, `a row of ${Vp} logits`) : 1;
  const inv = 1 / o.normalizer;
  for (let n0 = 0; n0 < N; n0 += step) {
    const rows = Math.min(step, N - n0);
    const lB = logits.range(n0 * Vp, rows * Vp);
    const dB = dlogits && !inPlace ? dlogits.range(n0 * Vp, rows * Vp) : writableDummy();
    const [gx, gy] = grid(rows);
    // the vec4 form where the layout allows (see the kernel's header)
    const vec4 = !inPlace && Vp % 4 === 0 && lB.base % 4 === 0 && dB.base % 4 === 0;
    dispatch(
      kernel('crossentropy.wgsl', vec4 ? 'rows4' : 'rows', defs),
      { rows, Vp, V, n0, l0: lB.base, d0: dB.base, t0: tB.base, w0: wB.base, s0: sB.base, row: gx, inv_norm: inv, N },
      [lB, tB, wB, sB, dB],
      [gx, gy],
    );
  }
  const oB = loss.binding;
  dispatch(
    kernel('crossentropy.wgsl', 'total', defs),
    { N, s0: sB.base, w0: wB.base, loss0: oB.base, inv_norm: inv },
    [sB, wB, oB],
    [1],
  );
  return dlogits ? { losses, loss, dlogits } : { losses, loss };
}
