// src/train/budget.ts: fitting steps and evaluations into a --time budget. CPU only.
import { describe, expect, it } from 'vitest';
import { EVAL_SHARE, fitBudget, refitSteps } from '../src/train/budget.ts';

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
