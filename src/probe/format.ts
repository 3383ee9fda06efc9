// Plain-text tables for the probe: top-k, per-token losses, the logit lens, the diagnosis, and
// blocks side by side (for --compare). Token labels come from tokenLabel(): spaces are ␣,
// newlines \n.
import type { Diagnosis, PromptDiagnosis } from './diagnose.ts';
import type { LensLayer, LossResult } from './inspect.ts';
import type { TopToken } from './stats.ts';

/** Display width in code points (labels are made visible, so no control characters remain). */
const width = (s: string) => [...s].length;
const padR = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - width(s)));
const padL = (s: string, n: number) => ' '.repeat(Math.max(0, n - width(s))) + s;

export function fmtProb(p: number): string {
  return p >= 1e-3 || p === 0 ? p.toFixed(4) : p.toExponential(2);
}

/** A string shown on one line, quoted, with newlines as \n (JSON's escapes). */
export function quoted(s: string): string {
  return JSON.stringify(s);
}

/** Columns: right-aligned except those named in `left`. */
export function table(head: string[], rows: string[][], left: number[] = []): string[] {
  const w = head.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (r: string[]) =>
    r
      .map((c, i) => (left.includes(i) ? padR(c, w[i]) : padL(c, w[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

export function topTable(top: TopToken[]): string[] {
  return table(
    ['rank', 'token', 'id', 'logit', 'prob'],
    top.map((t) => [String(t.rank), t.label, String(t.id), t.logit.toFixed(3), fmtProb(t.prob)]),
    [1],
  );
}

export function lossTable(loss: LossResult): string[] {
  if (!loss.tokens.length)
    return ['nothing to score: no token follows the prompt (a 1-token sequence has no predictions to score)'];
  const rows = loss.tokens.map((t) => [
    String(t.pos),
    t.label,
    String(t.id),
    t.nats.toFixed(4),
    t.bits.toFixed(4),
    String(t.rank),
    t.predicted.label,
  ]);
  return [
    ...table(['pos', 'token', 'id', 'nats', 'bits', 'rank', "model's top-1 there"], rows, [1, 6]),
    `total ${loss.totalNats.toFixed(4)} nats (${loss.totalBits.toFixed(4)} bits) over ${loss.tokens.length} token${loss.tokens.length === 1 ? '' : 's'}; ` +
      `mean ${loss.meanNats.toFixed(4)} nats (${loss.meanBits.toFixed(4)} bits) per token, perplexity ${loss.perplexity.toFixed(2)}`,
  ];
}

export function lensTable(lens: LensLayer[]): string[] {
  const rows = lens.map((l) => [String(l.layer), l.top.map((t) => `${t.label} ${fmtProb(t.prob)}`).join('  ')]);
  return table(['block', 'top tokens read from the residual stream after it (ln_f + lm_head)'], rows, [1]);
}

/** Blocks of lines next to each other, each padded to its widest line. */
export function sideBySide(blocks: string[][], gap = 6): string[] {
  const w = blocks.map((b) => Math.max(0, ...b.map(width)));
  const n = Math.max(...blocks.map((b) => b.length));
  const out: string[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      blocks
        .map((b, j) => (j < blocks.length - 1 ? padR(b[i] ?? '', w[j] + gap) : (b[i] ?? '')))
        .join('')
        .trimEnd(),
    );
  return out;
}

/** +0.123 / -0.123; a value that rounds to zero prints as +0.000 */
const signed = (x: number, d = 3) =>
  Math.abs(x) < 0.5 * 10 ** -d ? `+${(0).toFixed(d)}` : `${x >= 0 ? '+' : ''}${x.toFixed(d)}`;

function promptBlock(d: Diagnosis, p: PromptDiagnosis, i: number): string[] {
  const out = [`[${i + 1}] ${quoted(p.prompt)}`];
  const tables = sideBySide([
    [`after the prompt (top ${d.topK})`, ...topTable(p.top)],
    [`after the null prompt ${quoted(d.nullPrompt)}`, ...topTable(d.nullTop)],
  ]);
  out.push(...tables.map((l) => `    ${l}`));
  out.push(
    `    KL(prompt || null) ${p.kl.toFixed(4)} nats   entropy ${p.entropy.toFixed(3)} nats   function-word share of top-${d.topK} mass ${p.functionWordShare.toFixed(3)} (function words over the whole vocabulary: ${p.functionWordMass.toFixed(3)})`,
  );
  if (p.answer) {
    const a = p.answer;
    out.push(
      `    answer ${quoted(a.text)} (${a.ids.length} tokens): ln p ${a.logLik.toFixed(3)} after the question, ${a.logLikOther.toFixed(3)} after ${quoted(a.otherPrompt)}: ${signed(a.gainPerToken)} nats/token`,
    );
  }
  return out;
}

/** The diagnosis summary: one row per prompt, the means, the thresholds and the verdict. */
export function diagnoseSummary(d: Diagnosis): string[] {
  const rows = d.perPrompt.map((p) => [
    quoted(p.prompt).slice(1, -1),
    p.kl.toFixed(4),
    p.functionWordShare.toFixed(3),
    p.answer ? signed(p.answer.gainPerToken) : '-',
    p.top[0]?.label ?? '',
  ]);
  rows.push([
    'mean (gain: median)',
    d.meanKL.toFixed(4),
    d.functionWordShare.toFixed(3),
    d.medianLikelihoodGain !== undefined ? signed(d.medianLikelihoodGain) : '-',
    '',
  ]);
  const t = d.thresholds;
  return [
    ...table(['prompt', 'KL nats', 'fw share', 'gain nats/tok', 'top-1'], rows, [0, 4]),
    `thresholds: KL ≥ ${t.kl} nats, function-word share < ${t.functionWordShare}, median gain ≥ ${t.likelihoodGain} nats/token each vote "uses its prompt"; mean entropy ≥ ${t.uniformEntropy}·ln V is "untrained"`,
    `mean entropy ${d.meanEntropy.toFixed(3)} nats; prompt spread (mean KL of the prompts' predictions from their mixture) ${d.promptSpread.toFixed(4)} nats`,
    `verdict [${d.label}, usesPrompt=${d.usesPrompt}]: ${d.verdict}`,
  ];
}

/** The whole diagnosis: each prompt beside the null prompt, then the summary. */
export function diagnoseReport(d: Diagnosis): string[] {
  const out = [
    `diagnose: does the model use its prompt? ${d.perPrompt.length} prompt${d.perPrompt.length === 1 ? '' : 's'} against the null prompt ${quoted(d.nullPrompt)}`,
    '',
  ];
  d.perPrompt.forEach((p, i) => out.push(...promptBlock(d, p, i), ''));
  out.push('summary', ...diagnoseSummary(d));
  return out;
}
