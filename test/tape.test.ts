// The autograd tape: accumulation, errors, finite differences through a whole model,
// overfitting one batch, and flat memory across training steps.
import { beforeAll, describe, expect, it } from 'vitest';
import { setup, randn, rng, randomBatch, tinyConfig, noGradLoss, checkGradientByDifferences } from './helpers.ts';
import { Tensor, poolStats } from '../src/gpu/tensor.ts';
import { Tape, Var } from '../src/tape/tape.ts';
import { gelu, linear, linearGelu, residual } from '../src/tape/ops.ts';
import { counters, resetCounters, sync } from '../src/gpu/runtime.ts';
import * as ref from '../src/ref/cpu.ts';
import { GPT2 } from '../src/model/gpt2.ts';
import { AdamW } from '../src/train/optimizer.ts';
import { trainStep, readStep, uploadBatch, releaseBatch, type Batch } from '../src/train/step.ts';

beforeAll(setup);

describe('logits only where the loss counts', () => {
  it("gives the full computation's loss and every parameter gradient (masks: empty, full, one row, ragged)", async () => {
    const B = 3,
      T = 11,
      N = B * T;
    const model = GPT2.init(tinyConfig, 5);
    const batch = randomBatch(9, B, T, tinyConfig.vocab_size);
    const r = rng(3);
    const masks: [string, number[]][] = [
      ['empty', Array(N).fill(0)],
      ['full', Array(N).fill(1)],
      ['one row', Array.from({ length: N }, (_, i) => (i === 17 ? 1 : 0))],
      ['ragged', Array.from({ length: N }, () => (r() < 0.45 ? (r() < 0.5 ? 1 : 0.5) : 0))],
    ];
    for (const [name, mask] of masks) {
      const b = { ...batch, weights: Float32Array.from(mask) };
      const run = async (gather: boolean) => {
        model.params.zeroGrad();
        const u = uploadBatch(b, { gather });
        expect(!!u.rows).toBe(gather && name !== 'full');
        if (u.rows) expect(u.rows.shape[0] % 4, 'rows padded to whole vec4s').toBe(0);
        if (u.count === 0) {
          releaseBatch(u);
          return { loss: 0, grads: await model.params.grads.toArray() };
        }
        const tape = new Tape();
        const { loss } = model.loss(tape, u.inputs, u.targets, B, T, {
          weights: u.weights,
          normalizer: Math.max(1, u.count),
          rows: u.rows,
        });
        const l = (await loss.value.toArray())[0];
        tape.backward(loss);
        tape.free();
        releaseBatch(u);
        return { loss: l, grads: await model.params.grads.toArray() };
      };
      const full = await run(false),
        gathered = await run(true);
      expect(gathered.loss, name).toBeCloseTo(full.loss, 5);
      let num = 0,
        den = 0;
      for (let i = 0; i < full.grads.length; i++) {
        num += (full.grads[i] - gathered.grads[i]) ** 2;
        den += full.grads[i] ** 2;
      }
      if (name === 'empty') expect(den).toBe(0);
      else expect(Math.sqrt(num / den), name).toBeLessThan(1e-5);
    }
  });
});

describe('tape', () => {
  it('accumulates the gradient of a value used twice', async () => {
    const x = new Var(Tensor.from(randn(6, 1), [2, 3]), true);
    const tape = new Tape();
    const y = residual(tape, x, x);
    const dy = randn(6, 2);
    tape.backward(y, Tensor.from(dy, [2, 3]));
    const g = await x.grad!.toArray();
    g.forEach((v, i) => expect(v).toBeCloseTo(2 * dy[i], 6));
  });

  it('linear: dx, dW, db against the analytic formulas', async () => {
    const N = 5,
      I = 3,
      O = 4;
    const xv = randn(N * I, 1),
      wv = randn(I * O, 2),
      bv = randn(O, 3),
      gy = randn(N * O, 4);
    const x = new Var(Tensor.from(xv, [N, I]), true),
      w = new Var(Tensor.from(wv, [I, O]), true),
      b = new Var(Tensor.from(bv, [O]), true);
    const tape = new Tape();
    tape.backward(linear(tape, x, w, b), Tensor.from(gy, [N, O]));
    const [dx, dw, db] = await Promise.all([x.grad!.toArray(), w.grad!.toArray(), b.grad!.toArray()]);
    for (let n = 0; n < N; n++)
      for (let i = 0; i < I; i++) {
        let s = 0;
        for (let o = 0; o < O; o++) s += gy[n * O + o] * wv[i * O + o];
        expect(dx[n * I + i]).toBeCloseTo(s, 5);
      }
    for (let i = 0; i < I; i++)
      for (let o = 0; o < O; o++) {
        let s = 0;
        for (let n = 0; n < N; n++) s += xv[n * I + i] * gy[n * O + o];
        expect(dw[i * O + o]).toBeCloseTo(s, 5);
      }
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += gy[n * O + o];
      expect(db[o]).toBeCloseTo(s, 5);
    }
  });

  it('linearGelu: one fused dispatch on a no-grad tape, linear + gelu (and their gradients) when training', async () => {
    const N = 7,
      I = 13,
      O = 24;
    const xv = randn(N * I, 5),
      wv = randn(I * O, 6),
      bv = randn(O, 7);
    const want = ref.matmul(xv, wv, N, O, I, { bias: bv, gelu: true });
    const vars = () => [
      new Var(Tensor.from(xv, [N, I]), true),
      new Var(Tensor.from(wv, [I, O]), true),
      new Var(Tensor.from(bv, [O]), true),
    ];
    const [x, w, b] = vars();
    await sync();
    resetCounters();
    const inference = new Tape({ recording: false });
    const y = linearGelu(inference, x, w, b);
    expect(counters().dispatches).toBe(1);
    const got = await y.value.toArray();
    want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
    inference.free();
    // training: the same values, and the gradient of linear then gelu
    const [x2, w2, b2] = vars(),
      [x3, w3, b3] = vars();
    const gy = randn(N * O, 8);
    const t2 = new Tape(),
      t3 = new Tape();
    const y2 = linearGelu(t2, x2, w2, b2);
    (await y2.value.toArray()).forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
    t2.backward(y2, Tensor.from(gy, [N, O]));
    t3.backward(gelu(t3, linear(t3, x3, w3, b3)), Tensor.from(gy, [N, O]));
    for (const [u, v] of [
      [x2, x3],
      [w2, w3],
      [b2, b3],
    ])
      expect([...(await u.gradient!.toArray())]).toEqual([...(await v.gradient!.toArray())]);
  });

  it('refuses backward() twice, on a non-scalar without a root gradient, and on a no-grad tape', () => {
    const x = new Var(Tensor.from([1, 2, 3], [3]), true);
    const t1 = new Tape();
    const y = residual(t1, x, x);
    expect(() => t1.backward(y)).toThrow(/non-scalar \[3\] needs an explicit root gradient/);
    t1.backward(y, Tensor.from([1, 1, 1], [3]));
    expect(() => t1.backward(y, Tensor.from([1, 1, 1], [3]))).toThrow(/backward\(\) called twice/);
    const t2 = new Tape({ recording: false });
    const z = residual(t2, x, x);
    expect(() => t2.backward(z, Tensor.from([1, 1, 1], [3]))).toThrow(/no-grad tape/);
  });

  it('whole-model gradients agree with finite differences of the loss', async () => {
    const model = GPT2.init(tinyConfig, 11);
    const batch = randomBatch(5, 2, 9, tinyConfig.vocab_size);
    const u = uploadBatch(batch);
    const lossAt = () => noGradLoss(model, u, batch);
    model.params.zeroGrad();
    const tape = new Tape();
    tape.backward(model.loss(tape, u.inputs, u.targets, batch.B, batch.T, { normalizer: u.count }).loss);
    const r = rng(9);
    let checked = 0;
    for (const name of [
      'h.0.attn.c_attn.weight',
      'h.1.mlp.c_fc.weight',
      'h.0.ln_1.weight',
      'wpe.weight',
      'wte.weight',
      'ln_f.bias',
      'h.1.attn.c_proj.bias',
    ]) {
      checked += await checkGradientByDifferences(name, model.params.get(name), lossAt, r);
    }
    expect(checked).toBeGreaterThanOrEqual(7);
  });

  it('a 2-layer GPT overfits one fixed batch to loss < 0.1', async () => {
    const model = GPT2.init(tinyConfig, 1);
    const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, clip: 1 });
    const batch = randomBatch(3, 4, 16, tinyConfig.vocab_size);
    let loss = Infinity;
    const first = (await readStep(trainStep(model, opt, [batch], 1e-2))).loss;
    for (let s = 0; s < 150 && loss >= 0.1; s++) loss = (await readStep(trainStep(model, opt, [batch], 1e-2))).loss;
    expect(first).toBeGreaterThan(3);
    expect(loss).toBeLessThan(0.1);
  });

  it('GPU memory stays flat over 50 training steps', async () => {
    const model = GPT2.init(tinyConfig, 2);
    const opt = new AdamW(model.params);
    const batch = randomBatch(4, 2, 16, tinyConfig.vocab_size);
    const sample: number[] = [];
    for (let s = 0; s < 50; s++) {
      await readStep(trainStep(model, opt, [batch], 1e-3));
      if (s === 4 || s === 49) sample.push(poolStats().allocatedBytes, poolStats().inUseBytes);
    }
    expect(sample[2]).toBe(sample[0]); // nothing allocated after the first steps
    expect(sample[3]).toBe(sample[1]); // and nothing leaked
  });

  it('a training step is one command buffer and one wait (no read-back or upload inside it)', async () => {
    const model = GPT2.init(tinyConfig, 3);
    const opt = new AdamW(model.params);
    const batch = randomBatch(5, 2, 16, tinyConfig.vocab_size);
    const masked: Batch = { ...batch, weights: Float32Array.from({ length: 32 }, (_, i) => (i % 3 ? 1 : 0)) };
    for (const micro of [[batch], [masked], [batch, masked]]) {
      await readStep(trainStep(model, opt, micro, 1e-3)); // compiles
      await sync();
      resetCounters();
      await readStep(trainStep(model, opt, micro, 1e-3));
      const c = counters();
      expect([c.submits, c.waits]).toEqual([1, 1]);
    }
  });
});
