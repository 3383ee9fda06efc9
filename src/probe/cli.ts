// The `tsx src/probe.ts --weights DIR ...` command, as a function (tests call it in-process).
import fs from 'node:fs';
import yargs from 'yargs';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from '../exit.ts';
import { NoAdapterError } from '../gpu/device.ts';
import { notRegular } from '../io/files.ts';
import { init } from '../gpu/runtime.ts';
import { MOTIVATING_PROMPTS } from '../motivation.ts';
import type { Tokenizer } from '../io/tokenizer.ts';
import { generate } from '../model/generate.ts';
import type { GPT2 } from '../model/gpt2.ts';
import { loadAdapterModel, loadModelAndTokenizer } from '../model/load.ts';
import { adapterBase, isAdapterDir } from '../io/peft.ts';
import { cliHubOptions, resolveWeights } from '../io/hub.ts';
import {
  DEFAULT_PROMPTS,
  DEFAULT_THRESHOLDS,
  diagnose,
  FUNCTION_WORDS,
  NULL_PROMPT,
  type Diagnosis,
  type PromptSpec,
} from './diagnose.ts';
import { diagnoseReport, diagnoseSummary, lensTable, lossTable, quoted, sideBySide, topTable } from './format.ts';
import { inspect, type InspectResult } from './inspect.ts';

export const MOTIVATING_PROMPT = MOTIVATING_PROMPTS[0];

export interface ProbeIO {
  /** stdout: results (with --json, only the JSON) */
  out: (s: string) => void;
  /** stderr: warnings and errors */
  err: (s: string) => void;
}

/** A one-line input error (a model, a prompt or a file that does not fit): "probe: message", exit status 1. */
class InputError extends Error {}
// (a flag's value out of range, or flags that do not go together, are UsageErrors: exit status 2)

/** `\n`, `\t`, `\r` and `\\` typed on a shell command line become the characters. */
export function unescapeArg(s: string): string {
  return s.replace(/\\([ntr\\])/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c]!);
}

/** "1,2,3" or "1 2 3" → ids (the vocabulary is checked against the model later). */
export function parseIds(s: string): number[] {
  const parts = s.split(/[\s,]+/).filter(Boolean);
  if (!parts.length) throw new UsageError('--ids is empty (give token ids like --ids 50256,464,3290)');
  return parts.map((p) => {
    if (!/^\d+$/.test(p))
      throw new UsageError(`--ids: "${p}" is not a token id (give non-negative integers separated by commas)`);
    return Number(p);
  });
}

/**
 * A prompts file: JSON (an array of strings or {"prompt", "answer"} objects), or text with one
 * prompt per line (`\n` escapes for newlines inside a prompt; a tab, then a reference answer;
 * blank lines and lines starting with # are skipped).
 */
export function readPrompts(file: string): PromptSpec[] {
  let text: string;
  const why = notRegular(file); // (a FIFO would block the read)
  if (why) throw new InputError(`--prompts ${file}: ${why}`);
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(
      `--prompts ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
  let specs: PromptSpec[];
  if (/\.json$/i.test(file) || /^\s*\[/.test(text)) {
    let j: unknown;
    try {
      j = JSON.parse(text);
    } catch (e) {
      throw new InputError(`--prompts ${file}: not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(j)) throw new InputError(`--prompts ${file}: expected a JSON array of prompts`);
    specs = j.map((x, i) => {
      if (typeof x === 'string') return { prompt: x };
      if (
        x &&
        typeof x === 'object' &&
        typeof x.prompt === 'string' &&
        (x.answer === undefined || typeof x.answer === 'string')
      )
        return { prompt: x.prompt, answer: x.answer };
      throw new InputError(
        `--prompts ${file}: entry ${i + 1} is neither a string nor {"prompt": string, "answer"?: string}`,
      );
    });
  } else {
    specs = text
      .split(/\r?\n/)
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => {
        const [p, a] = l.split('\t');
        return { prompt: unescapeArg(p), answer: a?.trim() ? unescapeArg(a) : undefined };
      });
  }
  specs.forEach((s, i) => {
    if (!s.prompt) throw new InputError(`--prompts ${file}: prompt ${i + 1} is empty`);
  });
  if (!specs.length) throw new InputError(`--prompts ${file}: no prompts in it`);
  return specs;
}

function parser() {
  return yargs()
    .scriptName('probe')
    .usage(
      [
        '$0 --weights DIR [options]',
        '',
        'Look inside a GPT-2-architecture model: a Hugging Face directory or one of our checkpoints',
        '(config.json + model.safetensors). By default it lists the top next tokens after the prompt',
        'with their logits (scores) and probabilities (softmax over the real vocabulary).',
        'Prompts accept \\n, \\t and \\\\ escapes as typed on a shell command line.',
      ].join('\n'),
    )
    .option('weights', {
      alias: 'w',
      type: 'string',
      describe:
        'model directory (config.json + model.safetensors), or a Hub repo ORG/NAME[@REVISION] (cache first, else downloaded)',
    })
    .option('allow-nonfinite', {
      type: 'boolean',
      default: false,
      describe:
        'load NaN, infinite or overflowing weights instead of refusing them (the probe then warns about the logits)',
    })
    .option('base', {
      type: 'string',
      describe: "a LoRA adapter's base model (default: the adapter's base_model_name_or_path)",
    })
    .option('model', {
      choices: ['distilgpt2', 'gpt2'],
      describe: 'distilbert/distilgpt2 or openai-community/gpt2 from the Hub (instead of --weights)',
    })
    .option('prompt', {
      alias: 'p',
      type: 'string',
      describe: `prompt text [default: ${JSON.stringify(MOTIVATING_PROMPT)}]`,
    })
    .option('ids', { type: 'string', describe: 'token ids instead of text, e.g. 50256,464,3290' })
    .option('top-k', { alias: 'k', type: 'number', default: 10, describe: 'next tokens listed' })
    .option('truncate', {
      type: 'boolean',
      default: false,
      describe:
        'keep the last n_positions tokens of a prompt longer than the context (with a warning) instead of failing',
    })
    .option('loss', {
      type: 'boolean',
      default: false,
      describe: 'per-token surprisal (nats and bits) of the prompt, or of --target after it',
    })
    .option('target', { type: 'string', describe: 'text scored after the prompt (only its tokens); implies --loss' })
    .option('generate', { alias: 'n', type: 'number', describe: 'generate up to N tokens after the prompt' })
    .option('temperature', { type: 'number', default: 0, describe: 'sampling temperature; 0 = greedy' })
    .option('top-p', {
      type: 'number',
      default: 1,
      describe: 'nucleus sampling: keep the smallest set with this much probability',
    })
    .option('sample-top-k', {
      type: 'number',
      default: 0,
      describe: 'sample among the K most likely tokens only (0 = all)',
    })
    .option('repetition-penalty', { type: 'number', default: 1, describe: '> 1 discourages tokens already present' })
    .option('seed', { type: 'number', default: 0, describe: 'sampling seed' })
    .option('stop', {
      type: 'string',
      array: true,
      describe: 'stop generating at this text (repeatable; "" for none); end-of-text always stops [default: "\\nQ:"]',
    })
    .option('cache', {
      type: 'boolean',
      default: true,
      describe: 'use the KV cache (--no-cache recomputes every step)',
    })
    .option('decode-weights', {
      choices: ['f16', 'f32'] as const,
      default: 'f16' as const,
      describe:
        'weights the cached decoder multiplies by: f16 copies (half the bytes per token) or the exact f32 values',
    })
    .option('diagnose', {
      type: 'boolean',
      default: false,
      describe:
        'does the model use its prompt? KL from a null prompt, function-word share, answer likelihood gain, verdict',
    })
    .option('prompts', {
      type: 'string',
      describe:
        'prompts for --diagnose: JSON array (strings or {prompt, answer}) or one per line (\\n escapes; TAB then an answer) [default: 12 art questions]',
    })
    .option('null-prompt', {
      type: 'string',
      describe: `null prompt for --diagnose [default: ${JSON.stringify(NULL_PROMPT)}]`,
    })
    .option('kl-threshold', {
      type: 'number',
      default: DEFAULT_THRESHOLDS.kl,
      describe: 'mean KL (nats) at or above which predictions "depend on the question"',
    })
    .option('fw-threshold', {
      type: 'number',
      default: DEFAULT_THRESHOLDS.functionWordShare,
      describe: 'function-word share at or above which predictions are "generic"',
    })
    .option('gain-threshold', {
      type: 'number',
      default: DEFAULT_THRESHOLDS.likelihoodGain,
      describe: 'answer likelihood gain (nats/token) at or above which "the question helps"',
    })
    .option('logit-lens', {
      type: 'boolean',
      default: false,
      describe: 'top tokens read out of the residual stream after each block (ln_f + lm_head), last position',
    })
    .option('compare', {
      type: 'string',
      describe: 'a second model directory, shown side by side (with --json: {"models": [A, B]})',
    })
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'print only JSON on stdout: {ids, top, loss, token_losses, ...}',
    })
    .option('full-logits', {
      type: 'boolean',
      default: false,
      describe: 'with --json: add "logits", the last position\'s logits over the real vocabulary',
    })
    .example('$0 -w weights/distilgpt2', 'top 10 next tokens after the motivating prompt')
    .example('$0 -w weights/distilgpt2 -p "Q: Who was Vincent van Gogh?\\nA:" -n 40', 'and a greedy answer')
    .example('$0 -w weights/distilgpt2 --loss --target " A school of French painters."', 'surprisal of an answer')
    .example(
      '$0 -w runs/scratch-mixed/final --diagnose --compare weights/distilgpt2',
      'does either model use its prompt?',
    )
    .epilogue(
      [
        '--diagnose compares each prompt with the null prompt: KL(p_prompt || p_null), the share of top-k',
        'probability on function words, and (for prompts with a reference answer) how much the question',
        "raises the answer's log-likelihood per token. Each votes against its threshold; the verdict follows",
        `the majority. Function words: ${FUNCTION_WORDS.map((w) => JSON.stringify(w)).join(' ')}.`,
        `Default prompts (with WordNet-gloss answers): ${DEFAULT_PROMPTS.map((p) => JSON.stringify(p.prompt)).join(', ')}.`,
        'Exit status: 0 done, 1 usage or input error (one line on stderr), 2 internal error.',
      ].join('\n'),
    )
    .parserConfiguration({ 'parse-positional-numbers': false })
    .strict()
    .help()
    .version(false)
    .wrap(null);
}

interface Argv {
  _: (string | number)[];
  weights?: string;
  model?: string;
  prompt?: string;
  ids?: string;
  'allow-nonfinite': boolean;
  'top-k': number;
  truncate: boolean;
  loss: boolean;
  target?: string;
  generate?: number;
  temperature: number;
  'top-p': number;
  'sample-top-k': number;
  'repetition-penalty': number;
  seed: number;
  stop?: string[];
  cache: boolean;
  'decode-weights': 'auto' | 'f16' | 'f32';
  diagnose: boolean;
  prompts?: string;
  'null-prompt'?: string;
  'kl-threshold': number;
  'fw-threshold': number;
  'gain-threshold': number;
  'logit-lens': boolean;
  compare?: string;
  base?: string;
  json: boolean;
  'full-logits': boolean;
}

function validate(a: Argv) {
  const fail = (m: string) => {
    throw new UsageError(m);
  };
  if (a._.length) fail(`unexpected argument ${JSON.stringify(String(a._[0]))} (the prompt goes after --prompt)`);
  if (a.weights !== undefined && a.model !== undefined) fail('give --weights or --model, not both');
  a.weights ??= a.model;
  if (a.weights === undefined || a.weights === '')
    fail('--weights DIR is required (a model directory with config.json and model.safetensors, or --model NAME)');
  const int = (k: keyof Argv, v: number | undefined, min: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) fail(`--${k} must be an integer ≥ ${min} (got ${v})`);
  };
  int('top-k', a['top-k'], 1);
  int('generate', a.generate, 0);
  int('sample-top-k', a['sample-top-k'], 0);
  int('seed', a.seed, 0);
  if (!(a.temperature >= 0)) fail(`--temperature must be ≥ 0 (got ${a.temperature})`);
  if (!(a['top-p'] > 0 && a['top-p'] <= 1)) fail(`--top-p must be in (0, 1] (got ${a['top-p']})`);
  if (!(a['repetition-penalty'] > 0)) fail(`--repetition-penalty must be > 0 (got ${a['repetition-penalty']})`);
  for (const k of ['kl-threshold', 'fw-threshold', 'gain-threshold'] as const)
    if (!Number.isFinite(a[k])) fail(`--${k} must be a number (got ${a[k]})`);
  if (a.prompt !== undefined && a.ids !== undefined) fail('give --prompt or --ids, not both');
  if (a.prompt !== undefined && a.prompt === '') fail('the prompt is empty (give --prompt TEXT or --ids 1,2,3)');
  if (a.target === '') fail('--target is empty');
  if (a['full-logits'] && !a.json) fail('--full-logits needs --json');
  if (!a.diagnose)
    for (const k of ['prompts', 'null-prompt'] as const) if (a[k] !== undefined) fail(`--${k} needs --diagnose`);
  if (a['null-prompt'] === '') fail('--null-prompt is empty');
  if (a.generate === undefined) {
    for (const k of ['stop'] as const) if (a[k] !== undefined) fail(`--${k} needs --generate N`);
  }
}

interface Loaded {
  dir: string;
  model: GPT2;
  tok: Tokenizer;
}

interface Resolved {
  spec: string;
  dir: string;
  /** a LoRA adapter directory's base model (--base, else the adapter's base_model_name_or_path) */
  base?: { spec: string; dir: string };
}

/** The directory `spec` names: itself, or a Hub repo's snapshot (from the cache or downloaded); an adapter's base too. */
async function resolve(spec: string, log: (line: string) => void, base?: string): Promise<Resolved> {
  try {
    const dir = (await resolveWeights(spec, cliHubOptions(log))).dir;
    if (!isAdapterDir(dir)) return { spec, dir };
    const b = base ?? adapterBase(dir);
    if (!b) throw new UsageError(`${spec}: a LoRA adapter that names no base model: give it with --base DIR|ORG/NAME`);
    return { spec, dir, base: { spec: b, dir: (await resolveWeights(b, cliHubOptions(log))).dir } };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new InputError((e as Error).message.split('\n')[0]); // not cached, offline, a bad repo: exit 1
  }
}

/** A resolved model loaded, shown under the name it was given. */
function load({ spec, dir, base }: Resolved, o: { allowNonFinite?: boolean }): Loaded {
  try {
    if (base) return { dir: spec, ...loadAdapterModel(dir, base.dir, base.spec, o) };
    return { dir: spec, ...loadModelAndTokenizer(dir, o) };
  } catch (e) {
    throw new InputError((e as Error).message.split('\n')[0]);
  }
}

interface Plan {
  ids: number[];
  promptText: string | null;
  scoreFrom?: number;
  targetIds?: number[];
}

/** The token ids to run, checked against the model's vocabulary and context. */
function plan(a: Argv, m: Loaded, warn: (s: string) => void): Plan {
  const { model, tok } = m;
  const V = model.config.vocab_size,
    P = model.config.n_positions;
  let ids: number[];
  let promptText: string | null;
  if (a.ids !== undefined) {
    ids = parseIds(a.ids);
    promptText = null;
  } else {
    promptText = unescapeArg(a.prompt ?? MOTIVATING_PROMPT);
    if (!promptText) throw new InputError('the prompt is empty (give --prompt TEXT or --ids 1,2,3)');
    ids = tok.encode(promptText);
  }
  const bad = ids.findIndex((id) => id >= V);
  if (bad >= 0) {
    const hint =
      promptText !== null
        ? ` — the prompt was tokenized with GPT-2's tokenizer; give --ids for a model with a smaller vocabulary`
        : '';
    throw new InputError(
      `token id ${ids[bad]} at position ${bad} is beyond the vocabulary of ${m.dir} (${V} tokens: ids 0..${V - 1})${hint}`,
    );
  }
  const targetIds = a.target !== undefined ? tok.encode(unescapeArg(a.target)) : undefined;
  if (targetIds) {
    const tb = targetIds.findIndex((id) => id >= V);
    if (tb >= 0)
      throw new InputError(`--target token id ${targetIds[tb]} is beyond the vocabulary of ${m.dir} (${V} tokens)`);
    if (targetIds.length >= P)
      throw new InputError(
        `--target is ${targetIds.length} tokens: with at least one prompt token it exceeds the context of ${P} positions`,
      );
  }
  const total = ids.length + (targetIds?.length ?? 0);
  if (total > P) {
    const what = targetIds
      ? `prompt + target (${ids.length} + ${targetIds.length} tokens)`
      : `prompt (${ids.length} tokens)`;
    if (!a.truncate)
      throw new InputError(
        `${what} is longer than the context of ${m.dir} (${P} positions); shorten it, or pass --truncate to keep the last ${P} tokens`,
      );
    const drop = total - P;
    warn(`warning: ${what} is longer than the context (${P} positions): dropped the first ${drop} prompt tokens`);
    ids = ids.slice(drop);
    promptText = null;
  }
  const wantLoss = a.loss || targetIds !== undefined;
  return {
    ids: targetIds ? [...ids, ...targetIds] : ids,
    promptText,
    scoreFrom: wantLoss ? (targetIds ? ids.length : 1) : undefined,
    targetIds,
  };
}

interface ModelRun {
  m: Loaded;
  plan: Plan;
  res: InspectResult;
  gen?: Awaited<ReturnType<typeof generate>>;
  diag?: Diagnosis;
}

async function runOne(
  a: Argv,
  m: Loaded,
  p: Plan,
  warn: (s: string) => void,
  prompts: PromptSpec[] | undefined,
): Promise<ModelRun> {
  const promptOnly = p.targetIds ? p.ids.slice(0, p.ids.length - p.targetIds.length) : p.ids;
  // the top-k after the prompt (before any target); the loss over prompt + target
  let res = await inspect(m.model, m.tok, p.ids, {
    topK: a['top-k'],
    scoreFrom: p.scoreFrom,
    fullLogits: a['full-logits'] && !p.targetIds,
    lens: a['logit-lens'] && !p.targetIds,
  });
  if (p.targetIds) {
    const head = await inspect(m.model, m.tok, promptOnly, {
      topK: a['top-k'],
      fullLogits: a['full-logits'],
      lens: a['logit-lens'],
    });
    res = { ...head, loss: res.loss };
  }
  if (res.nonFinite)
    warn(
      `warning: ${res.nonFinite} of the ${m.model.config.vocab_size} next-token logits of ${m.dir} are not finite (NaN or ±Infinity): its weights overflow float32, so the scores below mean nothing`,
    );
  const run: ModelRun = { m, plan: p, res };
  if (a.generate !== undefined) {
    const stops = (a.stop ?? ['\n' + 'Q:']).map(unescapeArg).filter((s) => s !== '');
    run.gen = await generate(m.model, promptOnly, {
      maxNew: a.generate,
      temperature: a.temperature,
      topK: a['sample-top-k'],
      topP: a['top-p'],
      repetitionPenalty: a['repetition-penalty'],
      seed: a.seed,
      stopIds: [m.tok.eot].filter((id) => id < m.model.config.vocab_size),
      stopStrings: stops,
      decode: (ids) => m.tok.decode(ids),
      cache: a.cache,
      weights: a['decode-weights'],
      onWarning: (w) => warn(`warning: ${w}`),
    });
  }
  if (a.diagnose) {
    run.diag = await diagnose(m.model, m.tok, {
      prompts,
      nullPrompt: a['null-prompt'] !== undefined ? unescapeArg(a['null-prompt']) : undefined,
      topK: a['top-k'],
      thresholds: { kl: a['kl-threshold'], functionWordShare: a['fw-threshold'], likelihoodGain: a['gain-threshold'] },
    }).catch((e: Error) => {
      throw new InputError(`--diagnose: ${e.message}`);
    });
  }
  return run;
}

function toJSON(a: Argv, r: ModelRun) {
  const { res, plan: p } = r;
  const promptIds = p.targetIds ? p.ids.slice(0, p.ids.length - p.targetIds.length) : p.ids;
  const j: Record<string, unknown> = {
    weights: r.m.dir,
    prompt: p.promptText,
    ids: promptIds,
    top: res.top.map((t) => ({ id: t.id, token: t.token, logit: t.logit, prob: t.prob })),
    loss: res.loss?.tokens.length ? res.loss.meanNats : null,
    token_losses: res.loss ? res.loss.tokens.map((t) => t.nats) : null,
  };
  if (p.targetIds) j.target_ids = p.targetIds;
  if (res.loss) {
    j.loss_detail = {
      scored_from: res.loss.scoredFrom,
      total_nats: res.loss.totalNats,
      mean_nats: res.loss.meanNats,
      total_bits: res.loss.totalBits,
      mean_bits: res.loss.meanBits,
      perplexity: res.loss.perplexity,
      tokens: res.loss.tokens.map((t) => ({
        pos: t.pos,
        id: t.id,
        token: t.token,
        nats: t.nats,
        bits: t.bits,
        rank: t.rank,
        predicted: t.predicted.id,
      })),
    };
  }
  if (a['full-logits'] && res.logits) j.logits = Array.from(res.logits);
  if (res.lens)
    j.logit_lens = res.lens.map((l) => ({
      layer: l.layer,
      top: l.top.map((t) => ({ id: t.id, token: t.token, logit: t.logit, prob: t.prob })),
    }));
  if (r.gen) j.generation = { text: r.gen.text, ids: r.gen.ids, stopped_by: r.gen.stoppedBy };
  if (r.diag) j.diagnose = r.diag;
  return j;
}

function promptIdsOf(p: Plan): number[] {
  return p.targetIds ? p.ids.slice(0, p.ids.length - p.targetIds.length) : p.ids;
}

function header(runs: ModelRun[]): string[] {
  const out = runs.map((r, i) => {
    const c = r.m.model.config;
    const name = runs.length > 1 ? `model ${'AB'[i]}` : 'model';
    return `${name.padEnd(8)} ${r.m.dir} (${c.n_layer} blocks, ${c.n_embd} wide, ${c.n_head} heads, vocab ${c.vocab_size}, ${c.n_positions} positions)`;
  });
  const r = runs[0],
    p = r.plan,
    ids = promptIdsOf(p);
  const text = p.promptText ?? safeDecode(r.m.tok, ids);
  out.push(
    `${'prompt'.padEnd(8)} ${quoted(text)} (${ids.length} token${ids.length === 1 ? '' : 's'}${p.promptText === null ? `: ${ids.join(',')}` : ''})`,
  );
  if (p.targetIds)
    out.push(
      `${'target'.padEnd(8)} ${quoted(safeDecode(r.m.tok, p.targetIds))} (${p.targetIds.length} token${p.targetIds.length === 1 ? '' : 's'})`,
    );
  return out;
}

function safeDecode(tok: Tokenizer, ids: number[]): string {
  return ids.map((id) => (id < tok.vocabSize ? tok.decode([id]) : `<id ${id}>`)).join('');
}

function textReport(a: Argv, runs: ModelRun[]): string[] {
  const out: string[] = [];
  const name = (i: number) => (runs.length > 1 ? ` — model ${'AB'[i]}` : '');
  const blocks = (f: (r: ModelRun) => string[]) =>
    runs.length === 1 ? f(runs[0]) : sideBySide(runs.map((r, i) => [`model ${'AB'[i]}`, ...f(r)]));
  out.push(...header(runs), '');
  out.push(`next token (top ${a['top-k']})`, ...blocks((r) => topTable(r.res.top)), '');
  if (runs[0].res.loss) {
    const t = runs[0].plan.targetIds
      ? `the target after the prompt (${runs[0].plan.targetIds.length} tokens)`
      : 'the prompt';
    // tables side by side, each model's totals (a long line) below them
    out.push(
      `surprisal of ${t}: -ln p(token | the tokens before it)`,
      ...blocks((r) => lossTable(r.res.loss!).slice(0, r.res.loss!.tokens.length ? -1 : undefined)),
    );
    if (runs[0].res.loss.tokens.length)
      runs.forEach((r, i) =>
        out.push(`${runs.length > 1 ? `model ${'AB'[i]}: ` : ''}${lossTable(r.res.loss!).at(-1)}`),
      );
    out.push('');
  }
  if (runs[0].res.lens) {
    for (const r of runs)
      out.push(`logit lens${name(runs.indexOf(r))}: the last position`, ...lensTable(r.res.lens!), '');
  }
  if (runs[0].gen) {
    const how =
      a.temperature === 0
        ? 'greedy'
        : `temperature ${a.temperature}, top-p ${a['top-p']}, top-k ${a['sample-top-k'] || 'all'}, seed ${a.seed}`;
    for (const r of runs) {
      const g = r.gen!;
      const promptText = r.plan.promptText ?? safeDecode(r.m.tok, r.plan.ids);
      out.push(
        `generation${name(runs.indexOf(r))} (${how}${a['repetition-penalty'] !== 1 ? `, repetition penalty ${a['repetition-penalty']}` : ''}; ${g.ids.length} new tokens, stopped by ${g.stoppedBy})`,
      );
      out.push(...(promptText + (g.text ?? '')).split('\n').map((l) => `  | ${l}`), '');
    }
  }
  if (runs[0].diag) {
    if (runs.length === 1) out.push(...diagnoseReport(runs[0].diag));
    else
      for (const r of runs)
        out.push(
          `diagnose${name(runs.indexOf(r))}: ${r.diag!.perPrompt.length} prompts against the null prompt ${quoted(r.diag!.nullPrompt)}`,
          ...diagnoseSummary(r.diag!),
          '',
        );
  }
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

/** Run the command; returns the exit status (src/exit.ts: 0 done, 1 bad input or no WebGPU adapter, 2 a bad command line). */
export async function runProbeCli(
  args: string[],
  io: ProbeIO = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) },
): Promise<number> {
  let parsed: { err?: Error; argv?: Argv; output: string } = { output: '' };
  parser().parse(args, {}, (err, argv, output) => {
    parsed = { err: err ?? undefined, argv: argv as unknown as Argv, output };
  });
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  if (parsed.err) {
    io.err(`probe: ${oneLine(parsed.err.message)} (run with --help for the options)`);
    return EXIT_USAGE;
  }
  if (parsed.output) {
    io.out(parsed.output);
    return 0;
  } // --help
  const a = parsed.argv!;
  try {
    validate(a);
    const prompts = a.prompts !== undefined ? readPrompts(a.prompts) : undefined;
    if (a.compare === '') throw new UsageError('--compare needs a second model directory');
    const specs = a.compare !== undefined ? [a.weights!, a.compare] : [a.weights!];
    const resolved = [];
    for (const spec of specs) resolved.push(await resolve(spec, io.err, a.base));
    await init();
    const models = resolved.map((r) => load(r, { allowNonFinite: a['allow-nonfinite'] }));
    // check the prompt against every model before running any
    const plans = models.map((m) => plan(a, m, (w) => io.err(models.length > 1 ? `${m.dir}: ${w}` : w)));
    const runs: ModelRun[] = [];
    for (const [i, m] of models.entries()) runs.push(await runOne(a, m, plans[i], (w) => io.err(w), prompts));
    if (a.json) {
      const js = runs.map((r) => toJSON(a, r));
      io.out(JSON.stringify(runs.length === 1 ? js[0] : { models: js }));
    } else io.out(textReport(a, runs).join('\n'));
    return EXIT_OK;
  } catch (e) {
    if (e instanceof UsageError || e instanceof InputError) {
      io.err(`probe: ${oneLine(e.message)}`);
      return e instanceof UsageError ? EXIT_USAGE : EXIT_FAILED;
    }
    if (e instanceof NoAdapterError) {
      io.err(e.message);
      return EXIT_FAILED;
    }
    throw e;
  }
}
