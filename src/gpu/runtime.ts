// The GPU runtime: kernels read from kernels/*.wgsl and specialised by text substitution,
// a pipeline cache keyed by that specialisation, and command submissions.
//
// Every op enqueues dispatches synchronously into the open submission, which is submitted at a
// download, at sync(), or when it grows large. Kernel parameters go in one uniform arena per
// submission: binding 0 of every kernel is a `var<uniform>` of a struct of
// u32/i32/f32 scalars, filled by name (see paramLayout); storage buffers follow from
// binding 1 in the order the caller gives them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getGpu, type Gpu, type GpuOptions } from './device.ts';

export const KERNEL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../kernels');

/** Settings that tests and benches change (defaults: what the device allows). */
export interface RuntimeOptions {
  /** a smaller texture-dimension limit than the device's, to exercise texture blocking */
  maxTexture?: number;
  /** false: the portable workgroup-tree row kernels even where the adapter has subgroups */
  subgroups: boolean;
}

/**
 * Everything the process holds for the GPU, in one object: the device, its pending errors,
 * the kernel caches, the open submission and its uniform arena, the counters, the
 * profiler, the buffer and texture pools (src/gpu/tensor.ts, src/gpu/texture.ts), the ops'
 * memoised objects and the test options. One per process, made by init().
 */
export class Runtime {
  readonly options: RuntimeOptions = { subgroups: true };
  /** WebGPU errors reported since the last checkErrors() */
  readonly errors: string[] = [];
  /** kernels/ files with their includes resolved */
  readonly sources = new Map<string, string>();
  readonly kernels = new Map<string, Kernel>();
  readonly counters: Counters = { dispatches: 0, workgroups: 0, submits: 0, waits: 0 };
  /** free pool buffers by size class, free textures by "WxH" */
  readonly freeBuffers = new Map<number, GPUBuffer[]>();
  readonly freeTextures = new Map<string, GPUTexture[]>();
  readonly poolStats = { allocatedBytes: 0, inUseBytes: 0, buffers: 0, allocations: 0, reuses: 0 };
  readonly texturePoolStats = { textures: 0, bytes: 0, allocations: 0, reuses: 0 };
  /** the uniform arena every submission writes its parameters into (queue order makes reuse safe) */
  arena: GPUBuffer | undefined;
  submission: Submission | undefined;
  profiler: Profiler | undefined;
  dummy: GPUBuffer | undefined;
  /**
   * Bind groups by kernel and bound ranges: a decode step or a training step dispatches the
   * same kernels on the same pool buffers and arena offsets every time, and Dawn's
   * createBindGroup costs tens of microseconds each. Cleared when pool buffers are destroyed.
   */
  readonly bindGroups = new Map<string, GPUBindGroup>();
  readonly bindGroupStats = { made: 0, reused: 0 };
  private ids = new WeakMap<object, number>();
  private memos = new Map<string, unknown>();

  constructor(readonly gpu: Gpu) {
    gpu.device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.errors.push(ev.error.message);
    };
  }

  /** A number that names this object (a buffer, a kernel) in bind-group keys. */
  idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }
  private nextId = 0;

  /** An object an op builds once per device (a generated kernel, a constant tensor), by key. */
  memo<T>(key: string, make: () => T): T {
    if (!this.memos.has(key)) this.memos.set(key, make());
    return this.memos.get(key) as T;
  }
}

let R: Runtime | undefined;

/** Acquire the device and make the runtime (once). Every op needs this to have been awaited. */
export async function init(opts: GpuOptions = {}): Promise<Gpu> {
  R ??= new Runtime(await getGpu(opts));
  return R.gpu;
}

/** The runtime that init() made. */
export function runtime(): Runtime {
  if (!R) throw new Error('GPU runtime not initialised: await init() first');
  return R;
}

export function gpu(): Gpu {
  return runtime().gpu;
}

// ---------------------------------------------------------------- errors

export class GpuError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'GpuError';
  }
}

/** Throw the first WebGPU error reported since the last check (messages name kernel labels). */
export function checkErrors() {
  const errors = runtime().errors;
  if (errors.length) {
    const msgs = errors.splice(0);
    throw new GpuError(`WebGPU error: ${msgs[0]}${msgs.length > 1 ? ` (+${msgs.length - 1} more)` : ''}`);
  }
}

// ---------------------------------------------------------------- kernels
export type Defs = Record<string, string | number | boolean>;

export interface Kernel {
  name: string; // "file.wgsl:entry{defs}" — used as a label in every error
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  params: ParamField[]; // binding 0's struct, in memory order (see paramLayout)
}

/** One scalar field of a kernel's uniform parameter struct. */
export interface ParamField {
  name: string;
  type: 'u32' | 'i32' | 'f32';
}

/** The body of `fn name(...) { ... }` in WGSL source (brace-matched), or null. */
function fnBody(code: string, name: string): string | null {
  const m = new RegExp(`\\bfn\\s+${name}\\s*\\(`).exec(code);
  if (!m) return null;
  const open = code.indexOf('{', m.index);
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === '{') depth++;
    else if (code[i] === '}' && --depth === 0) return code.slice(open, i + 1);
  }
  return null;
}

/**
 * The uniform parameter struct `entry` reads, field by field. A module may declare several
 * `var<uniform>` at binding 0 (one per family of entry points, each with its own honestly
 * named struct); the one that the entry point uses, directly or through the functions it
 * calls, is the entry's. Fields are 32-bit scalars, laid out at 4-byte steps.
 */
export function paramLayout(file: string, code: string, entry: string): ParamField[] {
  const src = code.replace(/\/\/.*$/gm, '');
  const vars = [...src.matchAll(/var<uniform>\s+(\w+)\s*:\s*(\w+)/g)].map((m) => ({ name: m[1], type: m[2] }));
  if (!vars.length) return [];
  let used = vars;
  if (vars.length > 1) {
    // the functions reachable from the entry point, and the uniform variables they name
    const seen = new Set<string>(),
      todo = [entry];
    let text = '';
    while (todo.length) {
      const f = todo.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      const body = fnBody(src, f);
      if (body === null) continue;
      text += body;
      for (const c of body.matchAll(/\b(\w+)\s*\(/g)) todo.push(c[1]);
    }
    used = vars.filter((v) => new RegExp(`\\b${v.name}\\.`).test(text));
    if (used.length !== 1)
      throw new Error(
        `kernels/${file} (${entry}): reads ${used.length} uniform parameter structs (${used.map((v) => v.name).join(', ') || 'none'}); expected one`,
      );
  }
  const st = new RegExp(`struct\\s+${used[0].type}\\s*\\{([^}]*)\\}`).exec(src);
  if (!st) throw new Error(`kernels/${file}: struct ${used[0].type} not found`);
  return st[1]
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map((f) => {
      const m = /^(\w+)\s*:\s*(\w+)$/.exec(f);
      if (!m || !['u32', 'i32', 'f32'].includes(m[2]))
        throw new Error(`kernels/${file}: struct ${used[0].type} field '${f}' is not a u32, i32 or f32 scalar`);
      return { name: m[1], type: m[2] as ParamField['type'] };
    });
}

/** A kernel's WGSL with each `#include "file"` line replaced by that file (from kernels/). */
function source(file: string, seen: string[] = []): string {
  const sources = runtime().sources;
  let s = sources.get(file);
  if (s === undefined) {
    if (seen.includes(file)) throw new Error(`kernels/${file}: #include cycle (${seen.join(' -> ')})`);
    s = fs
      .readFileSync(path.join(KERNEL_DIR, file), 'utf8')
      .replace(/^#include "([^"]+)"\s*$/gm, (_, inc: string) => source(inc, [...seen, file]));
    sources.set(file, s);
  }
  return s;
}

/** Replace each {{NAME}} in the WGSL with defs[NAME]; an unknown name is an error. */
export function specialise(file: string, wgsl: string, defs: Defs): string {
  return wgsl.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in defs)) throw new Error(`kernels/${file}: placeholder {{${k}}} has no value`);
    const v = defs[k];
    return typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
  });
}

/** Compile (or fetch from the cache) `entry` of kernels/`file`, specialised with `defs`. */
export function kernel(file: string, entry: string, defs: Defs = {}): Kernel {
  const key = `${file}:${entry}${JSON.stringify(defs)}`;
  const { kernels, errors } = runtime();
  let k = kernels.get(key);
  if (k) return k;
  const g = gpu();
  let code = specialise(file, source(file), defs);
  if (/\bf16\b/.test(code) && !/enable f16;/.test(code)) code = `enable f16;\n${code}`;
  if (/\bsubgroup\w*\(/.test(code) && !/enable subgroups;/.test(code)) code = `enable subgroups;\n${code}`;
  // the name used in labels and errors; long (generated) def values are elided
  const label = `${file}:${entry}${JSON.stringify(defs, (_, v) => (typeof v === 'string' && v.length > 40 ? `<${v.length} chars>` : v))}`;
  g.device.pushErrorScope('validation');
  const module = g.device.createShaderModule({ label, code });
  const pipeline = g.device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint: entry } });
  const layout = pipeline.getBindGroupLayout(0);
  // Compilation errors surface through the error scope; they are thrown at the next check.
  g.device.popErrorScope().then((err) => {
    if (err) errors.unshift(`kernels/${file} (${entry}) failed to compile:\n${err.message}`);
  });
  k = { name: label, pipeline, layout, params: paramLayout(file, code, entry) };
  kernels.set(key, k);
  return k;
}

/** Compile synchronously-checked: await the shader's compilation messages (used by tests and autotune). */
export async function compileChecked(file: string, entry: string, defs: Defs = {}): Promise<Kernel> {
  const k = kernel(file, entry, defs);
  await gpu().device.queue.onSubmittedWorkDone();
  checkErrors();
  return k;
}

// ---------------------------------------------------------------- parameters
/** A dispatch's kernel parameters by field name; each takes its type from the kernel's struct. */
export type Params = Record<string, number>;

/**
 * Write `params` into `dv` in the layout of `k`'s struct: omitted fields are 0; an unknown
 * name, a padding field (`_…`) or a value that does not fit the field's type is an error.
 */
function packParams(k: Kernel, params: Params, dv: DataView) {
  for (const name in params) {
    if (!k.params.some((f) => f.name === name) || name.startsWith('_')) {
      throw new Error(
        `${k.name}: no parameter '${name}' (it has ${k.params
          .filter((f) => !f.name.startsWith('_'))
          .map((f) => f.name)
          .join(', ')})`,
      );
    }
  }
  k.params.forEach((f, i) => {
    const v = params[f.name] ?? 0;
    if (typeof v !== 'number') throw new Error(`${k.name}: parameter ${f.name} = ${v} is not a number`);
    if (f.type === 'f32') dv.setFloat32(4 * i, v, true);
    else if (f.type === 'u32') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
        throw new Error(`${k.name}: parameter ${f.name} = ${v} is not a u32`);
      dv.setUint32(4 * i, v, true);
    } else {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)
        throw new Error(`${k.name}: parameter ${f.name} = ${v} is not an i32`);
      dv.setInt32(4 * i, v, true);
    }
  });
}

// ---------------------------------------------------------------- submissions
const ARENA_BYTES = 1 << 18; // uniforms of one submission: 1024 dispatches' 256-byte slots (a step of the 12-layer models)
const SLOT = 256; // minUniformBufferOffsetAlignment
const MAX_DISPATCHES = 512; // submit at least this often

/** The commands recorded since the last submit: one command buffer, with its dispatches' uniforms. */
interface Submission {
  encoder: GPUCommandEncoder;
  pass: GPUComputePassEncoder | null;
  arena: GPUBuffer;
  staging: ArrayBuffer;
  used: number;
  dispatches: number;
}

// ---------------------------------------------------------------- counters
/**
 * What the runtime has done since the last resetCounters(): kernel dispatches enqueued (and
 * their workgroups, x·y·z summed), command buffers submitted (one per flushed submission) and
 * waits of the host for the GPU (each sync() and each read-back). Plain increments, so they
 * cost nothing measurable and change no behaviour.
 */
export interface Counters {
  dispatches: number;
  workgroups: number;
  submits: number;
  waits: number;
}
/** Count one wait of the host for the GPU (sync() here; readBytes() in tensor.ts). */
export function countWait() {
  runtime().counters.waits++;
}

/** A copy of the counters (see Counters). */
export function counters(): Counters {
  return { ...runtime().counters };
}

/** Zero the counters; returns what they held. */
export function resetCounters(): Counters {
  const c = counters();
  const n = runtime().counters;
  n.dispatches = n.workgroups = n.submits = n.waits = 0;
  return c;
}

function openSubmission(): Submission {
  const r = runtime();
  if (r.submission) return r.submission;
  const g = r.gpu;
  // One arena serves every submission: queue order makes reuse safe (the writeBuffer of
  // the next one is ordered after the submit of the previous one).
  r.arena ??= g.device.createBuffer({
    label: 'uniform-arena',
    size: ARENA_BYTES,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  r.submission = {
    encoder: g.device.createCommandEncoder(),
    pass: null,
    arena: r.arena,
    staging: new ArrayBuffer(ARENA_BYTES),
    used: 0,
    dispatches: 0,
  };
  return r.submission;
}

/** The open command encoder, with any compute pass ended (for copies). */
export function encoder(): GPUCommandEncoder {
  const b = openSubmission();
  if (b.pass) {
    b.pass.end();
    b.pass = null;
  }
  return b.encoder;
}

/** Submit everything enqueued so far. */
export function flush() {
  const r = runtime();
  const b = r.submission;
  if (!b) return;
  r.submission = undefined;
  if (b.pass) b.pass.end();
  const after = profileResolve(b.encoder);
  const q = gpu().device.queue;
  if (b.used) q.writeBuffer(b.arena, 0, b.staging, 0, b.used);
  q.submit([b.encoder.finish()]);
  r.counters.submits++;
  after?.();
}

/** Submit and wait for the GPU to finish; then report any WebGPU error. */
export async function sync() {
  countWait();
  flush();
  await gpu().device.queue.onSubmittedWorkDone();
  checkErrors();
}

/** A buffer range to bind. `offset` must be a multiple of the device's offset alignment. */
export interface BufferRange {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

/**
 * Enqueue one dispatch of `k`: binding 0 receives `params` by name (packParams; the struct
 * padded to 16 bytes), bindings 1.. receive `buffers` in order.
 */
export function dispatch(
  k: Kernel,
  params: Params,
  buffers: (BufferRange | GPUTextureView)[],
  groups: [number, number?, number?],
) {
  const [x, y = 1, z = 1] = groups;
  const lim = gpu().device.limits.maxComputeWorkgroupsPerDimension;
  if (x > lim || y > lim || z > lim)
    throw new Error(`${k.name}: dispatch ${x}x${y}x${z} exceeds ${lim} workgroups per dimension`);
  if (x === 0 || y === 0 || z === 0) return;
  const r = runtime(),
    prof = r.profiler;
  let b = openSubmission();
  const bytes = Math.max(16, Math.ceil(k.params.length / 4) * 16);
  if (b.used + bytes > ARENA_BYTES || b.dispatches >= (prof ? PROFILE_QUERIES / 2 : MAX_DISPATCHES)) {
    flush();
    b = openSubmission();
  }
  const off = b.used;
  const dv = new DataView(b.staging, off, bytes);
  packParams(k, params, dv); // every field of the struct, omitted ones as 0
  b.used += Math.ceil(bytes / SLOT) * SLOT;
  const group = bindGroup(r, k, b.arena, off, bytes, buffers);
  if (prof) {
    // one pass per dispatch, timed
    if (b.pass) b.pass.end();
    const q = prof.names.length;
    prof.names.push(k.name);
    b.pass = b.encoder.beginComputePass({
      label: k.name,
      timestampWrites: { querySet: prof.set, beginningOfPassWriteIndex: 2 * q, endOfPassWriteIndex: 2 * q + 1 },
    });
  } else if (!b.pass) b.pass = b.encoder.beginComputePass({ label: k.name });
  b.pass.setPipeline(k.pipeline);
  b.pass.setBindGroup(0, group);
  b.pass.dispatchWorkgroups(x, y, z);
  b.dispatches++;
  r.counters.dispatches++;
  r.counters.workgroups += x * y * z;
  if (prof) {
    b.pass.end();
    b.pass = null;
  }
}

const MAX_BIND_GROUPS = 4096;

/** The bind group of one dispatch, from the cache where every binding is a buffer range (texture views are made per call). */
function bindGroup(
  r: Runtime,
  k: Kernel,
  arena: GPUBuffer,
  off: number,
  bytes: number,
  buffers: (BufferRange | GPUTextureView)[],
): GPUBindGroup {
  const cacheable = buffers.every((x) => 'buffer' in x);
  const key = cacheable
    ? `${r.idOf(k)}|${off}|${bytes}|${(buffers as BufferRange[]).map((x) => `${r.idOf(x.buffer)}:${x.offset ?? 0}:${x.size ?? -1}`).join('|')}`
    : '';
  const hit = cacheable ? r.bindGroups.get(key) : undefined;
  if (hit) {
    r.bindGroupStats.reused++;
    return hit;
  }
  const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: arena, offset: off, size: bytes } }];
  buffers.forEach((x, i) => {
    entries.push({
      binding: i + 1,
      resource: 'buffer' in x ? { buffer: x.buffer, offset: x.offset ?? 0, size: x.size } : x,
    });
  });
  const group = r.gpu.device.createBindGroup({ label: k.name, layout: k.layout, entries });
  r.bindGroupStats.made++;
  if (cacheable) {
    if (r.bindGroups.size >= MAX_BIND_GROUPS) r.bindGroups.clear();
    r.bindGroups.set(key, group);
  }
  return group;
}

// ---------------------------------------------------------------- profiling
// With profiling on, each dispatch runs in its own compute pass with timestamp queries, and
// each submission's times are read back after it is submitted: slow, for finding where time goes.
const PROFILE_QUERIES = 2 * 256; // two per dispatch; a submission is flushed before it runs out

interface Profiler {
  set: GPUQuerySet;
  names: string[];
  pending: Promise<void>[];
  totals: Map<string, { ms: number; n: number }>;
}

/** Start timing every dispatch by kernel (needs the 'timestamp-query' feature). */
export function profileStart() {
  const g = gpu();
  if (!g.features.has('timestamp-query'))
    throw new Error('profiling needs the timestamp-query feature, which this adapter lacks');
  flush();
  runtime().profiler = {
    set: g.device.createQuerySet({ type: 'timestamp', count: PROFILE_QUERIES }),
    names: [],
    pending: [],
    totals: new Map(),
  };
}

/** Stop timing; per kernel name (file:entry and its defines), total GPU milliseconds and dispatch count. */
export async function profileStop(): Promise<Map<string, { ms: number; n: number }>> {
  const r = runtime();
  if (!r.profiler) throw new Error('profileStop without profileStart');
  flush();
  const p = r.profiler;
  r.profiler = undefined;
  await Promise.all(p.pending);
  p.set.destroy();
  return p.totals;
}

/** Resolve this submission's timestamps into a readback buffer; after submit, add them to the totals. */
function profileResolve(enc: GPUCommandEncoder): (() => void) | undefined {
  const p = runtime().profiler;
  if (!p?.names.length) return undefined;
  const n = p.names.length,
    names = p.names;
  p.names = [];
  const dev = gpu().device;
  const res = dev.createBuffer({ size: 16 * n, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const rd = dev.createBuffer({ size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  enc.resolveQuerySet(p.set, 0, 2 * n, res, 0);
  enc.copyBufferToBuffer(res, 0, rd, 0, 16 * n);
  return () => {
    p.pending.push(
      rd.mapAsync(GPUMapMode.READ).then(() => {
        const t = new BigInt64Array(rd.getMappedRange());
        names.forEach((name, i) => {
          const e = p.totals.get(name) ?? { ms: 0, n: 0 };
          e.ms += Number(t[2 * i + 1] - t[2 * i]) / 1e6;
          e.n++;
          p.totals.set(name, e);
        });
        rd.unmap();
        rd.destroy();
        res.destroy();
      }),
    );
  };
}

/**
 * A window of n floats whose bindings start at element `bases`, cut for kernels whose element
 * type V is vec4f or f32: the vec4 part (whole vec4s; bases and count in vec4s) where every base
 * is a multiple of 4, then the f32 tail. Parts with no elements are left out.
 */
export function vec4Parts(n: number, bases: number[]): { V: 'vec4f' | 'f32'; count: number; bases: number[] }[] {
  const n4 = bases.every((b) => b % 4 === 0) ? Math.floor(n / 4) : 0;
  return [
    { V: 'vec4f' as const, count: n4, bases: bases.map((b) => b / 4) },
    { V: 'f32' as const, count: n - 4 * n4, bases: bases.map((b) => b + 4 * n4) },
  ].filter((part) => part.count > 0);
}

/**
 * How many rows of `rowBytes` bytes (a multiple of `multiple` of them) one storage binding
 * holds, whatever the window's start: a view's base is aligned down to the offset alignment,
 * so `maxBinding - offsetAlign` bytes are what is sure to fit. `what` names the row in the
 * error when not even `multiple` rows fit (`op`: a row of 4096 floats exceeds the … limit).
 */
export function rowsPerBinding(op: string, rowBytes: number, what: string, multiple = 1): number {
  const g = gpu();
  const rows = Math.floor(Math.floor((g.maxBinding - g.offsetAlign) / rowBytes) / multiple) * multiple;
  if (rows < multiple) throw new Error(`${op}: ${what} exceeds the ${g.maxBinding}-byte binding limit`);
  return rows;
}

/** Split `total` workgroups of one dimension into launches that respect the per-dimension limit (as [x, y]). */
export function grid(total: number): [number, number] {
  const lim = gpu().device.limits.maxComputeWorkgroupsPerDimension;
  if (total <= lim) return [total, 1];
  const y = Math.ceil(total / lim);
  return [Math.ceil(total / y), y];
}

/** A small buffer to bind where a kernel's optional input is unused. */
export function dummy(): BufferRange {
  const r = runtime();
  r.dummy ??= r.gpu.device.createBuffer({ label: 'dummy', size: 256, usage: GPUBufferUsage.STORAGE });
  return { buffer: r.dummy, offset: 0, size: 256 };
}
