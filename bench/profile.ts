// Where a training step's GPU time goes: one scratch-config step (B=8, T=256 by default) with
// every dispatch timed by timestamp queries (src/gpu/runtime.ts profileStart), summed per kernel.
//   npm run profile [-- --model scratch|distilgpt2 --batch 8 --seq 256]
// Timing each dispatch in its own pass serialises the work, so the total exceeds a normal step's.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { init, profileStart, profileStop, sync } from '../src/gpu/runtime.ts';
import { GPT2 } from '../src/model/gpt2.ts';
import { CONFIGS } from '../src/model/config.ts';
import { AdamW } from '../src/train/optimizer.ts';
import { trainStep, readStep, type Batch } from '../src/train/step.ts';

const argv = yargs(hideBin(process.argv))
  .usage('$0 [options]: time one training step per kernel')
  .option('model', { choices: ['scratch', 'distilgpt2'] as const, default: 'scratch' as const })
  .option('batch', { type: 'number', default: 8 })
  .option('seq', { type: 'number', default: 256 })
  .strict().help().parseSync();

await init();
const config = argv.model === 'scratch' ? CONFIGS.scratch : { ...CONFIGS.distilgpt2, padded_vocab_size: 50304 };
const model = GPT2.init(config, 1);
const opt = new AdamW(model.params);
const { batch: B, seq: T } = argv;
let s = 3;
const tokens = Int32Array.from({ length: B * (T + 1) }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s % config.vocab_size; });
const batch: Batch = { tokens, B, T };
await readStep(trainStep(model, opt, [batch], 1e-4)); // compile and warm
const t0 = performance.now();
await readStep(trainStep(model, opt, [batch], 1e-4));
const plain = performance.now() - t0;
profileStart();
await readStep(trainStep(model, opt, [batch], 1e-4));
await sync();
const totals = await profileStop();
const rows = [...totals].sort((a, b) => b[1].ms - a[1].ms);
const sum = rows.reduce((a, [, v]) => a + v.ms, 0);
console.log(`step without profiling: ${plain.toFixed(0)} ms (${((B * T) / plain * 1000).toFixed(1)} tok/s); GPU time of timed dispatches: ${sum.toFixed(0)} ms`);
for (const [name, v] of rows) console.log(`${v.ms.toFixed(1).padStart(9)} ms ${(100 * v.ms / sum).toFixed(1).padStart(5)}% ${String(v.n).padStart(5)}x  ${name}`);
process.exit(0);
