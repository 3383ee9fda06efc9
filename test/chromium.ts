// Headless Chromium driven over the Chrome DevTools Protocol, for the tests that open a page in a
// real browser. The protocol goes over a pipe (--remote-debugging-pipe: JSON messages ended by
// a NUL byte, the browser reading file descriptor 3 and writing 4), so no WebSocket client and
// no npm dependency is needed.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** Where Chromium is: $CHROMIUM, else the first of the usual names on PATH; null when absent. */
export function findChromium(): string | null {
  if (process.env.CHROMIUM) return fs.existsSync(process.env.CHROMIUM) ? process.env.CHROMIUM : null;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

export const NO_CHROMIUM =
  'headless Chromium is needed for this test and was not found: install it (Debian/Ubuntu: apt-get install -y chromium; .ci/run does) or set CHROMIUM to its path';

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

/** One page in a headless browser, with what it logged as errors. */
export class Browser {
  private nextId = 1;
  private pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private listeners: ((m: Message) => void)[] = [];
  private buffer = '';
  private session = '';
  /** console.error calls, uncaught exceptions and browser log errors (failed loads, CSP …) */
  readonly errors: string[] = [];

  private constructor(
    private proc: ChildProcess,
    private userDir: string,
  ) {
    const out = proc.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => this.receive(chunk));
    proc.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('chromium exited'));
      this.pending.clear();
    });
  }

  static async launch(executable: string): Promise<Browser> {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-test-'));
    const proc = spawn(
      executable,
      [
        '--headless',
        '--no-sandbox', // the tests may run as root (CI containers)
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--no-default-browser-check',
        '--disable-extensions',
        '--window-size=1280,1600',
        `--user-data-dir=${userDir}`,
        '--remote-debugging-pipe',
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
    );
    let stderr = '';
    proc.stderr?.on('data', (d) => {
      stderr += d;
    });
    const b = new Browser(proc, userDir);
    const started = new Promise<never>((_, reject) => {
      proc.on('error', (e) => reject(new Error(`cannot start ${executable}: ${e.message}`)));
      proc.on('exit', (code) => reject(new Error(`${executable} exited with ${code}: ${stderr.slice(-2000)}`)));
    });
    await Promise.race([b.openPage(), started]);
    return b;
  }

  private receive(chunk: string) {
    this.buffer += chunk;
    for (let end = this.buffer.indexOf('\0'); end >= 0; end = this.buffer.indexOf('\0')) {
      const m = JSON.parse(this.buffer.slice(0, end)) as Message;
      this.buffer = this.buffer.slice(end + 1);
      if (m.id !== undefined) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) p?.reject(new Error(m.error.message));
        else p?.resolve(m);
      } else for (const l of this.listeners) l(m);
    }
  }

  /** Send a command (to the page's session unless `browserLevel`) and wait for its result. */
  send(method: string, params: Record<string, unknown> = {}, browserLevel = false): Promise<Message> {
    const id = this.nextId++;
    const msg: Message = { id, method, params, ...(browserLevel ? {} : { sessionId: this.session }) };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      (this.proc.stdio[3] as Writable).write(`${JSON.stringify(msg)}\0`);
    });
  }

  /** The next event `method` of the page's session. */
  private waitFor(method: string, timeoutMs: number): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${method} within ${timeoutMs} ms`)), timeoutMs);
      const l = (m: Message) => {
        if (m.method === method && m.sessionId === this.session) {
          clearTimeout(timer);
          this.listeners = this.listeners.filter((x) => x !== l);
          resolve(m);
        }
      };
      this.listeners.push(l);
    });
  }

  private collectErrors(m: Message) {
    if (m.sessionId !== this.session || !m.params) return;
    const p = m.params as {
      type?: string;
      args?: { value?: unknown; description?: string }[];
      exceptionDetails?: { text?: string; exception?: { description?: string } };
      entry?: { level?: string; text?: string; url?: string };
    };
    if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert'))
      this.errors.push(`console.${p.type}: ${(p.args ?? []).map((a) => a.description ?? String(a.value)).join(' ')}`);
    else if (m.method === 'Runtime.exceptionThrown')
      this.errors.push(`uncaught: ${p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text}`);
    else if (m.method === 'Log.entryAdded' && p.entry?.level === 'error')
      this.errors.push(`log: ${p.entry.text}${p.entry.url ? ` (${p.entry.url})` : ''}`);
  }

  private async openPage() {
    const target = await this.send('Target.createTarget', { url: 'about:blank' }, true);
    const attached = await this.send(
      'Target.attachToTarget',
      { targetId: target.result?.targetId, flatten: true },
      true,
    );
    this.session = String(attached.result?.sessionId);
    this.listeners.push((m) => this.collectErrors(m));
    for (const domain of ['Runtime', 'Log', 'Page']) await this.send(`${domain}.enable`);
  }

  /** Load `url` and wait for its load event. */
  async open(url: string, timeoutMs = 30_000): Promise<void> {
    const loaded = this.waitFor('Page.loadEventFired', timeoutMs);
    const nav = await this.send('Page.navigate', { url });
    if (nav.result?.errorText) throw new Error(`cannot open ${url}: ${nav.result.errorText}`);
    await loaded;
  }

  /** Evaluate `expression` in the page (awaiting a promise) and return its value. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    const ex = r.result?.exceptionDetails as { exception?: { description?: string }; text?: string } | undefined;
    if (ex) throw new Error(`in the page: ${ex.exception?.description ?? ex.text}`);
    return (r.result?.result as { value: T } | undefined)?.value as T;
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => this.proc.once('exit', r));
    try {
      await Promise.race([this.send('Browser.close', {}, true), exited]);
    } catch {
      /* it is going anyway */
    }
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    if (this.proc.exitCode === null && this.proc.signalCode === null) await exited;
    clearTimeout(killer);
    fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}
