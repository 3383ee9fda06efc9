// Where a training step's GPU time goes: one scratch-config step (B=8, T=256 by default) with
// every dispatch timed by timestamp queries (src/gpu/runtime.ts profileStart), summed per kernel.
//   npm run profile [-- --model scratch|distilgpt2 --batch 8 --seq 256]
// Timing each dispatch in its own pass serialises the work, so the total exceeds a normal step's.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { init, profileStart, profileStop, sync } from '../src/gpu/runtime.ts';
import { trainStep, readStep } from '../src/train/step.ts';
import { BENCH_CONFIGS, trainSetup } from './model.ts';

const argv = yargs(hideBin(process.argv))
  .usage('$0 [options]: time one training step per kernel')
  .option('model', { choices: ['scratch', 'distilgpt2'] as const, default: 'scratch' as const })
  .option('batch', { type: 'number', default: 8 })
  .option('seq', { type: 'number', default: 256 })
  .strict().help().parseSync();

await init();
const { batch: B, seq: T } = argv;
const { model, opt, batch } = await trainSetup(BENCH_CONFIGS[argv.model], B, T);
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
