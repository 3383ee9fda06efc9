// Float64 CPU references for every kernel. Plain loops, written for clarity, not speed.

export type Arr = ArrayLike<number>;

/** C[z] = op(A[z]) · op(B[z]) (+bias)(GELU); A is [Z?,M,K] or [Z?,K,M] when transA; B likewise. */
export function matmul(
  a: Arr,
  b: Arr,
  M: number,
  N: number,
  K: number,
  opts: {
    transA?: boolean;
    transB?: boolean;
    batch?: number;
    bBatched?: boolean;
    bias?: Arr;
    gelu?: boolean;
    alpha?: number;
  } = {},
): Float64Array {
  const Z = opts.batch ?? 1;
  const bZ = opts.bBatched === false ? 0 : K * N;
  const alpha = opts.alpha ?? 1;
  const c = new Float64Array(Z * M * N);
  for (let z = 0; z < Z; z++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = opts.transA ? a[z * M * K + k * M + m] : a[z * M * K + m * K + k];
          const bv = opts.transB ? b[z * bZ + n * K + k] : b[z * bZ + k * N + n];
          s += av * bv;
        }
        let v = alpha * s;
        if (opts.bias) v += opts.bias[n];
        if (opts.gelu) v = gelu(v);
        c[(z * M + m) * N + n] = v;
      }
    }
  }
  return c;
}

export function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

export function geluGrad(x: number): number {
  const k = Math.sqrt(2 / Math.PI);
  const t = Math.tanh(k * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
}

function lowbias32(x: number): number {
  let v = x >>> 0;
  v ^= v >>> 16;
  v = Math.imul(v, 0x7feb352d) >>> 0;
  v ^= v >>> 15;
  v = Math.imul(v, 0x846ca68b) >>> 0;
  v ^= v >>> 16;
  return v >>> 0;
}

/** kernels/dropout.wgsl's mask: n elements, 0 where the hash is under p·2³², else 1/(1-p). */
export function dropoutMask(n: number, p: number, seed: number): Float64Array {
  const threshold = Math.min(2 ** 32 - 1, Math.round(p * 2 ** 32));
  const s = lowbias32(seed >>> 0);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lowbias32((s ^ i) >>> 0) >= threshold ? 1 / (1 - p) : 0;
  return out;
}
