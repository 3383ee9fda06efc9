// Choosing the next token from logits (on the CPU: one row of the vocabulary per step).
//
// Order as in Hugging Face transformers: repetition penalty, temperature, top-k, top-p.
// temperature 0 is greedy decoding.

export interface SampleOpts {
  temperature?: number; // 0 = greedy (default 1)
  topK?: number; // keep the k most likely (0 = all)
  topP?: number; // keep the smallest set with cumulative probability >= p (1 = all)
  repetitionPenalty?: number; // > 1 discourages tokens already present (1 = off)
}

export { uniform } from '../rng.ts';

/** Pick a token from `logits[0..vocab)`. `seen` are the ids the penalty applies to. */
export function sampleToken(
  logits: ArrayLike<number>,
  vocab: number,
  o: SampleOpts,
  seen: Iterable<number>,
  rand: () => number,
): number {
  const l = Float64Array.from({ length: vocab }, (_, i) => logits[i]);
  const pen = o.repetitionPenalty ?? 1;
  if (pen !== 1) for (const id of new Set(seen)) if (id < vocab) l[id] = l[id] > 0 ? l[id] / pen : l[id] * pen;
  const temp = o.temperature ?? 1;
  if (temp <= 0) return argmax(l);
  let order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => l[b] - l[a]);
  if (o.topK && o.topK > 0) order = order.slice(0, o.topK);
  const max = l[order[0]];
  let probs = order.map((i) => Math.exp((l[i] - max) / temp));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let acc = 0,
      keep = 0;
    while (keep < probs.length && acc < topP) acc += probs[keep++];
    order = order.slice(0, Math.max(1, keep));
    probs = probs.slice(0, order.length);
    sum = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / sum);
  }
  let r = rand();
  for (let i = 0; i < order.length; i++) {
    r -= probs[i];
    if (r <= 0) return order[i];
  }
  return order[order.length - 1];
}

export function argmax(a: ArrayLike<number>, n = a.length): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** log-softmax statistics of one row: the max and log-sum-exp over [0, vocab). */
export function logSumExp(logits: ArrayLike<number>, vocab: number): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[i] > max) max = logits[i];
  let s = 0;
  for (let i = 0; i < vocab; i++) s += Math.exp(logits[i] - max);
  return max + Math.log(s);
}

/** The k largest logits of a row with their probabilities (softmax over the real vocabulary). */
export function topK(
  logits: ArrayLike<number>,
  vocab: number,
  k: number,
): { id: number; logit: number; prob: number }[] {
  const lse = logSumExp(logits, vocab);
  const best: number[] = [];
  for (let i = 0; i < vocab; i++) {
    if (best.length < k || logits[i] > logits[best[best.length - 1]]) {
      let j = best.length < k ? best.length : k - 1;
      best[j] = i;
      while (j > 0 && logits[best[j]] > logits[best[j - 1]]) {
        [best[j], best[j - 1]] = [best[j - 1], best[j]];
        j--;
      }
    }
  }
  return best.map((id) => ({ id, logit: logits[id], prob: Math.exp(logits[id] - lse) }));
}
