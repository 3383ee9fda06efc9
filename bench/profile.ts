// Where the time goes, per training step and per decoded token: the kernel dispatches, command
// buffers submitted and host waits (src/gpu/runtime.ts counters) and the wall time of a plain
// step or token, then the GPU time per kernel of one more, every dispatch timed by timestamp
// queries (profileStart), largest first.
//   npm run profile                                 tiny and scratch training steps, scratch decode
//   npm run profile -- --only tiny,decode           some of tiny, scratch, distilgpt2, decode
//   npm run profile -- --vocab gpt2 --positions all --batch 4 --seq 256
// Training steps run on the first batch of the core data, compact vocabulary, logits at the loss
// positions only (as training does) unless told otherwise; tiny at T=128, the others at T=256.
// Decoding is batch-1 with the KV cache, 64 tokens after a 64-token prompt, on the scratch
// config with GPT-2's vocabulary (as the bench's generation row). Timing each dispatch in its
// own pass serialises the work, so the GPU total exceeds a normal step's: use it for shares.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { init, profileStart, profileStop, resetCounters, sync, type Counters } from '../src/gpu/runtime.ts';
import { CONFIGS, type GPT2Config } from '../src/model/config.ts';
import { GPT2 } from '../src/model/gpt2.ts';
import { KVCache } from '../src/model/kvcache.ts';
import { padVocab } from '../src/model/load.ts';
import { compactTokenizer, compactVocab, getTokenizer } from '../src/io/tokenizer.ts';
import { loadDataset } from '../src/data/index.ts';
import { trainStep, readStep } from '../src/train/step.ts';
import { BENCH_CONFIGS, coreBatch, trainSetup } from './model.ts';

const WHAT = ['tiny', 'scratch', 'distilgpt2', 'decode'] as const;
const argv = yargs(hideBin(process.argv))
  .usage(
    '$0 [options]: dispatches, submissions, waits and GPU time per kernel, per training step and per decoded token',
  )
  .option('only', { type: 'string', default: 'tiny,scratch,decode', describe: `comma-separated: ${WHAT.join(', ')}` })
  .option('batch', { type: 'number', default: 8 })
  .option('seq', { type: 'number', describe: 'T of a training step (default: 128 for tiny, 256 otherwise)' })
  .option('vocab', {
    choices: ['compact', 'gpt2'] as const,
    default: 'compact' as const,
    describe: "training steps: the compact vocabulary or GPT-2's",
  })
  .option('positions', {
    choices: ['loss', 'all'] as const,
    default: 'loss' as const,
    describe: 'training steps: logits where the loss counts, or at every position',
  })
  .option('top', { type: 'number', default: 15, describe: 'kernels listed per table (the rest summed in one line)' })
  .check((a) => {
    const bad = a.only.split(',').filter((s) => s && !(WHAT as readonly string[]).includes(s));
    if (bad.length) throw new Error(`unknown --only ${bad.join(', ')} (known: ${WHAT.join(', ')})`);
    return true;
  })
  .strict()
  .help()
  .parseSync();

const r1 = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
const countLine = (c: Counters, n = 1) =>
  `${r1(c.dispatches / n)} dispatches (avg ${Math.round(c.workgroups / Math.max(1, c.dispatches))} workgroups), ${r1(c.submits / n)} submits, ${r1(c.waits / n)} waits`;

function kernelTable(totals: Map<string, { ms: number; n: number }>, per = 1) {
  const rows = [...totals].sort((a, b) => b[1].ms - a[1].ms);
  const sum = rows.reduce((a, [, v]) => a + v.ms, 0);
  for (const [name, v] of rows.slice(0, argv.top))
    console.log(
      `${(v.ms / per).toFixed(2).padStart(10)} ms ${((100 * v.ms) / sum).toFixed(1).padStart(5)}% ${r1(v.n / per).padStart(6)}x  ${name}`,
    );
  const rest = rows.slice(argv.top);
  if (rest.length) {
    const ms = rest.reduce((a, [, v]) => a + v.ms, 0),
      n = rest.reduce((a, [, v]) => a + v.n, 0);
    console.log(
      `${(ms / per).toFixed(2).padStart(10)} ms ${((100 * ms) / sum).toFixed(1).padStart(5)}% ${r1(n / per).padStart(6)}x  (${rest.length} more kernels)`,
    );
  }
  return sum;
}

await init();
const only = argv.only.split(',').filter(Boolean);
const ds = await loadDataset({ mix: 'core', seed: 1234 });
const gpt2 = getTokenizer();
const tok = argv.vocab === 'gpt2' ? gpt2 : compactTokenizer(compactVocab(ds.train.map((e) => e.text)));
const withVocab = (c: GPT2Config): GPT2Config =>
  tok === gpt2 ? c : padVocab({ ...c, vocab_size: tok.vocabSize, eos_token_id: tok.eot });
const TRAIN: Record<string, GPT2Config> = {
  tiny: CONFIGS.tiny,
  scratch: BENCH_CONFIGS.scratch,
  distilgpt2: BENCH_CONFIGS.distilgpt2,
};

for (const name of only.filter((n) => n !== 'decode')) {
  const config = withVocab(TRAIN[name]);
  const B = argv.batch,
    T = argv.seq ?? (name === 'tiny' ? 128 : 256),
    gather = argv.positions === 'loss';
  const batch = await coreBatch(tok, B, T);
  const { model, opt } = await trainSetup(config, B, T, batch, { gather });
  const counted = batch.weights && gather ? batch.weights.filter((w) => w !== 0).length : B * T;
  await sync();
  resetCounters();
  const t0 = performance.now();
  await readStep(trainStep(model, opt, [batch], 1e-4, { gather }));
  const wall = performance.now() - t0;
  const c = resetCounters();
  profileStart();
  await readStep(trainStep(model, opt, [batch], 1e-4, { gather }));
  await sync();
  const totals = await profileStop();
  console.log(
    `\n== training step, ${name}: ${config.n_layer} layers x ${config.n_embd}, B=${B} T=${T}, V=${config.vocab_size} (${argv.vocab}), logits at ${counted} of ${B * T} positions`,
  );
  console.log(`per step: ${countLine(c)}; wall ${wall.toFixed(0)} ms (${(((B * T) / wall) * 1000).toFixed(1)} tok/s)`);
  const gpu = kernelTable(totals);
  console.log(
    `GPU time of the timed dispatches: ${gpu.toFixed(0)} ms (${((100 * gpu) / wall).toFixed(0)}% of the plain step's wall time; timing serialises them)`,
  );
  model.params.values.release();
}

if (only.includes('decode')) {
  const config = BENCH_CONFIGS.scratch;
  const model = GPT2.init(config, 2);
  const prompt = Array.from({ length: 64 }, (_, i) => (i * 7919) % config.vocab_size);
  const warm = new KVCache(model);
  await warm.prefill(prompt);
  await warm.step(11);
  warm.dispose(); // compile
  const steps = 63; // 64 new tokens: the prefill's logits and 63 one-token steps
  const feed = async (cache: KVCache) => {
    for (let i = 0; i < steps; i++) await cache.step((i * 104729) % config.vocab_size);
  };
  let cache = new KVCache(model);
  await sync();
  resetCounters();
  let t0 = performance.now();
  await cache.prefill(prompt);
  const prefillWall = performance.now() - t0;
  const pre = resetCounters();
  t0 = performance.now();
  await feed(cache);
  const wall = performance.now() - t0;
  const c = resetCounters();
  cache.dispose();
  cache = new KVCache(model);
  await cache.prefill(prompt);
  profileStart();
  await feed(cache);
  await sync();
  const totals = await profileStop();
  cache.dispose();
  console.log(
    `\n== decoding, scratch: ${config.n_layer} layers x ${config.n_embd}, V=${config.vocab_size}, batch 1, KV cache, ${steps} steps after a ${prompt.length}-token prompt`,
  );
  console.log(`prefill: ${countLine(pre)}; wall ${prefillWall.toFixed(0)} ms`);
  console.log(
    `per token: ${countLine(c, steps)}; wall ${(wall / steps).toFixed(1)} ms (${((steps / wall) * 1000).toFixed(1)} tok/s)`,
  );
  const gpu = kernelTable(totals, steps);
  console.log(
    `GPU time per token of the timed dispatches: ${(gpu / steps).toFixed(1)} ms (${((100 * gpu) / wall).toFixed(0)}% of the plain tokens' wall time)`,
  );
  model.params.values.release();
}
process.exit(0);
