// Resolving `--model NAME` / `--weights ORG/NAME[@REVISION]` to a local model directory: the
// argument itself when it is a directory, else the Hugging Face cache, else a download from the
// Hub into that cache, so that `transformers` and this tool share their downloads.
//
// The cache, as huggingface_hub lays it out:
//   $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub
//     models--ORG--NAME/
//       refs/REVISION            the commit a branch or tag points to (40 hex digits, no newline)
//       blobs/ETAG               a file's bytes, named by its ETag (sha256 for LFS files)
//       blobs/ETAG.incomplete    a download under way, resumed with a Range request
//       snapshots/COMMIT/FILE    a relative symlink to ../../blobs/ETAG
//       .no_exist/COMMIT/FILE    empty: FILE is known to be absent at COMMIT
//
// The Hub's resolve endpoint, {HF_ENDPOINT}/{repo}/resolve/{revision}/{file}, answers 200 with the
// file (small files) or a 302 to a CDN (LFS files), with X-Repo-Commit (the commit), ETag (small
// files: the git blob id) and, for LFS files, X-Linked-Etag / X-Linked-Size (sha256 and size);
// 401 without a token for a private, gated or missing repo; 404 with X-Error-Code RepoNotFound,
// RevisionNotFound or EntryNotFound.
//
// A download writes blobs first (large ones through `.incomplete`, checked against their sha256
// before the rename), then the snapshot links, then refs/: an error at any point leaves
// nothing in snapshots/ that points at a missing or partial file.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import { writeAll, writeError, writeFileAtomic } from './atomic.ts';

/** The names `--model` accepts, and the Hub repos they stand for. */
export const MODEL_ALIASES: Readonly<Record<string, string>> = {
  distilgpt2: 'distilbert/distilgpt2',
  gpt2: 'openai-community/gpt2',
};

const CONFIG = 'config.json';
const WEIGHTS = 'model.safetensors';
const WEIGHTS_INDEX = 'model.safetensors.index.json';
/** what the tokenizer loader reads (src/io/tokenizer.ts): all optional */
const TOKENIZER_FILES = ['vocab.json', 'merges.txt', 'tokenizer.json'];
const PICKLES = ['pytorch_model.bin', 'pytorch_model.bin.index.json'];
/** GPT-2's vocabulary: a model of this size needs no tokenizer files (the built-in one is GPT-2's) */
const GPT2_VOCAB = 50257;
const COMMIT_RE = /^[0-9a-f]{40}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;

/** A one-line error the CLIs print as it is (exit 1). */
export class HubError extends Error {}

// ---------------------------------------------------------------- names

export interface RepoRef {
  repo: string;
  revision: string;
}

/** "ORG/NAME[@REVISION]" or an alias; null when `spec` is not a repo id at all. */
export function parseRepoRef(spec: string): RepoRef | null {
  const at = spec.indexOf('@');
  const name = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? 'main' : spec.slice(at + 1);
  const repo = MODEL_ALIASES[name] ?? name;
  if (!/^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(repo) || /--|\.\./.test(repo) || repo.length > 96) return null;
  if (!revision || revision.split('/').some((p) => p === '' || p === '.' || p === '..'))
    throw new HubError(`${spec}: the revision after "@" must be a branch, tag or commit hash`);
  return { repo, revision };
}

/** Arguments that are paths, not repo ids, even when no such directory exists. */
function looksLikePath(spec: string): boolean {
  return /^(\.{1,2}\/|\/|~)|\/$|\\/.test(spec) || spec.split('/').length > 2;
}

// ---------------------------------------------------------------- settings

export interface HubSettings {
  /** the Hub, without a trailing slash */
  endpoint: string;
  cacheDir: string;
  token?: string;
  offline: boolean;
}

const truthy = (v: string | undefined) => ['1', 'ON', 'YES', 'TRUE'].includes((v ?? '').toUpperCase());

/** The environment variables huggingface_hub reads, with its defaults. */
export function hubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const home = env.HOME || os.homedir();
  const expand = (p: string) => (p === '~' || p.startsWith('~/') ? path.join(home, p.slice(1)) : p);
  const hfHome = expand(env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'huggingface'));
  const cacheDir = expand(env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || path.join(hfHome, 'hub'));
  let token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  if (!token) {
    // what `huggingface-cli login` saved
    try {
      token = fs.readFileSync(path.join(hfHome, 'token'), 'utf8').trim() || undefined;
    } catch {
      /* not logged in */
    }
  }
  return {
    endpoint: (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, ''),
    cacheDir,
    token,
    offline: truthy(env.HF_HUB_OFFLINE),
  };
}

// ---------------------------------------------------------------- the cache

/** models--ORG--NAME inside the cache */
export function repoFolder(cacheDir: string, repo: string): string {
  return path.join(cacheDir, `models--${repo.split('/').join('--')}`);
}

const isFile = (p: string) => fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;

/** The commit `revision` names in the cache: itself when a commit hash, else refs/REVISION. */
function cachedCommit(folder: string, revision: string): string | undefined {
  if (COMMIT_RE.test(revision)) return revision;
  try {
    const c = fs.readFileSync(path.join(folder, 'refs', revision), 'utf8').trim();
    return COMMIT_RE.test(c) ? c : undefined;
  } catch {
    return undefined;
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof j === 'object' && j !== null && !Array.isArray(j) ? j : undefined;
  } catch {
    return undefined;
  }
}

/** The shard files a model.safetensors.index.json names. */
function shardsOf(index: Record<string, unknown>, where: string): string[] {
  const map = index.weight_map;
  if (typeof map !== 'object' || map === null) throw new HubError(`${where}: no "weight_map"`);
  const files = [...new Set(Object.values(map as Record<string, unknown>))];
  if (!files.length || files.some((f) => typeof f !== 'string' || f.startsWith('/') || f.split('/').includes('..')))
    throw new HubError(`${where}: "weight_map" must name shard files inside the repo`);
  return files as string[];
}

/** A tokenizer the loader can read is there, or the model's vocabulary is GPT-2's (the built-in tokenizer). */
function tokenizerMissing(dir: string, vocabSize: unknown): string | undefined {
  if (vocabSize === GPT2_VOCAB) return undefined;
  const has = (f: string) => isFile(path.join(dir, f));
  if ((has('vocab.json') && has('merges.txt')) || has('tokenizer.json')) return undefined;
  return 'vocab.json + merges.txt (or tokenizer.json)';
}

/** What a snapshot directory lacks of the files the loader needs (empty: complete). */
export function missingFiles(dir: string): string[] {
  if (!isFile(path.join(dir, CONFIG))) return [CONFIG, WEIGHTS];
  const missing: string[] = [];
  if (!isFile(path.join(dir, WEIGHTS))) {
    const index = readJson(path.join(dir, WEIGHTS_INDEX));
    if (!index) missing.push(WEIGHTS);
    else missing.push(...shardsOf(index, path.join(dir, WEIGHTS_INDEX)).filter((f) => !isFile(path.join(dir, f))));
  }
  const tok = tokenizerMissing(dir, readJson(path.join(dir, CONFIG))?.vocab_size);
  if (tok) missing.push(tok);
  return missing;
}

interface CacheLookup {
  /** the snapshot directory, when it has every file the loader needs */
  dir?: string;
  commit?: string;
  /** what is missing, for the offline error */
  missing: string[];
}

function lookInCache(cacheDir: string, ref: RepoRef): CacheLookup {
  const folder = repoFolder(cacheDir, ref.repo);
  const commit = cachedCommit(folder, ref.revision);
  if (!commit) return { missing: [`refs/${ref.revision}`, CONFIG, WEIGHTS] };
  const dir = path.join(folder, 'snapshots', commit);
  const missing = missingFiles(dir);
  return { dir: missing.length ? undefined : dir, commit, missing };
}

// ---------------------------------------------------------------- the resolve endpoint

/** What the resolve endpoint says about one file. */
interface FileMeta {
  file: string;
  commit: string;
  /** normalised: no quotes, no W/ */
  etag: string;
  size?: number;
  /** the CDN address of an LFS file (the 302's Location) */
  location?: string;
}

/** A request that never reached the server, or a connection lost on the way. */
class NetworkError extends Error {}

/** Test hook and settings of one resolution. */
export interface ResolveOptions {
  /** the environment to read HF_* from (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** one-line notes (which source was used, retries): stderr in the CLIs */
  log?: (line: string) => void;
  /** a progress display per downloaded file (default none; CLIs: consoleProgress()) */
  progress?: ProgressFactory;
  /** how often a lost connection is resumed before giving up (default 3) */
  retries?: number;
  /** the first wait before a resume, doubled each time (default 1000 ms) */
  retryDelayMs?: number;
  /** abort a download that receives nothing for this long (default 60 s) */
  stallTimeoutMs?: number;
  /** writes a downloaded chunk (default writeAll; tests simulate a full disk) */
  writeChunk?: (fd: number, bytes: Uint8Array) => void;
}

interface Ctx {
  s: HubSettings;
  o: ResolveOptions;
  ref: RepoRef;
  spec: string;
  folder: string;
}

function resolveUrl(c: Ctx, revision: string, file: string): string {
  const enc = file.split('/').map(encodeURIComponent).join('/');
  return `${c.s.endpoint}/${c.ref.repo}/resolve/${encodeURIComponent(revision)}/${enc}`;
}

/** The token goes to the Hub only, never to the CDN a file redirects to. */
function authHeaders(c: Ctx, url: string): Record<string, string> {
  return c.s.token && new URL(url).origin === new URL(c.s.endpoint).origin
    ? { authorization: `Bearer ${c.s.token}` }
    : {};
}

function networkReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (e as Error).message;
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    throw new NetworkError(`cannot reach ${new URL(url).host} (${networkReason(e)})`);
  }
}

/** A small request's deadline: the stall timeout, for the whole answer. */
const timeout = (c: Ctx) => AbortSignal.timeout(c.o.stallTimeoutMs ?? 60_000);

/** A non-2xx answer of the Hub as one line. */
function hubError(c: Ctx, res: Response, file: string): HubError {
  const code = res.headers.get('x-error-code');
  const { repo, revision } = c.ref;
  const notLocal = c.spec.includes('/') ? `; "${c.spec}" is not a local directory either` : '';
  if (res.status === 401 || res.status === 403) {
    if (code === 'GatedRepo')
      return new HubError(
        `${repo} is gated: accept its conditions at ${c.s.endpoint}/${repo} and set HF_TOKEN to a read token of that account`,
      );
    return new HubError(
      c.s.token
        ? `${repo}: the Hub refused the token in HF_TOKEN (HTTP ${res.status}): the repo does not exist or that token cannot read it${notLocal}`
        : `${repo}: the Hub answered HTTP ${res.status} without a token: the repo is private, gated or does not exist; if you may read it, set HF_TOKEN to a read token (${c.s.endpoint}/settings/tokens)${notLocal}`,
    );
  }
  if (res.status === 404 && code === 'RepoNotFound')
    return new HubError(`no repo ${repo} on ${c.s.endpoint}${notLocal}`);
  if (res.status === 404 && code === 'RevisionNotFound')
    return new HubError(`${repo} has no revision "${revision}" (give a branch, a tag or a commit hash after "@")`);
  if (res.status === 404) return new HubError(`${repo}@${revision}: no ${file} there (HTTP 404)`);
  return new HubError(`${repo}@${revision}: ${c.s.endpoint} answered HTTP ${res.status} for ${file}`);
}

const normalizeEtag = (e: string) => e.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

function metaOf(c: Ctx, res: Response, file: string, location?: string): FileMeta {
  const h = res.headers;
  const commit = h.get('x-repo-commit') ?? undefined;
  const etag = h.get('x-linked-etag') ?? h.get('etag') ?? undefined;
  if (!commit || !etag)
    throw new HubError(
      `${c.s.endpoint} answered ${file} without X-Repo-Commit and ETag headers: is HF_ENDPOINT a Hugging Face Hub?`,
    );
  const size = Number(h.get('x-linked-size') ?? h.get('content-length') ?? Number.NaN);
  return { file, commit, etag: normalizeEtag(etag), size: Number.isFinite(size) ? size : undefined, location };
}

/**
 * Ask the resolve endpoint about `file` at `revision`, following the Hub's relative redirects
 * (renamed repos) but not the CDN's: `null` when the file does not exist there.
 */
async function askFile(
  c: Ctx,
  revision: string,
  file: string,
  method: 'GET' | 'HEAD',
): Promise<{ meta: FileMeta; res: Response } | null> {
  let url = resolveUrl(c, revision, file);
  for (let hop = 0; hop < 10; hop++) {
    // identity: the sizes and byte offsets are those of the file itself, as huggingface_hub asks
    const headers = { ...authHeaders(c, url), ...(method === 'HEAD' ? { 'accept-encoding': 'identity' } : {}) };
    const res = await send(url, { method, redirect: 'manual', headers, signal: timeout(c) });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      if (/^[a-z][a-z0-9+.-]*:/i.test(location)) return { meta: metaOf(c, res, file, location), res };
      url = new URL(location, url).href; // a renamed repo
      continue;
    }
    if (res.status === 404 && res.headers.get('x-error-code') === 'EntryNotFound') {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw hubError(c, res, file);
    }
    return { meta: metaOf(c, res, file), res };
  }
  throw new HubError(`${c.ref.repo}: too many redirects for ${file}`);
}

/** A small file (config, tokenizer, index) read into memory, or null when the repo lacks it. */
async function fetchSmall(
  c: Ctx,
  revision: string,
  file: string,
): Promise<{ meta: FileMeta; bytes: Uint8Array } | null> {
  const got = await askFile(c, revision, file, 'GET');
  if (!got) return null;
  let res = got.res;
  if (got.meta.location) {
    res = await send(got.meta.location, { headers: authHeaders(c, got.meta.location), signal: timeout(c) });
    if (!res.ok) throw new HubError(`${c.ref.repo}: downloading ${file} answered HTTP ${res.status}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new NetworkError(`connection lost while reading ${file} (${networkReason(e)})`);
  }
  if (SHA256_RE.test(got.meta.etag) && sha256(bytes) !== got.meta.etag)
    throw new HubError(`${c.ref.repo}: ${file} does not match its sha256 ${got.meta.etag}: refused`);
  return { meta: got.meta, bytes };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function sha256OfFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

// ---------------------------------------------------------------- progress

/** One file's progress display. */
export interface Progress {
  update(bytes: number): void;
  stop(): void;
}

/** Starts a display for `file` of `total` bytes (when known), `at` of them already there. */
export type ProgressFactory = (file: string, total: number | undefined, at: number) => Progress;

const mb = (n: number) => (n / 1e6).toFixed(1);

/** Bytes per second since `t0`, and the seconds the rest would take at that pace. */
function pace(done: number, from: number, total: number | undefined, t0: number) {
  const s = Math.max((Date.now() - t0) / 1000, 1e-3);
  const speed = (done - from) / s;
  const eta = total !== undefined && speed > 0 ? Math.round((total - done) / speed) : undefined;
  return { speed, eta, seconds: s };
}

/**
 * A bar with speed and ETA on a terminal (cli-progress, as the trainer's), else a plain line
 * every 10 s and one at the end.
 */
export function consoleProgress(stream: NodeJS.WriteStream = process.stderr): ProgressFactory {
  return (file, total, at) => {
    const t0 = Date.now();
    if (stream.isTTY && total !== undefined) {
      const bar = new cliProgress.SingleBar(
        {
          format: '{file} |{bar}| {percentage}% | {done} of {size} MB | {speed} MB/s | ETA {eta_formatted}',
          hideCursor: true,
          stream,
        },
        cliProgress.Presets.shades_classic,
      );
      const payload = (n: number) => ({ file, done: mb(n), size: mb(total), speed: mb(pace(n, at, total, t0).speed) });
      bar.start(total, at, payload(at));
      return { update: (n) => bar.update(n, payload(n)), stop: () => bar.stop() };
    }
    let last = t0;
    let done = at;
    const line = (n: number) => {
      const p = pace(n, at, total, t0);
      const of = total !== undefined ? ` of ${mb(total)} MB (${Math.floor((100 * n) / total)}%)` : ' MB';
      return `${file}: ${mb(n)}${of}, ${mb(p.speed)} MB/s${p.eta !== undefined ? `, ETA ${p.eta} s` : ''}`;
    };
    stream.write(`downloading ${file}${total !== undefined ? ` (${mb(total)} MB)` : ''}\n`);
    return {
      update: (n) => {
        done = n;
        if (Date.now() - last >= 10_000) {
          last = Date.now();
          stream.write(`${line(n)}\n`);
        }
      },
      stop: () => {
        const p = pace(done, at, total, t0);
        stream.write(`${file}: ${mb(done - at)} MB in ${p.seconds.toFixed(1)} s (${mb(p.speed)} MB/s)\n`);
      },
    };
  };
}

// ---------------------------------------------------------------- one large file

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Aborts a transfer that receives nothing for `ms`; `pet()` on each chunk. */
function watchdog(ms: number) {
  const ctl = new AbortController();
  let timer = setTimeout(() => ctl.abort(), ms);
  return {
    signal: ctl.signal,
    pet: () => {
      clearTimeout(timer);
      timer = setTimeout(() => ctl.abort(), ms);
    },
    stop: () => clearTimeout(timer),
  };
}

/**
 * Ask for `meta`'s file from byte `have` on: the answer and the offset it starts at (0 when the
 * server sent the whole file). A range the server cannot serve removes `partial` and throws
 * NetworkError, so that the retry starts over.
 */
async function requestFrom(
  c: Ctx,
  meta: FileMeta,
  have: number,
  partial: string,
  signal: AbortSignal,
): Promise<{ res: Response; from: number }> {
  const url = meta.location ?? resolveUrl(c, meta.commit, meta.file);
  const headers = {
    ...authHeaders(c, url),
    'accept-encoding': 'identity',
    ...(have ? { range: `bytes=${have}-` } : {}),
  };
  const res = await send(url, { headers, signal });
  const resumed = res.status === 206 && res.headers.get('content-range')?.startsWith(`bytes ${have}-`);
  if (res.status === 416 || (res.status === 206 && !resumed)) {
    await res.body?.cancel();
    fs.rmSync(partial, { force: true });
    throw new NetworkError(`the server could not resume ${meta.file} at byte ${have}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new HubError(`${c.ref.repo}: downloading ${meta.file} answered HTTP ${res.status}`);
  }
  return { res, from: resumed ? have : 0 };
}

/**
 * Append the rest of `meta`'s file to `partial` (a Range request from its current size).
 * A lost connection throws NetworkError (the partial file is kept); a failed write throws
 * HubError naming the file and saying the partial is kept for a resume.
 */
async function appendRest(c: Ctx, meta: FileMeta, partial: string): Promise<void> {
  let have = fs.statSync(partial, { throwIfNoEntry: false })?.size ?? 0;
  if (meta.size !== undefined && have > meta.size) have = 0;
  if (meta.size !== undefined && have === meta.size) return;
  const dog = watchdog(c.o.stallTimeoutMs ?? 60_000);
  let fd: number | undefined;
  let bar: Progress | undefined;
  try {
    const { res, from } = await requestFrom(c, meta, have, partial, dog.signal);
    if (!res.body) throw new NetworkError(`no body for ${meta.file}`);
    fd = fs.openSync(partial, from ? 'a' : 'w');
    bar = c.o.progress?.(meta.file, meta.size, from);
    const sink = { fd, path: partial, file: meta.file, write: c.o.writeChunk ?? writeAll };
    const got = await streamInto(res.body, sink, from, (n) => {
      dog.pet();
      bar?.update(n);
    });
    if (meta.size !== undefined && got < meta.size)
      throw new NetworkError(`connection closed after ${mb(got)} of ${mb(meta.size)} MB of ${meta.file}`);
  } finally {
    dog.stop();
    if (fd !== undefined) fs.closeSync(fd);
    bar?.stop();
  }
}

/** Where a download's bytes go: the open `.incomplete` file. */
interface Sink {
  fd: number;
  path: string;
  /** the repo file, for messages */
  file: string;
  write: (fd: number, bytes: Uint8Array) => void;
}

/** Write `body` to the sink chunk by chunk, `from` bytes being there; returns the bytes there then. */
async function streamInto(
  body: ReadableStream<Uint8Array>,
  sink: Sink,
  from: number,
  onChunk: (bytes: number) => void,
): Promise<number> {
  const reader = body.getReader();
  let got = from;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw new NetworkError(`connection lost after ${mb(got)} MB of ${sink.file} (${networkReason(e)})`);
    }
    if (chunk.done) return got;
    try {
      sink.write(sink.fd, chunk.value);
    } catch (e) {
      await reader.cancel().catch(() => {});
      throw new HubError(
        `${writeError(sink.path, e).message}; the ${mb(got)} MB downloaded are kept there: free some space and run the same command again to resume`,
      );
    }
    got += chunk.value.byteLength;
    onChunk(got);
  }
}

/** blobs/ETAG for a large file: downloaded through ETAG.incomplete (resumed), checked, renamed. */
async function downloadBlob(c: Ctx, meta: FileMeta): Promise<void> {
  const blob = path.join(c.folder, 'blobs', meta.etag);
  if (isFile(blob)) return;
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  const partial = `${blob}.incomplete`;
  const retries = c.o.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      await appendRest(c, meta, partial);
      break;
    } catch (e) {
      if (!(e instanceof NetworkError) || attempt >= retries) throw e;
      const wait = (c.o.retryDelayMs ?? 1000) * 2 ** attempt;
      c.o.log?.(`${e.message}; resuming in ${(wait / 1000).toFixed(0)} s (${attempt + 1} of ${retries})`);
      await sleep(wait);
    }
  }
  const size = fs.statSync(partial).size;
  if (meta.size !== undefined && size !== meta.size) {
    fs.rmSync(partial, { force: true });
    throw new HubError(`${c.ref.repo}: ${meta.file} came back with ${size} bytes, not ${meta.size}: removed`);
  }
  if (SHA256_RE.test(meta.etag)) {
    const got = await sha256OfFile(partial);
    if (got !== meta.etag) {
      fs.rmSync(partial, { force: true });
      throw new HubError(
        `${c.ref.repo}: ${meta.file} has sha256 ${got}, but the Hub says ${meta.etag}: the download is corrupt and was removed; run again to download it afresh`,
      );
    }
  }
  fs.renameSync(partial, blob);
}

// ---------------------------------------------------------------- a whole snapshot

interface Planned {
  commit: string;
  /** files held in memory until the snapshot is committed */
  small: { meta: FileMeta; bytes: Uint8Array }[];
  /** files streamed into blobs/ */
  large: FileMeta[];
  /** optional files the repo lacks (.no_exist markers) */
  absent: string[];
}

/** config.json, checked to be a GPT-2: the commit every other file is then asked at. */
async function fetchConfig(c: Ctx): Promise<{ meta: FileMeta; bytes: Uint8Array; json: Record<string, unknown> }> {
  const got = await fetchSmall(c, c.ref.revision, CONFIG);
  if (!got) throw new HubError(`${c.ref.repo}@${c.ref.revision} has no ${CONFIG}: not a transformers model`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(got.bytes));
  } catch {
    throw new HubError(`${c.ref.repo}@${c.ref.revision}: ${CONFIG} is not valid JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new HubError(`${c.ref.repo}@${c.ref.revision}: ${CONFIG} is not a JSON object`);
  checkGPT2(json as Record<string, unknown>, c.ref.repo);
  return { ...got, json: json as Record<string, unknown> };
}

/** Refuse a config that is not GPT-2's architecture, naming the one it is. */
export function checkGPT2(json: Record<string, unknown>, repo: string): void {
  const type = json.model_type;
  const archs = Array.isArray(json.architectures) ? json.architectures.map(String) : [];
  if (type === 'gpt2' || (type === undefined && archs.every((a) => a.startsWith('GPT2')))) return;
  const what = archs.length ? `${archs.join(', ')} (model_type "${String(type)}")` : `model_type "${String(type)}"`;
  throw new HubError(`${repo} is a ${what} model, not GPT-2: only the GPT-2 architecture runs here`);
}

function pickleError(c: Ctx, file: string): HubError {
  const dir = `weights/${c.ref.repo.split('/')[1]}`;
  return new HubError(
    `${c.ref.repo}@${c.ref.revision} has only ${file}, a pickle: pickle files are refused on purpose (loading one can run arbitrary code); convert it once with python -c "from transformers import AutoModel; AutoModel.from_pretrained('${c.ref.repo}').save_pretrained('${dir}', safe_serialization=True)" and pass --weights ${dir}`,
  );
}

/** The weight files: model.safetensors, else the sharded index and its shards. */
async function planWeights(c: Ctx, commit: string, p: Planned): Promise<void> {
  const single = await askFile(c, commit, WEIGHTS, 'HEAD');
  if (single) {
    p.large.push(single.meta);
    return;
  }
  const index = await fetchSmall(c, commit, WEIGHTS_INDEX);
  if (index) {
    p.small.push(index);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(new TextDecoder().decode(index.bytes));
    } catch {
      throw new HubError(`${c.ref.repo}@${c.ref.revision}: ${WEIGHTS_INDEX} is not valid JSON`);
    }
    for (const shard of shardsOf(json, `${c.ref.repo}@${c.ref.revision}: ${WEIGHTS_INDEX}`)) {
      const got = await askFile(c, commit, shard, 'HEAD');
      if (!got)
        throw new HubError(`${c.ref.repo}@${c.ref.revision}: ${WEIGHTS_INDEX} names ${shard}, which is missing`);
      p.large.push(got.meta);
    }
    return;
  }
  for (const pickle of PICKLES) if (await askFile(c, commit, pickle, 'HEAD')) throw pickleError(c, pickle);
  throw new HubError(`${c.ref.repo}@${c.ref.revision} has no ${WEIGHTS} (nor a sharded ${WEIGHTS_INDEX})`);
}

/** Ask for everything the loader needs, downloading nothing large yet. */
async function plan(c: Ctx): Promise<Planned> {
  const config = await fetchConfig(c);
  const commit = config.meta.commit;
  const p: Planned = { commit, small: [config], large: [], absent: [] };
  for (const f of TOKENIZER_FILES) {
    const got = await fetchSmall(c, commit, f);
    if (got) p.small.push(got);
    else p.absent.push(f);
  }
  const names = p.small.map((s) => s.meta.file);
  const hasTokenizer =
    names.includes('tokenizer.json') || (names.includes('vocab.json') && names.includes('merges.txt'));
  if (config.json.vocab_size !== GPT2_VOCAB && !hasTokenizer)
    throw new HubError(
      `${c.ref.repo}@${c.ref.revision}: vocab_size is ${String(config.json.vocab_size)}, not GPT-2's ${GPT2_VOCAB}, and the repo has no tokenizer files (vocab.json + merges.txt or tokenizer.json)`,
    );
  await planWeights(c, commit, p);
  return p;
}

/** snapshots/COMMIT/FILE → the blob, as a relative symlink made under a temporary name and renamed. */
function linkIntoSnapshot(snapshot: string, file: string, blob: string): void {
  const link = path.join(snapshot, file);
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const tmp = `${link}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(path.relative(path.dirname(link), blob), tmp);
  fs.renameSync(tmp, link);
}

/** Small blobs, then the snapshot's links, then the absent markers and the ref. */
function commitSnapshot(c: Ctx, p: Planned): string {
  const blobs = path.join(c.folder, 'blobs');
  const snapshot = path.join(c.folder, 'snapshots', p.commit);
  fs.mkdirSync(blobs, { recursive: true });
  for (const s of p.small) {
    const blob = path.join(blobs, s.meta.etag);
    if (!isFile(blob)) writeFileAtomic(blob, s.bytes);
  }
  for (const m of [...p.small.map((s) => s.meta), ...p.large])
    linkIntoSnapshot(snapshot, m.file, path.join(blobs, m.etag));
  for (const f of p.absent) {
    const marker = path.join(c.folder, '.no_exist', p.commit, f);
    fs.mkdirSync(path.dirname(marker), { recursive: true });
    fs.writeFileSync(marker, '');
  }
  if (c.ref.revision !== p.commit) {
    const ref = path.join(c.folder, 'refs', c.ref.revision);
    fs.mkdirSync(path.dirname(ref), { recursive: true });
    writeFileAtomic(ref, p.commit);
  }
  return snapshot;
}

/** Download the blobs `p` lists (resuming lost connections), then commit the snapshot. */
async function download(c: Ctx, p: Planned): Promise<string> {
  const total = p.large.reduce((a, m) => a + (m.size ?? 0), 0);
  c.o.log?.(
    `${c.ref.repo}@${c.ref.revision}: downloading ${mb(total)} MB (commit ${p.commit.slice(0, 7)}) into ${c.folder}`,
  );
  try {
    for (const m of p.large) await downloadBlob(c, m);
  } catch (e) {
    if (e instanceof NetworkError)
      throw new HubError(
        `${c.ref.repo}@${c.ref.revision}: ${e.message}; the partial file is kept: run again to resume`,
      );
    throw e;
  }
  try {
    return commitSnapshot(c, p);
  } catch (e) {
    // writeFileAtomic's errors name their file already; a failed link or mkdir is named here
    const named = e instanceof Error && e.message.startsWith('writing ');
    throw new HubError(named ? e.message : writeError(path.join(c.folder, 'snapshots', p.commit), e).message);
  }
}

// ---------------------------------------------------------------- resolution

export interface ResolvedWeights {
  /** a directory with config.json and the weights */
  dir: string;
  source: 'local' | 'cache' | 'download';
  repo?: string;
  commit?: string;
}

function notAvailable(c: Ctx, why: string, missing: string[]): HubError {
  const notLocal = c.spec.includes('/') ? `"${c.spec}" is not a local directory, and ` : '';
  return new HubError(
    `${notLocal}${c.ref.repo}@${c.ref.revision} is not in the Hugging Face cache (${c.folder} lacks ${missing.join(', ')}) and ${why}: ` +
      `run once with network access, or download config.json and model.safetensors by hand (weights/README.md) and pass --weights DIR`,
  );
}

/**
 * The model directory `spec` names: a directory as it is; else ORG/NAME[@REVISION] or an alias
 * (MODEL_ALIASES) from the Hugging Face cache without any request; else downloaded into it.
 * Anything that is neither a directory nor a repo id comes back as `local`, for the loader to
 * report. Throws HubError (one line) for what cannot be had.
 */
export async function resolveWeights(spec: string, o: ResolveOptions = {}): Promise<ResolvedWeights> {
  if (fs.existsSync(spec) || looksLikePath(spec)) return { dir: spec, source: 'local' };
  const ref = parseRepoRef(spec);
  if (!ref) return { dir: spec, source: 'local' };
  const s = hubSettings(o.env);
  const c: Ctx = { s, o, ref, spec, folder: repoFolder(s.cacheDir, ref.repo) };
  const cached = lookInCache(s.cacheDir, ref);
  if (cached.dir) {
    o.log?.(`${ref.repo}@${ref.revision}: from the Hugging Face cache, ${cached.dir}`);
    return { dir: cached.dir, source: 'cache', repo: ref.repo, commit: cached.commit };
  }
  if (s.offline) throw notAvailable(c, 'HF_HUB_OFFLINE is set (unset it to download)', cached.missing);
  let p: Planned;
  try {
    p = await plan(c);
  } catch (e) {
    if (e instanceof NetworkError)
      throw notAvailable(c, `${s.endpoint} cannot be reached: ${e.message}`, cached.missing);
    throw e;
  }
  const dir = await download(c, p);
  o.log?.(`${ref.repo}@${ref.revision}: in the Hugging Face cache at ${dir}`);
  return { dir, source: 'download', repo: ref.repo, commit: p.commit };
}

/** The options the CLIs use: notes (stderr unless `log` says otherwise) and progress on stderr. */
export function cliHubOptions(
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): ResolveOptions {
  return { log, progress: consoleProgress(process.stderr) };
}
