// Bench section "matmul": C = op(A)·op(B) at the shapes our models run (M = B·T = 2048 rows
// against the layers' K×N), plus 1024³, in NN, NT and TN.
//
// Each row times matmul() with variant 'auto' after autotuneMatmul() has picked the variant for
// that shape class (on the first run; later runs read cache/autotune.json), packing included.
// Beside it: the naive kernel (the baseline) measured in the same run, and with --peers three
// peers, all measured in the same run at the row's shape and transposes:
//   tfjs-webgpu    @tensorflow/tfjs-backend-webgpu's tf.matMul on the same adapter (bench/peers/tfjs.ts)
//   jax-js-webgpu  @jax-js/jax's np.matmul on its WebGPU backend, same adapter (bench/peers/jaxjs.ts)
//   torch.mm CPU   PyTorch's torch.mm on the CPU's cores, the CPU's sgemm ceiling (bench/peers.ts;
//                  one python process for all rows, run before the GPU timings)
// Both WebGPU peers run under Dawn in this process behind one navigator.gpu shim (bench/peers/shared.ts)
// and create their own devices. The naive kernel is ~1 GFLOP/s on lavapipe, so it runs once (1 rep)
// and, above 2.2 GFLOP, on a representative smaller shape (M ≤ 256, N ≤ 4096, same K and
// transposes, M halved down to 0.5 GFLOP); the row's note says so. Neither WebGPU peer splits outputs over
// maxStorageBufferBindingSize, so the logits row times them with N clipped to 4096, also noted.
import { init, sync } from '../src/gpu/runtime.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { trimTexturePool } from '../src/gpu/texture.ts';
import { availableVariants, matmul, type MatmulVariant } from '../src/ops/matmul/index.ts';
import { autotuneMatmul } from '../src/ops/matmul/tune.ts';
import { progress, timeGpu, type BenchOpts, type Peer, type Row } from './harness.ts';
import { torchPeer, type TorchResult } from './peers.ts';
import { flops, operandData, shape, type MatmulShape, type PeerResult } from './peers/shared.ts';
import { tfjsMatmul, tfjsVersion } from './peers/tfjs.ts';
import { jaxjsMatmul, jaxjsVersion } from './peers/jaxjs.ts';

const SECTION = 'matmul';

interface Case extends MatmulShape {
  label: string;
}

const SQUARE: Case[] = [
  { label: 'square', M: 1024, N: 1024, K: 1024, tr: 'NN' },
  { label: 'square', M: 1024, N: 1024, K: 1024, tr: 'NT' },
  { label: 'square', M: 1024, N: 1024, K: 1024, tr: 'TN' },
];
const MODEL: Case[] = [
  { label: 'mlp fc, d=384', M: 2048, N: 1536, K: 384, tr: 'NN' },
  { label: 'logits x·wteT, d=384', M: 2048, N: 50304, K: 384, tr: 'NT' },
  { label: 'qkv, d=768', M: 2048, N: 2304, K: 768, tr: 'NN' },
  { label: 'mlp fc, d=768', M: 2048, N: 3072, K: 768, tr: 'NN' },
  { label: 'mlp fc dx = dy·WT, d=768', M: 2048, N: 768, K: 3072, tr: 'NT' },
  { label: 'mlp fc dW = xT·dy, d=768', M: 768, N: 3072, K: 2048, tr: 'TN' },
];

function operands(c: MatmulShape) {
  const { a, aShape, b, bShape, transA, transB } = operandData(c);
  const A = Tensor.from(a, aShape),
    B = Tensor.from(b, bShape);
  return {
    A,
    B,
    transA,
    transB,
    release: () => {
      A.release();
      B.release();
    },
  };
}

/** GFLOP/s of the naive kernel: 1 rep, on a smaller shape above 2.2 GFLOP. */
const naiveCache = new Map<string, { value: number; note: string }>();
async function naive(c: Case): Promise<{ value: number; note: string }> {
  const big = flops(c) > 2.2e9;
  const s: Case = big ? { ...c, M: Math.min(c.M, 256), N: Math.min(c.N, 4096) } : c;
  // and halve M down to half a GFLOP (its TN form ran at 0.25 GFLOP/s: 13 s for one baseline)
  while (big && flops(s) > 0.5e9 && s.M > 32) s.M /= 2;
  const key = `${c.tr} ${shape(s)}`;
  let r = naiveCache.get(key);
  if (r) return r;
  const op = operands(s);
  const out = Tensor.empty([s.M, s.N]);
  // compile on a tiny product first, so the one timed rep is not a compile
  matmul(Tensor.empty([4, 4]), Tensor.empty([4, 4]), {
    transA: op.transA,
    transB: op.transB,
    variant: 'naive',
  }).release();
  await sync();
  const ms = await timeGpu(
    () => {
      matmul(op.A, op.B, { transA: op.transA, transB: op.transB, out, variant: 'naive' });
    },
    1,
    0,
  );
  op.release();
  out.release();
  r = { value: flops(s) / ms / 1e6, note: big ? `naive at ${shape(s)}, 1 rep` : 'naive 1 rep' };
  naiveCache.set(key, r);
  return r;
}

// ---------------------------------------------------------------- the section
export async function run(opts: Partial<BenchOpts> = {}): Promise<Row[]> {
  await init();
  const quick = !!opts.quick;
  const reps = quick ? 3 : 5;
  const cases = quick ? [...SQUARE, MODEL[0]] : [...SQUARE, ...MODEL];
  const rows: Row[] = [];
  const nnSquare: Record<string, number> = {};
  const key = (c: Case) => `${c.tr} ${shape(c)}`;
  let torch: TorchResult | { error: string } | undefined;
  if (opts.peers) {
    // all rows' torch.mm in one python process, before any GPU timing (it takes every core)
    torch = await torchPeer({ mm: cases.map((c) => ({ name: key(c), M: c.M, N: c.N, K: c.K, tr: c.tr })), quick });
    console.log(
      `torch.mm CPU: ${'error' in torch ? torch.error : `torch ${torch.torch}, ${torch.threads} threads, BLAS: ${torch.blas}`}`,
    );
    console.log(`tfjs-webgpu: ${await tfjsVersion()}; jax-js-webgpu: ${await jaxjsVersion()}`);
    progress(SECTION, 'torch.mm peer');
  }
  for (const c of cases) {
    const op = operands(c);
    const out = Tensor.empty([c.M, c.N]);
    const tune = await autotuneMatmul({ M: c.M, N: c.N, K: c.K }, { transA: op.transA, transB: op.transB });
    const time = (variant: MatmulVariant, n = reps) =>
      timeGpu(
        () => {
          matmul(op.A, op.B, { transA: op.transA, transB: op.transB, out, variant });
        },
        flops(c) > 20e9 ? Math.min(n, 3) : n,
        1,
      );
    const ms = await time('auto');
    const value = flops(c) / ms / 1e6;
    const notes = [c.label, tune.cached ? 'variant from autotune cache' : `autotuned now (on ${tune.timedShape})`];
    if (c.label === 'square') {
      nnSquare[c.tr] = value;
      if (c.tr !== 'NN' && nnSquare.NN) notes.push(`${(value / nnSquare.NN).toFixed(2)} of NN`);
    }
    const base = await naive(c);
    notes.push(base.note);
    const row: Row = {
      section: SECTION,
      name: `matmul ${c.tr} ${tune.winner}`,
      shape: shape(c),
      ms,
      value,
      unit: 'GFLOP/s',
      baseline: { name: 'naive', value: base.value },
    };
    if (opts.peers && torch) {
      const peers: Peer[] = [];
      const add = (name: string, p: PeerResult) => {
        if (typeof p === 'string') notes.push(p);
        else {
          peers.push({ name, value: p.value });
          notes.push(p.note);
        }
      };
      add('tfjs-webgpu', await tfjsMatmul(c, reps));
      add('jax-js-webgpu', await jaxjsMatmul(c, reps));
      if ('error' in torch) notes.push(torch.error);
      else if (torch.mm[key(c)]) peers.push({ name: 'torch.mm CPU', value: torch.mm[key(c)] });
      else notes.push('torch.mm: no figure for this shape');
      row.peers = peers;
    }
    row.note = notes.join('; ');
    rows.push(row);
    // the other kernel families at 1024^3 NN, for reference
    if (!quick && c.label === 'square' && c.tr === 'NN') {
      for (const v of ['tex-sg-64x16', 'tex-32x16', 'tiled-128x64', 'tiled-64x64'] as MatmulVariant[]) {
        if (v === tune.winner || !availableVariants().includes(v)) continue;
        const vms = await time(v, 3); // 3 reps: reference rows, 2-8x slower than the winner
        rows.push({
          section: SECTION,
          name: `matmul ${c.tr} ${v}`,
          shape: shape(c),
          ms: vms,
          value: flops(c) / vms / 1e6,
          unit: 'GFLOP/s',
          baseline: { name: 'naive', value: base.value },
          note: 'forced variant, for reference; 3 reps',
        });
      }
    }
    op.release();
    out.release();
    await sync();
    trimTexturePool();
    progress(SECTION, `${c.tr} ${shape(c)}`);
  }
  return rows;
}
