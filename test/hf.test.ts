// Hugging Face GPT-2 checkpoints: loading both fixture layouts, every refusal, and export/import.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getFloat16 } from '@petamoriken/float16';
import { hfShapes, loadHF, saveHF, type HFTensor } from '../src/io/hf.ts';
import {
  INDEX_NAME,
  SafetensorsReader,
  encodeSafetensorsRaw,
  writeSafetensors,
  type RawTensor,
} from '../src/io/safetensors.ts';
import { toHF, type GPT2Config } from '../src/model/config.ts';
import { randn } from './helpers.ts';

const REF = path.join(import.meta.dirname, 'fixtures', 'gpt2-reference');
const HOT = path.join(REF, 'hot-plain-f32');
const TINY = path.join(REF, 'tiny-prefixed-f16');
const TRAINED = path.join(REF, 'train', 'hot', 'checkpoint');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
function expectBitsEqual(got: Float32Array, want: Float32Array, what: string) {
  expect(got.length, what).toBe(want.length);
  const g = bits(got),
    w = bits(want);
  for (let i = 0; i < w.length; i++) if (g[i] !== w[i]) expect.fail(`${what} element ${i}: ${got[i]} != ${want[i]}`);
}

const HOT_CONFIG = JSON.parse(fs.readFileSync(path.join(HOT, 'config.json'), 'utf8'));
let hotRaw: RawTensor[]; // the hot checkpoint's tensors as stored, in file order

/** A checkpoint dir from raw tensors and a config object. */
function makeDir(name: string, tensors: RawTensor[], config: Record<string, unknown> | null = HOT_CONFIG): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  if (config) fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensorsRaw(tensors, { format: 'pt' }));
  return dir;
}
function expectLoadError(dir: string, re: RegExp) {
  expect(() => loadHF(dir)).toThrow(re);
}

beforeAll(() => {
  const r = SafetensorsReader.open(path.join(HOT, 'model.safetensors'));
  hotRaw = r.entries().map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, bytes: r.readRaw(e.name) }));
  r.close();
});

describe('loadHF on the fixtures', () => {
  it('hot-plain-f32: plain keys, F32, buffers skipped, shapes from the config, values as stored', () => {
    const m = loadHF(HOT);
    expect(m.config).toEqual({
      vocab_size: 2053,
      n_positions: 128,
      n_embd: 64,
      n_layer: 2,
      n_head: 4,
      padded_vocab_size: 2053,
      layer_norm_epsilon: 1e-5,
      eos_token_id: 2052,
    });
    expect([...m.tensors.keys()]).toEqual([...hfShapes(m.config).keys()]);
    expect(m.tensors.size).toBe(2 + 2 * 12 + 2);
    for (const [name, shape] of hfShapes(m.config)) expect(m.tensors.get(name)!.shape, name).toEqual(shape);
    expect(m.tensors.get('h.1.attn.c_attn.weight')!.shape).toEqual([64, 192]); // Conv1D: [in, out]
    expect(m.tensors.get('h.0.mlp.c_proj.weight')!.shape).toEqual([256, 64]);
    expect(m.source).toMatchObject({ prefixed: false, sharded: false, dtypes: ['F32'], lmHead: false });
    expect(m.source.skipped.sort()).toEqual([
      'h.0.attn.bias',
      'h.0.attn.masked_bias',
      'h.1.attn.bias',
      'h.1.attn.masked_bias',
    ]);
    for (const t of hotRaw) {
      if (/^h\.\d+\.attn\.(bias|masked_bias)$/.test(t.name)) {
        expect(m.tensors.has(t.name)).toBe(false);
        continue;
      }
      expectBitsEqual(m.tensors.get(t.name)!.data, new Float32Array(t.bytes.slice().buffer), t.name);
    }
  });

  it('tiny-prefixed-f16: "transformer." stripped, F16 widened exactly, the real vocabulary', () => {
    const m = loadHF(TINY);
    expect(m.config.vocab_size).toBe(50257);
    expect(m.source).toMatchObject({ prefixed: true, dtypes: ['F16'], skipped: [] });
    expect([...m.tensors.keys()]).toEqual([...hfShapes(m.config).keys()]);
    expect(m.tensors.get('wte.weight')!.shape).toEqual([50257, 64]);
    const r = SafetensorsReader.open(path.join(TINY, 'model.safetensors'));
    try {
      for (const name of ['wpe.weight', 'h.1.mlp.c_fc.weight', 'ln_f.bias', 'wte.weight']) {
        const raw = r.readRaw(`transformer.${name}`);
        const dv = new DataView(raw.buffer);
        const got = m.tensors.get(name)!.data;
        const step = name === 'wte.weight' ? 101 : 1;
        for (let i = 0; i < got.length; i += step)
          if (got[i] !== getFloat16(dv, 2 * i, true)) expect.fail(`${name}[${i}]`);
      }
    } finally {
      r.close();
    }
  });

  it('loads the trained checkpoint, and it differs from the initial one', () => {
    const a = loadHF(HOT),
      b = loadHF(TRAINED);
    expect(b.config).toEqual(a.config);
    const x = a.tensors.get('h.0.attn.c_attn.weight')!.data,
      y = b.tensors.get('h.0.attn.c_attn.weight')!.data;
    expect(x.some((v, i) => v !== y[i])).toBe(true);
  });
});

describe('loadHF refuses what it cannot load', () => {
  it('needs config.json', () => {
    const dir = makeDir('no-config', hotRaw, null);
    expectLoadError(dir, /no config\.json — a weights directory needs config\.json/);
    expectLoadError(path.join(tmp, 'does-not-exist'), /not a directory/);
  });

  it('needs model.safetensors', () => {
    const dir = path.join(tmp, 'bin-only');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(HOT_CONFIG));
    expectLoadError(dir, /no model\.safetensors \(or model\.safetensors\.index\.json\)$/);
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'x');
    expectLoadError(dir, /pytorch_model\.bin \(a pickle\) is not read/);
  });

  it('an lm_head.weight must equal wte.weight', () => {
    const wte = hotRaw.find((t) => t.name === 'wte.weight')!;
    const tied = makeDir('lm-head-tied', [...hotRaw, { ...wte, name: 'lm_head.weight' }]);
    const m = loadHF(tied);
    expect(m.source.lmHead).toBe(true);
    expect(m.source.skipped).toContain('lm_head.weight');
    expect(m.tensors.has('lm_head.weight')).toBe(false);

    const changed = wte.bytes.slice();
    changed[4 * 1000] ^= 1; // one bit of element 1000
    expectLoadError(
      makeDir('lm-head-untied', [...hotRaw, { ...wte, name: 'lm_head.weight', bytes: changed }]),
      /lm_head\.weight differs from wte\.weight \(first at element 1000\): an untied lm_head is not supported/,
    );
    expectLoadError(
      makeDir('lm-head-shape', [...hotRaw, { ...wte, name: 'lm_head.weight', shape: [64, 2053] }]),
      /lm_head\.weight has shape \[64,2053\], wte\.weight \[2053,64\]: an untied lm_head is not supported/,
    );
  });

  it('compares a large lm_head chunk by chunk (F16, the real vocabulary)', () => {
    const r = SafetensorsReader.open(path.join(TINY, 'model.safetensors'));
    const tinyRaw: RawTensor[] = r
      .entries()
      .map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, bytes: r.readRaw(e.name) }));
    r.close();
    const config = JSON.parse(fs.readFileSync(path.join(TINY, 'config.json'), 'utf8'));
    const wte = tinyRaw.find((t) => t.name === 'transformer.wte.weight')!;
    expect(
      loadHF(makeDir('tiny-lm-head', [...tinyRaw, { ...wte, name: 'lm_head.weight' }], config)).source.lmHead,
    ).toBe(true);
    const changed = wte.bytes.slice();
    changed[2 * 2_500_000] ^= 1; // in the third chunk of 2^20 elements
    expectLoadError(
      makeDir('tiny-lm-head-untied', [...tinyRaw, { ...wte, name: 'lm_head.weight', bytes: changed }], config),
      /lm_head\.weight differs from wte\.weight \(first at element 2500000\)/,
    );
  });

  it('config fields that contradict the tensor shapes are errors naming both', () => {
    expectLoadError(
      makeDir('c-embd', hotRaw, { ...HOT_CONFIG, n_embd: 32, n_head: 4 }),
      /tensor "wte\.weight" has shape \[2053,64\] but .*config\.json \(vocab_size=2053, n_embd=32\) implies \[2053,32\]/,
    );
    expectLoadError(
      makeDir('c-vocab', hotRaw, { ...HOT_CONFIG, vocab_size: 50257 }),
      /tensor "wte\.weight" has shape \[2053,64\] but .*config\.json \(vocab_size=50257, n_embd=64\) implies \[50257,64\]/,
    );
    expectLoadError(
      makeDir('c-pos', hotRaw, { ...HOT_CONFIG, n_positions: 1024 }),
      /tensor "wpe\.weight" has shape \[128,64\] but .*\(n_positions=1024, n_embd=64\) implies \[1024,64\]/,
    );
    expectLoadError(
      makeDir('c-layers-more', hotRaw, { ...HOT_CONFIG, n_layer: 3 }),
      /missing tensor "h\.2\.ln_1\.weight" \(expected shape \[64\]; .*config\.json says n_layer=3\)/,
    );
    expectLoadError(
      makeDir('c-layers-fewer', hotRaw, { ...HOT_CONFIG, n_layer: 1 }),
      /tensor "h\.1\.attn\.c_attn\.bias" belongs to layer 1 but .*config\.json says n_layer=1/,
    );
    expectLoadError(makeDir('c-heads', hotRaw, { ...HOT_CONFIG, n_head: 5 }), /n_embd 64 is not divisible by n_head 5/);
    expectLoadError(
      makeDir('c-hd', hotRaw, { ...HOT_CONFIG, n_head: 32 }),
      /head dimension n_embd \/ n_head = 2 must be a multiple of 4/,
    );
    expectLoadError(
      makeDir('c-layers', hotRaw, { ...HOT_CONFIG, n_layer: 100000000 }),
      /n_layer 100000000 is over 1024/,
    );
  });

  it('settings that change the computation are refused', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ n_inner: 128 }, /n_inner = 128 is not supported/],
      [{ tie_word_embeddings: false }, /tie_word_embeddings = false is not supported/],
      [{ scale_attn_weights: false }, /scale_attn_weights = false is not supported/],
      [{ scale_attn_by_inverse_layer_idx: true }, /scale_attn_by_inverse_layer_idx = true is not supported/],
      [{ add_cross_attention: true }, /add_cross_attention = true is not supported/],
      [{ activation_function: 'relu' }, /activation_function "relu" is not supported/],
      [{ model_type: 'gpt_neo' }, /model_type "gpt_neo" is not supported/],
      [{ vocab_size: undefined }, /field "vocab_size" must be a positive integer/],
    ];
    cases.forEach(([over, re], i) => expectLoadError(makeDir(`settings-${i}`, hotRaw, { ...HOT_CONFIG, ...over }), re));
    // n_inner equal to 4 x n_embd is what the model does anyway
    expect(loadHF(makeDir('settings-ok', hotRaw, { ...HOT_CONFIG, n_inner: 256 })).config.n_embd).toBe(64);
    const dir = makeDir('settings-badjson', hotRaw);
    fs.writeFileSync(path.join(dir, 'config.json'), '{"n_embd": ');
    expectLoadError(dir, /config\.json: not valid JSON/);
  });

  it('missing, unexpected, duplicated or misshapen tensors are errors naming the tensor', () => {
    const without = (n: string) => hotRaw.filter((t) => t.name !== n);
    const swap = (n: string, t: Partial<RawTensor>) => hotRaw.map((x) => (x.name === n ? { ...x, ...t } : x));
    expectLoadError(
      makeDir('t-missing', without('ln_f.bias')),
      /missing tensor "ln_f\.bias" \(expected shape \[64\]\)/,
    );
    expectLoadError(
      makeDir('t-extra', [...hotRaw, { name: 'score.weight', dtype: 'F32', shape: [1], bytes: new Uint8Array(4) }]),
      /unexpected tensor "score\.weight" \(not part of GPT2LMHeadModel/,
    );
    const wpe = hotRaw.find((t) => t.name === 'wpe.weight')!;
    expectLoadError(
      makeDir('t-dup', [...hotRaw, { ...wpe, name: 'transformer.wpe.weight' }]),
      /tensor "wpe\.weight" appears twice \(as "wpe\.weight" and "transformer\.wpe\.weight"\)/,
    );
    // same element count, transposed
    expectLoadError(
      makeDir('t-transposed', swap('h.0.mlp.c_fc.weight', { shape: [256, 64] })),
      /tensor "h\.0\.mlp\.c_fc\.weight" has shape \[256,64\] but .*config\.json \(n_embd=64\) implies \[64,256\]/,
    );
    const fc = hotRaw.find((t) => t.name === 'h.0.mlp.c_fc.bias')!;
    expectLoadError(
      makeDir('t-dtype', swap('h.0.mlp.c_fc.bias', { dtype: 'I32', bytes: fc.bytes })),
      /tensor "h\.0\.mlp\.c_fc\.bias": dtype I32 is not supported/,
    );
    // the skipped buffers may have any dtype (newer files store attn.bias as BOOL/U8)
    const asBool = hotRaw.map((t) =>
      t.name === 'h.0.attn.bias' ? { ...t, dtype: 'BOOL' as const, bytes: new Uint8Array(128 * 128) } : t,
    );
    expect(loadHF(makeDir('t-bool-buffer', asBool)).tensors.size).toBe(28);
  });

  it('NaN, infinite or overflowing weights are errors naming the tensor and element', () => {
    const poke = (n: string, i: number, v: number) =>
      hotRaw.map((t) => {
        if (t.name !== n) return t;
        const bytes = t.bytes.slice();
        new DataView(bytes.buffer).setFloat32(4 * i, v, true);
        return { ...t, bytes };
      });
    expectLoadError(
      makeDir('t-nan', poke('ln_f.weight', 3, NaN)),
      /tensor "ln_f\.weight" holds NaN at element 3: a broken checkpoint/,
    );
    expectLoadError(
      makeDir('t-inf', poke('h.1.mlp.c_fc.weight', 100, -Infinity)),
      /tensor "h\.1\.mlp\.c_fc\.weight" holds -Infinity at element 100/,
    );
    expectLoadError(
      makeDir('t-huge', poke('wte.weight', 0, 3e38)),
      /tensor "wte\.weight" holds 3\.\d+e\+38 at element 0 \(beyond ±1e\+19/,
    );
    expect(loadHF(makeDir('t-fine', poke('wte.weight', 0, 1e3))).tensors.size).toBe(28);
  });
});

describe('saveHF', () => {
  function expectSameModel(a: ReturnType<typeof loadHF>, b: ReturnType<typeof loadHF>) {
    expect(b.config).toEqual(a.config);
    expect([...b.tensors.keys()]).toEqual([...a.tensors.keys()]);
    for (const [name, t] of a.tensors) {
      expect(b.tensors.get(name)!.shape, name).toEqual(t.shape);
      expectBitsEqual(b.tensors.get(name)!.data, t.data, name);
    }
  }

  it('export -> import is bit-identical, in the plain HF layout that transformers loads', () => {
    for (const src of [HOT, TINY]) {
      const a = loadHF(src);
      const dir = path.join(tmp, `export-${path.basename(src)}`);
      saveHF(dir, a.config, a.tensors);
      expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']); // no temporary files left
      const b = loadHF(dir);
      expectSameModel(a, b);
      expect(b.source).toMatchObject({ prefixed: false, dtypes: ['F32'], skipped: [], lmHead: false });
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'))).toEqual(toHF(a.config));
      const r = SafetensorsReader.open(path.join(dir, 'model.safetensors'));
      expect(r.metadata).toEqual({ format: 'pt' }); // transformers refuses safetensors without it
      expect(r.names()).toEqual([...hfShapes(a.config).keys()]);
      r.close();
      // saving the import again gives the same bytes
      const again = path.join(tmp, `export2-${path.basename(src)}`);
      saveHF(again, b.config, b.tensors);
      expect(
        Buffer.compare(
          fs.readFileSync(path.join(again, 'model.safetensors')),
          fs.readFileSync(path.join(dir, 'model.safetensors')),
        ),
      ).toBe(0);
    }
  });

  it('writes only vocab_size rows of a padded wte', () => {
    const a = loadHF(HOT);
    const config: GPT2Config = { ...a.config, padded_vocab_size: 2112 };
    const wte = a.tensors.get('wte.weight')!;
    const padded = new Float32Array(2112 * 64);
    padded.set(wte.data);
    padded.set(randn(59 * 64, 3), wte.data.length); // junk in the padding rows
    const tensors = new Map<string, HFTensor>(a.tensors);
    tensors.set('wte.weight', { shape: [2112, 64], data: padded });
    const dir = path.join(tmp, 'export-padded');
    saveHF(dir, config, tensors);
    const b = loadHF(dir);
    expect(b.config.vocab_size).toBe(2053);
    expect(b.tensors.get('wte.weight')!.shape).toEqual([2053, 64]);
    expectSameModel(a, b);
  });

  it('refuses incomplete or misshapen models, leaving an existing export untouched', () => {
    const a = loadHF(HOT);
    const dir = path.join(tmp, 'export-refuse');
    saveHF(dir, a.config, a.tensors);
    const before = fs.readFileSync(path.join(dir, 'model.safetensors'));
    const missing = new Map(a.tensors);
    missing.delete('ln_f.weight');
    expect(() => saveHF(dir, a.config, missing)).toThrow(/missing tensor "ln_f\.weight" \(shape \[64\]\)/);
    const extra = new Map(a.tensors);
    extra.set('lm_head.weight', a.tensors.get('wte.weight')!);
    expect(() => saveHF(dir, a.config, extra)).toThrow(/unexpected tensor "lm_head\.weight"/);
    const bad = new Map(a.tensors);
    bad.set('h.0.ln_1.bias', { shape: [32], data: new Float32Array(32) });
    expect(() => saveHF(dir, a.config, bad)).toThrow(
      /tensor "h\.0\.ln_1\.bias" has shape \[32\] but the config \(n_embd=64\) implies \[64\]/,
    );
    const lying = new Map(a.tensors);
    lying.set('ln_f.bias', { shape: [64], data: new Float32Array(63) });
    expect(() => saveHF(dir, a.config, lying)).toThrow(/tensor "ln_f\.bias" has 63 values for shape \[64\]/);
    expect(Buffer.compare(fs.readFileSync(path.join(dir, 'model.safetensors')), before)).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
  });
});

describe('sharded checkpoints', () => {
  it('loads model.safetensors.index.json with prefixed keys split over shards, same as the single file', () => {
    const a = loadHF(HOT);
    const dir = path.join(tmp, 'sharded');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(HOT, 'config.json'), path.join(dir, 'config.json'));
    const names = [...a.tensors.keys()];
    const shards = [names.slice(0, 10), names.slice(10)];
    const weightMap: Record<string, string> = {};
    shards.forEach((ns, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(
        path.join(dir, file),
        ns.map((n) => ({ name: `transformer.${n}`, ...a.tensors.get(n)! })),
        { format: 'pt' },
      );
      for (const n of ns) weightMap[`transformer.${n}`] = file;
    });
    fs.writeFileSync(
      path.join(dir, INDEX_NAME),
      JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
    );
    const b = loadHF(dir);
    expect(b.source.sharded).toBe(true);
    expect(b.source.prefixed).toBe(true);
    expect(b.source.files.length).toBe(2);
    for (const [n, t] of a.tensors) expectBitsEqual(b.tensors.get(n)!.data, t.data, n);
    // model.safetensors, when present, takes precedence
    saveHF(dir, a.config, a.tensors);
    expect(loadHF(dir).source.sharded).toBe(false);
  });
});
