// The probe (src/probe/*, src/probe.ts) on the tiny fixtures: top-k, losses and logits against the
// float64 references, the logit lens, the diagnosis, --compare, --json, and the CLI's errors.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setup, relL2 } from './helpers.ts';
import { loadModel } from '../src/model/load.ts';
import { generate } from '../src/model/generate.ts';
import { getTokenizer, type Tokenizer } from '../src/io/tokenizer.ts';
import type { GPT2 } from '../src/model/gpt2.ts';
import {
  inspect,
  diagnose,
  judge,
  functionWordIds,
  logitLens,
  nextLogits,
  runProbeCli,
  readPrompts,
  unescapeArg,
  parseIds,
  DEFAULT_PROMPTS,
  DEFAULT_THRESHOLDS,
  FUNCTION_WORDS,
  NULL_PROMPT,
  MOTIVATING_PROMPT,
} from '../src/probe/index.ts';
import { median } from '../src/probe/stats.ts';

const ROOT = path.join(import.meta.dirname, '..');
const FIX = path.join(import.meta.dirname, 'fixtures/gpt2-reference');
const TINY = path.join(FIX, 'tiny-prefixed-f16');
const HOT = path.join(FIX, 'hot-plain-f32');

interface RefResult {
  tokens: number[];
  last_logits: number[];
  top10: { id: number; logit: number; prob: number }[];
  loss: number | null;
  per_token_loss: number[];
}
const REF = JSON.parse(fs.readFileSync(path.join(FIX, 'reference_tiny.json'), 'utf8')).results as RefResult[];
const [R1, R17, _R128] = REF;

let model: GPT2;
let tok: Tokenizer;
beforeAll(async () => {
  await setup();
  model = loadModel(TINY);
  tok = getTokenizer(TINY);
});

/** The CLI in-process: stdout and stderr as strings. */
async function cli(...args: string[]) {
  const out: string[] = [],
    err: string[] = [];
  const code = await runProbeCli(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function expectTop(top: { id: number; logit: number; prob: number }[], ref: RefResult['top10']) {
  expect(top.map((t) => t.id)).toEqual(ref.map((t) => t.id));
  top.forEach((t, i) => {
    expect(Math.abs(t.logit - ref[i].logit)).toBeLessThan(1e-4);
    expect(Math.abs(t.prob - ref[i].prob) / ref[i].prob).toBeLessThan(1e-4);
  });
}

describe('library against the float64 reference (tiny-prefixed-f16)', () => {
  it('top-10, full logits, per-token losses and the logit lens of each reference sequence', async () => {
    for (const r of REF) {
      const res = await inspect(model, tok, r.tokens, { topK: 10, scoreFrom: 1, fullLogits: true, lens: true });
      expectTop(res.top, r.top10);
      expect(res.top.map((t) => t.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(res.logits).toHaveLength(model.config.vocab_size);
      expect(relL2(res.logits!, r.last_logits)).toBeLessThan(1e-4);
      const losses = res.loss!.tokens.map((t) => t.nats);
      expect(losses).toHaveLength(r.per_token_loss.length);
      losses.forEach((l, i) => expect(Math.abs(l - r.per_token_loss[i])).toBeLessThan(1e-4));
      if (r.loss !== null) {
        expect(Math.abs(res.loss!.meanNats - r.loss)).toBeLessThan(1e-4);
        expect(res.loss!.meanBits).toBeCloseTo(r.loss / Math.LN2, 4);
      } else expect(res.loss!.tokens).toHaveLength(0);
      // the lens: one row per block, the last one the model's own prediction
      expect(res.lens!.map((l) => l.layer)).toEqual([0, 1]);
      expect(res.lens!.at(-1)!.top).toEqual(res.top);
      expect(res.lens![0].top.map((t) => t.id)).not.toEqual(res.top.map((t) => t.id));
    }
  });

  it('a target after the prompt: only its tokens are scored, as within the whole sequence', async () => {
    const whole = await inspect(model, tok, R17.tokens, { scoreFrom: 1 });
    const part = await inspect(model, tok, R17.tokens, { scoreFrom: 12 });
    expect(part.loss!.tokens.map((t) => t.pos)).toEqual([12, 13, 14, 15, 16]);
    part.loss!.tokens.forEach((t, i) => expect(t.nats).toBeCloseTo(whole.loss!.tokens[11 + i].nats, 5));
    expect(part.loss!.totalNats).toBeCloseTo(
      R17.per_token_loss.slice(11).reduce((a, b) => a + b, 0),
      3,
    );
    // rank and the model's top-1 at the position before each scored token
    const t0 = part.loss!.tokens[0];
    const before = await nextLogits(model, R17.tokens.slice(0, 12));
    expect(t0.rank).toBe(1 + Array.from(before).filter((x) => x > before[t0.id]).length);
    expect(t0.predicted.id).toBe(before.indexOf(Math.max(...before)));
  });
});

describe('CLI in-process', () => {
  it('--json --loss --full-logits with --ids: the shape, and the values of the reference', async () => {
    const r = await cli('-w', TINY, '--ids', R17.tokens.join(','), '--json', '--loss', '--full-logits');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out); // stdout holds only the JSON
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['ids', 'top', 'loss', 'token_losses', 'logits']));
    expect(j.ids).toEqual(R17.tokens);
    expect(j.top).toHaveLength(10);
    for (const t of j.top) expect(Object.keys(t).sort()).toEqual(['id', 'logit', 'prob', 'token']);
    expect(j.top[0].token).toBe(tok.decodeOne(R17.top10[0].id));
    expectTop(j.top, R17.top10);
    expect(j.token_losses).toHaveLength(R17.per_token_loss.length);
    j.token_losses.forEach((l: number, i: number) => expect(Math.abs(l - R17.per_token_loss[i])).toBeLessThan(1e-4));
    expect(Math.abs(j.loss - R17.loss!)).toBeLessThan(1e-4);
    expect(j.logits).toHaveLength(50257);
    expect(relL2(j.logits, R17.last_logits)).toBeLessThan(1e-4);
  });

  it('--json without --loss: loss and token_losses are null', async () => {
    const r = await cli('-w', TINY, '--ids', R1.tokens.join(','), '--json', '-k', '3');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ ids: [50256], loss: null, token_losses: null });
    expect(j.top).toHaveLength(3);
    expect(j.logits).toBeUndefined();
    expectTop(j.top, R1.top10.slice(0, 3));
  });

  it('the text table: rank, visible token, id, logit, prob', async () => {
    const r = await cli('-w', TINY, '--ids', R17.tokens.join(','));
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    const h = lines.findIndex((l) => /^rank\s+token\s+id\s+logit\s+prob$/.test(l));
    expect(h).toBeGreaterThan(0);
    const rows = lines.slice(h + 1, h + 11).map((l) => l.trim().split(/\s+/));
    rows.forEach((cols, i) => {
      expect(Number(cols[0])).toBe(i + 1);
      expect(Number(cols.at(-3))).toBe(R17.top10[i].id);
      expect(Math.abs(Number(cols.at(-2)) - R17.top10[i].logit)).toBeLessThan(1e-3);
      expect(Math.abs(Number(cols.at(-1)) - R17.top10[i].prob) / R17.top10[i].prob).toBeLessThan(1e-2);
    });
    expect(r.out).toContain('␣'); // spaces in tokens are visible
  });

  it("the default prompt is the motivating question's, with \\n escapes from a command line", async () => {
    const a = await cli('-w', TINY, '--json', '-k', '2');
    const b = await cli('-w', TINY, '--json', '-k', '2', '--prompt', 'Q: What is Impressionism?\\nA:');
    expect(JSON.parse(a.out).ids).toEqual(tok.encode(MOTIVATING_PROMPT));
    expect(JSON.parse(b.out).ids).toEqual(tok.encode(MOTIVATING_PROMPT));
  });

  it('--loss --target scores only the target; --logit-lens and --generate in text', async () => {
    const r = await cli('-w', TINY, '-p', 'Q: What is a fresco?\\nA:', '--target', ' A mural.', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.ids).toEqual(tok.encode('Q: What is a fresco?\nA:'));
    expect(j.target_ids).toEqual(tok.encode(' A mural.'));
    expect(j.token_losses).toHaveLength(j.target_ids.length);
    expect(j.loss_detail.scored_from).toBe(j.ids.length);
    const t = await cli('-w', TINY, '--ids', '464,1290,318', '--logit-lens', '-n', '4', '--loss', '-k', '3');
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/logit lens: the last position\nblock .*\n +0 .*\n +1 /);
    expect(t.out).toMatch(/surprisal of the prompt/);
    expect(t.out).toMatch(/total [\d.]+ nats \([\d.]+ bits\) over 2 tokens/);
    expect(t.out).toMatch(/generation \(greedy; 4 new tokens, stopped by max-new\)/);
  });

  it("--generate equals the library's generate, with and without the cache", async () => {
    const ids = [464, 1290, 318];
    const want = await generate(model, ids, { maxNew: 5, temperature: 0.8, topK: 40, seed: 3, stopIds: [50256] });
    for (const cache of ['--cache', '--no-cache']) {
      const r = await cli(
        '-w',
        TINY,
        '--ids',
        ids.join(','),
        '-n',
        '5',
        '--temperature',
        '0.8',
        '--sample-top-k',
        '40',
        '--seed',
        '3',
        '--stop',
        '',
        cache,
        '--json',
      );
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).generation).toMatchObject({ ids: want.ids, stopped_by: 'max-new' });
    }
  });

  it('--compare prints both models side by side', async () => {
    const r = await cli('-w', TINY, '--compare', HOT, '--ids', '464,1290,318,257', '-k', '3');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`model A  ${TINY}`);
    expect(r.out).toContain(`model B  ${HOT}`);
    const head = r.out.split('\n').find((l) => l.startsWith('rank'))!;
    expect(head.match(/rank/g)).toHaveLength(2);
    const j = JSON.parse((await cli('-w', TINY, '--compare', HOT, '--ids', '464,1290', '-k', '3', '--json')).out);
    expect(j.models.map((m: { weights: string }) => m.weights)).toEqual([TINY, HOT]);
    expect(j.models[0].top[0].id).toBe(43535);
    expect(j.models[1].top[0].id).not.toBe(43535);
  });

  it('an unknown flag: one line, exit status 2 (as train and eval)', async () => {
    const r = await cli('-w', TINY, '--bogus');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^probe: Unknown argument: bogus/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('usage errors exit 2, input errors 1: one line each', async () => {
    const cases: [string[], RegExp, number][] = [
      [['--prompt', 'x'], /--weights DIR is required/, 2],
      [['-w', path.join(FIX, 'train')], /no config\.json/, 1],
      [['-w', TINY, '--prompt', ''], /the prompt is empty/, 2],
      [
        ['-w', TINY, '--ids', '1,50257'],
        /token id 50257 at position 1 is beyond the vocabulary .* \(50257 tokens: ids 0\.\.50256\)/,
        1,
      ],
      [['-w', HOT], /token id \d+ .* beyond the vocabulary .*2053 tokens.*give --ids/, 1],
      [['-w', TINY, '--ids', '1,x'], /--ids: "x" is not a token id/, 2],
      [
        ['-w', TINY, '--ids', Array(129).fill(1).join(',')],
        /prompt \(129 tokens\) is longer than the context .*128 positions.*--truncate/,
        1,
      ],
      [['-w', TINY, '--full-logits'], /--full-logits needs --json/, 2],
      [['-w', TINY, '--prompts', 'x.txt'], /--prompts needs --diagnose/, 2],
      [['-w', TINY, '--top-k', '0'], /--top-k must be an integer ≥ 1/, 2],
      [['-w', TINY, '-p', 'a', '--ids', '1'], /--prompt or --ids, not both/, 2],
      [['-w', TINY, '--diagnose', '--prompts', '/nonexistent.txt'], /--prompts \/nonexistent\.txt: no such file/, 1],
    ];
    for (const [args, msg, code] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.err, args.join(' ')).toMatch(msg);
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.err).toMatch(/^probe: /);
      expect(r.out).toBe('');
    }
  });

  it('--truncate keeps the last n_positions tokens, with a warning on stderr', async () => {
    const ids = Array.from({ length: 130 }, (_, i) => 100 + i);
    const r = await cli('-w', TINY, '--ids', ids.join(','), '--truncate', '--json', '-k', '1');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).ids).toEqual(ids.slice(2));
    expect(r.err).toMatch(/dropped the first 2 prompt tokens/);
  });

  it('--help lists the flags without touching the GPU', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    for (const f of [
      '--weights',
      '--prompt',
      '--top-k',
      '--generate',
      '--temperature',
      '--top-p',
      '--sample-top-k',
      '--repetition-penalty',
      '--seed',
      '--stop',
      '--no-cache',
      '--loss',
      '--target',
      '--diagnose',
      '--prompts',
      '--logit-lens',
      '--compare',
      '--json',
      '--ids',
      '--full-logits',
    ]) {
      expect(r.out).toContain(f);
    }
  });
});

describe('diagnose', () => {
  it('KL, function-word share, answer likelihoods and a verdict; batched equals one-at-a-time', async () => {
    const d = await diagnose(model, tok, {
      prompts: [DEFAULT_PROMPTS[0].prompt, DEFAULT_PROMPTS[1], 'Q: What is a tempera?\nA:'],
      topK: 5,
    });
    expect(d.perPrompt).toHaveLength(3);
    expect(d.nullPrompt).toBe(NULL_PROMPT);
    for (const p of d.perPrompt) {
      expect(Number.isFinite(p.kl) && p.kl >= 0).toBe(true);
      expect(p.functionWordShare).toBeGreaterThanOrEqual(0);
      expect(p.functionWordShare).toBeLessThanOrEqual(1);
      expect(p.top).toHaveLength(5);
    }
    // a default prompt given as a string gets its built-in answer; the new one has none
    expect(d.perPrompt[0].answer?.text).toBe(DEFAULT_PROMPTS[0].answer);
    expect(d.perPrompt[1].answer?.ids).toEqual(tok.encode(DEFAULT_PROMPTS[1].answer!));
    expect(d.perPrompt[2].answer).toBeUndefined();
    for (const p of d.perPrompt.slice(0, 2)) {
      const a = p.answer!;
      expect(a.logLik).toBeLessThan(0);
      expect(a.gainPerToken).toBeCloseTo((a.logLik - a.logLikOther) / a.ids.length, 10);
      // the same log-likelihood through inspect(): sum of the answer's token losses after the prompt
      const res = await inspect(model, tok, [...p.ids, ...a.ids], { scoreFrom: p.ids.length });
      expect(-res.loss!.totalNats).toBeCloseTo(a.logLik, 3);
    }
    expect(Number.isFinite(d.meanKL) && d.meanKL >= 0).toBe(true);
    expect(d.functionWordShare).toBeGreaterThanOrEqual(0);
    expect(d.functionWordShare).toBeLessThanOrEqual(1);
    expect(Number.isFinite(d.medianLikelihoodGain!)).toBe(true);
    expect(d.medianLikelihoodGain).toBe(median(d.perPrompt.filter((p) => p.answer).map((p) => p.answer!.gainPerToken)));
    expect(typeof d.verdict).toBe('string');
    expect(d.verdict.length).toBeGreaterThan(20);
    // a random model with small weights predicts nearly uniformly
    expect(d.label).toBe('untrained');
    expect(d.usesPrompt).toBe(false);
    // the batched top-k equals a single forward pass on the prompt
    const one = await inspect(model, tok, d.perPrompt[0].ids, { topK: 5 });
    expect(d.perPrompt[0].top.map((t) => t.id)).toEqual(one.top.map((t) => t.id));
    d.perPrompt[0].top.forEach((t, i) => expect(t.logit).toBeCloseTo(one.top[i].logit, 5));
  });

  it('the null prompt as the prompt: KL 0 and no likelihood gain', async () => {
    const d = await diagnose(model, tok, { prompts: [{ prompt: NULL_PROMPT, answer: 'A painter.' }], topK: 3 });
    expect(d.perPrompt[0].answer!.text).toBe(' A painter.'); // the leading space is added
    expect(d.meanKL).toBeLessThan(1e-9);
    expect(Math.abs(d.medianLikelihoodGain!)).toBeLessThan(1e-5);
    expect(d.promptSpread).toBeLessThan(1e-9);
    expect(d.signals.kl.usesPrompt).toBe(false);
    expect(d.signals.likelihoodGain!.usesPrompt).toBe(false);
    expect(d.usesPrompt).toBe(false);
    // without the "untrained" check the two failing signals outvote the function-word share
    const j = judge(d, model.config.vocab_size, { ...DEFAULT_THRESHOLDS, uniformEntropy: 1.01 });
    expect(j.label).toBe('mixed');
    expect(j.usesPrompt).toBe(false);
    expect(j.verdict).toMatch(/^mostly generic word patterns/);
  });

  it('a large-scale random model (hot fixture) depends on its prompt: KL above the threshold', async () => {
    const hot = loadModel(HOT);
    const d = await diagnose(hot, tok, { prompts: ['The far', 'A is'], nullPrompt: 'The', topK: 5 });
    expect(d.meanKL).toBeGreaterThan(DEFAULT_THRESHOLDS.kl);
    expect(d.label).not.toBe('untrained');
    expect(d.signals.kl.usesPrompt).toBe(true);
    expect(d.usesPrompt).toBe(true);
    expect(d.medianLikelihoodGain).toBeUndefined();
    expect(d.signals.likelihoodGain).toBeUndefined();
  });

  it('the verdict from the numbers (judge)', () => {
    const V = 50257;
    const generic = judge({ meanKL: 0.02, functionWordShare: 0.85, medianLikelihoodGain: 0.01, meanEntropy: 4 }, V);
    expect(generic).toMatchObject({ label: 'generic', usesPrompt: false });
    expect(generic.verdict).toMatch(/^learning generic word patterns, not semantic content/);
    const uses = judge({ meanKL: 2.5, functionWordShare: 0.1, medianLikelihoodGain: 1.2, meanEntropy: 3 }, V);
    expect(uses).toMatchObject({ label: 'uses-prompt', usesPrompt: true });
    expect(uses.verdict).toMatch(/^uses its prompt: its predictions depend on the question/);
    expect(uses.verdict).toContain('2.500 nats ≥ 0.5');
    const mixed = judge({ meanKL: 0.8, functionWordShare: 0.7, medianLikelihoodGain: 0.3, meanEntropy: 3 }, V);
    expect(mixed).toMatchObject({ label: 'mixed', usesPrompt: true });
    // two signals (no answers) that disagree: KL decides
    expect(judge({ meanKL: 0.1, functionWordShare: 0.1, meanEntropy: 3 }, V).usesPrompt).toBe(false);
    expect(judge({ meanKL: 0.9, functionWordShare: 0.9, meanEntropy: 3 }, V).usesPrompt).toBe(true);
    expect(judge({ meanKL: 2, functionWordShare: 0, medianLikelihoodGain: 2, meanEntropy: 10.5 }, V).label).toBe(
      'untrained',
    );
    // thresholds are parameters
    expect(
      judge({ meanKL: 0.3, functionWordShare: 0.2, medianLikelihoodGain: 0.05, meanEntropy: 3 }, V, {
        ...DEFAULT_THRESHOLDS,
        kl: 0.2,
        likelihoodGain: 0.01,
      }).label,
    ).toBe('uses-prompt');
  });

  it("every function word is one GPT-2 token; the defaults include the motivating failure's two prompts", () => {
    expect(functionWordIds(tok).size).toBe(FUNCTION_WORDS.length);
    for (const w of [' the', ' a', ' an', ' of', ' and', ' in', ' to', ' is', ' was', ',', '.'])
      expect(FUNCTION_WORDS).toContain(w);
    expect(DEFAULT_PROMPTS.length).toBe(12);
    expect(DEFAULT_PROMPTS.map((p) => p.prompt)).toEqual(
      expect.arrayContaining(['Q: What is Impressionism?\nA:', 'Q: Who was Vincent van Gogh?\nA:']),
    );
    for (const p of DEFAULT_PROMPTS) {
      expect(p.prompt).toMatch(/^Q: .+\?\nA:$/);
      expect(p.answer).toMatch(/^ [A-Z].*\.$/);
    }
  });

  it('--diagnose with a prompts file, in text and JSON', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-'));
    const file = path.join(dir, 'prompts.txt');
    fs.writeFileSync(file, '# art\nQ: What is Impressionism?\\nA:\nQ: What is a fresco?\\nA:\t A mural.\n');
    const r = await cli('-w', TINY, '--diagnose', '--prompts', file, '-k', '3');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/after the prompt \(top 3\) +after the null prompt "Q:\\nA:"/);
    expect(r.out).toMatch(/KL\(prompt \|\| null\) [\d.]+ nats/);
    expect(r.out).toMatch(/answer " A mural\." \(3 tokens\)/);
    expect(r.out).toMatch(/^verdict \[untrained, usesPrompt=false\]: /m);
    const j = JSON.parse((await cli('-w', TINY, '--diagnose', '--prompts', file, '-k', '3', '--json')).out);
    expect(j.diagnose.perPrompt).toHaveLength(2);
    expect(j.diagnose).toMatchObject({ usesPrompt: false, label: 'untrained' });
    expect(typeof j.diagnose.verdict).toBe('string');
    fs.rmSync(dir, { recursive: true });
  });

  it('median(): odd and even counts, one outlier does not move it far', () => {
    expect(median([3, -40, 1])).toBe(1);
    expect(median([0.4, 0.2, 0.3, -1.85])).toBeCloseTo(0.25, 12);
    expect(() => median([])).toThrow(/empty/);
  });
});

describe('helpers', () => {
  it('escapes, ids and prompt files', () => {
    expect(unescapeArg('Q: x?\\nA:\\t\\\\n')).toBe('Q: x?\nA:\t\\n');
    expect(parseIds('1, 2 3,4')).toEqual([1, 2, 3, 4]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-'));
    const json = path.join(dir, 'p.json');
    fs.writeFileSync(json, JSON.stringify(['Q: a?\nA:', { prompt: 'Q: b?\nA:', answer: ' B.' }]));
    expect(readPrompts(json)).toEqual([{ prompt: 'Q: a?\nA:' }, { prompt: 'Q: b?\nA:', answer: ' B.' }]);
    fs.writeFileSync(json, '{"prompt": 1}');
    expect(() => readPrompts(json)).toThrow(/expected a JSON array/);
    fs.rmSync(dir, { recursive: true });
  });

  it('logitLens() is one row per block', async () => {
    const lens = await logitLens(model, tok, [464, 1290], 4);
    expect(lens).toHaveLength(model.config.n_layer);
    expect(lens.every((l) => l.top.length === 4)).toBe(true);
  });
});

describe('the real entry point (spawned)', () => {
  const run = (...args: string[]) =>
    spawnSync('npx', ['tsx', 'src/probe.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

  it('exits by itself after printing; --json prints only JSON on stdout', () => {
    const r = run('-w', TINY, '--ids', R17.tokens.join(','), '--json', '-k', '2');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.top.map((t: { id: number }) => t.id)).toEqual(R17.top10.slice(0, 2).map((t) => t.id));
  });

  it('an unknown flag and a missing weights directory: one line, non-zero exit', () => {
    const a = run('-w', TINY, '--frobnicate');
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/^probe: Unknown argument: frobnicate/m);
    const b = run('-w', path.join(ROOT, 'weights', 'no-such-model'));
    expect(b.status).toBe(1);
    expect(b.stderr).toMatch(/^probe: .*no-such-model: not a directory/m);
    expect(b.stdout).toBe('');
  });
});
