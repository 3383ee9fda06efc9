// Examples → packed training rows: tokens [B, T+1] (inputs tokens[:, :-1], targets tokens[:, 1:])
// and per-target loss weights [B, T] (0/1).
import { readFileSync } from 'node:fs';
import { Rng } from './rng.ts';
import { EOT_TEXT, type Tokenizer } from '../io/tokenizer.ts';
import type { Example } from './types.ts';

export type LossOn = 'answer' | 'all';

/** A (micro-)batch on the CPU, what a training or evaluation step reads. */
export interface Batch {
  /** B × (T+1) token ids, row-major */
  tokens: Int32Array;
  /**
   * B × T weights: weights[b*T + t] weighs the prediction of tokens[b*(T+1) + t + 1]; absent:
   * every target counts. The packer and batch files always give them.
   */
  weights?: Float32Array;
  B: number;
  T: number;
}

/** One example as tokens, with a 0/1 weight per token: is it a target the loss counts? */
export interface EncodedSeq {
  tokens: Int32Array;
  weights: Uint8Array;
}

/**
 * Tokenize examples once. Prose (kind 'text') is plain language modelling: every token is a
 * target. QA is prompt tokens then ' ' + answer tokens then eot; with lossOn 'answer' (the
 * default) only the answer tokens and the final eot are targets, with 'all' every token is.
 */
export function encodeExamples(examples: Example[], tok: Tokenizer, lossOn: LossOn = 'answer'): EncodedSeq[] {
  return examples.map((ex) => {
    if (ex.kind === 'qa') {
      let prompt = ex.prompt;
      let answer = ex.answer;
      if (prompt === undefined || answer === undefined) {
        // recover them from the text: "Q: …\nA: answer<|endoftext|>"
        const i = ex.text.lastIndexOf('\nA:');
        if (i < 0) throw new Error(`qa example without prompt/answer: ${JSON.stringify(ex.text.slice(0, 60))}`);
        prompt = ex.text.slice(0, i + 3);
        answer = ex.text
          .slice(i + 3)
          .replace(EOT_TEXT, '')
          .trim();
      }
      const p = tok.encode(prompt);
      const a = tok.encode(` ${answer}`);
      const tokens = Int32Array.from([...p, ...a, tok.eot]);
      const weights = new Uint8Array(tokens.length);
      weights.fill(1, lossOn === 'all' ? 0 : p.length);
      return { tokens, weights };
    }
    const t = tok.encode(ex.text.endsWith(EOT_TEXT) ? ex.text : ex.text + EOT_TEXT);
    const tokens = Int32Array.from(t);
    return { tokens, weights: new Uint8Array(tokens.length).fill(1) };
  });
}

interface Row {
  tokens: number[];
  weights: number[];
}

export interface PackOptions {
  /** context length: rows hold T+1 tokens */
  T: number;
  /** rows per batch */
  B: number;
  seed: number;
  /** epoch number: the order is a function of (seed, epoch) */
  epoch: number;
  /** the eot id, used at the start of rows and as padding */
  eot: number;
  /** how many open rows first-fit packing searches (default 32) */
  window?: number;
}

/**
 * Pack sequences into rows of T+1 tokens, in an order shuffled by (seed, epoch). Each row starts
 * with eot (the context for its first sequence's first token, which is thus a target); sequences
 * go into the first of the last `window` open rows with room (first fit), so rows mix examples;
 * a sequence longer than T is split across rows, each continuation row starting with the token
 * before it. Space left over is eot with weight 0. The last batch is filled with empty rows.
 */
export function packEpoch(seqs: EncodedSeq[], o: PackOptions): Required<Batch>[] {
  const { T, B, eot } = o;
  if (!(T >= 1 && B >= 1)) throw new Error(`packEpoch: need T ≥ 1 and B ≥ 1, got T=${T} B=${B}`);
  const window = o.window ?? 32;
  const order = Rng.of(o.seed, 'epoch', o.epoch).shuffle(seqs.map((_, i) => i));
  const rows: Row[] = [];
  const open: Row[] = [];
  const newRow = (lead: number): Row => {
    const r = { tokens: [lead], weights: [] as number[] };
    rows.push(r);
    open.push(r);
    if (open.length > window) open.shift();
    return r;
  };
  for (const i of order) {
    const s = seqs[i];
    const L = s.tokens.length;
    if (L === 0) continue;
    if (L <= T) {
      let row = open.find((r) => r.tokens.length - 1 + L <= T);
      if (!row) row = newRow(eot);
      for (let k = 0; k < L; k++) {
        row.tokens.push(s.tokens[k]);
        row.weights.push(s.weights[k]);
      }
      continue;
    }
    // longer than a row: chunks of T targets, each in a fresh row
    for (let start = 0; start < L; start += T) {
      const row = newRow(start === 0 ? eot : s.tokens[start - 1]);
      for (let k = start; k < Math.min(L, start + T); k++) {
        row.tokens.push(s.tokens[k]);
        row.weights.push(s.weights[k]);
      }
    }
  }
  const batches: Required<Batch>[] = [];
  for (let b0 = 0; b0 < rows.length; b0 += B) {
    const tokens = new Int32Array(B * (T + 1)).fill(eot);
    const weights = new Float32Array(B * T);
    for (let b = 0; b < B && b0 + b < rows.length; b++) {
      const r = rows[b0 + b];
      tokens.set(r.tokens, b * (T + 1));
      for (let t = 0; t < r.weights.length; t++) weights[b * T + t] = r.weights[t];
    }
    batches.push({ tokens, weights, B, T });
  }
  return batches;
}

/** encodeExamples + packEpoch. Encode once and call packEpoch per epoch when training for long. */
export function makeEpoch(
  examples: Example[],
  tok: Tokenizer,
  o: Omit<PackOptions, 'eot'> & { lossOn?: LossOn },
): Required<Batch>[] {
  return packEpoch(encodeExamples(examples, tok, o.lossOn ?? 'answer'), { ...o, eot: tok.eot });
}

/**
 * A fixed batch from a JSON file: {"tokens": [[T+1 ids] × B]}, optionally "weights": [[T] × B]
 * (default all 1). Ragged rows, non-integer ids, ids outside [0, vocabSize) or rows longer than
 * maxT+1 are errors naming the file and the row.
 */
export function loadBatchFile(path: string, vocabSize: number, maxT?: number): Required<Batch> {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read batch file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const rows = (data as { tokens?: unknown })?.tokens;
  if (!Array.isArray(rows) || rows.length === 0)
    throw new Error(`${path}: expected {"tokens": [[ids...], ...]} with at least one row`);
  const B = rows.length;
  const width = Array.isArray(rows[0]) ? rows[0].length : -1;
  if (width < 2) throw new Error(`${path}: row 0: expected an array of at least 2 token ids (T+1)`);
  const T = width - 1;
  if (maxT !== undefined && T > maxT)
    throw new Error(`${path}: rows have ${width} tokens, T=${T} exceeds the model's context ${maxT}`);
  const tokens = new Int32Array(B * width);
  rows.forEach((row, b) => {
    if (!Array.isArray(row)) throw new Error(`${path}: row ${b}: not an array`);
    if (row.length !== width)
      throw new Error(`${path}: row ${b}: has ${row.length} tokens, row 0 has ${width} (ragged rows)`);
    row.forEach((id, t) => {
      if (typeof id !== 'number' || !Number.isInteger(id))
        throw new Error(`${path}: row ${b}, position ${t}: ${JSON.stringify(id)} is not an integer token id`);
      if (id < 0 || id >= vocabSize)
        throw new Error(`${path}: row ${b}, position ${t}: token id ${id} is outside the vocabulary [0, ${vocabSize})`);
      tokens[b * width + t] = id;
    });
  });
  const weights = new Float32Array(B * T).fill(1);
  const w = (data as { weights?: unknown }).weights;
  if (w !== undefined) {
    if (!Array.isArray(w) || w.length !== B) throw new Error(`${path}: "weights" must have ${B} rows like "tokens"`);
    w.forEach((row, b) => {
      if (!Array.isArray(row) || row.length !== T) throw new Error(`${path}: weights row ${b}: expected ${T} numbers`);
      row.forEach((x, t) => {
        if (typeof x !== 'number' || !Number.isFinite(x))
          throw new Error(`${path}: weights row ${b}, position ${t}: not a number`);
        weights[b * T + t] = x;
      });
    });
  }
  return { tokens, weights, B, T };
}
