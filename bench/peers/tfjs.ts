// @tensorflow/tfjs-backend-webgpu as a matmul peer: tf.matMul under Dawn in this process, behind
// the navigator.gpu shim (shared.ts); tfjs creates its own device on our adapter. Timed by
// submitting what tfjs has recorded and waiting for the queue (what its own data() does before
// reading back), without a read-back.
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

type Tf = typeof import('@tensorflow/tfjs-core');
let started: Promise<{ tf: Tf; flush: () => Promise<void>; device: GPUDevice } | string> | undefined;

/** tfjs-core with the webgpu backend, or why it cannot run (started once). */
export function startTfjs() {
  started ??= (async () => {
    try {
      const why = shimNavigatorGpu();
      if (why) return `tfjs: ${why}`;
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!(await tf.setBackend('webgpu'))) return 'tfjs could not start its webgpu backend';
      await tf.ready();
      const backend = tf.backend() as unknown as {
        commandEncoder: unknown;
        endComputePassEncoder(): void;
        submitQueue(): void;
        device: GPUDevice;
      };
      const flush = async () => {
        if (backend.commandEncoder) {
          backend.endComputePassEncoder();
          backend.submitQueue();
        }
        await backend.device.queue.onSubmittedWorkDone();
      };
      return { tf, flush, device: backend.device };
    } catch (e) {
      return `tfjs failed to start: ${message(e)}`;
    }
  })();
  return started;
}

/** "tfjs 4.22.0", or why it cannot run. */
export async function tfjsVersion(): Promise<string> {
  const t = await startTfjs();
  return typeof t === 'string' ? t : `tfjs ${t.tf.version_core}`;
}

/** tf.matMul GFLOP/s at the row's shape and transposes (N clipped where C would exceed one binding). */
export async function tfjsMatmul(c: MatmulShape, reps: number): Promise<PeerResult> {
  const t = await startTfjs();
  if (typeof t === 'string') return t;
  const { tf, flush } = t;
  const s = clipToBinding(c, t.device.limits.maxStorageBufferBindingSize);
  try {
    const d = operandData(s);
    const a = tf.tensor(d.a, d.aShape),
      b = tf.tensor(d.b, d.bShape);
    const once = async () => {
      const t0 = performance.now();
      const r = tf.matMul(a, b, d.transA, d.transB);
      await flush();
      r.dispose();
      return performance.now() - t0;
    };
    const { ms, n } = await timePeer(s, reps, once);
    a.dispose();
    b.dispose();
    return { value: flops(s) / ms / 1e6, note: peerNote('tfjs', c, s, n) };
  } catch (e) {
    return `tfjs failed at ${s.tr} ${shape(s)}: ${message(e)}`;
  }
}
