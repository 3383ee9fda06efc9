// Numbers the report shows per run, and the student's lesson: perplexity that looks fine next to
// answers that carry no content.

import type { EvalLine, Probe, RunData } from './load.ts';

export interface Thresholds {
  /** a final validation perplexity at or below this "looks fine" (GPT-2 vocabulary: ~50k choices) */
  pplFine: number;
  /** a QA keyword recall below this is "poor" */
  recallPoor: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { pplFine: 20, recallPoor: 0.3 };

export interface RunSummary {
  name: string;
  model?: string;
  params?: number;
  tokensSeen?: number;
  tokensSeenFrom?: 'run.json' | 'metrics';
  steps?: number;
  epochs?: number;
  wallS?: number;
  wallFrom?: 'run.json' | 'started/finished' | 'metrics';
  medianTokensPerS?: number;
  final: {
    step?: number;
    valLoss?: number;
    valPpl?: number;
    valPplUnseen?: number;
    recall?: number;
    /** the recall a shuffled (constant-like) answer gets, and recall − it (absent in old runs) */
    baseline?: number;
    lift?: number;
    onTopic?: number;
    startRight?: number;
    sensitivity?: number;
    verdict?: string;
  };
  /** the latest eval's probes (the model's final evidence) and the step they were taken at */
  probes: Probe[];
  probeStep?: number;
  /** problems found while summarising (added to the run's notes) */
  notes: string[];
}

export function median(xs: number[]): number | undefined {
  const a = xs.filter(Number.isFinite).sort((p, q) => p - q);
  if (!a.length) return undefined;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

function lastOf<T, V extends number | string>(xs: T[], pick: (x: T) => V | undefined): { v?: V; x?: T } {
  for (let i = xs.length - 1; i >= 0; i--) {
    const v = pick(xs[i]);
    if (v !== undefined) return { v, x: xs[i] };
  }
  return {};
}

export function pplOf(e: EvalLine): number | undefined {
  return e.val_ppl ?? (e.val_loss !== undefined ? Math.exp(e.val_loss) : undefined);
}

/** Tokens seen at each eval: its own `tokens`, else the train line at the same (or the latest earlier) step. */
export function evalTokens(run: RunData): (number | undefined)[] {
  const byStep = run.train
    .filter((t) => t.step !== undefined && t.tokens !== undefined)
    .sort((a, b) => a.step! - b.step!);
  return run.evals.map((e) => {
    if (e.tokens !== undefined) return e.tokens;
    if (e.step === undefined) return undefined;
    let best: number | undefined;
    for (const t of byStep) {
      if (t.step! <= e.step) best = t.tokens;
      else break;
    }
    return best;
  });
}

/** Rates are fractions in [0, 1]; a value in (1, 100] is read as a percentage. */
function rate(v: number | undefined, what: string, notes: string[]): number | undefined {
  if (v === undefined) return undefined;
  if (v > 1 && v <= 100) {
    const msg = `${what} looks like a percentage (${v}); read as ${v}%`;
    if (!notes.includes(msg)) notes.push(msg);
    return v / 100;
  }
  if (v < 0 || v > 1) {
    notes.push(`${what} ${v} is outside [0, 1]; ignored`);
    return undefined;
  }
  return v;
}

export function summarize(run: RunData): RunSummary {
  const m = run.meta;
  const notes: string[] = [];
  const lastTrain = run.train[run.train.length - 1];
  const s: RunSummary = { name: run.name, model: m.model, params: m.params, final: {}, probes: [], notes };

  if (m.tokens_seen !== undefined) {
    s.tokensSeen = m.tokens_seen;
    s.tokensSeenFrom = 'run.json';
  } else {
    const t = lastOf(run.train, (x) => x.tokens).v;
    if (t !== undefined) {
      s.tokensSeen = t;
      s.tokensSeenFrom = 'metrics';
    }
  }
  s.steps = m.steps ?? lastOf(run.train, (x) => x.step).v;
  s.epochs = m.epochs ?? lastOf(run.train, (x) => x.epoch).v;

  const started = m.started ? Date.parse(m.started) : NaN;
  const finished = m.finished ? Date.parse(m.finished) : NaN;
  if (m.wall_s !== undefined) {
    s.wallS = m.wall_s;
    s.wallFrom = 'run.json';
  } else if (Number.isFinite(started) && Number.isFinite(finished) && finished >= started) {
    s.wallS = (finished - started) / 1000;
    s.wallFrom = 'started/finished';
  } else if (lastTrain?.time_s !== undefined) {
    s.wallS = lastTrain.time_s;
    s.wallFrom = 'metrics';
  }
  if (m.started && !Number.isFinite(started)) notes.push(`run.json: "started" is not a date (${m.started})`);
  if (m.finished && !Number.isFinite(finished)) notes.push(`run.json: "finished" is not a date (${m.finished})`);

  const noTok = run.train.filter((t) => t.tokens === undefined).length;
  if (noTok)
    notes.push(
      `${noTok} train line${noTok > 1 ? 's have' : ' has'} no "tokens" field and ${noTok > 1 ? 'are' : 'is'} not plotted (charts use tokens seen)`,
    );
  const noX = evalTokens(run).filter((x) => x === undefined).length;
  if (noX)
    notes.push(
      `${noX} eval line${noX > 1 ? 's have' : ' has'} no "tokens" (nor a train line at its step) and ${noX > 1 ? 'are' : 'is'} not plotted`,
    );
  s.medianTokensPerS = median(run.train.map((t) => t.tokens_per_s).filter((v): v is number => v !== undefined));

  const ev = run.evals;
  const last = ev[ev.length - 1];
  s.final.step = last?.step;
  const ppl = lastOf(ev, pplOf);
  s.final.valPpl = ppl.v;
  s.final.valLoss = ppl.x?.val_loss ?? (ppl.v !== undefined ? Math.log(ppl.v) : undefined);
  s.final.valPplUnseen = lastOf(
    ev,
    (e) => e.val_ppl_unseen ?? (e.val_loss_unseen !== undefined ? Math.exp(e.val_loss_unseen) : undefined),
  ).v;
  s.final.recall = rate(lastOf(ev, (e) => e.qa_keyword_recall).v, 'qa_keyword_recall', notes);
  s.final.startRight = rate(lastOf(ev, (e) => e.qa_start_right).v, 'qa_start_right', notes);
  s.final.baseline = rate(lastOf(ev, (e) => e.qa_recall_baseline).v, 'qa_recall_baseline', notes);
  s.final.lift = lastOf(ev, (e) => e.qa_recall_lift).v;
  s.final.onTopic = rate(lastOf(ev, (e) => e.qa_on_topic).v, 'qa_on_topic', notes);
  s.final.sensitivity = lastOf(ev, (e) => e.prompt_sensitivity).v;
  s.final.verdict = lastOf(ev, (e) => e.verdict).v;
  if (ppl.x && last && ppl.x !== last)
    notes.push(
      `the last eval (step ${last.step ?? '?'}) has no validation loss; perplexity is from step ${ppl.x.step ?? '?'}`,
    );

  const withProbes = lastOf(ev, (e) => (e.probes?.length ? 1 : undefined)).x;
  if (withProbes) {
    s.probes = withProbes.probes!;
    s.probeStep = withProbes.step;
    if (withProbes !== last)
      notes.push(`the last eval has no probes; the evidence shown is from step ${withProbes.step ?? '?'}`);
  }
  return s;
}

export interface LessonItem {
  name: string;
  /** perplexity looks fine but answers are poor: the student's trap */
  flagged: boolean;
  /** one plain-words sentence (markdown-free, unescaped) */
  text: string;
}

export interface Lesson {
  items: LessonItem[];
  /** sentences where perplexity ranks two runs the opposite way to answer quality */
  inversions: string[];
  /** caveats (e.g. perplexities measured on different validation text) */
  caveats: string[];
}

export const pct = (v: number) => `${Math.round(v * 100)}%`;
export const fmtPpl = (v: number) =>
  v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 100 ? v.toFixed(0) : v.toFixed(2);

export function lesson(runs: RunData[], sums: RunSummary[], th: Thresholds = DEFAULT_THRESHOLDS): Lesson {
  const items: LessonItem[] = [];
  sums.forEach((s) => {
    const { valPpl: p, startRight: sr, lift, baseline, onTopic } = s.final;
    // the figure that counts is the recall above its shuffled baseline (a constant answer scores 0);
    // runs recorded before the baseline existed are judged by their raw recall
    const r = lift ?? s.final.recall;
    const start = [
      onTopic !== undefined ? `${pct(onTopic)} of answers on topic` : '',
      sr !== undefined ? `${pct(sr)} start right` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const recalls = (rv: number) =>
      (lift !== undefined
        ? `recalls ${pct(s.final.recall!)} of answer keywords, ${pct(rv)} above the ${pct(baseline ?? 0)} that other entities' answers get`
        : `recalls ${pct(rv)} of answer keywords`) + (start ? ` (${start})` : '');
    let text: string;
    let flagged = false;
    if (p === undefined && r === undefined)
      text = `${s.name}: no validation perplexity or QA recall recorded, so nothing to judge.`;
    else if (p === undefined) text = `${s.name} ${recalls(r!)}; no validation perplexity was recorded.`;
    else if (r === undefined)
      text = `${s.name}: validation perplexity ${fmtPpl(p)}; no QA keyword recall recorded, so whether its answers carry content is unknown.`;
    else if (p <= th.pplFine && r < th.recallPoor) {
      flagged = true;
      text = `${s.name} has validation perplexity ${fmtPpl(p)} — low enough to look fine (≤ ${th.pplFine}) — but ${recalls(r).replace(/^recalls/, 'recalls only')}: it learned generic word patterns, not content.`;
    } else if (p <= th.pplFine)
      text = `${s.name} has perplexity ${fmtPpl(p)} and ${recalls(r)}: its answers carry ${r >= 0.6 ? '' : 'some '}content.`;
    else if (r < th.recallPoor)
      text = `${s.name} has perplexity ${fmtPpl(p)} (above ${th.pplFine}) and ${recalls(r)}: poor on both counts — it has not learned its text yet.`;
    else
      text = `${s.name} has a high perplexity, ${fmtPpl(p)} (above ${th.pplFine}), yet ${recalls(r)}: its answers are better than its perplexity suggests.`;
    if (s.final.sensitivity !== undefined || s.final.verdict) {
      const k =
        s.final.sensitivity !== undefined ? `${s.final.sensitivity.toFixed(3)} nats mean KL from the null prompt` : '';
      text += ` Prompt sensitivity: ${k}${k && s.final.verdict ? ' — ' : ''}${(s.final.verdict ?? '').replace(/[.\s]+$/, '')}.`;
    }
    items.push({ name: s.name, flagged, text });
  });

  const inversions: string[] = [];
  for (const a of sums)
    for (const b of sums) {
      const pa = a.final.valPpl,
        pb = b.final.valPpl,
        ra = a.final.lift ?? a.final.recall,
        rb = b.final.lift ?? b.final.recall;
      if (a === b || pa === undefined || pb === undefined || ra === undefined || rb === undefined) continue;
      if (pa < pb && rb - ra >= 0.05) {
        inversions.push(
          `Perplexity ranks ${a.name} ahead of ${b.name} (${fmtPpl(pa)} < ${fmtPpl(pb)}), but ${b.name} recalls more answer keywords${a.final.lift !== undefined && b.final.lift !== undefined ? ' above the shuffled baseline' : ''} (${pct(rb)} vs ${pct(ra)}): lower perplexity did not mean better answers.`,
        );
      }
    }

  const caveats: string[] = [];
  const mixes = [...new Set(runs.map((r) => r.meta.data?.mix ?? 'unknown'))];
  if (sums.filter((s) => s.final.valPpl !== undefined).length > 1 && mixes.length > 1) {
    caveats.push(
      `Each run's perplexity is measured on its own validation text (data mixes: ${mixes.join(', ')}), so across runs it compares different things — one more reason to judge by the answers.`,
    );
  }
  return { items, inversions, caveats };
}
