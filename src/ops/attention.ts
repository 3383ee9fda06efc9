// Causal multi-head self-attention (kernels/attention.wgsl, kernels/attention_naive.wgsl).
//
// qkv: [B,T,3C] (or [B·T,3C]) — per row q | k | v, each C = nHead·hd wide, head h at
// columns h·hd.. of each part. Scores are scaled by 1/sqrt(hd), causal (key j ≤ query i).
//
// attentionForward / attentionBackward: fused, FlashAttention-2 style. Key (or query) tiles
// go through workgroup memory, each thread keeps one row's state in registers, and the
// T×T score matrix never exists in memory (memory O(B·T·C), not O(T²)). The backward pass
// recomputes the scores tile by tile from q, k and the saved lse: D = rowsum(dy∘y), then one
// pass over query tiles per key block for dk, dv and one over key tiles per query block for
// dq: each output element has one writer, no atomics, deterministic. On CPU adapters the
// 'tex' variant (src/ops/attention_tex.ts) computes the same through textures and subgroups.
// attentionNaive / attentionNaiveBackward: the unfused baseline (head split, matmul, causal
// softmax kernel writing T×T probabilities, matmul, merge), for tests and the bench.
//
// KV cache for generation (batch 1): kCache and vCache are [nHead, P, hd] (head-major: one
// head's keys contiguous; P = capacity, e.g. n_positions; position t of head h at
// element (h·P + t)·hd). kvAppend writes the new rows' k, v at positions pos..;
// attentionDecode attends the query rows at positions pos.. to cache positions 0..pos+t;
// cachedAttend does both, and for one new row where the adapter allows it in one dispatch
// (kernels/attention_step.wgsl: a subgroup per head, no barriers).
import { dispatch, grid, gpu, kernel, rowsPerBinding, runtime } from '../gpu/runtime.ts';
import { Tensor, expectShape, shapeStr, type DType } from '../gpu/tensor.ts';
import { maxTexture, subgroupSize } from '../gpu/texture.ts';
import { matmul } from './matmul/index.ts';
import { attentionTexBackward, attentionTexForward, attentionTexUnavailable } from './attention_tex.ts';

const F = 'attention.wgsl';
const FN = 'attention_naive.wgsl';

interface Geometry {
  B: number;
  T: number;
  NH: number;
  C: number;
  hd: number;
}

function geometry(op: string, qkv: Tensor, B: number, T: number, nHead: number): Geometry {
  for (const [k, v] of [
    ['B', B],
    ['T', T],
    ['nHead', nHead],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${k} = ${v} must be a positive integer`);
  }
  if (qkv.dtype !== 'f32') throw new Error(`${op}: qkv has dtype ${qkv.dtype}, expected f32`);
  if (qkv.released) throw new Error(`${op}: qkv ${shapeStr(qkv.shape)} was released`);
  const C3 = qkv.shape[qkv.rank - 1];
  const C = C3 / 3;
  const rowsOk = qkv.rank === 3 ? qkv.shape[0] === B && qkv.shape[1] === T : qkv.rank === 2 && qkv.shape[0] === B * T;
  if (!rowsOk || !Number.isInteger(C) || C % nHead !== 0) {
    throw new Error(
      `${op}: qkv has shape ${shapeStr(qkv.shape)}, expected [${B},${T},3·C] (or [${B * T},3·C]) with C divisible by nHead = ${nHead}`,
    );
  }
  const hd = C / nHead;
  if (hd % 4 !== 0) throw new Error(`${op}: head dim ${hd} (C ${C} / nHead ${nHead}) must be a multiple of 4`);
  return { B, T, NH: nHead, C, hd };
}

function expectLike(op: string, name: string, t: Tensor, shape: number[], dtype: DType = 'f32') {
  expectShape(op, name, t, shape, dtype);
}

/**
 * Kernel specialisation: head dim HD, rows (threads) per workgroup BR, staged tile rows BC
 * (the largest that fits the device's workgroup memory), decode threads DW.
 */
function defs(hd: number) {
  const lim = gpu().device.limits;
  const BR = Math.min(32, lim.maxComputeInvocationsPerWorkgroup);
  let BC = 32;
  while (BC > 4 && (2 * BC * hd + 2 * BC) * 4 > lim.maxComputeWorkgroupStorageSize) BC /= 2;
  let DW = 64;
  while (DW < hd) DW *= 2;
  return { HD: hd, BR, BC, DW };
}

/** Batches per chunk so that the qkv / dqkv window of a chunk fits one binding. */
function batchesPerChunk(op: string, g: Geometry): number {
  const per = g.T * 3 * g.C * 4;
  const nb = Math.min(g.B, rowsPerBinding(op, per, `one batch of qkv (${per} bytes)`), Math.floor(65535 / g.NH));
  return nb;
}

const outShape = (qkv: Tensor, C: number) => [...qkv.shape.slice(0, -1), C];

// ---------------------------------------------------------------- fused
/**
 * 'fused': kernels/attention.wgsl (workgroup-memory tiles, for GPUs); 'tex': kernels/attention_tex.wgsl
 * (textures and subgroup broadcasts, src/ops/attention_tex.ts, for CPU adapters). 'auto' (default)
 * takes 'tex' on software adapters that can run it; ATTENTION_VARIANT=fused|tex overrides it.
 */
export type AttentionVariant = 'auto' | 'fused' | 'tex';

function resolveAttention(op: string, v: AttentionVariant, g: Geometry): 'fused' | 'tex' {
  const env = process.env.ATTENTION_VARIANT;
  if (v === 'auto' && env && env !== 'auto') {
    if (env !== 'fused' && env !== 'tex')
      throw new Error(`ATTENTION_VARIANT=${env}: unknown attention variant (known: auto, fused, tex)`);
    v = env;
  }
  const why = attentionTexUnavailable(g.hd, g.T);
  if (v === 'tex' && why) throw new Error(`${op}: the 'tex' variant ${why}`);
  if (v === 'auto') return gpu().info.isSoftware && !why ? 'tex' : 'fused';
  return v;
}

/** Batches per texture chunk: the chunk's rows must also fit one texture's height. */
function texBatches(op: string, g: Geometry): number {
  const L = maxTexture();
  return Math.max(1, Math.min(batchesPerChunk(op, g), Math.floor(L / g.T)));
}

export function attentionForward(
  qkv: Tensor,
  B: number,
  T: number,
  nHead: number,
  variant: AttentionVariant = 'auto',
): { y: Tensor; lse: Tensor } {
  const op = 'attentionForward';
  const g = geometry(op, qkv, B, T, nHead);
  const { NH, C, hd } = g;
  const y = Tensor.empty(outShape(qkv, C)),
    lse = Tensor.empty([B, NH, T]);
  if (resolveAttention(op, variant, g) === 'tex') {
    attentionTexForward(qkv, { ...g, step: texBatches(op, g) }, y, lse);
    return { y, lse };
  }
  const d = defs(hd);
  const k = kernel(F, 'forward', d);
  const step = batchesPerChunk(op, g);
  for (let b0 = 0; b0 < B; b0 += step) {
    const nb = Math.min(step, B - b0);
    const qB = qkv.range(b0 * T * 3 * C, nb * T * 3 * C),
      yB = y.range(b0 * T * C, nb * T * C),
      lB = lse.range(b0 * NH * T, nb * NH * T);
    dispatch(
      k,
      { T, NH, C, scale: 1 / Math.sqrt(hd), q0: qB.base, y0: yB.base, l0: lB.base, bc: d.BC },
      [qB, yB, lB],
      [Math.ceil(T / d.BR), nb * NH],
    );
  }
  return { y, lse };
}

export function attentionBackward(
  dy: Tensor,
  qkv: Tensor,
  y: Tensor,
  lse: Tensor,
  B: number,
  T: number,
  nHead: number,
  variant: AttentionVariant = 'auto',
): Tensor {
  const op = 'attentionBackward';
  const g = geometry(op, qkv, B, T, nHead);
  const { NH, C, hd } = g;
  expectLike(op, 'dy', dy, outShape(qkv, C));
  expectLike(op, 'y', y, outShape(qkv, C));
  expectLike(op, 'lse', lse, [B, NH, T]);
  const dqkv = Tensor.empty(qkv.shape),
    D = Tensor.empty([B, NH, T]);
  const d = defs(hd);
  const scale = 1 / Math.sqrt(hd);
  const tex = resolveAttention(op, variant, g) === 'tex';
  const kd = kernel(F, 'bwd_d', d);
  const step = tex ? texBatches(op, g) : batchesPerChunk(op, g);
  for (let b0 = 0; b0 < B; b0 += step) {
    const nb = Math.min(step, B - b0);
    const qB = qkv.range(b0 * T * 3 * C, nb * T * 3 * C),
      oB = dqkv.range(b0 * T * 3 * C, nb * T * 3 * C);
    const yB = y.range(b0 * T * C, nb * T * C),
      dyB = dy.range(b0 * T * C, nb * T * C);
    const lB = lse.range(b0 * NH * T, nb * NH * T),
      DB = D.range(b0 * NH * T, nb * NH * T);
    const n = nb * T * NH;
    const [gx, gy] = grid(Math.ceil(n / 64));
    dispatch(kd, { T, NH, C, y0: yB.base, dy0: dyB.base, D0: DB.base, n, row: gx * 64 }, [dyB, yB, DB], [gx, gy]);
    if (tex) continue;
    const params = { T, NH, C, scale, q0: qB.base, l0: lB.base, dy0: dyB.base, D0: DB.base, o0: oB.base, bc: d.BC };
    const groups: [number, number] = [Math.ceil(T / d.BR), nb * NH];
    dispatch(kernel(F, 'bwd_dkdv', d), params, [qB, dyB, lB, DB, oB], groups);
    dispatch(kernel(F, 'bwd_dq', d), params, [qB, dyB, lB, DB, oB], groups);
  }
  if (tex) attentionTexBackward(dy, qkv, lse, D, { ...g, step }, dqkv);
  D.release();
  return dqkv;
}

// ---------------------------------------------------------------- KV cache
/** Zeroed caches for one layer: k and v, each [nHead, nPositions, headDim]. */
export function kvCacheCreate(nHead: number, nPositions: number, headDim: number): { k: Tensor; v: Tensor } {
  return { k: Tensor.zeros([nHead, nPositions, headDim]), v: Tensor.zeros([nHead, nPositions, headDim]) };
}

function cacheGeometry(op: string, kCache: Tensor, vCache: Tensor) {
  expectShape(op, 'kCache', kCache, [null, null, null]);
  expectShape(op, 'vCache', vCache, kCache.shape);
  const [NH, P, hd] = kCache.shape;
  if (hd % 4 !== 0) throw new Error(`${op}: head dim ${hd} must be a multiple of 4`);
  if (kCache.elementOffset % 4 || vCache.elementOffset % 4)
    throw new Error(`${op}: the caches must start at a multiple of 4 elements (they are read as vec4s)`);
  if (!kCache.fitsBinding || !vCache.fitsBinding)
    throw new Error(`${op}: cache ${shapeStr(kCache.shape)} exceeds one storage binding`);
  return { NH, P, hd, C: NH * hd };
}

/** Write the k and v of qkv rows [Tn, 3C] (or [1, Tn, 3C]) into the caches at positions pos..pos+Tn-1. */
export function kvAppend(qkv: Tensor, kCache: Tensor, vCache: Tensor, pos: number): void {
  const op = 'kvAppend';
  const { NH, P, hd, C } = cacheGeometry(op, kCache, vCache);
  if (
    qkv.dtype !== 'f32' ||
    qkv.shape[qkv.rank - 1] !== 3 * C ||
    (qkv.rank === 3 && qkv.shape[0] !== 1) ||
    qkv.rank < 2 ||
    qkv.rank > 3
  ) {
    throw new Error(
      `${op}: qkv has shape ${shapeStr(qkv.shape)}:${qkv.dtype}, expected [Tn, ${3 * C}] f32 for caches ${shapeStr(kCache.shape)}`,
    );
  }
  const Tn = qkv.size / (3 * C);
  if (!Number.isInteger(pos) || pos < 0 || pos + Tn > P)
    throw new Error(`${op}: positions ${pos}..${pos + Tn - 1} exceed the cache capacity ${P}`);
  const n = Tn * C;
  const [gx, gy] = grid(Math.ceil(n / 64));
  const qB = qkv.binding,
    kB = kCache.binding,
    vB = vCache.binding;
  dispatch(
    kernel(F, 'kv_append', defs(hd)),
    { T: Tn, NH, C, q0: qB.base, k0: kB.base, v0: vB.base, P, pos, n, row: gx * 64 },
    [qB, kB, vB],
    [gx, gy],
  );
}

/**
 * Attention of Tq new query rows (positions pos..pos+Tq-1) over the cache: q is [Tq, C]
 * (or the qkv rows [Tq, 3C] themselves; only their q columns are read). The caches must
 * already hold positions 0..pos+Tq-1 (kvAppend first). Returns y [Tq, C]. With Tq = 1 this
 * is generation's decode step; Tq > 1 prefills through the cache (causal within the rows).
 */
export function attentionDecode(q: Tensor, kCache: Tensor, vCache: Tensor, pos: number, nHead: number): Tensor {
  const op = 'attentionDecode';
  const { NH, P, hd, C } = cacheGeometry(op, kCache, vCache);
  if (nHead !== NH)
    throw new Error(`${op}: nHead ${nHead} differs from the cache's ${NH} heads ${shapeStr(kCache.shape)}`);
  const last = q.shape[q.rank - 1];
  if (q.dtype !== 'f32' || q.rank < 1 || (last !== C && last !== 3 * C)) {
    throw new Error(`${op}: q has shape ${shapeStr(q.shape)}:${q.dtype}, expected [Tq, ${C}] (or [Tq, ${3 * C}]) f32`);
  }
  const Tq = q.size / last;
  if (!Number.isInteger(pos) || pos < 0 || pos + Tq > P)
    throw new Error(`${op}: positions ${pos}..${pos + Tq - 1} exceed the cache capacity ${P}`);
  const y = Tensor.empty([Tq, C]);
  const d = defs(hd);
  const qB = q.binding,
    kB = kCache.binding,
    vB = vCache.binding,
    yB = y.binding;
  dispatch(
    kernel(F, 'decode', d),
    { T: Tq, NH, C, scale: 1 / Math.sqrt(hd), q0: qB.base, y0: yB.base, k0: kB.base, v0: vB.base, P, pos, qs: last },
    [qB, kB, vB, yB],
    [Tq, NH],
  );
  return y;
}

/**
 * The subgroup size kernels/attention_step.wgsl runs with for head dim hd (one subgroup per
 * head, HD / SG dims per lane in whole vec4s), or 0 where it cannot run. On lavapipe it takes
 * a decode step's attention from 0.33 to 0.05 ms per layer at 100 cached positions (scratch
 * config, `npm run profile -- --only decode`, 2026-12-04) and saves the append's dispatch.
 */
function stepSubgroup(hd: number, ...bases: number[]): number {
  const SG = runtime().options.subgroups ? subgroupSize() : 0;
  return SG && hd % (4 * SG) === 0 && bases.every((b) => b % 4 === 0) ? SG : 0;
}

/**
 * Append the k, v of qkv rows [Tq, 3C] at positions pos.. of the caches and attend their
 * queries over positions 0..pos+t: kvAppend then attentionDecode; for a prefill (pos = 0) the
 * attention is attentionForward's within the rows; for one row (a decode step) both run in one
 * dispatch where stepSubgroup allows. Returns y [Tq, C].
 */
export function cachedAttend(qkv: Tensor, kCache: Tensor, vCache: Tensor, pos: number, nHead: number): Tensor {
  const op = 'cachedAttend';
  const { NH, P, hd, C } = cacheGeometry(op, kCache, vCache);
  const qB = qkv.binding;
  const SG = stepSubgroup(hd, qB.base);
  const Tq = qkv.size / (3 * C);
  if (pos === 0 && Tq > 1 && Number.isInteger(Tq) && nHead === NH) {
    // a prefill into an empty cache is the training forward's causal attention within the rows
    // (the tex or fused kernel): on lavapipe the decode kernel took 4.5 ms a layer for 64 rows,
    // the tex forward 0.3 ms (scratch prefill, profiled)
    kvAppend(qkv, kCache, vCache, pos);
    const { y, lse } = attentionForward(qkv, 1, Tq, nHead);
    lse.release();
    return y;
  }
  if (SG === 0 || qkv.size !== 3 * C || nHead !== NH) {
    kvAppend(qkv, kCache, vCache, pos);
    return attentionDecode(qkv, kCache, vCache, pos, nHead);
  }
  if (!Number.isInteger(pos) || pos < 0 || pos >= P)
    throw new Error(`${op}: position ${pos} exceeds the cache capacity ${P}`);
  const y = Tensor.empty([1, C]);
  const kB = kCache.binding,
    vB = vCache.binding,
    yB = y.binding;
  dispatch(
    kernel('attention_step.wgsl', 'step', { HD: hd, SG }),
    { NH, C, scale: 1 / Math.sqrt(hd), q0: qB.base, y0: yB.base, k0: kB.base, v0: vB.base, P, pos },
    [qB, kB, vB, yB],
    [1, NH],
  );
  return y;
}

// ---------------------------------------------------------------- batched KV cache
/** Zeroed caches for one layer of B sequences: k and v, each [B, nHead, nPositions, headDim]. */
export function kvCacheCreateRows(
  B: number,
  nHead: number,
  nPositions: number,
  headDim: number,
): { k: Tensor; v: Tensor } {
  return { k: Tensor.zeros([B, nHead, nPositions, headDim]), v: Tensor.zeros([B, nHead, nPositions, headDim]) };
}

/** Row b of batched caches [B, NH, P, hd] as a single-sequence cache [NH, P, hd] (a view: prefill). */
export function kvCacheRow(cache: { k: Tensor; v: Tensor }, b: number): { k: Tensor; v: Tensor } {
  const [, NH, P, hd] = cache.k.shape;
  const n = NH * P * hd;
  return { k: cache.k.view(b * n, [NH, P, hd]), v: cache.v.view(b * n, [NH, P, hd]) };
}

function rowsGeometry(op: string, qkv: Tensor, kCache: Tensor, vCache: Tensor, positions: Tensor) {
  expectShape(op, 'kCache', kCache, [null, null, null, null]);
  expectShape(op, 'vCache', vCache, kCache.shape);
  const [B, NH, P, hd] = kCache.shape;
  const C = NH * hd;
  if (hd % 4 !== 0) throw new Error(`${op}: head dim ${hd} must be a multiple of 4`);
  if (kCache.elementOffset % 4 || vCache.elementOffset % 4)
    throw new Error(`${op}: the caches must start at a multiple of 4 elements (they are read as vec4s)`);
  if (!kCache.fitsBinding || !vCache.fitsBinding)
    throw new Error(`${op}: cache ${shapeStr(kCache.shape)} exceeds one storage binding`);
  expectShape(op, 'qkv', qkv, [B, 3 * C]);
  expectShape(op, 'positions', positions, [B], 'u32');
  return { B, NH, P, hd, C };
}

/**
 * Batched decoding, one new token for each of B sequences: writes the k, v of qkv [B, 3C] at
 * position positions[b] (u32 [B], each < P) of row b's cache, then attends each row's query
 * over its positions 0..positions[b]. Returns y [B, C].
 */
export function attentionDecodeRows(
  qkv: Tensor,
  kCache: Tensor,
  vCache: Tensor,
  positions: Tensor,
  nHead: number,
): Tensor {
  const op = 'attentionDecodeRows';
  const { B, NH, P, hd, C } = rowsGeometry(op, qkv, kCache, vCache, positions);
  if (nHead !== NH)
    throw new Error(`${op}: nHead ${nHead} differs from the cache's ${NH} heads ${shapeStr(kCache.shape)}`);
  const d = defs(hd);
  const qB = qkv.binding,
    kB = kCache.binding,
    vB = vCache.binding,
    pB = positions.binding;
  const SG = stepSubgroup(hd, qB.base);
  if (SG) {
    const y = Tensor.empty([B, C]);
    const yB = y.binding;
    dispatch(
      kernel('attention_step.wgsl', 'step_rows', { HD: hd, SG }),
      { NH, C, scale: 1 / Math.sqrt(hd), q0: qB.base, y0: yB.base, k0: kB.base, v0: vB.base, P },
      [qB, kB, vB, yB, pB],
      [B, NH],
    );
    return y;
  }
  const n = B * C;
  const [gx, gy] = grid(Math.ceil(n / 64));
  dispatch(
    kernel(F, 'kv_append_rows', d),
    { T: 1, NH, C, q0: qB.base, k0: kB.base, v0: vB.base, P, n, row: gx * 64 },
    [qB, kB, vB, pB],
    [gx, gy],
  );
  const y = Tensor.empty([B, C]);
  const yB = y.binding;
  dispatch(
    kernel(F, 'decode_rows', d),
    { T: 1, NH, C, scale: 1 / Math.sqrt(hd), q0: qB.base, y0: yB.base, k0: kB.base, v0: vB.base, P, qs: 3 * C },
    [qB, kB, vB, yB, pB],
    [B, NH],
  );
  return y;
}

// ---------------------------------------------------------------- unfused baseline
function heads(x: Tensor, g: Geometry, stride: number, co: number): Tensor {
  const o = Tensor.empty([g.B, g.NH, g.T, g.hd]);
  const n = o.size;
  const [gx, gy] = grid(Math.ceil(n / 256));
  const xB = x.binding; // a view's base just shifts the column offset
  dispatch(
    kernel(FN, 'split'),
    { B: g.B, T: g.T, NH: g.NH, HD: g.hd, S: stride, co: co + xB.base, n, row: gx * 256 },
    [xB, o.binding],
    [gx, gy],
  );
  return o;
}

function unheads(o: Tensor, x: Tensor, g: Geometry, stride: number, co: number) {
  const n = o.size;
  const [gx, gy] = grid(Math.ceil(n / 256));
  const xB = x.binding;
  dispatch(
    kernel(FN, 'merge'),
    { B: g.B, T: g.T, NH: g.NH, HD: g.hd, S: stride, co: co + xB.base, n, row: gx * 256 },
    [o.binding, xB],
    [gx, gy],
  );
}

/** The unfused baseline of attentionForward: writes the [B,nHead,T,T] probabilities. */
export function attentionNaive(qkv: Tensor, B: number, T: number, nHead: number): { y: Tensor; lse: Tensor } {
  const op = 'attentionNaive';
  const g = geometry(op, qkv, B, T, nHead);
  const C3 = 3 * g.C;
  const q = heads(qkv, g, C3, 0),
    k = heads(qkv, g, C3, g.C),
    v = heads(qkv, g, C3, 2 * g.C);
  const S = matmul(q, k, { transB: true, alpha: 1 / Math.sqrt(g.hd) });
  const lse = Tensor.empty([B, nHead, T]);
  const rows = B * nHead * T;
  const [gx, gy] = grid(rows);
  dispatch(kernel(FN, 'softmax'), { B, T, NH: nHead, HD: g.hd, n: rows, row: gx }, [S.binding, lse.binding], [gx, gy]);
  const yh = matmul(S, v);
  const y = Tensor.empty(outShape(qkv, g.C));
  unheads(yh, y, g, g.C, 0);
  for (const t of [q, k, v, S, yh]) t.release();
  return { y, lse };
}

/** The unfused baseline of attentionBackward (recomputes the probabilities from q, k, lse). */
export function attentionNaiveBackward(
  dy: Tensor,
  qkv: Tensor,
  y: Tensor,
  lse: Tensor,
  B: number,
  T: number,
  nHead: number,
): Tensor {
  const op = 'attentionNaiveBackward';
  const g = geometry(op, qkv, B, T, nHead);
  expectLike(op, 'dy', dy, outShape(qkv, g.C));
  expectLike(op, 'y', y, outShape(qkv, g.C));
  expectLike(op, 'lse', lse, [B, nHead, T]);
  const C3 = 3 * g.C,
    scale = 1 / Math.sqrt(g.hd);
  const q = heads(qkv, g, C3, 0),
    k = heads(qkv, g, C3, g.C),
    v = heads(qkv, g, C3, 2 * g.C);
  const dyh = heads(dy, g, g.C, 0);
  const P = matmul(q, k, { transB: true, alpha: scale });
  const n = P.size;
  const [gx, gy] = grid(Math.ceil(n / 256));
  dispatch(kernel(FN, 'probs'), { B, T, NH: nHead, HD: g.hd, n, row: gx * 256 }, [P.binding, lse.binding], [gx, gy]);
  const dv = matmul(P, dyh, { transA: true });
  const dP = matmul(dyh, v, { transB: true });
  const rows = B * nHead * T;
  const [rx, ry] = grid(rows);
  dispatch(
    kernel(FN, 'softmax_bwd'),
    { B, T, NH: nHead, HD: g.hd, n: rows, row: rx },
    [P.binding, dP.binding],
    [rx, ry],
  );
  const dq = matmul(dP, k, { alpha: scale });
  const dk = matmul(dP, q, { transA: true, alpha: scale });
  const dqkv = Tensor.empty(qkv.shape);
  unheads(dq, dqkv, g, C3, 0);
  unheads(dk, dqkv, g, C3, g.C);
  unheads(dv, dqkv, g, C3, 2 * g.C);
  for (const t of [q, k, v, dyh, P, dv, dP, dq, dk]) t.release();
  return dqkv;
}
