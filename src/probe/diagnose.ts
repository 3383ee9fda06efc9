// Does the model use its prompt? The student's model (src/motivation.ts) had a fine perplexity but had
// learned generic word patterns, not content. This measures that, for a set of prompts, against a
// null prompt that asks nothing ("Q:\nA:"):
//
//  - KL(p_prompt || p_null) in nats, of the next-token distributions after the prompt and after
//    the null prompt. Near 0: the question does not change what the model predicts.
//  - function-word share: of the probability mass on the prompt's top-k next tokens, the part on
//    FUNCTION_WORDS (below). High: the model predicts filler whatever is asked.
//  - likelihood gain, for prompts with a reference answer: (ln p(answer | its question) −
//    ln p(answer | another question)) / answer tokens, in nats per token, the other question being
//    the next prompt with an answer (the null prompt when there is no other); its median over the
//    prompts votes. Near 0: its own question does not help the model towards the right answer more
//    than another question does. Against another question rather than the null prompt, so that
//    both sides share the Q/A form and only the content differs: a model that learned to answer
//    "Impressionism is a school …" finds the gloss " A school …" less likely after its question
//    than after "Q:\nA:", for a reason that has nothing to do with using the question. A median,
//    not a mean: one question about an entity the model never trained on (a focused mix need not
//    know Rembrandt) has a large negative gain that would outvote every other prompt.
//
// Each signal is compared with a threshold (DEFAULT_THRESHOLDS) and votes "uses its prompt" or
// "generic"; the verdict follows the majority (on a tie, with two signals, KL decides). Before
// that, a model whose predictions are nearly uniform (mean entropy ≥ 90% of ln V) is called
// untrained: none of the three signals means anything for it.
import type { Tokenizer } from '../io/tokenizer.ts';
import { MOTIVATING_PROMPTS } from '../motivation.ts';
import type { GPT2 } from '../model/gpt2.ts';
import { logSumExp } from '../model/sample.ts';
import { checkIds, mapRows, type RowRef } from './readout.ts';
import { entropy, klDivergence, logSoftmax, median, topTokens, type TopToken } from './stats.ts';

/** The null prompt: the question format with no question. */
export const NULL_PROMPT = 'Q:\nA:';

export interface PromptSpec {
  prompt: string;
  /** a short reference answer (scored after the prompt and after the null prompt); one that does
   *  not start with whitespace gets a leading space, as the training data joins prompt + ' ' + answer */
  answer?: string;
}

/**
 * The default prompts: art questions in the training data's "Q: ...\nA:" format (the student's two
 * first), each with a reference answer restating its WordNet 3.1 gloss (dates and clauses trimmed).
 */
export const DEFAULT_PROMPTS: readonly PromptSpec[] = [
  {
    prompt: MOTIVATING_PROMPTS[0],
    answer: ' A school of late 19th century French painters who pictured appearances by strokes of unmixed colors.',
  },
  { prompt: MOTIVATING_PROMPTS[1], answer: ' A Dutch Post-impressionist painter noted for his use of color.' },
  {
    prompt: 'Q: What is Cubism?\nA:',
    answer: ' An artistic movement in France beginning in 1907 that featured surfaces of geometrical planes.',
  },
  { prompt: 'Q: Who was Claude Monet?\nA:', answer: ' A French impressionist painter.' },
  { prompt: 'Q: What is a fresco?\nA:', answer: ' A mural done with watercolors on wet plaster.' },
  {
    prompt: 'Q: What is Surrealism?\nA:',
    answer:
      ' A 20th century movement of artists and writers who used fantastic images and incongruous juxtapositions to represent unconscious thoughts and dreams.',
  },
  { prompt: 'Q: Who was Rembrandt?\nA:', answer: ' An influential Dutch artist.' },
  {
    prompt: 'Q: Who was Leonardo da Vinci?\nA:',
    answer: ' An Italian painter and sculptor and engineer and scientist and architect.',
  },
  {
    prompt: 'Q: Who was Michelangelo?\nA:',
    answer: ' A Florentine sculptor and painter and architect; one of the outstanding figures of the Renaissance.',
  },
  {
    prompt: 'Q: What is Expressionism?\nA:',
    answer:
      " An art movement early in the 20th century that emphasized the artist's subjective expression of inner experiences.",
  },
  {
    prompt: 'Q: What is Pointillism?\nA:',
    answer: ' A genre of painting characterized by the application of paint in dots and small strokes.',
  },
  { prompt: 'Q: Who was Salvador Dali?\nA:', answer: ' A surrealist Spanish painter.' },
];

/**
 * The most frequent English function words as GPT-2 tokens: lowercase with the leading space they
 * have mid-sentence, and the comma and period. Capitalised sentence starters (" The", " A") are
 * left out on purpose: a well-formed answer after "A:" begins with one ("A school of ..."), while
 * a lowercase " the" right after "A:" is the student's symptom. Each entry is one token.
 */
export const FUNCTION_WORDS: readonly string[] = [
  ' the',
  ' a',
  ' an',
  ' of',
  ' and',
  ' in',
  ' to',
  ' is',
  ' was',
  ' it',
  ' that',
  ' for',
  ' on',
  ' as',
  ' with',
  ' by',
  ' at',
  ' from',
  ' or',
  ' be',
  ' are',
  ' were',
  ' this',
  ' his',
  ' her',
  ' their',
  ' its',
  ' he',
  ' she',
  ' they',
  ' not',
  ' but',
  ' which',
  ' who',
  ' has',
  ' had',
  ' have',
  ' also',
  ',',
  '.',
];

export interface Thresholds {
  /** mean KL (nats) at or above this: the predictions depend on the question */
  kl: number;
  /** function-word share (0..1) at or above this: generic predictions */
  functionWordShare: number;
  /** likelihood gain (nats per answer token) at or above this: the question helps the answer */
  likelihoodGain: number;
  /** mean entropy at or above this fraction of ln(vocab): near-uniform, untrained */
  uniformEntropy: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  kl: 0.5,
  functionWordShare: 0.5,
  likelihoodGain: 0.1,
  uniformEntropy: 0.9,
};

export interface AnswerScore {
  text: string;
  ids: number[];
  /** ln p(answer | prompt), summed over its tokens */
  logLik: number;
  /** the question it is compared with: the next prompt with an answer (or the null prompt) */
  otherPrompt: string;
  /** ln p(answer | the other question) */
  logLikOther: number;
  /** (logLik − logLikOther) / tokens */
  gainPerToken: number;
}

export interface PromptDiagnosis {
  prompt: string;
  ids: number[];
  top: TopToken[];
  /** KL(p_prompt || p_null), nats */
  kl: number;
  /** entropy of the next-token distribution, nats */
  entropy: number;
  /** share of the top-k probability mass on FUNCTION_WORDS (0..1) */
  functionWordShare: number;
  /** probability of FUNCTION_WORDS over the whole vocabulary */
  functionWordMass: number;
  answer?: AnswerScore;
}

export interface Signal {
  value: number;
  threshold: number;
  /** this signal's vote */
  usesPrompt: boolean;
}

export type Label = 'uses-prompt' | 'generic' | 'mixed' | 'untrained';

export interface Diagnosis {
  nullPrompt: string;
  nullIds: number[];
  nullTop: TopToken[];
  topK: number;
  perPrompt: PromptDiagnosis[];
  /** mean over prompts of KL(p_prompt || p_null), nats */
  meanKL: number;
  /** mean over prompts of the function-word share of top-k mass */
  functionWordShare: number;
  /** median over prompts with answers of the gain in nats per answer token; undefined without answers */
  medianLikelihoodGain?: number;
  /** mean entropy of the prompts' next-token distributions, nats (ln V is uniform) */
  meanEntropy: number;
  /** how much the prompts' predictions differ from each other: mean KL from their mixture (nats; 0 = all the same) */
  promptSpread: number;
  thresholds: Thresholds;
  signals: { kl: Signal; functionWords: Signal; likelihoodGain?: Signal };
  label: Label;
  usesPrompt: boolean;
  /** in plain words */
  verdict: string;
}

export interface DiagnoseOpts {
  /** prompts (strings or with reference answers); a string equal to a default prompt gets its answer */
  prompts?: readonly (string | PromptSpec)[];
  nullPrompt?: string;
  /** top-k for the tables and the function-word share (default 10) */
  topK?: number;
  thresholds?: Partial<Thresholds>;
}

/**
 * The ids of FUNCTION_WORDS. Each is one token of GPT-2's vocabulary; a compact vocabulary may
 * lack a few (a word its training text never used), and those are left out.
 */
export function functionWordIds(tok: Tokenizer): Set<number> {
  const ids = new Set<number>();
  for (const w of FUNCTION_WORDS) {
    const t = tok.encode(w);
    if (t.length === 1) ids.add(t[0]);
    else if (!tok.gpt2Ids) throw new Error(`function word ${JSON.stringify(w)} is ${t.length} tokens`);
  }
  return ids;
}

function normalise(p: string | PromptSpec): PromptSpec {
  const spec = typeof p === 'string' ? { prompt: p } : { ...p };
  // the training data joins prompt + ' ' + answer
  if (spec.answer !== undefined && spec.answer !== '' && !/^\s/.test(spec.answer)) spec.answer = ` ${spec.answer}`;
  if (spec.answer === undefined) {
    const known = DEFAULT_PROMPTS.find((d) => d.prompt === spec.prompt);
    if (known) return { ...spec, answer: known.answer };
  }
  return spec;
}

/**
 * The prompts whose sequences (prompt + answer, and the answer after each other kept prompt and
 * after the null prompt) fit the model's context.
 * A compact vocabulary built from a small --data set spells the default prompts in bytes, and
 * they no longer fit a short context: the trainer's evaluation diagnoses with the ones that do.
 */
export function promptsThatFit(
  model: GPT2,
  tok: Tokenizer,
  prompts: readonly (string | PromptSpec)[] = DEFAULT_PROMPTS,
  nullPrompt = NULL_PROMPT,
): PromptSpec[] {
  const P = model.config.n_positions;
  const len = (t: string) => tok.encode(t).length;
  // each answer is also scored after another of the kept prompts: keep those whose answer fits
  // after the longest of them (and after the null prompt), until nothing more drops out
  let kept = prompts.map(normalise).filter((s) => len(s.prompt) + (s.answer ? len(s.answer) : 0) <= P);
  for (;;) {
    const longest = Math.max(len(nullPrompt), ...kept.map((s) => len(s.prompt)));
    const next = kept.filter((s) => !s.answer || longest + len(s.answer) <= P);
    if (next.length === kept.length) return kept;
    kept = next;
  }
}

/** Run the diagnosis (one batched forward pass per group of similar-length sequences). */
export async function diagnose(model: GPT2, tok: Tokenizer, o: DiagnoseOpts = {}): Promise<Diagnosis> {
  const V = model.config.vocab_size;
  const k = o.topK ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new Error(`top-k must be a positive integer (got ${k})`);
  const thresholds = { ...DEFAULT_THRESHOLDS, ...o.thresholds };
  const specs = (o.prompts ?? DEFAULT_PROMPTS).map(normalise);
  if (!specs.length) throw new Error('diagnose: no prompts');
  const nullPrompt = o.nullPrompt ?? NULL_PROMPT;
  if (!nullPrompt) throw new Error('diagnose: the null prompt is empty');
  const fw = functionWordIds(tok);

  // sequences: 0 = null prompt; per prompt: prompt (+ answer); per answer: another question + answer
  const nullIds = tok.encode(nullPrompt);
  checkIds(model, nullIds, 'null prompt');
  const seqs: number[][] = [nullIds];
  type Job =
    | { kind: 'dist'; prompt: number }
    | { kind: 'null' }
    | { kind: 'answer'; prompt: number; cond: 'q' | 'other'; target: number };
  const jobs: Job[] = [{ kind: 'null' }];
  const rows: RowRef[] = [{ seq: 0, pos: nullIds.length - 1 }];
  const promptIds: number[][] = [];
  const answerIds: (number[] | undefined)[] = [];
  // the question each answer is compared with: the next prompt (cyclically) that has an answer
  const withAnswer = specs.flatMap((s, i) => (s.answer ? [i] : []));
  const otherOf = (i: number) => {
    const k = withAnswer.indexOf(i);
    return withAnswer.length > 1 ? specs[withAnswer[(k + 1) % withAnswer.length]].prompt : nullPrompt;
  };
  specs.forEach((s, i) => {
    if (!s.prompt) throw new Error(`diagnose: prompt ${i + 1} is empty`);
    const ids = tok.encode(s.prompt);
    const ans = s.answer ? tok.encode(s.answer) : undefined;
    promptIds.push(ids);
    answerIds.push(ans);
    const q = seqs.push([...ids, ...(ans ?? [])]) - 1;
    checkIds(model, seqs[q], `prompt ${i + 1}${ans ? ' with its answer' : ''}`);
    rows.push({ seq: q, pos: ids.length - 1 });
    jobs.push({ kind: 'dist', prompt: i });
    if (ans) {
      ans.forEach((t, j) => {
        rows.push({ seq: q, pos: ids.length - 1 + j });
        jobs.push({ kind: 'answer', prompt: i, cond: 'q', target: t });
      });
      const otherIds = tok.encode(otherOf(i));
      const n = seqs.push([...otherIds, ...ans]) - 1;
      checkIds(model, seqs[n], `answer ${i + 1} after another question`);
      ans.forEach((t, j) => {
        rows.push({ seq: n, pos: otherIds.length - 1 + j });
        jobs.push({ kind: 'answer', prompt: i, cond: 'other', target: t });
      });
    }
  });

  // mapRows calls back in row order: the null prompt (row 0) comes first, so each prompt's
  // distribution is reduced to its numbers at once and only their running mixture is kept
  let nullLogP: Float64Array | undefined;
  let nullTop: TopToken[] = [];
  const dists: { kl: number; entropy: number; top: TopToken[]; fwMass: number }[] = [];
  const mixture = new Float64Array(V);
  const ll = specs.map(() => ({ q: 0, other: 0 }));
  await mapRows(model, seqs, rows, (logits, r) => {
    const job = jobs[r];
    if (job.kind === 'null') {
      nullLogP = logSoftmax(logits, V);
      nullTop = topTokens(tok, logits, V, k);
    } else if (job.kind === 'dist') {
      const logP = logSoftmax(logits, V);
      let fwMass = 0;
      for (const id of fw) if (id < V) fwMass += Math.exp(logP[id]);
      for (let i = 0; i < V; i++) mixture[i] += Math.exp(logP[i]) / specs.length;
      dists[job.prompt] = {
        kl: klDivergence(logP, nullLogP!),
        entropy: entropy(logP),
        top: topTokens(tok, logits, V, k),
        fwMass,
      };
    } else {
      ll[job.prompt][job.cond] += logits[job.target] - logSumExp(logits, V);
    }
  });

  const perPrompt: PromptDiagnosis[] = specs.map((s, i) => {
    const d = dists[i];
    const topMass = d.top.reduce((a, t) => a + t.prob, 0);
    const fwTop = d.top.filter((t) => fw.has(t.id)).reduce((a, t) => a + t.prob, 0);
    const a = answerIds[i];
    return {
      prompt: s.prompt,
      ids: promptIds[i],
      top: d.top,
      kl: d.kl,
      entropy: d.entropy,
      functionWordShare: topMass > 0 ? Math.min(1, fwTop / topMass) : 0,
      functionWordMass: Math.min(1, d.fwMass),
      answer:
        a && s.answer
          ? {
              text: s.answer,
              ids: a,
              logLik: ll[i].q,
              otherPrompt: otherOf(i),
              logLikOther: ll[i].other,
              gainPerToken: (ll[i].q - ll[i].other) / a.length,
            }
          : undefined,
    };
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const withAnswers = perPrompt.filter((p) => p.answer);
  const stats = {
    meanKL: mean(perPrompt.map((p) => p.kl)),
    functionWordShare: mean(perPrompt.map((p) => p.functionWordShare)),
    medianLikelihoodGain: withAnswers.length ? median(withAnswers.map((p) => p.answer!.gainPerToken)) : undefined,
    meanEntropy: mean(perPrompt.map((p) => p.entropy)),
  };
  // mean_i KL(p_i || mixture) = H(mixture) − mean_i H(p_i) (the generalised Jensen–Shannon divergence)
  let hMix = 0;
  for (let i = 0; i < V; i++) if (mixture[i] > 0) hMix -= mixture[i] * Math.log(mixture[i]);
  const promptSpread = Math.max(0, hMix - stats.meanEntropy);
  return {
    nullPrompt,
    nullIds,
    nullTop,
    topK: k,
    perPrompt,
    ...stats,
    promptSpread,
    thresholds,
    ...judge(stats, V, thresholds),
  };
}

/**
 * The verdict from the summary numbers (pure: the trainer or a test can call it on its own).
 * `vocab` sets the entropy of a uniform distribution, ln(vocab).
 */
export function judge(
  s: { meanKL: number; functionWordShare: number; medianLikelihoodGain?: number; meanEntropy: number },
  vocab: number,
  t: Thresholds = DEFAULT_THRESHOLDS,
): Pick<Diagnosis, 'signals' | 'label' | 'usesPrompt' | 'verdict'> {
  const f = (x: number, d = 2) => x.toFixed(d);
  const signals: Diagnosis['signals'] = {
    kl: { value: s.meanKL, threshold: t.kl, usesPrompt: s.meanKL >= t.kl },
    functionWords: {
      value: s.functionWordShare,
      threshold: t.functionWordShare,
      usesPrompt: s.functionWordShare < t.functionWordShare,
    },
  };
  if (s.medianLikelihoodGain !== undefined) {
    signals.likelihoodGain = {
      value: s.medianLikelihoodGain,
      threshold: t.likelihoodGain,
      usesPrompt: s.medianLikelihoodGain >= t.likelihoodGain,
    };
  }
  const why = [
    `mean KL from the null prompt ${f(s.meanKL, 3)} nats ${signals.kl.usesPrompt ? '≥' : '<'} ${t.kl}`,
    `function-word share of top-k mass ${f(s.functionWordShare)} ${signals.functionWords.usesPrompt ? '<' : '≥'} ${t.functionWordShare}`,
  ];
  if (signals.likelihoodGain) {
    why.push(
      `its question raises the reference answers' log-likelihood over another question's by a median ${s.medianLikelihoodGain! >= 0 ? '+' : ''}${f(s.medianLikelihoodGain!, 3)} nats/token ${signals.likelihoodGain.usesPrompt ? '≥' : '<'} ${t.likelihoodGain}`,
    );
  }
  const uniform = Math.log(vocab);
  if (s.meanEntropy >= t.uniformEntropy * uniform) {
    return {
      signals,
      label: 'untrained',
      usesPrompt: false,
      verdict: `untrained: its next-token predictions are nearly uniform (entropy ${f(s.meanEntropy)} of at most ${f(uniform)} nats), so it has learned neither word patterns nor content (${why.join('; ')})`,
    };
  }
  const votes = Object.values(signals).filter((x) => x?.usesPrompt).length;
  const n = Object.values(signals).filter(Boolean).length;
  const usesPrompt = 2 * votes > n || (2 * votes === n && signals.kl.usesPrompt);
  const label: Label = votes === n ? 'uses-prompt' : votes === 0 ? 'generic' : 'mixed';
  const head =
    label === 'uses-prompt'
      ? 'uses its prompt: its predictions depend on the question'
      : label === 'generic'
        ? 'learning generic word patterns, not semantic content: its predictions barely depend on the question'
        : usesPrompt
          ? 'partly uses its prompt: most signals say its predictions depend on the question'
          : 'mostly generic word patterns: most signals say its predictions barely depend on the question';
  return { signals, label, usesPrompt, verdict: `${head} (${why.join('; ')})` };
}
