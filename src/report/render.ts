// Render runs into report.html (self-contained: inline CSS and SVG, no scripts, no network) and
// report.md (the same content; charts referenced as SVG files written beside it).
// Everything that comes from a run is escaped; the HTML is also well-formed XML.

import { MOTIVATING_PROMPTS } from '../motivation.ts';
import { colorFor, escapeXml as esc, formatCompact, lineChart, type Series } from './svg.ts';
import type { Probe, RunData, TopToken } from './load.ts';
import {
  DEFAULT_THRESHOLDS,
  evalTokens,
  fmtPpl,
  lesson,
  pct,
  pplOf,
  summarize,
  type RunSummary,
  type Thresholds,
} from './analyze.ts';

/** The student's two questions; their evidence comes first. */

export interface ReportOptions {
  title?: string;
  /** next-token rows per probe (default 5) */
  topK?: number;
  thresholds?: Thresholds;
  /** time stamp printed in the header (default: now) */
  generated?: string;
}

export interface ChartFile {
  file: string;
  title: string;
  svg: string;
}

export interface Report {
  html: string;
  md: string;
  /** the charts as standalone SVG (report.md links to them by `file`) */
  charts: ChartFile[];
  summaries: RunSummary[];
  /** names of the runs flagged "perplexity looks fine, answers are poor" */
  flagged: string[];
  /** how many notes the Notes section lists */
  noteCount: number;
}

/** Make whitespace and control characters visible: space ␣ (unless `spaces` is false, for running
 *  text such as answers), newline ↵, tab ⇥, CR ␍, others \uXXXX. */
export function visibleText(s: string, spaces = true): string {
  return (spaces ? s.replace(/ /g, '␣') : s)
    .replace(/\n/g, '↵')
    .replace(/\t/g, '⇥')
    .replace(/\r/g, '␍')
    .replace(
      /[\u0000-\u001F\u007F-\u009F\u00A0\u2028\u2029\uFEFF]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
    );
}

/** Escape text for a markdown paragraph or table cell (no line breaks, no inline HTML). */
export function mdEscape(s: string): string {
  return String(s)
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*_[\]<>|~&]/g, '\\$&');
}

const int = (v: number) => Math.round(v).toLocaleString('en-US');

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const t = Math.round(s);
  const h = Math.floor(t / 3600),
    m = Math.floor((t % 3600) / 60),
    sec = t % 60;
  return h ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min ${String(sec).padStart(2, '0')} s`;
}

const fmtParams = (p: number) => `${formatCompact(p)} (${int(p)})`;
const fmtProb = (p: number) => (p >= 0.001 ? `${(p * 100).toFixed(1)}%` : p > 0 ? '<0.1%' : '0%');

function truncate(s: string, max: number): string {
  const cps = [...s];
  return cps.length > max ? `${cps.slice(0, max - 1).join('')}…` : s;
}

// ---------------------------------------------------------------- table rows (shared by html and md)

interface Row {
  label: string;
  cells: string[];
  title?: string;
}

function runRows(runs: RunData[], sums: RunSummary[]): Row[] {
  const dash = '—';
  const row = (label: string, f: (r: RunData, s: RunSummary) => string | undefined): Row => ({
    label,
    cells: runs.map((r, i) => f(r, sums[i]) ?? dash),
  });
  return [
    row('directory', (r) => r.dir),
    row('model', (r) => r.meta.model),
    row('parameters', (r) => (r.meta.params !== undefined ? fmtParams(r.meta.params) : undefined)),
    row('architecture', (r) => {
      const c = r.meta.config;
      if (!c) return undefined;
      const parts = [
        c.n_layer !== undefined ? `${c.n_layer} layers` : '',
        c.n_embd !== undefined ? `${c.n_embd} wide` : '',
        c.n_head !== undefined ? `${c.n_head} heads` : '',
        c.n_positions !== undefined ? `context ${c.n_positions}` : '',
        c.vocab_size !== undefined ? `vocab ${int(c.vocab_size)}` : '',
      ].filter(Boolean);
      return parts.length ? parts.join(', ') : undefined;
    }),
    row('data mix', (r) => r.meta.data?.mix),
    row('data', (r) => {
      const st = r.meta.data?.stats ?? {};
      const names: [string, string][] = [
        ['entities', 'entities'],
        ['passages', 'passages'],
        ['qa_pairs', 'QA pairs'],
        ['tokens', 'tokens'],
      ];
      const parts = names.filter(([k]) => st[k] !== undefined).map(([k, l]) => `${formatCompact(st[k]!)} ${l}`);
      const files = r.meta.data?.files;
      if (files?.length)
        parts.push(
          `${files.length} file${files.length > 1 ? 's' : ''} (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''})`,
        );
      return parts.length ? parts.join(' · ') : undefined;
    }),
    row('loss on', (r) => r.meta.loss_on),
    row('tokens seen', (_r, s) =>
      s.tokensSeen !== undefined
        ? `${formatCompact(s.tokensSeen)}${s.tokensSeenFrom === 'metrics' ? ' (last train line)' : ''}`
        : undefined,
    ),
    row('epochs / steps', (_r, s) =>
      s.epochs !== undefined || s.steps !== undefined
        ? `${s.epochs !== undefined ? +s.epochs.toFixed(2) : '?'} / ${s.steps !== undefined ? int(s.steps) : '?'}`
        : undefined,
    ),
    row('wall time', (_r, s) =>
      s.wallS !== undefined
        ? `${formatDuration(s.wallS)}${s.wallFrom === 'metrics' ? ' (last train line)' : ''}`
        : undefined,
    ),
    row('training tokens/s (median)', (_r, s) =>
      s.medianTokensPerS !== undefined ? int(s.medianTokensPerS) : undefined,
    ),
    row('adapter', (r) => r.meta.adapter),
    row('started', (r) => r.meta.started),
    row('finished', (r) => r.meta.finished ?? (r.hasRunJson ? 'not recorded' : undefined)),
    row('checkpoint (final/)', (r) => (r.hasCheckpoint ? 'yes' : 'no')),
    row('args', (r) =>
      r.meta.args
        ? Object.entries(r.meta.args)
            .filter(([k]) => k !== '_' && k !== '$0')
            .map(([k, v]) => `--${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ')
        : undefined,
    ),
  ];
}

function lessonRows(sums: RunSummary[], flags: boolean[]): Row[] {
  const dash = '—';
  const row = (label: string, f: (s: RunSummary, i: number) => string | undefined): Row => ({
    label,
    cells: sums.map((s, i) => f(s, i) ?? dash),
  });
  return [
    row('final eval step', (s) => (s.final.step !== undefined ? int(s.final.step) : undefined)),
    row('validation perplexity', (s) => (s.final.valPpl !== undefined ? fmtPpl(s.final.valPpl) : undefined)),
    row('validation loss (nats/token)', (s) =>
      s.final.valLoss !== undefined ? s.final.valLoss.toFixed(3) : undefined,
    ),
    row('perplexity on unseen text', (s) =>
      s.final.valPplUnseen !== undefined ? fmtPpl(s.final.valPplUnseen) : undefined,
    ),
    row('QA keyword recall', (s) => (s.final.recall !== undefined ? pct(s.final.recall) : undefined)),
    row("shuffled baseline (other entities' answers)", (s) =>
      s.final.baseline !== undefined ? pct(s.final.baseline) : undefined,
    ),
    row('recall above the baseline', (s) => (s.final.lift !== undefined ? pct(s.final.lift) : undefined)),
    row('answers on topic', (s) => (s.final.onTopic !== undefined ? pct(s.final.onTopic) : undefined)),
    row('QA answers started right', (s) => (s.final.startRight !== undefined ? pct(s.final.startRight) : undefined)),
    row('prompt sensitivity (nats)', (s) =>
      s.final.sensitivity !== undefined ? s.final.sensitivity.toFixed(3) : undefined,
    ),
    row('verdict', (s) => s.final.verdict),
    row('flag', (_s, i) => (flags[i] ? '⚠ perplexity looks fine, answers are poor' : '')),
  ];
}

// ---------------------------------------------------------------- charts

function buildCharts(runs: RunData[]): ChartFile[] {
  const color = (i: number) => colorFor(i);
  const evalPts = (r: RunData, pick: (e: RunData['evals'][number]) => number | undefined): [number, number][] => {
    const xs = evalTokens(r);
    return r.evals
      .map((e, i) => [xs[i] ?? NaN, pick(e) ?? NaN] as [number, number])
      .filter(([x]) => Number.isFinite(x));
  };
  // dashed twins: only runs that have the data, explained in the chart title instead of the legend
  const withDashed = (main: Series[], dashed: Series[]): Series[] => [
    ...main,
    ...dashed.filter((s) => s.points.some(([, y]) => Number.isFinite(y))).map((s) => ({ ...s, legend: false })),
  ];
  const xLabel = 'tokens seen';

  const train: Series[] = runs.map((r, i) => ({
    name: r.name,
    color: color(i),
    points: r.train.filter((t) => t.tokens !== undefined).map((t) => [t.tokens!, t.loss ?? NaN] as [number, number]),
  }));
  const val = withDashed(
    runs.map((r, i) => ({
      name: r.name,
      color: color(i),
      points: evalPts(r, (e) => e.val_loss ?? (e.val_ppl !== undefined ? Math.log(e.val_ppl) : undefined)),
    })),
    runs.map((r, i) => ({
      name: `${r.name} (unseen)`,
      color: color(i),
      dash: true,
      points: evalPts(
        r,
        (e) => e.val_loss_unseen ?? (e.val_ppl_unseen !== undefined ? Math.log(e.val_ppl_unseen) : undefined),
      ),
    })),
  );
  const ppl = withDashed(
    runs.map((r, i) => ({ name: r.name, color: color(i), points: evalPts(r, pplOf) })),
    runs.map((r, i) => ({
      name: `${r.name} (unseen)`,
      color: color(i),
      dash: true,
      points: evalPts(
        r,
        (e) => e.val_ppl_unseen ?? (e.val_loss_unseen !== undefined ? Math.exp(e.val_loss_unseen) : undefined),
      ),
    })),
  );
  const asRate = (v: number | undefined) => (v === undefined ? undefined : v > 1 && v <= 100 ? v / 100 : v);
  const qa = withDashed(
    runs.map((r, i) => ({ name: r.name, color: color(i), points: evalPts(r, (e) => asRate(e.qa_keyword_recall)) })),
    runs.map((r, i) => ({
      name: `${r.name} started right`,
      color: color(i),
      dash: true,
      points: evalPts(r, (e) => asRate(e.qa_start_right)),
    })),
  );
  const pctFmt = (v: number) => `${Math.round(v * 100)}%`;
  const unseen = (ss: Series[]) => (ss.some((x) => x.dash) ? ' (dashed: unseen text)' : '');
  return [
    {
      file: 'report-train-loss.svg',
      title: 'Training loss',
      svg: lineChart({
        title: 'Training loss',
        xLabel,
        yLabel: 'loss (nats/token)',
        series: train,
        idPrefix: 'train-loss',
      }),
    },
    {
      file: 'report-val-loss.svg',
      title: 'Validation loss',
      svg: lineChart({
        title: `Validation loss${unseen(val)}`,
        xLabel,
        yLabel: 'loss (nats/token)',
        series: val,
        idPrefix: 'val-loss',
      }),
    },
    {
      file: 'report-val-ppl.svg',
      title: 'Validation perplexity',
      svg: lineChart({
        title: `Validation perplexity${unseen(ppl)}`,
        xLabel,
        yLabel: 'perplexity',
        series: ppl,
        logY: true,
        idPrefix: 'val-ppl',
      }),
    },
    {
      file: 'report-qa.svg',
      title: 'QA keyword recall',
      svg: lineChart({
        title: `QA keyword recall${qa.some((x) => x.dash) ? ' (dashed: answers started right)' : ''}`,
        xLabel,
        yLabel: 'share of QA pairs',
        series: qa,
        yDomain: [0, 1],
        formatY: pctFmt,
        idPrefix: 'qa',
      }),
    },
  ];
}

// ---------------------------------------------------------------- evidence

interface PromptGroup {
  prompt: string;
  byRun: (Probe | undefined)[];
}

function promptGroups(sums: RunSummary[]): PromptGroup[] {
  const order: string[] = [];
  for (const p of MOTIVATING_PROMPTS) if (sums.some((s) => s.probes.some((q) => q.prompt === p))) order.push(p);
  for (const s of sums) for (const q of s.probes) if (!order.includes(q.prompt)) order.push(q.prompt);
  return order.map((prompt) => ({ prompt, byRun: sums.map((s) => s.probes.find((q) => q.prompt === prompt)) }));
}

function tokenParts(t: TopToken): { tok: string; logit: string; prob: string } {
  return {
    tok: visibleText(t.token),
    logit: t.logit !== undefined ? t.logit.toFixed(2) : '—',
    prob: t.prob !== undefined ? fmtProb(t.prob) : '—',
  };
}

/** An answer for HTML: newlines shown as ↵ and kept as line breaks, other invisibles made visible. */
function htmlAnswer(a: string): string {
  return truncate(a, 400)
    .split('\n')
    .map((line) => esc(visibleText(line, false)))
    .join('↵\n');
}

// ---------------------------------------------------------------- html

const CSS = `
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 2rem auto; max-width: 1180px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { font-size: 1.02rem; margin: 1.4rem 0 .4rem; }
.meta, .muted { color: #666; }
table { border-collapse: collapse; margin: .6rem 0; font-size: 13.5px; }
th, td { border: 1px solid #d6d6d6; padding: .3rem .55rem; text-align: left; vertical-align: top; }
thead th { background: #f3f3f3; }
tbody th { background: #fafafa; font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sw { display: inline-block; width: .8em; height: .8em; border-radius: 2px; margin-right: .35em; vertical-align: -.05em; }
code { font: 12.5px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
code.tok { background: #eef3f8; border: 1px solid #d5e0ea; border-radius: 3px; padding: 0 .25em; white-space: pre; }
code.ans { white-space: pre-wrap; word-break: break-word; }
span.lg, span.pr { font-variant-numeric: tabular-nums; color: #444; margin-left: .4em; }
span.pr { color: #777; }
td.flag { background: #fff3e0; }
li.flag { background: #fff3e0; padding: .15rem .4rem; border-left: 3px solid #D55E00; }
figure.chart { margin: 1rem 0; }
figure.chart svg { max-width: 100%; height: auto; border: 1px solid #eee; }
td.args code { white-space: pre-wrap; word-break: break-all; }
.key { font-size: 13px; color: #555; }
`;

const swatch = (i: number) => `<span class="sw" style="background:${esc(colorFor(i))}"></span>`;

function htmlRowsTable(
  runs: RunData[],
  rows: Row[],
  opts: { numeric?: Set<string>; flagCol?: boolean[]; cls?: string } = {},
): string {
  const head = `<thead><tr><th></th>${runs.map((r, i) => `<th>${swatch(i)}${esc(r.name)}</th>`).join('')}</tr></thead>`;
  const body = rows
    .map((row) => {
      const cells = row.cells
        .map((c, i) => {
          const cls = [
            opts.numeric?.has(row.label) ? 'num' : '',
            opts.flagCol?.[i] ? 'flag' : '',
            row.label === 'args' ? 'args' : '',
          ]
            .filter(Boolean)
            .join(' ');
          const content =
            (row.label === 'args' || row.label === 'directory') && c !== '—' ? `<code>${esc(c)}</code>` : esc(c);
          return `<td${cls ? ` class="${cls}"` : ''}>${content}</td>`;
        })
        .join('');
      return `<tr><th>${esc(row.label)}</th>${cells}</tr>`;
    })
    .join('\n');
  return `<table${opts.cls ? ` class="${opts.cls}"` : ''}>${head}<tbody>\n${body}\n</tbody></table>`;
}

function renderHtml(title: string, generated: string, runs: RunData[], sums: RunSummary[], ctx: Ctx): string {
  const { charts, les, flags, groups, topK, th, notes } = ctx;
  const o: string[] = [];
  o.push('<!DOCTYPE html>');
  o.push('<html lang="en" xmlns="http://www.w3.org/1999/xhtml">');
  o.push(
    `<head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/><title>${esc(title)}</title><style>${CSS}</style></head>`,
  );
  o.push('<body>');
  o.push(`<h1>${esc(title)}</h1>`);
  o.push(
    `<p class="meta">Generated ${esc(generated)} from ${runs.length} run${runs.length > 1 ? 's' : ''}: ${runs.map((r, i) => `${swatch(i)}${esc(r.name)}`).join(', ')}.</p>`,
  );
  o.push(
    '<p class="meta"><a href="#runs">Runs</a> · <a href="#lesson">Perplexity vs. answers</a> · <a href="#charts">Charts</a> · <a href="#evidence">Next-token evidence</a> · <a href="#notes">Notes</a></p>',
  );

  o.push('<section id="runs"><h2>Runs</h2>');
  o.push(
    htmlRowsTable(runs, runRows(runs, sums), {
      numeric: new Set(['parameters', 'tokens seen', 'epochs / steps', 'training tokens/s (median)']),
    }),
  );
  o.push('</section>');

  o.push('<section id="lesson"><h2>Perplexity vs. answers</h2>');
  o.push(
    `<p>Low perplexity says a model predicts the next token of text like its validation text well; it does not say the model answers questions. Here each run's final validation perplexity stands next to the share of expected answer keywords its greedy answers contain, and beside it the recall that other entities' answers get against the same references (the shuffled baseline: a model that gives one answer to every question scores exactly its baseline, so the figure that counts is the recall above it), the share of answers on topic and how often an answer starts right. A run is flagged when its perplexity is at or below ${esc(th.pplFine)} but its recall above the baseline (its raw recall, for runs recorded without one) is below ${esc(pct(th.recallPoor))}.</p>`,
  );
  o.push(
    htmlRowsTable(runs, lessonRows(sums, flags), {
      numeric: new Set([
        'final eval step',
        'validation perplexity',
        'validation loss (nats/token)',
        'perplexity on unseen text',
        'QA keyword recall',
        "shuffled baseline (other entities' answers)",
        'recall above the baseline',
        'answers on topic',
        'QA answers started right',
        'prompt sensitivity (nats)',
      ]),
      flagCol: flags,
      cls: 'lesson',
    }),
  );
  o.push('<ul class="lesson">');
  for (const it of les.items)
    o.push(`<li${it.flagged ? ' class="flag"' : ''}>${it.flagged ? '⚠ ' : ''}${esc(it.text)}</li>`);
  o.push('</ul>');
  for (const s of les.inversions) o.push(`<p class="inversion">${esc(s)}</p>`);
  for (const s of les.caveats) o.push(`<p class="muted">${esc(s)}</p>`);
  o.push('</section>');

  o.push('<section id="charts"><h2>Charts</h2>');
  o.push('<p class="muted">All runs on the same axes, one colour per run; x is tokens seen.</p>');
  for (const c of charts) o.push(`<figure class="chart">${c.svg}</figure>`);
  o.push('</section>');

  o.push('<section id="evidence"><h2>Next-token evidence</h2>');
  o.push(
    `<p>For each probe prompt, every model's top ${topK} next tokens at its last evaluation (logit, then probability) and its greedy answer. The student's questions come first.</p>`,
  );
  o.push(
    '<p class="key">Key: <code class="tok">␣</code> space, <code class="tok">↵</code> newline, <code class="tok">⇥</code> tab, <code class="tok">\\u0001</code> other invisible characters.</p>',
  );
  o.push('<h3>Does the prompt matter?</h3>');
  o.push(
    '<table><thead><tr><th>run</th><th>prompt sensitivity (mean KL vs. null prompt, nats)</th><th>verdict</th><th>probes from step</th></tr></thead><tbody>',
  );
  sums.forEach((s, i) =>
    o.push(
      `<tr><th>${swatch(i)}${esc(s.name)}</th><td class="num">${s.final.sensitivity !== undefined ? esc(s.final.sensitivity.toFixed(3)) : '—'}</td><td>${esc(s.final.verdict ?? '—')}</td><td class="num">${s.probeStep !== undefined ? esc(int(s.probeStep)) : '—'}</td></tr>`,
    ),
  );
  o.push('</tbody></table>');
  if (!groups.length) o.push('<p class="muted">No run recorded probes.</p>');
  for (const g of groups) {
    o.push(
      `<h3>Prompt <code class="tok">${esc(visibleText(g.prompt, false))}</code>${MOTIVATING_PROMPTS.includes(g.prompt) ? ' <span class="muted">(motivating question)</span>' : ''}</h3>`,
    );
    o.push(
      `<table class="evidence"><thead><tr><th>rank</th>${runs.map((r, i) => `<th>${swatch(i)}${esc(r.name)}</th>`).join('')}</tr></thead><tbody>`,
    );
    for (let k = 0; k < topK; k++) {
      if (!g.byRun.some((p) => p?.top[k])) break;
      const cells = g.byRun
        .map((p) => {
          const t = p?.top[k];
          if (!t) return `<td class="muted">${p ? '' : k === 0 ? 'not probed' : ''}</td>`;
          const { tok, logit, prob } = tokenParts(t);
          return `<td><code class="tok">${esc(tok)}</code><span class="lg">${esc(logit)}</span><span class="pr">${esc(prob)}</span></td>`;
        })
        .join('');
      o.push(`<tr><td class="num">${k + 1}</td>${cells}</tr>`);
    }
    const answers = g.byRun
      .map((p) =>
        p?.answer !== undefined
          ? `<td><code class="ans">${htmlAnswer(p.answer)}</code></td>`
          : `<td class="muted">${p ? 'no answer recorded' : 'not probed'}</td>`,
      )
      .join('');
    o.push(`<tr><th>greedy answer</th>${answers}</tr>`);
    o.push('</tbody></table>');
  }
  o.push('</section>');

  o.push('<section id="notes"><h2>Notes</h2>');
  if (!notes.length) o.push('<p>Nothing was missing.</p>');
  for (const n of notes) o.push(`<h3>${esc(n.name)}</h3><ul>${n.items.map((t) => `<li>${esc(t)}</li>`).join('')}</ul>`);
  o.push('</section>');
  o.push('</body>');
  o.push('</html>');
  return `${o.join('\n')}\n`;
}

// ---------------------------------------------------------------- markdown

function mdRowsTable(runs: RunData[], rows: Row[]): string {
  const head = `| | ${runs.map((r) => mdEscape(r.name)).join(' | ')} |`;
  const sep = `|---|${runs.map(() => '---').join('|')}|`;
  return [head, sep, ...rows.map((r) => `| ${mdEscape(r.label)} | ${r.cells.map(mdEscape).join(' | ')} |`)].join('\n');
}

function renderMd(title: string, generated: string, runs: RunData[], sums: RunSummary[], ctx: Ctx): string {
  const { charts, les, flags, groups, topK, th, notes } = ctx;
  const o: string[] = [];
  o.push(`# ${mdEscape(title)}`, '');
  o.push(
    `Generated ${mdEscape(generated)} from ${runs.length} run${runs.length > 1 ? 's' : ''}: ${runs.map((r) => mdEscape(r.name)).join(', ')}.`,
    '',
  );
  o.push('## Runs', '', mdRowsTable(runs, runRows(runs, sums)), '');
  o.push('## Perplexity vs. answers', '');
  o.push(
    `Low perplexity says a model predicts text like its validation text well; it does not say the model answers questions. The recall that counts is the one above its shuffled baseline (what other entities' answers score against the same references; a constant answer scores exactly the baseline). A run is flagged (⚠) when its perplexity is at or below ${th.pplFine} but its recall above the baseline (raw recall for runs without one) is below ${pct(th.recallPoor)}.`,
    '',
  );
  o.push(mdRowsTable(runs, lessonRows(sums, flags)), '');
  for (const it of les.items) o.push(`- ${it.flagged ? '⚠ **' : ''}${mdEscape(it.text)}${it.flagged ? '**' : ''}`);
  o.push('');
  for (const s of les.inversions) o.push(mdEscape(s), '');
  for (const s of les.caveats) o.push(`*${mdEscape(s)}*`, '');
  o.push('## Charts', '');
  o.push('All runs on the same axes, one colour per run; x is tokens seen.', '');
  for (const c of charts) o.push(`![${mdEscape(c.title)}](${c.file})`, '');
  o.push('## Next-token evidence', '');
  o.push(
    `Top ${topK} next tokens per probe prompt at each run's last evaluation: token, logit (probability). Key: ␣ space, ↵ newline, ⇥ tab.`,
    '',
  );
  o.push('| run | prompt sensitivity (nats) | verdict | probes from step |', '|---|---|---|---|');
  for (const s of sums)
    o.push(
      `| ${mdEscape(s.name)} | ${s.final.sensitivity !== undefined ? s.final.sensitivity.toFixed(3) : '—'} | ${mdEscape(s.final.verdict ?? '—')} | ${s.probeStep !== undefined ? int(s.probeStep) : '—'} |`,
    );
  o.push('');
  if (!groups.length) o.push('No run recorded probes.', '');
  for (const g of groups) {
    o.push(
      `### ${mdEscape(visibleText(g.prompt, false))}${MOTIVATING_PROMPTS.includes(g.prompt) ? ' (motivating question)' : ''}`,
      '',
    );
    o.push(`| rank | ${runs.map((r) => mdEscape(r.name)).join(' | ')} |`, `|---|${runs.map(() => '---').join('|')}|`);
    for (let k = 0; k < topK; k++) {
      if (!g.byRun.some((p) => p?.top[k])) break;
      o.push(
        `| ${k + 1} | ${g.byRun
          .map((p) => {
            const t = p?.top[k];
            if (!t) return p ? '' : k === 0 ? 'not probed' : '';
            const { tok, logit, prob } = tokenParts(t);
            return `${mdEscape(tok)} ${logit} (${prob})`;
          })
          .join(' | ')} |`,
      );
    }
    o.push(
      `| greedy answer | ${g.byRun.map((p) => (p?.answer !== undefined ? mdEscape(visibleText(truncate(p.answer, 400), false)) : p ? 'no answer recorded' : 'not probed')).join(' | ')} |`,
      '',
    );
  }
  o.push('## Notes', '');
  if (!notes.length) o.push('Nothing was missing.', '');
  for (const n of notes) {
    o.push(`**${mdEscape(n.name)}**`, '');
    for (const t of n.items) o.push(`- ${mdEscape(t)}`);
    o.push('');
  }
  return o.join('\n');
}

// ---------------------------------------------------------------- entry

interface Ctx {
  charts: ChartFile[];
  les: ReturnType<typeof lesson>;
  flags: boolean[];
  groups: PromptGroup[];
  topK: number;
  th: Thresholds;
  notes: { name: string; items: string[] }[];
}

export function renderReport(runs: RunData[], opts: ReportOptions = {}): Report {
  const th = opts.thresholds ?? DEFAULT_THRESHOLDS;
  const topK = Math.max(1, Math.min(50, Math.floor(opts.topK ?? 5)));
  const sums = runs.map(summarize);
  const les = lesson(runs, sums, th);
  const flags = les.items.map((i) => i.flagged);
  const groups = promptGroups(sums);
  const charts = buildCharts(runs);

  const general: string[] = [];
  for (const p of MOTIVATING_PROMPTS)
    if (!groups.some((g) => g.prompt === p)) general.push(`no run probed the motivating question ${JSON.stringify(p)}`);
  const notes = [
    ...runs.map((r, i) => ({ name: r.name, items: [...r.notes, ...sums[i].notes] })).filter((x) => x.items.length),
    ...(general.length ? [{ name: 'all runs', items: general }] : []),
  ];
  const title = opts.title ?? `Training report: ${runs.map((r) => r.name).join(' vs. ')}`;
  const generated = opts.generated ?? new Date().toISOString();
  const ctx: Ctx = { charts, les, flags, groups, topK, th, notes };
  return {
    html: renderHtml(title, generated, runs, sums, ctx),
    md: renderMd(title, generated, runs, sums, ctx),
    charts,
    summaries: sums,
    flagged: les.items.filter((i) => i.flagged).map((i) => i.name),
    noteCount: notes.reduce((a, x) => a + x.items.length, 0),
  };
}
