// Hostile input, as a user meets it (issue 15): bad flags, Ctrl-C to the process group, a second
// Ctrl-C, copied and moved run directories, two trainers on one directory, kill -9 during a save,
// leftover temporary folders, FIFOs instead of files, broken weights and configs, a full and a
// read-only disk. Every case runs the real command in a child process and checks its exit status
// (0 done, 1 failed, 2 usage; 128 + the signal when interrupted), that a failure says what went
// wrong in one line without a stack trace, and that every checkpoint left afterwards loads.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadHF, saveHF } from '../src/io/hf.ts';
import { readTrainerState } from '../src/train/checkpoint.ts';

const ROOT = path.join(import.meta.dirname, '..');
const TINY = path.join(ROOT, 'test/fixtures/gpt2-reference/tiny-prefixed-f16');
const RUNS = path.join(ROOT, 'test/fixtures/runs');
/** Dawn prints these two notices from native code whenever an adapter is created (see README). */
const DAWN_NOTICE = /^Warning: maxDynamic\w+ artificially reduced/;

let tmp: string;
let data: string; // a small .jsonl of QA pairs, with a UTF-8 BOM as Windows editors write it
let bigData: string; // enough text that tokenizing it takes a while (start-up)
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-'));
  const qa = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ question: `What is thing ${i}?`, answer: `Thing ${i} is a kind of art, number ${i}.` }),
    ).join('\n');
  data = path.join(tmp, 'qa.jsonl');
  fs.writeFileSync(data, `\uFEFF${qa(60)}\n`);
  bigData = path.join(tmp, 'big.jsonl');
  fs.writeFileSync(bigData, `${qa(20000)}\n`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A from-scratch run of a few seconds: 1 layer × 32 wide, rows of 32 tokens, no evaluations but the last. */
const tinyRun = (dir: string, ...more: string[]) => [
  '--preset',
  'tiny',
  '--layers',
  '1',
  '--width',
  '32',
  '--heads',
  '2',
  '--seq',
  '32',
  '--batch',
  '2',
  '--eval-every',
  '0',
  '--eval-qa',
  '0',
  '--eval-batches',
  '1',
  '--vocab',
  'gpt2',
  '--data',
  data,
  '--save-dir',
  dir,
  ...more,
];
/** The same with 8 layers: a step's dispatches keep the event loop busy for tens of milliseconds at a time. */
const deepRun = (dir: string, ...more: string[]) =>
  tinyRun(dir, ...more).map((a, i, all) => (all[i - 1] === '--layers' ? '8' : a));

/** 16 rows a batch: an epoch of the small data set is 3 steps, and each epoch ends with a save of latest/. */
const batch16 = (args: string[]) => args.map((a, i, all) => (all[i - 1] === '--batch' ? '16' : a));

/** The exit status as a shell reports it (128 + the signal's number for a process killed by one). */
const statusOf = (code: number | null, signal: NodeJS.Signals | null) =>
  code ?? 128 + os.constants.signals[signal as NodeJS.Signals];

interface Ran {
  status: number;
  out: string;
  err: string;
  /** stderr's lines, without Dawn's two notices */
  lines: string[];
}

const linesOf = (err: string) => err.split('\n').filter((l) => l.trim() && !DAWN_NOTICE.test(l));

/** Run `src/<cli>.ts` to the end (a hang is killed at `timeout`: status 124). */
function cli(name: string, args: string[], timeout = 60_000): Ran {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `src/${name}.ts`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout,
    killSignal: 'SIGKILL', // (a process blocked in a read cannot run its SIGTERM handler)
  });
  const status = r.error ? 124 : statusOf(r.status, r.signal);
  return { status, out: r.stdout, err: r.stderr, lines: linesOf(r.stderr) };
}

/** A failure reported as one line (matching `re`), with no stack trace. */
function expectOneLine(r: Ran, status: number, re: RegExp) {
  const what = `${r.err}\n${r.out}`;
  expect(r.status, what).toBe(status);
  expect(r.lines, what).toHaveLength(1);
  expect(r.lines[0], what).toMatch(re);
  expect(r.err, what).not.toMatch(/^\s+at /m);
}

const live: Proc[] = [];
/** A command in a process group of its own, as a terminal runs it (signals go to the whole group). */
class Proc {
  readonly child: ChildProcess;
  text = '';
  readonly status: Promise<number>;
  constructor(cmd: string, args: string[]) {
    this.child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    live.push(this);
    for (const s of [this.child.stdout!, this.child.stderr!]) s.on('data', (d) => (this.text += d));
    this.status = new Promise((resolve) => this.child.on('exit', (code, sig) => resolve(statusOf(code, sig))));
  }
  /** `npx tsx src/train.ts ARGS`, the way the README starts a run */
  static train(args: string[]) {
    return new Proc('npx', ['tsx', 'src/train.ts', ...args]);
  }
  get pid() {
    return this.child.pid!;
  }
  get exited() {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }
  /** Ctrl-C in a terminal: the signal to every process of the group */
  signalGroup(sig: NodeJS.Signals) {
    process.kill(-this.pid, sig);
  }
  async waitFor(re: RegExp, ms = 60_000): Promise<void> {
    const until = Date.now() + ms;
    while (!re.test(this.text)) {
      if (this.exited || Date.now() > until) throw new Error(`never printed ${re}:\n${this.text}`);
      await sleep(5);
    }
  }
}
afterEach(() => {
  for (const p of live.splice(0)) {
    try {
      if (!p.exited) process.kill(-p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Every checkpoint in `dir` loads (weights, and the trainer state where there is one); returns
 * each one's step. A run directory holds no temporary folder once its trainer has ended.
 */
function checkpointsLoad(dir: string): Record<string, number | null> {
  const steps: Record<string, number | null> = {};
  for (const name of ['latest', 'latest.old', 'best', 'best.old', 'final', 'final.old']) {
    const d = path.join(dir, name);
    if (!fs.existsSync(d)) continue;
    expect(() => loadHF(d), d).not.toThrow();
    steps[name] = fs.existsSync(path.join(d, 'trainer_state.json')) ? readTrainerState(d).step : null;
  }
  return steps;
}
const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => /\.tmp-\d+$|^run\.lock$/.test(f));
const trainSteps = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((m) => m.type === 'train')
    .map((m) => m.step as number);

describe('bad flags: exit status 2, one line naming the flag and what it allows', () => {
  it('train, probe, eval and report', async () => {
    const cases: [string, string[], RegExp][] = [
      ['train', ['--width', '0'], /^train: --width must be a positive integer \(got 0\)$/],
      ['train', ['--seq', '1.5'], /^train: --seq must be a positive integer \(got 1\.5\)$/],
      ['train', ['--seq', '-1'], /^train: --seq must be a positive integer \(got -1\)$/],
      ['train', ['--heads', '0'], /^train: --heads must be a positive integer \(got 0\)$/],
      ['train', ['--layers', '-1'], /^train: --layers must be a positive integer \(got -1\)$/],
      ['train', ['--grad-accum', '0'], /^train: --grad-accum must be a positive integer \(got 0\)$/],
      ['train', ['--epochs', '0'], /^train: --epochs must be a positive number \(got 0\)$/],
      ['train', ['--lr', '-1'], /^train: --lr must be a positive number \(got -1\)$/],
      ['train', ['--time', 'soon'], /^train: --time "soon": expected a duration like 90s, 10m or 1\.5h$/],
      ['train', ['--width', '64', '--heads', '3'], /^train: .*--width 64 is not divisible by --heads 3$/],
      ['train', ['--width', '66', '--heads', '33'], /^train: .*head dimension --width \/ --heads = 2 must be/],
      ['train', ['--frobnicate'], /^train: Unknown argument: frobnicate/],
      ['probe', ['-w', TINY, '--top-k', '0'], /^probe: --top-k must be an integer ≥ 1 \(got 0\)$/],
      ['probe', ['-w', TINY, '--top-p', '2'], /^probe: --top-p must be in \(0, 1\] \(got 2\)$/],
      ['eval', ['-w', TINY, '--seq', '0'], /^eval: --seq must be a positive integer \(got 0\)$/],
      ['eval', ['-w', TINY, '--batches', '-2'], /^eval: --batches must be a positive integer \(got -2\)$/],
      ['eval', ['-w', TINY, '--qa', '1.5'], /^eval: --qa must be a whole number/],
      ['report', [path.join(RUNS, 'scratch-art'), '--top-k', '-1'], /^report: --top-k must be/],
    ];
    // (two at a time: they only parse their flags, so the machine's two cores are enough)
    const run = (name: string, args: string[]) =>
      new Promise<Ran>((resolve) => {
        const c = spawn(process.execPath, ['--import', 'tsx', `src/${name}.ts`, ...args], { cwd: ROOT });
        let out = '',
          err = '';
        c.stdout.on('data', (d) => (out += d));
        c.stderr.on('data', (d) => (err += d));
        c.on('exit', (code, sig) => resolve({ status: statusOf(code, sig), out, err, lines: linesOf(err) }));
      });
    for (let i = 0; i < cases.length; i += 2) {
      const pair = cases.slice(i, i + 2);
      const done = await Promise.all(pair.map(([name, args]) => run(name, args)));
      done.forEach((r, k) => expectOneLine(r, 2, pair[k][2]));
    }
  });
});

describe('Ctrl-C from a terminal (SIGINT to the process group, under npx tsx)', () => {
  it('during start-up: "nothing to save", exit 130, no lock or empty directory left', async () => {
    const dir = path.join(tmp, 'int-startup');
    const p = Proc.train(['--preset', 'tiny', '--steps', '5', '--data', bigData, '--save-dir', dir]);
    await p.waitFor(/^adapter: /m);
    p.signalGroup('SIGINT');
    expect(await p.status, p.text).toBe(130);
    expect(p.text).toMatch(/train: interrupted before the first step: nothing to save/);
    expect(fs.existsSync(dir), p.text).toBe(false);
  });

  // tsx's parent process SIGKILLs a child that does not answer a relayed signal within about
  // 60 ms; a step keeps the event loop that busy at times, so the signal is sent at a few moments
  for (const delay of [0, 60]) {
    it(`during step 2 (+${delay} ms): saves at the end of the step, says so, exits 130`, async () => {
      const dir = path.join(tmp, `int-step-${delay}`);
      const p = Proc.train(deepRun(dir, '--steps', '300'));
      await p.waitFor(/^first step: /m);
      await sleep(delay);
      p.signalGroup('SIGINT');
      expect(await p.status, p.text).toBe(130);
      expect(p.text).toMatch(/interrupted: saving a checkpoint at the end of this step/);
      const saved = /saved (\S+) at step (\d+);/.exec(p.text);
      expect(saved, p.text).not.toBeNull();
      expect(saved![1]).toBe(path.join(dir, 'latest'));
      expect(checkpointsLoad(dir)).toEqual({ latest: Number(saved![2]) });
      expect(leftovers(dir)).toEqual([]);
    });
  }

  it('a second Ctrl-C a second later quits without saving and without breaking the last checkpoint', async () => {
    // steps of several seconds (4 × 128 wide, 192 rows of 128 tokens: 64 rows took under 2 s on a fast
    // minute, and the save could come before the second press), so the second press comes mid-step
    const dir = path.join(tmp, 'int-twice');
    const heavy = ['--preset', 'tiny', '--steps', '50', '--batch', '192', '--seq', '128', '--eval-every', '0'];
    const first = cli('train', [...heavy, '--eval-qa', '0', '--data', data, '--save-dir', dir, '--stop-after', '1']);
    expect(first.status, first.err).toBe(0);
    const p = Proc.train(['--resume', dir]);
    await p.waitFor(/^first step: /m);
    p.signalGroup('SIGINT');
    await p.waitFor(/interrupted: saving/);
    await sleep(1300);
    p.signalGroup('SIGINT');
    expect(await p.status, p.text).toBe(130);
    expect(p.text, 'the second press must come before the save').not.toMatch(/saved \S+ at step/);
    // (each step here begins an epoch, which saves latest/ first: it may hold step 2)
    expect(checkpointsLoad(dir).latest).toBeGreaterThanOrEqual(1);
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('run directories', () => {
  it('a copied run resumes into the copy, a moved one where it is now', () => {
    const orig = path.join(tmp, 'orig');
    expect(cli('train', tinyRun(orig, '--steps', '4', '--stop-after', '2')).status).toBe(0);
    const copy = path.join(tmp, 'copy');
    fs.cpSync(orig, copy, { recursive: true });
    const before = fs.readFileSync(path.join(orig, 'metrics.jsonl'), 'utf8');
    const r = cli('train', ['--resume', copy, '--stop-after', '1']);
    expect(r.status, r.err).toBe(0);
    expect(r.out).toContain(`saved ${path.join(copy, 'latest')} at step 3`);
    expect(fs.readFileSync(path.join(orig, 'metrics.jsonl'), 'utf8')).toBe(before);
    expect(checkpointsLoad(orig)).toEqual({ latest: 2 });
    expect(trainSteps(copy)).toEqual([1, 2, 3]);
    const moved = path.join(tmp, 'moved');
    fs.renameSync(orig, moved);
    const m = cli('train', ['--resume', moved]);
    expect(m.status, m.err).toBe(0);
    expect(fs.existsSync(orig)).toBe(false);
    expect(checkpointsLoad(moved)).toMatchObject({ latest: 4, final: 4 });
    expect(JSON.parse(fs.readFileSync(path.join(moved, 'latest/trainer_state.json'), 'utf8')).options.saveDir).toBe(
      moved,
    );
  });

  it('two trainers on one directory: the second is refused, naming the first one’s pid', async () => {
    const dir = path.join(tmp, 'shared');
    const first = new Proc(process.execPath, [
      '--import',
      'tsx',
      'src/train.ts',
      ...batch16(tinyRun(dir, '--steps', '500')),
    ]);
    await first.waitFor(/^first step: /m);
    const again = new RegExp(`in use by another trainer \\(process ${first.pid}\\)`);
    expectOneLine(cli('train', tinyRun(dir, '--steps', '5')), 1, again);
    // continuing it while it runs: once it has a checkpoint to continue from (each epoch, 3 steps)
    while (!fs.existsSync(path.join(dir, 'latest/trainer_state.json')) && !first.exited) await sleep(20);
    expectOneLine(cli('train', ['--resume', dir]), 1, again);
    first.signalGroup('SIGTERM');
    expect(await first.status, first.text).toBe(143);
    const steps = trainSteps(dir);
    expect(steps).toEqual(steps.map((_, i) => i + 1)); // one writer: 1, 2, 3, … not interleaved
    expect(checkpointsLoad(dir)).toEqual({ latest: steps.length });
    expect(leftovers(dir)).toEqual([]);
  });

  it('kill -9 during a save leaves loadable checkpoints; the next run removes the half-written folder', async () => {
    // the second save, once its folder has a file in it; on a loaded machine the save can end
    // between the look and the kill (CI saw the half-written folder gone), so up to 3 tries
    let dir = '',
      half = '',
      p: Proc | undefined;
    for (let attempt = 0; attempt < 3 && !(half && fs.existsSync(half)); attempt++) {
      dir = path.join(tmp, `killed-${attempt}`);
      p = new Proc(process.execPath, ['--import', 'tsx', 'src/train.ts', ...batch16(tinyRun(dir, '--steps', '300'))]);
      half = path.join(dir, `latest.tmp-${p.pid}`);
      await p.waitFor(/^first step: /m);
      let seen = 0;
      for (let until = Date.now() + 60_000; Date.now() < until && !p.exited; await sleep(1)) {
        if (fs.existsSync(path.join(half, 'config.json')) && fs.existsSync(path.join(dir, 'latest'))) {
          process.kill(p.pid, 'SIGKILL');
          seen++;
          break;
        }
      }
      expect(seen, p.text).toBe(1);
      expect(await p.status).toBe(137);
    }
    expect(fs.existsSync(half)).toBe(true);
    const steps = checkpointsLoad(dir);
    expect(steps.latest ?? steps['latest.old']).toBeGreaterThan(0);
    const r = cli('train', ['--resume', dir, '--stop-after', '1']);
    expect(r.status, r.err).toBe(0);
    expect(r.out).toContain(`removed latest.tmp-${p!.pid} in ${dir} (left by an interrupted save)`);
    expect(r.out).toMatch(/run\.lock was left by process \d+, which is no longer running: taking it over/);
    checkpointsLoad(dir);
    expect(leftovers(dir)).toEqual([]);
  });

  it('a small --data set in its compact vocabulary ends with its checkpoints (the diagnosis prompts do not fit)', () => {
    // 424 tokens: the diagnosis' default prompts and answers are spelled in bytes, over 128 positions
    const dir = path.join(tmp, 'compact');
    const r = cli(
      'train',
      tinyRun(dir, '--steps', '2').map((a, i, all) => (all[i - 1] === '--vocab' ? 'compact' : a)),
    );
    expect(r.status, r.err).toBe(0);
    expect(checkpointsLoad(dir)).toMatchObject({ latest: 2, final: 2 });
  });

  it('--epochs 0.001 trains one step and ends (it rounded to 0 steps, read as "no limit")', () => {
    const dir = path.join(tmp, 'epochs');
    const r = cli('train', tinyRun(dir, '--epochs', '0.001'), 30_000);
    expect(r.status, r.err).toBe(0);
    expect(trainSteps(dir)).toEqual([1]);
  });

  it('--save-dir that is a file: one line, before the model is loaded', () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    const r = cli('train', tinyRun(file, '--steps', '1'));
    expectOneLine(r, 1, /^train: .*a-file is a file, not a run directory$/);
    expect(r.out).toBe('');
  });
});

describe('files that are not what they claim', () => {
  const broken = (name: string, edit: (dir: string) => void) => {
    const dir = path.join(tmp, name);
    fs.cpSync(TINY, dir, { recursive: true });
    edit(dir);
    return dir;
  };
  const fifo = (file: string) => {
    fs.rmSync(file, { force: true });
    expect(spawnSync('mkfifo', [file]).status).toBe(0);
  };

  it('a FIFO instead of a file is refused at once, not opened (which blocks)', () => {
    for (const f of ['model.safetensors', 'config.json', 'vocab.json']) {
      const dir = broken(`fifo-${f}`, (d) => fifo(path.join(d, f)));
      expectOneLine(cli('probe', ['-w', dir], 30_000), 1, new RegExp(`^probe: .*${f}: not a regular file`));
    }
    const dir = broken('fifo-eval', (d) => fifo(path.join(d, 'model.safetensors')));
    expectOneLine(cli('eval', ['-w', dir], 30_000), 1, /^eval: .*model\.safetensors: not a regular file/);
    // files named on the command line
    const pipe = path.join(tmp, 'pipe.jsonl');
    fifo(pipe);
    expectOneLine(
      cli('probe', ['-w', TINY, '--diagnose', '--prompts', pipe], 30_000),
      1,
      /^probe: --prompts .*pipe\.jsonl: not a regular file$/,
    );
    expectOneLine(
      cli('train', tinyRun(path.join(tmp, 'fifo-run'), '--data', pipe), 30_000),
      1,
      /pipe\.jsonl: not a regular file$/,
    );
    expectOneLine(cli('eval', ['-w', TINY, '--data', pipe], 30_000), 1, /pipe\.jsonl: not a regular file$/);
  });

  it('non-finite weights are refused naming the tensor; overflowing logits are warned about', () => {
    const { config, tensors } = loadHF(TINY);
    const withNaN = path.join(tmp, 'nan');
    const t = new Map(tensors);
    const ln = Float32Array.from(tensors.get('ln_f.weight')!.data);
    ln[3] = Number.NaN;
    t.set('ln_f.weight', { shape: tensors.get('ln_f.weight')!.shape, data: ln });
    saveHF(withNaN, config, t);
    expectOneLine(cli('probe', ['-w', withNaN]), 1, /^probe: .*"ln_f\.weight" holds NaN at element 3/);
    // --allow-nonfinite loads it anyway, to look inside; the logits it gives are warned about
    const allowed = cli('probe', ['-w', withNaN, '--allow-nonfinite']);
    expect(allowed.status, allowed.err).toBe(0);
    expect(allowed.lines.join('\n'), allowed.err).toMatch(/^warning: .*logits of .*nan are not finite/m);
    // finite weights whose products overflow float32: the logits are NaN, and the probe says so
    const huge = path.join(tmp, 'huge');
    const h = new Map(tensors);
    for (const name of ['h.0.mlp.c_fc.weight', 'h.0.mlp.c_proj.weight'])
      h.set(name, { shape: tensors.get(name)!.shape, data: tensors.get(name)!.data.map((v) => Math.sign(v) * 1e19) });
    saveHF(huge, config, h);
    const r = cli('probe', ['-w', huge]);
    expect(r.status, r.err).toBe(0);
    expect(r.lines.join('\n'), r.err).toMatch(/^warning: .*logits of .*huge are not finite/m);
    const e = cli('eval', ['-w', huge, '--data', data, '--batches', '1', '--qa', '1']);
    expect(e.status, e.err).toBe(0);
    expect(e.lines.join('\n'), e.err).toMatch(
      /^eval: warning: the validation loss is NaN: the weights of .*huge overflow/m,
    );
  });

  it('config.json: sizes out of range are refused before anything is allocated; a BOM is accepted', () => {
    const edit = (name: string, change: Record<string, unknown>, bom = '') =>
      broken(name, (d) => {
        const f = path.join(d, 'config.json');
        fs.writeFileSync(f, bom + JSON.stringify({ ...JSON.parse(fs.readFileSync(f, 'utf8')), ...change }));
      });
    expectOneLine(cli('probe', ['-w', edit('hd2', { n_head: 32 })]), 1, /head dimension n_embd \/ n_head = 2/);
    expectOneLine(cli('probe', ['-w', edit('layers', { n_layer: 100000000 })]), 1, /n_layer 100000000 is over 1024/);
    expectOneLine(
      cli('probe', ['-w', edit('wide', { n_layer: 1024, n_embd: 65536, n_head: 64 })]),
      1,
      /^probe: .*1024 layers × 65536 wide .* over this device's .* buffer limit/,
    );
    const bom = cli('probe', ['-w', edit('bom', {}, '\uFEFF'), '--top-k', '2']);
    expect(bom.status, bom.err).toBe(0);
  });

  it('report: metrics.jsonl as a directory or a FIFO is a note, not a crash or a hang; redone steps are noted', () => {
    const run = (name: string, edit: (d: string) => void) => {
      const d = path.join(tmp, 'reports', name);
      fs.cpSync(path.join(RUNS, 'scratch-art'), d, { recursive: true });
      edit(d);
      return d;
    };
    const asDir = run('dir', (d) => {
      fs.rmSync(path.join(d, 'metrics.jsonl'));
      fs.mkdirSync(path.join(d, 'metrics.jsonl'));
    });
    const asFifo = run('fifo', (d) => fifo(path.join(d, 'metrics.jsonl')));
    const redone = run('redone', (d) => {
      const f = path.join(d, 'metrics.jsonl');
      const lines = fs.readFileSync(f, 'utf8').trim().split('\n');
      const trains = lines.filter((l) => JSON.parse(l).type === 'train');
      fs.writeFileSync(f, `${[...lines, ...trains.slice(-3)].join('\n')}\n`); // a resume redid the last 3 steps
    });
    const out = path.join(tmp, 'reports', 'out');
    const r = cli('report', [asDir, asFifo, redone, '--out', out], 30_000);
    expect(r.status, r.err).toBe(0);
    expect(r.lines).toEqual([]);
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/metrics\.jsonl cannot be read \(EISDIR\)/);
    expect(md).toMatch(/metrics\.jsonl (cannot be read|is not a regular file)/);
    expect(md).toMatch(/3 train lines redone after a resume/);
  });
});

describe('a full disk and a read-only one (a small tmpfs)', () => {
  it('ENOSPC names the file and what is intact; EROFS is reported as read-only', (ctx) => {
    const mnt = path.join(tmp, 'disk');
    fs.mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) {
      const why = (m.stderr || m.error?.message || '').trim();
      // as root (CI, and the README's machines) the case must run; elsewhere it cannot, and says so
      if (process.getuid?.() === 0) throw new Error(`mount -t tmpfs failed as root: ${why}`);
      console.log(`full-disk case skipped: not root, so mount -t tmpfs failed (${why})`);
      ctx.skip();
    }
    try {
      const dir = path.join(mnt, 'run');
      expect(cli('train', tinyRun(dir, '--steps', '6', '--stop-after', '2')).status).toBe(0);
      // room for what is there and half a checkpoint more: the next save of latest/ cannot fit
      const used = Number(spawnSync('du', ['-sk', mnt], { encoding: 'utf8' }).stdout.split(/\s/)[0]);
      const latest = Number(
        spawnSync('du', ['-sk', path.join(dir, 'latest')], { encoding: 'utf8' }).stdout.split(/\s/)[0],
      );
      expect(spawnSync('mount', ['-o', `remount,size=${used + Math.ceil(latest / 2)}k`, mnt]).status).toBe(0);
      const full = cli('train', ['--resume', dir, '--stop-after', '1']);
      expectOneLine(full, 1, new RegExp(`writing ${dir}/latest\\.tmp-\\d+/\\S+: the disk is full \\(ENOSPC\\)`));
      expect(full.lines[0]).toMatch(/latest\/ \(step 2\) is intact/);
      expect(checkpointsLoad(dir)).toEqual({ latest: 2 });
      expect(leftovers(dir)).toEqual([]);
      // read-only
      expect(spawnSync('mount', ['-o', 'remount,ro', mnt]).status).toBe(0);
      expectOneLine(
        cli('train', ['--resume', dir]),
        1,
        /^train: cannot write into .*run: the file system is read-only \(EROFS\)$/,
      );
      expectOneLine(
        cli('train', tinyRun(path.join(mnt, 'new'), '--steps', '1')),
        1,
        /new: the file system is read-only \(EROFS\)$/,
      );
      expect(checkpointsLoad(dir)).toEqual({ latest: 2 });
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});
