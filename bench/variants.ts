// The CPU-adapter variant choices re-checked per driver (issue 16): attention 'fused' vs 'tex' at the
// models' training shapes, and the skinny-matmul variants at small M (where 'auto' switches from
// 'gemv' to the texture kernels, M > GEMV_MAX_M). Prints one line per shape; run it under each
// driver, alternating, and compare the lines of the same run (bench/README.md, "Driver versions").
//   npx tsx bench/variants.ts [--ms 1,8,16,32] [--reps 5]
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { init, gpu } from '../src/gpu/runtime.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { describeDriver, parseDriver } from '../src/gpu/driver.ts';
import { attentionBackward, attentionForward } from '../src/ops/attention.ts';
import { matmul, matmulShape, resolveVariant, type MatmulVariant } from '../src/ops/matmul/index.ts';
import { timeGpu } from './harness.ts';
import { rand } from './peers/shared.ts';

const argv = yargs(hideBin(process.argv))
  .option('ms', { type: 'string', default: '1,8,16,32', describe: 'rows M of the skinny products' })
  .option('reps', { type: 'number', default: 5 })
  .strict()
  .help()
  .parseSync();

await init();
console.log(`driver ${describeDriver(parseDriver(gpu().info)) || gpu().info.description}`);

for (const [B, T, NH, hd, label] of [
  [8, 128, 4, 32, 'tiny training B=8 T=128 4x32'],
  [8, 256, 6, 64, 'scratch training B=8 T=256 6x64'],
] as const) {
  const C = NH * hd;
  const qkv = Tensor.from(rand(B * T * 3 * C, 1, 1), [B, T, 3 * C]);
  const dy = Tensor.from(rand(B * T * C, 2, 1), [B, T, C]);
  const out: string[] = [];
  for (const v of ['fused', 'tex'] as const) {
    const ms = await timeGpu(
      () => {
        const r = attentionForward(qkv, B, T, NH, v);
        attentionBackward(dy, qkv, r.y, r.lse, B, T, NH, v).release();
        r.y.release();
        r.lse.release();
      },
      argv.reps,
      2,
    );
    out.push(`${v} ${ms.toFixed(1)} ms`);
  }
  console.log(`attention fwd+bwd, ${label}: ${out.join('  ')}`);
  qkv.release();
  dy.release();
}

for (const sh of [
  { N: 1536, K: 384, transB: false, label: 'MLP up, d=384' },
  { N: 6144, K: 384, transB: true, label: 'logits NT, V=6144' },
  { N: 50304, K: 384, transB: true, label: 'logits NT, V=50304' },
])
  for (const M of argv.ms.split(',').map(Number)) {
    const a = Tensor.from(rand(M * sh.K, 1, 1), [M, sh.K]);
    const b = Tensor.from(rand(sh.K * sh.N, 2, 1), sh.transB ? [sh.N, sh.K] : [sh.K, sh.N]);
    const c = Tensor.empty([M, sh.N]);
    const s = matmulShape(a, b, { transB: sh.transB });
    const out: string[] = [];
    for (const v of ['gemv', 'naive', 'tex'] as MatmulVariant[]) {
      const ms = await timeGpu(() => void matmul(a, b, { transB: sh.transB, out: c, variant: v }), argv.reps, 1);
      out.push(`${v === 'tex' ? resolveVariant(s, { variant: 'tex', transB: sh.transB }) : v} ${ms.toFixed(2)} ms`);
    }
    console.log(`matmul ${sh.label}, M=${M} (auto: ${resolveVariant(s, { transB: sh.transB })}): ${out.join('  ')}`);
    for (const t of [a, b, c]) t.release();
  }
process.exit(0);
