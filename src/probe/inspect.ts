// Looking inside a model at one prompt: the top next tokens, the per-token surprisal of the
// prompt (or of a target text after it), and the logit lens — from one forward pass.
import type { Tokenizer } from '../io/tokenizer.ts';
import type { GPT2 } from '../model/gpt2.ts';
import { checkIds, headLogits, residuals, type RowRef } from './readout.ts';
import { LN2, describeToken, rankOf, topTokens, type TopToken } from './stats.ts';
import { logSumExp } from '../model/sample.ts';

export interface TokenLoss {
  /** position of the scored token in the sequence (≥ 1: the first token has no prediction) */
  pos: number;
  id: number;
  token: string;
  label: string;
  /** -ln p(token | tokens before it) */
  nats: number;
  bits: number;
  /** 1-based rank of the token in the model's prediction at that position */
  rank: number;
  /** what the model ranked first there */
  predicted: TopToken;
}

export interface LossResult {
  /** the first scored position (1 for a whole prompt; the target's first token after a prompt) */
  scoredFrom: number;
  tokens: TokenLoss[];
  totalNats: number;
  meanNats: number;
  totalBits: number;
  meanBits: number;
  /** exp(meanNats) */
  perplexity: number;
}

export interface LensLayer {
  /** 0-based block index: the residual stream after block `layer`, read through ln_f and lm_head */
  layer: number;
  top: TopToken[];
}

export interface InspectOpts {
  /** how many next tokens to list (default 10) */
  topK?: number;
  /** score the tokens at positions scoreFrom.. (≥ 1); leave out for no loss */
  scoreFrom?: number;
  /** keep the last position's logits over the whole real vocabulary */
  fullLogits?: boolean;
  /** the logit lens: the top tokens read from the residual stream after every block */
  lens?: boolean;
}

export interface InspectResult {
  ids: number[];
  /** the next token after the whole sequence */
  top: TopToken[];
  /** how many of the next token's logits are NaN or infinite (weights that overflow float32) */
  nonFinite: number;
  logits?: Float32Array;
  loss?: LossResult;
  lens?: LensLayer[];
}

/** Everything the probe reads about one token sequence, in one batched forward pass. */
export async function inspect(model: GPT2, tok: Tokenizer, ids: number[], o: InspectOpts = {}): Promise<InspectResult> {
  checkIds(model, ids, 'prompt');
  const c = model.config;
  const V = c.vocab_size,
    L = c.n_layer,
    T = ids.length;
  const k = o.topK ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new Error(`top-k must be a positive integer (got ${k})`);
  const from = o.scoreFrom;
  if (from !== undefined && (!Number.isInteger(from) || from < 1 || from > T))
    throw new Error(`scoreFrom must be in 1..${T} (got ${from})`);
  // rows: the positions whose logits predict the scored tokens, then the last position
  const rows: RowRef[] = [];
  if (from !== undefined) for (let p = from - 1; p < T - 1; p++) rows.push({ seq: 0, pos: p });
  rows.push({ seq: 0, pos: T - 1 });
  const layers = o.lens ? Array.from({ length: L }, (_, i) => i) : [L - 1];
  const res = await residuals(model, [ids], rows, layers);
  const last = res.length - 1;
  // head rows: every row at the last block, then the last position at the earlier blocks (lens)
  const head = res.map((r) => r[r.length - 1]);
  if (o.lens) for (let l = 0; l < L - 1; l++) head.push(res[last][l]);

  const out: InspectResult = { ids: [...ids], top: [], nonFinite: 0 };
  const tokens: TokenLoss[] = [];
  const lens: LensLayer[] = [];
  await headLogits(model, head, (logits, i) => {
    if (i < last) {
      const pos = rows[i].pos + 1,
        id = ids[pos];
      const nats = logSumExp(logits, V) - logits[id];
      tokens.push({
        pos,
        id,
        ...describeToken(tok, id),
        nats,
        bits: nats / LN2,
        rank: rankOf(logits, V, id),
        predicted: topTokens(tok, logits, V, 1)[0],
      });
    } else if (i === last) {
      out.top = topTokens(tok, logits, V, k);
      for (let v = 0; v < V; v++) if (!Number.isFinite(logits[v])) out.nonFinite++;
      if (o.fullLogits) out.logits = logits.slice();
      if (o.lens) lens[L - 1] = { layer: L - 1, top: out.top };
    } else {
      const layer = i - last - 1;
      lens[layer] = { layer, top: topTokens(tok, logits, V, k) };
    }
  });
  if (from !== undefined) {
    const totalNats = tokens.reduce((a, t) => a + t.nats, 0);
    const n = Math.max(tokens.length, 1);
    out.loss = {
      scoredFrom: from,
      tokens,
      totalNats,
      meanNats: tokens.length ? totalNats / n : NaN,
      totalBits: totalNats / LN2,
      meanBits: tokens.length ? totalNats / n / LN2 : NaN,
      perplexity: tokens.length ? Math.exp(totalNats / n) : NaN,
    };
  }
  if (o.lens) out.lens = lens;
  return out;
}

/** The k most likely next tokens after `ids`. */
export async function nextTokens(model: GPT2, tok: Tokenizer, ids: number[], k = 10): Promise<TopToken[]> {
  return (await inspect(model, tok, ids, { topK: k })).top;
}

/** Per-token surprisal of `ids` from position `scoreFrom` on (default 1: the whole sequence). */
export async function tokenLosses(model: GPT2, tok: Tokenizer, ids: number[], scoreFrom = 1): Promise<LossResult> {
  return (await inspect(model, tok, ids, { topK: 1, scoreFrom })).loss!;
}

/** The logit lens at the last position: one row per block, the last equal to the model's own prediction. */
export async function logitLens(model: GPT2, tok: Tokenizer, ids: number[], k = 10): Promise<LensLayer[]> {
  return (await inspect(model, tok, ids, { topK: k, lens: true })).lens!;
}
