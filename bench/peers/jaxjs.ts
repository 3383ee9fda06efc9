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
