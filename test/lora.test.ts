// LoRA: the adapter op and its gradients, a frozen base (no weight gradients, no optimizer
// state), PEFT's file format for GPT-2, merging, and a LoRA run on the tiny fixture.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectClose,
  randn,
  rng,
  setup,
  randomBatch,
  tinyConfig,
  noGradLoss,
  checkGradientByDifferences,
} from './helpers.ts';
import { Tensor, poolStats } from '../src/gpu/tensor.ts';
import { counters, resetCounters, sync } from '../src/gpu/runtime.ts';
import { dropoutMask } from '../src/ops/dropout.ts';
import { matmul } from '../src/ops/matmul/index.ts';
import * as ref from '../src/ref/cpu.ts';
import { Tape, Var } from '../src/tape/tape.ts';
import { linear, loraLinear, type LoraAdapter } from '../src/tape/ops.ts';
import { GPT2 } from '../src/model/gpt2.ts';
import type { GPT2Config } from '../src/model/config.ts';
import { LORA_MODULES, parseTargets, sitesFor, type LoraConfig } from '../src/model/lora.ts';
import { attachLora, loadLora, loadModel, saveLora, saveMerged } from '../src/model/load.ts';
import { SafetensorsReader } from '../src/io/safetensors.ts';
import { baseModelName, checkAdapterBase } from '../src/io/peft.ts';
import { AdamW } from '../src/train/optimizer.ts';
import { readStep, releaseBatch, trainStep, uploadBatch, type Batch } from '../src/train/step.ts';
import { train, type TrainOptions, type UI } from '../src/train/run.ts';
import { runProbeCli } from '../src/probe/cli.ts';

beforeAll(setup);

const FIX = path.join(import.meta.dirname, 'fixtures/gpt2-reference');
const TINY = path.join(FIX, 'tiny-prefixed-f16');
/** vocabulary 2053, large init scales: a frozen base whose logits can still move a lot */
const HOT = path.join(FIX, 'hot-plain-f32');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const allSites = (c: GPT2Config) => sitesFor(c, [...LORA_MODULES]);

/** Logits of `model` for `batch` on a no-grad tape. */
async function logitsOf(model: GPT2, batch: Batch): Promise<Float32Array> {
  const u = uploadBatch(batch);
  const tape = new Tape({ recording: false });
  const out = await model.forward(tape, u.inputs, batch.B, batch.T).value.toArray();
  tape.free();
  releaseBatch(u);
  return out;
}

/** Give every lora_B random values (a fresh adapter's B is zero, which would hide A's gradient). */
function randomizeB(model: GPT2, seed: number, scale = 0.05) {
  const lora = model.lora!;
  for (const s of lora.params.specs)
    if (s.name.endsWith('lora_B')) lora.params.set(s.name, randn(s.shape[0] * s.shape[1], seed++, scale));
}

describe('dropout mask', () => {
  it('is the CPU reference bit for bit: 0 or 1/(1-p), about p dropped, a new mask per seed', async () => {
    const n = 10_001,
      p = 0.3;
    const got = await dropoutMask([n], p, 42).toArray();
    expectClose(got, ref.dropoutMask(n, p, 42), 1e-7, 0, 'mask');
    const dropped = got.filter((v) => v === 0).length / n;
    expect(Math.abs(dropped - p)).toBeLessThan(0.02);
    const other = await dropoutMask([n], p, 43).toArray();
    expect(other.some((v, i) => v !== got[i])).toBe(true);
    expect([...(await dropoutMask([7], 0, 1).toArray())]).toEqual(Array(7).fill(1));
  });
});

describe('loraLinear', () => {
  const N = 6,
    I = 8,
    O = 12,
    R = 3;
  const make = (dropout: number) => {
    const x = new Var(Tensor.from(randn(N * I, 1), [N, I]), true);
    const w = new Var(Tensor.from(randn(I * O, 2), [I, O])); // frozen
    const b = new Var(Tensor.from(randn(O, 3), [O]));
    const ad: LoraAdapter = {
      A: new Var(Tensor.from(randn(I * R, 4, 0.5), [I, R]), true),
      B: new Var(Tensor.from(randn(R * O, 5, 0.5), [R, O]), true),
      scale: 16 / R,
      dropout,
      seed: 7,
    };
    return { x, w, b, ad };
  };

  it('y = x·W + b + scale·(dropout(x)·A)·B, against the float64 reference', async () => {
    for (const dropout of [0, 0.4]) {
      const { x, w, b, ad } = make(dropout);
      const tape = new Tape();
      const y = await loraLinear(tape, x, w, b, ad).value.toArray();
      const [xv, wv, bv, av, bb] = await Promise.all([x, w, b, ad.A, ad.B].map((v) => v.value.toArray()));
      const mask = dropout ? ref.dropoutMask(N * I, dropout, ad.seed) : new Float64Array(N * I).fill(1);
      const xd = xv.map((v, i) => v * mask[i]);
      const h = ref.matmul(xd, av, N, R, I, { alpha: ad.scale });
      const lo = ref.matmul(h, bb, N, O, R);
      const base = ref.matmul(xv, wv, N, O, I, { bias: bv });
      expectClose(
        y,
        base.map((v, i) => v + lo[i]),
        1e-4,
        1e-4,
        `dropout ${dropout}`,
      );
      tape.free();
    }
  });

  it('dx, dA, dB agree with finite differences (with and without dropout); frozen W, b get nothing', async () => {
    for (const dropout of [0, 0.4]) {
      const { x, w, b, ad } = make(dropout);
      const G = randn(N * O, 9); // loss = sum(y ⊙ G)
      const lossAt = async () => {
        const t = new Tape(); // a training tape: the same dropout mask (same seed)
        const y = await loraLinear(t, x, w, b, ad).value.toArray();
        t.free();
        return y.reduce((s, v, i) => s + v * G[i], 0);
      };
      const tape = new Tape();
      tape.backward(loraLinear(tape, x, w, b, ad), Tensor.from(G, [N, O]));
      expect(w.gradient).toBeNull();
      expect(b.gradient).toBeNull();
      for (const v of [x, ad.A, ad.B]) {
        const grad = await v.gradient!.toArray();
        const values = await v.value.toArray();
        const r = rng(3);
        for (let k = 0; k < 4; k++) {
          const i = Math.floor(r() * grad.length);
          const h = 1e-2;
          v.value.write([values[i] + h], i);
          const lp = await lossAt();
          v.value.write([values[i] - h], i);
          const lm = await lossAt();
          v.value.write([values[i]], i);
          const fd = (lp - lm) / (2 * h);
          expect(Math.abs(fd - grad[i]), `dropout ${dropout} [${i}] fd ${fd} vs ${grad[i]}`).toBeLessThan(
            0.01 * Math.abs(grad[i]) + 1e-3,
          );
        }
      }
    }
  });

  it('a frozen linear runs only the dx product backward: no dW, no db dispatches', async () => {
    const x = new Var(Tensor.from(randn(64 * 32, 1), [64, 32]), true);
    const w = new Var(Tensor.from(randn(32 * 48, 2), [32, 48]));
    const b = new Var(Tensor.from(randn(48, 3), [48]));
    const gy = Tensor.from(randn(64 * 48, 4), [64, 48]);
    // the same work as the backward's dx = dy·Wᵀ, after the same forward (operand packing is cached)
    const count = async (work: () => void) => {
      matmul(x.value, w.value, { bias: b.value }).release();
      await sync();
      resetCounters();
      work();
      const n = counters().dispatches;
      await sync();
      return n;
    };
    await count(() => matmul(gy, w.value, { transB: true }).release()); // compiles
    const dxOnly = await count(() => matmul(gy, w.value, { transB: true }).release());
    const tape = new Tape();
    const y = linear(tape, x, w, b);
    await sync();
    resetCounters();
    tape.backward(y, gy);
    expect(counters().dispatches).toBe(dxOnly);
    expect(w.gradient).toBeNull();
    // and a trainable one runs more (dW and db)
    const w2 = new Var(w.value, true),
      b2 = new Var(b.value, true);
    const t2 = new Tape();
    const y2 = linear(t2, x, w2, b2);
    await sync();
    resetCounters();
    t2.backward(y2, Tensor.from(randn(64 * 48, 4), [64, 48]));
    expect(counters().dispatches).toBeGreaterThan(dxOnly);
  });
});

describe('a GPT-2 with LoRA adapters', () => {
  it('with B = 0 the forward equals the base model', async () => {
    const batch = randomBatch(1, 2, 9, tinyConfig.vocab_size);
    const model = GPT2.init(tinyConfig, 3);
    const before = await logitsOf(model, batch);
    attachLora(model, { r: 4, alpha: 8, dropout: 0.1, sites: allSites(tinyConfig) });
    expect([...(await model.lora!.params.read('h.1.mlp.c_fc.lora_A'))].some((v) => v !== 0)).toBe(true);
    const after = await logitsOf(model, batch);
    expect([...after]).toEqual([...before]);
  });

  it('adapter gradients match finite differences of the loss; the base has no gradients', async () => {
    const model = GPT2.init(tinyConfig, 11);
    attachLora(model, { r: 4, alpha: 8, dropout: 0, sites: allSites(tinyConfig) }, 5);
    randomizeB(model, 20, 0.2);
    expect(model.params.frozen).toBe(true);
    expect(() => model.params.grads).toThrow(/frozen parameters have no gradients/);
    expect(model.params.specs.every((s) => !model.params.get(s.name).requiresGrad)).toBe(true);
    const batch = randomBatch(5, 2, 9, tinyConfig.vocab_size);
    const u = uploadBatch(batch);
    const lossAt = () => noGradLoss(model, u, batch);
    const lora = model.lora!;
    lora.params.zeroGrad();
    const tape = new Tape();
    tape.backward(model.loss(tape, u.inputs, u.targets, batch.B, batch.T, { normalizer: u.count }).loss);
    for (const s of model.params.specs) expect(model.params.get(s.name).gradient, s.name).toBeNull();
    const r = rng(9);
    let checked = 0;
    for (const s of lora.params.specs) {
      checked += await checkGradientByDifferences(s.name, lora.params.get(s.name), lossAt, r);
    }
    expect(checked).toBeGreaterThanOrEqual(12); // 16 tensors, most of them twice
    releaseBatch(u);
  });

  it('AdamW keeps state for the adapters only', async () => {
    const model = GPT2.init(tinyConfig, 4);
    attachLora(model, { r: 2, alpha: 4, dropout: 0.1, sites: sitesFor(tinyConfig, ['attn.c_attn']) });
    const opt = new AdamW(model.trainable);
    expect(opt.params).toBe(model.lora!.params);
    await readStep(trainStep(model, opt, [randomBatch(2, 2, 8, tinyConfig.vocab_size)], 1e-3));
    expect(model.params.hasAdamState).toBe(false);
    expect(() => model.params.adamState).toThrow(/frozen/);
    const C = tinyConfig.n_embd;
    // c_attn's A [C, 2] and B [2, 3C] in each of 2 layers, each tensor padded to 64 elements
    expect(model.lora!.params.count).toBe(2 * (C * 2 + 2 * 3 * C));
    expect(opt.params.adamState.m.size).toBe(opt.params.total);
    expect(opt.params.total).toBe(2 * (64 + 192));
  });

  it('a LoRA training step (dropout included) is one command buffer and one wait', async () => {
    const model = GPT2.init(tinyConfig, 6);
    attachLora(model, { r: 4, alpha: 8, dropout: 0.2, sites: allSites(tinyConfig) });
    const opt = new AdamW(model.trainable);
    const batch = randomBatch(5, 2, 16, tinyConfig.vocab_size);
    await readStep(trainStep(model, opt, [batch, batch], 1e-3)); // compiles
    await sync();
    resetCounters();
    await readStep(trainStep(model, opt, [batch, batch], 1e-3));
    const c = counters();
    expect([c.submits, c.waits]).toEqual([1, 1]);
  });

  it('parses --lora-targets spellings', () => {
    expect(parseTargets(['c_attn'])).toEqual(['attn.c_attn']);
    expect(parseTargets(['c_proj', 'mlp.c_proj', 'c_fc', 'c_attn'])).toEqual([
      'attn.c_proj',
      'mlp.c_proj',
      'mlp.c_fc',
      'attn.c_attn',
    ]);
    expect(() => parseTargets(['q_proj'])).toThrow(/LoRA target "q_proj" is not one of c_attn, c_proj/);
  });
});

describe("PEFT's format", () => {
  it("writes PEFT's keys, shapes and config fields for GPT-2, and reads them back exactly", async () => {
    const model = loadModel(TINY);
    const cfg: LoraConfig = {
      r: 4,
      alpha: 16,
      dropout: 0.05,
      sites: sitesFor(model.config, ['attn.c_attn', 'mlp.c_proj']),
    };
    attachLora(model, cfg);
    randomizeB(model, 1);
    const dir = path.join(tmp, 'adapter');
    await saveLora(model, dir, 'distilbert/distilgpt2');
    expect(fs.readdirSync(dir).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
    expect(j).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: 'distilbert/distilgpt2',
      r: 4,
      lora_alpha: 16,
      lora_dropout: 0.05,
      target_modules: ['c_attn', 'mlp.c_proj'],
      fan_in_fan_out: true,
      bias: 'none',
      use_rslora: false,
      modules_to_save: null,
      layers_to_transform: null,
    });
    const reader = SafetensorsReader.open(path.join(dir, 'adapter_model.safetensors'));
    const entries = new Map(reader.entries().map((e) => [e.name, e]));
    expect([...entries.keys()].sort()).toEqual(
      [
        'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight',
        'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight',
        'base_model.model.transformer.h.0.mlp.c_proj.lora_A.weight',
        'base_model.model.transformer.h.0.mlp.c_proj.lora_B.weight',
        'base_model.model.transformer.h.1.attn.c_attn.lora_A.weight',
        'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight',
        'base_model.model.transformer.h.1.mlp.c_proj.lora_A.weight',
        'base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight',
      ].sort(),
    );
    const e = (k: string) => entries.get(`base_model.model.transformer.h.1.${k}.weight`)!;
    // torch.nn.Linear's [out_features, in_features]: lora_A [r, in], lora_B [out, r]
    expect([e('attn.c_attn.lora_A').shape, e('attn.c_attn.lora_B').shape]).toEqual([
      [4, 64],
      [192, 4],
    ]);
    expect([e('mlp.c_proj.lora_A').shape, e('mlp.c_proj.lora_B').shape]).toEqual([
      [4, 256],
      [64, 4],
    ]);
    expect(e('attn.c_attn.lora_A').dtype).toBe('F32');
    // PEFT's lora_A.weight[k, i] is our A[i, k]
    const A = await model.lora!.params.read('h.1.attn.c_attn.lora_A');
    const peftA = reader.read('base_model.model.transformer.h.1.attn.c_attn.lora_A.weight');
    expect(peftA[2 * 64 + 5]).toBe(A[5 * 4 + 2]);
    reader.close();

    // read back onto a fresh base: the same adapters, the same logits
    const again = loadModel(TINY);
    const lora = loadLora(again, dir, 'distilgpt2');
    expect(lora.cfg).toMatchObject({ r: 4, alpha: 16, dropout: 0.05 });
    expect(lora.sites).toEqual(cfg.sites);
    for (const s of lora.params.specs)
      expect([...(await lora.params.read(s.name))], s.name).toEqual([...(await model.lora!.params.read(s.name))]);
    const batch = randomBatch(2, 1, 7, 50257);
    expect([...(await logitsOf(again, batch))]).toEqual([...(await logitsOf(model, batch))]);
  });

  it('refuses an adapter for another base: shapes, base_model_name_or_path', async () => {
    const dir = path.join(tmp, 'adapter-small');
    const small = GPT2.init(tinyConfig, 1);
    attachLora(small, { r: 2, alpha: 2, dropout: 0, sites: sitesFor(tinyConfig, ['attn.c_attn']) });
    await saveLora(small, dir, 'tiny-scratch');
    expect(() => loadLora(loadModel(TINY), dir)).toThrow(
      /^[^\n]*lora_A\.weight is \[2,32\] but this base \(n_embd 64, r 2\) needs \[2,64\]: the adapter was made for another base$/,
    );
    expect(() => loadLora(GPT2.init(tinyConfig, 2), dir, 'distilgpt2')).toThrow(
      /^[^\n]*this adapter was trained on base "tiny-scratch", not "distilgpt2" \(base_model_name_or_path in adapter_config\.json\)$/,
    );
    expect(() => loadLora(GPT2.init(tinyConfig, 2), path.join(tmp, 'nowhere'))).toThrow(/no adapter_config\.json/);
  });

  it('names the base as the Hub id for a cache snapshot, and compares bases by model name', () => {
    expect(baseModelName('/h/.cache/huggingface/hub/models--distilbert--distilgpt2/snapshots/2290a62/')).toBe(
      'distilbert/distilgpt2',
    );
    expect(baseModelName('weights/distilgpt2')).toBe('weights/distilgpt2');
    for (const given of ['distilgpt2', 'distilbert/distilgpt2', 'weights/distilgpt2/', 'distilbert/distilgpt2@main'])
      expect(() => checkAdapterBase('A', 'distilbert/distilgpt2', given), given).not.toThrow();
    expect(() => checkAdapterBase('A', 'distilbert/distilgpt2', 'openai-community/gpt2')).toThrow(
      'A: this adapter was trained on base "distilbert/distilgpt2", not "openai-community/gpt2"',
    );
    expect(() => checkAdapterBase('A', '', 'anything')).not.toThrow();
  });
});

describe('merging', () => {
  it("the merged plain checkpoint's logits equal the adapter model's", async () => {
    const model = loadModel(TINY);
    attachLora(model, { r: 4, alpha: 8, dropout: 0.1, sites: allSites(model.config) });
    randomizeB(model, 3, 0.1);
    const dir = path.join(tmp, 'merged');
    await saveMerged(model, dir);
    expect(fs.existsSync(path.join(dir, 'adapter_config.json'))).toBe(false);
    const merged = loadModel(dir);
    expect(merged.lora).toBeNull();
    const base = loadModel(TINY);
    const batch = randomBatch(4, 2, 12, 50257);
    const [want, got, plain] = [
      await logitsOf(model, batch),
      await logitsOf(merged, batch),
      await logitsOf(base, batch),
    ];
    expectClose(got, want, 1e-4, 2e-4, 'merged vs adapters');
    // and the adapters do change the model
    let diff = 0;
    for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(want[i] - plain[i]));
    expect(diff).toBeGreaterThan(1e-2);
  });
});

describe('a LoRA run on the tiny fixture', () => {
  it('learns a batch in 30 steps, with flat pool memory', async () => {
    const model = loadModel(HOT);
    attachLora(model, { r: 8, alpha: 16, dropout: 0.05, sites: sitesFor(model.config, ['attn.c_attn', 'mlp.c_fc']) });
    const opt = new AdamW(model.trainable, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, clip: 1 });
    const rows: number[][] = JSON.parse(fs.readFileSync(path.join(FIX, 'train/batch_hot.json'), 'utf8')).tokens;
    const batch: Batch = { tokens: Int32Array.from(rows.flat()), B: rows.length, T: rows[0].length - 1 };
    const wte = await model.params.read('wte.weight');
    const losses: number[] = [];
    const sample: number[] = [];
    for (let s = 0; s < 30; s++) {
      losses.push((await readStep(trainStep(model, opt, [batch], 1e-2))).loss);
      if (s === 4 || s === 29) sample.push(poolStats().allocatedBytes, poolStats().inUseBytes);
    }
    // here 11.5 → 2.1: the frozen base's logits move through the adapters alone
    expect(losses[29]).toBeLessThan(0.3 * losses[0]);
    expect(sample[2]).toBe(sample[0]); // nothing allocated after the first steps
    expect(sample[3]).toBe(sample[1]); // and nothing leaked
    // the base did not move
    expect([...(await model.params.read('wte.weight'))]).toEqual([...wte]);
  });
});

describe('train() with --lora', () => {
  const quiet = (metrics: Record<string, unknown>[] = []): UI => ({ log: () => {}, metrics: (m) => metrics.push(m) });
  const opts: TrainOptions = {
    model: 'gpt2',
    weights: HOT,
    batchFile: path.join(FIX, 'train/batch_hot.json'),
    dataMix: 'art',
    lossOn: 'all',
    batch: 4,
    gradAccum: 1,
    lr: 1e-2,
    warmup: 0,
    schedule: 'constant',
    weightDecay: 0,
    clip: 1,
    seed: 7,
    evalQA: 0,
    evalBatches: 1,
    evalEvery: 0,
    json: true,
    loraR: 4,
    loraAlpha: 8,
    loraTargets: ['c_attn,c_fc'],
  };

  it('saves PEFT adapters in its checkpoints, merges them with --merge-lora, and resumes', async () => {
    const metrics: Record<string, unknown>[] = [];
    const dir = path.join(tmp, 'run-a');
    await train({ ...opts, steps: 6, saveDir: dir, mergeLora: true }, quiet(metrics));
    const losses = metrics.filter((m) => m.type === 'train').map((m) => m.loss as number);
    expect(losses.length).toBe(6);
    expect(losses[5]).toBeLessThan(losses[0]);
    for (const d of ['final', 'latest']) {
      const files = fs.readdirSync(path.join(dir, d));
      expect(files, d).toContain('adapter_config.json');
      expect(files, d).toContain('adapter_model.safetensors');
      expect(files, d).not.toContain('model.safetensors');
    }
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'final/adapter_config.json'), 'utf8'));
    expect(j).toMatchObject({ r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_fc'], base_model_name_or_path: HOT });
    // AdamW's moments: the adapters' only
    const moments = SafetensorsReader.open(path.join(dir, 'latest/optimizer.safetensors'));
    expect(moments.entries().every((e) => /^[mv]\.h\.\d\.(attn\.c_attn|mlp\.c_fc)\.lora_[AB]$/.test(e.name))).toBe(
      true,
    );
    expect(moments.entries().length).toBe(2 * 2 * 2 * 2);
    moments.close();
    // merged/: a plain checkpoint computing what the adapters do
    const merged = loadModel(path.join(dir, 'merged'));
    const adapted = loadModel(HOT);
    loadLora(adapted, path.join(dir, 'final'), HOT);
    const batch = randomBatch(3, 2, 10, 2053);
    expectClose(await logitsOf(merged, batch), await logitsOf(adapted, batch), 1e-4, 2e-4, 'merged/');

    // 3 + 3 steps with a resume in between give the same losses as 6
    const dirB = path.join(tmp, 'run-b');
    const mB: Record<string, unknown>[] = [];
    await train({ ...opts, steps: 6, saveDir: dirB, stopAfter: 3 }, quiet(mB));
    await train({ ...opts, resume: dirB }, quiet(mB));
    const lb = mB.filter((m) => m.type === 'train').map((m) => m.loss as number);
    expect(lb.length).toBe(6);
    lb.forEach((l, i) => expect(l, `step ${i}`).toBe(losses[i])); // bit for bit
  });

  it('with dropout, a resumed run draws the masks an uninterrupted one does (the same losses)', async () => {
    const run = async (name: string, split: boolean) => {
      const m: Record<string, unknown>[] = [];
      const o = { ...opts, loraDropout: 0.3, steps: 6, saveDir: path.join(tmp, name) };
      if (split) {
        await train({ ...o, stopAfter: 3 }, quiet(m));
        await train({ ...opts, resume: o.saveDir }, quiet(m));
      } else await train(o, quiet(m));
      return m.filter((x) => x.type === 'train').map((x) => x.loss as number);
    };
    const whole = await run('drop-whole', false),
      split = await run('drop-split', true);
    expect(split.length).toBe(6);
    split.forEach((l, i) => expect(l, `step ${i}`).toBe(whole[i]));
  });

  it('refuses --lora without a base model, and LoRA options without --lora, in one line', async () => {
    await expect(train({ ...opts, weights: undefined, model: 'scratch', steps: 1 }, quiet())).rejects.toThrow(
      /^--lora 4 needs a base model to adapt: --model distilgpt2 or gpt2, or --weights DIR\|ORG\/NAME$/,
    );
    await expect(train({ ...opts, loraR: undefined, steps: 1 }, quiet())).rejects.toThrow(
      /^--lora-alpha, --lora-dropout, --lora-targets and --merge-lora need --lora R$/,
    );
    await expect(train({ ...opts, loraDropout: 1, steps: 1 }, quiet())).rejects.toThrow(
      /^--lora-dropout must be a probability from 0 to below 1 \(got 1\)$/,
    );
    await expect(train({ ...opts, loraTargets: ['c_attn,q_proj'], steps: 1 }, quiet())).rejects.toThrow(
      /^LoRA target "q_proj" is not one of/,
    );
  });
});

describe('probe on an adapter directory', () => {
  it('loads it on the base its adapter_config.json names (or --base), and refuses another base in one line', async () => {
    const model = loadModel(TINY);
    attachLora(model, { r: 4, alpha: 8, dropout: 0, sites: allSites(model.config) });
    randomizeB(model, 8, 0.2);
    const dir = path.join(tmp, 'probe-adapter');
    await saveLora(model, dir, TINY);
    const run = async (...args: string[]) => {
      const out: string[] = [],
        err: string[] = [];
      const code = await runProbeCli(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const adapted = await run('-w', dir, '--ids', '464,3290,318', '-k', '3', '--json');
    expect(adapted.code, adapted.err).toBe(0);
    const plain = await run('-w', TINY, '--ids', '464,3290,318', '-k', '3', '--json');
    const top = (r: { out: string }) => JSON.parse(r.out).top.map((t: { logit: number }) => t.logit);
    // the adapter's logits, not the base's
    const u = uploadBatch({ tokens: Int32Array.from([464, 3290, 318, 0]), B: 1, T: 3 });
    const tape = new Tape({ recording: false });
    const want = await model.forward(tape, u.inputs, 1, 3, { lastOnly: true }).value.toArray();
    tape.free();
    releaseBatch(u);
    const best = [...want.slice(0, 50257)].sort((a, b) => b - a).slice(0, 3);
    top(adapted).forEach((l: number, i: number) => expect(l).toBeCloseTo(best[i], 4));
    expect(top(plain)).not.toEqual(top(adapted));
    const wrong = await run('-w', dir, '--base', HOT, '--ids', '464', '-k', '1');
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(
      /^probe: [^\n]*this adapter was trained on base "[^"]*tiny-prefixed-f16", not "[^"]*hot-plain-f32"/,
    );
  });
});
