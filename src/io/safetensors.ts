// safetensors: a reader that trusts nothing in the file, a writer (F32, atomic), and the sharded
// form (model.safetensors.index.json).
//
// Format (https://huggingface.co/docs/safetensors): 8 bytes little-endian u64 N, then N bytes of
// UTF-8 JSON — an object mapping tensor name -> {dtype, shape, data_offsets: [begin, end]} plus an
// optional "__metadata__" string->string map — then the data section. Offsets are relative to the
// start of the data section (8 + N). Tensors are row-major, little-endian.
//
// The reader checks everything before it reads any tensor data: the header length is bounded and
// inside the file; the header is a JSON object; every entry has a known dtype, a shape of
// non-negative integers and offsets whose span is exactly shape x dtype size; the tensors tile the
// data section exactly (no overlap, no hole, nothing after the last one — as the reference Rust
// implementation requires). Each tensor's bytes are then read on demand with one positioned read
// into a buffer of exactly that tensor's size, so a 350 MB checkpoint is never held twice.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAll, writeFileAtomicWith } from './atomic.ts';

/** Bytes per element of every dtype the format defines. */
export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  F8_E8M0: 1,
  C64: 8,
} as const;
/** Packed sub-byte dtypes of newer files: recognised, never read. */
const SUB_BYTE_DTYPES = ['F4', 'F6_E2M3', 'F6_E3M2'];
export type DType = keyof typeof DTYPE_BYTES;
/** The dtypes `read()` converts to float32 (exactly: every F16 and BF16 value is a float32). */
export const FLOAT_DTYPES: readonly DType[] = ['F32', 'F16', 'BF16'];

/** Largest header accepted (the format itself suggests 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

export interface TensorEntry {
  name: string;
  dtype: DType;
  /** row-major; [] for a scalar */
  shape: number[];
  numel: number;
  /** offsets within the data section, as in the header */
  begin: number;
  end: number;
  /** the file that holds it */
  file: string;
}

/** Anything that can hand out tensors by name: one safetensors file or a sharded checkpoint. */
export interface TensorSource {
  /** the weight files, in order */
  readonly files: string[];
  /** tensor names in header order (shard by shard) */
  names(): string[];
  has(name: string): boolean;
  entry(name: string): TensorEntry;
  /** the tensor converted to float32 (F32, F16 and BF16 only) */
  read(name: string): Float32Array;
  /** the tensor's raw little-endian bytes, any dtype */
  readRaw(name: string): Uint8Array;
  /** elements [start, start + count) of the flattened tensor, as float32 */
  readSlice(name: string, start: number, count: number): Float32Array;
  close(): void;
}

// ---------------------------------------------------------------------------------------------
// byte sources

interface ByteSource {
  readonly size: number;
  /** exactly `into.byteLength` bytes from absolute position `pos` */
  readInto(pos: number, into: Uint8Array): void;
  close(): void;
}

class FileSource implements ByteSource {
  readonly size: number;
  private fd: number | undefined;
  constructor(private readonly file: string) {
    // stat first: opening a FIFO would block until something writes to it
    if (!fs.statSync(file).isFile()) throw new SafetensorsError(`${file}: not a regular file`);
    this.fd = fs.openSync(file, 'r');
    try {
      const st = fs.fstatSync(this.fd);
      if (!st.isFile()) throw new SafetensorsError(`${file}: not a regular file`);
      this.size = st.size;
    } catch (e) {
      this.close();
      throw e;
    }
  }
  readInto(pos: number, into: Uint8Array): void {
    if (this.fd === undefined) throw new SafetensorsError(`${this.file}: file already closed`);
    let done = 0;
    while (done < into.byteLength) {
      const want = Math.min(into.byteLength - done, 1 << 30);
      const n = fs.readSync(this.fd, into, done, want, pos + done);
      if (n <= 0)
        throw new SafetensorsError(
          `${this.file}: unexpected end of file at byte ${pos + done} (was the file changed while reading?)`,
        );
      done += n;
    }
  }
  close(): void {
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      fs.closeSync(fd);
    }
  }
}

class MemorySource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  get size() {
    return this.bytes.byteLength;
  }
  readInto(pos: number, into: Uint8Array): void {
    if (pos + into.byteLength > this.bytes.byteLength) throw new SafetensorsError('read past the end of the buffer');
    into.set(this.bytes.subarray(pos, pos + into.byteLength));
  }
  close(): void {}
}

// ---------------------------------------------------------------------------------------------
// header

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const show = (v: unknown): string => {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

export interface ParsedHeader {
  metadata: Record<string, string>;
  /** in header order */
  entries: TensorEntry[];
}

/**
 * Validate a header (the JSON bytes, without the 8-byte length) against a data section of
 * `dataLength` bytes. Pure; throws a SafetensorsError naming `file` and the offending tensor.
 */
export function parseHeader(headerBytes: Uint8Array, dataLength: number, file: string): ParsedHeader {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${file}: ${msg}`);
  };
  const startsRight = headerBytes.byteLength > 0 && headerBytes[0] === 0x7b; /* { */
  const notSt = startsRight ? '' : ' (it does not start with "{": not a safetensors file, or corrupt)';
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    fail(`header is not valid UTF-8${notSt}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})${notSt}`);
  }
  if (!isPlainObject(json)) fail(`header must be a JSON object, got ${Array.isArray(json) ? 'an array' : show(json)}`);
  const dup = duplicateKey(text);
  if (dup !== undefined) fail(`header names ${JSON.stringify(dup)} twice (JSON.parse would keep only the last)`);
  if (!startsRight) fail('header must start with "{" (the format allows no leading whitespace)');
  const obj = json as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, v] of Object.entries(obj)) {
    if (name === '__metadata__') {
      if (!isPlainObject(v)) fail('"__metadata__" must be an object of strings');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') fail(`"__metadata__" value of "${k}" must be a string, got ${show(s)}`);
        metadata[k] = s as string;
      }
      continue;
    }
    const bad = (msg: string): never => fail(`tensor "${name}": ${msg}`);
    if (name.length === 0) fail('a tensor has an empty name');
    if (!isPlainObject(v)) bad(`entry must be an object, got ${show(v)}`);
    const e = v as Record<string, unknown>;
    const dtype = e.dtype;
    if (typeof dtype !== 'string') bad(`"dtype" must be a string, got ${show(dtype)}`);
    if (SUB_BYTE_DTYPES.includes(dtype as string))
      bad(`dtype ${dtype} (packed, under a byte per element) is not supported`);
    if (!Object.hasOwn(DTYPE_BYTES, dtype as string)) {
      bad(`unknown dtype ${show(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape)) bad(`"shape" must be an array of integers, got ${show(shape)}`);
    let numel = 1;
    for (const d of shape as unknown[]) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
        bad(`shape ${show(shape)} has a dimension that is not a non-negative integer`);
      numel *= d as number;
      if (!Number.isSafeInteger(numel)) bad(`shape ${show(shape)} is too large`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2) bad(`"data_offsets" must be [begin, end], got ${show(off)}`);
    const [begin, end] = off as unknown[];
    if (
      typeof begin !== 'number' ||
      typeof end !== 'number' ||
      !Number.isSafeInteger(begin) ||
      !Number.isSafeInteger(end) ||
      begin < 0 ||
      end < 0
    ) {
      bad(`"data_offsets" must be two non-negative integers, got ${show(off)}`);
    }
    const b = begin as number,
      en = end as number;
    if (b > en) bad(`data_offsets [${b}, ${en}] end before they begin`);
    if (en > dataLength)
      bad(`data_offsets [${b}, ${en}] run past the data section (${dataLength} bytes; is the file truncated?)`);
    const size = DTYPE_BYTES[dtype as DType];
    const need = numel * size;
    if (!Number.isSafeInteger(need) || en - b !== need) {
      bad(
        `data_offsets [${b}, ${en}] span ${en - b} bytes but shape ${show(shape)} of ${dtype} needs ${numel} x ${size} = ${need}`,
      );
    }
    entries.push({ name, dtype: dtype as DType, shape: (shape as number[]).slice(), numel, begin: b, end: en, file });
  }

  // the tensors must tile the data section: sort by offset, then no overlap, no hole, no tail
  const sorted = entries.slice().sort((x, y) => x.begin - y.begin || x.end - y.end);
  let at = 0;
  let prev: TensorEntry | undefined;
  for (const e of sorted) {
    if (e.begin < at)
      fail(
        `tensor "${e.name}" (bytes ${e.begin}..${e.end}) overlaps tensor "${prev!.name}" (bytes ${prev!.begin}..${prev!.end})`,
      );
    if (e.begin > at)
      fail(`bytes ${at}..${e.begin} of the data section belong to no tensor (before tensor "${e.name}")`);
    at = e.end;
    if (!prev || e.end > e.begin) prev = e; // name the last non-empty tensor in overlap errors
  }
  if (at !== dataLength) {
    fail(
      `the data section is ${dataLength} bytes but the tensors end at ${at}${at < dataLength ? ' (trailing bytes: corrupt file?)' : ''}`,
    );
  }
  return { metadata, entries };
}

// ---------------------------------------------------------------------------------------------
// float conversion

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let f16Table: Float32Array | undefined;
/** float32 value of every IEEE half bit pattern (exact; NaN payloads kept). */
export function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  const bits = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    if (exp === 0) {
      // zero or subnormal: man x 2^-24, exact in float32
      t[h] = man * 2 ** -24;
      bits[h] |= sign;
    } else if (exp === 31) {
      bits[h] = sign | 0x7f800000 | (man << 13);
    } else {
      bits[h] = sign | ((exp + 112) << 23) | (man << 13);
    }
  }
  f16Table = t;
  return t;
}

/** Little-endian raw bytes of `dtype` to float32; throws for non-float dtypes. */
export function toFloat32(raw: Uint8Array, dtype: DType, numel: number, what = 'tensor'): Float32Array {
  if (raw.byteLength !== numel * DTYPE_BYTES[dtype])
    throw new SafetensorsError(`${what}: ${raw.byteLength} bytes for ${numel} ${dtype} values`);
  if (dtype === 'F32') {
    if (LITTLE_ENDIAN && raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, numel);
    const out = new Float32Array(numel);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < numel; i++) out[i] = dv.getFloat32(4 * i, true);
    return out;
  }
  if (dtype === 'F16' || dtype === 'BF16') {
    const out = new Float32Array(numel);
    let h: Uint16Array;
    if (LITTLE_ENDIAN && raw.byteOffset % 2 === 0) h = new Uint16Array(raw.buffer, raw.byteOffset, numel);
    else {
      h = new Uint16Array(numel);
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < numel; i++) h[i] = dv.getUint16(2 * i, true);
    }
    // integer moves only, so that every bit (NaN payloads included) is kept
    const o = new Uint32Array(out.buffer);
    if (dtype === 'F16') {
      const t = new Uint32Array(f16ToF32Table().buffer);
      for (let i = 0; i < numel; i++) o[i] = t[h[i]];
    } else {
      for (let i = 0; i < numel; i++) o[i] = h[i] << 16; // bf16 is the top half of a float32
    }
    return out;
  }
  throw new SafetensorsError(`${what}: dtype ${dtype} is not supported here (only F32, F16 and BF16 weights are read)`);
}

// ---------------------------------------------------------------------------------------------
// reader

/** One safetensors file (or buffer). The header is validated on open; tensors are read on demand. */
export class SafetensorsReader implements TensorSource {
  readonly file: string;
  readonly fileSize: number;
  readonly headerLength: number;
  /** absolute file offset of the data section */
  readonly dataStart: number;
  readonly metadata: Record<string, string>;
  private readonly map = new Map<string, TensorEntry>();
  private src: ByteSource;

  private constructor(src: ByteSource, file: string) {
    this.src = src;
    this.file = file;
    this.fileSize = src.size;
    const fail = (msg: string): never => {
      throw new SafetensorsError(`${file}: ${msg}`);
    };
    if (src.size < 8) fail(`file is ${src.size} bytes, too short to hold a safetensors header`);
    const lenBytes = new Uint8Array(8);
    src.readInto(0, lenBytes);
    if (lenBytes[0] === 0x50 && lenBytes[1] === 0x4b && lenBytes[2] === 0x03 && lenBytes[3] === 0x04) {
      fail(
        "this is a zip archive (PyTorch's pytorch_model.bin format), not safetensors: convert it, or download model.safetensors",
      );
    }
    if (lenBytes[0] === 0x80 && lenBytes[1] >= 2 && lenBytes[1] <= 5)
      fail('this looks like a Python pickle (an old PyTorch checkpoint), not safetensors');
    const n = new DataView(lenBytes.buffer).getBigUint64(0, true);
    if (n < 2n) fail(`header length ${n} is too small (corrupt or not a safetensors file)`);
    if (n > BigInt(MAX_HEADER_BYTES))
      fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
    if (8n + n > BigInt(src.size))
      fail(`header length ${n} runs past the end of the ${src.size}-byte file (truncated?)`);
    this.headerLength = Number(n);
    this.dataStart = 8 + this.headerLength;
    const header = new Uint8Array(this.headerLength);
    src.readInto(8, header);
    const parsed = parseHeader(header, src.size - this.dataStart, file);
    this.metadata = parsed.metadata;
    for (const e of parsed.entries) this.map.set(e.name, e);
  }

  /** Open and validate a file; the caller must close() it. */
  static open(file: string): SafetensorsReader {
    const src = new FileSource(file);
    try {
      return new SafetensorsReader(src, file);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** Validate an in-memory safetensors image. */
  static fromBytes(bytes: Uint8Array, name = '<memory>'): SafetensorsReader {
    return new SafetensorsReader(new MemorySource(bytes), name);
  }

  get files(): string[] {
    return [this.file];
  }
  names(): string[] {
    return [...this.map.keys()];
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  entries(): TensorEntry[] {
    return [...this.map.values()];
  }

  entry(name: string): TensorEntry {
    const e = this.map.get(name);
    if (!e) throw new SafetensorsError(`${this.file}: no tensor "${name}"`);
    return e;
  }

  readRaw(name: string): Uint8Array {
    const e = this.entry(name);
    const out = new Uint8Array(e.end - e.begin);
    this.src.readInto(this.dataStart + e.begin, out);
    return out;
  }

  read(name: string): Float32Array {
    const e = this.entry(name);
    const what = `${this.file}: tensor "${name}"`;
    if (!FLOAT_DTYPES.includes(e.dtype)) {
      throw new SafetensorsError(
        `${what}: dtype ${e.dtype} is not supported here (only F32, F16 and BF16 weights are read)`,
      );
    }
    if (e.dtype === 'F32' && LITTLE_ENDIAN) {
      // read straight into the result: one buffer of exactly this tensor's size
      const out = new Float32Array(e.numel);
      this.src.readInto(this.dataStart + e.begin, new Uint8Array(out.buffer));
      return out;
    }
    return toFloat32(this.readRaw(name), e.dtype, e.numel, what);
  }

  readSlice(name: string, start: number, count: number): Float32Array {
    const e = this.entry(name);
    const what = `${this.file}: tensor "${name}"`;
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(count) ||
      start < 0 ||
      count < 0 ||
      start + count > e.numel
    ) {
      throw new SafetensorsError(`${what}: slice [${start}, ${start}+${count}) is outside its ${e.numel} elements`);
    }
    if (!FLOAT_DTYPES.includes(e.dtype)) {
      throw new SafetensorsError(
        `${what}: dtype ${e.dtype} is not supported here (only F32, F16 and BF16 weights are read)`,
      );
    }
    const size = DTYPE_BYTES[e.dtype];
    const raw = new Uint8Array(count * size);
    this.src.readInto(this.dataStart + e.begin + start * size, raw);
    return toFloat32(raw, e.dtype, count, what);
  }

  close(): void {
    this.src.close();
  }
}

/** Read every float tensor of a file (or those `filter` keeps) into memory. */
export function readSafetensors(
  file: string,
  filter: (e: TensorEntry) => boolean = () => true,
): Map<string, { dtype: DType; shape: number[]; data: Float32Array }> {
  const r = SafetensorsReader.open(file);
  try {
    const out = new Map<string, { dtype: DType; shape: number[]; data: Float32Array }>();
    for (const e of r.entries())
      if (filter(e)) out.set(e.name, { dtype: e.dtype, shape: e.shape, data: r.read(e.name) });
    return out;
  } finally {
    r.close();
  }
}

// ---------------------------------------------------------------------------------------------
// writer

export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
}

function checkWritable(tensors: TensorToWrite[], metadata: Record<string, string> | undefined, file: string) {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (typeof t.name !== 'string' || t.name.length === 0)
      throw new SafetensorsError(`${file}: every tensor needs a non-empty name`);
    if (t.name === '__metadata__') throw new SafetensorsError(`${file}: "__metadata__" cannot be a tensor name`);
    if (seen.has(t.name)) throw new SafetensorsError(`${file}: tensor "${t.name}" given twice`);
    seen.add(t.name);
    if (!(t.data instanceof Float32Array))
      throw new SafetensorsError(`${file}: tensor "${t.name}": data must be a Float32Array`);
    let numel = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0)
        throw new SafetensorsError(`${file}: tensor "${t.name}": bad shape ${show(t.shape)}`);
      numel *= d;
    }
    if (numel !== t.data.length)
      throw new SafetensorsError(
        `${file}: tensor "${t.name}": shape ${show(t.shape)} has ${numel} elements but data has ${t.data.length}`,
      );
  }
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`${file}: metadata "${k}" must be a string`);
    }
  }
}

/** The 8-byte length plus the JSON header, padded with spaces to a multiple of 8 bytes. */
export function encodeHeader(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  // built by hand so that keys keep the given order (a JS object would move integer-like keys first)
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length) {
    const m = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"__metadata__":{${m.join(',')}}`);
  }
  let at = 0;
  for (const t of tensors) {
    const bytes = t.data.length * 4;
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":"F32","shape":${JSON.stringify(t.shape)},"data_offsets":[${at},${at + bytes}]}`,
    );
    at += bytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

function f32Bytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(4 * i, data[i], true);
  return out;
}

export interface RawTensor {
  name: string;
  dtype: DType;
  shape: number[];
  /** little-endian bytes, exactly numel x dtype size */
  bytes: Uint8Array;
}

/**
 * A safetensors image of tensors in any dtype, from their raw bytes, in the given order. Checks
 * names, shapes and byte counts; used for tests and for writing what the F32 writer cannot.
 */
export function encodeSafetensorsRaw(tensors: RawTensor[], metadata?: Record<string, string>): Uint8Array {
  const seen = new Set<string>();
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length) {
    const m = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== 'string') throw new SafetensorsError(`<memory>: metadata "${k}" must be a string`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`"__metadata__":{${m.join(',')}}`);
  }
  let at = 0;
  for (const t of tensors) {
    if (!t.name || t.name === '__metadata__' || seen.has(t.name))
      throw new SafetensorsError(`<memory>: bad or repeated tensor name ${show(t.name)}`);
    seen.add(t.name);
    if (!Object.hasOwn(DTYPE_BYTES, t.dtype))
      throw new SafetensorsError(`<memory>: tensor "${t.name}": unknown dtype ${show(t.dtype)}`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (
      !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      numel * DTYPE_BYTES[t.dtype] !== t.bytes.byteLength
    ) {
      throw new SafetensorsError(
        `<memory>: tensor "${t.name}": ${t.bytes.byteLength} bytes do not fit shape ${show(t.shape)} of ${t.dtype}`,
      );
    }
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${at},${at + t.bytes.byteLength}]}`,
    );
    at += t.bytes.byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded + at);
  out.fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  let o = 8 + padded;
  for (const t of tensors) {
    out.set(t.bytes, o);
    o += t.bytes.byteLength;
  }
  return out;
}

/**
 * The first key that occurs twice at the top level of a well-formed JSON object's text, if any
 * (JSON.parse keeps the last silently, and the tensor it dropped would then look like a hole).
 */
export function duplicateKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
    else if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (/\s/.test(text[k])) k++;
        if (text[k] === ':') {
          const key = JSON.parse(text.slice(i, j + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
      i = j;
    }
  }
  return undefined;
}

/** A whole safetensors image in memory (F32). For small data and tests; files use writeSafetensors. */
export function encodeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  checkWritable(tensors, metadata, '<memory>');
  const header = encodeHeader(tensors, metadata);
  const total = header.byteLength + tensors.reduce((s, t) => s + t.data.byteLength, 0);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let at = header.byteLength;
  for (const t of tensors) {
    out.set(f32Bytes(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Write tensors as F32 safetensors, in the given order, atomically (temporary file, fsync,
 * rename). Tensor data is streamed from the arrays; nothing is concatenated in memory.
 */
export function writeSafetensors(file: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  checkWritable(tensors, metadata, file);
  const header = encodeHeader(tensors, metadata);
  writeFileAtomicWith(file, (fd) => {
    writeAll(fd, header);
    for (const t of tensors) writeAll(fd, f32Bytes(t.data));
  });
}

// ---------------------------------------------------------------------------------------------
// sharded checkpoints

export const INDEX_NAME = 'model.safetensors.index.json';

export interface ShardedIndex {
  file: string;
  metadata: Record<string, unknown>;
  /** tensor name -> shard file name (relative to the index's directory) */
  weightMap: Map<string, string>;
  /** distinct shard file names, in first-use order */
  shards: string[];
}

/** Read and validate a model.safetensors.index.json. */
export function readShardedIndex(indexFile: string): ShardedIndex {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${indexFile}: ${msg}`);
  };
  const size = fs.statSync(indexFile).size;
  if (size > MAX_HEADER_BYTES) fail(`index is ${size} bytes, larger than the ${MAX_HEADER_BYTES}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  } catch (e) {
    fail(`not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) fail('must be a JSON object with a "weight_map"');
  const j = json as Record<string, unknown>;
  const metadata = j.metadata === undefined ? {} : j.metadata;
  if (!isPlainObject(metadata)) fail('"metadata" must be an object');
  if (!isPlainObject(j.weight_map)) fail('"weight_map" must be an object mapping tensor names to shard files');
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  for (const [name, shard] of Object.entries(j.weight_map as Record<string, unknown>)) {
    if (typeof shard !== 'string') fail(`tensor "${name}": shard must be a file name, got ${show(shard)}`);
    const s = shard as string;
    // a bare file name in the same directory: no path separators, no "..", no absolute paths
    if (
      s === '' ||
      s === '.' ||
      s === '..' ||
      s.includes('/') ||
      s.includes('\\') ||
      s.includes('\0') ||
      path.basename(s) !== s
    ) {
      fail(`tensor "${name}": shard ${show(s)} must be a plain file name in the same directory`);
    }
    if (!s.endsWith('.safetensors')) fail(`tensor "${name}": shard ${show(s)} is not a .safetensors file`);
    weightMap.set(name, s);
    if (!shards.includes(s)) shards.push(s);
  }
  if (weightMap.size === 0) fail('"weight_map" is empty');
  return { file: indexFile, metadata: metadata as Record<string, unknown>, weightMap, shards };
}

class ShardedSource implements TensorSource {
  readonly files: string[];
  private readonly byName = new Map<string, SafetensorsReader>();
  private readonly readers: SafetensorsReader[] = [];

  constructor(readonly index: ShardedIndex) {
    const dir = path.dirname(index.file);
    this.files = index.shards.map((s) => path.join(dir, s));
    try {
      for (const f of this.files) {
        if (!fs.existsSync(f))
          throw new SafetensorsError(`${index.file}: shard ${path.basename(f)} is missing (looked for ${f})`);
      }
      for (const f of this.files) {
        const r = SafetensorsReader.open(f);
        this.readers.push(r);
        for (const name of r.names()) {
          const want = index.weightMap.get(name);
          if (want === undefined)
            throw new SafetensorsError(`${f}: tensor "${name}" is not listed in ${path.basename(index.file)}`);
          if (want !== path.basename(f))
            throw new SafetensorsError(
              `${f}: tensor "${name}" is listed in ${path.basename(index.file)} as being in ${want}`,
            );
          this.byName.set(name, r);
        }
      }
      for (const [name, shard] of index.weightMap) {
        if (!this.byName.has(name))
          throw new SafetensorsError(
            `${index.file}: tensor "${name}" is listed in ${shard} but that shard does not contain it`,
          );
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }
  names(): string[] {
    return this.readers.flatMap((r) => r.names());
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  private reader(name: string): SafetensorsReader {
    const r = this.byName.get(name);
    if (!r) throw new SafetensorsError(`${this.index.file}: no tensor "${name}"`);
    return r;
  }
  entry(name: string): TensorEntry {
    return this.reader(name).entry(name);
  }
  read(name: string): Float32Array {
    return this.reader(name).read(name);
  }
  readRaw(name: string): Uint8Array {
    return this.reader(name).readRaw(name);
  }
  readSlice(name: string, start: number, count: number): Float32Array {
    return this.reader(name).readSlice(name, start, count);
  }
  close(): void {
    for (const r of this.readers) r.close();
  }
}

/** Open a sharded checkpoint from its index file, validating the index against every shard. */
export function openSharded(indexFile: string): TensorSource {
  return new ShardedSource(readShardedIndex(indexFile));
}
