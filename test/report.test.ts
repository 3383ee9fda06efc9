// src/report.ts and src/report/*: the run-comparison report, from small fixture runs (no GPU).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lineChart } from '../src/report/svg.ts';
import { xmlProblems } from '../src/report/xml.ts';
import { loadRun, parseMetrics } from '../src/report/load.ts';
import { renderReport, visibleText } from '../src/report/render.ts';
import { runReportCli } from '../src/report/cli.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = path.join(root, 'test/fixtures/runs');
const RUNS = ['scratch-mixed', 'scratch-art', 'distilgpt2-ft', 'broken'];

/** The command in-process (fast); `spawned` below runs the real entry point once. */
function cli(args: string[], cwd = root) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runReportCli(args, { log: (s) => out.push(s), error: (s) => err.push(s), cwd });
  return { code, out: out.map((s) => `${s}\n`).join(''), err: err.map((s) => `${s}\n`).join('') };
}

const svgsIn = (html: string) => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];

let tmp: string;
let html: string;
let md: string;
let cliRun: ReturnType<typeof cli>;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'report-test-'));
  cliRun = cli([...RUNS.map((r) => path.join(fixtures, r)), '--out', path.join(tmp, 'out')]);
  html = readFileSync(path.join(tmp, 'out/report.html'), 'utf8');
  md = readFileSync(path.join(tmp, 'out/report.md'), 'utf8');
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('report CLI on the fixture runs', () => {
  it('writes report.html, report.md and the chart SVGs, and says what it flagged', () => {
    expect(cliRun.code, cliRun.err).toBe(0);
    for (const f of [
      'report.html',
      'report.md',
      'report-train-loss.svg',
      'report-val-loss.svg',
      'report-val-ppl.svg',
      'report-qa.svg',
    ]) {
      expect(existsSync(path.join(tmp, 'out', f)), f).toBe(true);
    }
    expect(cliRun.out).toMatch(/flagged \(perplexity looks fine, answers poor\): scratch-mixed\n/);
    expect(cliRun.out).toMatch(/notes? on missing or damaged input/);
  });

  it('is self-contained: no scripts, no external references', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b|@import|url\((?!#)/i);
  });

  it('has every run in the runs table, with its facts', () => {
    const runs = html.slice(
      html.indexOf('<section id="runs">'),
      html.indexOf('</section>', html.indexOf('<section id="runs">')),
    );
    for (const r of RUNS) {
      expect(runs).toContain(`</span>${r}</th>`);
      expect(md).toContain(r);
    }
    for (const s of [
      'distilgpt2',
      '81.9M (81,912,576)',
      'llvmpipe: Mesa 25.0.7',
      'mixed',
      '49.2k',
      '1.5 / 12',
      '9.6 s',
      'training tokens/s (median)',
    ])
      expect(runs).toContain(s);
    // median of scratch-mixed's 12 tokens_per_s values
    expect(runs).toContain('5,245');
  });

  it('has the four charts, each an SVG with a title and a legend naming every run', () => {
    const svgs = svgsIn(html);
    expect(svgs).toHaveLength(4);
    const titles = svgs.map((s) => /<title id="[^"]+">([^<]*)<\/title>/.exec(s)?.[1]);
    expect(titles).toEqual([
      'Training loss',
      'Validation loss (dashed: unseen text)',
      'Validation perplexity (dashed: unseen text)',
      'QA keyword recall (dashed: answers started right)',
    ]);
    for (const s of svgs) for (const r of RUNS) expect(s).toMatch(new RegExp(`>${r}</text>`));
    for (const s of svgs) expect(s).not.toMatch(/NaN|Infinity/);
    // one colour per run, the same in every chart
    expect(svgs[0]).toContain('stroke="#0072B2"');
    expect(svgs[3]).toContain('stroke="#0072B2"');
    expect(md).toContain('![Training loss](report-train-loss.svg)');
  });

  it('shows the motivating evidence side by side: tokens, logits, probabilities, answers', () => {
    const ev = html.slice(html.indexOf('<section id="evidence">'));
    const imp = ev.indexOf('Q: What is Impressionism?↵A:');
    const vg = ev.indexOf('Q: Who was Vincent van Gogh?↵A:');
    const other = ev.indexOf('The capital of France is');
    expect(imp).toBeGreaterThan(0);
    expect(vg).toBeGreaterThan(imp); // motivating questions first, in the student's order, even though a run probed van Gogh first
    expect(other).toBeGreaterThan(vg);
    const table = ev.slice(imp, vg);
    for (const s of [
      '<code class="tok">␣the</code><span class="lg">6.01</span>',
      '<code class="tok">␣an</code><span class="lg">5.55</span>',
      '<code class="tok">␣a</code><span class="lg">3.71</span>',
      '<code class="tok">↵</code>',
      '␣Impression',
      '45.3%',
    ])
      expect(table).toContain(s);
    expect(table).toContain(' the cochlea of the inner ear.↵\nQ: What is the');
    expect(table).toContain('not probed'); // the broken run
    expect(ev).toContain('prompt barely matters: the same words follow any question');
    expect(md).toMatch(
      /\| 1 \| ␣the 6\.01 \(45\.3%\) \| ␣Impression 7\.20 \(60\.9%\) \| ␣Impression 9\.40 \(93\.0%\) \| not probed \|/,
    );
  });

  it('states the lesson in numbers and flags the mixed run only', () => {
    const lesson = html.slice(html.indexOf('<section id="lesson">'), html.indexOf('<section id="charts">'));
    const flagged = lesson.match(/<li class="flag">[^<]*<\/li>/g) ?? [];
    expect(flagged).toHaveLength(1);
    expect(flagged[0]).toContain('scratch-mixed has validation perplexity 7.65');
    expect(flagged[0]).toContain('recalls only 6% of answer keywords');
    expect(flagged[0]).toContain('it learned generic word patterns, not content');
    expect(lesson).toContain('scratch-art has perplexity 11.30 and recalls 42% of answer keywords');
    expect(lesson).toContain(
      'Perplexity ranks scratch-mixed ahead of scratch-art (7.65 &lt; 11.30), but scratch-art recalls more answer keywords (42% vs 6%)',
    );
    expect(lesson).toContain('data mixes: mixed, art, unknown');
    expect(md).toContain('- ⚠ **scratch-mixed has validation perplexity 7.65');
  });

  it('shows redone steps of a resumed run once, and notes a metrics.jsonl it cannot read', () => {
    const line = (type: string, step: number, loss: number) =>
      `${JSON.stringify({ type, step, loss, val_loss: loss })}\n`;
    const p = parseMetrics(
      [1, 2, 3, 4, 3, 4, 5].map((st, i) => line('train', st, i)).join('') + line('eval', 4, 9) + line('eval', 4, 8),
    );
    expect(p.train.map((t) => [t.step, t.loss])).toEqual([
      [1, 0],
      [2, 1],
      [3, 4],
      [4, 5],
      [5, 6],
    ]);
    expect(p.evals.map((e) => e.val_loss)).toEqual([8]);
    expect(p.notes.join(' ')).toMatch(/2 train lines redone after a resume.*1 eval line redone/);
    const dir = path.join(tmp, 'metrics-dir');
    mkdirSync(path.join(dir, 'metrics.jsonl'), { recursive: true });
    const run = loadRun(dir);
    expect(run.hasMetrics).toBe(false);
    expect(run.notes.join(' ')).toMatch(/metrics\.jsonl cannot be read \(EISDIR\)/);
  });

  it('lists what was missing or damaged for the broken run in Notes', () => {
    const notes = html.slice(html.indexOf('<section id="notes">'));
    expect(notes).toContain('<h3>broken</h3>');
    expect(notes).toContain('no run.json');
    expect(notes).toContain('the last line (line 8) is cut off');
    expect(notes).toContain('1 line of unknown type &quot;checkpoint&quot; ignored');
    expect(notes).toContain('no eval line has probes');
    expect(notes).not.toContain('<h3>scratch-mixed</h3>');
    // the broken run still contributes what it has: a training curve and its one eval
    const m = /<h3>broken<\/h3>/.test(md) || md.includes('**broken**');
    expect(m).toBe(true);
    expect(svgsIn(html)[0]).not.toContain('broken (no data)');
  });

  it('escapes everything from the runs', () => {
    expect(html).toContain('Q: Is &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; art?↵A:');
    expect(html).toContain('&lt;/td&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).not.toContain('\u0001');
    expect(html).toContain('<code class="tok">\\u0001</code><span class="lg">4.00</span>');
    expect(html).toContain('<code class="tok">⇥|</code>');
    expect(md).toContain('\\</td\\>\\<script\\>');
    expect(md).toContain('⇥\\|');
    // every markdown table row has the same number of cells as its header
    for (const block of md.split('\n\n').filter((b) => b.startsWith('|'))) {
      const rows = block.split('\n');
      const cells = (r: string) => r.replace(/\\\|/g, '').split('|').length;
      for (const r of rows) expect(cells(r), r).toBe(cells(rows[0]));
    }
  });

  it('the HTML and every SVG are well-formed XML', () => {
    expect(xmlProblems(html)).toEqual([]);
    for (const s of svgsIn(html)) expect(xmlProblems(s)).toEqual([]);
    for (const f of ['report-train-loss.svg', 'report-val-loss.svg', 'report-val-ppl.svg', 'report-qa.svg']) {
      expect(xmlProblems(readFileSync(path.join(tmp, 'out', f), 'utf8')), f).toEqual([]);
    }
  });
});

describe('report CLI arguments', () => {
  it('defaults --out to report/ beside the first run directory, and names it', () => {
    const runs = path.join(tmp, 'runs');
    mkdirSync(runs);
    cpSync(path.join(fixtures, 'scratch-art'), path.join(runs, 'scratch-art'), { recursive: true });
    const r = cli(['runs/scratch-art'], tmp);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`wrote ${path.join('runs', 'report', 'report.html')}`);
    expect(r.out).toContain(`into ${path.join('runs', 'report')}${path.sep}\n`);
    for (const f of ['report.html', 'report.md', 'report-train-loss.svg'])
      expect(existsSync(path.join(runs, 'report', f)), f).toBe(true);
    expect(existsSync(path.join(runs, 'report.html'))).toBe(false);
  });

  it('a missing run directory is a one-line error and a non-zero exit (the real entry point)', () => {
    const missing = path.join(tmp, 'no-such-run');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/report.ts', path.join(fixtures, 'scratch-art'), missing],
      { cwd: root, encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`report: no such run directory: ${missing}`]);
    expect(r.stdout).toBe('');
    expect(existsSync(path.join(fixtures, 'report.html'))).toBe(false);
    expect(existsSync(path.join(fixtures, 'report'))).toBe(false);
    const f = cli([path.join(fixtures, 'scratch-art', 'run.json')]);
    expect(f.code).toBe(1);
    expect(f.err).toBe(`report: not a directory: ${path.join(fixtures, 'scratch-art', 'run.json')}\n`);
  });

  it('no arguments print the help; unknown flags are refused', () => {
    const r = cli([]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('report RUN_DIR... [options]');
    expect(r.err).toContain('--out');
    const u = cli([path.join(fixtures, 'scratch-art'), '--outt', tmp]);
    expect(u.code).toBe(2);
    expect(u.err).toMatch(/Unknown argument: outt/);
    const h = cli(['--help']);
    expect(h.code).toBe(0);
    expect(h.out).toContain('[default: report/ beside the first RUN_DIR');
    expect(cli([path.join(fixtures, 'scratch-art'), '--top-k', '-1']).err).toMatch(
      /--top-k must be a non-negative number/,
    );
  });
});

describe('report on odd input', () => {
  it('renders runs with no metrics, no format field and unknown line types, noting each', () => {
    const old = path.join(tmp, 'older');
    mkdirSync(old);
    writeFileSync(path.join(old, 'run.json'), JSON.stringify({ model: 'scratch', params: 1000, format: undefined }));
    writeFileSync(
      path.join(old, 'metrics.jsonl'),
      [
        JSON.stringify({ step: 1, loss: 9 }),
        JSON.stringify({ type: 'train', step: 1, tokens: 100, loss: 9, tokens_per_s: 50 }),
        'garbage',
        JSON.stringify({ type: 'sample', text: 'x' }),
        JSON.stringify({ type: 'eval', step: 1, tokens: 100, val_loss: 8, qa_keyword_recall: 12 }),
        JSON.stringify({ type: 'train', step: 2, loss: 7 }),
        '',
      ].join('\n'),
    );
    const empty = path.join(tmp, 'empty');
    mkdirSync(empty);
    const future = path.join(tmp, 'future');
    mkdirSync(future);
    writeFileSync(
      path.join(future, 'run.json'),
      '{"format": 7, "model": "x", "finished": "2025-01-01T00:00:00Z", "data": {"mix": "user"}}',
    );

    const runs = [loadRun(old), loadRun(empty), loadRun(future)];
    const rep = renderReport(runs, { generated: 'test' });
    const notes = rep.html.slice(rep.html.indexOf('<section id="notes">'));
    expect(notes).toContain('run.json has no &quot;format&quot; field');
    expect(notes).toContain('1 line without a &quot;type&quot; field ignored');
    expect(notes).toContain('1 line of unknown type &quot;sample&quot; ignored');
    expect(notes).toContain('that are not JSON objects were skipped (line 3)');
    expect(notes).toContain('qa_keyword_recall looks like a percentage (12); read as 12%');
    expect(notes).toContain('no metrics.jsonl');
    expect(rep.summaries[0].notes).toEqual([
      '1 train line has no "tokens" field and is not plotted (charts use tokens seen)',
      'qa_keyword_recall looks like a percentage (12); read as 12%',
    ]);
    expect(notes).toContain('format 7 is newer than this report knows');
    expect(notes).toContain('no run probed the motivating question');
    expect(rep.html).toContain('No run recorded probes.');
    expect(xmlProblems(rep.html)).toEqual([]);
    for (const s of svgsIn(rep.html)) expect(xmlProblems(s)).toEqual([]);
    expect(rep.summaries[0].final.valPpl).toBeCloseTo(Math.exp(8), 6);
    expect(rep.summaries[0].final.recall).toBeCloseTo(0.12, 9);
  });

  it('parseMetrics tells a cut-off last line from a bad line in the middle', () => {
    const a = parseMetrics('{"type":"train","step":1}\n{"type":"tr');
    expect(a.train).toHaveLength(1);
    expect(a.notes.join()).toMatch(/last line \(line 2\) is cut off/);
    const b = parseMetrics('{"type":"train","step":1}\n{"type":"tr\n{"type":"eval","step":2}\n');
    expect(b.evals).toHaveLength(1);
    expect(b.notes.join()).toMatch(/1 line that are not JSON objects were skipped \(line 2\)/);
    expect(b.notes.join()).not.toMatch(/cut off/);
  });

  it('visibleText shows spaces, newlines, tabs and control characters', () => {
    expect(visibleText(' a\n\tb\u0001')).toBe('␣a↵⇥b\\u0001');
    expect(visibleText(' a b\n', false)).toBe(' a b↵');
  });
});

describe('lineChart', () => {
  it('is well-formed and titled for empty, NaN, single-point, log and long data', () => {
    const long: [number, number][] = Array.from({ length: 20000 }, (_, i) => [i, 5 + Math.sin(i / 50)]);
    long[500] = [500, NaN];
    const charts = [
      lineChart({ title: 'empty', xLabel: 'x', yLabel: 'y', series: [] }),
      lineChart({
        title: 'nan',
        xLabel: 'x',
        yLabel: 'y',
        series: [
          {
            name: 'n',
            points: [
              [NaN, 1],
              [1, NaN],
              [Infinity, 2],
            ],
          },
        ],
        logY: true,
      }),
      lineChart({ title: 'one', xLabel: 'x', yLabel: 'y', series: [{ name: 'p', points: [[3, 3]] }] }),
      lineChart({
        title: 'log <&>',
        xLabel: 'tokens',
        yLabel: 'ppl',
        series: [
          {
            name: 'a "q"',
            points: [
              [0, 0],
              [1, -2],
              [2, 100],
              [3, 10],
            ],
          },
        ],
        logY: true,
      }),
      lineChart({ title: 'long', xLabel: 'x', yLabel: 'y', series: [{ name: 'l', points: long }] }),
    ];
    for (const c of charts) {
      expect(xmlProblems(c)).toEqual([]);
      expect(c).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(c).not.toMatch(/NaN|Infinity/);
    }
    expect(charts[0]).toContain('>no data</text>');
    expect(charts[1]).toContain('n (no data)');
    expect(charts[3]).toContain('<title id="c');
    expect(charts[3]).toContain('log &lt;&amp;&gt;');
    expect((charts[4].match(/[ML]/g) ?? []).length).toBeLessThan(2000); // thinned
    expect((charts[4].match(/M/g) ?? []).length).toBeGreaterThanOrEqual(2); // the NaN broke the line
  });

  it('xmlProblems rejects what is not well-formed', () => {
    expect(xmlProblems('<a><b></a>')).not.toEqual([]);
    expect(xmlProblems('<a x=1/>')).not.toEqual([]);
    expect(xmlProblems('<a>&nbsp;</a>')).not.toEqual([]);
    expect(xmlProblems('<a>x < y</a>')).not.toEqual([]);
    expect(xmlProblems('<a/><b/>')).not.toEqual([]);
    expect(xmlProblems('<a x="1" x="2"/>')).not.toEqual([]);
    expect(xmlProblems('<a>\u0001</a>')).not.toEqual([]);
    expect(xmlProblems('<a>')).not.toEqual([]);
    expect(xmlProblems('<!DOCTYPE html><a b="&amp;&#38;">&#x26;<!-- c --><br/></a>')).toEqual([]);
  });
});
