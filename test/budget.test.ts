// src/train/budget.ts: fitting steps and evaluations into a --time budget. CPU only.
import { describe, expect, it } from 'vitest';
import { EVAL_SHARE, fitBudget, refitSteps, TimeBudget } from '../src/train/budget.ts';

describe('time budget', () => {
  it('fits steps and at most EVAL_SHARE of the budget in evaluations', () => {
    // 600 s budget, 590 s left, 0.5 s a step, 8 s an evaluation: 7 evaluations (56 s ≤ 60 s)
    const f = fitBudget({ budget: 600, left: 590, perStep: 0.5, evalCost: 8 });
    expect(f.evals).toBe(7);
    expect(f.evals * 8).toBeLessThanOrEqual(EVAL_SHARE * 600);
    expect(f.steps).toBe(Math.floor((590 - 56) / 0.5));
    // evaluations dearer than the share allows: still one (the final), and never more than 10
    expect(fitBudget({ budget: 600, left: 590, perStep: 0.5, evalCost: 100 }).evals).toBe(1);
    expect(fitBudget({ budget: 6000, left: 5990, perStep: 0.5, evalCost: 1 }).evals).toBe(10);
    // too short: no step fits
    expect(fitBudget({ budget: 10, left: 2, perStep: 1, evalCost: 5 }).steps).toBeLessThan(1);
  });

  it('refits to the time left, and ends at an evaluation rather than repeat it a few steps later', () => {
    // at step 444 of 1036, every 148: 4 evaluations to come (592, 740, 888, final)
    expect(refitSteps({ step: 444, totalSteps: 1036, evalEvery: 148, left: 300, perStep: 0.5, evalCost: 8 })).toBe(
      444 + Math.floor((300 - 4 * 8) / 0.5),
    );
    // the run measured slower than fitted: 30 steps would be left after this evaluation, under a
    // quarter of the 148-step interval, so this evaluation is the final one
    expect(refitSteps({ step: 888, totalSteps: 900, evalEvery: 148, left: 23, perStep: 0.5, evalCost: 8 })).toBe(888);
    // 40 steps left (over a quarter): they are run, with the final evaluation after them
    expect(refitSteps({ step: 888, totalSteps: 930, evalEvery: 148, left: 28, perStep: 0.5, evalCost: 8 })).toBe(928);
  });
});

describe('TimeBudget', () => {
  it('fits from steps 2..4 and one evaluation, then refits from what steps and evaluations cost since', () => {
    // a 100 s budget from t = 0; step 1 (compiling) ends at 10 s, steps 2..4 take 1 s each
    const b = new TimeBudget(100, 0);
    expect(b.measure(1, 10_000)).toBe(false);
    expect(b.measure(2, 11_000)).toBe(false);
    expect(b.measure(4, 13_000)).toBe(true);
    // the evaluation after step 4 took 2 s (ends at 15 s): 85 s left, evaluations at most 10% of 100 s
    const f = b.fit(4, 15_000, 2_000);
    expect(f.perStep).toBeCloseTo(1);
    expect(f.evalCost).toBeCloseTo(2);
    expect(f.evals).toBe(5);
    expect(f.steps).toBe(Math.floor(85 - 5 * 2));
    expect(b.fitted).toBe(true);
    // 20 steps later at 2 s a step (the machine slowed), an evaluation of 4 s ending at 59 s
    const r = b.refit({ step: 24, totalSteps: 4 + f.steps, evalEvery: 15, now: 59_000, evalMs: 4_000 });
    expect(r.perStep).toBeCloseTo((59_000 - 10_000 - 6_000) / 1000 / 23);
    expect(r.evalCost).toBeCloseTo(4);
    expect(b.left(59_000)).toBeCloseTo(41);
  });

  it('a budget too short for one more step is not fitted', () => {
    const b = new TimeBudget(12, 0);
    b.measure(1, 10_000);
    b.measure(4, 11_500);
    expect(b.fit(4, 12_000, 500).steps).toBeLessThan(1);
    expect(b.fitted).toBe(false);
  });
});
