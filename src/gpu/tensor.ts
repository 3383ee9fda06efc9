// Tensor: a shape, a dtype and a GPU buffer from the pool.
//
// Layout is always row-major and contiguous. A tensor may be larger than one
// storage-buffer binding (gpu().maxBinding); ops that meet such tensors bind
// windows of it with `range()` and pass the window's element base as a parameter.
import { Float16Array } from '@petamoriken/float16';
import { gpu, encoder, flush, checkErrors, countWait, runtime, type BufferRange, type Runtime } from './runtime.ts';

export type DType = 'f32' | 'f16' | 'u32' | 'i32';
export const BYTES: Record<DType, number> = { f32: 4, f16: 2, u32: 4, i32: 4 };

// ---------------------------------------------------------------- the buffer pool
// Buffers are bucketed by size class (powers of two with quarter steps, <= 25% waste)
// and reused. Queue order makes reuse safe: a buffer released after enqueueing work
// that reads it can be rewritten by later work only after that work.
const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** The buffer pool's counters (bytes allocated and in use, buffers, allocations, reuses). */
export function poolStats(): Runtime['poolStats'] {
  return runtime().poolStats;
}

export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 4) * 4);
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

function acquire(bytes: number): GPUBuffer {
  const size = sizeClass(bytes);
  const { freeBuffers, poolStats } = runtime();
  const list = freeBuffers.get(size);
  poolStats.inUseBytes += size;
  if (list?.length) {
    poolStats.reuses++;
    return list.pop()!;
  }
  const g = gpu();
  if (size > g.device.limits.maxBufferSize) {
    throw new Error(`tensor of ${bytes} bytes exceeds this device's maxBufferSize (${g.device.limits.maxBufferSize})`);
  }
  poolStats.allocatedBytes += size;
  poolStats.buffers++;
  poolStats.allocations++;
  return g.device.createBuffer({ size, usage: USAGE });
}

function giveBack(buf: GPUBuffer) {
  const size = buf.size;
  const { freeBuffers, poolStats } = runtime();
  poolStats.inUseBytes -= size;
  let list = freeBuffers.get(size);
  if (!list) freeBuffers.set(size, (list = []));
  list.push(buf);
}

/** Destroy every free buffer (frees device memory; stats stay consistent). */
export function trimPool() {
  const { freeBuffers, poolStats, bindGroups } = runtime();
  flush(); // work already enqueued may read a freed buffer: submitted, it stays valid after destroy()
  bindGroups.clear(); // they may hold the buffers destroyed here
  for (const list of freeBuffers.values())
    for (const b of list) {
      poolStats.allocatedBytes -= b.size;
      poolStats.buffers--;
      b.destroy();
    }
  freeBuffers.clear();
}

// ---------------------------------------------------------------- Tensor
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeStr(shape: readonly number[]) {
  return `[${shape.join(',')}]`;
}

export class Tensor {
  readonly shape: number[];
  readonly dtype: DType;
  /** number of elements (`bytes` is the size in bytes) */
  readonly size: number;
  /** element index (not bytes) of this tensor's first element in its buffer (non-zero for views) */
  readonly elementOffset: number;
  /** a view shares its parent's buffer and does not own it */
  readonly isView: boolean;
  private buf: GPUBuffer | null;

  constructor(shape: readonly number[], dtype: DType = 'f32', view?: { buffer: GPUBuffer; elementOffset: number }) {
    for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new Error(`bad tensor shape ${shapeStr(shape)}`);
    this.shape = [...shape];
    this.dtype = dtype;
    this.size = numel(shape);
    this.elementOffset = view?.elementOffset ?? 0;
    this.isView = !!view;
    this.buf = view ? view.buffer : acquire(this.size * BYTES[dtype]);
  }

  /** A tensor of `shape` over elements [start, start+numel(shape)) of this one, sharing its buffer. */
  view(start: number, shape: readonly number[]): Tensor {
    if (start < 0 || start + numel(shape) > this.size)
      throw new Error(`view ${shapeStr(shape)} at ${start} exceeds ${shapeStr(this.shape)}`);
    return new Tensor(shape, this.dtype, { buffer: this.buffer, elementOffset: this.elementOffset + start });
  }

  /** The same elements with another shape (a view). */
  reshape(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size)
      throw new Error(`reshape ${shapeStr(this.shape)} to ${shapeStr(shape)}: sizes differ`);
    return this.view(0, shape);
  }

  get bytes() {
    return this.size * BYTES[this.dtype];
  }
  get rank() {
    return this.shape.length;
  }

  get buffer(): GPUBuffer {
    if (!this.buf) throw new Error(`tensor ${shapeStr(this.shape)} used after release()`);
    return this.buf;
  }

  get released() {
    return this.buf === null;
  }

  /** Return the buffer to the pool (views just forget it). Enqueued work that reads it stays valid. */
  release() {
    if (this.buf && !this.isView) giveBack(this.buf);
    this.buf = null;
  }

  /** The whole tensor as one binding (it must fit one): range(0, size). */
  get binding(): BufferRange & { base: number } {
    return this.range(0, this.size);
  }

  /**
   * A binding covering elements [start, start+count). The binding starts at the nearest
   * aligned byte offset at or below `start`; `base` is the element index of `start`
   * inside the binding (pass it to the kernel). Throws if the window exceeds maxBinding.
   */
  range(start: number, count: number): BufferRange & { base: number } {
    const g = gpu();
    const eb = BYTES[this.dtype];
    if (start < 0 || count < 0 || start + count > this.size)
      throw new Error(`window [${start}, ${start + count}) outside ${shapeStr(this.shape)}`);
    const byteStart = (this.elementOffset + start) * eb;
    const offset = Math.floor(byteStart / g.offsetAlign) * g.offsetAlign;
    const end = Math.ceil(((this.elementOffset + start + count) * eb) / 4) * 4;
    const size = Math.max(4, end - offset);
    if (size > g.maxBinding) {
      throw new Error(
        `tensor ${shapeStr(this.shape)} window of ${size} bytes exceeds the ${g.maxBinding}-byte storage binding limit`,
      );
    }
    return { buffer: this.buffer, offset, size, base: (byteStart - offset) / eb };
  }

  /** True when the whole tensor fits in one storage binding. */
  get fitsBinding() {
    return this.bytes <= gpu().maxBinding;
  }

  static empty(shape: readonly number[], dtype: DType = 'f32') {
    return new Tensor(shape, dtype);
  }

  static from(data: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = new Tensor(shape, dtype);
    if (data.length !== t.size) throw new Error(`Tensor.from: ${data.length} values for shape ${shapeStr(shape)}`);
    t.write(data);
    return t;
  }

  static zeros(shape: readonly number[], dtype: DType = 'f32') {
    const t = new Tensor(shape, dtype);
    encoder().clearBuffer(t.buffer, 0, Math.ceil(t.bytes / 4) * 4);
    return t;
  }

  /** Set every element to zero (whole 4-byte words: a view must start and end on them). */
  zero() {
    const eb = BYTES[this.dtype];
    const a = this.elementOffset * eb,
      e = (this.elementOffset + this.size) * eb;
    if (a % 4 || e % 4) throw new Error('zero(): f16 view not on 4-byte boundaries');
    encoder().clearBuffer(this.buffer, a, e - a);
    return this;
  }

  /** Overwrite the contents from the CPU (queued in order with the kernels). */
  write(data: ArrayLike<number>, start = 0) {
    if (start + data.length > this.size) throw new Error(`write past the end of ${shapeStr(this.shape)}`);
    flush(); // earlier enqueued kernels must see the old contents
    let bytes: ArrayBufferView;
    switch (this.dtype) {
      case 'f32':
        bytes = data instanceof Float32Array ? data : Float32Array.from(data);
        break;
      case 'f16':
        bytes = new Uint16Array(Float16Array.from(data as ArrayLike<number>).buffer);
        break;
      case 'u32':
        bytes = data instanceof Uint32Array ? data : Uint32Array.from(data);
        break;
      case 'i32':
        bytes = data instanceof Int32Array ? data : Int32Array.from(data);
        break;
    }
    const eb = BYTES[this.dtype];
    let n = bytes.byteLength;
    let src = new Uint8Array(bytes.buffer, bytes.byteOffset, n);
    if (n % 4) {
      const p = new Uint8Array(n + 2);
      p.set(src);
      src = p;
      n += 2;
    }
    // writeBuffer requires a 4-byte aligned offset: an odd f16 offset is merged with its neighbour.
    const at = (this.elementOffset + start) * eb;
    if (at % 4) throw new Error('f16 write at an odd element offset is not supported');
    gpu().device.queue.writeBuffer(this.buffer, at, src, 0, n);
  }

  /** Copy back to the CPU as numbers (f16 is widened to f32). */
  async read(): Promise<Float32Array | Uint32Array | Int32Array> {
    const eb = BYTES[this.dtype];
    const at = Math.floor((this.elementOffset * eb) / 4) * 4;
    const skip = this.elementOffset * eb - at;
    const all = await readBytes(this.buffer, at, Math.ceil((skip + this.bytes) / 4) * 4);
    const raw = skip ? all.slice(skip, skip + this.bytes + (this.bytes % 4 ? 4 - (this.bytes % 4) : 0)) : all;
    switch (this.dtype) {
      case 'f32':
        return new Float32Array(raw);
      case 'u32':
        return new Uint32Array(raw);
      case 'i32':
        return new Int32Array(raw);
      case 'f16':
        return Float32Array.from(new Float16Array(raw, 0, this.size));
    }
  }

  async toArray(): Promise<Float32Array> {
    const a = await this.read();
    return a instanceof Float32Array ? a : Float32Array.from(a);
  }

  toString() {
    return `Tensor${shapeStr(this.shape)}:${this.dtype}`;
  }
}

/** Copy `size` bytes of a buffer back to the CPU. */
export async function readBytes(buffer: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
  const g = gpu();
  const staging = g.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  encoder().copyBufferToBuffer(buffer, offset, staging, 0, size);
  flush();
  countWait();
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  checkErrors();
  return out;
}

/** Assert helper for ops: throws an error naming the op and the shapes. */
export function expectShape(
  op: string,
  name: string,
  t: Tensor,
  shape: readonly (number | null)[],
  dtype: DType = 'f32',
) {
  const ok = t.rank === shape.length && shape.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) {
    const want = `[${shape.map((d) => (d === null ? '*' : d)).join(',')}]`;
    throw new Error(`${op}: ${name} has shape ${shapeStr(t.shape)}, expected ${want}`);
  }
  if (t.dtype !== dtype) throw new Error(`${op}: ${name} has dtype ${t.dtype}, expected ${dtype}`);
  if (t.released) throw new Error(`${op}: ${name} ${shapeStr(t.shape)} was released`);
}
