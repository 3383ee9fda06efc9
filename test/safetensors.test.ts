// safetensors reader/writer: the fixtures, exact F16/BF16 widening, the writer's bytes, sharded
// indexes, and a seeded fuzz of the reader's distrust.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getFloat16 } from '@petamoriken/float16';
import {
  DTYPE_BYTES,
  INDEX_NAME,
  MAX_HEADER_BYTES,
  SafetensorsError,
  SafetensorsReader,
  encodeSafetensors,
  encodeSafetensorsRaw,
  f16ToF32Table,
  openSharded,
  readSafetensors,
  writeSafetensors,
  type DType,
  type RawTensor,
} from '../src/io/safetensors.ts';
import { randn, rng } from './helpers.ts';

const REF = path.join(import.meta.dirname, 'fixtures', 'gpt2-reference');
const HOT = path.join(REF, 'hot-plain-f32', 'model.safetensors');
const TINY = path.join(REF, 'tiny-prefixed-f16', 'model.safetensors');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'st-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
const expectBitsEqual = (got: Float32Array, want: Float32Array, what = '') => {
  expect(got.length, what).toBe(want.length);
  const g = bits(got),
    w = bits(want);
  for (let i = 0; i < w.length; i++)
    if (g[i] !== w[i]) expect.fail(`${what} element ${i}: bits ${g[i].toString(16)} != ${w[i].toString(16)}`);
};
const f32bytes = (a: Float32Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

/** Expect `fn` to throw a SafetensorsError whose message matches `re`. */
function expectStError(fn: () => unknown, re: RegExp) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected an error matching ${re}`).toBeInstanceOf(SafetensorsError);
  expect((err as Error).message).toMatch(re);
}

describe('reading the fixtures', () => {
  it('reads hot-plain-f32: plain keys, F32, the old attention buffers, metadata', () => {
    const r = SafetensorsReader.open(HOT);
    try {
      expect(r.metadata).toEqual({ format: 'pt' });
      expect(r.dataStart % 8).toBe(0);
      expect(r.names()).toContain('h.0.attn.bias');
      expect(r.names()).toContain('h.1.attn.masked_bias');
      expect(r.entry('h.0.attn.bias').shape).toEqual([1, 1, 128, 128]);
      expect(r.entry('h.0.attn.masked_bias').shape).toEqual([]);
      expect(r.entry('h.0.attn.masked_bias').numel).toBe(1);
      expect(r.read('h.0.attn.masked_bias').length).toBe(1);
      const wte = r.read('wte.weight');
      expect(r.entry('wte.weight')).toMatchObject({ dtype: 'F32', shape: [2053, 64] });
      expect(wte.length).toBe(2053 * 64);
      // the same bytes, decoded independently
      const raw = r.readRaw('wte.weight');
      const dv = new DataView(raw.buffer);
      for (let i = 0; i < wte.length; i += 997) expect(wte[i]).toBe(dv.getFloat32(4 * i, true));
    } finally {
      r.close();
    }
  });

  it('reads tiny-prefixed-f16: F16 values equal their exact float32 widening', () => {
    const r = SafetensorsReader.open(TINY);
    try {
      expect(r.names().every((n) => n.startsWith('transformer.'))).toBe(true);
      let checked = 0;
      for (const e of r.entries()) {
        expect(e.dtype).toBe('F16');
        const got = r.read(e.name);
        const raw = new Uint16Array(r.readRaw(e.name).buffer);
        // every distinct half pattern widened by @petamoriken/float16 (getFloat16 per element is slow)
        const want = new Float32Array(e.numel);
        const widened = new Map<number, number>();
        const dv = new DataView(new ArrayBuffer(2));
        for (let i = 0; i < e.numel; i++) {
          let v = widened.get(raw[i]);
          if (v === undefined) {
            dv.setUint16(0, raw[i], true);
            v = getFloat16(dv, 0, true);
            widened.set(raw[i], v);
          }
          want[i] = v;
        }
        expectBitsEqual(got, want, e.name);
        checked += e.numel;
      }
      expect(checked).toBeGreaterThan(50257 * 64);
    } finally {
      r.close();
    }
  });

  it('readSlice reads part of a tensor, checked against its bounds', () => {
    for (const file of [HOT, TINY]) {
      const r = SafetensorsReader.open(file);
      try {
        const name = r.names().find((n) => n.endsWith('wte.weight'))!;
        const all = r.read(name);
        expectBitsEqual(r.readSlice(name, 12345, 6789), all.subarray(12345, 12345 + 6789), name);
        expect(r.readSlice(name, all.length, 0).length).toBe(0);
        expectStError(() => r.readSlice(name, all.length - 1, 2), /slice \[\d+, \d+\+2\) is outside its \d+ elements/);
        expectStError(() => r.readSlice(name, -1, 1), /is outside/);
      } finally {
        r.close();
      }
    }
    const r = SafetensorsReader.fromBytes(
      encodeSafetensorsRaw([{ name: 'i', dtype: 'I32', shape: [2], bytes: new Uint8Array(8) }]),
    );
    expectStError(() => r.readSlice('i', 0, 1), /dtype I32 is not supported/);
  });

  it('readSafetensors reads everything or what the filter keeps', () => {
    const all = readSafetensors(HOT);
    expect(all.size).toBe(32);
    const some = readSafetensors(HOT, (e) => !/^h\.\d+\.attn\.(bias|masked_bias)$/.test(e.name));
    expect(some.size).toBe(28);
    expectBitsEqual(some.get('wpe.weight')!.data, all.get('wpe.weight')!.data);
  });
});

describe('float conversion', () => {
  it('the F16 table is the exact widening of all 65536 half values', () => {
    const t = f16ToF32Table();
    const dv = new DataView(new ArrayBuffer(2));
    for (let h = 0; h < 65536; h++) {
      dv.setUint16(0, h, true);
      const want = getFloat16(dv, 0, true);
      if (Number.isNaN(want)) {
        expect(Number.isNaN(t[h])).toBe(true);
        continue;
      }
      if (t[h] !== want || Object.is(t[h], -0) !== Object.is(want, -0))
        expect.fail(`half 0x${h.toString(16)}: ${t[h]} != ${want}`);
    }
  });

  it('reads BF16 as the top 16 bits of a float32, and F16 specials exactly', () => {
    const vals = [0, -0, 1, -2.5, 3.140625, Infinity, -Infinity, 1e-40, 65504, 1.1754943508222875e-38];
    const bf = new Uint16Array(vals.length);
    const f32 = new Float32Array(vals);
    for (let i = 0; i < vals.length; i++) bf[i] = bits(f32)[i] >>> 16;
    const f16 = new Uint16Array([0x0000, 0x8000, 0x3c00, 0xc100, 0x7bff, 0x7c00, 0xfc00, 0x0001, 0x03ff, 0x7e00]);
    const img = encodeSafetensorsRaw([
      { name: 'b', dtype: 'BF16', shape: [vals.length], bytes: new Uint8Array(bf.buffer) },
      { name: 'h', dtype: 'F16', shape: [2, 5], bytes: new Uint8Array(f16.buffer) },
    ]);
    const r = SafetensorsReader.fromBytes(img);
    const b = r.read('b');
    for (let i = 0; i < vals.length; i++) expect(bits(b)[i]).toBe((bf[i] << 16) >>> 0);
    expect(b[3]).toBe(-2.5);
    const h = r.read('h');
    expect(Array.from(h.slice(0, 9))).toEqual([0, -0, 1, -2.5, 65504, Infinity, -Infinity, 2 ** -24, 1023 * 2 ** -24]);
    expect(Object.is(h[1], -0)).toBe(true);
    expect(Number.isNaN(h[9])).toBe(true);
  });

  it('recognises other dtypes in the header but refuses to read them as floats', () => {
    const img = encodeSafetensorsRaw([
      { name: 'ids', dtype: 'I64', shape: [3], bytes: new Uint8Array(24) },
      { name: 'mask', dtype: 'BOOL', shape: [2, 2], bytes: new Uint8Array(4) },
      { name: 'x', dtype: 'F64', shape: [1], bytes: new Uint8Array(8) },
      { name: 'ok', dtype: 'F32', shape: [1], bytes: new Uint8Array(4) },
    ]);
    const r = SafetensorsReader.fromBytes(img, 'mixed.safetensors');
    expect(r.entry('ids').dtype).toBe('I64');
    expect(r.readRaw('mask').length).toBe(4);
    expectStError(() => r.read('ids'), /mixed\.safetensors: tensor "ids": dtype I64 is not supported/);
    expectStError(() => r.read('x'), /tensor "x": dtype F64 is not supported/);
    expectStError(() => r.read('nope'), /no tensor "nope"/);
    expect(r.read('ok')[0]).toBe(0);
  });
});

describe('writer', () => {
  const special = new Float32Array([
    0,
    -0,
    1,
    -1,
    Infinity,
    -Infinity,
    NaN,
    1e-45,
    3.4028234663852886e38,
    1.401298464324817e-45,
    -1.17549435e-38,
  ]);
  // a NaN with a payload, which must survive bit for bit
  bits(special)[6] = 0x7fc12345;
  const tensors = () => [
    { name: 'b.weight', shape: [3, 5], data: randn(15, 1) },
    { name: '10', shape: [special.length], data: special },
    { name: 'a.bias', shape: [7], data: randn(7, 2) },
    { name: 'scalar', shape: [], data: new Float32Array([42]) },
    { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
    { name: 'ünïcödé', shape: [2], data: new Float32Array([1, 2]) },
  ];

  it('writes F32 with a space-padded 8-byte-aligned header, in order, re-read bit for bit', () => {
    const file = path.join(tmp, 'w.safetensors');
    const ts = tensors();
    writeSafetensors(file, ts, { format: 'pt', note: 'x"y' });
    const bytes = new Uint8Array(fs.readFileSync(file));
    // the file is the in-memory encoding, byte for byte
    expect(Buffer.compare(bytes, encodeSafetensors(ts, { format: 'pt', note: 'x"y' }))).toBe(0);
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const headerText = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
    expect(headerText).toMatch(/^\{.*\} *$/);
    const header = JSON.parse(headerText);
    expect(header.__metadata__).toEqual({ format: 'pt', note: 'x"y' });
    // key order preserved, even for an integer-like name
    const order = [...headerText.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
    expect(order).toEqual(ts.map((t) => t.name));
    // data section is the tensors' bytes back to back
    let at = 8 + n;
    for (const t of ts) {
      expect(header[t.name]).toEqual({
        dtype: 'F32',
        shape: t.shape,
        data_offsets: [at - 8 - n, at - 8 - n + t.data.byteLength],
      });
      expect(Buffer.compare(bytes.subarray(at, at + t.data.byteLength), f32bytes(t.data))).toBe(0);
      at += t.data.byteLength;
    }
    expect(at).toBe(bytes.length);
    const r = SafetensorsReader.open(file);
    try {
      for (const t of ts) {
        expect(r.entry(t.name).shape).toEqual(t.shape);
        expectBitsEqual(r.read(t.name), t.data, t.name);
      }
    } finally {
      r.close();
    }
    // writing again gives the same bytes
    writeSafetensors(file, ts, { format: 'pt', note: 'x"y' });
    expect(Buffer.compare(new Uint8Array(fs.readFileSync(file)), bytes)).toBe(0);
  });

  it('replaces atomically and leaves no temporary files, also when it refuses', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'atomic-'));
    const file = path.join(dir, 'm.safetensors');
    writeSafetensors(file, [{ name: 'x', shape: [2], data: new Float32Array([1, 2]) }]);
    const before = fs.readFileSync(file);
    writeSafetensors(file, [{ name: 'y', shape: [1], data: new Float32Array([3]) }]);
    const r = SafetensorsReader.open(file);
    expect(r.names()).toEqual(['y']);
    r.close();
    expect(fs.readdirSync(dir)).toEqual(['m.safetensors']);
    writeSafetensors(file, [{ name: 'x', shape: [2], data: new Float32Array([1, 2]) }]);
    expect(() => writeSafetensors(file, [{ name: 'x', shape: [3], data: new Float32Array([1, 2]) }])).toThrow(
      /shape \[3\] has 3 elements but data has 2/,
    );
    expect(() =>
      writeSafetensors(file, [
        { name: 'x', shape: [1], data: new Float32Array(1) },
        { name: 'x', shape: [1], data: new Float32Array(1) },
      ]),
    ).toThrow(/given twice/);
    expect(() => writeSafetensors(file, [{ name: '__metadata__', shape: [1], data: new Float32Array(1) }])).toThrow(
      /cannot be a tensor name/,
    );
    expect(() => writeSafetensors(path.join(dir, 'no', 'such', 'dir', 'f.safetensors'), [])).toThrow();
    expect(Buffer.compare(fs.readFileSync(file), before)).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['m.safetensors']);
  });
});

describe('sharded checkpoints', () => {
  function makeSharded(dir: string, index: unknown, shards: Record<string, { name: string; data: Float32Array }[]>) {
    fs.mkdirSync(dir, { recursive: true });
    for (const [f, ts] of Object.entries(shards))
      writeSafetensors(
        path.join(dir, f),
        ts.map((t) => ({ ...t, shape: [t.data.length] })),
      );
    fs.writeFileSync(path.join(dir, INDEX_NAME), JSON.stringify(index));
  }
  const A = 'model-00001-of-00002.safetensors',
    B = 'model-00002-of-00002.safetensors';
  const shards = {
    [A]: [{ name: 'x', data: new Float32Array([1, 2]) }],
    [B]: [
      { name: 'y', data: new Float32Array([3]) },
      { name: 'z', data: new Float32Array([4, 5, 6]) },
    ],
  };

  it('reads tensors across shards through the index', () => {
    const dir = path.join(tmp, 'sharded-ok');
    makeSharded(dir, { metadata: { total_size: 24 }, weight_map: { x: A, y: B, z: B } }, shards);
    const s = openSharded(path.join(dir, INDEX_NAME));
    try {
      expect(s.names().sort()).toEqual(['x', 'y', 'z']);
      expect(s.files.map((f) => path.basename(f))).toEqual([A, B]);
      expect(Array.from(s.read('z'))).toEqual([4, 5, 6]);
      expect(s.entry('x').file).toBe(path.join(dir, A));
    } finally {
      s.close();
    }
  });

  it('rejects indexes that disagree with their shards or point outside the directory', () => {
    const cases: [string, unknown, RegExp][] = [
      ['traversal', { weight_map: { x: `../${A}`, y: B, z: B } }, /must be a plain file name/],
      ['absolute', { weight_map: { x: '/etc/passwd.safetensors', y: B, z: B } }, /must be a plain file name/],
      ['not safetensors', { weight_map: { x: 'model.bin', y: B, z: B } }, /not a \.safetensors file/],
      [
        'missing shard',
        { weight_map: { x: A, y: B, z: 'model-3.safetensors' } },
        /shard model-3\.safetensors is missing/,
      ],
      [
        'wrong shard',
        { weight_map: { x: A, y: A, z: B } },
        /model-00002-of-00002\.safetensors: tensor "y" is listed in model\.safetensors\.index\.json as being in model-00001/,
      ],
      [
        'shard without its tensors',
        { weight_map: { x: B, y: B, z: B } },
        /tensor "x" is listed in model-00002-of-00002\.safetensors but that shard does not contain it/,
      ],
      ['unlisted', { weight_map: { x: A, y: B } }, /tensor "z" is not listed/],
      [
        'listed but absent',
        { weight_map: { x: A, y: B, z: B, w: A } },
        /tensor "w" is listed in .* but that shard does not contain it/,
      ],
      ['no weight_map', { metadata: {} }, /"weight_map" must be an object/],
      ['empty', { weight_map: {} }, /"weight_map" is empty/],
      ['array', [1, 2], /must be a JSON object/],
      ['non-string shard', { weight_map: { x: 3 } }, /shard must be a file name/],
    ];
    for (const [what, index, re] of cases) {
      const dir = path.join(tmp, `sharded-${what.replace(/ /g, '-')}`);
      makeSharded(dir, index, shards);
      expectStError(() => openSharded(path.join(dir, INDEX_NAME)), re);
    }
    const dir = path.join(tmp, 'sharded-badjson');
    makeSharded(dir, {}, shards);
    fs.writeFileSync(path.join(dir, INDEX_NAME), '{"weight_map": ');
    expectStError(() => openSharded(path.join(dir, INDEX_NAME)), /not valid JSON/);
  });
});

// -----------------------------------------------------------------------------------------------
// hostile input

/** A small valid image with several dtypes, to mutate. */
function baseImage(): Uint8Array {
  const r = rng(99);
  const rand = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
    return b;
  };
  const ts: RawTensor[] = [
    { name: 'wte.weight', dtype: 'F32', shape: [6, 4], bytes: f32bytes(randn(24, 5)) },
    { name: 'h.0.attn.c_attn.weight', dtype: 'F16', shape: [4, 3], bytes: rand(24) },
    { name: 'h.0.ln_1.bias', dtype: 'BF16', shape: [4], bytes: rand(8) },
    { name: 'scalar', dtype: 'F32', shape: [], bytes: f32bytes(new Float32Array([7])) },
    { name: 'ids', dtype: 'I32', shape: [2], bytes: rand(8) },
    { name: 'ln_f.weight', dtype: 'F32', shape: [4], bytes: f32bytes(randn(4, 6)) },
  ];
  return encodeSafetensorsRaw(ts, { format: 'pt' });
}

/** An image from a header object/string and a data section. */
function imageFrom(header: unknown, data: Uint8Array, rawHeader?: string): Uint8Array {
  const json = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: the tests corrupt the JSON header freely
function split(img: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const n = Number(new DataView(img.buffer, img.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(Buffer.from(img.subarray(8, 8 + n)).toString('utf8')), data: img.slice(8 + n) };
}

/**
 * Open and read everything. Returns 'error' when a SafetensorsError was thrown (any other kind of
 * exception fails the test); on success checks the result against an independent decode of the
 * bytes, so that a success can never carry wrong data.
 */
function outcome(img: Uint8Array, name = 'fuzz.safetensors'): 'error' | 'ok' {
  let r: SafetensorsReader;
  try {
    r = SafetensorsReader.fromBytes(img, name);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw new Error(`not a SafetensorsError: ${(e as Error)?.stack ?? e}`);
    expect((e as Error).message.startsWith(`${name}: `)).toBe(true);
    return 'error';
  }
  const n = Number(new DataView(img.buffer, img.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(img.subarray(8, 8 + n)).toString('utf8'));
  const dataStart = 8 + n;
  let covered = 0;
  for (const e of r.entries()) {
    const h = header[e.name];
    expect(e.dtype).toBe(h.dtype);
    expect(e.shape).toEqual(h.shape);
    expect([e.begin, e.end]).toEqual(h.data_offsets);
    expect(e.end - e.begin).toBe(e.shape.reduce((a: number, b: number) => a * b, 1) * DTYPE_BYTES[e.dtype as DType]);
    expect(dataStart + e.end).toBeLessThanOrEqual(img.length);
    covered += e.end - e.begin;
    const raw = img.subarray(dataStart + e.begin, dataStart + e.end);
    expect(Buffer.compare(r.readRaw(e.name), raw)).toBe(0);
    if (e.dtype === 'F32' || e.dtype === 'F16' || e.dtype === 'BF16') {
      const got = r.read(e.name);
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < e.numel; i++) {
        const want: number =
          e.dtype === 'F32'
            ? dv.getFloat32(4 * i, true)
            : e.dtype === 'F16'
              ? getFloat16(dv, 2 * i, true)
              : new Float32Array(new Uint32Array([dv.getUint16(2 * i, true) << 16]).buffer)[0];
        if (!(Object.is(got[i], want) || (Number.isNaN(got[i]) && Number.isNaN(want))))
          expect.fail(`${e.name}[${i}] = ${got[i]}, bytes say ${want}`);
      }
    } else {
      expectStError(() => r.read(e.name), /is not supported/);
    }
  }
  expect(covered).toBe(img.length - dataStart); // the tensors tile the data section
  return 'ok';
}

describe('hostile input', () => {
  const base = baseImage();
  const { header, data } = split(base);

  it('accepts the unmutated image', () => {
    expect(outcome(base)).toBe('ok');
  });

  it('rejects each kind of malformed file with a message naming the file and the tensor', () => {
    const setLen = (img: Uint8Array, n: bigint) => {
      const c = img.slice();
      new DataView(c.buffer).setBigUint64(0, n, true);
      return c;
    };
    // biome-ignore lint/suspicious/noExplicitAny: the tests corrupt the JSON header freely
    const mod = (f: (h: Record<string, any>) => void, d = data) => {
      const h = structuredClone(header);
      f(h);
      return imageFrom(h, d);
    };
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty file', new Uint8Array(0), /too short/],
      ['7 bytes', base.slice(0, 7), /too short/],
      ['length 0', setLen(base, 0n), /header length 0 is too small/],
      ['huge length', setLen(base, 1n << 62n), /exceeds the 100000000-byte limit/],
      ['"negative" length', setLen(base, 0xffffffffffffffffn), /exceeds/],
      ['length past the end', setLen(base, BigInt(base.length)), /runs past the end/],
      [
        'a zip (pytorch_model.bin renamed)',
        new Uint8Array([0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 8, 0]),
        /a zip archive \(PyTorch's pytorch_model\.bin format\), not safetensors/,
      ],
      ['a pickle', new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20]), /a Python pickle/],
      ['length just under the limit, past the end', setLen(base, BigInt(MAX_HEADER_BYTES)), /runs past the end/],
      ['not JSON', imageFrom(null, data, '{"a": nope}'), /header is not valid JSON/],
      ['JSON array', imageFrom([1, 2], data), /header must be a JSON object, got an array/],
      ['not starting with {', imageFrom(null, data, ' {}'), /must start with "\{"/],
      [
        'garbage',
        imageFrom(null, data, 'PK\u0003\u0004'),
        /not valid JSON .*does not start with "\{": not a safetensors file/,
      ],
      [
        'invalid UTF-8',
        imageFrom(null, data, '{"ab": 1}').map((b, i) => (i === 10 ? 0xff : b)),
        /header is not valid UTF-8/,
      ],
      [
        'unknown dtype',
        mod((h) => {
          h['wte.weight'].dtype = 'F12';
        }),
        /tensor "wte\.weight": unknown dtype "F12"/,
      ],
      [
        'sub-byte dtype',
        mod((h) => {
          h['wte.weight'].dtype = 'F4';
        }),
        /tensor "wte\.weight": dtype F4 \(packed, under a byte per element\) is not supported/,
      ],
      [
        'dtype not a string',
        mod((h) => {
          h['wte.weight'].dtype = 4;
        }),
        /tensor "wte\.weight": "dtype" must be a string/,
      ],
      [
        'shape inconsistent',
        mod((h) => {
          h['wte.weight'].shape = [6, 5];
        }),
        /tensor "wte\.weight": data_offsets \[0, 96\] span 96 bytes but shape \[6,5\] of F32 needs 30 x 4 = 120/,
      ],
      [
        'negative dim',
        mod((h) => {
          h['wte.weight'].shape = [-6, -4];
        }),
        /tensor "wte\.weight": shape \[-6,-4\] has a dimension/,
      ],
      [
        'fractional dim',
        mod((h) => {
          h['wte.weight'].shape = [12, 2.0001];
        }),
        /has a dimension that is not a non-negative integer/,
      ],
      [
        'shape overflow',
        mod((h) => {
          h['wte.weight'].shape = [2 ** 30, 2 ** 30, 2 ** 30];
        }),
        /is too large/,
      ],
      [
        'shape not array',
        mod((h) => {
          h['wte.weight'].shape = '6,4';
        }),
        /"shape" must be an array/,
      ],
      [
        'offsets overlapping',
        mod((h) => {
          h['h.0.attn.c_attn.weight'].data_offsets = [80, 104];
          h['wte.weight'].data_offsets = [0, 96];
        }),
        /overlaps tensor "wte\.weight"/,
      ],
      [
        'offsets out of range',
        mod((h) => {
          h['ln_f.weight'].data_offsets = [h['ln_f.weight'].data_offsets[0] + 8, h['ln_f.weight'].data_offsets[1] + 8];
        }),
        /tensor "ln_f\.weight": data_offsets .* run past the data section/,
      ],
      [
        'offsets reversed',
        mod((h) => {
          h.scalar.data_offsets = h.scalar.data_offsets.slice().reverse();
        }),
        /tensor "scalar": data_offsets .* end before they begin/,
      ],
      [
        'offsets negative',
        mod((h) => {
          h.scalar.data_offsets = [-4, 0];
        }),
        /tensor "scalar": "data_offsets" must be two non-negative integers/,
      ],
      [
        'offsets not a pair',
        mod((h) => {
          h.scalar.data_offsets = [0, 4, 8];
        }),
        /tensor "scalar": "data_offsets" must be \[begin, end\]/,
      ],
      [
        'offsets as strings',
        mod((h) => {
          h.scalar.data_offsets = ['0', '4'];
        }),
        /two non-negative integers/,
      ],
      [
        'hole',
        mod((h) => {
          delete h.ids;
        }),
        /belong to no tensor \(before tensor "ln_f\.weight"\)/,
      ],
      [
        'trailing bytes',
        imageFrom(header, new Uint8Array([...data, 1, 2, 3, 4])),
        /the data section is \d+ bytes but the tensors end at \d+ \(trailing bytes/,
      ],
      ['truncated data', imageFrom(header, data.slice(0, data.length - 1)), /run past the data section/],
      [
        'entry not an object',
        mod((h) => {
          h.scalar = [0, 4];
        }),
        /tensor "scalar": entry must be an object/,
      ],
      [
        'metadata not strings',
        mod((h) => {
          h.__metadata__ = { format: 1 };
        }),
        /"__metadata__" value of "format" must be a string/,
      ],
      [
        'metadata an array',
        mod((h) => {
          h.__metadata__ = ['pt'];
        }),
        /"__metadata__" must be an object/,
      ],
      [
        'empty name',
        mod((h) => {
          h[''] = h.scalar;
          delete h.scalar;
        }),
        /empty name/,
      ],
      [
        'a key twice',
        imageFrom(null, data, JSON.stringify(header).replace(/^\{/, `{"scalar": ${JSON.stringify(header.scalar)}, `)),
        /header names "scalar" twice/,
      ],
      [
        'a key twice, spelled with an escape',
        imageFrom(
          null,
          data,
          JSON.stringify(header).replace(/^\{/, `{"sc\\u0061lar" : ${JSON.stringify(header.scalar)}, `),
        ),
        /header names "scalar" twice/,
      ],
    ];
    for (const [what, img, re] of cases) {
      let err: unknown;
      try {
        SafetensorsReader.fromBytes(img, 'bad.safetensors');
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(SafetensorsError);
      expect((err as Error).message, what).toMatch(/^bad\.safetensors: /);
      expect((err as Error).message, what).toMatch(re);
    }
  });

  it('fuzz: 600 seeded mutations each end in a SafetensorsError or a verified success', () => {
    const r = rng(20240611);
    const int = (n: number) => Math.floor(r() * n);
    const n = Number(new DataView(base.buffer).getBigUint64(0, true));
    const counts: Record<string, { error: number; ok: number }> = {};
    const tally = (kind: string, res: 'error' | 'ok') => {
      (counts[kind] ??= { error: 0, ok: 0 })[res]++;
    };
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const dtypes = Object.keys(DTYPE_BYTES);
    for (let i = 0; i < 600; i++) {
      const kind = ['flip-header', 'length-field', 'truncate', 'random', 'structured', 'flip-anywhere'][i % 6];
      let img: Uint8Array;
      let mustFail = true;
      switch (kind) {
        case 'flip-header': {
          // random bytes of the JSON header replaced (may still be valid: e.g. a changed name)
          img = base.slice();
          for (let k = 1 + int(6); k > 0; k--) img[8 + int(n)] = int(256);
          mustFail = false;
          break;
        }
        case 'length-field': {
          img = base.slice();
          const choices = [
            BigInt(int(n)),
            BigInt(n + 1 + int(base.length)),
            BigInt(int(2 ** 31)) << BigInt(int(33)),
            (1n << 64n) - 1n - BigInt(int(1000)),
            BigInt(base.length + int(100)),
          ];
          let v = choices[int(choices.length)];
          if (v === BigInt(n)) v += 1n;
          new DataView(img.buffer).setBigUint64(0, v, true);
          // a shorter length that only drops the header's padding spaces still fails: the tensors no longer tile the data
          break;
        }
        case 'truncate':
          img = base.slice(0, int(base.length));
          break;
        case 'random': {
          img = new Uint8Array(int(400));
          for (let k = 0; k < img.length; k++) img[k] = int(256);
          if (img.length >= 8 && r() < 0.5) new DataView(img.buffer).setBigUint64(0, BigInt(int(img.length)), true); // plausible length
          break;
        }
        case 'structured': {
          const h = structuredClone(header);
          const t = names[int(names.length)];
          const e = h[t];
          switch (int(9)) {
            case 0:
              e.dtype = r() < 0.5 ? dtypes[int(dtypes.length)] : `Q${int(99)}`;
              if (DTYPE_BYTES[e.dtype as DType] === DTYPE_BYTES[header[t].dtype as DType]) e.dtype = `X${e.dtype}`;
              break;
            case 1:
              e.shape = [...e.shape, 2 + int(5)];
              break;
            case 2:
              e.data_offsets = [e.data_offsets[0] - 1 - int(4), e.data_offsets[1] - 1 - int(4)];
              break;
            case 3:
              e.data_offsets = [e.data_offsets[0] + 1 + int(200), e.data_offsets[1] + 1 + int(200)];
              break;
            case 4:
              e.data_offsets = [e.data_offsets[0], e.data_offsets[1] + 1 + int(1e6)];
              break;
            case 5:
              delete e[['dtype', 'shape', 'data_offsets'][int(3)]];
              break;
            case 6:
              h[t] = [null, 1, 'x', true, {}][int(5)];
              break;
            case 7: {
              const o = h[names[int(names.length)]];
              if (o === e) {
                e.shape = [1e9];
              } else {
                e.data_offsets = o.data_offsets.slice();
                e.dtype = o.dtype;
                e.shape = o.shape.slice();
              }
              break;
            }
            case 8:
              e.shape = e.shape.length ? e.shape.map((d: number) => (r() < 0.5 ? d + 0.5 : -d - 1)) : [-1];
              break;
          }
          img = imageFrom(h, data);
          break;
        }
        default: {
          // a flip anywhere: in the data it changes values (a valid file), elsewhere it may break it
          img = base.slice();
          const at = int(img.length);
          img[at] ^= 1 << int(8);
          mustFail = at < 8; // any other header length is wrong
        }
      }
      const res = outcome(img);
      tally(kind, res);
      if (mustFail && res !== 'error') expect.fail(`case ${i} (${kind}) was accepted`);
    }
    // every kind was exercised, and the ones that cannot be valid all failed
    for (const k of ['length-field', 'truncate', 'random', 'structured']) expect(counts[k].ok, k).toBe(0);
    expect(counts['flip-header'].error).toBeGreaterThan(50);
  });

  it('refuses a FIFO or a directory without opening it (opening a FIFO blocks)', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'special-'));
    const fifo = path.join(dir, 'model.safetensors');
    execFileSync('mkfifo', [fifo]);
    expect(() => SafetensorsReader.open(fifo)).toThrow(/model\.safetensors: not a regular file/);
    expect(() => SafetensorsReader.open(dir)).toThrow(/not a regular file/);
  });

  it('fuzz through real files: truncations and flipped length fields of the hot fixture', () => {
    const full = new Uint8Array(fs.readFileSync(HOT));
    const r = rng(7);
    const dir = fs.mkdtempSync(path.join(tmp, 'fuzzfiles-'));
    for (let i = 0; i < 40; i++) {
      const file = path.join(dir, `f${i}.safetensors`);
      let img: Uint8Array;
      if (i % 2 === 0) img = full.subarray(0, Math.floor(r() * full.length));
      else {
        img = full.slice();
        img[Math.floor(r() * 8)] ^= 1 << Math.floor(r() * 8);
      }
      fs.writeFileSync(file, img);
      expectStError(
        () => SafetensorsReader.open(file),
        new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `),
      );
    }
    // and a directory or a missing path are plain errors, not crashes
    expect(() => SafetensorsReader.open(dir)).toThrow();
    expect(() => SafetensorsReader.open(path.join(dir, 'missing.safetensors'))).toThrow(/ENOENT/);
  });
});
