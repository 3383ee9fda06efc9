// Reading a run directory (the trainer's contract, format 1), tolerating whatever is missing.
//
//   RUN_DIR/run.json       { format: 1, model, params, config, data: { mix, files?, stats }, args, adapter,
//                            started, finished?, wall_s?, steps?, epochs?, tokens_seen?, loss_on }
//   RUN_DIR/metrics.jsonl  {"type":"train", step, epoch, tokens, loss, grad_norm, lr, tokens_per_s, time_s}
//                          {"type":"eval", step, tokens, val_loss, val_ppl, val_loss_unseen?, val_ppl_unseen?,
//                           qa_keyword_recall, qa_start_right, prompt_sensitivity?, verdict?, probes: [...]}
//   RUN_DIR/final/         a checkpoint (only its presence is reported)
//
// Everything found wrong or missing becomes a plain-words note on the run; nothing here throws
// for bad content (only `loadRun` on a path that is not a directory, see `checkRunDir`).

import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const KNOWN_FORMAT = 1;

export interface TopToken {
  token: string;
  id?: number;
  logit?: number;
  prob?: number;
}
export interface Probe {
  prompt: string;
  top: TopToken[];
  answer?: string;
}

export interface TrainLine {
  step?: number;
  epoch?: number;
  tokens?: number;
  loss?: number;
  grad_norm?: number;
  lr?: number;
  tokens_per_s?: number;
  time_s?: number;
}

export interface EvalLine {
  step?: number;
  tokens?: number;
  val_loss?: number;
  val_ppl?: number;
  val_loss_unseen?: number;
  val_ppl_unseen?: number;
  qa_keyword_recall?: number;
  qa_start_right?: number;
  /** recall of other entities' answers against each reference, recall − it, answers on topic */
  qa_recall_baseline?: number;
  qa_recall_lift?: number;
  qa_on_topic?: number;
  prompt_sensitivity?: number;
  verdict?: string;
  probes?: Probe[];
}

export interface RunMeta {
  format?: number;
  model?: string;
  params?: number;
  config?: { n_layer?: number; n_embd?: number; n_head?: number; n_positions?: number; vocab_size?: number };
  data?: { mix?: string; files?: string[]; stats?: Record<string, number | undefined> };
  args?: Record<string, unknown>;
  adapter?: string;
  started?: string;
  finished?: string;
  wall_s?: number;
  steps?: number;
  epochs?: number;
  tokens_seen?: number;
  loss_on?: string;
}

export interface RunData {
  /** as given on the command line */
  dir: string;
  /** short unique label used in tables and legends (the directory's name) */
  name: string;
  meta: RunMeta;
  hasRunJson: boolean;
  hasMetrics: boolean;
  hasCheckpoint: boolean;
  train: TrainLine[];
  evals: EvalLine[];
  notes: string[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function readTrain(o: Record<string, unknown>): TrainLine {
  return {
    step: num(o.step),
    epoch: num(o.epoch),
    tokens: num(o.tokens),
    loss: num(o.loss),
    grad_norm: num(o.grad_norm),
    lr: num(o.lr),
    tokens_per_s: num(o.tokens_per_s),
    time_s: num(o.time_s),
  };
}

function readProbe(p: unknown): Probe | undefined {
  if (!isObj(p) || typeof p.prompt !== 'string') return undefined;
  const top: TopToken[] = [];
  if (Array.isArray(p.top))
    for (const t of p.top) {
      if (isObj(t) && (typeof t.token === 'string' || typeof t.token === 'number')) {
        top.push({ token: String(t.token), id: num(t.id), logit: num(t.logit), prob: num(t.prob) });
      }
    }
  return { prompt: p.prompt, top, answer: str(p.answer) };
}

function readEval(o: Record<string, unknown>): EvalLine {
  const e: EvalLine = {
    step: num(o.step),
    tokens: num(o.tokens),
    val_loss: num(o.val_loss),
    val_ppl: num(o.val_ppl),
    val_loss_unseen: num(o.val_loss_unseen),
    val_ppl_unseen: num(o.val_ppl_unseen),
    qa_keyword_recall: num(o.qa_keyword_recall),
    qa_start_right: num(o.qa_start_right),
    qa_recall_baseline: num(o.qa_recall_baseline),
    qa_recall_lift: num(o.qa_recall_lift),
    qa_on_topic: num(o.qa_on_topic),
    prompt_sensitivity: num(o.prompt_sensitivity),
    verdict: str(o.verdict),
  };
  if (Array.isArray(o.probes)) e.probes = o.probes.map(readProbe).filter((p): p is Probe => !!p);
  return e;
}

/** Parse metrics.jsonl text. A final line without its newline that does not parse is a run killed
 *  mid-write; other unparsable lines and unknown line types are counted and noted. */
export function parseMetrics(text: string): { train: TrainLine[]; evals: EvalLine[]; notes: string[] } {
  const train: TrainLine[] = [];
  const evals: EvalLine[] = [];
  const notes: string[] = [];
  const lines = text.split('\n');
  const endsClean = text.endsWith('\n');
  const bad: number[] = [];
  const unknown = new Map<string, number>();
  let noType = 0;
  lines.forEach((raw, idx) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) return;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      if (idx === lines.length - 1 && !endsClean) {
        notes.push(
          `metrics.jsonl: the last line (line ${idx + 1}) is cut off — the run was probably killed mid-write; it was skipped`,
        );
      } else bad.push(idx + 1);
      return;
    }
    if (!isObj(o)) {
      bad.push(idx + 1);
      return;
    }
    if (o.type === 'train') train.push(readTrain(o));
    else if (o.type === 'eval') evals.push(readEval(o));
    else if (o.type === undefined) noType++;
    else unknown.set(String(o.type), (unknown.get(String(o.type)) ?? 0) + 1);
  });
  // a run resumed from a checkpoint older than its last lines redoes those steps: the redone
  // lines replace the first ones, so each step is plotted once
  const redo = (xs: { step?: number }[], what: string) => {
    const last = new Map<number, number>();
    xs.forEach((x, i) => {
      if (x.step !== undefined) last.set(x.step, i);
    });
    const kept = xs.filter((x, i) => x.step === undefined || last.get(x.step) === i);
    if (kept.length < xs.length)
      notes.push(
        `metrics.jsonl: ${xs.length - kept.length} ${what} line${xs.length - kept.length > 1 ? 's' : ''} redone after a resume; the later ones are shown`,
      );
    return kept;
  };
  const trainKept = redo(train, 'train'),
    evalsKept = redo(evals, 'eval');
  if (bad.length)
    notes.push(
      `metrics.jsonl: ${bad.length} line${bad.length > 1 ? 's' : ''} that are not JSON objects were skipped (line${bad.length > 1 ? 's' : ''} ${bad.slice(0, 8).join(', ')}${bad.length > 8 ? ', …' : ''})`,
    );
  for (const [t, c] of unknown)
    notes.push(`metrics.jsonl: ${c} line${c > 1 ? 's' : ''} of unknown type "${t}" ignored`);
  if (noType)
    notes.push(`metrics.jsonl: ${noType} line${noType > 1 ? 's' : ''} without a "type" field ignored (older format?)`);
  return { train: trainKept, evals: evalsKept, notes };
}

/** Throws a one-line Error when `dir` is not an existing directory (naming it as `shown`). */
export function checkRunDir(dir: string, shown = dir): void {
  if (!existsSync(dir)) throw new Error(`no such run directory: ${shown}`);
  if (!statSync(dir).isDirectory()) throw new Error(`not a directory: ${shown}`);
}

function readMeta(o: Record<string, unknown>, notes: string[]): RunMeta {
  const m: RunMeta = {};
  if (o.format === undefined) notes.push('run.json has no "format" field (older trainer?); read as format 1');
  else if (num(o.format) === undefined)
    notes.push(`run.json: "format" is ${JSON.stringify(o.format)}, not a number; read as format 1`);
  else {
    m.format = num(o.format);
    if (m.format! > KNOWN_FORMAT)
      notes.push(
        `run.json: format ${m.format} is newer than this report knows (${KNOWN_FORMAT}); showing the fields it recognises`,
      );
  }
  m.model = str(o.model);
  m.params = num(o.params);
  if (isObj(o.config)) {
    const c = o.config;
    m.config = {
      n_layer: num(c.n_layer),
      n_embd: num(c.n_embd),
      n_head: num(c.n_head),
      n_positions: num(c.n_positions),
      vocab_size: num(c.vocab_size),
    };
  }
  if (isObj(o.data)) {
    const d = o.data;
    m.data = { mix: str(d.mix) };
    if (Array.isArray(d.files)) m.data.files = d.files.map((f) => String(f));
    if (isObj(d.stats)) m.data.stats = Object.fromEntries(Object.entries(d.stats).map(([k, v]) => [k, num(v)]));
  }
  if (isObj(o.args)) m.args = o.args;
  m.adapter = str(o.adapter);
  m.started = str(o.started);
  m.finished = str(o.finished);
  m.wall_s = num(o.wall_s);
  m.steps = num(o.steps);
  m.epochs = num(o.epochs);
  m.tokens_seen = num(o.tokens_seen);
  m.loss_on = str(o.loss_on);
  return m;
}

/** A file's text; a FIFO or device is refused before open(), which would block on a FIFO (a directory fails with EISDIR). */
function readRegular(file: string): string {
  const st = statSync(file);
  if (!st.isFile() && !st.isDirectory()) throw new Error('not a regular file');
  return readFileSync(file, 'utf8');
}

/** Load one run directory. `name` defaults to the directory's base name. */
export function loadRun(dir: string, name?: string): RunData {
  checkRunDir(dir);
  const notes: string[] = [];
  const run: RunData = {
    dir,
    name: name ?? (path.basename(path.resolve(dir)) || dir),
    meta: {},
    hasRunJson: false,
    hasMetrics: false,
    hasCheckpoint: existsSync(path.join(dir, 'final')),
    train: [],
    evals: [],
    notes,
  };

  const runJson = path.join(dir, 'run.json');
  if (!existsSync(runJson)) notes.push('no run.json: model, parameters, data and adapter are unknown');
  else {
    try {
      const o = JSON.parse(readRegular(runJson));
      if (!isObj(o)) notes.push('run.json is not a JSON object; ignored');
      else {
        run.meta = readMeta(o, notes);
        run.hasRunJson = true;
      }
    } catch (e) {
      notes.push(`run.json does not parse (${(e as Error).message.split('\n')[0]}); ignored`);
    }
  }

  const metrics = path.join(dir, 'metrics.jsonl');
  if (!existsSync(metrics)) notes.push('no metrics.jsonl: no curves, evaluations or probes for this run');
  else {
    let text: string | undefined;
    try {
      text = readRegular(metrics);
    } catch (e) {
      notes.push(
        `metrics.jsonl cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): no curves, evaluations or probes for this run`,
      );
    }
    if (text !== undefined) addMetrics(run, text, notes);
  }

  if (run.hasRunJson && !run.meta.finished)
    notes.push('run.json has no "finished" time: the run is still going or was stopped before it finished');
  return run;
}

/** A run's curves and evaluations from its metrics.jsonl text, and notes on what it lacks. */
function addMetrics(run: RunData, text: string, notes: string[]): void {
  run.hasMetrics = true;
  const parsed = parseMetrics(text);
  run.train = parsed.train;
  run.evals = parsed.evals;
  notes.push(...parsed.notes);
  if (!parsed.train.length) notes.push('metrics.jsonl has no "train" lines');
  if (!parsed.evals.length) notes.push('metrics.jsonl has no "eval" lines: no validation loss, QA scores or probes');
  else if (!parsed.evals.some((e) => e.probes?.length))
    notes.push('no eval line has probes: no next-token evidence for this run');
}
