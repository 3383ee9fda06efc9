// The trainer: the --batch-file path against the float64 reference run, resume equals an
// uninterrupted run, clear errors, and a small model learning art QA on a slice.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { setup, tempDir } from './helpers.ts';
import { resolveOptions, train, TRAIN_DEFAULTS, type TrainOptions, type UI } from '../src/train/run.ts';
import { loadHF } from '../src/io/hf.ts';
import { GPT2 } from '../src/model/gpt2.ts';
import { CONFIGS } from '../src/model/config.ts';
import { getTokenizer } from '../src/io/tokenizer.ts';
import { encodeExamples, loadDataset, packEpoch } from '../src/data/index.ts';
import { AdamW, learningRate } from '../src/train/optimizer.ts';
import { trainStep, readStep } from '../src/train/step.ts';
import { validationLoss, qaEval } from '../src/train/evaluate.ts';

const FIX = path.join(import.meta.dirname, 'fixtures/gpt2-reference');
const tmp = () => tempDir('train-test-');

function quietUI(metrics: Record<string, unknown>[] = []): UI {
  return { log: () => {}, metrics: (m) => metrics.push(m) };
}

const base: TrainOptions = {
  model: 'scratch',
  dataMix: 'art',
  lossOn: 'answer',
  batch: 2,
  gradAccum: 1,
  lr: 1e-3,
  warmup: 0,
  schedule: 'constant',
  weightDecay: 0.1,
  clip: 1,
  seed: 7,
  evalQA: 2,
  evalBatches: 1,
  json: true,
};

beforeAll(setup);

describe('train', () => {
  it('--batch-file on the reference checkpoint reproduces the float64 run', async () => {
    const result = JSON.parse(fs.readFileSync(path.join(FIX, 'train/hot/train_result.json'), 'utf8'));
    const metrics: Record<string, unknown>[] = [];
    const dir = path.join(tmp(), 'run');
    await train(
      {
        ...base,
        model: 'gpt2',
        weights: path.join(FIX, 'hot-plain-f32'),
        batchFile: path.join(FIX, 'train/batch_hot.json'),
        steps: 3,
        saveDir: dir,
      },
      quietUI(metrics),
    );
    const steps = metrics.filter((m) => m.type === 'train');
    expect(steps).toHaveLength(3);
    steps.forEach((m, i) => {
      expect(Math.abs((m.loss as number) - result.losses[i])).toBeLessThan(1e-4);
      expect(Math.abs((m.grad_norm as number) - result.grad_norms[i]) / result.grad_norms[i]).toBeLessThan(2e-3);
      for (const k of ['step', 'lr', 'tokens_per_s']) expect(typeof m[k]).toBe('number');
    });
    // the final checkpoint is in the HF layout and matches the reference weights
    const ours = loadHF(path.join(dir, 'final')).tensors;
    const ref = loadHF(path.join(FIX, 'train/hot/checkpoint')).tensors;
    const w = ours.get('h.1.mlp.c_fc.weight')!.data,
      r = ref.get('h.1.mlp.c_fc.weight')!.data;
    let maxErr = 0;
    for (let i = 0; i < r.length; i++) maxErr = Math.max(maxErr, Math.abs(w[i] - r[i]));
    expect(maxErr).toBeLessThan(1e-5);
    // the run directory has what the report needs
    for (const f of [
      'run.json',
      'metrics.jsonl',
      'loss.svg',
      'latest/optimizer.safetensors',
      'latest/trainer_state.json',
      'final/config.json',
    ]) {
      expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    }
  });

  it('a resumed run ends exactly where an uninterrupted one does', async () => {
    const root = tmp();
    const o: TrainOptions = {
      ...base,
      preset: 'tiny',
      layers: 1,
      width: 32,
      heads: 2,
      seq: 32,
      steps: 6,
      schedule: 'cosine',
      warmup: 2,
      evalEvery: 0,
      evalQA: 0,
    };
    await train({ ...o, saveDir: path.join(root, 'a') }, quietUI());
    await train({ ...o, saveDir: path.join(root, 'b'), stopAfter: 4 }, quietUI());
    expect(fs.existsSync(path.join(root, 'b/final'))).toBe(false);
    // a copy of the stopped run, as a crash mid-save leaves it: only latest.old, and a stale temp folder
    fs.cpSync(path.join(root, 'b'), path.join(root, 'c'), { recursive: true });
    fs.renameSync(path.join(root, 'c/latest'), path.join(root, 'c/latest.old'));
    fs.mkdirSync(path.join(root, 'c/latest.tmp-999999999'));
    const bMetrics = fs.readFileSync(path.join(root, 'b/metrics.jsonl'), 'utf8');
    await train({ ...base, resume: path.join(root, 'c') }, quietUI());
    // the copy wrote into itself, not into the run it was copied from
    expect(fs.existsSync(path.join(root, 'b/final'))).toBe(false);
    expect(fs.readFileSync(path.join(root, 'b/metrics.jsonl'), 'utf8')).toBe(bMetrics);
    expect(
      fs
        .readdirSync(path.join(root, 'c'))
        .filter((f) => f.startsWith('latest'))
        .sort(),
    ).toEqual(['latest']);
    await train({ ...base, resume: path.join(root, 'b') }, quietUI());
    const losses = (d: string) =>
      fs
        .readFileSync(path.join(root, d, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((m) => m.type === 'train')
        .map((m) => m.loss);
    const a = loadHF(path.join(root, 'a/final')).tensors;
    for (const d of ['b', 'c']) {
      const x = loadHF(path.join(root, d, 'final')).tensors;
      for (const [name, t] of a)
        expect(Buffer.from(x.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), `${d} ${name}`).toBe(true);
      expect(losses(d)).toEqual(losses('a'));
    }
  });

  it('refuses to overwrite a run, bad data files and bad batch files with clear errors', async () => {
    const root = tmp();
    fs.mkdirSync(path.join(root, 'old'));
    fs.writeFileSync(path.join(root, 'old/run.json'), '{}');
    await expect(train({ ...base, steps: 1, saveDir: path.join(root, 'old') }, quietUI())).rejects.toThrow(
      /already holds a run/,
    );
    const bad = path.join(root, 'bad.jsonl');
    fs.writeFileSync(bad, '{"text": "fine"}\n{"question": "no answer"\n');
    await expect(
      train({ ...base, preset: 'tiny', steps: 1, data: [bad], saveDir: path.join(root, 'x') }, quietUI()),
    ).rejects.toThrow(/bad\.jsonl:2:/);
    const ragged = path.join(root, 'ragged.json');
    fs.writeFileSync(
      ragged,
      JSON.stringify({
        tokens: [
          [1, 2, 3],
          [4, 5],
        ],
      }),
    );
    await expect(
      train(
        {
          ...base,
          model: 'gpt2',
          weights: path.join(FIX, 'hot-plain-f32'),
          batchFile: ragged,
          steps: 1,
          saveDir: path.join(root, 'y'),
        },
        quietUI(),
      ),
    ).rejects.toThrow(/ragged/);
    fs.writeFileSync(ragged, JSON.stringify({ tokens: [[1, 2, 99999]] }));
    await expect(
      train(
        {
          ...base,
          model: 'gpt2',
          weights: path.join(FIX, 'hot-plain-f32'),
          batchFile: ragged,
          steps: 1,
          saveDir: path.join(root, 'z'),
        },
        quietUI(),
      ),
    ).rejects.toThrow(/outside the vocabulary/);
    await expect(
      train({ ...base, model: 'gpt2', weights: root, steps: 1, saveDir: path.join(root, 'w') }, quietUI()),
    ).rejects.toThrow(/no config.json/);
    await expect(train({ ...base, resume: path.join(root, 'nothing') }, quietUI())).rejects.toThrow(
      /no such directory/,
    );
    await expect(
      train({ ...base, preset: 'tiny', width: 66, heads: 2, steps: 1, saveDir: path.join(root, 'v') }, quietUI()),
    ).rejects.toThrow(/head dimension --width \/ --heads = 33 must be a multiple of 4/);
    expect(fs.existsSync(path.join(root, 'v'))).toBe(false); // a run that failed before writing anything leaves no directory
    await expect(
      train({ ...base, preset: 'tiny', batch: 100000, steps: 1, saveDir: path.join(root, 'u') }, quietUI()),
    ).rejects.toThrow(
      /^--batch 100000 with --seq 128 needs .* GiB in one tensor, over this device's .* buffer limit: --batch \d+ or less fits/,
    );
    expect(fs.existsSync(path.join(root, 'u'))).toBe(false);
  });

  it('a small model learns art QA on a slice: validation loss falls, keyword recall rises', async () => {
    const tok = getTokenizer();
    const ds = await loadDataset({ mix: 'art', seed: 1234 });
    const slice = ds.train.filter((e) => e.kind === 'qa' && e.text.length < 160).slice(0, 16);
    const model = GPT2.init({ ...CONFIGS.tiny, n_layer: 2, n_embd: 64, n_head: 4, n_positions: 48 }, 5);
    const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, clip: 1 });
    const seqs = encodeExamples(slice, tok, 'answer');
    const evalBatches = packEpoch(seqs, { T: 48, B: 8, seed: 1, epoch: 0, eot: tok.eot });
    const items = slice.slice(0, 6).map((e) => ({ prompt: e.prompt!, answer: e.answer! }));
    const before = {
      loss: (await validationLoss(model, evalBatches)).loss,
      recall: (await qaEval(model, tok, items, 24)).recall,
    };
    const steps = 60;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) {
      const batches = packEpoch(seqs, { T: 48, B: 8, seed: 1, epoch: s, eot: tok.eot });
      await readStep(
        trainStep(
          model,
          opt,
          [batches[s % batches.length]],
          learningRate(s, { lr: 1e-2, warmup: 5, total: steps, schedule: 'cosine' }),
        ),
      );
    }
    console.log(`slice: ${steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const after = {
      loss: (await validationLoss(model, evalBatches)).loss,
      recall: (await qaEval(model, tok, items, 24)).recall,
    };
    console.log(JSON.stringify({ before, after }));
    expect(after.loss).toBeLessThan(before.loss - 2);
    expect(after.recall).toBeGreaterThan(before.recall + 0.2);
  });
});

describe('resolveOptions: every default in one place', () => {
  it('fills TRAIN_DEFAULTS and the model-dependent defaults, and keeps what was given', () => {
    const { tinyTime, ...defaults } = TRAIN_DEFAULTS;
    const s = resolveOptions({ model: 'scratch' });
    expect(s).toMatchObject({ ...defaults, batch: 8, lr: 6e-4 });
    expect(s.time).toBeUndefined();
    expect('tinyTime' in s).toBe(false);
    expect(resolveOptions({ model: 'scratch', preset: 'tiny' })).toMatchObject({ lr: 3e-3, time: tinyTime });
    expect(resolveOptions({ model: 'scratch', preset: 'tiny', steps: 5 }).time).toBeUndefined();
    expect(resolveOptions({ model: 'distilgpt2', weights: 'w' })).toMatchObject({ batch: 4, lr: 1e-4 });
    expect(resolveOptions({ model: 'scratch', lr: 0.01, batch: 2, seed: 7, evalQA: undefined })).toMatchObject({
      lr: 0.01,
      batch: 2,
      seed: 7,
      evalQA: TRAIN_DEFAULTS.evalQA,
    });
  });
});
