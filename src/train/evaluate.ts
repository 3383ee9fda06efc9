// Evaluation: perplexity, and answer quality — the seed's lesson is that perplexity alone
// misleads (7.65 with nonsense answers), so both are always reported together.
//
// QA quality on held-out questions, with greedy answers:
//   keyword recall — the share of the reference answer's content words (lower-cased, without
//                    a list of function words) that appear in the generated answer;
//   start right    — the generated answer's first two words equal the reference's.
import { Tape } from '../tape/tape.ts';
import type { GPT2 } from '../model/gpt2.ts';
import { generate } from '../model/generate.ts';
import { topK } from '../model/sample.ts';
import { lastLogits } from '../model/generate.ts';
import type { Tokenizer } from '../io/tokenizer.ts';
import { uploadBatch, type Batch } from './step.ts';

/** Mean loss per counted target over `batches`, and its perplexity. */
export async function validationLoss(model: GPT2, batches: Batch[]): Promise<{ loss: number; ppl: number; targets: number }> {
  let sum = 0, count = 0;
  for (const b of batches) {
    const u = uploadBatch(b);
    if (u.count === 0) { u.inputs.release(); u.targets.release(); u.weights?.release(); continue; }
    const tape = new Tape({ grad: false });
    // normalizer 1: the loss is the weighted sum
    const { loss } = model.loss(tape, u.inputs, u.targets, b.B, b.T, { weights: u.weights, normalizer: 1 });
    sum += (await loss.value.toArray())[0];
    count += u.count;
    tape.free();
    u.inputs.release(); u.targets.release(); u.weights?.release();
  }
  const loss = count ? sum / count : NaN;
  return { loss, ppl: Math.exp(loss), targets: count };
}

const FUNCTION_WORDS = new Set(('a an the of and or in on at to for from by with as is was were are be been being his her its their ' +
  'this that these those which who whom whose what it he she they them him also known noted who s').split(' '));

export function contentWords(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+(?:[-'][a-z0-9]+)*/g) ?? []).filter((w) => !FUNCTION_WORDS.has(w));
}

function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+(?:[-'][a-z0-9]+)*/g) ?? [];
}

export function keywordRecall(answer: string, reference: string): number {
  const ref = new Set(contentWords(reference));
  if (ref.size === 0) return 1;
  const got = new Set(contentWords(answer));
  let hit = 0;
  for (const w of ref) if (got.has(w)) hit++;
  return hit / ref.size;
}

export function startsRight(answer: string, reference: string): boolean {
  const a = words(answer).slice(0, 2), r = words(reference).slice(0, 2);
  return r.length > 0 && a.length === r.length && a.every((w, i) => w === r[i]);
}

export interface QAItem { prompt: string; answer: string }

export interface QAResult {
  recall: number;
  startRight: number;
  samples: { prompt: string; reference: string; answer: string; recall: number }[];
}

/** Greedy answers (stopping at a new "\nQ:" or end-of-text) scored against the references. */
export async function qaEval(model: GPT2, tok: Tokenizer, items: QAItem[], maxNew = 32): Promise<QAResult> {
  const samples: QAResult['samples'] = [];
  let recall = 0, right = 0;
  for (const it of items) {
    const g = await generate(model, tok.encode(it.prompt), {
      temperature: 0, maxNew, stopIds: [tok.eot], stopStrings: ['\nQ:', '\n\n'], decode: (ids) => tok.decode(ids),
    });
    const answer = (g.text ?? '').trim();
    const r = keywordRecall(answer, it.answer);
    recall += r;
    if (startsRight(answer, it.answer)) right++;
    samples.push({ prompt: it.prompt, reference: it.answer, answer, recall: r });
  }
  const n = Math.max(1, items.length);
  return { recall: recall / n, startRight: right / n, samples };
}

export interface ProbeResult {
  prompt: string;
  top: { token: string; id: number; logit: number; prob: number }[];
  answer: string;
}

/** The seed's view of a model: top next tokens with scores, and the greedy answer. */
export async function probePrompts(model: GPT2, tok: Tokenizer, prompts: string[], k = 5, maxNew = 24): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  for (const prompt of prompts) {
    const ids = tok.encode(prompt);
    const logits = await lastLogits(model, ids);
    const top = topK(logits, model.config.vocab_size, k).map((t) => ({ ...t, token: tok.decodeOne(t.id) }));
    const g = await generate(model, ids, {
      temperature: 0, maxNew, stopIds: [tok.eot], stopStrings: ['\nQ:', '\n\n'], decode: (x) => tok.decode(x),
    });
    out.push({ prompt, top, answer: (g.text ?? '').trim() });
  }
  return out;
}
