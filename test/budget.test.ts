// src/train/budget.ts: fitting steps and evaluations into a --time budget. CPU only.
import { describe, expect, it } from 'vitest';
import { EVAL_SHARE, fitBudget, refitPlan, TimeBudget } from '../src/train/budget.ts';

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
    const at = { budget: 600, perStep: 0.5, evalCost: 8, evalSpent: 40, evalsMade: 4, fixedEvery: true };
    // the user's --eval-every 148, at step 444 of 1036: 4 evaluations to come (592, 740, 888, final)
    expect(refitPlan({ ...at, step: 444, totalSteps: 1036, evalEvery: 148, left: 300 })).toEqual({
      totalSteps: 444 + Math.floor((300 - 4 * 8) / 0.5),
      evalEvery: 148,
    });
    // the run measured slower than fitted: 30 steps would be left after this evaluation, under a
    // quarter of the 148-step interval, so this evaluation is the final one
    expect(refitPlan({ ...at, step: 888, totalSteps: 900, evalEvery: 148, left: 23 }).totalSteps).toBe(888);
    // 40 steps left (over a quarter): they are run, with the final evaluation after them
    expect(refitPlan({ ...at, step: 888, totalSteps: 930, evalEvery: 148, left: 28 }).totalSteps).toBe(928);
  });

  it('plans the evaluations still to come within EVAL_SHARE of the budget at what one now costs', () => {
    // the fit planned 3 evaluations at 5 s each (every 52 steps); they cost 11 s. At step 52, 20 s
    // spent on two evaluations (the fit's included), 500 s left, 1.1 s a step: 60 - 20 = 40 s of the
    // share left = 3 more evaluations (the final included), spread over the steps left
    const p = refitPlan({
      step: 52,
      totalSteps: 160,
      evalEvery: 52,
      fixedEvery: false,
      budget: 600,
      left: 500,
      perStep: 1.1,
      evalCost: 11,
      evalSpent: 20,
      evalsMade: 2,
    });
    const steps = Math.floor((500 - 3 * 11) / 1.1);
    expect(p).toEqual({ totalSteps: 52 + steps, evalEvery: Math.ceil(steps / 3) });
    // all made, final included, stay within the share
    expect(20 + 3 * 11).toBeLessThanOrEqual(EVAL_SHARE * 600);
    // the share spent already: the final evaluation only, after all the steps left
    const q = refitPlan({
      ...{ step: 300, totalSteps: 400, evalEvery: 50, fixedEvery: false },
      budget: 600,
      left: 100,
      perStep: 1,
      evalCost: 11,
      evalSpent: 70,
      evalsMade: 7,
    });
    expect(q).toEqual({ totalSteps: 300 + 89, evalEvery: 89 });
    // never more than MAX_EVALS (10) in all
    const r = refitPlan({
      step: 10,
      totalSteps: 1000,
      evalEvery: 10,
      fixedEvery: false,
      budget: 6000,
      left: 5000,
      perStep: 1,
      evalCost: 1,
      evalSpent: 2,
      evalsMade: 2,
    });
    expect(r.evalEvery).toBe(Math.ceil(Math.floor(5000 - 8) / 8));
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
    const r = b.refit({
      step: 24,
      totalSteps: 4 + f.steps,
      evalEvery: 15,
      fixedEvery: false,
      now: 59_000,
      evalMs: 4_000,
    });
    expect(r.perStep).toBeCloseTo((59_000 - 10_000 - 6_000) / 1000 / 23);
    expect(r.evalCost).toBeCloseTo(4);
    expect(b.left(59_000)).toBeCloseTo(41);
    // 6 s of the 10 s share spent (both evaluations): one 4 s evaluation left, the final one
    expect(r.evalEvery).toBe(r.totalSteps - 24);
    expect(r.totalSteps).toBe(24 + Math.floor((41 - 4) / r.perStep));
  });

  it('a budget too short for one more step is not fitted', () => {
    const b = new TimeBudget(12, 0);
    b.measure(1, 10_000);
    b.measure(4, 11_500);
    expect(b.fit(4, 12_000, 500).steps).toBeLessThan(1);
    expect(b.fitted).toBe(false);
  });
});
