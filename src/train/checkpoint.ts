// Checkpoints: a directory in Hugging Face's layout (config.json + model.safetensors, so
// transformers can load it) plus optimizer.safetensors (AdamW's m and v per parameter) and
// trainer_state.json (step, epoch, position in the data, options, RNG seed), and the tokenizer
// (vocab.json, merges.txt, tokenizer.json: a compact vocabulary travels with its model).
//
// A checkpoint directory is written whole or not at all: everything goes into a temporary
// sibling directory, which then replaces the old one by rename. If the process dies between
// the two renames, the previous checkpoint is still there as NAME.old and is found by
// resolveCheckpoint(); it is removed only once the new NAME is in place. A failed save removes its
// temporary folder, and a save removes those that killed processes left (NAME.tmp-PID).
//
// A LoRA run's checkpoint holds the adapters in PEFT's format (adapter_config.json +
// adapter_model.safetensors) instead of the frozen base's weights, and AdamW's moments of the
// adapters only.
import fs from 'node:fs';
import path from 'node:path';
import { saveHF } from '../io/hf.ts';
import { writeTokenizerFiles, type Tokenizer } from '../io/tokenizer.ts';
import { readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import { makeDirs, writeError, writeFileAtomic } from '../io/atomic.ts';
import { checkRegularFile } from '../io/files.ts';
import type { GPT2 } from '../model/gpt2.ts';
import { modelTensors, saveLora } from '../model/load.ts';
import { baseModelName } from '../io/peft.ts';
import type { Params } from '../tape/params.ts';
import { alive } from './lock.ts';
import type { AdamW } from './optimizer.ts';

export interface TrainerState {
  format: 1;
  /** optimizer updates done */
  step: number;
  /** epoch of the next batch, and the micro-batch index inside it */
  epoch: number;
  batchInEpoch: number;
  tokensSeen: number;
  bestValLoss: number | null;
  /** planned total steps (the schedule) */
  totalSteps: number;
  /** the training options the run was started with (resume reuses them) */
  options: Record<string, unknown>;
  padded_vocab_size: number;
  elapsed_s: number;
}

/** Trim or keep a flat parameter-shaped view in the HF layout (wte without padding rows). */
async function stateTensors(model: GPT2, P: Params, flat: import('../gpu/tensor.ts').Tensor, prefix: string) {
  const all = await flat.toArray();
  const c = model.config;
  return P.specs.map((s) => {
    const off = P.offsets.get(s.name)!;
    const shape = s.name === 'wte.weight' ? [c.vocab_size, c.n_embd] : s.shape;
    const n = shape.reduce((a, b) => a * b, 1);
    return { name: prefix + s.name, shape, data: all.slice(off, off + n) };
  });
}

export async function saveCheckpoint(dir: string, model: GPT2, opt: AdamW | null, state: TrainerState, tok: Tokenizer) {
  const parent = path.dirname(path.resolve(dir));
  const tmp = `${path.resolve(dir)}.tmp-${process.pid}`;
  try {
    makeDirs(parent);
    removeStaleTemps(parent, path.basename(dir));
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp);
    // read everything back from the GPU first, then write
    const weights = model.lora ? null : await modelTensors(model);
    const P = model.trainable;
    const moments = opt
      ? [...(await stateTensors(model, P, P.adamState.m, 'm.')), ...(await stateTensors(model, P, P.adamState.v, 'v.'))]
      : null;
    if (weights) saveHF(tmp, model.config, weights);
    else await saveLora(model, tmp, baseModelName(String(state.options.weights)));
    writeTokenizerFiles(tmp, tok);
    if (moments) writeSafetensors(path.join(tmp, 'optimizer.safetensors'), moments, { step: String(opt!.step) });
    writeFileAtomic(path.join(tmp, 'trainer_state.json'), `${JSON.stringify(state, null, 2)}\n`);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true }); // a failed save (a full disk) leaves no half checkpoint behind
    // (the file writers name their file; a folder that could not be made is named here)
    const why = e instanceof Error && e.message.startsWith('writing ') ? e.message : writeError(tmp, e).message;
    throw new Error(`saving ${dir} failed (${why}); ${intactCheckpoints(parent)}`);
  }
  const old = `${path.resolve(dir)}.old`;
  if (fs.existsSync(dir)) {
    // NAME.old is only ever the previous good checkpoint while NAME is being replaced
    fs.rmSync(old, { recursive: true, force: true });
    fs.renameSync(dir, old);
  }
  // (when a crash left only NAME.old, it stays until the new NAME is in place)
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

/** The checkpoints of a run directory that are whole, with their steps, as one phrase ("latest/ (step 4) is intact"). */
export function intactCheckpoints(runDir: string): string {
  const found: string[] = [];
  for (const name of ['latest', 'best', 'final']) {
    for (const d of [name, `${name}.old`]) {
      const f = path.join(runDir, d, 'trainer_state.json');
      if (!fs.existsSync(f)) continue;
      let step = '?';
      try {
        step = String(JSON.parse(fs.readFileSync(f, 'utf8')).step);
      } catch {
        /* unreadable: still named */
      }
      found.push(`${d}/ (step ${step})`);
      break;
    }
  }
  if (!found.length) return 'no checkpoint had been saved yet, so none was lost';
  return `${found.join(', ')} ${found.length > 1 ? 'are' : 'is'} intact`;
}

/**
 * Remove the NAME.tmp-PID folders in `runDir` that killed or failed saves left (all names, or
 * only `name`'s). A folder of a process that still runs is kept (its save is in progress).
 */
export function removeStaleTemps(runDir: string, name?: string): string[] {
  const removed: string[] = [];
  if (!fs.existsSync(runDir)) return removed;
  for (const f of fs.readdirSync(runDir)) {
    const m = /^(.+)\.tmp-(\d+)$/.exec(f);
    if (!m || (name !== undefined && m[1] !== name)) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && alive(pid)) continue;
    fs.rmSync(path.join(runDir, f), { recursive: true, force: true });
    removed.push(f);
  }
  return removed;
}

/**
 * The checkpoint directory to resume from: DIR itself if it holds trainer_state.json,
 * else DIR/latest (or the DIR/latest.old left by an interrupted save).
 */
export function resolveCheckpoint(dir: string): string {
  if (!fs.existsSync(dir)) throw new Error(`--resume: no such directory: ${dir}`);
  for (const d of [dir, path.join(dir, 'latest'), path.join(dir, 'latest.old')]) {
    if (fs.existsSync(path.join(d, 'trainer_state.json'))) return d;
  }
  throw new Error(
    `--resume: ${dir} holds no checkpoint (no trainer_state.json in it or in ${path.join(dir, 'latest')})`,
  );
}

export function readTrainerState(ckpt: string): TrainerState {
  const file = path.join(ckpt, 'trainer_state.json');
  checkRegularFile(file);
  let s: TrainerState;
  try {
    s = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (s.format !== 1 || typeof s.step !== 'number') throw new Error(`${file}: not a trainer state of format 1`);
  return s;
}

/** Restore AdamW's moments and step count from a checkpoint (parameters are loaded separately). */
export function loadOptimizer(ckpt: string, model: GPT2, opt: AdamW, state: TrainerState) {
  const file = path.join(ckpt, 'optimizer.safetensors');
  if (!fs.existsSync(file)) throw new Error(`${ckpt}: optimizer.safetensors is missing; cannot resume the optimizer`);
  const t = readSafetensors(file);
  const P = model.trainable;
  const { m, v } = P.adamState;
  for (const [prefix, flat] of [
    ['m.', m],
    ['v.', v],
  ] as const) {
    for (const s of P.specs) {
      const e = t.get(prefix + s.name);
      if (!e) throw new Error(`${file}: missing ${prefix + s.name}`);
      const off = P.offsets.get(s.name)!;
      flat.write(e.data, off);
    }
  }
  opt.step = state.step;
}
