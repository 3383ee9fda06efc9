// Decoding's products at M = 1, f32 weights (matmul 'auto': the gemv kernel) against f16 copies
// (gemvHalf, src/ops/gemv_f16.ts), at the scratch model's shapes (N×K = outputs × inputs; the
// logits product reads wte as stored, the others a Conv1D weight). Not a bench section: a check
// to run beside `npm run profile -- --only decode`. Each product cycles over 8 copies of its
// weights (more than the CPU's caches hold for the large ones), alternating f32 and f16 twice.
//
//   npx tsx bench/gemv.ts [--shapes 50304x384,1536x384,384x1536,1152x384,384x384]
import { init, sync } from '../src/gpu/runtime.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { gemvHalf, packHalf } from '../src/ops/gemv_f16.ts';
import { matmul } from '../src/ops/matmul/index.ts';

await init();
const arg = process.argv.indexOf('--shapes');
const shapes = (arg > 0 ? process.argv[arg + 1] : '50304x384,1536x384,384x1536,1152x384,384x384')
  .split(',')
  .map((s) => s.split('x').map(Number));
const COPIES = 8;
for (const [N, K] of shapes) {
  const logits = N > 8192; // wte [N, K] as stored; a Conv1D weight is [K, N]
  const ws = Array.from({ length: COPIES }, () =>
    Tensor.from(
      Float32Array.from({ length: N * K }, (_, i) => Math.sin(i)),
      logits ? [N, K] : [K, N],
    ),
  );
  const hs = ws.map((w) => packHalf(w, logits ? 'nk' : 'kn'));
  const x = Tensor.from(
    Float32Array.from({ length: K }, (_, i) => Math.cos(i)),
    [1, K],
  );
  const line: string[] = [];
  for (const mode of ['f32', 'f16', 'f32', 'f16']) {
    const R = logits ? 10 : 64;
    const run = () =>
      Array.from({ length: R }, (_, i) =>
        mode === 'f16' ? gemvHalf(x, hs[i % COPIES]) : matmul(x, ws[i % COPIES], { transB: logits }),
      );
    for (const y of run()) y.release();
    await sync();
    const ms: number[] = [];
    for (let t = 0; t < 5; t++) {
      const t0 = performance.now();
      const ys = run();
      await sync();
      ms.push((performance.now() - t0) / R);
      for (const y of ys) y.release();
    }
    ms.sort((a, b) => a - b);
    line.push(`${mode} ${ms[2].toFixed(3)} ms`);
  }
  console.log(`${N}x${K}: ${line.join(', ')}`);
  for (const w of ws) w.release();
}
process.exit(0);
