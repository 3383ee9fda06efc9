// Statistics of one row of logits, on the CPU in float64: log-softmax, KL divergence, entropy,
// the rank of a token. Probabilities are a softmax over the real vocabulary (padding rows of a
// padded vocabulary are never part of a row here).
import { logSumExp, topK as topKRaw } from '../model/sample.ts';
import { tokenLabel, type Tokenizer } from '../io/tokenizer.ts';

export const LN2 = Math.LN2;

/** log p over the first `vocab` logits. */
export function logSoftmax(logits: ArrayLike<number>, vocab: number): Float64Array {
  const lse = logSumExp(logits, vocab);
  const out = new Float64Array(vocab);
  for (let i = 0; i < vocab; i++) out[i] = logits[i] - lse;
  return out;
}

/** KL(p || q) in nats from two log-probability rows (≥ 0; exactly 0 for identical rows). */
export function klDivergence(logP: Float64Array, logQ: Float64Array): number {
  if (logP.length !== logQ.length) throw new Error(`KL: rows of ${logP.length} and ${logQ.length} entries`);
  let s = 0;
  for (let i = 0; i < logP.length; i++) {
    const lp = logP[i];
    if (lp === -Infinity) continue;
    s += Math.exp(lp) * (lp - logQ[i]);
  }
  return Math.max(0, s);
}

/** Entropy in nats of a log-probability row. */
export function entropy(logP: Float64Array): number {
  let s = 0;
  for (let i = 0; i < logP.length; i++) if (logP[i] > -Infinity) s -= Math.exp(logP[i]) * logP[i];
  return Math.max(0, s);
}

/** 1-based rank of token `id` in the row (1 = the most likely; ties count in its favour). */
/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (!xs.length) throw new Error('median of an empty list');
  const v = [...xs].sort((a, b) => a - b),
    h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

export function rankOf(logits: ArrayLike<number>, vocab: number, id: number): number {
  const x = logits[id];
  let r = 1;
  for (let i = 0; i < vocab; i++) if (logits[i] > x) r++;
  return r;
}

export interface TopToken {
  rank: number;
  id: number;
  /** the token's text as decoded (may hold U+FFFD for a piece of a multi-byte character) */
  token: string;
  /** the token made visible for tables: ␣ for a space, \n for a newline, \xNN for partial bytes */
  label: string;
  /** the raw logit (the student's "score") */
  logit: number;
  /** softmax over the real vocabulary */
  prob: number;
}

/** A token's text and label; ids beyond the tokenizer's vocabulary get "<id N>". */
export function describeToken(tok: Tokenizer, id: number): { token: string; label: string } {
  if (id < 0 || id >= tok.vocabSize) return { token: `<id ${id}>`, label: `<id ${id}>` };
  return { token: tok.decodeOne(id), label: tokenLabel(tok, id) };
}

/** The k most likely next tokens of a row of logits. */
export function topTokens(tok: Tokenizer, logits: ArrayLike<number>, vocab: number, k: number): TopToken[] {
  return topKRaw(logits, vocab, Math.min(k, vocab)).map((t, i) => ({
    rank: i + 1,
    id: t.id,
    ...describeToken(tok, t.id),
    logit: t.logit,
    prob: t.prob,
  }));
}
