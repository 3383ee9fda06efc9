// report.html in a real browser: the fixture runs' report opened in headless Chromium (over the
// DevTools protocol, test/chromium.ts) loads without console errors, and every chart draws its
// lines: each <path> has at least two points, a length, and ink of its own when rasterised.
// Without Chromium the test fails and says how to install it (it does not skip).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Browser, findChromium, NO_CHROMIUM } from './chromium.ts';

const ROOT = path.join(import.meta.dirname, '..');
const FIXTURES = path.join(import.meta.dirname, 'fixtures/runs');
const RUNS = ['scratch-mixed', 'scratch-art', 'distilgpt2-ft'];

interface DrawnPath {
  series: string;
  points: number;
  length: number;
  /** pixels with ink when only this path of the chart is drawn */
  ink: number;
}
interface DrawnChart {
  title: string;
  width: number;
  height: number;
  paths: DrawnPath[];
}

/**
 * In the page: each chart's size and, per path, its points, its length and the pixels it inks
 * when the chart is rasterised with everything else hidden (clip paths kept).
 */
const MEASURE_CHARTS = `(async () => {
  const out = [];
  for (const svg of document.querySelectorAll('figure.chart svg')) {
    const box = svg.getBoundingClientRect();
    const paths = [];
    for (const [i, p] of [...svg.querySelectorAll('path')].entries()) {
      const d = p.getAttribute('d') || '';
      const clone = svg.cloneNode(true);
      for (const el of clone.querySelectorAll('*')) if (!el.closest('defs, clipPath')) el.setAttribute('visibility', 'hidden');
      clone.querySelectorAll('path')[i].setAttribute('visibility', 'visible');
      const img = new Image();
      img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(clone));
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const g = canvas.getContext('2d');
      g.drawImage(img, 0, 0);
      const px = g.getImageData(0, 0, canvas.width, canvas.height).data;
      let ink = 0;
      for (let k = 3; k < px.length; k += 4) if (px[k] > 64) ink++;
      paths.push({
        series: p.querySelector('title')?.textContent || '(untitled)',
        points: (d.match(/-?\\d+(\\.\\d+)?/g) || []).length / 2,
        length: p.getTotalLength(),
        ink,
      });
    }
    out.push({ title: svg.querySelector('title')?.textContent || '(untitled)', width: box.width, height: box.height, paths });
  }
  return out;
})()`;

/** What is wrong with the charts as drawn (empty: every chart drew its lines). */
function chartProblems(charts: DrawnChart[]): string[] {
  const bad: string[] = [];
  for (const c of charts) {
    if (!(c.width > 0 && c.height > 0)) bad.push(`${c.title}: not laid out (${c.width}×${c.height})`);
    if (!c.paths.length) bad.push(`${c.title}: no lines`);
    for (const p of c.paths) {
      if (p.points < 2) bad.push(`${c.title} / ${p.series}: ${p.points} points`);
      if (!(p.length > 0)) bad.push(`${c.title} / ${p.series}: length ${p.length}`);
      if (p.ink < 10) bad.push(`${c.title} / ${p.series}: ${p.ink} pixels drawn`);
    }
  }
  return bad;
}

const chromium = findChromium();
let browser: Browser | undefined;
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-browser-'));
  if (chromium) browser = await Browser.launch(chromium);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The page at `file` opened afresh: its charts and the errors it logged. */
async function openReport(file: string): Promise<{ charts: DrawnChart[]; errors: string[] }> {
  if (!browser) throw new Error(NO_CHROMIUM);
  browser.errors.length = 0;
  await browser.open(pathToFileURL(file).href);
  const charts = await browser.evaluate<DrawnChart[]>(MEASURE_CHARTS);
  return { charts, errors: [...browser.errors] };
}

describe('report.html in headless Chromium', () => {
  it('finds Chromium', () => {
    expect(chromium, NO_CHROMIUM).not.toBeNull();
  });

  it('loads without console errors, and every chart draws its lines', async () => {
    // the real entry point (what `npm run report` runs), into the folder --out names
    const out = path.join(tmp, 'out');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/report.ts', ...RUNS.map((run) => path.join(FIXTURES, run)), '--out', out],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`into ${out}${path.sep}\n`);
    const { charts, errors } = await openReport(path.join(out, 'report.html'));
    if (process.env.REPORT_BROWSER_DEBUG) console.log(JSON.stringify(charts, null, 1));
    expect(errors).toEqual([]);
    expect(charts.map((c) => c.title)).toHaveLength(4);
    expect(chartProblems(charts)).toEqual([]);
    // one line per run at least in each chart (the fixtures have all of them)
    for (const c of charts) expect(c.paths.length, c.title).toBeGreaterThanOrEqual(RUNS.length);
  }, 60_000);

  it('notices a console error, an empty line and a chart that draws nothing', async () => {
    const page = path.join(tmp, 'broken.html');
    const svg = (body: string) =>
      `<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><title>c</title>${body}</svg></figure>`;
    fs.writeFileSync(
      page,
      `<!doctype html><html><body>${svg('<path d="" stroke="red"><title>empty</title></path>')}${svg(
        '<path d="M500 500L600 600" stroke="red"><title>outside</title></path>',
      )}${svg('<path d="M10 10L190 90" stroke="red"><title>ok</title></path>')}<script>console.error("boom")</script></body></html>`,
    );
    const { charts, errors } = await openReport(page);
    expect(errors).toEqual(['console.error: boom']);
    expect(chartProblems(charts)).toEqual([
      'c / empty: 0 points',
      'c / empty: length 0',
      'c / empty: 0 pixels drawn',
      'c / outside: 0 pixels drawn',
    ]);
  }, 60_000);
});
