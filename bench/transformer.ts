// Bench section "transformer": every GPT-2 block kernel besides matmul, forward and backward,
// with a plain copy kernel's bandwidth as the ceiling for the memory-bound ones, and the fused
// and texture attention variants vs unfused attention (time and the bytes of the buffers each allocates).
//
// run({ quick }) returns rows; bench/bench.ts registers the section. Standalone:
//   npx tsx bench/transformer.ts [--quick] [--only name,name]
import { fileURLToPath } from 'node:url';
import { init, sync, gpu, runtime } from '../src/gpu/runtime.ts';
import { Tensor, poolStats, trimPool } from '../src/gpu/tensor.ts';
import { embeddingForward, embeddingBackward } from '../src/ops/embedding.ts';
import { layernormForward, layernormBackward } from '../src/ops/layernorm.ts';
import { attentionTexUnavailable } from '../src/ops/attention_tex.ts';
import {
  attentionForward,
  attentionBackward,
  attentionNaive,
  attentionNaiveBackward,
  attentionDecode,
  cachedAttend,
  kvAppend,
  kvCacheCreate,
} from '../src/ops/attention.ts';
import { crossEntropy } from '../src/ops/crossentropy.ts';
import { adamw, gradNorm } from '../src/ops/optim.ts';
import { copyJob, medianOf, progress, timeGpu, type CopyJob, type Row } from './harness.ts';
import { rand as randomData } from './peers/shared.ts';

const SECTION = 'transformer';

const rand = (n: number, scale = 1, seed = 1) => randomData(n, seed, scale);

const gbps = (bytes: number, ms: number) => bytes / ms / 1e6;

/**
 * Calls of `fn` per timed sample (enough for ~40 ms), so the per-sync overhead (milliseconds on
 * lavapipe) does not swamp small kernels; the call timed here compiles and warms, so the samples
 * need no warm-up of their own. Also the samples to take: a call of over 250 ms (the 2048×50304
 * cross-entropy) gets 3 at most.
 */
async function sampling(fn: () => void, reps: number): Promise<{ inner: number; reps: number }> {
  const once = await timeGpu(fn, 1, 1);
  const inner = Math.max(1, Math.min(64, Math.ceil(40 / Math.max(once, 0.01))));
  return { inner, reps: once > 250 ? Math.min(reps, 3) : reps };
}

const repeat = (fn: () => void, n: number) => () => {
  for (let i = 0; i < n; i++) fn();
};

/** Median ms of one call of `fn` (see sampling). */
async function per(fn: () => void, reps: number): Promise<number> {
  const s = await sampling(fn, reps);
  return (await timeGpu(repeat(fn, s.inner), s.reps, 0)) / s.inner;
}

/**
 * Median ms of one call of `fn` and of `ref` (the copy kernel the row is measured against), their
 * samples alternated: a slow spell of the host (on a shared VM they last minutes and halve a
 * kernel's speed) then falls on both, and their ratio, which the row reports, holds.
 */
async function perBeside(fn: () => void, ref: () => void, reps: number): Promise<{ ms: number; refMs: number }> {
  const s = await sampling(fn, reps),
    r = await sampling(ref, reps);
  const a: number[] = [],
    b: number[] = [];
  for (let i = 0; i < s.reps; i++) {
    a.push((await timeGpu(repeat(fn, s.inner), 1, 0)) / s.inner);
    b.push((await timeGpu(repeat(ref, r.inner), 1, 0)) / r.inner);
  }
  return { ms: medianOf(a), refMs: medianOf(b) };
}

/** Allocated-bytes growth of the pool while `fn` runs once on an empty pool (its working set). */
async function allocatedBy(fn: () => Tensor[]): Promise<number> {
  await sync();
  trimPool();
  const before = poolStats().allocatedBytes;
  const outs = fn();
  await sync();
  const bytes = poolStats().allocatedBytes - before;
  for (const t of outs) t.release();
  return bytes;
}

export async function run(opts: { quick?: boolean; only?: string[] } = {}): Promise<Row[]> {
  await init();
  const rows: Row[] = [];
  const quick = !!opts.quick;
  const reps = quick ? 3 : 7;
  const want = (name: string) => !opts.only || opts.only.some((o) => name.startsWith(o));
  const N = quick ? 512 : 2048; // B·T
  const Cs = quick ? [384] : [384, 768];
  const V = 50304;

  // ---------------------------------------------------------------- copy: the bandwidth ceiling
  // the rows below time the copy of [N, C] beside themselves (perBeside) and report against that
  const copies = new Map<number, CopyJob>();
  for (const C of Cs) {
    const job = copyJob([N, C], rand(N * C));
    copies.set(C, job);
    const ms = await per(job.run, reps);
    rows.push({
      section: SECTION,
      name: 'copy (bandwidth ceiling)',
      shape: `${N}x${C}`,
      ms,
      value: gbps(job.bytes, ms),
      unit: 'GB/s',
    });
  }
  /** A row's time and GB/s for `bytes` moved, against `copy` timed beside it. */
  const besideCopy = async (copy: CopyJob, bytes: number, fn: () => void) => {
    const t = await perBeside(fn, copy.run, reps);
    const value = gbps(bytes, t.ms),
      copyBw = gbps(copy.bytes, t.refMs);
    return {
      ms: t.ms,
      value,
      baseline: { name: 'copy', value: copyBw },
      note: `${((100 * value) / copyBw).toFixed(0)}% of copy (timed beside it)`,
    };
  };

  progress(SECTION, 'copy');
  // ---------------------------------------------------------------- layernorm
  // the row kernels the adapter gets (subgroup ones where it has subgroups), and where it has
  // them the workgroup-tree ones too, for the per-driver choice (issue 16)
  const lnKinds = gpu().features.has('subgroups') ? [undefined, 'workgroup kernels'] : [undefined];
  if (want('layernorm'))
    for (const C of Cs)
      for (const kind of lnKinds) {
        runtime().options.subgroups = kind === undefined;
        const x = Tensor.from(rand(N * C), [N, C]),
          w = Tensor.from(rand(C), [C]),
          b = Tensor.from(rand(C), [C]);
        const dy = Tensor.from(rand(N * C), [N, C]);
        let f = layernormForward(x, w, b);
        rows.push({
          section: SECTION,
          name: kind ? `layernorm forward (${kind})` : 'layernorm forward',
          shape: `${N}x${C}`,
          unit: 'GB/s',
          ...(await besideCopy(copies.get(C)!, 2 * N * C * 4 + 8 * N, () => {
            for (const t of Object.values(f)) t.release();
            f = layernormForward(x, w, b);
          })),
        });
        let g = layernormBackward(dy, x, w, f.mean, f.rstd);
        rows.push({
          section: SECTION,
          name: kind ? `layernorm backward (${kind})` : 'layernorm backward',
          shape: `${N}x${C}`,
          unit: 'GB/s',
          ...(await besideCopy(copies.get(C)!, 3 * N * C * 4 + 8 * N, () => {
            for (const t of Object.values(g)) t.release();
            g = layernormBackward(dy, x, w, f.mean, f.rstd);
          })),
        });
        for (const t of [x, w, b, dy, ...Object.values(f), ...Object.values(g)]) t.release();
        runtime().options.subgroups = true;
      }

  if (want('layernorm')) progress(SECTION, 'layernorm');
  // ---------------------------------------------------------------- embedding
  if (want('embedding'))
    for (const C of Cs) {
      const T = quick ? 256 : 1024,
        P = 1024;
      const idv = Int32Array.from(rand(N, 1).map((v) => Math.floor(Math.abs(v) * 50257)));
      const ids = Tensor.from(idv, [N], 'i32');
      const wte = Tensor.from(rand(V * C, 0.02), [V, C]),
        wpe = Tensor.from(rand(P * C, 0.02), [P, C]);
      let out = embeddingForward(ids, wte, wpe, T);
      rows.push({
        section: SECTION,
        name: 'embedding forward',
        shape: `N=${N} C=${C} V=${V}`,
        unit: 'GB/s',
        ...(await besideCopy(copies.get(C)!, 3 * N * C * 4, () => {
          out.release();
          out = embeddingForward(ids, wte, wpe, T);
        })),
      });
      const dwte = Tensor.zeros([V, C]),
        dwpe = Tensor.zeros([P, C]);
      const back = await besideCopy(copies.get(C)!, 2 * N * C * 4 * 2 + 2 * T * C * 4, () => {
        embeddingBackward(ids, out, dwte, dwpe, T);
      });
      rows.push({
        section: SECTION,
        name: 'embedding backward',
        shape: `N=${N} C=${C} V=${V}`,
        unit: 'GB/s',
        ...back,
        note: `${back.note}; sort + owner-per-row`,
      });
      for (const t of [ids, wte, wpe, out, dwte, dwpe]) t.release();
      trimPool();
    }

  if (want('embedding')) progress(SECTION, 'embedding');
  // ---------------------------------------------------------------- attention: fused and tex vs unfused
  if (want('attention')) {
    const B = quick ? 2 : 4,
      T = quick ? 128 : 256,
      NH = 6,
      hd = 64,
      C = NH * hd;
    const shape = `B=${B} T=${T} nHead=${NH} hd=${hd}`;
    const qkv = Tensor.from(rand(B * T * 3 * C), [B, T, 3 * C]),
      dy = Tensor.from(rand(B * T * C), [B, T, C]);
    const flops = (4 * B * NH * T * T * hd) / 2; // causal: QK^T and PV over half the matrix
    const ref = attentionNaive(qkv, B, T, NH);
    const msNF = await per(() => {
      const r = attentionNaive(qkv, B, T, NH);
      r.y.release();
      r.lse.release();
    }, reps);
    const msNB = await per(() => {
      attentionNaiveBackward(dy, qkv, ref.y, ref.lse, B, T, NH).release();
    }, reps);
    const memN = await allocatedBy(() => {
      const r = attentionNaive(qkv, B, T, NH);
      return [r.y, r.lse, attentionNaiveBackward(dy, qkv, r.y, r.lse, B, T, NH)];
    });
    // 'fused' (workgroup memory, for GPUs) and, where the adapter has subgroups, 'tex' (the default on CPU adapters)
    for (const v of attentionTexUnavailable(hd, T) ? (['fused'] as const) : (['fused', 'tex'] as const)) {
      const f = attentionForward(qkv, B, T, NH, v);
      const msFF = await per(() => {
        const r = attentionForward(qkv, B, T, NH, v);
        r.y.release();
        r.lse.release();
      }, reps);
      const msFB = await per(() => {
        attentionBackward(dy, qkv, f.y, f.lse, B, T, NH, v).release();
      }, reps);
      const memF = await allocatedBy(() => {
        const r = attentionForward(qkv, B, T, NH, v);
        return [r.y, r.lse, attentionBackward(dy, qkv, r.y, r.lse, B, T, NH, v)];
      });
      rows.push({
        section: SECTION,
        name: `attention forward ${v}`,
        shape,
        ms: msFF,
        value: flops / msFF / 1e6,
        unit: 'GFLOP/s',
        baseline: { name: 'unfused', value: flops / msNF / 1e6 },
        note: `${(msNF / msFF).toFixed(2)}x vs unfused (${msNF.toFixed(1)} ms)`,
      });
      rows.push({
        section: SECTION,
        name: `attention backward ${v}`,
        shape,
        ms: msFB,
        value: (2.5 * flops) / msFB / 1e6,
        unit: 'GFLOP/s',
        baseline: { name: 'unfused', value: (2.5 * flops) / msNB / 1e6 },
        note: `${(msNB / msFB).toFixed(2)}x vs unfused (${msNB.toFixed(1)} ms)`,
      });
      rows.push({
        section: SECTION,
        name: `attention fwd+bwd ${v}`,
        shape,
        ms: msFF + msFB,
        value: (3.5 * flops) / (msFF + msFB) / 1e6,
        unit: 'GFLOP/s',
        baseline: { name: 'unfused', value: (3.5 * flops) / (msNF + msNB) / 1e6 },
        note: `${((msNF + msNB) / (msFF + msFB)).toFixed(2)}x vs unfused`,
      });
      rows.push({
        section: SECTION,
        name: `attention fwd+bwd memory ${v}`,
        shape,
        ms: 0,
        value: memF / 1e6,
        unit: 'MB',
        baseline: { name: 'unfused', value: memN / 1e6 },
        note: `bytes of buffers allocated (outputs + temporaries)${v === 'tex' ? '; plus pooled textures of qkv and dy' : ''}`,
      });
      f.y.release();
      f.lse.release();
    }
    for (const t of [qkv, dy, ref.y, ref.lse]) t.release();
    // memory growth with T (fused: linear; unfused: quadratic)
    if (!quick) {
      for (const T2 of [512, 1024]) {
        const q2 = Tensor.from(rand(1 * T2 * 3 * C), [1, T2, 3 * C]),
          d2 = Tensor.from(rand(T2 * C), [1, T2, C]);
        const mF = await allocatedBy(() => {
          const r = attentionForward(q2, 1, T2, NH, 'fused');
          return [r.y, r.lse, attentionBackward(d2, q2, r.y, r.lse, 1, T2, NH, 'fused')];
        });
        const mN = await allocatedBy(() => {
          const r = attentionNaive(q2, 1, T2, NH);
          return [r.y, r.lse, attentionNaiveBackward(d2, q2, r.y, r.lse, 1, T2, NH)];
        });
        rows.push({
          section: SECTION,
          name: 'attention fwd+bwd memory fused',
          shape: `B=1 T=${T2} nHead=${NH} hd=${hd}`,
          ms: 0,
          value: mF / 1e6,
          unit: 'MB',
          baseline: { name: 'unfused', value: mN / 1e6 },
        });
        q2.release();
        d2.release();
      }
    }
    // decode: one position against a full cache, as generation runs it (cachedAttend: the
    // append and the attention in one subgroup kernel where the adapter allows), and the
    // portable two-kernel path (kvAppend, then attentionDecode's workgroup trees) beside it
    const P = quick ? 256 : 1024;
    const kv = kvCacheCreate(NH, P, hd);
    const q1 = Tensor.from(rand(3 * C), [1, 3 * C]);
    for (let t = 0; t < P; t += 1) kvAppend(q1, kv.k, kv.v, t);
    const msP = await per(() => {
      kvAppend(q1, kv.k, kv.v, P - 1);
      attentionDecode(q1, kv.k, kv.v, P - 1, NH).release();
    }, reps);
    const msD = await per(() => {
      cachedAttend(q1, kv.k, kv.v, P - 1, NH).release();
    }, reps);
    rows.push({
      section: SECTION,
      name: 'attention decode (KV cache)',
      shape: `pos=${P - 1} nHead=${NH} hd=${hd}`,
      ms: msD,
      value: gbps(2 * P * C * 4, msD),
      unit: 'GB/s',
      baseline: { name: 'kvAppend + attentionDecode', value: gbps(2 * P * C * 4, msP) },
      note: 'cachedAttend, the step generation runs; K and V caches read once',
    });
    kv.k.release();
    kv.v.release();
    q1.release();
    trimPool();
  }

  if (want('attention')) progress(SECTION, 'attention');
  // ---------------------------------------------------------------- cross-entropy
  if (want('crossentropy')) {
    const Nc = quick ? 256 : N;
    const logits = Tensor.from(rand(Nc * V, 3), [Nc, V]);
    const tg = Tensor.from(
      Int32Array.from({ length: Nc }, (_, i) => (i * 7919) % 50257),
      [Nc],
      'i32',
    );
    const msL = await per(() => {
      const r = crossEntropy(logits, tg, { vocab: 50257, normalizer: Nc, grad: false });
      r.loss.release();
      r.losses.release();
    }, reps);
    rows.push({
      section: SECTION,
      name: 'cross-entropy loss only',
      shape: `${Nc}x${V}`,
      ms: msL,
      value: gbps(Nc * V * 4, msL),
      unit: 'GB/s',
    });
    const msG = await per(() => {
      const r = crossEntropy(logits, tg, { vocab: 50257, normalizer: Nc });
      r.loss.release();
      r.losses.release();
      r.dlogits!.release();
    }, reps);
    rows.push({
      section: SECTION,
      name: 'cross-entropy loss + dlogits',
      shape: `${Nc}x${V}`,
      ms: msG,
      value: gbps(3 * Nc * V * 4, msG),
      unit: 'GB/s',
      note: 'reads logits twice, writes dlogits',
    });
    const msI = await per(() => {
      const r = crossEntropy(logits, tg, { vocab: 50257, normalizer: Nc, inPlace: true });
      r.loss.release();
      r.losses.release();
    }, reps);
    rows.push({
      section: SECTION,
      name: 'cross-entropy loss + dlogits in place',
      shape: `${Nc}x${V}`,
      ms: msI,
      value: gbps(3 * Nc * V * 4, msI),
      unit: 'GB/s',
    });
    logits.release();
    tg.release();
    trimPool();
  }

  if (want('crossentropy')) progress(SECTION, 'cross-entropy');
  // ---------------------------------------------------------------- optimiser
  if (want('adamw') || want('gradnorm')) {
    const n = quick ? 4_000_000 : 30_000_000; // ~ the scratch model's parameters
    const p = Tensor.from(rand(n, 0.02), [n]),
      g = Tensor.from(rand(n, 1e-3, 2), [n]);
    const m = Tensor.zeros([n]),
      v = Tensor.zeros([n]);
    const cj = copyJob([n], rand(n));
    const msC = await per(cj.run, reps);
    rows.push({
      section: SECTION,
      name: 'copy (bandwidth ceiling)',
      shape: `${n}`,
      ms: msC,
      value: gbps(cj.bytes, msC),
      unit: 'GB/s',
    });
    rows.push({
      section: SECTION,
      name: 'gradNorm',
      shape: `${n}`,
      unit: 'GB/s',
      ...(await besideCopy(cj, 4 * n, () => {
        gradNorm(g).release();
      })),
    });
    const norm = gradNorm(g);
    let step = 0;
    const adam = await besideCopy(cj, 28 * n, () => {
      adamw(p, g, m, v, {
        lr: 1e-4,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weightDecay: 0.1,
        step: ++step,
        gradNorm: norm,
        clip: 1,
      });
    });
    rows.push({
      section: SECTION,
      name: 'adamw',
      shape: `${n}`,
      unit: 'GB/s',
      ...adam,
      note: `${adam.note}; 7 f32 streams`,
    });
    cj.release();
    for (const t of [p, g, m, v, norm]) t.release();
    trimPool();
  }
  if (want('adamw') || want('gradnorm')) progress(SECTION, 'optimiser');
  for (const c of copies.values()) c.release();
  void gpu;
  return rows;
}

// standalone
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  const oi = process.argv.indexOf('--only');
  const only = oi > 0 ? process.argv[oi + 1].split(',') : undefined;
  const rows = await run({ quick, only });
  for (const r of rows) {
    const base = r.baseline ? `  (${r.baseline.name}: ${r.baseline.value.toFixed(2)})` : '';
    console.log(
      `${r.name.padEnd(40)} ${r.shape.padEnd(34)} ${r.ms.toFixed(2).padStart(9)} ms ${r.value.toFixed(2).padStart(9)} ${r.unit}${base}${r.note ? `  ${r.note}` : ''}`,
    );
  }
  process.exit(0);
}
