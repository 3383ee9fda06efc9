// The differentiable ops of a GPT-2: each runs its forward kernel(s), gives the tensors it
// creates to the tape (released by tape.free()), and records a backward closure (a no-op
// on a no-grad tape, used for inference).
//
// Gradients of parameters go straight into their persistent gradient views (matmul with
// beta = 1 accumulates dW in place); gradients of activations are fresh tensors handed to
// Var.accumulate, which takes ownership.
//
// An op's output requires a gradient only if one of its inputs does: below a frozen (LoRA)
// base's first adapter nothing is differentiated, and a frozen weight's dW product is never run.
import { runtime } from '../gpu/runtime.ts';
import { Tensor } from '../gpu/tensor.ts';
import { matmul, type MatmulOpts } from '../ops/matmul/index.ts';
import { accumulate, add, copy, gelu as geluFwd, geluBackward, fill, mul } from '../ops/elementwise.ts';
import { dropoutMask } from '../ops/dropout.ts';
import { layernormForward, layernormBackward, residualLayernormForward } from '../ops/layernorm.ts';
import { embeddingForward, embeddingBackward } from '../ops/embedding.ts';
import { attentionForward, attentionBackward, cachedAttend, attentionDecodeRows } from '../ops/attention.ts';
import { crossEntropy } from '../ops/crossentropy.ts';
import { gatherRows as gatherFwd, scatterRows } from '../ops/gather.ts';
import { gemvHalf, type HalfMatrix } from '../ops/gemv_f16.ts';
import { type Tape, Var, takeGrad } from './tape.ts';

/** v.grad += op(a)·op(b), in place for parameters. */
function accumulateMatmul(v: Var, a: Tensor, b: Tensor, o: MatmulOpts) {
  if (!v.requiresGrad) return;
  if (v.persistentGrad) matmul(a, b, { ...o, out: v.persistentGrad, beta: 1 });
  else v.accumulate(matmul(a, b, o));
}

/** v.grad += t (consumes t) */
function accumulateAdd(v: Var, t: Tensor) {
  if (!v.requiresGrad) {
    t.release();
    return;
  }
  v.accumulate(t);
}

/** Whether any of these Vars needs a gradient (an op's output does then). */
function anyGrad(...vs: (Var | null)[]): boolean {
  return vs.some((v) => v?.requiresGrad);
}

/** A [1, n] row of ones, made once per n. */
function ones(n: number): Tensor {
  return runtime().memo(`ones:${n}`, () => {
    const t = Tensor.empty([1, n]);
    fill(t, 1);
    return t;
  });
}

/** y = x·W + b with HF Conv1D layout: x [N, Cin], W [Cin, Cout], b [Cout]. */
export function linear(tape: Tape, x: Var, w: Var, b: Var | null): Var {
  const y = new Var(matmul(x.value, w.value, { bias: b?.value }), anyGrad(x, w, b));
  tape.own(y.value);
  tape.record(() => {
    const gy = takeGrad(y);
    if (!gy) return;
    if (x.requiresGrad) x.accumulate(matmul(gy, w.value, { transB: true })); // dx = dy·Wᵀ
    accumulateMatmul(w, x.value, gy, { transA: true }); // dW += xᵀ·dy
    if (b?.requiresGrad) accumulateMatmul(b, ones(gy.shape[0]), gy, {}); // db += 1ᵀ·dy
    gy.release();
  });
  return y;
}

/** A LoRA adapter on one linear: A [in, r] (lora_A), B [r, out] (lora_B), scale = alpha / r. */
export interface LoraAdapter {
  A: Var;
  B: Var;
  scale: number;
  /** dropout probability on the adapter's input (training tapes only) */
  dropout: number;
  /** the dropout mask's seed (a new one each training forward pass) */
  seed: number;
}

/**
 * y = x·W + b + scale·(dropout(x)·A)·B, LoRA (Hu et al. 2021) on an HF Conv1D linear:
 * x [N, in], W [in, out], A [in, r], B [r, out]. W and b are usually frozen: then only the
 * adapter's two small products and dx run backward, never dW.
 */
export function loraLinear(tape: Tape, x: Var, w: Var, b: Var | null, lora: LoraAdapter): Var {
  const { A, B, scale } = lora;
  const drop = tape.recording && lora.dropout > 0;
  const mask = drop ? dropoutMask(x.shape, lora.dropout, lora.seed) : null; // [N, in]
  const xd = mask ? mul(x.value, mask) : x.value; // dropout(x) [N, in]
  const h = matmul(xd, A.value, { alpha: scale }); // scale·xd·A [N, r]
  const y = new Var(matmul(x.value, w.value, { bias: b?.value }), anyGrad(x, w, b, A, B)); // x·W + b [N, out]
  matmul(h, B.value, { out: y.value, beta: 1 }); // y += h·B
  tape.own(y.value, h);
  if (mask) tape.own(mask, xd);
  tape.record(() => {
    const gy = takeGrad(y);
    if (!gy) return;
    accumulateMatmul(B, h, gy, { transA: true }); // dB += hᵀ·dy
    const needH = A.requiresGrad || x.requiresGrad;
    const dh = needH ? matmul(gy, B.value, { transB: true, alpha: scale }) : null; // d(xd·A) = scale·dy·Bᵀ [N, r]
    if (dh) accumulateMatmul(A, xd, dh, { transA: true }); // dA += xdᵀ·d(xd·A)
    if (x.requiresGrad && dh) {
      const dx = matmul(gy, w.value, { transB: true }); // dy·Wᵀ
      if (mask) {
        const dxd = matmul(dh, A.value, { transB: true }); // d(xd) = d(xd·A)·Aᵀ
        const dxm = mul(dxd, mask); // through the same mask
        accumulate(dx, dxm);
        dxd.release();
        dxm.release();
      } else matmul(dh, A.value, { transB: true, out: dx, beta: 1 }); // += d(xd·A)·Aᵀ
      x.accumulate(dx);
    }
    dh?.release();
    accumulateMatmul(w, x.value, gy, { transA: true }); // dW += xᵀ·dy (skipped when frozen)
    if (b?.requiresGrad) accumulateMatmul(b, ones(gy.shape[0]), gy, {}); // db += 1ᵀ·dy
    gy.release();
  });
  return y;
}

/**
 * y = gelu(x·W + b), the MLP's first half. On a no-grad tape (inference) one matmul with the
 * bias and GELU in its epilogue: no pre-activation tensor, no separate GELU pass. Training
 * keeps the pre-activation, which GELU's backward needs: linear, then gelu.
 */
export function linearGelu(tape: Tape, x: Var, w: Var, b: Var): Var {
  if (tape.recording) return gelu(tape, linear(tape, x, w, b));
  const y = new Var(matmul(x.value, w.value, { bias: b.value, gelu: true }), anyGrad(x, w, b));
  tape.own(y.value);
  return y;
}

/** y = x·Wᵀ (+ b) (then GELU) against f16 weights W [N, K] (decoding: no-grad tapes only). */
export function linearHalf(tape: Tape, x: Var, w: HalfMatrix, b: Var | null, o: { gelu?: boolean } = {}): Var {
  if (tape.recording) throw new Error('linearHalf is for inference (no-grad tapes)');
  const y = new Var(gemvHalf(x.value, w, { bias: b?.value, gelu: o.gelu }), false);
  tape.own(y.value);
  return y;
}

/** logits = x·wteᵀ (the tied lm_head): x [N, C], wte [Vp, C] → [N, Vp]. */
export function lmHead(tape: Tape, x: Var, wte: Var): Var {
  const y = new Var(matmul(x.value, wte.value, { transB: true }), anyGrad(x, wte));
  tape.own(y.value);
  tape.record(() => {
    const gy = takeGrad(y);
    if (!gy) return;
    if (x.requiresGrad) x.accumulate(matmul(gy, wte.value, {})); // dx = dlogits·wte
    accumulateMatmul(wte, gy, x.value, { transA: true }); // dwte += dlogitsᵀ·x
    gy.release();
  });
  return y;
}

/** y [M, C] = x[rows]: the rows of x [N, C] at distinct indexes rows (i32 [M]); the gradient is scattered back. */
export function gatherRows(tape: Tape, x: Var, rows: Tensor): Var {
  const N = x.value.shape[0];
  const y = new Var(gatherFwd(x.value, rows), x.requiresGrad);
  tape.own(y.value);
  tape.record(() => {
    const gy = takeGrad(y);
    if (!gy) return;
    accumulateAdd(x, scatterRows(gy, rows, N));
    gy.release();
  });
  return y;
}

export function gelu(tape: Tape, x: Var): Var {
  const y = new Var(geluFwd(x.value), x.requiresGrad);
  tape.own(y.value);
  tape.record(() => {
    const gy = takeGrad(y);
    if (!gy) return;
    accumulateAdd(x, geluBackward(x.value, gy));
    gy.release();
  });
  return y;
}

/** The residual connection a + b. */
export function residual(tape: Tape, a: Var, b: Var): Var {
  const y = new Var(add(a.value, b.value), anyGrad(a, b));
  tape.own(y.value);
  tape.record(() => {
    const gy = takeGrad(y);
    if (!gy) return;
    // the same gradient flows to both inputs: the second gets a copy
    if (a.requiresGrad && b.requiresGrad) {
      a.accumulate(copy(gy));
      b.accumulate(gy);
    } else if (a.requiresGrad) a.accumulate(gy);
    else if (b.requiresGrad) b.accumulate(gy);
    else gy.release();
  });
  return y;
}

export function layernorm(tape: Tape, x: Var, w: Var, b: Var, eps = 1e-5): Var {
  const { y: yt, mean, rstd } = layernormForward(x.value, w.value, b.value, eps);
  const y = new Var(yt, anyGrad(x, w, b));
  tape.own(yt, mean, rstd);
  tape.record(() => {
    const gy = takeGrad(y);
    if (!gy) return;
    // gradients that already exist (the residual stream's, the parameters' buffers) take theirs
    // added in the kernels; the others get fresh tensors
    const xInto = x.requiresGrad ? (x.gradient ?? undefined) : undefined;
    const pInto = w.requiresGrad && b.requiresGrad && w.persistentGrad && b.persistentGrad;
    const r = layernormBackward(gy, x.value, w.value, mean, rstd, {
      dx: xInto,
      ...(pInto ? { dw: w.persistentGrad!, db: b.persistentGrad! } : {}),
    });
    if (!xInto) accumulateAdd(x, r.dx);
    if (!pInto) {
      accumulateAdd(w, r.dw);
      accumulateAdd(b, r.db);
    }
    gy.release();
  });
  return y;
}

/**
 * x + r, and LayerNorm(x + r): a residual add and the LayerNorm that reads its result. On a
 * no-grad tape (inference) one pass (residualLayernormForward); training records the two ops,
 * since the residual stream's gradient gathers from both of its readers.
 */
export function residualLayernorm(tape: Tape, x: Var, r: Var, w: Var, b: Var, eps = 1e-5): { sum: Var; y: Var } {
  if (tape.recording) {
    const sum = residual(tape, x, r);
    return { sum, y: layernorm(tape, sum, w, b, eps) };
  }
  const f = residualLayernormForward(x.value, r.value, w.value, b.value, eps);
  tape.own(f.sum, f.y, f.mean, f.rstd);
  return { sum: new Var(f.sum, anyGrad(x, r)), y: new Var(f.y, anyGrad(x, r, w, b)) };
}

/**
 * x = wte[ids] + wpe[pos]: ids i32 [B·T] → [B·T, C], pos = posOffset + n % T, or `rows`'
 * positions (one per row: batched decoding). Gradients accumulate into the tables.
 */
export function embedding(
  tape: Tape,
  ids: Tensor,
  wte: Var,
  wpe: Var,
  T: number,
  posOffset = 0,
  rows?: { positions: Tensor; values: number[] },
): Var {
  if (rows && tape.recording) throw new Error('embedding with per-row positions is for inference (no-grad tapes)');
  const y = new Var(embeddingForward(ids, wte.value, wpe.value, T, posOffset, rows), anyGrad(wte, wpe));
  tape.own(y.value);
  if (!y.requiresGrad) return y; // frozen tables: no backward
  tape.record(() => {
    const gy = takeGrad(y);
    if (!gy) return;
    if (!wte.persistentGrad || !wpe.persistentGrad)
      throw new Error("embedding backward needs the parameters' gradient buffers (Params)");
    embeddingBackward(ids, gy, wte.persistentGrad, wpe.persistentGrad, T);
    gy.release();
  });
  return y;
}

/** Causal self-attention over qkv [B·T, 3C] (the c_attn output) → [B·T, C]. */
export function attention(tape: Tape, qkv: Var, B: number, T: number, nHead: number): Var {
  const { y: yt, lse } = attentionForward(qkv.value, B, T, nHead);
  const y = new Var(yt, qkv.requiresGrad);
  tape.own(yt, lse);
  tape.record(() => {
    const gy = takeGrad(y);
    if (!gy) return;
    accumulateAdd(qkv, attentionBackward(gy, qkv.value, yt, lse, B, T, nHead));
    gy.release();
  });
  return y;
}

/**
 * Attention through a KV cache (inference): append the k, v of qkv [Tn, 3C] at positions
 * pos.., then attend each new row over positions 0..its own.
 */
export function cachedAttention(
  tape: Tape,
  qkv: Var,
  layer: { k: Tensor; v: Tensor },
  pos: number,
  nHead: number,
): Var {
  if (tape.recording) throw new Error('cachedAttention is for inference (no-grad tapes)');
  const y = new Var(cachedAttend(qkv.value, layer.k, layer.v, pos, nHead));
  tape.own(y.value);
  return y;
}

/**
 * Batched decoding (inference): one new token per sequence, qkv [B, 3C]; row b's k, v are
 * written at position positions[b] of its cache (layer caches [B, NH, P, hd]) and its query
 * attends over positions 0..positions[b].
 */
export function cachedAttentionRows(
  tape: Tape,
  qkv: Var,
  layer: { k: Tensor; v: Tensor },
  positions: Tensor,
  nHead: number,
): Var {
  if (tape.recording) throw new Error('cachedAttentionRows is for inference (no-grad tapes)');
  const y = new Var(attentionDecodeRows(qkv.value, layer.k, layer.v, positions, nHead));
  tape.own(y.value);
  return y;
}

export interface LossOut {
  /** the scalar loss: sum_n w_n·l_n / normalizer */
  loss: Var;
  /** per-position -log p(target), unweighted */
  losses: Tensor;
}

/**
 * Softmax cross-entropy over the vocabulary. The gradient is computed in the forward pass
 * (fused), so the loss must be the root of backward() with the default root gradient of 1.
 */
export function crossEntropyLoss(
  tape: Tape,
  logits: Var,
  targets: Tensor,
  o: { vocab: number; weights?: Tensor; normalizer: number },
): LossOut {
  const r = crossEntropy(logits.value, targets, { ...o, grad: tape.recording });
  const loss = new Var(r.loss, true);
  tape.own(r.loss, r.losses);
  if (r.dlogits) {
    const dlogits = r.dlogits;
    tape.own(dlogits);
    tape.record(() => {
      const g = takeGrad(loss);
      if (!g) return;
      g.release();
      if (!tape.isUnitRoot(loss))
        throw new Error(
          'crossEntropyLoss: the loss must be the root of backward() with the default root gradient (its gradient is fused into the forward pass)',
        );
      if (logits.requiresGrad) {
        // hand over a tensor the tape does not own: copy-free, the tape's copy is released at free()
        logits.accumulate(dlogits.view(0, dlogits.shape));
      }
    });
  }
  return { loss, losses: r.losses };
}
