// One optimisation step: zero the gradients, forward + backward over each micro-batch
// (gradient accumulation), then AdamW. Returns GPU scalars; the caller reads them once.
import { encoder } from '../gpu/runtime.ts';
import { Tensor } from '../gpu/tensor.ts';
import { Tape } from '../tape/tape.ts';
import type { GPT2 } from '../model/gpt2.ts';
import type { Batch } from '../data/batch.ts';
import type { AdamW } from './optimizer.ts';

/** The micro-batches a step takes are src/data's (tokens [B, T+1], optional weights [B, T]). */
export type { Batch };

export interface StepResult {
  /** sum over micro-batches of each one's loss contribution ([1] each) */
  losses: Tensor[];
  /** global gradient norm before clipping ([1]) */
  gradNorm: Tensor;
}

/**
 * inputs = tokens[:, :-1], targets = tokens[:, 1:] as i32 tensors; weights [B·T] when given.
 * Where some weights are 0 (prompts and padding under the answer-only loss), `rows` holds the
 * positions that count and targets and weights are theirs only: the model computes logits
 * there alone (`gather: false` keeps every position).
 */
export function uploadBatch(
  b: Batch,
  o: { gather?: boolean } = {},
): { inputs: Tensor; targets: Tensor; weights?: Tensor; rows?: Tensor; count: number } {
  const { B, T } = b;
  if (b.tokens.length !== B * (T + 1))
    throw new Error(`batch of ${b.tokens.length} tokens is not ${B} rows of ${T + 1}`);
  const inp = new Int32Array(B * T),
    tgt = new Int32Array(B * T);
  for (let r = 0; r < B; r++) {
    inp.set(b.tokens.subarray(r * (T + 1), r * (T + 1) + T), r * T);
    tgt.set(b.tokens.subarray(r * (T + 1) + 1, (r + 1) * (T + 1)), r * T);
  }
  let count = B * T;
  if (b.weights) {
    count = 0;
    for (const w of b.weights) count += w;
  }
  const inputs = Tensor.from(inp, [B * T], 'i32');
  const keep: number[] = [];
  if (b.weights && o.gather !== false) {
    b.weights.forEach((w, i) => {
      if (w !== 0) keep.push(i);
    });
    // and zero-weight positions up to a multiple of 4 (they add nothing to the loss or the
    // gradients): the logits' weight gradient dlogitsᵀ·x then has K in whole vec4s, which the
    // texture matmul reads from its buffer instead of packing dlogitsᵀ into a texture (6085x128
    // from 646 positions: 72 ms, from 648: 49; lavapipe, 2-core Zen 1)
    for (let i = 0; keep.length % 4 && i < B * T; i++) if (b.weights[i] === 0) keep.push(i);
  }
  if (b.weights && keep.length < B * T && o.gather !== false) {
    const w = b.weights;
    return {
      inputs,
      targets: Tensor.from(
        keep.map((i) => tgt[i]),
        [keep.length],
        'i32',
      ),
      weights: Tensor.from(
        keep.map((i) => w[i]),
        [keep.length],
      ),
      rows: Tensor.from(keep, [keep.length], 'i32'),
      count,
    };
  }
  return {
    inputs,
    targets: Tensor.from(tgt, [B * T], 'i32'),
    weights: b.weights ? Tensor.from(b.weights, [B * T]) : undefined,
    count,
  };
}

/** Release what uploadBatch made. */
export function releaseBatch(u: ReturnType<typeof uploadBatch>) {
  u.inputs.release();
  u.targets.release();
  u.weights?.release();
  u.rows?.release();
}

/**
 * One update from `micro` batches. The loss is the weighted mean over every counted target
 * of all micro-batches (so accumulation equals one big batch).
 */
export function trainStep(
  model: GPT2,
  opt: AdamW,
  micro: Batch[],
  lr: number,
  o: { gather?: boolean } = {},
): StepResult {
  // uploads first: each write submits what is enqueued before it, so the gradients' clear after
  // them joins the step's one command buffer
  const up = micro.map((b) => uploadBatch(b, o));
  opt.params.zeroGrad(); // the trainable parameters (with LoRA, the adapters)
  const normalizer = Math.max(
    1,
    up.reduce((a, u) => a + u.count, 0),
  );
  const losses: Tensor[] = [];
  micro.forEach((b, i) => {
    const u = up[i];
    if (u.count === 0) {
      releaseBatch(u);
      return;
    } // nothing counts: no loss, no gradient
    const tape = new Tape();
    // LoRA's dropout masks follow the step and micro-batch (a resumed run draws the same ones)
    if (model.lora) model.lora.pass = opt.step * micro.length + i;
    const { loss } = model.loss(tape, u.inputs, u.targets, b.B, b.T, { weights: u.weights, normalizer, rows: u.rows });
    tape.detach(loss.value);
    losses.push(loss.value);
    tape.backward(loss);
    releaseBatch(u);
  });
  const gradNorm = opt.update(lr);
  return { losses, gradNorm };
}

/**
 * Read a step's loss and gradient norm back with one read-back (the scalars are copied into one
 * tensor on the GPU first); releases the GPU scalars.
 */
export async function readStep(r: StepResult): Promise<{ loss: number; gradNorm: number }> {
  const scalars = [...r.losses, r.gradNorm];
  const all = Tensor.empty([scalars.length]);
  const enc = encoder();
  scalars.forEach((t, i) => enc.copyBufferToBuffer(t.buffer, t.elementOffset * 4, all.buffer, 4 * i, 4));
  const v = await all.toArray();
  for (const t of [...scalars, all]) t.release();
  let loss = 0;
  for (let i = 0; i < r.losses.length; i++) loss += v[i];
  return { loss, gradNorm: v[r.losses.length] };
}
