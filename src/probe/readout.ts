// Reading logits out of a model at chosen positions, for the probe.
//
// One batched forward pass (sequences right-padded to the longest: attention is causal, so the
// padding never reaches an earlier position) runs the transformer blocks; the residual stream
// after the last block (or after every block, for the logit lens) is read back at the wanted
// positions only, and ln_f + the tied lm_head are applied to just those rows. So scoring an
// answer or reading one next-token distribution never computes logits over every position of
// every sequence, and the logit lens reads layer i exactly as the model reads its last layer.
import { gpu } from '../gpu/runtime.ts';
import { Tensor } from '../gpu/tensor.ts';
import type { GPT2 } from '../model/gpt2.ts';
import { layernorm, lmHead } from '../tape/ops.ts';
import { Tape, Var } from '../tape/tape.ts';

/** A position `pos` of sequence `seq`: the logits there predict token pos+1. */
export interface RowRef {
  seq: number;
  pos: number;
}

/** Token ids fed in one forward pass at most (sequences are grouped into batches under this). */
const BATCH_TOKENS = 4096;
/** Logits rows computed per lm_head dispatch: at most this many bytes of logits. */
const LOGIT_CHUNK_BYTES = 64 << 20;

/** Throws a one-line error naming the first id outside the model's vocabulary. */
export function checkIds(model: GPT2, ids: readonly number[], what = 'ids') {
  const V = model.config.vocab_size;
  if (ids.length === 0) throw new Error(`${what}: empty (give at least one token)`);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new Error(`${what}: token id ${id} (position ${i}) is outside the model's vocabulary 0..${V - 1}`);
    }
  }
  if (ids.length > model.config.n_positions) {
    throw new Error(
      `${what}: ${ids.length} tokens exceed the model's context of ${model.config.n_positions} positions`,
    );
  }
}

/**
 * The residual stream at the given rows: res[r][j] is a Float32Array(C) after block layers[j]
 * (0-based; layers default to the last block only).
 */
export async function residuals(
  model: GPT2,
  seqs: readonly number[][],
  rows: readonly RowRef[],
  layers?: readonly number[],
): Promise<Float32Array[][]> {
  const c = model.config;
  const C = c.n_embd;
  const want = layers ?? [c.n_layer - 1];
  for (const l of want)
    if (!Number.isInteger(l) || l < 0 || l >= c.n_layer) throw new Error(`layer ${l} outside 0..${c.n_layer - 1}`);
  seqs.forEach((s, i) => checkIds(model, s, `sequence ${i}`));
  for (const r of rows) {
    if (!(r.seq >= 0 && r.seq < seqs.length) || !(r.pos >= 0 && r.pos < seqs[r.seq].length))
      throw new Error(`row (${r.seq}, ${r.pos}) is outside the sequences`);
  }
  const out: Float32Array[][] = rows.map(() => []);
  // which rows each sequence is asked for
  const bySeq = new Map<number, number[]>();
  rows.forEach((r, i) => {
    const a = bySeq.get(r.seq) ?? [];
    a.push(i);
    bySeq.set(r.seq, a);
  });
  const needed = [...bySeq.keys()].sort((a, b) => seqs[a].length - seqs[b].length);
  // batches of similar lengths under BATCH_TOKENS ids
  let start = 0;
  while (start < needed.length) {
    let end = start + 1;
    while (end < needed.length && (end + 1 - start) * seqs[needed[end]].length <= BATCH_TOKENS) end++;
    const batch = needed.slice(start, end);
    start = end;
    const T = Math.max(...batch.map((s) => seqs[s].length));
    const B = batch.length;
    const flat = new Int32Array(B * T);
    batch.forEach((s, b) => flat.set(seqs[s], b * T)); // padding: id 0, never read
    const tape = new Tape({ recording: false });
    const input = Tensor.from(flat, [B * T], 'i32');
    const captured = new Map<number, Var>();
    try {
      model.forward(tape, input, B, T, {
        lastOnly: true,
        onLayer: (i, x) => {
          if (want.includes(i)) captured.set(i, x);
        },
      });
      for (const [j, l] of want.entries()) {
        const x = await captured.get(l)!.value.toArray();
        batch.forEach((s, b) => {
          for (const ri of bySeq.get(s)!) {
            const at = (b * T + rows[ri].pos) * C;
            out[ri][j] = x.slice(at, at + C);
          }
        });
      }
    } finally {
      tape.free();
      input.release();
    }
  }
  return out;
}

/**
 * ln_f and the tied lm_head applied to residual rows (each Float32Array(C)); calls fn with each
 * row's logits over the real vocabulary, in order. The array passed to fn is reused: copy it to keep it.
 */
export async function headLogits(
  model: GPT2,
  rows: readonly Float32Array[],
  fn: (logits: Float32Array, i: number) => void,
): Promise<void> {
  const c = model.config;
  const C = c.n_embd,
    V = c.vocab_size,
    Vp = c.padded_vocab_size;
  const rowBytes = Vp * 4;
  const chunk = Math.max(1, Math.floor(Math.min(LOGIT_CHUNK_BYTES, gpu().maxBinding) / rowBytes));
  const w = model.params.get('ln_f.weight'),
    b = model.params.get('ln_f.bias'),
    wte = model.params.get('wte.weight');
  for (let s = 0; s < rows.length; s += chunk) {
    const n = Math.min(chunk, rows.length - s);
    const data = new Float32Array(n * C);
    for (let j = 0; j < n; j++) data.set(rows[s + j], j * C);
    const tape = new Tape({ recording: false });
    const x = Tensor.from(data, [n, C]);
    try {
      const logits = lmHead(tape, layernorm(tape, new Var(x), w, b, c.layer_norm_epsilon), wte);
      const all = await logits.value.toArray();
      for (let j = 0; j < n; j++) fn(all.subarray(j * Vp, j * Vp + V), s + j);
    } finally {
      tape.free();
      x.release();
    }
  }
}

/**
 * Final-layer logits at `rows` of `seqs` (one batched forward pass per group of similar-length
 * sequences), mapped through fn in row order (fn sees a reused buffer: copy what you keep).
 */
export async function mapRows<R>(
  model: GPT2,
  seqs: readonly number[][],
  rows: readonly RowRef[],
  fn: (logits: Float32Array, i: number) => R,
): Promise<R[]> {
  const res = await residuals(model, seqs, rows);
  const out: R[] = new Array(rows.length);
  await headLogits(
    model,
    res.map((r) => r[0]),
    (l, i) => {
      out[i] = fn(l, i);
    },
  );
  return out;
}

/** The logits after the last token of `ids`, over the real vocabulary (a copy). */
export async function nextLogits(model: GPT2, ids: readonly number[]): Promise<Float32Array> {
  const [l] = await mapRows(model, [ids as number[]], [{ seq: 0, pos: ids.length - 1 }], (x) => x.slice());
  return l;
}
