// A time budget (--time): how many steps and evaluations fit into what is left of it. Pure
// arithmetic on measured costs, so that the trainer's loop only measures and applies.

/** At most this share of a time-budgeted run goes to evaluations (each costs what one measured). */
export const EVAL_SHARE = 0.1;
/** At most this many evaluations in a budgeted run, the final one included. */
const MAX_EVALS = 10;

/**
 * The first fit, after a few measured steps and one evaluation: `left` seconds remain, a step
 * costs `perStep` and an evaluation `evalCost` seconds. Returns the steps still to run (< 1: the
 * budget is too short) and how many evaluations to make along the way, the final one included.
 */
export function fitBudget(o: { budget: number; left: number; perStep: number; evalCost: number }): {
  steps: number;
  evals: number;
} {
  const evals = Math.max(1, Math.min(MAX_EVALS, Math.floor((EVAL_SHARE * o.budget) / o.evalCost)));
  return { steps: Math.floor((o.left - evals * o.evalCost) / o.perStep), evals };
}

/**
 * Whether `step` is within a quarter of an evaluation interval of the run's end at `totalSteps`:
 * an evaluation there would all but repeat the final one.
 */
export function nearEnd(step: number, totalSteps: number, evalEvery: number): boolean {
  return totalSteps - step < evalEvery / 4;
}

/**
 * The refit after an evaluation at `step`: the evaluations still to come and the steps that fill
 * the `left` seconds beside them. With `fixedEvery` (the user's --eval-every) the evaluations come
 * every `evalEvery` steps as planned; otherwise they are planned again so that all of them, the
 * `evalSpent` seconds of those made included, stay within EVAL_SHARE of the budget at what one
 * now costs (at least the final one, at most MAX_EVALS in all), spread evenly over the steps
 * left. When fewer than a quarter of the current evaluation interval would remain, the
 * evaluation just made is the final one: the run ends at `step` rather than repeat it a few steps
 * later. (The trainer also skips an evaluation due near the fitted end, so this happens only when
 * the machine slowed down since the last fit.)
 */
export function refitPlan(o: {
  step: number;
  totalSteps: number;
  evalEvery: number;
  fixedEvery: boolean;
  budget: number;
  left: number;
  perStep: number;
  evalCost: number;
  evalSpent: number;
  evalsMade: number;
}): { totalSteps: number; evalEvery: number } {
  const evals = o.fixedEvery
    ? Math.ceil((o.totalSteps - o.step) / o.evalEvery)
    : Math.max(1, Math.min(MAX_EVALS - o.evalsMade, Math.floor((EVAL_SHARE * o.budget - o.evalSpent) / o.evalCost)));
  const fit = Math.max(o.step + 1, o.step + Math.floor((o.left - evals * o.evalCost) / o.perStep));
  if (nearEnd(o.step, fit, o.evalEvery)) return { totalSteps: o.step, evalEvery: o.evalEvery };
  return { totalSteps: fit, evalEvery: o.fixedEvery ? o.evalEvery : Math.max(1, Math.ceil((fit - o.step) / evals)) };
}

/**
 * A --time budget as the trainer measures it: the steps after the first (which compiles the
 * kernels) up to step 4 give a step's cost, the evaluation that follows an evaluation's; the
 * first fit sizes the run from them, and every later evaluation refits it with what steps and
 * evaluations (their checkpoints included) have really cost since. Times are performance.now()
 * milliseconds; `t0` is when the run began, `seconds` the budget.
 */
export class TimeBudget {
  /** the step count was fitted in this process (and is refitted at each evaluation) */
  fitted = false;
  private from = { at: 0, step: 0 };
  private firstEvalMs = 0;
  /** every evaluation since the measurement began, the fit's included */
  private evalMs = 0;
  private evalsSinceFit = 0;

  constructor(
    readonly seconds: number,
    private readonly t0: number,
  ) {}

  /** Call after each step until the fit: true after step 4, when it is due. */
  measure(step: number, now: number): boolean {
    if (step === 1) this.from = { at: now, step };
    return step === 4;
  }

  /** The first fit, at `step`, just after one evaluation of `evalMs`: the steps still to run (< 1: too short). */
  fit(step: number, now: number, evalMs: number) {
    const perStep = (now - evalMs - this.from.at) / 1000 / (step - this.from.step);
    const evalCost = evalMs / 1000;
    this.firstEvalMs = this.evalMs = evalMs;
    const { steps, evals } = fitBudget({ budget: this.seconds, left: this.left(now), perStep, evalCost });
    this.fitted = steps >= 1;
    return { steps, evals, perStep, evalCost };
  }

  /** The refit after an evaluation of `evalMs` at `step` (see refitPlan): the new step count and evaluation interval. */
  refit(o: { step: number; totalSteps: number; evalEvery: number; fixedEvery: boolean; now: number; evalMs: number }) {
    this.evalMs += o.evalMs;
    this.evalsSinceFit++;
    const perStep = (o.now - this.from.at - this.evalMs) / 1000 / (o.step - this.from.step);
    const evalCost = (this.evalMs - this.firstEvalMs) / 1000 / this.evalsSinceFit;
    const plan = refitPlan({
      ...o,
      budget: this.seconds,
      left: this.left(o.now),
      perStep,
      evalCost,
      evalSpent: this.evalMs / 1000,
      evalsMade: this.evalsSinceFit + 1,
    });
    return { ...plan, perStep, evalCost };
  }

  /** Seconds of the budget left at `now`. */
  left(now: number) {
    return this.seconds - (now - this.t0) / 1000;
  }
}
