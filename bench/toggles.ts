// What Dawn's toggles do on this adapter: the same fixed work (a tiny training step, scratch KV-cache
// decoding, a 1024³ matmul) timed in child processes that differ only in DAWN_ENABLE/DAWN_DISABLE
// (src/gpu/device.ts), interleaved round by round so that other load on the machine falls on
// every configuration alike; medians and ratios to the run without toggles.
//   npx tsx bench/toggles.ts [--rounds 3]
//   npx tsx bench/toggles.ts --work        (the child: one configuration, prints one JSON line)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CONFIGS: { name: string; enable?: string; disable?: string }[] = [
  { name: 'none' },
  { name: 'skip_validation', enable: 'skip_validation' },
  { name: 'disable_robustness', enable: 'disable_robustness' },
  { name: 'disable_workgroup_init', enable: 'disable_workgroup_init' },
  { name: 'no lazy_clear_resource_on_first_use', disable: 'lazy_clear_resource_on_first_use' },
  {
    name: 'all four',
    enable: 'skip_validation,disable_robustness,disable_workgroup_init',
    disable: 'lazy_clear_resource_on_first_use',
  },
];
type Times = { trainMs: number; decodeMs: number; matmulMs: number };

async function work(): Promise<Times> {
  const { init, sync } = await import('../src/gpu/runtime.ts');
  const { Tensor } = await import('../src/gpu/tensor.ts');
  const { matmul } = await import('../src/ops/matmul/index.ts');
  const { CONFIGS: MODELS } = await import('../src/model/config.ts');
  const { GPT2 } = await import('../src/model/gpt2.ts');
  const { generate } = await import('../src/model/generate.ts');
  const { trainStep, readStep } = await import('../src/train/step.ts');
  const { trainSetup } = await import('./model.ts');
  const { rand } = await import('./peers/shared.ts');
  await init();
  const median = async (fn: () => Promise<void>, reps: number) => {
    await fn(); // compile and warm
    const t: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await fn();
      t.push(performance.now() - t0);
    }
    return t.sort((a, b) => a - b)[reps >> 1];
  };
  const { model, opt, batch } = await trainSetup(MODELS.tiny, 8, 128);
  const trainMs = await median(async () => {
    await readStep(trainStep(model, opt, [batch], 1e-4));
  }, 3);
  const scratch = GPT2.init(MODELS.scratch, 2);
  const prompt = Array.from({ length: 16 }, (_, i) => (i * 7919) % 50000);
  const decodeMs = await median(async () => {
    await generate(scratch, prompt, { temperature: 0, maxNew: 24, stopIds: [], cache: true });
  }, 3);
  const A = Tensor.from(rand(1 << 20, 1), [1024, 1024]),
    B = Tensor.from(rand(1 << 20, 2), [1024, 1024]),
    C = Tensor.empty([1024, 1024]);
  const matmulMs = await median(async () => {
    matmul(A, B, { out: C });
    await sync();
  }, 5);
  return { trainMs, decodeMs, matmulMs };
}

if (process.argv.includes('--work')) {
  console.log(JSON.stringify(await work()));
  process.exit(0);
}

const at = process.argv.indexOf('--rounds');
const rounds = at > 0 ? Number(process.argv[at + 1]) : 3;
const self = fileURLToPath(import.meta.url);
const results = new Map<string, Times[]>(CONFIGS.map((c) => [c.name, []]));
for (let r = 0; r < rounds; r++) {
  for (const c of CONFIGS) {
    const env = { ...process.env, DAWN_ENABLE: c.enable ?? '', DAWN_DISABLE: c.disable ?? '' };
    const p = spawnSync(process.execPath, ['--import', 'tsx', self, '--work'], { env, encoding: 'utf8' });
    const line = p.stdout.trim().split('\n').at(-1) ?? '';
    try {
      results.get(c.name)!.push(JSON.parse(line));
    } catch {
      console.error(`${c.name}: the child failed (exit ${p.status}): ${p.stderr.trim().split('\n').at(-1)}`);
    }
    process.stderr.write(`round ${r + 1}/${rounds}: ${c.name} done\n`);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const base = results.get('none')!;
console.log(`${rounds} interleaved rounds; median ms (ratio to no toggles: below 1 is faster)`);
console.log(
  'toggles'.padEnd(40),
  'train step tiny'.padStart(20),
  'decode 24 tok'.padStart(20),
  'matmul 1024³'.padStart(20),
);
for (const [name, ts] of results) {
  if (!ts.length) continue;
  const cell = (k: keyof Times) =>
    `${med(ts.map((t) => t[k])).toFixed(1)} (${(med(ts.map((t) => t[k])) / med(base.map((t) => t[k]))).toFixed(2)})`.padStart(
      20,
    );
  console.log(name.padEnd(40), cell('trainMs'), cell('decodeMs'), cell('matmulMs'));
}
