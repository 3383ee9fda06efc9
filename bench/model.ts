// Bench section "model": whole training steps (forward + backward + AdamW) and generation
// (prefill, then batch-1 decoding with and without the KV cache; the cached decoding with f16
// copies of the weights, the default, and with the f32 weights).
//
// Training rows run on the first batch of the embedded core data (answer-only loss weights), for
// the tiny preset and the scratch config, each three ways: GPT-2's vocabulary with logits at
// every position (how it was), the compact vocabulary (the GPT-2 tokens of the training text)
// with logits at every position, and the compact vocabulary with logits only where the loss
// counts (the default). Each notes the share of the step spent in the three logits products
// (lm_head forward, dx, dwte), timed alone at the step's shapes in the same run.
// With --peers, PyTorch on the CPU runs the same configs (bench/peers.ts).
import { uniform } from '../src/rng.ts';
import { fileURLToPath } from 'node:url';
import { init, resetCounters, sync, type Counters } from '../src/gpu/runtime.ts';
import { Tensor, trimPool } from '../src/gpu/tensor.ts';
import { GPT2 } from '../src/model/gpt2.ts';
import { CONFIGS, type GPT2Config } from '../src/model/config.ts';
import { generate } from '../src/model/generate.ts';
import { KVCache } from '../src/model/kvcache.ts';
import { HalfWeights } from '../src/model/half.ts';
import { attachLora, padVocab } from '../src/model/load.ts';
import { LORA_DEFAULTS, sitesFor, type LoraConfig } from '../src/model/lora.ts';
import { matmul } from '../src/ops/matmul/index.ts';
import { autotuneUsed } from '../src/ops/matmul/tune.ts';
import { compactTokenizer, compactVocab, getTokenizer, type Tokenizer } from '../src/io/tokenizer.ts';
import { encodeExamples, loadDataset, packEpoch } from '../src/data/index.ts';
import { AdamW } from '../src/train/optimizer.ts';
import { trainStep, readStep, type Batch } from '../src/train/step.ts';
import { torchPeer, torchName, type TorchResult } from './peers.ts';
import {
  copyJob,
  countsNote,
  medianOf,
  perCounts,
  progress,
  timeGpu,
  type BenchOpts,
  type PerCounts,
  type Row,
} from './harness.ts';

const SECTION = 'model';

function randomTokens(n: number, vocab: number, seed: number): Int32Array {
  const u = uniform(seed);
  return Int32Array.from({ length: n }, () => Math.floor(u() * vocab));
}

/**
 * The median of `reps` timed runs, or of fewer where the runs so far took over `budgetMs` (a
 * scratch or distilgpt2-shaped training step takes half a minute on a slow 2-core CPU: three of
 * each kept the full bench running for most of an hour). At least one run; `n` says how many.
 */
async function timedRuns(fn: () => Promise<void>, reps: number, budgetMs = Infinity) {
  const t: number[] = [];
  const t0 = performance.now();
  while (t.length < reps && (t.length === 0 || performance.now() - t0 < budgetMs)) {
    const a = performance.now();
    await fn();
    t.push(performance.now() - a);
  }
  return { ms: medianOf(t), n: t.length };
}

const median = async (fn: () => Promise<void>, reps: number) => (await timedRuns(fn, reps)).ms;

/** A training row's time budget for its repetitions (see timedRuns). */
const TRAIN_BUDGET_MS = 15_000;
const repsNote = (n: number, reps: number) =>
  n < reps ? `; ${n} of ${reps} reps (over ${TRAIN_BUDGET_MS / 1000} s)` : '';

/** The benched models: the scratch config and distilgpt2's shape with its vocabulary padded to a multiple of 64. */
export const BENCH_CONFIGS: Record<'scratch' | 'distilgpt2', GPT2Config> = {
  scratch: CONFIGS.scratch,
  distilgpt2: { ...CONFIGS.distilgpt2, padded_vocab_size: 50304 },
};

/** What a timed training step runs on: random weights, AdamW, one fixed batch; after one compiling, warming step. */
export async function trainSetup(
  config: GPT2Config,
  B: number,
  T: number,
  batch?: Batch,
  o: { gather?: boolean; lora?: LoraConfig } = {},
) {
  const model = GPT2.init(config, 1);
  if (o.lora) attachLora(model, o.lora);
  const opt = new AdamW(model.trainable);
  const b = batch ?? { tokens: randomTokens(B * (T + 1), config.vocab_size, 3), B, T };
  await readStep(trainStep(model, opt, [b], 1e-4, o)); // compile + warm
  // as the trainer does after its first step: tune the products it ran by rule, then warm again
  if ((await autotuneUsed()).length) await readStep(trainStep(model, opt, [b], 1e-4, o));
  return { model, opt, batch: b };
}

/** The first batch of the core data, tokenized with `tok` (answer-only weights). */
export async function coreBatch(tok: Tokenizer, B: number, T: number): Promise<Batch> {
  const ds = await loadDataset({ mix: 'core', seed: 1234 });
  return packEpoch(encodeExamples(ds.train, tok, 'answer'), { T, B, seed: 1337, epoch: 0, eot: tok.eot })[0];
}

/**
 * ms of the three logits products of a step (x·wteᵀ, dlogits·wte, dlogitsᵀ·x) for M rows at width C:
 * one rep without a warm-up, since the step before ran these products at these shapes (compiled,
 * autotuned); at GPT-2's vocabulary they are most of the step, and a 3-rep median cost minutes.
 */
async function logitsMs(M: number, C: number, Vp: number): Promise<number> {
  const x = Tensor.zeros([M, C]),
    wte = Tensor.zeros([Vp, C]),
    g = Tensor.zeros([M, Vp]),
    dw = Tensor.zeros([Vp, C]);
  await sync(); // the zero fills (206 MB for g at GPT-2's vocabulary) are not the products' time
  const ms = await timeGpu(
    () => {
      matmul(x, wte, { transB: true }).release();
      matmul(g, wte, {}).release();
      matmul(g, x, { transA: true, out: dw, beta: 1 });
    },
    1,
    0,
  );
  for (const t of [x, wte, g, dw]) t.release();
  return ms;
}

interface TrainCase {
  name: string;
  config: GPT2Config;
  B: number;
  T: number;
  tok: Tokenizer;
  gather: boolean;
  peer?: string;
}

async function trainRow(c: TrainCase, reps: number, torch: TorchResult | { error: string } | null): Promise<Row> {
  const batch = await coreBatch(c.tok, c.B, c.T);
  const { model, opt } = await trainSetup(c.config, c.B, c.T, batch, { gather: c.gather });
  resetCounters();
  const { ms, n } = await timedRuns(
    async () => {
      await readStep(trainStep(model, opt, [batch], 1e-4, { gather: c.gather }));
    },
    reps,
    TRAIN_BUDGET_MS,
  );
  const counts = perCounts(resetCounters(), n, 'step');
  model.params.values.release();
  trimPool();
  const counted = batch.weights ? batch.weights.filter((w) => w !== 0).length : c.B * c.T;
  const lm = await logitsMs(c.gather ? counted : c.B * c.T, c.config.n_embd, c.config.padded_vocab_size);
  const tps = (c.B * c.T) / (ms / 1000);
  const row: Row = {
    section: SECTION,
    name: `train step ${c.name}`,
    shape: `B=${c.B} T=${c.T} V=${c.config.vocab_size}`,
    ms,
    value: tps,
    unit: 'tok/s',
    counts,
    note: `logits products ${((100 * lm) / ms).toFixed(0)}% of the step${c.gather ? ` (${counted} of ${c.B * c.T} positions count)` : ''}; ${countsNote(counts)}${repsNote(n, reps)}`,
  };
  if (torch && c.peer) {
    if ('error' in torch) row.note += `; ${torch.error}`;
    else if (torch.train[c.peer]) row.peers = [{ name: torchName(torch), value: torch.train[c.peer] }];
  }
  return row;
}

/**
 * The copy kernel over 2 × 64 MB: sample() times one burst of it (median of 3) and returns bytes
 * per second. Generation rows sample it after each of their timed runs, so that the memory bound
 * they report comes from the same minutes as the run (a slow spell of the host lasts minutes).
 */
function copyProbe() {
  const job = copyJob([1 << 24]);
  return {
    sample: async () => job.bytes / ((await timeGpu(job.run, 3, 1)) / 1000),
    release: job.release,
  };
}

/**
 * A full fine-tuning step against a LoRA step (r 8 on c_attn, PEFT's default target for GPT-2)
 * on distilgpt2's shape, and the device memory of AdamW's two moments (4 bytes each per trained
 * element), with, in the note, all of parameters + gradients + moments: the full step keeps all
 * four for every weight, LoRA the frozen base's values plus the four for its adapters.
 */
async function fineTuneRows(config: GPT2Config, reps: number): Promise<Row[]> {
  // half the trainer's fine-tuning batch (B = 4): at B = 4 the two rows took 133 s of the full
  // bench on a 2-core Zen 1, most of it one warm-up and one timed step each
  const B = 2,
    T = 256;
  const rows: Row[] = [];
  const measured: { name: string; ms: number; n: number; mb: number; optMb: number }[] = [];
  const lora: LoraConfig = { ...LORA_DEFAULTS, sites: sitesFor(config, LORA_DEFAULTS.targets) };
  for (const [name, o] of [
    ['full', {}],
    ['LoRA r=8 c_attn', { lora }],
  ] as const) {
    const { model, opt, batch } = await trainSetup(config, B, T, undefined, o);
    const { ms, n } = await timedRuns(
      async () => {
        await readStep(trainStep(model, opt, [batch], 1e-4));
      },
      reps,
      TRAIN_BUDGET_MS,
    );
    const t = model.trainable;
    // AdamW's m and v for what trains; in all, also every value and the trained gradients
    const optMb = (8 * t.total) / 1e6;
    const mb = (4 * (model.params.total + (model.lora ? 4 * t.total : 3 * t.total))) / 1e6;
    measured.push({ name, ms, n, mb, optMb });
    // every buffer of both registries (the base and, with LoRA, the adapters), so that the next
    // row starts from an empty pool: values, gradients and AdamW's moments
    for (const p of new Set([model.params, t])) {
      p.values.release();
      if (!p.frozen) p.grads.release();
      if (p.hasAdamState) for (const m of Object.values(p.adamState)) m.release();
    }
    trimPool();
    progress(SECTION, `train step distilgpt2 shape, ${name}`);
  }
  const [full, lo] = measured;
  for (const m of measured) {
    const vs = m === lo ? { baseline: { name: 'full fine-tune', value: (B * T) / (full.ms / 1000) } } : {};
    rows.push({
      section: SECTION,
      name: `train step distilgpt2 shape, ${m.name}`,
      shape: `B=${B} T=${T} V=50257`,
      ms: m.ms,
      value: (B * T) / (m.ms / 1000),
      unit: 'tok/s',
      ...vs,
      note: `random tokens, every position counts${repsNote(m.n, reps)}`,
    });
    rows.push({
      section: SECTION,
      name: `AdamW state, ${m.name}`,
      shape: 'distilgpt2',
      ms: 0,
      value: m.optMb,
      unit: 'MB',
      ...(m === lo ? { baseline: { name: 'full fine-tune', value: full.optMb } } : {}),
      note: `${m === lo ? `${((100 * lo.optMb) / full.optMb).toFixed(2)}% of the full fine-tune's; ` : ''}parameters + gradients + AdamW state ${m.mb.toFixed(0)} MB${m === lo ? ` (${((100 * lo.mb) / full.mb).toFixed(0)}%)` : ''}`,
    });
  }
  return rows;
}

async function generationRows(
  name: 'scratch' | 'distilgpt2',
  config: GPT2Config,
  reps: number,
  torch: TorchResult | { error: string } | null,
  quick: boolean,
): Promise<Row[]> {
  const model = GPT2.init(config, 2);
  const prompt = Array.from(randomTokens(64, config.vocab_size, 5));
  const opts = { temperature: 0, maxNew: 64, stopIds: [] as number[] };
  // decoding with each weight format: 'f16' (the default) reads half the bytes per token; its
  // decoder packs the f16 copies first, which its prefill's time and counts include
  const decode = [];
  const probe = copyProbe();
  for (const weights of ['f16', 'f32'] as const) {
    await generate(model, prompt, { ...opts, maxNew: 2, weights });
    resetCounters();
    const prefillMs = await median(async () => {
      const c = new KVCache(model, { weights });
      await c.prefill(prompt);
      c.dispose();
    }, reps);
    const pre = resetCounters();
    const runs: number[] = [],
      bws: number[] = [];
    const gen: Counters = { dispatches: 0, workgroups: 0, submits: 0, waits: 0 };
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      await generate(model, prompt, { ...opts, cache: true, weights });
      runs.push(performance.now() - t0);
      const c = resetCounters(); // the generation's counts, not the copies'
      for (const k of ['dispatches', 'workgroups', 'submits', 'waits'] as const) gen[k] += c[k];
      bws.push(await probe.sample());
      resetCounters(); // the copies' counts
    }
    decode.push({
      weights,
      prefillMs,
      pre: perCounts(pre, reps, 'prefill'),
      ms: medianOf(runs),
      gen,
      bw: medianOf(bws),
    });
    progress(SECTION, `prefill and generate ${name}, ${weights} weights`);
  }
  // 64 new tokens are the prefill's logits and 63 one-token decode steps; per decode step: a
  // generation's counts less its prefill's (both exact, the same every run)
  const perToken = (gen: Counters, pre: PerCounts): PerCounts => {
    const t: PerCounts = { per: 'token', dispatches: 0, workgroups: 0, submits: 0, waits: 0 };
    for (const k of ['dispatches', 'workgroups', 'submits', 'waits'] as const) t[k] = (gen[k] / reps - pre[k]) / 63;
    return t;
  };
  // without the cache (each token re-runs the whole sequence), skipped by --quick; 8 tokens
  // (16 took 40 s for distilgpt2's shape on a slow 2-core CPU, for a row that only shows the contrast)
  const UNCACHED = 8;
  const uncachedMs = quick
    ? undefined
    : await median(async () => {
        await generate(model, prompt, { ...opts, maxNew: UNCACHED, cache: false });
      }, 1);
  if (!quick) progress(SECTION, `generate ${name} without the cache`);
  // the memory bound: a decode step reads every weight once (wpe: one row), at the copy kernel's
  // bandwidth; with f16 weights the packed matrices take 2 bytes each and the rest stays f32
  const f32Bytes = 4 * (model.params.values.size - (config.n_positions - 1) * config.n_embd);
  const f16Bytes = f32Bytes - 2 * HalfWeights.elements(model.params, config);
  model.params.values.release();
  trimPool();
  probe.release();
  const peers = (k: 'prefill' | 'decode') =>
    torch && !('error' in torch) && torch[k][name] ? [{ name: torchName(torch), value: torch[k][name] }] : undefined;
  return [
    ...decode.map(({ weights, prefillMs, pre }) => ({
      section: SECTION,
      name: `prefill ${name}${weights === 'f16' ? ' (packing f16 weights first)' : ''}`,
      shape: '64 tokens',
      ms: prefillMs,
      value: 64 / (prefillMs / 1000),
      unit: 'tok/s' as const,
      peers: peers('prefill'),
      counts: pre,
      note: countsNote(pre),
    })),
    ...decode.map(({ weights, prefillMs, pre, ms, gen, bw }) => {
      const bytes = weights === 'f16' ? f16Bytes : f32Bytes;
      const boundTps = bw / bytes;
      const decodeTps = 63 / ((ms - prefillMs) / 1000); // the decode rate excludes the prefill: 63 steps
      const counts = perToken(gen, pre);
      return {
        section: SECTION,
        name: `generate ${name} (KV cache, ${weights} weights)`,
        shape: '64 new after 64',
        ms,
        value: decodeTps,
        unit: 'tok/s' as const,
        peers: peers('decode'),
        counts,
        baseline: { name: 'memory bound', value: boundTps },
        note: `${((100 * decodeTps) / boundTps).toFixed(0)}% of the memory bound (${(bytes / 1e6).toFixed(0)} MB of weights per token at the copy kernel's ${(bw / 1e9).toFixed(2)} GB/s, timed after each run)${weights === 'f16' ? '; the PyTorch peer decodes in f32' : ''}; ${countsNote(counts)}`,
      };
    }),
    ...(uncachedMs === undefined
      ? []
      : [
          {
            section: SECTION,
            name: `generate ${name} (no cache)`,
            shape: `${UNCACHED} new after 64`,
            ms: uncachedMs,
            value: UNCACHED / (uncachedMs / 1000),
            unit: 'tok/s' as const,
          },
        ]),
  ];
}

export async function run(opts: BenchOpts = { quick: false, peers: false }): Promise<Row[]> {
  await init();
  const reps = opts.quick ? 2 : 3;
  const ds = await loadDataset({ mix: 'core', seed: 1234 });
  const gpt2 = getTokenizer();
  const compact = compactTokenizer(compactVocab(ds.train.map((e) => e.text)));
  const withVocab = (c: GPT2Config, tok: Tokenizer): GPT2Config =>
    tok === gpt2 ? c : padVocab({ ...c, vocab_size: tok.vocabSize, eos_token_id: tok.eot });
  const { scratch, distilgpt2: distil } = BENCH_CONFIGS;
  const cases: TrainCase[] = [];
  // --quick (meant to finish in about two minutes with the other sections): the tiny model's
  // steps only; a scratch step alone takes 15-20 s on a 2-core lavapipe
  const trained = [['tiny', CONFIGS.tiny, 128] as const, ...(opts.quick ? [] : [['scratch', scratch, 256] as const])];
  for (const [name, config, T] of trained) {
    cases.push({
      name: `${name}, GPT-2 vocab, all positions`,
      config: withVocab(config, gpt2),
      B: 8,
      T,
      tok: gpt2,
      gather: false,
      peer: `${name}-gpt2`,
    });
    // the compact vocabulary with every position counted: the tiny model's only (the scratch
    // row took 44 s of the full bench's ~9 minutes on a 2-core Zen 1; it only splits the loss
    // positions' gain from the vocabulary's, which the tiny rows show)
    if (!opts.quick && name === 'tiny')
      cases.push({
        name: `${name}, compact vocab, all positions`,
        config: withVocab(config, compact),
        B: 8,
        T,
        tok: compact,
        gather: false,
      });
    cases.push({
      name: `${name}, compact vocab, loss positions`,
      config: withVocab(config, compact),
      B: 8,
      T,
      tok: compact,
      gather: true,
      peer: `${name}-compact`,
    });
  }
  let torch: TorchResult | { error: string } | null = null;
  if (opts.peers) {
    const shape = (c: GPT2Config) => ({
      n_layer: c.n_layer,
      n_embd: c.n_embd,
      n_head: c.n_head,
      n_positions: c.n_positions,
    });
    torch = await torchPeer({
      quick: opts.quick,
      train: cases
        .filter((c) => c.peer)
        .map((c) => ({ name: c.peer!, ...shape(c.config), vocab: c.config.vocab_size, B: c.B, T: c.T })),
      decode: [
        { name: 'scratch', ...shape(scratch), vocab: scratch.vocab_size, prompt: 64, new: 64 },
        ...(opts.quick
          ? []
          : [{ name: 'distilgpt2', ...shape(distil), vocab: distil.vocab_size, prompt: 64, new: 64 }]),
      ],
    });
    console.log(
      `PyTorch peer: ${'error' in torch ? torch.error : `torch ${torch.torch}, ${torch.threads} threads, BLAS: ${torch.blas}`}`,
    );
    progress(SECTION, 'PyTorch peer');
  }
  const rows: Row[] = [];
  for (const c of cases) {
    rows.push(await trainRow(c, reps, torch));
    progress(SECTION, `train step ${c.name}`);
  }
  if (!opts.quick) rows.push(...(await fineTuneRows(distil, reps)));
  rows.push(...(await generationRows('scratch', scratch, reps, torch, opts.quick)));
  // 2 reps: a distilgpt2 generation takes 10 s with f32 weights on a 2-core lavapipe, and each
  // rep already averages 63 decode steps
  if (!opts.quick) rows.push(...(await generationRows('distilgpt2', distil, 2, torch, false)));
  await sync();
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await run({ quick: process.argv.includes('--quick'), peers: process.argv.includes('--peers') });
  for (const r of rows)
    console.log(
      `${r.name.padEnd(44)} ${r.shape.padEnd(22)} ${r.ms.toFixed(0).padStart(8)} ms ${r.value.toFixed(1).padStart(8)} ${r.unit}${(r.peers ?? []).map((p) => `   (${p.name}: ${p.value.toFixed(1)})`).join('')}${r.note ? `   ${r.note}` : ''}`,
    );
  process.exit(0);
}
