// Bench section "matmul": C = op(A)·op(B) at the shapes our models run (M = B·T = 2048 rows
// against the layers' K×N), plus 1024³, in NN, NT and TN.
//
// Each row times matmul() with variant 'auto' after autotuneMatmul() has picked the variant for
// that shape class (on the first run; later runs read cache/autotune.json), packing included.
// Beside it: the naive kernel (the baseline) measured in the same run, and with --peers
// @tensorflow/tfjs-backend-webgpu's tf.matMul on the same adapter (its own device, under Dawn).
// The naive kernel is ~1 GFLOP/s on lavapipe, so it runs once (1 rep) and, above 2.2 GFLOP,
// on a representative smaller shape (M ≤ 256, N ≤ 4096, same K and transposes); the row's note
// says so. tfjs cannot bind outputs over maxStorageBufferBindingSize, so the logits row times it
// with N clipped to 4096, also noted.
import { init, sync } from '../src/gpu/runtime.ts';
import { gpuObject } from '../src/gpu/device.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { matmul, autotuneMatmul, availableVariants, trimTexturePool, type MatmulVariant } from '../src/ops/matmul.ts';
import { timeGpu, type Row } from './harness.ts';
import type { BenchOpts } from './harness.ts';

const SECTION = 'matmul';

interface Case { label: string; M: number; N: number; K: number; tr: 'NN' | 'NT' | 'TN' }

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

const flops = (c: { M: number; N: number; K: number }) => 2 * c.M * c.N * c.K;
const shape = (c: { M: number; N: number; K: number }) => `${c.M}x${c.N}x${c.K}`;

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = (s / 4294967296) * 2 - 1; }
  return out;
}

function operands(c: { M: number; N: number; K: number; tr: string }) {
  const transA = c.tr[0] === 'T', transB = c.tr[1] === 'T';
  const A = Tensor.from(rand(c.M * c.K, 1), transA ? [c.K, c.M] : [c.M, c.K]);
  const B = Tensor.from(rand(c.K * c.N, 2), transB ? [c.N, c.K] : [c.K, c.N]);
  return { A, B, transA, transB, release: () => { A.release(); B.release(); } };
}

/** GFLOP/s of the naive kernel: 1 rep, on a smaller shape above 2.2 GFLOP. */
const naiveCache = new Map<string, { value: number; note: string }>();
async function naive(c: Case): Promise<{ value: number; note: string }> {
  const big = flops(c) > 2.2e9;
  const s: Case = big ? { ...c, M: Math.min(c.M, 256), N: Math.min(c.N, 4096) } : c;
  const key = `${c.tr} ${shape(s)}`;
  let r = naiveCache.get(key);
  if (r) return r;
  const op = operands(s);
  const out = Tensor.empty([s.M, s.N]);
  // compile on a tiny product first, so the one timed rep is not a compile
  matmul(Tensor.empty([4, 4]), Tensor.empty([4, 4]), { transA: op.transA, transB: op.transB, variant: 'naive' }).release();
  await sync();
  const ms = await timeGpu(() => { matmul(op.A, op.B, { transA: op.transA, transB: op.transB, out, variant: 'naive' }); }, 1, 0);
  op.release(); out.release();
  r = { value: flops(s) / ms / 1e6, note: big ? `naive at ${shape(s)}, 1 rep` : 'naive 1 rep' };
  naiveCache.set(key, r);
  return r;
}

// ---------------------------------------------------------------- tfjs-backend-webgpu
type Tf = typeof import('@tensorflow/tfjs-core');
let tfPromise: Promise<{ tf: Tf; flush: () => Promise<void> } | string> | undefined;

/** tfjs-core with the webgpu backend on this process's GPU object, or why it cannot run. */
function tfjs() {
  tfPromise ??= (async () => {
    try {
      const gpuObj = gpuObject();
      if (!gpuObj) return 'no GPU object';
      // tfjs looks for navigator.gpu (Node 20 has no navigator)
      const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
      if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu: gpuObj }, configurable: true, writable: true });
      else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpuObj, configurable: true });
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!(await tf.setBackend('webgpu'))) return 'tfjs could not start its webgpu backend';
      await tf.ready();
      // submit what tfjs has recorded and wait for it (what its own data() does before reading back)
      const backend = tf.backend() as unknown as { commandEncoder: unknown; endComputePassEncoder(): void; submitQueue(): void; device: GPUDevice };
      const flush = async () => {
        if (backend.commandEncoder) { backend.endComputePassEncoder(); backend.submitQueue(); }
        await backend.device.queue.onSubmittedWorkDone();
      };
      return { tf, flush };
    } catch (e) {
      return `tfjs failed to start: ${e instanceof Error ? e.message : e}`;
    }
  })();
  return tfPromise;
}

/** tf.matMul GFLOP/s on the same adapter (N clipped where tfjs's output would exceed one binding). */
async function peer(c: Case, reps: number): Promise<{ value: number; note: string } | string> {
  const t = await tfjs();
  if (typeof t === 'string') return t;
  const { tf, flush } = t;
  const s: Case = c.M * c.N * 4 > 128 * 2 ** 20 ? { ...c, N: 4096 } : c;
  try {
    const transA = s.tr[0] === 'T', transB = s.tr[1] === 'T';
    const a = tf.tensor(rand(s.M * s.K, 1), transA ? [s.K, s.M] : [s.M, s.K]);
    const b = tf.tensor(rand(s.K * s.N, 2), transB ? [s.N, s.K] : [s.K, s.N]);
    const once = async () => { const t0 = performance.now(); const r = tf.matMul(a, b, transA, transB); await flush(); r.dispose(); return performance.now() - t0; };
    await once();
    const n = flops(s) > 4.3e9 ? 1 : reps;
    const times: number[] = [];
    for (let i = 0; i < n; i++) times.push(await once());
    a.dispose(); b.dispose();
    times.sort((x, y) => x - y);
    const ms = times[Math.floor(times.length / 2)];
    return { value: flops(s) / ms / 1e6, note: `${s === c ? '' : `tfjs at ${shape(s)}, `}tfjs ${n} rep${n > 1 ? 's' : ''}` };
  } catch (e) {
    return `tfjs failed: ${e instanceof Error ? e.message.split('\n')[0] : e}`;
  }
}

// ---------------------------------------------------------------- the section
export async function run(opts: Partial<BenchOpts> = {}): Promise<Row[]> {
  await init();
  const quick = !!opts.quick;
  const reps = quick ? 3 : 5;
  const cases = quick ? [...SQUARE, MODEL[0]] : [...SQUARE, ...MODEL];
  const rows: Row[] = [];
  const nnSquare: Record<string, number> = {};
  for (const c of cases) {
    const op = operands(c);
    const out = Tensor.empty([c.M, c.N]);
    const tune = await autotuneMatmul({ M: c.M, N: c.N, K: c.K }, { transA: op.transA, transB: op.transB });
    const time = (variant: MatmulVariant) => timeGpu(() => { matmul(op.A, op.B, { transA: op.transA, transB: op.transB, out, variant }); },
      flops(c) > 20e9 ? Math.min(reps, 3) : reps, 1);
    const ms = await time('auto');
    const value = flops(c) / ms / 1e6;
    const notes = [c.label, tune.cached ? 'variant from autotune cache' : `autotuned now (on ${tune.timedShape})`];
    if (c.label === 'square') {
      nnSquare[c.tr] = value;
      if (c.tr !== 'NN' && nnSquare.NN) notes.push(`${(value / nnSquare.NN).toFixed(2)} of NN`);
    }
    const base = await naive(c);
    notes.push(base.note);
    const row: Row = { section: SECTION, name: `matmul ${c.tr} ${tune.winner}`, shape: shape(c), ms, value, unit: 'GFLOP/s', baseline: { name: 'naive', value: base.value } };
    if (opts.peers) {
      const p = await peer(c, reps);
      if (typeof p === 'string') notes.push(p);
      else { row.peers = [{ name: 'tfjs-webgpu', value: p.value }]; notes.push(p.note); }
    }
    row.note = notes.join('; ');
    rows.push(row);
    // the other kernel families at 1024^3 NN, for reference
    if (!quick && c.label === 'square' && c.tr === 'NN') {
      for (const v of ['tex-sg-64x16', 'tex-32x16', 'tiled-128x64', 'tiled-64x64'] as MatmulVariant[]) {
        if (v === tune.winner || !availableVariants().includes(v)) continue;
        const vms = await time(v);
        rows.push({ section: SECTION, name: `matmul ${c.tr} ${v}`, shape: shape(c), ms: vms, value: flops(c) / vms / 1e6, unit: 'GFLOP/s',
          baseline: { name: 'naive', value: base.value }, note: 'forced variant, for reference' });
      }
    }
    op.release(); out.release();
    await sync();
    trimTexturePool();
  }
  return rows;
}
