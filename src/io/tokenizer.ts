// GPT-2's byte-level BPE tokenizer: js-tiktoken's r50k_base encoding (its ranks are GPT-2's
// encoder.json ids: tiktoken builds r50k from GPT-2's vocab.bpe and asserts it equals
// encoder.json). encode and decode are js-tiktoken's own; only the lite entry point with this one
// rank file is loaded, not js-tiktoken's full set of encodings. The rank file is also parsed here
// for each token's bytes (bytes(), decodeOne(), and the vocab.json/merges.txt checks below).
//
// Limitation: js-tiktoken's merge loop is quadratic in the length of one pre-tokenised piece (a
// run of letters, of digits, of punctuation, or of whitespace): 1,000 letters without a space take
// about 0.25 s, 3,000 about 1 s, 6,000 about 5 s. Splitting the text cannot help (such a run is a
// single piece of r50k's pattern, and cutting inside it could change the tokens), so such inputs
// are simply slow. Ordinary English text takes about 1-2 s per MB.
//
// A weights directory may carry its own tokenizer files (vocab.json + merges.txt, or
// tokenizer.json). They are checked entry by entry against GPT-2's; any other tokenizer is an
// error, since the engine only implements this one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
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

let tokenBytesCache: Uint8Array[] | undefined;

/** Bytes of every id, 0..50256, from the rank file: lines "<sep> <first rank> <base64 token> ...". */
function tokenBytes(): Uint8Array[] {
  if (tokenBytesCache) return tokenBytesCache;
  if (r50k.special_tokens[EOT_TEXT] !== GPT2_EOT) throw new Error('js-tiktoken r50k_base: <|endoftext|> is not 50256 (unexpected rank file)');
  const out: Uint8Array[] = new Array(GPT2_VOCAB_SIZE);
  for (const line of r50k.bpe_ranks.split('\n')) {
    if (!line) continue;
    const parts = line.split(' ');
    const first = Number.parseInt(parts[1], 10);
    for (let i = 2; i < parts.length; i++) out[first + i - 2] = new Uint8Array(Buffer.from(parts[i], 'base64'));
  }
  out[GPT2_EOT] = new TextEncoder().encode(EOT_TEXT);
  for (let i = 0; i < GPT2_VOCAB_SIZE; i++) {
    if (!out[i]) throw new Error(`js-tiktoken r50k_base: rank ${i} is missing (unexpected rank file)`);
  }
  return (tokenBytesCache = out);
}

const lossy = new TextDecoder('utf-8', { ignoreBOM: true });
let shared: Tokenizer | undefined;

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= GPT2_VOCAB_SIZE) {
    throw new Error(`token id ${id} is outside GPT-2's vocabulary (0..${GPT2_VOCAB_SIZE - 1})`);
  }
}

function makeTokenizer(): Tokenizer {
  const enc = new Tiktoken(r50k);
  const tb = tokenBytes();
  /** whether the ids' bytes start with a UTF-8 byte-order mark (EF BB BF) */
  const startsWithBOM = (ids: number[]) => {
    const head: number[] = [];
    for (let k = 0; k < ids.length && head.length < 3; k++) head.push(...tb[ids[k]]);
    return head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
  };
  return {
    encode: (text) => enc.encode(text, [EOT_TEXT], []),
    decode: (ids) => {
      ids.forEach(checkId); // js-tiktoken skips unknown ids silently
      // js-tiktoken's TextDecoder drops a leading byte-order mark; keep it
      return (startsWithBOM(ids) ? '\ufeff' : '') + enc.decode(ids);
    },
    decodeOne: (id) => {
      checkId(id);
      return lossy.decode(tb[id]);
    },
    bytes: (id) => {
      checkId(id);
      return tb[id].slice();
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
  const tb = tokenBytes();
  const v: string[] = new Array(GPT2_VOCAB_SIZE);
  for (let i = 0; i < GPT2_EOT; i++) v[i] = bytesToVocabString(tb[i]);
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
  const tb = tokenBytes();
  const key = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const rank = new Map<string, number>();
  for (let i = 0; i < GPT2_EOT; i++) rank.set(key(tb[i]), i);
  const merges: string[] = [];
  for (let t = 256; t < GPT2_EOT; t++) {
    const s = key(tb[t]);
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

function checkVocab(vocab: unknown, file: string, extra: Map<string, number> = new Map()): void {
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

function checkMerges(merges: unknown[], file: string): void {
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
  const vocabFile = path.join(dir, 'vocab.json');
  if (fs.existsSync(vocabFile)) {
    checkVocab(readJsonFile(vocabFile), vocabFile);
    const mergesFile = path.join(dir, 'merges.txt');
    if (fs.existsSync(mergesFile)) {
      const size = fs.statSync(mergesFile).size;
      if (size > MAX_FILE_BYTES) throw new Error(`${mergesFile}: ${size} bytes, larger than the ${MAX_FILE_BYTES}-byte limit`);
      const lines = fs.readFileSync(mergesFile, 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
      if (lines.length && lines[0].startsWith('#version')) lines.shift();
      while (lines.length && lines[lines.length - 1] === '') lines.pop();
      checkMerges(lines, mergesFile);
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
    checkVocab(model.vocab, tokFile, extra);
    if (model.merges !== undefined) {
      if (!Array.isArray(model.merges)) throw notGPT2(tokFile, '"model.merges" is not an array');
      checkMerges(model.merges, tokFile);
    }
  }
}

/**
 * GPT-2's tokenizer. With `dir` (a weights directory), its vocab.json/merges.txt or
 * tokenizer.json, when present, must match GPT-2's exactly; otherwise this throws.
 */
export function getTokenizer(dir?: string): Tokenizer {
  if (dir !== undefined) checkTokenizerFiles(dir);
  return (shared ??= makeTokenizer());
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
