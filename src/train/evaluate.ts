// Evaluation: perplexity, and answer quality — the student's lesson is that perplexity alone
// misleads (7.65 with nonsense answers), so both are always reported together.
//
// QA quality on held-out questions, with greedy answers:
//   keyword recall — the share of the reference answer's content words (lower-cased, without
//                    a list of function words) that appear in the generated answer;
//   start right    — the generated answer's first two words equal the reference's;
//   baseline       — the recall that answers given to questions about *other* entities get
//                    against each reference (answers shuffled across entities). A constant
//                    answer scores exactly its baseline, so the recall that counts is the lift
//                    above it (recall − baseline);
//   on topic       — the share of answers that name their own entity's facts: an answer's recall
//                    against its own reference exceeds its mean recall against the references
//                    of questions about other entities by at least ON_TOPIC_MARGIN (a quarter
//                    of the reference's keywords beyond what any answer gets by chance).
import { Tape } from '../tape/tape.ts';
import type { GPT2 } from '../model/gpt2.ts';
import { generateBatch } from '../model/generate.ts';
import { topK } from '../model/sample.ts';
import { lastLogits } from '../model/generate.ts';
import type { Tokenizer } from '../io/tokenizer.ts';
import type { Batch } from '../data/batch.ts';
import { encodeExamples, packEpoch, type Example, type LossOn } from '../data/index.ts';
import { diagnose, promptsThatFit } from '../probe/diagnose.ts';
import { releaseBatch, uploadBatch } from './step.ts';

/** Mean loss per counted target over `batches`, and its perplexity. */
export async function validationLoss(
  model: GPT2,
  batches: Batch[],
): Promise<{ loss: number; ppl: number; targets: number }> {
  let sum = 0,
    count = 0;
  for (const b of batches) {
    const u = uploadBatch(b);
    if (u.count === 0) {
      releaseBatch(u);
      continue;
    }
    const tape = new Tape({ recording: false });
    // normalizer 1: the loss is the weighted sum
    const { loss } = model.loss(tape, u.inputs, u.targets, b.B, b.T, {
      weights: u.weights,
      normalizer: 1,
      rows: u.rows,
    });
    sum += (await loss.value.toArray())[0];
    count += u.count;
    tape.free();
    releaseBatch(u);
  }
  const loss = count ? sum / count : NaN;
  return { loss, ppl: Math.exp(loss), targets: count };
}

const FUNCTION_WORDS = new Set(
  (
    'a an the of and or in on at to for from by with as is was were are be been being his her its their ' +
    'this that these those which who whom whose what it he she they them him also known noted who s'
  ).split(' '),
);

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
  const a = words(answer).slice(0, 2),
    r = words(reference).slice(0, 2);
  return r.length > 0 && a.length === r.length && a.every((w, i) => w === r[i]);
}

export interface QAItem {
  prompt: string;
  answer: string;
  /** what the question is about (the baseline compares answers across entities) */
  entity?: string;
}

export interface QAResult {
  recall: number;
  /** mean recall of other entities' answers against each reference */
  baseline: number;
  /** recall − baseline: what a constant answer cannot fake */
  lift: number;
  /** share of answers that name their own entity's facts (see ON_TOPIC_MARGIN) */
  onTopic: number;
  startRight: number;
  samples: { prompt: string; reference: string; answer: string; recall: number; onTopic: boolean }[];
}

/**
 * Score answers against references: mean recall, its shuffled baseline (each reference against
 * the answers to questions about other entities; items without an entity count as their own
 * entity), the lift and the on-topic share.
 */
/** How far above its recall against other entities' references an answer must score on its own. */
export const ON_TOPIC_MARGIN = 0.25;

export function scoreAnswers(
  items: QAItem[],
  answers: string[],
): Omit<QAResult, 'samples' | 'startRight'> & { perItem: { recall: number; onTopic: boolean }[] } {
  const n = items.length;
  const ent = (i: number) => items[i].entity ?? `#${i}`;
  const R = items.map((it) => answers.map((a) => keywordRecall(a, it.answer))); // R[ref][answer]
  let recall = 0,
    baseSum = 0,
    baseN = 0,
    onTopic = 0;
  const perItem = items.map((_, i) => {
    const own = R[i][i];
    recall += own;
    let others = 0,
      chance = 0,
      cnt = 0;
    for (let j = 0; j < n; j++) {
      if (ent(j) === ent(i)) continue;
      others += R[i][j]; // other entities' answers against reference i (the baseline)
      chance += R[j][i]; // answer i against other entities' references
      cnt++;
    }
    if (cnt) {
      baseSum += others / cnt;
      baseN++;
    }
    const on = own > 0 && own - (cnt ? chance / cnt : 0) >= ON_TOPIC_MARGIN;
    if (on) onTopic++;
    return { recall: own, onTopic: on };
  });
  const m = Math.max(1, n);
  const baseline = baseN ? baseSum / baseN : 0;
  return { recall: recall / m, baseline, lift: recall / m - baseline, onTopic: onTopic / m, perItem };
}

/** Prompts decoded together per batch (the batched KV cache holds this many sequences). */
const DECODE_BATCH = 64;

/** Greedy answers to every prompt, decoded in batches (stopping at a new "\nQ:" or end-of-text). */
export async function greedyAnswers(model: GPT2, tok: Tokenizer, prompts: string[], maxNew: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < prompts.length; i += DECODE_BATCH) {
    const gs = await generateBatch(
      model,
      prompts.slice(i, i + DECODE_BATCH).map((p) => tok.encode(p)),
      {
        temperature: 0,
        maxNew,
        stopIds: [tok.eot],
        stopStrings: ['\nQ:', '\n\n'],
        decode: (ids) => tok.decode(ids),
        weights: 'f32', // scores do not depend on how many questions share the last batch
      },
    );
    for (const g of gs) out.push((g.text ?? '').trim());
  }
  return out;
}

/** Greedy answers scored against the references. */
export async function qaEval(model: GPT2, tok: Tokenizer, items: QAItem[], maxNew = 32): Promise<QAResult> {
  const answers = await greedyAnswers(
    model,
    tok,
    items.map((it) => it.prompt),
    maxNew,
  );
  const s = scoreAnswers(items, answers);
  const right = items.filter((it, i) => startsRight(answers[i], it.answer)).length;
  const samples = items.map((it, i) => ({
    prompt: it.prompt,
    reference: it.answer,
    answer: answers[i],
    ...s.perItem[i],
  }));
  return {
    recall: s.recall,
    baseline: s.baseline,
    lift: s.lift,
    onTopic: s.onTopic,
    startRight: right / Math.max(1, items.length),
    samples,
  };
}

export interface ProbeResult {
  prompt: string;
  top: { token: string; id: number; logit: number; prob: number }[];
  answer: string;
}

/** The student's view of a model: top next tokens with scores, and the greedy answer. */
export async function probePrompts(
  model: GPT2,
  tok: Tokenizer,
  prompts: string[],
  k = 5,
  maxNew = 48,
): Promise<ProbeResult[]> {
  const answers = await greedyAnswers(model, tok, prompts, maxNew);
  const out: ProbeResult[] = [];
  for (const [i, prompt] of prompts.entries()) {
    const logits = await lastLogits(model, tok.encode(prompt));
    const top = topK(logits, model.config.vocab_size, k).map((t) => ({ ...t, token: tok.decodeOne(t.id) }));
    out.push({ prompt, top, answer: answers[i] });
  }
  return out;
}

/** Deterministic sample of k items, evenly spread (the same at every evaluation). */
export function spread<T>(xs: readonly T[], k: number): T[] {
  if (xs.length <= k) return [...xs];
  return Array.from({ length: k }, (_, i) => xs[Math.floor((i * xs.length) / k)]);
}

/** The held-out data an evaluation runs on, tokenized and packed once. */
export interface EvalSets {
  /** held-out phrasings of the training facts, the loss on `lossOn` tokens */
  phrasings: Batch[];
  /** passages about held-out entities, the loss on every token */
  entities: Batch[];
  /** held-out questions answered greedily */
  qa: QAItem[];
}

/** Pack the held-out examples into at most `batches` batches each, and pick `qa` questions (spread). */
export function evalSets(
  tok: Tokenizer,
  held: { phrasings: Example[]; entities: Example[] },
  o: { T: number; B: number; seed: number; batches: number; qa: number; lossOn: LossOn },
): EvalSets {
  const pack = (ex: Example[], lossOn: LossOn) =>
    ex.length
      ? packEpoch(encodeExamples(ex, tok, lossOn), { T: o.T, B: o.B, seed: o.seed, epoch: 0, eot: tok.eot }).slice(
          0,
          o.batches,
        )
      : [];
  const questions = held.phrasings.filter((e) => e.kind === 'qa' && e.prompt && e.answer);
  return {
    phrasings: pack(held.phrasings, o.lossOn),
    entities: pack(held.entities, 'all'),
    qa: spread(questions, o.qa).map((e) => ({ prompt: e.prompt!, answer: e.answer!, entity: e.entity })),
  };
}

/** An evaluation's figures, named as metrics.jsonl and `eval --json` hold them; absent sets leave theirs out. */
export interface Evaluation {
  val_loss?: number;
  val_ppl?: number;
  /** the targets the validation loss is the mean over */
  val_targets?: number;
  val_loss_unseen?: number;
  val_ppl_unseen?: number;
  qa_keyword_recall?: number;
  qa_recall_baseline?: number;
  qa_recall_lift?: number;
  qa_on_topic?: number;
  qa_start_right?: number;
  qa_samples?: QAResult['samples'];
  probes?: ProbeResult[];
  prompt_sensitivity?: number;
  function_word_share?: number;
  verdict?: string;
}

/**
 * One evaluation, as metrics.jsonl and `eval --json` record it: validation loss and perplexity
 * on both sets, QA answer quality, the diagnosis (prompt sensitivity, function-word share, the
 * verdict) over the default prompts that fit the context, and, when asked, `probes`' top tokens
 * and greedy answers. Absent sets leave their fields out.
 */
export async function evaluateModel(
  model: GPT2,
  tok: Tokenizer,
  sets: EvalSets,
  o: { topK: number; probes?: readonly string[] },
): Promise<Evaluation> {
  const out: Evaluation = {};
  if (sets.phrasings.length) {
    const v = await validationLoss(model, sets.phrasings);
    out.val_loss = v.loss;
    out.val_ppl = v.ppl;
    out.val_targets = v.targets;
  }
  if (sets.entities.length) {
    const v = await validationLoss(model, sets.entities);
    out.val_loss_unseen = v.loss;
    out.val_ppl_unseen = v.ppl;
  }
  if (sets.qa.length) {
    const q = await qaEval(model, tok, sets.qa);
    out.qa_keyword_recall = q.recall;
    out.qa_recall_baseline = q.baseline;
    out.qa_recall_lift = q.lift;
    out.qa_on_topic = q.onTopic;
    out.qa_start_right = q.startRight;
    out.qa_samples = q.samples;
  }
  // (a test model may use only the first ids of its tokenizer: then neither the probes nor the
  // diagnosis, whose prompts spell ids beyond its vocabulary)
  if (tok.vocabSize === model.config.vocab_size) {
    if (o.probes?.length) out.probes = await probePrompts(model, tok, [...o.probes], 5);
    const prompts = promptsThatFit(model, tok);
    if (prompts.length) {
      const d = await diagnose(model, tok, { topK: o.topK, prompts });
      out.prompt_sensitivity = d.meanKL;
      out.function_word_share = d.functionWordShare;
      out.verdict = d.verdict;
    }
  }
  return out;
}
