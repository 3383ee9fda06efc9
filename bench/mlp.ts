// Bench section "mlp": one SGD training step of a small GELU MLP, the same in our engine and,
// with --peers, in jax-js on the same adapter (bench/peers/jaxjs.ts) — the training-step peer
// that jax-js can express without our GPT: x [B, C] → linear C→H → GELU → linear H→V → mean
// softmax cross-entropy against class targets → w -= lr·dw for the four parameters. The shapes
// are the tiny preset's MLP (C = 128, H = 512) on its B·T = 1024 rows, with V = 128 classes.
// Each timed step ends in a read-back of the loss (ours through the tape and crossEntropyLoss).
// Both start from the same data and weights, so their first losses must agree: the row's note
// gives both, and the peer's figure is dropped if they differ by more than 1e-3.
import { fileURLToPath } from 'node:url';
import { init, sync } from '../src/gpu/runtime.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { accumulate } from '../src/ops/elementwise.ts';
import { crossEntropyLoss, linear, linearGelu } from '../src/tape/ops.ts';
import { Tape, Var } from '../src/tape/tape.ts';
import { uniform } from '../src/rng.ts';
import { medianOf, progress, type BenchOpts, type Row } from './harness.ts';
import { jaxjsMlpStep, type MlpCase } from './peers/jaxjs.ts';
import { rand } from './peers/shared.ts';

const SECTION = 'mlp';

/** The benched MLP, its data and initial weights (seeded: every library gets the same). */
export function mlpCase(): MlpCase {
  const B = 1024,
    C = 128,
    H = 512,
    V = 128;
  const u = uniform(11);
  return {
    B,
    C,
    H,
    V,
    lr: 0.1,
    x: rand(B * C, 12),
    targets: Int32Array.from({ length: B }, () => Math.floor(u() * V)),
    w1: rand(C * H, 13, 1 / Math.sqrt(C)),
    b1: rand(H, 14, 0.1),
    w2: rand(H * V, 15, 1 / Math.sqrt(H)),
    b2: rand(V, 16, 0.1),
  };
}

/** Our step's median ms over `reps` (after one warm-up step) and the first step's loss. */
async function oursMs(m: MlpCase, reps: number) {
  const x = Tensor.from(m.x, [m.B, m.C]);
  const targets = Tensor.from(m.targets, [m.B], 'i32');
  const p = [
    new Var(Tensor.from(m.w1, [m.C, m.H]), true, 'w1'),
    new Var(Tensor.from(m.b1, [m.H]), true, 'b1'),
    new Var(Tensor.from(m.w2, [m.H, m.V]), true, 'w2'),
    new Var(Tensor.from(m.b2, [m.V]), true, 'b2'),
  ];
  const [w1, b1, w2, b2] = p;
  const step = async () => {
    const t0 = performance.now();
    const tape = new Tape();
    const h = linearGelu(tape, new Var(x), w1, b1);
    const { loss } = crossEntropyLoss(tape, linear(tape, h, w2, b2), targets, { vocab: m.V, normalizer: m.B });
    const lossT = tape.detach(loss.value);
    tape.backward(loss);
    for (const v of p) {
      accumulate(v.value, v.grad!, -m.lr);
      v.grad!.release();
      v.grad = null;
    }
    const l = (await lossT.toArray())[0];
    lossT.release();
    return { ms: performance.now() - t0, loss: l };
  };
  const first = await step();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push((await step()).ms);
  for (const t of [x, targets, ...p.map((v) => v.value)]) t.release();
  await sync();
  return { ms: medianOf(times), loss0: first.loss };
}

export async function run(opts: BenchOpts = { quick: false, peers: false }): Promise<Row[]> {
  await init();
  const m = mlpCase();
  const reps = opts.quick ? 5 : 10;
  const ours = await oursMs(m, reps);
  const row: Row = {
    section: SECTION,
    name: 'train step MLP (SGD)',
    shape: `B=${m.B} ${m.C}→${m.H}→${m.V}`,
    ms: ours.ms,
    value: m.B / (ours.ms / 1000),
    unit: 'rows/s',
    note: `first loss ${ours.loss0.toFixed(5)}`,
  };
  progress(SECTION, 'ours');
  if (opts.peers) {
    const j = await jaxjsMlpStep(m, reps);
    if (typeof j === 'string') row.note += `; ${j}`;
    else if (!(Math.abs(j.loss0 - ours.loss0) <= 1e-3))
      row.note += `; jax-js's first loss ${j.loss0.toFixed(5)} differs from ours, not compared`;
    else {
      row.peers = [{ name: 'jax-js-webgpu', value: m.B / (j.ms / 1000) }];
      row.note += ` (jax-js ${j.loss0.toFixed(5)}); jax-js ${j.n} reps`;
    }
    progress(SECTION, 'jax-js');
  }
  return [row];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [r] = await run({ quick: process.argv.includes('--quick'), peers: process.argv.includes('--peers') });
  console.log(
    `${r.name} ${r.shape}: ${r.ms.toFixed(1)} ms, ${r.value.toFixed(0)} rows/s${(r.peers ?? []).map((p) => `; ${p.name} ${p.value.toFixed(0)} rows/s (ours ${(r.value / p.value).toFixed(2)}x)`).join('')}; ${r.note}`,
  );
  process.exit(0);
}
