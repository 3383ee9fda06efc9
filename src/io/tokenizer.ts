// GPT-2's byte-level BPE tokenizer over js-tiktoken's r50k_base encoding (its ranks are GPT-2's
// encoder.json ids: tiktoken builds r50k from GPT-2's vocab.bpe and asserts it equals
// encoder.json). Only this one rank file is loaded, not js-tiktoken's full set of encodings.
//
// The rank file and the pre-tokenisation pattern are js-tiktoken's; the merge loop is our own,
// because js-tiktoken's is quadratic with a large constant (a 3000-letter word takes about a
// second, 30000 letters minutes) and has no cache. Ours picks the same pair at every step (the
// lowest rank, leftmost on ties), keeps a cache of frequent words, and uses a heap for long
// pieces; test/tokenizer.test.ts checks it against js-tiktoken's own encode on random text.
//
// A weights directory may carry its own tokenizer files (vocab.json + merges.txt, or
// tokenizer.json). They are checked entry by entry against GPT-2's; any other tokenizer is an
// error, since the engine only implements this one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import r50k from 'js-tiktoken/ranks/r50k_base';

export interface Tokenizer {
  /** text to ids; "<|endoftext|>" in the text becomes 50256 */
  encode(text: string): number[];
  /** ids to text (bytes that do not form valid UTF-8 become U+FFFD); throws on ids outside 0..50256 */
  decode(ids: number[]): string;
  /** the text of one token (bytes that are not valid UTF-8 on their own decode to U+FFFD) */
  decodeOne(id: number): string;
  /** the raw bytes of one token (a copy) */
  bytes(id: number): Uint8Array;
  /** <|endoftext|> = 50256 */
  eot: number;
  /** 50257 */
  vocabSize: number;
}

export const EOT_TEXT = '<|endoftext|>';
export const GPT2_EOT = 50256;
export const GPT2_VOCAB_SIZE = 50257;
const MAX_FILE_BYTES = 100_000_000;

interface Base {
  /** bytes of every id, 0..50256 (50256 = "<|endoftext|>") */
  tokenBytes: Uint8Array[];
  /** token bytes as a latin1 string (one char per byte) -> id, ids 0..50255 */
  rank: Map<string, number>;
  /** js-tiktoken's pre-tokenisation pattern for r50k */
  pattern: RegExp;
}

let base: Base | undefined;

/** Parse the rank file: lines "<sep> <first rank> <base64 token> <base64 token> ...". */
function getBase(): Base {
  if (base) return base;
  if (r50k.special_tokens[EOT_TEXT] !== GPT2_EOT) throw new Error('js-tiktoken r50k_base: <|endoftext|> is not 50256 (unexpected rank file)');
  const tokenBytes: Uint8Array[] = new Array(GPT2_VOCAB_SIZE);
  const rank = new Map<string, number>();
  for (const line of r50k.bpe_ranks.split('\n')) {
    if (!line) continue;
    const parts = line.split(' ');
    const first = Number.parseInt(parts[1], 10);
    for (let i = 2; i < parts.length; i++) {
      const b = Buffer.from(parts[i], 'base64');
      tokenBytes[first + i - 2] = new Uint8Array(b);
      rank.set(b.toString('latin1'), first + i - 2);
    }
  }
  tokenBytes[GPT2_EOT] = new TextEncoder().encode(EOT_TEXT);
  for (let i = 0; i < GPT2_VOCAB_SIZE; i++) {
    if (!tokenBytes[i]) throw new Error(`js-tiktoken r50k_base: rank ${i} is missing (unexpected rank file)`);
  }
  if (rank.size !== GPT2_EOT) throw new Error(`js-tiktoken r50k_base: ${rank.size} distinct tokens, expected ${GPT2_EOT}`);
  base = { tokenBytes, rank, pattern: new RegExp(r50k.pat_str, 'gu') };
  return base;
}

// ---------------------------------------------------------------------------------------------
// byte-pair merging of one pre-tokenised piece (a latin1 string of its UTF-8 bytes)

/** Short pieces: rescan the pair ranks after each merge (fast for the usual 2-15 bytes). */
function mergeShort(s: string, rank: Map<string, number>, out: number[]): void {
  const start: number[] = [];
  for (let i = 0; i <= s.length; i++) start.push(i);
  const pr: number[] = [];
  const pairRank = (i: number) => (i + 2 < start.length ? rank.get(s.slice(start[i], start[i + 2])) ?? Infinity : Infinity);
  for (let i = 0; i + 2 < start.length; i++) pr.push(pairRank(i));
  while (start.length > 2) {
    let best = -1, br = Infinity;
    for (let i = 0; i < pr.length; i++) if (pr[i] < br) { br = pr[i]; best = i; }
    if (best < 0) break;
    start.splice(best + 1, 1);
    pr.splice(best, 1);
    if (best < pr.length) pr[best] = pairRank(best);
    if (best > 0) pr[best - 1] = pairRank(best - 1);
  }
  for (let i = 0; i + 1 < start.length; i++) out.push(rank.get(s.slice(start[i], start[i + 1]))!);
}

/**
 * Long pieces: parts in a linked list, candidate pairs in a min-heap ordered by (rank, start),
 * stale entries skipped. O(n log n), and the same merge order as mergeShort.
 */
function mergeLong(s: string, rank: Map<string, number>, out: number[]): void {
  const n = s.length;
  // part i starts at byte i while alive; next[i]/prev[i] link live parts; -1 = none
  const next = new Int32Array(n), prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
  const end = (i: number) => (next[i] < 0 ? n : next[i]);
  // heap of [rank, start, nextStart, nextEnd] (the pair is valid only if unchanged when popped)
  const heap: number[][] = [];
  const less = (a: number[], b: number[]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  const push = (e: number[]) => {
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const pop = (): number[] => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  const consider = (i: number) => {
    const j = next[i];
    if (j < 0) return;
    const r = rank.get(s.slice(i, end(j)));
    if (r !== undefined) push([r, i, j, end(j)]);
  };
  for (let i = 0; i + 1 < n; i++) consider(i);
  while (heap.length) {
    const [, i, j, e] = pop();
    if (!alive[i] || next[i] !== j || !alive[j] || end(j) !== e) continue; // stale
    // merge part j into part i
    alive[j] = 0;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    if (prev[i] >= 0) consider(prev[i]);
    consider(i);
  }
  for (let i = 0; i >= 0 && i < n; i = next[i]) out.push(rank.get(s.slice(i, end(i)))!);
}

const LONG_PIECE = 64;
const CACHE_MAX = 200_000;

function makeEncoder(b: Base): (text: string) => number[] {
  const te = new TextEncoder();
  const cache = new Map<string, number[]>();
  const encodePiece = (piece: string, out: number[]) => {
    const hit = cache.get(piece);
    if (hit) { for (const x of hit) out.push(x); return; }
    const s = Buffer.from(te.encode(piece)).toString('latin1');
    const whole = b.rank.get(s);
    const ids: number[] = [];
    if (whole !== undefined) ids.push(whole);
    else if (s.length <= LONG_PIECE) mergeShort(s, b.rank, ids);
    else mergeLong(s, b.rank, ids);
    if (s.length <= LONG_PIECE) {
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(piece, ids);
    }
    for (const x of ids) out.push(x);
  };
  return (text: string) => {
    const out: number[] = [];
    const segments = text.split(EOT_TEXT);
    for (let k = 0; k < segments.length; k++) {
      if (k > 0) out.push(GPT2_EOT);
      b.pattern.lastIndex = 0;
      for (const m of segments[k].matchAll(b.pattern)) encodePiece(m[0], out);
    }
    return out;
  };
}

const lossy = new TextDecoder('utf-8', { ignoreBOM: true });
let shared: Tokenizer | undefined;

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= GPT2_VOCAB_SIZE) {
    throw new Error(`token id ${id} is outside GPT-2's vocabulary (0..${GPT2_VOCAB_SIZE - 1})`);
  }
}

function makeTokenizer(b: Base): Tokenizer {
  return {
    encode: makeEncoder(b),
    decode: (ids) => {
      let n = 0;
      for (const id of ids) { checkId(id); n += b.tokenBytes[id].length; }
      const all = new Uint8Array(n);
      let at = 0;
      for (const id of ids) { all.set(b.tokenBytes[id], at); at += b.tokenBytes[id].length; }
      return lossy.decode(all);
    },
    decodeOne: (id) => {
      checkId(id);
      return lossy.decode(b.tokenBytes[id]);
    },
    bytes: (id) => {
      checkId(id);
      return b.tokenBytes[id].slice();
    },
    eot: GPT2_EOT,
    vocabSize: GPT2_VOCAB_SIZE,
  };
}

// ---------------------------------------------------------------------------------------------
// GPT-2's byte <-> unicode mapping, as used by vocab.json, merges.txt and tokenizer.json

let b2u: string[] | undefined;
let u2b: Map<string, number> | undefined;
/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 upwards. */
export function byteToUnicode(): string[] {
  if (b2u) return b2u;
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = keep(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  b2u = out;
  u2b = new Map(out.map((c, b) => [c, b]));
  return out;
}

/** A token's bytes in the vocab.json spelling ("Ġthe" for " the"). */
export function bytesToVocabString(bytes: Uint8Array): string {
  const m = byteToUnicode();
  let s = '';
  for (const x of bytes) s += m[x];
  return s;
}

/** The bytes of a vocab.json spelling, or undefined if it uses a character outside the mapping. */
export function vocabStringToBytes(s: string): Uint8Array | undefined {
  byteToUnicode();
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = u2b!.get(s[i]);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}

let vocabStrings: string[] | undefined;
/** vocab.json spelling of every id (50256 = "<|endoftext|>"). */
function gpt2VocabStrings(): string[] {
  if (vocabStrings) return vocabStrings;
  const { tokenBytes } = getBase();
  const v: string[] = new Array(GPT2_VOCAB_SIZE);
  for (let i = 0; i < GPT2_EOT; i++) v[i] = bytesToVocabString(tokenBytes[i]);
  v[GPT2_EOT] = EOT_TEXT;
  vocabStrings = v;
  return v;
}

/** GPT-2's vocab.json as an object (spelling -> id), built from the r50k ranks. */
export function gpt2Vocab(): Record<string, number> {
  const v: Record<string, number> = {};
  gpt2VocabStrings().forEach((s, i) => { v[s] = i; });
  return v;
}

/**
 * GPT-2's 50000 merges ("a b" in vocab spelling), in rank order: merge i creates token 256 + i.
 * Rebuilt from the ranks: the pair that makes token t is what BPE with the ranks below t leaves
 * just before t's own merge.
 */
export function gpt2Merges(): string[] {
  const { tokenBytes } = getBase();
  const key = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const rank = new Map<string, number>();
  for (let i = 0; i < GPT2_EOT; i++) rank.set(key(tokenBytes[i]), i);
  const merges: string[] = [];
  for (let t = 256; t < GPT2_EOT; t++) {
    const s = key(tokenBytes[t]);
    let parts = [...s];
    while (parts.length > 2) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rank.get(parts[i] + parts[i + 1]);
        if (r !== undefined && r < t && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) throw new Error(`cannot rebuild the merge that makes token ${t}`);
      parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
    }
    const toV = (p: string) => bytesToVocabString(new Uint8Array(Buffer.from(p, 'latin1')));
    merges.push(`${toV(parts[0])} ${toV(parts[1])}`);
  }
  return merges;
}

// ---------------------------------------------------------------------------------------------
// checking a directory's tokenizer files

const notGPT2 = (file: string, why: string) =>
  new Error(`${file}: ${why} — this is not GPT-2's tokenizer, and only GPT-2's byte-level BPE is supported`);

function readJsonFile(file: string): unknown {
  const size = fs.statSync(file).size;
  if (size > MAX_FILE_BYTES) throw new Error(`${file}: ${size} bytes, larger than the ${MAX_FILE_BYTES}-byte limit`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

function checkVocab(vocab: unknown, file: string, b: Base, extra: Map<string, number> = new Map()): void {
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw notGPT2(file, 'the vocabulary is not an object of token -> id');
  const entries = Object.entries(vocab as Record<string, unknown>);
  for (const [k, v] of extra) if (!(k in (vocab as object))) entries.push([k, v]);
  if (entries.length !== GPT2_VOCAB_SIZE) throw notGPT2(file, `${entries.length} tokens, GPT-2 has ${GPT2_VOCAB_SIZE}`);
  const seen = new Uint8Array(GPT2_VOCAB_SIZE);
  for (const [tok, id] of entries) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= GPT2_VOCAB_SIZE) throw notGPT2(file, `token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}`);
    if (seen[id]) throw notGPT2(file, `id ${id} is used twice`);
    seen[id] = 1;
    if (id === GPT2_EOT) {
      if (tok !== EOT_TEXT) throw notGPT2(file, `id ${GPT2_EOT} is ${JSON.stringify(tok)}, GPT-2 has "${EOT_TEXT}"`);
      continue;
    }
    // the spelling is a bijection of the bytes, so comparing spellings compares bytes
    const want = gpt2VocabStrings()[id];
    if (tok !== want) throw notGPT2(file, `token ${JSON.stringify(tok)} has id ${id}, GPT-2's id ${id} is ${JSON.stringify(want)}`);
  }
}

function checkMerges(merges: unknown[], file: string, b: Base): void {
  if (merges.length !== GPT2_EOT - 256) throw notGPT2(file, `${merges.length} merges, GPT-2 has ${GPT2_EOT - 256}`);
  for (let i = 0; i < merges.length; i++) {
    const m = merges[i];
    let pair: unknown[] | undefined;
    if (typeof m === 'string') pair = m.split(' ');
    else if (Array.isArray(m)) pair = m;
    if (!pair || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') throw notGPT2(file, `merge ${i} is ${JSON.stringify(m)}, not a pair`);
    const made = pair[0] + pair[1];
    const want = gpt2VocabStrings()[256 + i];
    if (made !== want) throw notGPT2(file, `merge ${i} (${JSON.stringify(pair.join(' '))}) makes ${JSON.stringify(made)}, GPT-2's makes ${JSON.stringify(want)}`);
  }
}

/** Throws unless `dir`'s tokenizer files (if any) describe GPT-2's tokenizer. */
export function checkTokenizerFiles(dir: string): void {
  const b = getBase();
  const vocabFile = path.join(dir, 'vocab.json');
  if (fs.existsSync(vocabFile)) {
    checkVocab(readJsonFile(vocabFile), vocabFile, b);
    const mergesFile = path.join(dir, 'merges.txt');
    if (fs.existsSync(mergesFile)) {
      const size = fs.statSync(mergesFile).size;
      if (size > MAX_FILE_BYTES) throw new Error(`${mergesFile}: ${size} bytes, larger than the ${MAX_FILE_BYTES}-byte limit`);
      const lines = fs.readFileSync(mergesFile, 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
      if (lines.length && lines[0].startsWith('#version')) lines.shift();
      while (lines.length && lines[lines.length - 1] === '') lines.pop();
      checkMerges(lines, mergesFile, b);
    }
  }
  const tokFile = path.join(dir, 'tokenizer.json');
  if (fs.existsSync(tokFile)) {
    const j = readJsonFile(tokFile) as Record<string, unknown> | null;
    if (typeof j !== 'object' || j === null || Array.isArray(j)) throw notGPT2(tokFile, 'not a JSON object');
    const model = j.model as Record<string, unknown> | undefined;
    if (typeof model !== 'object' || model === null) throw notGPT2(tokFile, 'no "model"');
    if (model.type !== undefined && model.type !== 'BPE') throw notGPT2(tokFile, `model type ${JSON.stringify(model.type)}, GPT-2's is BPE`);
    const extra = new Map<string, number>();
    const added = j.added_tokens ?? [];
    if (!Array.isArray(added)) throw notGPT2(tokFile, '"added_tokens" is not an array');
    for (const a of added as Record<string, unknown>[]) {
      if (a?.content !== EOT_TEXT || a?.id !== GPT2_EOT) throw notGPT2(tokFile, `added token ${JSON.stringify(a?.content)} (id ${JSON.stringify(a?.id)}); GPT-2 has only ${EOT_TEXT} = ${GPT2_EOT}`);
      extra.set(EOT_TEXT, GPT2_EOT);
    }
    checkVocab(model.vocab, tokFile, b, extra);
    if (model.merges !== undefined) {
      if (!Array.isArray(model.merges)) throw notGPT2(tokFile, '"model.merges" is not an array');
      checkMerges(model.merges, tokFile, b);
    }
  }
}

/**
 * GPT-2's tokenizer. With `dir` (a weights directory), its vocab.json/merges.txt or
 * tokenizer.json, when present, must match GPT-2's exactly; otherwise this throws.
 */
export function getTokenizer(dir?: string): Tokenizer {
  if (dir !== undefined) checkTokenizerFiles(dir);
  return (shared ??= makeTokenizer(getBase()));
}

/**
 * A token's text made visible for tables: space -> '␣', newline -> '\n', tab -> '\t',
 * carriage return -> '\r', other control characters -> '\xNN' / '\u{...}'.
 */
export function visible(token: string): string {
  let s = '';
  for (const ch of token) {
    const c = ch.codePointAt(0)!;
    if (ch === ' ') s += '␣';
    else if (ch === '\n') s += '\\n';
    else if (ch === '\t') s += '\\t';
    else if (ch === '\r') s += '\\r';
    else if (c < 0x20 || c === 0x7f) s += '\\x' + c.toString(16).padStart(2, '0');
    else if ((c >= 0x80 && c < 0xa0) || c === 0xa0 || c === 0xad || c === 0x2028 || c === 0x2029 || c === 0xfeff || (c >= 0x200b && c <= 0x200f)) s += `\\u{${c.toString(16)}}`;
    else s += ch;
  }
  return s;
}

/**
 * A label for token `id` in tables: its text made visible, with bytes that are not valid UTF-8
 * on their own (pieces of a multi-byte character) shown as \xNN instead of U+FFFD.
 */
export function tokenLabel(tok: Tokenizer, id: number): string {
  const bytes = tok.bytes(id);
  try {
    return visible(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    let s = '';
    let i = 0;
    while (i < bytes.length) {
      // longest valid UTF-8 sequence starting at i, else one escaped byte
      let done = false;
      for (let n = Math.min(4, bytes.length - i); n >= 1 && !done; n--) {
        try {
          s += visible(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(i, i + n)));
          i += n;
          done = true;
        } catch { /* shorter */ }
      }
      if (!done) { s += '\\x' + bytes[i].toString(16).padStart(2, '0'); i++; }
    }
    return s;
  }
}
