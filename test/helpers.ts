// Shared test helpers: seeded random data, poisoned outputs, tolerance checks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { init } from '../src/gpu/runtime.ts';
import { Tensor } from '../src/gpu/tensor.ts';
import { fill } from '../src/ops/elementwise.ts';
import { uniform } from '../src/model/sample.ts';
import type { GPT2Config } from '../src/model/config.ts';
import type { Batch } from '../src/data/batch.ts';
import type { GPT2 } from '../src/model/gpt2.ts';
import { Tape } from '../src/tape/tape.ts';
import type { uploadBatch } from '../src/train/step.ts';

/** A fresh directory under the OS temp folder, removed when the test that asked for it finishes. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function setup() {
  return init();
}

/** a small seeded PRNG (mulberry32) */
export const rng = uniform;

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12),
      v = r();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/** An output tensor filled with NaN, so that any element a kernel fails to write fails the test. */
export function poisoned(shape: number[]): Tensor {
  const t = Tensor.empty(shape);
  fill(t, NaN);
  return t;
}

/** Every element finite and within atol + rtol·|ref| of the reference. */
export function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, rtol = 1e-4, atol = 1e-4, what = '') {
  expect(got.length, `${what} length`).toBe(ref.length);
  let worst = -1,
    worstErr = 0;
  for (let i = 0; i < ref.length; i++) {
    const g = got[i],
      r = ref[i];
    const err = Math.abs(g - r);
    if (!Number.isFinite(g) || !(err <= atol + rtol * Math.abs(r))) {
      if (worst < 0 || !Number.isFinite(g) || err > worstErr) {
        worst = i;
        worstErr = Number.isFinite(g) ? err : Infinity;
      }
    }
  }
  if (worst >= 0) {
    expect.fail(`${what} element ${worst}: got ${got[worst]}, expected ${ref[worst]} (|err| ${worstErr})`);
  }
}

/** relative L2 error ||got - ref|| / ||ref|| */
export function relL2(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (got[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/** A two-layer GPT-2 small enough for finite differences (vocabulary 97, padded to 128). */
export const tinyConfig: GPT2Config = {
  vocab_size: 97,
  padded_vocab_size: 128,
  n_positions: 32,
  n_embd: 32,
  n_layer: 2,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
  eos_token_id: 96,
};

/** B rows of T+1 random token ids below V (seeded). */
export function randomBatch(seed: number, B: number, T: number, V: number): Batch {
  const r = rng(seed);
  return { tokens: Int32Array.from({ length: B * (T + 1) }, () => Math.floor(r() * V)), B, T };
}

/** The model's loss on an uploaded batch, on a no-grad tape (the finite differences' side). */
export async function noGradLoss(model: GPT2, u: ReturnType<typeof uploadBatch>, batch: Batch): Promise<number> {
  const tape = new Tape({ recording: false });
  const { loss } = model.loss(tape, u.inputs, u.targets, batch.B, batch.T, { normalizer: u.count });
  const [l] = await loss.value.toArray();
  tape.free();
  return l;
}

/**
 * Check a parameter's gradient against central finite differences of the loss at two entries:
 * the one with the largest gradient and one drawn from `r` (entries with |grad| < 1e-3 are
 * skipped). Each must agree within 5% + 2e-4. Returns how many entries were checked.
 */
export async function checkGradientByDifferences(
  name: string,
  p: { value: Tensor; gradient: Tensor | null },
  lossAt: () => Promise<number>,
  r: () => number,
): Promise<number> {
  const grad = await p.gradient!.toArray();
  const values = await p.value.toArray();
  let big = 0;
  for (let i = 0; i < grad.length; i++) if (Math.abs(grad[i]) > Math.abs(grad[big])) big = i;
  let checked = 0;
  for (const i of [big, Math.floor(r() * grad.length)]) {
    if (Math.abs(grad[i]) < 1e-3) continue;
    const h = 1e-2 * Math.max(1, Math.abs(values[i]));
    p.value.write([values[i] + h], i);
    const lp = await lossAt();
    p.value.write([values[i] - h], i);
    const lm = await lossAt();
    p.value.write([values[i]], i);
    const fd = (lp - lm) / (2 * h);
    expect(Math.abs(fd - grad[i]), `${name}[${i}] fd ${fd} vs ${grad[i]}`).toBeLessThan(
      0.05 * Math.abs(grad[i]) + 2e-4,
    );
    checked++;
  }
  return checked;
}
