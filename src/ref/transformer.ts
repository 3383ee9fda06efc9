// Float64 CPU references for the transformer-block kernels (embedding, layernorm,
// attention, cross-entropy, AdamW, reductions): the ground truth of the tests.
// Plain loops written for clarity, not speed. Row-major everywhere.
import type { Arr } from './cpu.ts';

// ---------------------------------------------------------------- embedding
/** out[n] = wte[ids[n]] + wpe[posOffset + n % T]; an id outside [0, V) gives a zero row. */
export function embeddingForward(
  ids: Arr,
  wte: Arr,
  wpe: Arr,
  V: number,
  C: number,
  T: number,
  posOffset = 0,
): Float64Array {
  const N = ids.length;
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    if (!(id >= 0 && id < V)) continue;
    const t = posOffset + (n % T);
    for (let c = 0; c < C; c++) out[n * C + c] = wte[id * C + c] + wpe[t * C + c];
  }
  return out;
}

/** Gradients of embeddingForward (posOffset 0): fresh dwte [V,C], dwpe [P,C]; invalid ids get none. */
export function embeddingBackward(ids: Arr, dout: Arr, V: number, P: number, C: number, T: number) {
  const N = ids.length;
  const dwte = new Float64Array(V * C),
    dwpe = new Float64Array(P * C);
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    if (!(id >= 0 && id < V)) continue;
    const t = n % T;
    for (let c = 0; c < C; c++) {
      dwte[id * C + c] += dout[n * C + c];
      dwpe[t * C + c] += dout[n * C + c];
    }
  }
  return { dwte, dwpe };
}

// ---------------------------------------------------------------- layernorm
export function layernormForward(x: Arr, w: Arr, b: Arr, N: number, C: number, eps = 1e-5) {
  const y = new Float64Array(N * C),
    mean = new Float64Array(N),
    rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[n * C + c];
    const mu = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[n * C + c] - mu) ** 2;
    const r = 1 / Math.sqrt(v / C + eps);
    mean[n] = mu;
    rstd[n] = r;
    for (let c = 0; c < C; c++) y[n * C + c] = (x[n * C + c] - mu) * r * w[c] + b[c];
  }
  return { y, mean, rstd };
}

export function layernormBackward(dy: Arr, x: Arr, w: Arr, N: number, C: number, eps = 1e-5) {
  const { mean, rstd } = layernormForward(x, w, new Float64Array(C), N, C, eps);
  const dx = new Float64Array(N * C),
    dw = new Float64Array(C),
    db = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    let s1 = 0,
      s2 = 0;
    for (let c = 0; c < C; c++) {
      const xh = (x[n * C + c] - mean[n]) * rstd[n];
      const g = w[c] * dy[n * C + c];
      s1 += g;
      s2 += g * xh;
      dw[c] += dy[n * C + c] * xh;
      db[c] += dy[n * C + c];
    }
    for (let c = 0; c < C; c++) {
      const xh = (x[n * C + c] - mean[n]) * rstd[n];
      dx[n * C + c] = rstd[n] * (w[c] * dy[n * C + c] - s1 / C - (xh * s2) / C);
    }
  }
  return { dx, dw, db };
}

// ---------------------------------------------------------------- attention
/**
 * Causal multi-head attention on qkv [B,T,3C] (q | k | v, head h at columns h·hd..).
 * Returns y [B,T,C] and lse [B,nHead,T] (logsumexp of the scaled scores of each row).
 */
export function attentionForward(qkv: Arr, B: number, T: number, nHead: number) {
  const C3 = qkv.length / (B * T),
    C = C3 / 3,
    hd = C / nHead,
    scale = 1 / Math.sqrt(hd);
  const y = new Float64Array(B * T * C),
    lse = new Float64Array(B * nHead * T);
  const s = new Float64Array(T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < nHead; h++)
      for (let i = 0; i < T; i++) {
        const qi = (b * T + i) * C3 + h * hd;
        let m = -Infinity;
        for (let j = 0; j <= i; j++) {
          const kj = (b * T + j) * C3 + C + h * hd;
          let d = 0;
          for (let e = 0; e < hd; e++) d += qkv[qi + e] * qkv[kj + e];
          s[j] = d * scale;
          m = Math.max(m, s[j]);
        }
        let l = 0;
        for (let j = 0; j <= i; j++) {
          s[j] = Math.exp(s[j] - m);
          l += s[j];
        }
        lse[(b * nHead + h) * T + i] = m + Math.log(l);
        const yi = (b * T + i) * C + h * hd;
        for (let j = 0; j <= i; j++) {
          const vj = (b * T + j) * C3 + 2 * C + h * hd;
          for (let e = 0; e < hd; e++) y[yi + e] += (s[j] / l) * qkv[vj + e];
        }
      }
  return { y, lse };
}

/** dqkv [B,T,3C] of attentionForward for the upstream gradient dy [B,T,C]. */
export function attentionBackward(dy: Arr, qkv: Arr, B: number, T: number, nHead: number): Float64Array {
  const C3 = qkv.length / (B * T),
    C = C3 / 3,
    hd = C / nHead,
    scale = 1 / Math.sqrt(hd);
  const dqkv = new Float64Array(qkv.length);
  const p = new Float64Array(T),
    dp = new Float64Array(T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < nHead; h++)
      for (let i = 0; i < T; i++) {
        const qi = (b * T + i) * C3 + h * hd,
          yi = (b * T + i) * C + h * hd;
        let m = -Infinity;
        for (let j = 0; j <= i; j++) {
          const kj = (b * T + j) * C3 + C + h * hd;
          let d = 0;
          for (let e = 0; e < hd; e++) d += qkv[qi + e] * qkv[kj + e];
          p[j] = d * scale;
          m = Math.max(m, p[j]);
        }
        let l = 0;
        for (let j = 0; j <= i; j++) {
          p[j] = Math.exp(p[j] - m);
          l += p[j];
        }
        let D = 0;
        for (let j = 0; j <= i; j++) {
          p[j] /= l;
          const vj = (b * T + j) * C3 + 2 * C + h * hd;
          let d = 0;
          for (let e = 0; e < hd; e++) d += dy[yi + e] * qkv[vj + e];
          dp[j] = d;
          D += p[j] * d;
        }
        for (let j = 0; j <= i; j++) {
          const kj = (b * T + j) * C3 + C + h * hd,
            vj = kj + C;
          const ds = p[j] * (dp[j] - D) * scale;
          for (let e = 0; e < hd; e++) {
            dqkv[qi + e] += ds * qkv[kj + e];
            dqkv[kj + e] += ds * qkv[qi + e];
            dqkv[vj + e] += p[j] * dy[yi + e];
          }
        }
      }
  return dqkv;
}

// ---------------------------------------------------------------- cross-entropy
/**
 * Per-row -log softmax(logits[n, :vocab])[targets[n]] (0 where targets[n] < 0 or >= vocab),
 * loss = Σ w_n·l_n / normalizer, dlogits = (softmax - onehot)·w_n / normalizer (0 in padded
 * columns and ignored rows).
 */
export function crossEntropy(
  logits: Arr,
  targets: Arr,
  N: number,
  Vp: number,
  o: { vocab?: number; weights?: Arr; normalizer: number },
) {
  const V = o.vocab ?? Vp;
  const losses = new Float64Array(N),
    dlogits = new Float64Array(N * Vp);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const t = targets[n];
    if (!(t >= 0 && t < V)) continue;
    let m = -Infinity;
    for (let c = 0; c < V; c++) m = Math.max(m, logits[n * Vp + c]);
    let s = 0;
    for (let c = 0; c < V; c++) s += Math.exp(logits[n * Vp + c] - m);
    const lse = m + Math.log(s);
    losses[n] = lse - logits[n * Vp + t];
    const w = o.weights ? o.weights[n] : 1;
    loss += w * losses[n];
    for (let c = 0; c < V; c++)
      dlogits[n * Vp + c] = ((Math.exp(logits[n * Vp + c] - lse) - (c === t ? 1 : 0)) * w) / o.normalizer;
  }
  return { losses, loss: loss / o.normalizer, dlogits };
}

// ---------------------------------------------------------------- optimiser
export function sumSquares(x: Arr): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

export interface AdamWOpts {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
  /** clip the (scaled) gradient to this global norm, PyTorch clip_grad_norm_ style */
  clip?: number;
  /** the norm of the unscaled gradient (as gradNorm(g) returns); computed from g when omitted */
  gradNorm?: number;
  gradScale?: number;
}

/** One PyTorch AdamW step in place (float64). */
export function adamw(p: Float64Array, g: Arr, m: Float64Array, v: Float64Array, o: AdamWOpts) {
  const gs = o.gradScale ?? 1;
  let scale = gs;
  if (o.clip !== undefined) {
    const norm = (o.gradNorm ?? Math.sqrt(sumSquares(g))) * gs;
    scale *= Math.min(1, o.clip / (norm + 1e-6));
  }
  const bc1 = 1 - o.beta1 ** o.step,
    bc2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] * scale;
    p[i] *= 1 - o.lr * o.weightDecay;
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * gi;
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
    p[i] -= ((o.lr / bc1) * m[i]) / (Math.sqrt(v[i]) / Math.sqrt(bc2) + o.eps);
  }
}

// ---------------------------------------------------------------- gradient checking
/**
 * Central finite differences of the scalar `f` at `x` along the coordinates `idx`:
 * (f(x + h·e_i) - f(x - h·e_i)) / 2h. `x` is restored afterwards.
 */
export function finiteDiff(f: (x: Float64Array) => number, x: Float64Array, idx: number[], h = 1e-5): number[] {
  return idx.map((i) => {
    const x0 = x[i];
    x[i] = x0 + h;
    const fp = f(x);
    x[i] = x0 - h;
    const fm = f(x);
    x[i] = x0;
    return (fp - fm) / (2 * h);
  });
}

/** Σ a·r: the scalar whose gradient with respect to a is r (used to test backward passes). */
export function dot(a: ArrayLike<number>, r: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * r[i];
  return s;
}
