// A training run, end to end: model, data, schedule, the loop, evaluation, checkpoints and
// the run directory (run.json, metrics.jsonl, loss.svg, latest/ best/ final/ checkpoints).
// src/train.ts is the thin CLI over this.
import fs from 'node:fs';
import path from 'node:path';
import { gpu, init } from '../gpu/runtime.ts';
import { GPT2 } from '../model/gpt2.ts';
import { CONFIGS, checkShape, paramCount, type GPT2Config } from '../model/config.ts';
import { checkParamsFit, configFor, loadModelAndTokenizer, padVocab } from '../model/load.ts';
import { compactTokenizer, compactVocab, getTokenizer, type Tokenizer } from '../io/tokenizer.ts';
import {
  encodeExamples,
  loadBatchFile,
  loadDataset,
  loadUserData,
  packEpoch,
  formatStats,
  type Batch,
  type EncodedSeq,
  type Example,
  type LossOn,
  type Mix,
} from '../data/index.ts';
import { AdamW, DEFAULT_ADAMW, learningRate, type Schedule } from './optimizer.ts';
import { trainStep, readStep } from './step.ts';
import { autotuneUsed } from '../ops/matmul/tune.ts';
import { autotuneFile } from '../gpu/autotune.ts';
import {
  saveCheckpoint,
  resolveCheckpoint,
  readTrainerState,
  loadOptimizer,
  removeStaleTemps,
  type TrainerState,
} from './checkpoint.ts';

import { nearEnd, TimeBudget } from './budget.ts';
import { lockRunDir } from './lock.ts';
import { RunDir, TrainingStopped } from './rundir.ts';

export { TrainingStopped };
import { signalStatus, UsageError } from '../exit.ts';
import { checkRegularFile } from '../io/files.ts';
import { evalSets, evaluateModel, type EvalSets, type ProbeResult } from './evaluate.ts';
import { checkLoraFlags, resumeLora, startLora, writeMerged, type LoraFlags } from './lora.ts';
import { DEFAULT_PROMPTS } from '../probe/diagnose.ts';

export interface TrainOptions extends LoraFlags {
  model: 'scratch' | 'distilgpt2' | 'gpt2';
  /** an HF directory (pretrained) or one of our checkpoints */
  weights?: string;
  /** 'tiny': a small model and settings that learn visibly in minutes on a CPU adapter */
  preset?: 'tiny' | 'full';
  layers?: number;
  width?: number;
  heads?: number;
  /** training context length T */
  seq?: number;
  /** from scratch: 'compact' (the GPT-2 tokens of the training text, default) or GPT-2's full 'gpt2' */
  vocab?: 'compact' | 'gpt2';
  dataMix: Mix;
  data?: string[];
  lossOn: LossOn;
  epochs?: number;
  steps?: number;
  /** wall-clock budget in seconds: the schedule is fitted to it after measuring throughput */
  time?: number;
  batch: number;
  gradAccum: number;
  lr: number;
  /** linear warmup steps (undefined, or -1 in older runs' saved options: 5% of the steps, at most 200) */
  warmup?: number;
  schedule: Schedule;
  weightDecay: number;
  clip: number;
  seed: number;
  /** evaluate every N steps (0: only at the end) */
  evalEvery?: number;
  /** held-out questions answered at each evaluation */
  evalQA: number;
  /** validation batches per evaluation */
  evalBatches: number;
  saveDir?: string;
  resume?: string;
  json: boolean;
  batchFile?: string;
  /** stop (saving a resumable checkpoint, as Ctrl-C does) after this many steps of this invocation */
  stopAfter?: number;
}

/** The options a caller may leave out, with their values: the trainer's defaults, stated once (the CLI shows them). */
export const TRAIN_DEFAULTS = {
  dataMix: 'core' as Mix,
  vocab: 'compact' as const,
  lossOn: 'answer' as LossOn,
  gradAccum: 1,
  schedule: 'cosine' as Schedule,
  weightDecay: 0.1,
  clip: 1.0,
  seed: 1337,
  evalQA: 64,
  evalBatches: 8,
  json: false,
  /** the tiny preset's wall-clock budget when neither --steps nor --epochs is given (s) */
  tinyTime: 600,
};

/** What the caller gives: the model and any options (the rest take TRAIN_DEFAULTS, or depend on the model). */
export type TrainFlags = Partial<TrainOptions> & Pick<TrainOptions, 'model'>;

/**
 * Every default in one place: TRAIN_DEFAULTS, and the ones that depend on what is trained (rows
 * per batch: 4 when fine-tuning, else 8; the peak learning rate: 3e-3 for the tiny preset, 1e-4
 * when fine-tuning, else 6e-4; the tiny preset's budget). The defaults that depend on the
 * schedule's length (warmup, evaluation interval) and on the model (T) are the trainer's.
 */
export function resolveOptions(f: TrainFlags): TrainOptions {
  const tiny = f.preset === 'tiny';
  const pretrained = !!f.weights && f.model !== 'scratch';
  const given = Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as TrainFlags;
  const { tinyTime, ...defaults } = TRAIN_DEFAULTS;
  return {
    ...defaults,
    batch: pretrained ? 4 : 8,
    lr: tiny ? 3e-3 : pretrained ? 1e-4 : 6e-4,
    time: tiny && f.steps === undefined && f.epochs === undefined ? tinyTime : undefined,
    ...given,
  };
}

export interface UI {
  /** human-readable lines (stderr in --json mode) */
  log(msg: string): void;
  /** one metrics object (stdout in --json mode) */
  metrics(obj: Record<string, unknown>): void;
  progress?: {
    start(total: number, at: number): void;
    update(at: number, fields: Record<string, string | number>): void;
    stop(): void;
  };
}

/** The student's two questions first: the user watches them move from "the / an / a" to the answer. */
/** The prompts whose top tokens and greedy answers each evaluation logs: the diagnosis' first four. */
export const PROBE_PROMPTS = DEFAULT_PROMPTS.slice(0, 4).map((p) => p.prompt);

export interface TrainResult {
  dir: string;
  state: TrainerState;
  /** the signal that stopped the run (after saving latest/); undefined when it ended or --stop-after did */
  stoppedBy?: NodeJS.Signals;
}

/** Ctrl-C or SIGTERM before the first step: there was nothing to save, and nothing was written. */
export class Interrupted extends TrainingStopped {
  constructor(
    readonly signal: NodeJS.Signals,
    message: string,
  ) {
    super(message);
  }
}

/** Signals this close together are one Ctrl-C (see Signals). */
const SIGNAL_REPEAT_MS = 1000;

/**
 * Ctrl-C and SIGTERM for a whole run, from before the lock is taken. During start-up (the GPU,
 * data, model; before the first step) there is nothing to save: the signal ends start-up at
 * its next await or checkpoint() with Interrupted, and the lock and an empty run directory are
 * released as for any error. From the first step on, it asks the loop to save at the end of
 * the step. A terminal's Ctrl-C reaches this process twice under npx/tsx (from the terminal's
 * process group, and relayed by tsx's parent process), so a repeat within SIGNAL_REPEAT_MS is
 * the same press; a later second Ctrl-C quits at once, after `onQuit` (releasing the lock).
 */
class Signals {
  requested: NodeJS.Signals | null = null;
  onQuit = () => {};
  private at = 0;
  private training = false;
  private reject: (e: Error) => void = () => {};
  private readonly interrupted = new Promise<never>((_, reject) => {
    this.reject = reject;
  });
  private nothingSaved = 'nothing to save';

  constructor(private ui: UI) {
    this.interrupted.catch(() => {}); // only start-up awaits it
    process.on('SIGINT', this.on);
    process.on('SIGTERM', this.on);
  }

  private on = (sig: NodeJS.Signals) => {
    const now = performance.now();
    if (this.requested) {
      if (sig === 'SIGINT' && now - this.at > SIGNAL_REPEAT_MS) {
        this.onQuit();
        process.exit(signalStatus('SIGINT'));
      }
      return;
    }
    this.requested = sig;
    this.at = now;
    const what = sig === 'SIGINT' ? 'interrupted' : 'terminated';
    if (this.training)
      this.ui.log(`\n${what}: saving a checkpoint at the end of this step (Ctrl-C again to quit without saving)`);
    else this.reject(new Interrupted(sig, `${what} before the first step: ${this.nothingSaved}`));
  };

  /** What an interruption during start-up leaves (a resumed run's checkpoint, untouched). */
  set resuming(ckpt: string) {
    this.nothingSaved = `nothing to save; ${ckpt} is as it was`;
  }

  /** Start-up: `p`, unless a signal comes first. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.interrupted]);
  }

  /** Start-up, between synchronous phases: let a pending signal be delivered, and stop if one was. */
  async checkpoint(): Promise<void> {
    await this.race(new Promise<void>((r) => setImmediate(r)));
  }

  /** The first step begins: from now on a signal means "save at the end of this step". */
  async startTraining(): Promise<void> {
    await this.checkpoint();
    this.training = true;
  }

  dispose() {
    process.off('SIGINT', this.on);
    process.off('SIGTERM', this.on);
  }
}

const isCount = (v: number) => Number.isInteger(v) && v > 0;
const isWhole = (v: number) => Number.isInteger(v) && v >= 0;

/**
 * Every numeric option of a new run, checked before anything is loaded or written, each error
 * (a UsageError) naming the flag and what it allows. (A resumed run reuses the options it was
 * started with.)
 */
export function validateOptions(o: TrainOptions): void {
  const rules: [keyof TrainOptions, string, (v: number) => boolean, string][] = [
    ['batch', '--batch', isCount, 'a positive integer'],
    ['gradAccum', '--grad-accum', isCount, 'a positive integer'],
    ['evalBatches', '--eval-batches', isCount, 'a positive integer'],
    ['steps', '--steps', isCount, 'a positive integer'],
    ['layers', '--layers', isCount, 'a positive integer'],
    ['width', '--width', isCount, 'a positive integer'],
    ['heads', '--heads', isCount, 'a positive integer'],
    ['seq', '--seq', isCount, 'a positive integer'],
    ['stopAfter', '--stop-after', isCount, 'a positive integer'],
    ['warmup', '--warmup', isWhole, 'a whole number of steps (0 or more)'],
    ['evalEvery', '--eval-every', isWhole, 'a whole number of steps (0: only at the end)'],
    ['evalQA', '--eval-qa', isWhole, 'a whole number (0 or more)'],
    ['seed', '--seed', (v) => isWhole(v) && v < 2 ** 32, 'an integer from 0 to 4294967295'],
    ['epochs', '--epochs', (v) => Number.isFinite(v) && v > 0, 'a positive number'],
    ['time', '--time', (v) => Number.isFinite(v) && v > 0, 'a positive duration'],
    ['lr', '--lr', (v) => Number.isFinite(v) && v > 0, 'a positive number'],
    ['weightDecay', '--weight-decay', (v) => Number.isFinite(v) && v >= 0, 'a number, 0 or more'],
    ['clip', '--clip', (v) => Number.isFinite(v) && v >= 0, 'a number, 0 or more (0: off)'],
    ['loraR', '--lora', isCount, "a positive integer (the adapters' rank)"],
    ['loraAlpha', '--lora-alpha', (v) => Number.isFinite(v) && v > 0, 'a positive number'],
    ['loraDropout', '--lora-dropout', (v) => v >= 0 && v < 1, 'a probability from 0 to below 1'],
  ];
  for (const [k, flag, ok, allowed] of rules) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !ok(v)) throw new UsageError(`${flag} must be ${allowed} (got ${v})`);
  }
  checkLoraFlags(o);
  // from scratch: the model's shape from the flags, before the GPU or the data (the vocabulary comes later)
  if (!o.weights && !o.batchFile && (o.layers ?? o.width ?? o.heads) !== undefined) {
    try {
      modelConfig(o);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
}

/** The embedded data's build seed (which entities are held out, how text is rendered). */
const DATA_SEED = 1234;

/** The configuration a from-scratch run starts from. */
const baseConfig = (o: TrainOptions) => (o.preset === 'tiny' ? 'tiny' : o.model === 'scratch' ? 'scratch' : o.model);

/** A from-scratch model's configuration (its shape checked in the flags' terms); `tok` sets the vocabulary. */
function modelConfig(o: TrainOptions, tok?: Tokenizer): GPT2Config {
  const base = baseConfig(o);
  const over: Partial<GPT2Config> = { n_layer: o.layers, n_embd: o.width, n_head: o.heads };
  if (tok && tok.vocabSize !== CONFIGS[base].vocab_size) {
    const v = { ...CONFIGS[base], vocab_size: tok.vocabSize };
    Object.assign(over, {
      vocab_size: tok.vocabSize,
      padded_vocab_size: padVocab(v).padded_vocab_size,
      eos_token_id: tok.eot,
    });
  }
  if (o.seq && o.seq > CONFIGS[base].n_positions) over.n_positions = o.seq;
  // the shape first, in the flags' terms (configFor's own check names config fields)
  const flag = { n_layer: '--layers', n_embd: '--width', n_head: '--heads' } as const;
  const shape = {
    n_layer: o.layers ?? CONFIGS[base].n_layer,
    n_embd: o.width ?? CONFIGS[base].n_embd,
    n_head: o.heads ?? CONFIGS[base].n_head,
  };
  checkShape(shape, 'model', (f) => (over[f] !== undefined ? flag[f] : f));
  return configFor(base, over);
}

/** How many GPT-2 tokens of `texts` a compact vocabulary lacks (they get spelled with smaller pieces). */
function countMissingTokens(tok: Tokenizer, texts: string[]): number {
  const kept = new Set(tok.gpt2Ids);
  const full = getTokenizer();
  let missing = 0;
  for (const t of texts) for (const id of full.encode(t)) if (!kept.has(id)) missing++;
  return missing;
}

function defaultSaveDir(o: TrainOptions) {
  const d = new Date();
  const stamp = `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}-${String(d.getHours()).padStart(2, '0')}${String(d.getMinutes()).padStart(2, '0')}${String(d.getSeconds()).padStart(2, '0')}`;
  return path.join('runs', `${stamp}-${o.preset === 'tiny' ? 'tiny' : o.model}`);
}

function fmtTime(s: number) {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export async function train(opts: TrainOptions, ui: UI): Promise<TrainResult> {
  // ---------------------------------------------------------------- resume or start
  const sig = new Signals(ui);
  try {
    return await trainLocked(opts, ui, sig);
  } finally {
    sig.dispose();
  }
}

async function trainLocked(opts: TrainOptions, ui: UI, sig: Signals): Promise<TrainResult> {
  let o = opts;
  let resumeFrom: string | null = null;
  let state: TrainerState | null = null;
  // a resumed run reuses its saved options: only --stop-after is new
  validateOptions(opts.resume ? ({ stopAfter: opts.stopAfter } as TrainOptions) : opts);
  if (opts.resume) {
    resumeFrom = resolveCheckpoint(opts.resume);
    state = readTrainerState(resumeFrom);
    // the same schedule and data order: the original options
    o = {
      ...(state.options as unknown as TrainOptions),
      resume: opts.resume,
      json: opts.json,
      stopAfter: opts.stopAfter,
    };
  }
  // a resumed run writes where its checkpoint is now (a checkpoint's parent is its run directory),
  // not where it was made: a copied or moved run must not write into the original
  const dir = resumeFrom ? path.dirname(path.resolve(resumeFrom)) : path.resolve(o.saveDir ?? defaultSaveDir(o));
  // the data files are read much later: one that is a FIFO would block there, deaf to Ctrl-C
  for (const f of [...(o.data ?? []), ...(o.batchFile ? [o.batchFile] : [])]) checkRegularFile(f);
  // the lock first: while a trainer writes here, that is what a second one is told (with its pid)
  const unlock = lockRunDir(dir, (why) => ui.log(why));
  // a second Ctrl-C quits at once: without the lock, and without a half-written checkpoint folder
  sig.onQuit = () => {
    try {
      removeStaleTemps(dir);
    } catch {
      /* quitting anyway */
    }
    unlock();
  };
  if (resumeFrom) sig.resuming = resumeFrom;
  try {
    if (resumeFrom && !fs.existsSync(path.join(dir, 'run.json')))
      throw new Error(`--resume: ${dir} is not a run directory (no run.json beside ${path.basename(resumeFrom)}/)`);
    if (!resumeFrom && fs.existsSync(path.join(dir, 'run.json')))
      throw new Error(`${dir} already holds a run; pick another --save-dir, or continue it with --resume ${dir}`);
    // the lock is ours: every NAME.tmp-PID folder here was left by a killed or failed save
    const left = removeStaleTemps(dir);
    if (left.length) ui.log(`removed ${left.join(', ')} in ${dir} (left by an interrupted save)`);
    return await trainIn(dir, o, resumeFrom, state, ui, sig);
  } finally {
    unlock();
  }
}

/** train() once its run directory is known and locked. */
async function trainIn(
  dir: string,
  o: TrainOptions,
  resumeFrom: string | null,
  state: TrainerState | null,
  ui: UI,
  sig: Signals,
): Promise<TrainResult> {
  const g = await sig.race(init());
  ui.log(`adapter: ${g.info.description} (${g.info.isSoftware ? 'software' : 'GPU'})`);

  // ---------------------------------------------------------------- data (text)
  let train: Example[] = [],
    vPhr: Example[] = [],
    vEnt: Example[] = [];
  let dataStats: Record<string, unknown> = {};
  if (o.data?.length) {
    await sig.checkpoint();
    const all = loadUserData(o.data);
    // a deterministic 5% for validation
    vPhr = all.filter((_, i) => i % 20 === 19);
    train = all.filter((_, i) => i % 20 !== 19);
    dataStats = { mix: 'user', files: o.data, examples: all.length };
    ui.log(`data: ${all.length} examples from ${o.data.join(', ')} (${vPhr.length} held out for validation)`);
  } else if (!o.batchFile) {
    const ds = await sig.race(loadDataset({ mix: o.dataMix, seed: DATA_SEED }));
    train = ds.train;
    vPhr = ds.val.phrasings;
    vEnt = ds.val.entities;
    dataStats = {
      mix: o.dataMix,
      stats: {
        entities: ds.stats.entities.total,
        passages: ds.stats.train.passages,
        qa_pairs: ds.stats.train.qa,
        tokens: ds.stats.train.tokens,
      },
    };
    ui.log(`${ds.cached ? 'data (cached)' : 'data (built)'}: ${formatStats(ds.stats)}`);
  }

  // ---------------------------------------------------------------- tokenizer and model
  await sig.checkpoint();
  const maxBuffer = gpu().device.limits.maxBufferSize;
  let model: GPT2;
  let tok: Tokenizer;
  if (resumeFrom) {
    // (the model's size is checked before its weights are read)
    ({ model, tok } = o.loraR ? resumeLora(o.weights!, resumeFrom, o.seed) : loadModelAndTokenizer(resumeFrom));
    if (model.config.padded_vocab_size !== state!.padded_vocab_size)
      throw new Error(`${resumeFrom}: padded vocabulary differs from the saved state`);
  } else if (o.weights) {
    if (!fs.existsSync(path.join(o.weights, 'config.json')))
      throw new Error(
        `--weights ${o.weights}: no config.json there (expected a Hugging Face GPT-2 directory; see weights/README.md)`,
      );
    ({ model, tok } = loadModelAndTokenizer(o.weights));
    if (o.loraR) ui.log(startLora(model, o, o.seed));
  } else {
    // from scratch: a compact vocabulary of the training text's GPT-2 tokens, unless --vocab gpt2
    tok =
      (o.vocab ?? 'compact') === 'compact' && train.length
        ? compactTokenizer(compactVocab(train.map((e) => e.text)))
        : getTokenizer();
    await sig.checkpoint();
    const mc = modelConfig(o, tok);
    checkParamsFit(mc, 'model', maxBuffer);
    model = GPT2.init(mc, o.seed);
    const preset = CONFIGS[baseConfig(o)].n_positions;
    if (model.config.n_positions > preset)
      ui.log(
        `note: --seq ${o.seq} is longer than the ${baseConfig(o)} configuration's ${preset} positions: this model gets ${model.config.n_positions}`,
      );
  }
  const c = model.config;
  const T = o.seq ?? Math.min(c.n_positions, o.preset === 'tiny' ? 128 : 256);
  if (T > c.n_positions) throw new Error(`--seq ${T} exceeds the model's ${c.n_positions} positions`);
  // a step's largest tensors (the MLP's B·T×4C, the logits' B·T×V when every position counts)
  // must each fit one buffer: say so here, in the flags' terms, before anything is allocated
  const rowBytes = 4 * T * Math.max(4 * c.n_embd, c.vocab_size);
  if (!o.batchFile && rowBytes > maxBuffer) {
    throw new Error(
      `--seq ${T} needs ${(rowBytes / 2 ** 30).toFixed(1)} GiB in one tensor for a single row, over this device's ${(maxBuffer / 2 ** 30).toFixed(1)} GiB buffer limit: ` +
        `--seq ${Math.floor(maxBuffer / (4 * Math.max(4 * c.n_embd, c.vocab_size)))} or less fits`,
    );
  }
  if (!o.batchFile && o.batch * rowBytes > maxBuffer) {
    throw new Error(
      `--batch ${o.batch} with --seq ${T} needs ${((o.batch * rowBytes) / 2 ** 30).toFixed(1)} GiB in one tensor, over this device's ` +
        `${(maxBuffer / 2 ** 30).toFixed(1)} GiB buffer limit: --batch ${Math.floor(maxBuffer / rowBytes)} or less fits (or use --grad-accum for a larger effective batch)`,
    );
  }
  ui.log(
    `model: ${o.weights ? `${o.model} from ${o.weights}` : o.preset === 'tiny' ? 'tiny (preset)' : o.model} — ${c.n_layer} layers × ${c.n_embd} wide × ${c.n_head} heads, ${c.n_positions} positions, vocabulary ${c.vocab_size}${tok.gpt2Ids ? ' (compact: the GPT-2 tokens of the training text)' : ''}, ${(paramCount(c) / 1e6).toFixed(1)}M parameters`,
  );
  if (tok.gpt2Ids && (resumeFrom || o.weights) && train.length) {
    const missing = countMissingTokens(
      tok,
      train.map((e) => e.text),
    );
    if (missing)
      ui.log(
        `note: ${missing} GPT-2 tokens of the training text are not in this checkpoint's compact vocabulary; they are spelled with its smaller pieces`,
      );
  }

  // ---------------------------------------------------------------- data (tokens)
  let trainSeqs: EncodedSeq[] = [];
  let held: EvalSets = { phrasings: [], entities: [], qa: [] };
  let fixed: Batch | null = null;
  if (o.batchFile) {
    fixed = loadBatchFile(o.batchFile, c.vocab_size, c.n_positions);
    ui.log(`data: fixed batch ${o.batchFile} (${fixed.B} rows of ${fixed.T + 1} tokens), used at every step`);
    dataStats = { batch_file: o.batchFile };
  } else {
    trainSeqs = encodeExamples(train, tok, o.lossOn);
    held = evalSets(
      tok,
      { phrasings: vPhr, entities: vEnt },
      { T, B: o.batch, seed: o.seed, batches: o.evalBatches, qa: o.evalQA, lossOn: o.lossOn },
    );
    if (!trainSeqs.length) throw new Error('no training data');
  }
  const epochBatches = (epoch: number) =>
    fixed ? [fixed] : packEpoch(trainSeqs, { T, B: o.batch, seed: o.seed, epoch, eot: tok.eot });
  let epoch = state?.epoch ?? 0;
  let batches = epochBatches(epoch);
  const stepsPerEpoch = Math.max(1, Math.ceil(batches.length / o.gradAccum));
  const tokensPerStep = o.gradAccum * (fixed ? fixed.B * fixed.T : o.batch * T);

  // ---------------------------------------------------------------- schedule
  let totalSteps =
    state?.totalSteps ?? o.steps ?? (o.time ? 0 : Math.max(1, Math.round((o.epochs ?? 1) * stepsPerEpoch)));
  const opt = new AdamW(model.trainable, { ...DEFAULT_ADAMW, weightDecay: o.weightDecay, clip: o.clip });
  if (resumeFrom) loadOptimizer(resumeFrom, model, opt, state!);
  let step = state?.step ?? 0;
  let batchInEpoch = state?.batchInEpoch ?? 0;
  let tokensSeen = state?.tokensSeen ?? 0;
  let bestVal = state?.bestValLoss ?? null;
  const elapsedBefore = state?.elapsed_s ?? 0;
  ui.log(
    `schedule: ${stepsPerEpoch} steps per epoch of ${batches.length} batches (B=${fixed ? fixed.B : o.batch}, T=${fixed ? fixed.T : T}, grad-accum ${o.gradAccum}, ${tokensPerStep} tokens per step); ${totalSteps ? `${totalSteps} steps` : `fitted to ${fmtTime(o.time!)} after measuring`}; lr ${o.lr} ${o.schedule}, warmup ${o.warmup !== undefined && o.warmup >= 0 ? o.warmup : 'auto'}`,
  );

  // ---------------------------------------------------------------- run directory
  // (the last moment a signal means "nothing to save": from here on it saves after the step)
  await sig.startTraining();
  const run = new RunDir(
    dir,
    {
      format: 1,
      model: o.weights ? o.model : o.preset === 'tiny' ? 'tiny' : o.model,
      params: paramCount(c),
      config: {
        n_layer: c.n_layer,
        n_embd: c.n_embd,
        n_head: c.n_head,
        n_positions: c.n_positions,
        vocab_size: c.vocab_size,
      },
      data: dataStats,
      args: o,
      adapter: g.info.description,
      started: new Date().toISOString(),
      loss_on: o.lossOn,
    },
    !!resumeFrom,
  );
  const emit = (rec: Record<string, unknown>) => {
    run.append(rec);
    ui.metrics(rec);
  };

  const snapshot = (): TrainerState => ({
    format: 1,
    step,
    epoch,
    batchInEpoch,
    tokensSeen,
    bestValLoss: bestVal,
    totalSteps,
    options: { ...o, resume: undefined, stopAfter: undefined, saveDir: dir } as unknown as Record<string, unknown>,
    padded_vocab_size: c.padded_vocab_size,
    elapsed_s: elapsedBefore + (performance.now() - t0) / 1000,
  });

  // ---------------------------------------------------------------- evaluation
  const evaluate = async () => {
    const ev = await evaluateModel(model, tok, held, { topK: 5, probes: PROBE_PROMPTS });
    const out: Record<string, unknown> = { type: 'eval', step, tokens: tokensSeen, ...ev };
    if (Array.isArray(ev.qa_samples)) out.qa_samples = ev.qa_samples.slice(0, 3);
    emit(out);
    const lines = [
      `eval @ step ${step}: val loss ${num(out.val_loss)} (ppl ${num(out.val_ppl)})` +
        (out.val_loss_unseen !== undefined
          ? `, unseen entities ${num(out.val_loss_unseen)} (ppl ${num(out.val_ppl_unseen)})`
          : '') +
        (out.qa_keyword_recall !== undefined
          ? `; QA keyword recall ${pct(out.qa_keyword_recall)} (shuffled baseline ${pct(out.qa_recall_baseline)}, lift ${pct(out.qa_recall_lift)}), on topic ${pct(out.qa_on_topic)}`
          : ''),
    ];
    if (out.verdict)
      lines.push(
        `  prompt sensitivity: KL ${num(out.prompt_sensitivity)} nats from a null prompt, function words ${pct(out.function_word_share)} of top-5 mass — ${out.verdict}`,
      );
    for (const p of (out.probes as ProbeResult[] | undefined) ?? []) {
      lines.push(
        `  ${JSON.stringify(p.prompt)} → ${p.top.map((t) => `${JSON.stringify(t.token)} ${t.logit.toFixed(2)}`).join(', ')}`,
      );
      lines.push(`      greedy: ${JSON.stringify(p.answer.slice(0, 120))}`);
    }
    ui.log(lines.join('\n'));
    return out;
  };

  /** best/ holds the checkpoint of the lowest validation loss so far. */
  const keepBest = async (ev: Record<string, unknown>) => {
    const vl = ev.val_loss as number | undefined;
    if (vl === undefined || (bestVal !== null && vl >= bestVal)) return;
    bestVal = vl;
    await saveCheckpoint(path.join(dir, 'best'), model, null, snapshot(), tok);
  };

  // ---------------------------------------------------------------- the loop
  // Ctrl-C or SIGTERM (sig.requested, see Signals) and --stop-after: save at the end of the step
  let stopAfterReached = false;
  const t0 = performance.now();
  let firstStepEnd = { elapsed: 0, step: 0 }; // when this process's first (compiling) step ended
  let lastEval: { step: number; ev: Record<string, unknown> } | undefined;
  const budget = o.time ? new TimeBudget(o.time, t0) : undefined;
  // defaults that depend on the schedule's length (known after measuring, with --time)
  const warmup = () =>
    o.warmup !== undefined && o.warmup >= 0 ? o.warmup : totalSteps ? Math.min(200, Math.ceil(0.05 * totalSteps)) : 10;
  const evalEveryOf = () => o.evalEvery ?? (totalSteps ? Math.max(1, Math.round(totalSteps / 10)) : 0);
  let evalEvery = evalEveryOf();
  const fixedEvery = o.evalEvery !== undefined; // --eval-every given: no refit moves it
  /**
   * The step of the next evaluation along the way (0: none): with evaluations planned by a fitted
   * budget, evalEvery steps after this one; otherwise the next multiple of evalEvery.
   */
  const nextEvalStep = () =>
    !evalEvery ? 0 : budget?.fitted && !fixedEvery ? step + evalEvery : (Math.floor(step / evalEvery) + 1) * evalEvery;
  let nextEval = nextEvalStep();
  /** The next gradAccum micro-batches, moving to the next epoch (and saving latest/) at an epoch's end. */
  const nextMicroBatches = async (): Promise<Batch[]> => {
    const micro: Batch[] = [];
    for (let k = 0; k < o.gradAccum; k++) {
      if (batchInEpoch >= batches.length) {
        epoch++;
        batchInEpoch = 0;
        batches = epochBatches(epoch);
        if (!fixed) {
          await saveCheckpoint(path.join(dir, 'latest'), model, opt, snapshot(), tok);
        }
      }
      micro.push(batches[batchInEpoch++]);
    }
    return micro;
  };
  /** A NaN or infinite loss stops the run before the parameters are touched, naming what is intact. */
  const stopIfNotFinite = (loss: number, gradNorm: number) => {
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new TrainingStopped(
        `loss became ${loss} (gradient norm ${gradNorm}) at step ${step + 1}: stopping. ` +
          `The parameters were not updated by this step; the last good checkpoint is ${fs.existsSync(path.join(dir, 'latest')) ? path.join(dir, 'latest') : '(none saved yet)'}. ` +
          'Try a lower --lr or a longer --warmup.',
      );
    }
  };
  /**
   * The --time fit, after step 4: one evaluation, then the steps and the evaluations (at most
   * EVAL_SHARE of the budget) fitted to what is left.
   */
  const fitToBudget = async (budget: TimeBudget) => {
    ui.progress?.stop();
    const te = performance.now();
    await evaluate();
    const now = performance.now();
    const { steps, evals, perStep, evalCost } = budget.fit(step, now, now - te);
    if (steps < 1) {
      throw new TrainingStopped(
        `--time ${fmtTime(budget.seconds)} is too short: a step takes ${perStep.toFixed(1)} s and an evaluation ${evalCost.toFixed(1)} s here, ` +
          `so one more step and the final evaluation need --time ${fmtTime(Math.ceil((now - t0) / 1000 + perStep + evalCost))} or more`,
      );
    }
    totalSteps = step + steps;
    evalEvery = o.evalEvery ?? Math.max(1, Math.ceil(steps / evals));
    nextEval = nextEvalStep();
    ui.log(
      `measured ${perStep.toFixed(2)} s per step (${(tokensPerStep / perStep).toFixed(0)} tokens/s) and ${evalCost.toFixed(1)} s per evaluation: ` +
        `the ${fmtTime(budget.seconds)} budget fits ${totalSteps} steps (${(totalSteps / stepsPerEpoch).toFixed(1)} epochs) and ${evals} more evaluations (every ${evalEvery} steps)`,
    );
    ui.progress?.start(totalSteps, step);
  };
  /** An evaluation (best/ and latest/ saved after it) and, with a fitted budget, the refit it allows. */
  const evaluateAndRefit = async () => {
    ui.progress?.stop();
    const te = performance.now();
    const ev = await evaluate();
    lastEval = { step, ev };
    await keepBest(ev);
    await saveCheckpoint(path.join(dir, 'latest'), model, opt, snapshot(), tok);
    if (budget?.fitted) {
      // each evaluation shows what steps and evaluations (with their checkpoints) really cost:
      // refit the step count and the evaluations still to come to the time left
      const now = performance.now();
      const r = budget.refit({ step, totalSteps, evalEvery, fixedEvery, now, evalMs: now - te });
      const { totalSteps: fit, perStep, evalCost } = r;
      if (fit === step) {
        ui.log(
          `the budget leaves under a quarter of an evaluation interval (${Math.ceil(evalEvery / 4)} steps): this evaluation is the final one`,
        );
        totalSteps = fit;
      } else if (Math.abs(fit - totalSteps) > 0.01 * totalSteps || r.evalEvery !== evalEvery) {
        ui.log(
          `refitted after an evaluation: ${perStep.toFixed(2)} s per step, ${evalCost.toFixed(1)} s per evaluation: the budget fits ${fit} steps` +
            (r.evalEvery !== evalEvery ? `, evaluations every ${r.evalEvery} steps` : ''),
        );
        totalSteps = fit;
      }
      evalEvery = r.evalEvery;
    }
    nextEval = nextEvalStep();
    run.plot();
    ui.progress?.start(totalSteps || 1, step);
  };
  ui.progress?.start(totalSteps || 1, step);
  try {
    while (totalSteps === 0 || step < totalSteps) {
      const micro = await nextMicroBatches();
      const lr = learningRate(step, {
        lr: o.lr,
        warmup: warmup(),
        total: totalSteps || 1_000_000,
        schedule: o.schedule,
      });
      const ts = performance.now();
      const { loss, gradNorm } = await readStep(trainStep(model, opt, micro, lr));
      const dt = (performance.now() - ts) / 1000;
      stopIfNotFinite(loss, gradNorm);
      step++;
      tokensSeen += tokensPerStep;
      const elapsed = (performance.now() - t0) / 1000;
      emit({
        type: 'train',
        step,
        epoch,
        tokens: tokensSeen,
        loss,
        grad_norm: gradNorm,
        lr,
        tokens_per_s: tokensPerStep / dt,
        time_s: elapsedBefore + elapsed,
      });
      if (step === (state?.step ?? 0) + 1) {
        ui.log(`first step: ${dt.toFixed(1)} s (kernel compilation included)`);
        // the products this step ran by rule: time the candidate blocks once for this adapter
        const tt = performance.now();
        const tunedNow = await autotuneUsed();
        if (tunedNow.length)
          ui.log(
            `matmul: tuned ${tunedNow.length} product shapes of this model for this adapter in ${((performance.now() - tt) / 1000).toFixed(1)} s (kept in ${path.relative(process.cwd(), autotuneFile())})`,
          );
        firstStepEnd = { elapsed: (performance.now() - t0) / 1000, step };
      }
      // a time budget: measure steps 2..4 (the first compiles kernels), time one evaluation, then
      // fit the steps and the evaluations (at most EVAL_SHARE of the budget) to what is left
      if (budget && totalSteps === 0 && budget.measure(step, performance.now())) await fitToBudget(budget);
      // ETA: a fitted budget's time left; else the mean step time since the compiling first step
      // (evaluations included) times the steps left
      const rate = step > firstStepEnd.step ? (elapsed - firstStepEnd.elapsed) / (step - firstStepEnd.step) : dt;
      const eta = budget?.fitted ? budget.seconds - elapsed : rate * ((totalSteps || step) - step);
      ui.progress?.update(step, {
        epoch,
        loss: loss.toFixed(4),
        tps: (tokensPerStep / dt).toFixed(0),
        eta: fmtTime(Math.max(0, eta)),
      });
      // with a fitted budget, an evaluation this near the final one would repeat it
      const finalNear = !!budget?.fitted && nearEnd(step, totalSteps, evalEvery);
      if (nextEval && step >= nextEval && (totalSteps === 0 || step < totalSteps) && !finalNear)
        await evaluateAndRefit();
      if (o.stopAfter !== undefined && step - (state?.step ?? 0) >= o.stopAfter && step < totalSteps)
        stopAfterReached = true;
      if (stopAfterReached || sig.requested) {
        ui.progress?.stop();
        await saveCheckpoint(path.join(dir, 'latest'), model, opt, snapshot(), tok);
        run.writeRunJson({ interrupted: new Date().toISOString(), steps: step, tokens_seen: tokensSeen });
        ui.log(`saved ${path.join(dir, 'latest')} at step ${step}; continue with: tsx src/train.ts --resume ${dir}`);
        run.plot();
        return { dir, state: snapshot(), stoppedBy: sig.requested ?? undefined };
      }
      if (o.time && totalSteps === 0 && elapsed > o.time) totalSteps = step;
    }
    ui.progress?.stop();
    await keepBest(lastEval?.step === step ? lastEval.ev : await evaluate());
    await saveCheckpoint(path.join(dir, 'final'), model, null, snapshot(), tok);
    await saveCheckpoint(path.join(dir, 'latest'), model, opt, snapshot(), tok);
    if (o.mergeLora) await writeMerged(model, path.join(dir, 'merged'), tok);
    run.plot();
    const wall = elapsedBefore + (performance.now() - t0) / 1000;
    run.writeRunJson({
      finished: new Date().toISOString(),
      wall_s: wall,
      steps: step,
      epochs: step / stepsPerEpoch,
      tokens_seen: tokensSeen,
    });
    ui.log(
      `done: ${step} steps, ${tokensSeen} tokens in ${fmtTime(wall)}; checkpoints in ${dir} (final/, best/, latest/), metrics in ${run.metricsFile}`,
    );
    return { dir, state: snapshot() };
  } finally {
    ui.progress?.stop();
  }
}

function num(x: unknown) {
  return typeof x === 'number' ? x.toFixed(3) : '-';
}
function pct(x: unknown) {
  return typeof x === 'number' ? `${(100 * x).toFixed(0)}%` : '-';
}
