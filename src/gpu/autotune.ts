// Autotuning: time candidate kernels for a problem class once per adapter and remember the
// fastest on disk, so that later runs (and processes) pick it without timing.
//
// The cache is a JSON object in cache/autotune.json under the repository root (git-ignored;
// MATMUL_AUTOTUNE_FILE or setAutotuneFile() moves it). Keys name the adapter and the problem
// class, e.g. "mesa/software/llvmpipe…|matmul|NN m2048 n2048 k512"; values record the winner,
// every candidate's fastest time, the date and the tuner's version (TUNER). A missing or
// unreadable file is an empty cache.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpu, runtime, sync } from './runtime.ts';
import { cpuInfo, describeCpu } from './cpu.ts';

export interface TuneEntry {
  winner: string;
  ms: Record<string, number>;
  date: string;
  /** the TUNER that chose it */
  tuner?: number;
}

/**
 * The tuning's version, kept in each entry: an entry from another version is not used (its class
 * is tuned again), so a change to how candidates are timed, or to kernels that shifts which one
 * wins, reaches caches written before it. 2: interleaved rounds (the timing), vec4 stores of C in
 * the texture matmul (faster at small K); entries before it have none. 3: one subgroup per
 * workgroup in the texture matmul (the 8-row block had won small products only by leaving more
 * workgroups for the CPU's threads).
 */
const TUNER = 3;

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let file = process.env.MATMUL_AUTOTUNE_FILE ?? path.join(REPO, 'cache', 'autotune.json');
let cache: Record<string, TuneEntry> | undefined;
/** a write of `file` failed (and said so) */
let unsaved = false;

/** Use another cache file (tests); `undefined` restores the default. Clears the in-memory copy. */
export function setAutotuneFile(f: string | undefined) {
  file = f ?? process.env.MATMUL_AUTOTUNE_FILE ?? path.join(REPO, 'cache', 'autotune.json');
  cache = undefined;
  unsaved = false;
}

export function autotuneFile() {
  return file;
}

function load(): Record<string, TuneEntry> {
  if (!cache) {
    try {
      cache = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      cache = {};
    }
    if (!cache || typeof cache !== 'object') cache = {};
  }
  return cache;
}

/**
 * Write the cache (merged with what another process may have written meanwhile). Where the file
 * cannot be written (a read-only checkout, a full disk) the winners last only this process, and
 * one line says so: tuning is an optimisation, never a reason to stop a run.
 */
function save() {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    let disk: Record<string, TuneEntry> = {};
    try {
      disk = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      /* none */
    }
    fs.writeFileSync(tmp, JSON.stringify({ ...disk, ...load() }, null, 1));
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* never written */
    }
    if (!unsaved)
      console.warn(
        `autotune: could not write ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): the tuned choices last only this process`,
      );
    unsaved = true;
  }
}

/**
 * The adapter part of every key; for a CPU adapter also the CPU, since lavapipe's description
 * ("llvmpipe (LLVM 15.0.6, 256 bits)") is the same on CPUs whose winners differ.
 */
export function adapterKey(): string {
  // every 'auto' matmul asks for it: made once per device, not from /proc/cpuinfo per call
  return runtime().memo('autotune.adapterKey', () => {
    const i = gpu().info;
    return [i.vendor, i.architecture, i.device, i.description, i.isSoftware ? describeCpu(cpuInfo()) : '']
      .filter(Boolean)
      .join('/');
  });
}

/** The remembered winner for `key`, if any (from this TUNER). */
export function tuned(key: string): string | undefined {
  return tuneEntry(key)?.winner;
}

export function tuneEntry(key: string): TuneEntry | undefined {
  const e = load()[key];
  return e?.tuner === TUNER ? e : undefined;
}

/** Forget remembered winners (all, or those whose key starts with `prefix`), on disk too. */
export function clearTuned(prefix = '') {
  const c = load();
  for (const k of Object.keys(c)) if (k.startsWith(prefix)) delete c[k];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(c, null, 1));
}

/**
 * Time each candidate (one warm-up run each, then `reps` rounds that time every candidate once,
 * each run ending in a full GPU sync), remember the fastest under `key` and write the cache file.
 * The rounds interleave the candidates and each keeps its fastest run: on a shared VM a slow
 * spell of seconds (the host's other guests) otherwise fell on whichever candidate was being
 * timed, and its loss was cached for every later run (a 2-core VM, 2026-12-06: the 1024³ class
 * kept tex-sg-32x16 at 18.9 GFLOP/s against tex-sg-64x16's 21.9 timed side by side). Noise only
 * adds time, so the minimum is the estimate that a slow spell cannot move.
 */
export async function autotune(
  key: string,
  candidates: Record<string, () => void | Promise<void>>,
  opts: { reps?: number } = {},
): Promise<TuneEntry> {
  const reps = opts.reps ?? 3;
  const entries = Object.entries(candidates);
  for (const [, fn] of entries) {
    await fn(); // compile and warm
    await sync();
  }
  const ms: Record<string, number> = {};
  for (let r = 0; r < reps; r++)
    for (const [name, fn] of entries) {
      const s = performance.now();
      await fn();
      await sync();
      ms[name] = Math.min(ms[name] ?? Infinity, performance.now() - s);
    }
  const winner = Object.entries(ms).sort((x, y) => x[1] - y[1])[0][0];
  const entry: TuneEntry = { winner, ms, date: new Date().toISOString(), tuner: TUNER };
  load()[key] = entry;
  save();
  return entry;
}
