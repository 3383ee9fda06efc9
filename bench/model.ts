// Bench section "model": whole training steps (forward + backward + AdamW) and generation
// (prefill, then batch-1 decoding with and without the KV cache), for the scratch config and
// a distilgpt2-shaped model with random weights.
//
// Same-machine anchors (PyTorch 1.13 on the CPU, OpenBLAS, 2 threads; from the issues):
//   training: 470 tok/s (scratch, B=8, T=256), 265 tok/s (distilgpt2 shape, B=4, T=256);
//   generation with a KV cache: 69 tok/s (35M), 34 tok/s (distilgpt2); without: 19 / 11 tok/s.
import { fileURLToPath } from 'node:url';
import { init } from '../src/gpu/runtime.ts';
import { trimPool } from '../src/gpu/tensor.ts';
import { GPT2 } from '../src/model/gpt2.ts';
import { CONFIGS, type GPT2Config } from '../src/model/config.ts';
import { generate } from '../src/model/generate.ts';
import { KVCache } from '../src/model/kvcache.ts';
import { AdamW } from '../src/train/optimizer.ts';
import { trainStep, readStep, type Batch } from '../src/train/step.ts';
import type { Row } from './harness.ts';

const SECTION = 'model';

const PYTORCH = {
  train: { scratch: 470, distilgpt2: 265 },
  cached: { scratch: 69, distilgpt2: 34 },
  uncached: { scratch: 19, distilgpt2: 11 },
};

function randomTokens(n: number, vocab: number, seed: number): Int32Array {
  let s = seed >>> 0;
  return Int32Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s % vocab; });
}

async function median(fn: () => Promise<void>, reps: number): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) { const a = performance.now(); await fn(); t.push(performance.now() - a); }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

/** The benched models: the scratch config and distilgpt2's shape with its vocabulary padded to a multiple of 64. */
export const BENCH_CONFIGS: Record<'scratch' | 'distilgpt2', GPT2Config> = {
  scratch: CONFIGS.scratch,
  distilgpt2: { ...CONFIGS.distilgpt2, padded_vocab_size: 50304 },
};

/** What a timed training step runs on: random weights, AdamW, one fixed random batch; after one compiling, warming step. */
export async function trainSetup(config: GPT2Config, B: number, T: number) {
  const model = GPT2.init(config, 1);
  const opt = new AdamW(model.params);
  const batch: Batch = { tokens: randomTokens(B * (T + 1), config.vocab_size, 3), B, T };
  await readStep(trainStep(model, opt, [batch], 1e-4)); // compile + warm
  return { model, opt, batch };
}

async function trainRow(name: 'scratch' | 'distilgpt2', config: GPT2Config, B: number, T: number, reps: number): Promise<Row> {
  const { model, opt, batch } = await trainSetup(config, B, T);
  const ms = await median(async () => { await readStep(trainStep(model, opt, [batch], 1e-4)); }, reps);
  const tps = (B * T) / (ms / 1000);
  trimPool();
  return {
    section: SECTION, name: `train step ${name}`, shape: `B=${B} T=${T}`, ms, value: tps, unit: 'tok/s',
    baseline: { name: 'PyTorch 1.13 CPU (issue figure)', value: PYTORCH.train[name] },
    note: 'forward + backward + AdamW, median of steps',
  };
}

async function generationRows(name: 'scratch' | 'distilgpt2', config: GPT2Config, reps: number): Promise<Row[]> {
  const model = GPT2.init(config, 2);
  const prompt = Array.from(randomTokens(64, config.vocab_size, 5));
  const opts = { temperature: 0, maxNew: 64, stopIds: [] as number[] };
  // prefill: the 64-token prompt through the cache
  await generate(model, prompt, { ...opts, maxNew: 2 });
  const prefillMs = await median(async () => { const c = new KVCache(model); await c.prefill(prompt); c.dispose(); }, reps);
  const cachedMs = await median(async () => { await generate(model, prompt, { ...opts, cache: true }); }, reps);
  const uncachedMs = await median(async () => { await generate(model, prompt, { ...opts, maxNew: 16, cache: false }); }, 1);
  trimPool();
  // decode rate excludes the prefill
  const decodeTps = 64 / ((cachedMs - prefillMs) / 1000);
  return [
    { section: SECTION, name: `prefill ${name}`, shape: '64 tokens', ms: prefillMs, value: 64 / (prefillMs / 1000), unit: 'tok/s' },
    {
      section: SECTION, name: `generate ${name} (KV cache)`, shape: '64 new after 64', ms: cachedMs, value: decodeTps, unit: 'tok/s',
      baseline: { name: 'PyTorch 1.13 CPU, KV cache (issue figure)', value: PYTORCH.cached[name] },
    },
    {
      section: SECTION, name: `generate ${name} (no cache)`, shape: '16 new after 64', ms: uncachedMs, value: 16 / (uncachedMs / 1000), unit: 'tok/s',
      baseline: { name: 'PyTorch 1.13 CPU, no cache (issue figure)', value: PYTORCH.uncached[name] },
    },
  ];
}

export async function run(opts: { quick?: boolean } = {}): Promise<Row[]> {
  await init();
  const reps = opts.quick ? 2 : 3;
  const { scratch, distilgpt2: distil } = BENCH_CONFIGS;
  const rows: Row[] = [];
  rows.push(await trainRow('scratch', scratch, 8, 256, reps));
  if (!opts.quick) rows.push(await trainRow('distilgpt2', distil, 4, 256, reps));
  rows.push(...await generationRows('scratch', scratch, reps));
  if (!opts.quick) rows.push(...await generationRows('distilgpt2', distil, reps));
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await run({ quick: process.argv.includes('--quick') });
  for (const r of rows) console.log(`${r.name.padEnd(32)} ${r.shape.padEnd(18)} ${r.ms.toFixed(0).padStart(8)} ms ${r.value.toFixed(1).padStart(8)} ${r.unit}${r.baseline ? `   (${r.baseline.name}: ${r.baseline.value})` : ''}`);
  process.exit(0);
}
