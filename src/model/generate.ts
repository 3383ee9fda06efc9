// Text generation: a decoder that turns the tokens so far into next-token logits (with a
// KV cache, or by recomputing the whole sequence), and the sampling loop around it.
import { Tensor } from '../gpu/tensor.ts';
import { Tape } from '../tape/tape.ts';
import { sampleToken, uniform, type SampleOpts } from './sample.ts';
import type { GPT2 } from './gpt2.ts';
import type { DecodeWeights } from './half.ts';
import { KVCache, KVCacheRows, type Decoder } from './kvcache.ts';

/** Logits of the last position for a batch of one sequence, by full recomputation. */
export async function lastLogits(model: GPT2, ids: number[]): Promise<Float32Array> {
  const T = ids.length;
  const tape = new Tape({ recording: false });
  const input = Tensor.from(ids, [T], 'i32');
  try {
    const logits = model.forward(tape, input, 1, T);
    const Vp = model.config.padded_vocab_size;
    return await logits.value.view((T - 1) * Vp, [Vp]).toArray();
  } finally {
    tape.free();
    input.release();
  }
}

/** Recompute the whole sequence at every step (no cache): the reference for the cached decoder. */
export class RecomputeDecoder implements Decoder {
  private ids: number[] = [];
  constructor(private model: GPT2) {}
  async prefill(ids: number[]) {
    this.ids = [...ids];
    return lastLogits(this.model, this.ids);
  }
  async step(id: number) {
    this.ids.push(id);
    return lastLogits(this.model, this.ids);
  }
  dispose() {}
}

export interface GenerateOpts extends SampleOpts {
  maxNew: number;
  seed?: number;
  /** stop after generating any of these ids (default: end-of-text 50256) */
  stopIds?: number[];
  /** stop when the decoded continuation contains one of these (the stop string is cut off) */
  stopStrings?: string[];
  decode?: (ids: number[]) => string;
  /** use the KV cache (default true) */
  cache?: boolean;
  /** the weights the cached decoder multiplies by: 'f16' copies (half the bytes per token), the f32 values, or 'auto' (default: f16 on CPU adapters; ./half.ts) */
  weights?: DecodeWeights;
  onToken?: (id: number) => void;
  onWarning?: (msg: string) => void;
}

export interface Generation {
  ids: number[]; // the new tokens (without the stop token)
  text?: string; // decoded continuation (cut at a stop string)
  stoppedBy: 'eot' | 'stop-string' | 'max-new' | 'context';
}

export async function generate(model: GPT2, prompt: number[], o: GenerateOpts): Promise<Generation> {
  const P = model.config.n_positions;
  if (prompt.length === 0) throw new Error('generate: empty prompt');
  if (prompt.length > P) {
    throw new Error(`prompt of ${prompt.length} tokens exceeds the model's context of ${P} positions`);
  }
  let maxNew = o.maxNew;
  if (prompt.length + maxNew > P) {
    maxNew = P - prompt.length;
    o.onWarning?.(`context of ${P} positions allows only ${maxNew} new tokens after a ${prompt.length}-token prompt`);
  }
  const stopIds = o.stopIds ?? [50256];
  const rand = uniform(o.seed ?? 0);
  const dec: Decoder = o.cache === false ? new RecomputeDecoder(model) : new KVCache(model, { weights: o.weights });
  const out: number[] = [];
  let stoppedBy: Generation['stoppedBy'] = 'max-new';
  let text: string | undefined;
  /** Take token i of the continuation; true when generation ends with it (or before it). */
  const take = (id: number, i: number): boolean => {
    if (stopIds.includes(id)) {
      stoppedBy = 'eot';
      return true;
    }
    out.push(id);
    o.onToken?.(id);
    if (o.stopStrings?.length && o.decode) {
      const t = o.decode(out);
      const hit = o.stopStrings.map((s) => t.indexOf(s)).filter((k) => k >= 0);
      if (hit.length) {
        text = t.slice(0, Math.min(...hit));
        stoppedBy = 'stop-string';
        return true;
      }
    }
    if (i === maxNew - 1) {
      if (maxNew < o.maxNew) stoppedBy = 'context';
      return true;
    }
    return false;
  };
  try {
    if (maxNew <= 0) return { ids: [], text: o.decode ? '' : undefined, stoppedBy: 'context' };
    let logits = await dec.prefill(prompt);
    const greedy = (o.temperature ?? 1) <= 0 && (o.repetitionPenalty ?? 1) === 1;
    if (greedy && dec instanceof KVCache) {
      await greedyAhead(dec, sampleToken(logits, model.config.vocab_size, o, prompt, rand), maxNew, take);
    } else
      for (let i = 0; ; i++) {
        const id = sampleToken(logits, model.config.vocab_size, o, [...prompt, ...out], rand);
        if (take(id, i)) break;
        logits = await dec.step(id);
      }
  } finally {
    dec.dispose();
  }
  if (text === undefined && o.decode) text = o.decode(out);
  return { ids: out, text, stoppedBy };
}

/**
 * Greedy decoding through the cache with the choices made on the GPU (KVCache.stepGreedy), one
 * step ahead: the step after token i is enqueued, reading token i from the GPU, before token i
 * is read back, so the GPU does not wait while the CPU reads, checks and encodes. A step enqueued
 * past a stop is discarded with the decoder; none is enqueued past token maxNew - 1. `take(id,
 * i)` says when generation ends.
 */
async function greedyAhead(cache: KVCache, first: number, maxNew: number, take: (id: number, i: number) => boolean) {
  if (take(first, 0)) return;
  let input = Tensor.from([first], [1], 'i32');
  let next = cache.stepGreedy(input); // token 1, on the GPU
  let pending = next.read();
  let after: Tensor | null = null;
  try {
    for (let i = 1; ; i++) {
      after = i + 1 < maxNew ? cache.stepGreedy(next) : null; // token i + 1, enqueued before token i is read
      const afterRead = after?.read();
      const id = (await pending)[0];
      input.release();
      input = next;
      if (take(id, i) || !after || !afterRead) {
        await afterRead; // let the extra step finish before the decoder goes
        break;
      }
      next = after;
      after = null;
      pending = afterRead;
    }
  } finally {
    input.release();
    next.release();
    after?.release();
  }
}

/**
 * Generate for several prompts at once: each is prefilled through its own row of a batched KV
 * cache, then every step decodes one token for all unfinished rows in one forward pass and one
 * readback (evaluation answers many questions this way). Per row the result is what
 * generate() gives for that prompt alone (sampling draws from one generator per row, seeded
 * seed + row).
 */
export async function generateBatch(model: GPT2, prompts: number[][], o: GenerateOpts): Promise<Generation[]> {
  const P = model.config.n_positions,
    V = model.config.vocab_size,
    Vp = model.config.padded_vocab_size;
  if (!prompts.length) return [];
  for (const p of prompts) {
    if (p.length === 0) throw new Error('generate: empty prompt');
    if (p.length > P) throw new Error(`prompt of ${p.length} tokens exceeds the model's context of ${P} positions`);
  }
  const stopIds = o.stopIds ?? [50256];
  const B = prompts.length;
  const rands = prompts.map((_, b) => uniform((o.seed ?? 0) + b));
  const maxNew = prompts.map((p) => Math.min(o.maxNew, P - p.length));
  const out: number[][] = prompts.map(() => []);
  const res: (Generation | null)[] = prompts.map((_, b) =>
    maxNew[b] <= 0 ? { ids: [], text: o.decode ? '' : undefined, stoppedBy: 'context' } : null,
  );
  const cache = new KVCacheRows(model, B, { weights: o.weights });
  try {
    const first = await cache.prefill(prompts);
    let logitsOf = (b: number) => first[b];
    for (let _i = 0; res.some((r) => r === null); _i++) {
      const next = prompts.map((p, b) => {
        if (res[b]) return 0; // a finished row is fed a token that is ignored
        const id = sampleToken(logitsOf(b), V, o, [...p, ...out[b]], rands[b]);
        if (stopIds.includes(id)) {
          res[b] = { ids: out[b], stoppedBy: 'eot' };
          return id;
        }
        out[b].push(id);
        if (o.stopStrings?.length && o.decode) {
          const t = o.decode(out[b]);
          const hit = o.stopStrings.map((s) => t.indexOf(s)).filter((k) => k >= 0);
          if (hit.length) {
            res[b] = { ids: out[b], text: t.slice(0, Math.min(...hit)), stoppedBy: 'stop-string' };
            return id;
          }
        }
        if (out[b].length >= maxNew[b])
          res[b] = { ids: out[b], stoppedBy: maxNew[b] < o.maxNew ? 'context' : 'max-new' };
        return id;
      });
      if (res.every((r) => r !== null)) break;
      const logits = await cache.step(
        next,
        res.map((r) => r === null),
      );
      logitsOf = (b: number) => logits.subarray(b * Vp, (b + 1) * Vp);
    }
  } finally {
    cache.dispose();
  }
  return res.map((r) => {
    const g = r!;
    if (g.text === undefined && o.decode) g.text = o.decode(g.ids);
    return g;
  });
}
