// The bench harness: timing and the row every bench section returns.
import { sync } from '../src/gpu/runtime.ts';

/** What every section's run() receives. */
export interface BenchOpts {
  /** fewer shapes and repetitions (a smoke run) */
  quick: boolean;
  /** also time peer libraries, where a section has them (same adapter, or PyTorch on the CPU) */
  peers: boolean;
}

/** Another library's figure for the same work, in the row's unit, measured in the same run. */
export interface Peer { name: string; value: number }

export interface Row {
  section: string;          // e.g. "matmul", "layernorm", "train"
  name: string;             // e.g. "matmul NN tex32x16"
  shape: string;            // e.g. "2048x1536x384"
  ms: number;               // median milliseconds per run
  value: number;            // throughput in `unit`
  unit: 'GFLOP/s' | 'GB/s' | 'tok/s' | 'MB';
  baseline?: { name: string; value: number };   // measured in the same run
  peers?: Peer[];           // e.g. tfjs-webgpu and jax-js-webgpu on the same adapter, torch.mm on the CPU
  note?: string;
}

/** Median wall time (ms) of `fn` (which enqueues GPU work) over `reps` runs after `warmup`; each run ends in sync(). */
export async function timeGpu(fn: () => void | Promise<void>, reps = 5, warmup = 2, minMs = 0): Promise<number> {
  for (let i = 0; i < warmup; i++) { await fn(); await sync(); }
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < reps || performance.now() - t0 < minMs; i++) {
    const s = performance.now();
    await fn();
    await sync();
    times.push(performance.now() - s);
    if (i > 1000) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
