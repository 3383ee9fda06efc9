// jax-js (@jax-js/jax) as a matmul peer: np.matmul on its WebGPU backend, under Dawn in this
// process behind the navigator.gpu shim (shared.ts); jax-js requests its own device on our adapter.
//
// op(A)·op(B): a transposed operand is stored transposed and passed as `.transpose()`, a view that
// jax-js folds into the matmul kernel's indexing (no copy kernel). Eager (no jit): one product is
// one kernel either way. jax-js is lazy: a timed call ends in `blockUntilReady()` (which dispatches
// the pending kernel and maps a staging buffer copied after it, so it returns once the GPU is done)
// and then waits for jax-js's queue as well. The warm-up call reads C back instead, under WebGPU
// error scopes, and checks a few entries against the CPU: jax-js reports WebGPU validation errors
// only on the console and returns zeros, so a silent failure would otherwise time as a fast kernel.
import fs from 'node:fs';
import { medianOf } from '../harness.ts';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  clipToBinding,
  flops,
  message,
  operandData,
  peerNote,
  shape,
  shimNavigatorGpu,
  timePeer,
  type MatmulShape,
  type PeerResult,
} from './shared.ts';

type Jax = typeof import('@jax-js/jax');
let started: Promise<{ jax: Jax; device: GPUDevice } | string> | undefined;

/** jax-js with its webgpu backend as the default device, or why it cannot run (started once). */
export function startJaxjs() {
  started ??= (async () => {
    try {
      const why = shimNavigatorGpu();
      if (why) return `jax-js: ${why}`;
      const jax = await import('@jax-js/jax');
      const devices = await jax.init('webgpu');
      if (!devices.includes('webgpu'))
        return 'jax-js could not start its webgpu backend (no adapter or device from navigator.gpu)';
      jax.defaultDevice('webgpu');
      return { jax, device: jax.getWebGPUDevice() };
    } catch (e) {
      return `jax-js failed to start: ${message(e)}`;
    }
  })();
  return started;
}

/** "jax-js 0.1.25", or why it cannot run. */
export async function jaxjsVersion(): Promise<string> {
  const t = await startJaxjs();
  if (typeof t === 'string') return t;
  try {
    const main = createRequire(import.meta.url).resolve('@jax-js/jax');
    return `jax-js ${JSON.parse(fs.readFileSync(path.join(path.dirname(main), '..', 'package.json'), 'utf8')).version}`;
  } catch {
    return 'jax-js';
  }
}

/** Largest error of a few entries of C against float64 sums on the CPU, relative to the sum of |terms|. */
function spotCheck(c: MatmulShape, d: ReturnType<typeof operandData>, out: Float32Array): number {
  const A = (i: number, k: number) => (d.transA ? d.a[k * c.M + i] : d.a[i * c.K + k]);
  const B = (k: number, j: number) => (d.transB ? d.b[j * c.K + k] : d.b[k * c.N + j]);
  let worst = 0;
  for (const [i, j] of [
    [0, 0],
    [c.M - 1, c.N - 1],
    [c.M >> 1, c.N >> 2],
    [c.M >> 3, c.N - 1],
  ]) {
    let sum = 0,
      mag = 0;
    for (let k = 0; k < c.K; k++) {
      const p = A(i, k) * B(k, j);
      sum += p;
      mag += Math.abs(p);
    }
    worst = Math.max(worst, Math.abs(out[i * c.N + j] - sum) / (mag || 1));
  }
  return worst;
}

/** np.matmul GFLOP/s at the row's shape and transposes (N clipped where C would exceed one binding). */
export async function jaxjsMatmul(c: MatmulShape, reps: number): Promise<PeerResult> {
  const t = await startJaxjs();
  if (typeof t === 'string') return t;
  const { jax, device } = t;
  const np = jax.numpy;
  const s = clipToBinding(c, device.limits.maxStorageBufferBindingSize);
  const d = operandData(s);
  const a = np.array(d.a, { shape: d.aShape }),
    b = np.array(d.b, { shape: d.bShape });
  // jax-js's functions consume their arguments; .ref keeps a and b alive for the next call
  const product = () => np.matmul(d.transA ? a.ref.transpose() : a.ref, d.transB ? b.ref.transpose() : b.ref);
  try {
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    let out: Float32Array | undefined, thrown: unknown;
    try {
      out = (await product().data()) as Float32Array;
    } catch (e) {
      thrown = e;
    }
    const oom = await device.popErrorScope();
    const invalid = await device.popErrorScope();
    if (oom || invalid) return `jax-js failed at ${s.tr} ${shape(s)}: ${message((oom ?? invalid)!.message)}`;
    if (thrown !== undefined || !out) return `jax-js failed at ${s.tr} ${shape(s)}: ${message(thrown)}`;
    const err = spotCheck(s, d, out);
    if (!(err < 1e-4))
      return `jax-js gave wrong products at ${s.tr} ${shape(s)} (relative error ${err.toExponential(1)}), not timed`;
    const once = async () => {
      const t0 = performance.now();
      const r = await product().blockUntilReady();
      await device.queue.onSubmittedWorkDone();
      const ms = performance.now() - t0;
      r.dispose();
      return ms;
    };
    const { ms, n } = await timePeer(s, reps, once, false);
    return { value: flops(s) / ms / 1e6, note: peerNote('jax-js', c, s, n) };
  } catch (e) {
    return `jax-js failed at ${s.tr} ${shape(s)}: ${message(e)}`;
  } finally {
    try {
      a.dispose();
      b.dispose();
    } catch {
      /* already consumed by a failed call */
    }
  }
}

/** The GELU MLP that bench/mlp.ts trains, with its data and initial weights (row-major f32). */
export interface MlpCase {
  B: number; // rows per step
  C: number; // inputs
  H: number; // hidden units
  V: number; // classes
  lr: number; // SGD step
  x: Float32Array; // [B, C]
  targets: Int32Array; // [B]
  w1: Float32Array; // [C, H]
  b1: Float32Array; // [H]
  w2: Float32Array; // [H, V]
  b2: Float32Array; // [V]
}

/**
 * One SGD step of bench/mlp.ts's MLP in jax-js (valueAndGrad of the mean softmax cross-entropy,
 * eager; GELU in its tanh form, as ours), ending in a read-back of the loss, as ours does: its
 * median ms, and the first step's loss, which from the same data and weights must match ours.
 */
export async function jaxjsMlpStep(
  m: MlpCase,
  reps: number,
): Promise<{ ms: number; loss0: number; n: number } | string> {
  const t = await startJaxjs();
  if (typeof t === 'string') return t;
  const { jax, device } = t;
  const np = jax.numpy;
  type P = {
    w1: InstanceType<Jax['Array']>;
    b1: InstanceType<Jax['Array']>;
    w2: InstanceType<Jax['Array']>;
    b2: InstanceType<Jax['Array']>;
  };
  try {
    const x = np.array(m.x, { shape: [m.B, m.C] });
    const y = jax.nn.oneHot(np.array(m.targets, { shape: [m.B], dtype: np.int32 }), m.V);
    let p: P = {
      w1: np.array(m.w1, { shape: [m.C, m.H] }),
      b1: np.array(m.b1, { shape: [m.H] }),
      w2: np.array(m.w2, { shape: [m.H, m.V] }),
      b2: np.array(m.b2, { shape: [m.V] }),
    };
    // jax-js's functions consume their arguments (reference counts): .ref keeps what is reused
    const lossOf = (q: P, xs: typeof x, ys: typeof y) => {
      const h = jax.nn.gelu(np.matmul(xs, q.w1).add(q.b1), { approximate: true });
      const logits = np.matmul(h, q.w2).add(q.b2);
      return jax.nn
        .logSoftmax(logits)
        .mul(ys)
        .sum()
        .mul(-1 / m.B);
    };
    const valueGrad = jax.valueAndGrad(lossOf);
    const step = async () => {
      const t0 = performance.now();
      const [loss, g] = valueGrad({ w1: p.w1.ref, b1: p.b1.ref, w2: p.w2.ref, b2: p.b2.ref }, x.ref, y.ref);
      const sgd = (w: P['w1'], d: P['w1']) => w.sub(d.mul(m.lr));
      p = { w1: sgd(p.w1, g.w1), b1: sgd(p.b1, g.b1), w2: sgd(p.w2, g.w2), b2: sgd(p.b2, g.b2) };
      for (const w of Object.values(p)) await w.ref.blockUntilReady().then((r) => r.dispose());
      const l = (await loss.data())[0];
      await device.queue.onSubmittedWorkDone();
      return { ms: performance.now() - t0, loss: l };
    };
    device.pushErrorScope('validation');
    const first = await step();
    const invalid = await device.popErrorScope();
    if (invalid) return `jax-js failed on the MLP step: ${message(invalid.message)}`;
    if (!Number.isFinite(first.loss)) return `jax-js gave a non-finite MLP loss (${first.loss})`;
    const times: number[] = [];
    for (let i = 0; i < reps; i++) times.push((await step()).ms);
    x.dispose();
    y.dispose();
    for (const w of Object.values(p)) w.dispose();
    return { ms: medianOf(times), loss0: first.loss, n: reps };
  } catch (e) {
    return `jax-js failed on the MLP step: ${message(e)}`;
  }
}
