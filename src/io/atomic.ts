// Atomic file writes: a temporary file in the same directory, fsync, rename over the target,
// then fsync the directory, so that a crash leaves either the old file or the new one, never half.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Write all of `bytes` to `fd` (writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) {
    // at most 1 GiB a call: some platforms refuse larger single writes
    const n = fs.writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30));
    if (n <= 0) throw new Error('write made no progress');
    done += n;
  }
}

const WRITE_PROBLEMS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EDQUOT: 'the disk quota is used up',
};

/** Why a write failed, in words with the errno code ("the disk is full (ENOSPC)"), else Node's message. */
export function writeProblem(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const what = err?.code ? WRITE_PROBLEMS[err.code] : undefined;
  return what ? `${what} (${err.code})` : (err?.message ?? String(e));
}

/**
 * An error of writing `file`, naming it. Node's write errors do not ("ENOSPC: no space left on
 * device, write"), so a full disk was reported without the file. The errno code is kept.
 */
export function writeError(file: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  if (err instanceof Error && err.message.startsWith(`writing ${file}: `)) return err; // named already
  const out = new Error(`writing ${file}: ${writeProblem(e)}`) as NodeJS.ErrnoException;
  if (err?.code) out.code = err.code;
  return out;
}

/**
 * `mkdir -p dir`. Node's recursive mkdir reports a read-only file system as ENOENT: on failure
 * the first missing folder is made alone, which throws the real reason (EROFS, EACCES).
 */
export function makeDirs(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    let first = path.resolve(dir);
    while (!fs.existsSync(path.dirname(first))) first = path.dirname(first);
    if (!fs.existsSync(first)) fs.mkdirSync(first);
    throw e;
  }
}

/**
 * Create `target` atomically: `write(fd)` fills a temporary file next to it, which is then
 * fsynced and renamed over `target`. On any error the temporary file is removed and the error
 * rethrown (as writeError: naming `target`); an existing `target` is left untouched.
 */
export function writeFileAtomicWith(target: string, write: (fd: number) => void): void {
  const dir = path.dirname(path.resolve(target));
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
  } catch (e) {
    throw writeError(target, e);
  }
  try {
    write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* may not exist */
    }
    throw writeError(target, e);
  }
  // make the rename itself durable; not possible on every platform (e.g. Windows), so best effort
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* best effort */
  }
}

/** Atomically replace `target` with `data` (a string is written as UTF-8). */
export function writeFileAtomic(target: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  writeFileAtomicWith(target, (fd) => writeAll(fd, bytes));
}
