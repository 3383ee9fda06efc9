// Dropout's mask (kernels/dropout.wgsl): 0 with probability p, else 1/(1-p), from a seed and the
// element's index alone. Tensors of any size: windows that each fit one storage binding.
import { dispatch, grid, kernel, rowsPerBinding } from '../gpu/runtime.ts';
import { Tensor } from '../gpu/tensor.ts';

const WG = 256;

/** The drop threshold of the 32-bit hash for probability p (0 ≤ p < 1). */
export function dropThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability ${p} is not in [0, 1)`);
  return Math.min(2 ** 32 - 1, Math.round(p * 2 ** 32));
}

/** A mask of `shape`: each element 0 (probability p) or 1/(1-p), a function of (seed, index). */
export function dropoutMask(shape: number[], p: number, seed: number): Tensor {
  const threshold = dropThreshold(p);
  const out = Tensor.empty(shape);
  const win = rowsPerBinding('dropoutMask', 4, 'one float');
  for (let start = 0; start < out.size; start += win) {
    const n = Math.min(win, out.size - start);
    const r = out.range(start, n);
    const [gx, gy] = grid(Math.ceil(n / WG));
    dispatch(
      kernel('dropout.wgsl', 'dropout_mask'),
      { n, o0: r.base, i0: start, seed: seed >>> 0, threshold, scale: 1 / (1 - p), row: gx * WG },
      [r],
      [gx, gy],
    );
  }
  return out;
}
