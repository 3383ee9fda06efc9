// A run directory's lock: run.lock holds the writer's pid and host, created exclusively, so that
// two trainers never write into one run directory (they had interleaved metrics.jsonl and
// overwritten each other's checkpoints). A lock left by a process that is gone (same host, pid
// not running) is stale: it is reported and taken over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeDirs, writeProblem } from '../io/atomic.ts';

export const LOCK_FILE = 'run.lock';

/** Whether process `pid` runs on this host. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Lock `dir` (created if missing) for this process. Throws one line if another live process
 * holds it, or one on another host (which cannot be checked); `onStale` hears of a stale lock
 * before it is taken over. Returns the release function (which also removes `dir` again if this
 * call created it and it is still empty).
 */
export function lockRunDir(dir: string, onStale: (why: string) => void): () => void {
  const created = !fs.existsSync(dir);
  if (!created && !fs.statSync(dir).isDirectory()) throw new Error(`${dir} is a file, not a run directory`);
  const cannot = (e: unknown) => new Error(`cannot write into ${dir}: ${writeProblem(e)}`);
  try {
    makeDirs(dir);
  } catch (e) {
    throw cannot(e);
  }
  const file = path.join(dir, LOCK_FILE);
  const mine = `${JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() })}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw cannot(e);
      if (attempt > 0) throw e;
    }
    let held: { pid?: unknown; host?: unknown } = {};
    try {
      held = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      /* unreadable or half written: treated as stale below */
    }
    const pid = typeof held.pid === 'number' ? held.pid : NaN;
    if (typeof held.host === 'string' && held.host !== os.hostname()) {
      throw new Error(
        `${dir} is locked by process ${pid} on host ${held.host} (${file}); if no trainer runs there any more, remove ${file}`,
      );
    }
    if (Number.isInteger(pid) && alive(pid)) {
      throw new Error(
        `${dir} is in use by another trainer (process ${pid}${pid === process.pid ? ', this one' : ''}); wait for it to finish, or pick another --save-dir`,
      );
    }
    onStale(
      `${file} was left by process ${Number.isInteger(pid) ? pid : '?'}, which is no longer running: taking it over`,
    );
    fs.rmSync(file, { force: true });
  }
  return () => {
    try {
      if (fs.readFileSync(file, 'utf8') === mine) fs.rmSync(file, { force: true });
      // a run that failed before writing anything leaves no empty directory behind
      if (created && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
    } catch {
      /* already gone */
    }
  };
}
