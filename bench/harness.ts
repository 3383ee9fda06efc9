// The bench harness: timing and the row every bench section returns.
import { sync, type Counters } from '../src/gpu/runtime.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { copy } from '../src/ops/elementwise.ts';

/** What every section's run() receives. */
export interface BenchOpts {
  /** fewer shapes and repetitions (a smoke run) */
  quick: boolean;
  /** also time peer libraries, where a section has them (same adapter, or PyTorch on the CPU) */
  peers: boolean;
}

/** Another library's figure for the same work, in the row's unit, measured in the same run. */
export interface Peer {
  name: string;
  value: number;
}

export interface Row {
  section: string; // e.g. "matmul", "layernorm", "train"
  name: string; // e.g. "matmul NN tex32x16"
  shape: string; // e.g. "2048x1536x384"
  ms: number; // median milliseconds per run
  value: number; // throughput in `unit`
  unit: 'GFLOP/s' | 'GB/s' | 'tok/s' | 'rows/s' | 'MB';
  baseline?: { name: string; value: number }; // measured in the same run
  peers?: Peer[]; // e.g. tfjs-webgpu and jax-js-webgpu on the same adapter, torch.mm on the CPU
  /** what the runtime did per step or per token (src/gpu/runtime.ts counters), averaged over the timed runs */
  counts?: PerCounts;
  note?: string;
}

/** Runtime counters (dispatches, workgroups, submits, waits) per training step or per decoded token. */
export interface PerCounts {
  per: 'step' | 'token' | 'prefill';
  dispatches: number;
  workgroups: number;
  submits: number;
  waits: number;
}

/** `c` divided by `n` (counters summed over n runs), labelled with what one run is. */
export function perCounts(c: Counters, n: number, per: PerCounts['per']): PerCounts {
  return {
    per,
    dispatches: c.dispatches / n,
    workgroups: c.workgroups / n,
    submits: c.submits / n,
    waits: c.waits / n,
  };
}

/** e.g. "812 dispatches (avg 57 workgroups), 2 submits, 3 waits per step" */
export function countsNote(c: PerCounts): string {
  const r = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  return `${r(c.dispatches)} dispatches (avg ${r(Math.round(c.workgroups / Math.max(1, c.dispatches)))} workgroups), ${r(c.submits)} submits, ${r(c.waits)} waits per ${c.per}`;
}

const T0 = performance.now();
let last = T0;

/**
 * One progress line on stderr as a part of a section finishes: what it was, its seconds, and the
 * seconds since the bench started (a full bench runs for minutes with nothing else to show).
 */
export function progress(section: string, what: string) {
  const now = performance.now();
  process.stderr.write(
    `  [${((now - T0) / 1000).toFixed(0)} s] ${section}: ${what} (${((now - last) / 1000).toFixed(1)} s)\n`,
  );
  last = now;
}

/** Median wall time (ms) of `fn` (which enqueues GPU work) over `reps` runs after `warmup`; each run ends in sync(). */
export async function timeGpu(fn: () => void | Promise<void>, reps = 5, warmup = 2, minMs = 0): Promise<number> {
  for (let i = 0; i < warmup; i++) {
    await fn();
    await sync();
  }
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < reps || performance.now() - t0 < minMs; i++) {
    const s = performance.now();
    await fn();
    await sync();
    times.push(performance.now() - s);
    if (i > 1000) break;
  }
  return medianOf(times);
}

/** The middle value (of an even count, the upper of the two middle ones). */
export const medianOf = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** The copy kernel over a tensor of `shape`: the bandwidth ceiling rows are measured against. */
export interface CopyJob {
  run: () => void;
  bytes: number; // read and written
  release: () => void;
}
export function copyJob(shape: number[], data?: Float32Array): CopyJob {
  const n = shape.reduce((a, b) => a * b, 1);
  const x = data ? Tensor.from(data, shape) : Tensor.zeros(shape),
    y = Tensor.empty(shape);
  return {
    run: () => {
      copy(x, y);
    },
    bytes: 8 * n,
    release: () => {
      x.release();
      y.release();
    },
  };
}
