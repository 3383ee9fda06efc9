// src/io/hub.ts against a local server on 127.0.0.1 that answers like the Hub's resolve endpoint
// (302 to a CDN for LFS files, ETag / X-Linked-Etag / X-Repo-Commit, Range, 401, 404 with
// X-Error-Code) and serves the tiny GPT-2 fixture: download into huggingface_hub's cache layout,
// reuse without a request, resume, hash check, offline mode and the bad-input errors.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  consoleProgress,
  HubError,
  hubSettings,
  parseRepoRef,
  repoFolder,
  resolveWeights,
  type Progress,
  type ResolveOptions,
} from '../src/io/hub.ts';
import { loadHF } from '../src/io/hf.ts';
import { runProbeCli } from '../src/probe/cli.ts';
import { spawnSync } from 'node:child_process';

const TINY = path.join(import.meta.dirname, 'fixtures/gpt2-reference/tiny-prefixed-f16');
const CONFIG = fs.readFileSync(path.join(TINY, 'config.json'));
const WEIGHTS = fs.readFileSync(path.join(TINY, 'model.safetensors'));
const COMMIT = 'c0ffee'.padEnd(40, '0');
const COMMIT2 = 'beef'.padEnd(40, '1');
const TOKEN = 'hf_test_token';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** git's blob id, the Hub's ETag for a file not in LFS */
const gitSha1 = (b: Uint8Array) =>
  createHash('sha1')
    .update(Buffer.concat([Buffer.from(`blob ${b.byteLength}\0`), b]))
    .digest('hex');

// ---------------------------------------------------------------- the fake Hub

interface RepoFile {
  bytes: Buffer;
  lfs: boolean;
}
interface Repo {
  refs: Record<string, string>;
  files: Record<string, RepoFile>;
  private?: boolean;
}

const small = (bytes: Buffer | string): RepoFile => ({ bytes: Buffer.from(bytes), lfs: false });
const lfs = (bytes: Buffer): RepoFile => ({ bytes, lfs: true });

/** the safetensors fixture as one shard of a sharded checkpoint */
function shardIndex(): string {
  const n = Number(WEIGHTS.readBigUInt64LE(0));
  const header = JSON.parse(WEIGHTS.subarray(8, 8 + n).toString('utf8'));
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  return JSON.stringify({ weight_map: Object.fromEntries(names.map((k) => [k, 'model-00001-of-00001.safetensors'])) });
}

const REPOS: Record<string, Repo> = {
  'tiny/gpt2': {
    refs: { main: COMMIT, v1: COMMIT },
    files: { 'config.json': small(CONFIG), 'model.safetensors': lfs(WEIGHTS) },
  },
  'tiny/sharded': {
    refs: { main: COMMIT2 },
    files: {
      'config.json': small(CONFIG),
      'model.safetensors.index.json': small(shardIndex()),
      'model-00001-of-00001.safetensors': lfs(WEIGHTS),
    },
  },
  'secret/gpt2': {
    refs: { main: COMMIT },
    private: true,
    files: { 'config.json': small(CONFIG), 'model.safetensors': lfs(WEIGHTS) },
  },
  'tiny/pickle': {
    refs: { main: COMMIT },
    files: { 'config.json': small(CONFIG), 'pytorch_model.bin': lfs(Buffer.from('not really a pickle')) },
  },
  'tiny/llama': {
    refs: { main: COMMIT },
    files: {
      'config.json': small(JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'] })),
      'model.safetensors': lfs(WEIGHTS),
    },
  },
};

interface Seen {
  method: string;
  url: string;
  range?: string;
  auth?: string;
}

/** knobs a test sets; reset after each */
const hub = {
  seen: [] as Seen[],
  /** CDN answers still to cut off after this many bytes */
  cuts: [] as number[],
  /** flip a byte of every CDN answer */
  corrupt: false,
  /** CDN answers still to stop sending (without closing) after this many bytes */
  stalls: [] as number[],
  /** sockets to destroy at the end */
  sockets: new Set<import('node:net').Socket>(),
};

function hubHeaders(f: RepoFile, commit: string): Record<string, string> {
  const h: Record<string, string> = { 'x-repo-commit': commit, etag: `"${gitSha1(f.bytes)}"` };
  if (f.lfs) Object.assign(h, { 'x-linked-etag': `"${sha256(f.bytes)}"`, 'x-linked-size': String(f.bytes.length) });
  return h;
}

function answerResolve(req: http.IncomingMessage, res: http.ServerResponse, base: string) {
  const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url ?? '');
  const fail = (status: number, code?: string) => {
    res.writeHead(status, code ? { 'x-error-code': code } : {});
    res.end();
  };
  if (!m) return fail(404);
  const [, repoId, rev, file] = m.map(decodeURIComponent);
  if (repoId === 'old/gpt2') {
    // a renamed repo: the Hub redirects relatively
    res.writeHead(307, { location: `/tiny/gpt2/resolve/${m[2]}/${m[3]}` });
    return res.end();
  }
  const repo = REPOS[repoId];
  if (!repo) return fail(404, 'RepoNotFound');
  if (repo.private && req.headers.authorization !== `Bearer ${TOKEN}`) return fail(401, 'RepoNotFound');
  const commit = repo.refs[rev] ?? (Object.values(repo.refs).includes(rev) ? rev : undefined);
  if (!commit) return fail(404, 'RevisionNotFound');
  const f = repo.files[file];
  if (!f) return fail(404, 'EntryNotFound');
  if (f.lfs) {
    res.writeHead(302, { ...hubHeaders(f, commit), location: `${base}/cdn/${sha256(f.bytes)}` });
    return res.end();
  }
  res.writeHead(200, { ...hubHeaders(f, commit), 'content-length': f.bytes.length });
  res.end(req.method === 'HEAD' ? undefined : f.bytes);
}

function answerCdn(req: http.IncomingMessage, res: http.ServerResponse) {
  const sha = (req.url ?? '').slice('/cdn/'.length);
  const f = Object.values(REPOS)
    .flatMap((r) => Object.values(r.files))
    .find((x) => x.lfs && sha256(x.bytes) === sha);
  if (!f) {
    res.writeHead(404);
    return res.end();
  }
  let body = f.bytes;
  if (hub.corrupt) {
    body = Buffer.from(body);
    body[body.length >> 1] ^= 0xff;
  }
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const from = range ? Number(range[1]) : 0;
  if (from >= body.length) {
    res.writeHead(416);
    return res.end();
  }
  const part = body.subarray(from);
  const headers: Record<string, string | number> = { 'content-length': part.length, etag: `"${sha}"` };
  if (range) headers['content-range'] = `bytes ${from}-${body.length - 1}/${body.length}`;
  res.writeHead(range ? 206 : 200, headers);
  const stall = hub.stalls.shift();
  if (stall !== undefined) return void res.write(part.subarray(0, stall));
  const cut = hub.cuts.shift();
  if (cut === undefined) return res.end(part);
  res.write(part.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
}

let server: http.Server;
let endpoint: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hub.seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      range: req.headers.range,
      auth: req.headers.authorization,
    });
    if (req.url?.startsWith('/cdn/')) answerCdn(req, res);
    else answerResolve(req, res, endpoint);
  });
  server.on('connection', (s) => {
    hub.sockets.add(s);
    s.on('close', () => hub.sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of hub.sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

// ---------------------------------------------------------------- helpers

let tmp: string;
let cache: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-test-'));
  cache = path.join(tmp, 'hub');
  hub.seen = [];
  hub.cuts = [];
  hub.corrupt = false;
  hub.stalls = [];
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** options with the fake Hub, a fresh cache and no token, unless `env` says otherwise */
function opts(env: NodeJS.ProcessEnv = {}, extra: ResolveOptions = {}): ResolveOptions {
  return {
    env: { HOME: tmp, HF_HOME: path.join(tmp, 'hf-home'), HF_ENDPOINT: endpoint, HF_HUB_CACHE: cache, ...env },
    retries: 0,
    retryDelayMs: 0,
    ...extra,
  };
}

/** the one-line error a resolution throws */
async function errorOf(spec: string, o: ResolveOptions): Promise<string> {
  try {
    await resolveWeights(spec, o);
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(HubError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error(`resolving ${spec} did not fail`);
}

/** every file under `dir`, relative, sorted ('' when absent) */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => !fs.lstatSync(path.join(dir, f)).isDirectory())
    .sort();
}

const folder = (repo: string) => repoFolder(cache, repo);
const snapshots = (repo: string) => tree(path.join(folder(repo), 'snapshots'));
const cdnRequests = () => hub.seen.filter((s) => s.url.startsWith('/cdn/'));

// ---------------------------------------------------------------- tests

describe('repo ids and settings', () => {
  it('reads ORG/NAME[@REVISION] and the aliases', () => {
    expect(parseRepoRef('distilgpt2')).toEqual({ repo: 'distilbert/distilgpt2', revision: 'main' });
    expect(parseRepoRef('gpt2@v1')).toEqual({ repo: 'openai-community/gpt2', revision: 'v1' });
    expect(parseRepoRef('org/name@refs/pr/1')).toEqual({ repo: 'org/name', revision: 'refs/pr/1' });
    expect(parseRepoRef('nonsense')).toBeNull();
    expect(parseRepoRef('a/b/c')).toBeNull();
    expect(() => parseRepoRef('org/name@')).toThrow(/revision/);
  });

  it("uses huggingface_hub's environment variables and defaults", () => {
    const h = '/home/u';
    expect(hubSettings({ HOME: h })).toMatchObject({
      cacheDir: '/home/u/.cache/huggingface/hub',
      endpoint: 'https://huggingface.co',
      offline: false,
    });
    expect(hubSettings({ HOME: h, HF_HOME: '/x' }).cacheDir).toBe('/x/hub');
    expect(hubSettings({ HOME: h, XDG_CACHE_HOME: '/xdg' }).cacheDir).toBe('/xdg/huggingface/hub');
    expect(hubSettings({ HOME: h, HF_HOME: '/x', HF_HUB_CACHE: '/c' }).cacheDir).toBe('/c');
    expect(hubSettings({ HOME: h, HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://m/' })).toMatchObject({
      offline: true,
      endpoint: 'http://m',
    });
    expect(hubSettings({ HOME: h, HF_TOKEN: 't' }).token).toBe('t');
  });

  it('a local directory wins, and a path is never sent to the Hub', async () => {
    expect(await resolveWeights(TINY, opts())).toEqual({ dir: TINY, source: 'local' });
    fs.mkdirSync(path.join(tmp, 'tiny', 'gpt2'), { recursive: true });
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      expect((await resolveWeights('tiny/gpt2', opts())).source).toBe('local');
    } finally {
      process.chdir(cwd);
    }
    expect((await resolveWeights('./no/such', opts())).source).toBe('local');
    expect(hub.seen).toEqual([]);
  });
});

describe('progress', () => {
  it('without a terminal: a line at the start, every 10 s with speed and ETA, and at the end', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const t0 = Date.now();
    let now = t0;
    const clock = Date.now;
    Date.now = () => now;
    try {
      const p = consoleProgress(stream)('model.safetensors', 100e6, 0);
      now = t0 + 5_000;
      p.update(10e6); // under 10 s: quiet
      now = t0 + 10_000;
      p.update(20e6);
      now = t0 + 12_000;
      p.update(30e6);
      p.stop();
    } finally {
      Date.now = clock;
    }
    expect(lines).toEqual([
      'downloading model.safetensors (100.0 MB)\n',
      'model.safetensors: 20.0 of 100.0 MB (20%), 2.0 MB/s, ETA 40 s\n',
      'model.safetensors: 30.0 MB in 12.0 s (2.5 MB/s)\n',
    ]);
  });
});

describe('download into the Hugging Face cache', () => {
  it("writes huggingface_hub's layout: blobs by ETag, relative snapshot links, refs", async () => {
    const updates: number[] = [];
    const progress = (_file: string, total: number | undefined): Progress => {
      expect(total).toBe(WEIGHTS.length);
      return { update: (n) => updates.push(n), stop: () => {} };
    };
    const r = await resolveWeights('tiny/gpt2', opts({}, { progress }));
    const f = folder('tiny/gpt2');
    expect(r).toEqual({
      dir: path.join(f, 'snapshots', COMMIT),
      source: 'download',
      repo: 'tiny/gpt2',
      commit: COMMIT,
    });
    expect(fs.readFileSync(path.join(f, 'refs/main'), 'utf8')).toBe(COMMIT);
    expect(fs.readlinkSync(path.join(r.dir, 'config.json'))).toBe(`../../blobs/${gitSha1(CONFIG)}`);
    expect(fs.readlinkSync(path.join(r.dir, 'model.safetensors'))).toBe(`../../blobs/${sha256(WEIGHTS)}`);
    expect(fs.readFileSync(path.join(r.dir, 'model.safetensors')).equals(WEIGHTS)).toBe(true);
    expect(tree(path.join(f, 'blobs'))).toEqual([gitSha1(CONFIG), sha256(WEIGHTS)].sort());
    expect(tree(path.join(f, '.no_exist', COMMIT))).toEqual(['merges.txt', 'tokenizer.json', 'vocab.json']);
    expect(updates.at(-1)).toBe(WEIGHTS.length);
    expect(loadHF(r.dir).config.n_layer).toBe(2);
    // the token is not sent when there is none, and the CDN got one plain GET
    expect(hub.seen.every((s) => s.auth === undefined)).toBe(true);
    expect(cdnRequests()).toEqual([
      { method: 'GET', url: `/cdn/${sha256(WEIGHTS)}`, range: undefined, auth: undefined },
    ]);
  });

  it('reuses the cache without a single request', async () => {
    await resolveWeights('tiny/gpt2', opts());
    hub.seen = [];
    const again = await resolveWeights('tiny/gpt2', opts());
    expect(again.source).toBe('cache');
    expect(hub.seen).toEqual([]);
    // a second tag for the same commit downloads no blob again
    await resolveWeights('tiny/gpt2@v1', opts());
    expect(cdnRequests()).toEqual([]);
    expect(fs.readFileSync(path.join(folder('tiny/gpt2'), 'refs/v1'), 'utf8')).toBe(COMMIT);
    hub.seen = [];
    expect((await resolveWeights(`tiny/gpt2@${COMMIT}`, opts())).source).toBe('cache');
    expect(hub.seen).toEqual([]);
  });

  it('uses a cache that transformers wrote ($HF_HOME/hub), offline, without a request', async () => {
    const f = repoFolder(path.join(tmp, 'hf-home', 'hub'), 'distilbert/distilgpt2');
    fs.mkdirSync(path.join(f, 'blobs'), { recursive: true });
    fs.mkdirSync(path.join(f, 'snapshots', COMMIT), { recursive: true });
    fs.mkdirSync(path.join(f, 'refs'));
    fs.writeFileSync(path.join(f, 'refs', 'main'), COMMIT);
    for (const [name, bytes, etag] of [
      ['config.json', CONFIG, gitSha1(CONFIG)],
      ['model.safetensors', WEIGHTS, sha256(WEIGHTS)],
    ] as const) {
      fs.writeFileSync(path.join(f, 'blobs', etag), bytes);
      fs.symlinkSync(`../../blobs/${etag}`, path.join(f, 'snapshots', COMMIT, name));
    }
    const o = opts({ HF_HUB_CACHE: undefined, HF_HUB_OFFLINE: '1' });
    const r = await resolveWeights('distilgpt2', o);
    expect(r).toMatchObject({ source: 'cache', dir: path.join(f, 'snapshots', COMMIT) });
    expect(hub.seen).toEqual([]);
  });

  it('downloads a sharded checkpoint (index + shards)', async () => {
    const r = await resolveWeights('tiny/sharded', opts());
    expect(fs.readdirSync(r.dir).sort()).toEqual([
      'config.json',
      'model-00001-of-00001.safetensors',
      'model.safetensors.index.json',
    ]);
    expect(loadHF(r.dir).source.sharded).toBe(true);
    hub.seen = [];
    expect((await resolveWeights('tiny/sharded', opts())).source).toBe('cache');
    expect(hub.seen).toEqual([]);
  });

  it("follows the Hub's relative redirect of a renamed repo", async () => {
    const r = await resolveWeights('old/gpt2', opts());
    expect(fs.readFileSync(path.join(r.dir, 'model.safetensors')).equals(WEIGHTS)).toBe(true);
  });

  it('sends HF_TOKEN as a Bearer token for a private repo', async () => {
    const r = await resolveWeights('secret/gpt2', opts({ HF_TOKEN: TOKEN }));
    expect(r.source).toBe('download');
    expect(hub.seen.filter((s) => s.url.includes('/resolve/')).every((s) => s.auth === `Bearer ${TOKEN}`)).toBe(true);
  });
});

describe('resume and integrity', () => {
  it('resumes after a connection cut mid-file with a Range request (the next run)', async () => {
    const cut = Math.floor(WEIGHTS.length / 3);
    hub.cuts = [cut];
    const msg = await errorOf('tiny/gpt2', opts());
    expect(msg).toMatch(/connection (lost|closed).*model\.safetensors.*kept: run again to resume/);
    const partial = path.join(folder('tiny/gpt2'), 'blobs', `${sha256(WEIGHTS)}.incomplete`);
    const kept = fs.statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(cut);
    expect(snapshots('tiny/gpt2')).toEqual([]);
    hub.seen = [];
    const r = await resolveWeights('tiny/gpt2', opts());
    expect(cdnRequests().map((s) => s.range)).toEqual([`bytes=${kept}-`]);
    expect(fs.readFileSync(path.join(r.dir, 'model.safetensors')).equals(WEIGHTS)).toBe(true);
    expect(fs.existsSync(partial)).toBe(false);
  });

  it('resumes within the same run when retries are allowed', async () => {
    hub.cuts = [1000, 50_000];
    const logs: string[] = [];
    const r = await resolveWeights('tiny/gpt2', opts({}, { retries: 3, log: (l) => logs.push(l) }));
    expect(fs.readFileSync(path.join(r.dir, 'model.safetensors')).equals(WEIGHTS)).toBe(true);
    const ranges = cdnRequests().map((s) => s.range);
    expect(ranges[0]).toBeUndefined();
    expect(ranges.slice(1).every((x) => /^bytes=[1-9]\d*-$/.test(x ?? ''))).toBe(true);
    expect(ranges).toHaveLength(3);
    expect(logs.filter((l) => l.includes('resuming'))).toHaveLength(2);
  });

  it('gives up on a transfer that stalls, keeping what came, and resumes it', async () => {
    hub.stalls = [4096];
    const msg = await errorOf('tiny/gpt2', opts({}, { stallTimeoutMs: 300 }));
    expect(msg).toMatch(/connection lost after .*model\.safetensors.*kept: run again to resume/);
    hub.seen = [];
    await resolveWeights('tiny/gpt2', opts());
    expect(cdnRequests().map((s) => s.range)).toEqual(['bytes=4096-']);
  });

  it('refuses a blob whose sha256 is not the ETag, and keeps nothing of it', async () => {
    hub.corrupt = true;
    const msg = await errorOf('tiny/gpt2', opts());
    expect(msg).toContain(`the Hub says ${sha256(WEIGHTS)}`);
    expect(msg).toMatch(/corrupt and was removed/);
    expect(tree(path.join(folder('tiny/gpt2'), 'blobs'))).toEqual([]);
    expect(snapshots('tiny/gpt2')).toEqual([]);
    expect(fs.existsSync(path.join(folder('tiny/gpt2'), 'refs'))).toBe(false);
  });

  it('a full disk keeps the partial file for a resume and leaves snapshots/ empty', async () => {
    let written = 0;
    const limit = 100_000;
    const writeChunk = (fd: number, bytes: Uint8Array) => {
      const room = limit - written;
      if (bytes.byteLength > room) {
        fs.writeSync(fd, bytes, 0, room);
        written = limit;
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      fs.writeSync(fd, bytes);
      written += bytes.byteLength;
    };
    const msg = await errorOf('tiny/gpt2', opts({}, { writeChunk }));
    expect(msg).toMatch(/the disk is full \(ENOSPC\).*kept there.*run the same command again to resume/);
    const partial = path.join(folder('tiny/gpt2'), 'blobs', `${sha256(WEIGHTS)}.incomplete`);
    expect(fs.statSync(partial).size).toBe(limit);
    expect(snapshots('tiny/gpt2')).toEqual([]);
    hub.seen = [];
    await resolveWeights('tiny/gpt2', opts());
    expect(cdnRequests().map((s) => s.range)).toEqual([`bytes=${limit}-`]);
  });
});

describe('offline and unreachable', () => {
  it('HF_HUB_OFFLINE=1 with nothing cached: one line naming what is missing, no request', async () => {
    const msg = await errorOf('tiny/gpt2', opts({ HF_HUB_OFFLINE: '1' }));
    expect(msg).toContain('tiny/gpt2@main is not in the Hugging Face cache');
    expect(msg).toContain('lacks refs/main, config.json, model.safetensors');
    expect(msg).toContain('HF_HUB_OFFLINE');
    expect(msg).toContain('weights/README.md');
    expect(hub.seen).toEqual([]);
  });

  it('offline with a snapshot that lacks its weights names the weights', async () => {
    const f = folder('tiny/gpt2');
    fs.mkdirSync(path.join(f, 'snapshots', COMMIT), { recursive: true });
    fs.mkdirSync(path.join(f, 'refs'));
    fs.writeFileSync(path.join(f, 'refs', 'main'), COMMIT);
    fs.writeFileSync(path.join(f, 'snapshots', COMMIT, 'config.json'), CONFIG);
    const msg = await errorOf('tiny/gpt2', opts({ HF_HUB_OFFLINE: 'true' }));
    expect(msg).toMatch(/lacks model\.safetensors\)/);
  });

  it('no network: says the Hub cannot be reached and what is missing', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const msg = await errorOf('tiny/gpt2', opts({ HF_ENDPOINT: `http://127.0.0.1:${port}` }));
    expect(msg).toMatch(/cannot be reached.*ECONNREFUSED/);
    expect(msg).toContain('lacks refs/main, config.json, model.safetensors');
    expect(tree(cache)).toEqual([]);
  });
});

describe('bad input: one line, nothing left in snapshots/', () => {
  afterEach(() => {
    for (const repo of Object.keys(REPOS)) expect(snapshots(repo)).toEqual([]);
  });

  it('a repo that does not exist', async () => {
    expect(await errorOf('nobody/nothing', opts())).toBe(
      `no repo nobody/nothing on ${endpoint}; "nobody/nothing" is not a local directory either`,
    );
  });

  it('401 without a token says to set HF_TOKEN', async () => {
    const msg = await errorOf('secret/gpt2', opts());
    expect(msg).toMatch(/HTTP 401 without a token.*private, gated or does not exist.*set HF_TOKEN/);
    expect(await errorOf('secret/gpt2', opts({ HF_TOKEN: 'wrong' }))).toMatch(/refused the token in HF_TOKEN/);
  });

  it('a repo with only pytorch_model.bin: pickle refused on purpose, and how to convert', async () => {
    const msg = await errorOf('tiny/pickle', opts());
    expect(msg).toContain('has only pytorch_model.bin, a pickle: pickle files are refused on purpose');
    expect(msg).toContain(
      `python -c "from transformers import AutoModel; AutoModel.from_pretrained('tiny/pickle').save_pretrained('weights/pickle', safe_serialization=True)"`,
    );
    expect(cdnRequests()).toEqual([]);
  });

  it('a model that is not GPT-2 is named from its config.json', async () => {
    expect(await errorOf('tiny/llama', opts())).toBe(
      'tiny/llama is a LlamaForCausalLM (model_type "llama") model, not GPT-2: only the GPT-2 architecture runs here',
    );
    expect(tree(cache)).toEqual([]);
  });

  it('a revision that does not exist', async () => {
    expect(await errorOf('tiny/gpt2@nope', opts())).toBe(
      'tiny/gpt2 has no revision "nope" (give a branch, a tag or a commit hash after "@")',
    );
  });
});

describe('the CLIs resolve --model and --weights through the hub', () => {
  const ROOT = path.join(import.meta.dirname, '..');

  /** a cache holding the tiny fixture as distilbert/distilgpt2, as transformers would have left it */
  function cacheWithDistilgpt2(): string {
    const f = repoFolder(cache, 'distilbert/distilgpt2');
    fs.mkdirSync(path.join(f, 'blobs'), { recursive: true });
    fs.mkdirSync(path.join(f, 'snapshots', COMMIT), { recursive: true });
    fs.mkdirSync(path.join(f, 'refs'));
    fs.writeFileSync(path.join(f, 'refs', 'main'), COMMIT);
    for (const [name, bytes] of [
      ['config.json', CONFIG],
      ['model.safetensors', WEIGHTS],
    ] as const) {
      fs.writeFileSync(path.join(f, 'blobs', sha256(bytes)), bytes);
      fs.symlinkSync(`../../blobs/${sha256(bytes)}`, path.join(f, 'snapshots', COMMIT, name));
    }
    return path.join(f, 'snapshots', COMMIT);
  }

  it('probe --model distilgpt2 runs on the cached snapshot, offline', async () => {
    const snapshot = cacheWithDistilgpt2();
    const saved = { ...process.env };
    Object.assign(process.env, { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' });
    const out: string[] = [];
    const err: string[] = [];
    try {
      const code = await runProbeCli(['--model', 'distilgpt2', '--json', '-k', '3'], {
        out: (s) => out.push(s),
        err: (s) => err.push(s),
      });
      expect(code, err.join('\n')).toBe(0);
    } finally {
      process.env = saved;
    }
    expect(err.join('\n')).toContain(`from the Hugging Face cache, ${snapshot}`);
    expect(JSON.parse(out.join('')).top).toHaveLength(3);
  }, 120_000);

  it.each([
    ['train', ['src/train.ts', '--model', 'distilgpt2', '--steps', '1']],
    ['eval', ['src/eval.ts', '--weights', 'tiny/gpt2@v1']],
    ['probe', ['src/probe.ts', '--model', 'gpt2']],
  ])(
    '%s: offline and not cached is one line and exit 1, before any GPU work',
    (name, args) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' },
      });
      expect(r.status, r.stderr).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^${name}: .*is not in the Hugging Face cache.*HF_HUB_OFFLINE`));
    },
    60_000,
  );
});
