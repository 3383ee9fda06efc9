// src/train/lock.ts: one trainer per run directory. CPU only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE, lockRunDir } from '../src/train/lock.ts';

describe('run directory lock', () => {
  it('refuses a second writer, takes over a stale lock, refuses another host, and tidies up', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-test-'));
    const dir = path.join(root, 'run');
    const stale: string[] = [];
    const release = lockRunDir(dir, (w) => stale.push(w));
    expect(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    expect(() => lockRunDir(dir, (w) => stale.push(w))).toThrow(/in use by another trainer \(process \d+, this one\)/);
    release();
    expect(fs.existsSync(dir)).toBe(false); // created by the lock and left empty: removed
    // a lock whose process is gone
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: 999999999, host: os.hostname() }));
    const r2 = lockRunDir(dir, (w) => stale.push(w));
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatch(/process 999999999, which is no longer running/);
    r2();
    expect(fs.existsSync(dir)).toBe(true); // it existed before: kept
    // another host's lock cannot be checked: refused
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere.example' }));
    expect(() => lockRunDir(dir, () => {})).toThrow(/locked by process 1 on host elsewhere\.example/);
    // a file in the way, and a directory this process cannot write (root may write anywhere: checked only if not root)
    fs.writeFileSync(path.join(root, 'file'), 'x');
    expect(() => lockRunDir(path.join(root, 'file'), () => {})).toThrow(/is a file, not a run directory/);
    if (process.getuid?.() !== 0) {
      fs.mkdirSync(path.join(root, 'ro'), { mode: 0o555 });
      expect(() => lockRunDir(path.join(root, 'ro', 'run'), () => {})).toThrow(
        /cannot write into .*ro\/run: permission denied \(EACCES\)/,
      );
    }
    fs.rmSync(root, { recursive: true, force: true });
  });
});
