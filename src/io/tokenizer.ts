// GPT-2's byte-level BPE tokenizer: js-tiktoken's r50k_base encoding (its ranks are GPT-2's
// encoder.json ids: tiktoken builds r50k from GPT-2's vocab.bpe and asserts it equals
// encoder.json). encode and decode are js-tiktoken's own; only the lite entry point with this one
// rank file is loaded, not js-tiktoken's full set of encodings. The rank file is also parsed here
// for each token's bytes (bytes(), decodeOne(), and the vocab.json/merges.txt checks below).
//
// A compact vocabulary, for models trained from scratch (compactVocab, compactTokenizer): the
// GPT-2 tokens that occur in the training texts together with every GPT-2 token that is a
// contiguous piece of one of them, the 256 byte tokens and <|endoftext|>, renumbered densely in
// GPT-2's order (bytes keep 0..255, <|endoftext|> is last). Every intermediate part that GPT-2's
// merge loop forms on a piece lies inside one of the piece's final tokens, so with the ranks
// restricted to this set (js-tiktoken with a custom rank table; renumbering keeps the ranks'
// order) the training texts tokenize exactly as with GPT-2, and any other text into kept tokens.
// Both parts of every kept token's GPT-2 merge are kept too, so the set is its own merges.txt.
//
// Long pieces: js-tiktoken's merge loop is quadratic in the length of one pre-tokenised piece (a
// run of letters, of digits, of punctuation, or of whitespace): 1,000 letters without a space take
// about 0.25 s, 6,000 about 5 s, and a 60,000-letter "word" in user data would never finish. So a
// piece longer than MAX_PIECE (256) UTF-16 code units is cut into chunks of at most that many
// (never inside a surrogate pair), each encoded on its own: the work is linear in the text.
// Ordinary text has no such piece and tokenizes exactly as with GPT-2; a longer piece may end up
// with other tokens at its cuts than GPT-2 (or Hugging Face's tokenizer) would give it. The
// compact vocabulary is collected from the same chunks, so the training texts keep their tokens.
// Ordinary English text takes about 1-2 s per MB.
//
// A weights directory may carry its own tokenizer files (vocab.json + merges.txt, or
// tokenizer.json, in Hugging Face's GPT-2 format; writeTokenizerFiles writes them). They are
// checked entry by entry: GPT-2's own, or a compact vocabulary as above with its merges; any
// other tokenizer is an error, since the engine only implements this one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import r50k from 'js-tiktoken/ranks/r50k_base';
import { writeFileAtomic } from './atomic.ts';

export interface Tokenizer {
  /** text to ids; "<|endoftext|>" in the text becomes `eot` */
  encode(text: string): number[];
  /** ids to text (bytes that do not form valid UTF-8 become U+FFFD); throws on ids outside 0..vocabSize-1 */
  decode(ids: number[]): string;
  /** the text of one token (bytes that are not valid UTF-8 on their own decode to U+FFFD) */
  decodeOne(id: number): string;
  /** the raw bytes of one token (a copy) */
  bytes(id: number): Uint8Array;
  /** <|endoftext|>: 50256 for GPT-2, vocabSize - 1 for a compact vocabulary */
  eot: number;
  /** 50257 for GPT-2; the number of kept tokens for a compact vocabulary (not padded) */
  vocabSize: number;
  /**
   * For a compact vocabulary (compactTokenizer): the GPT-2 id of each id, 0..vocabSize-1
   * (ascending; ids 0..255 are the bytes as in GPT-2, the last is <|endoftext|> = 50256).
   * Undefined for GPT-2's own tokenizer, whose ids are GPT-2's. Shared: do not modify.
   */
  gpt2Ids?: Int32Array;
}

export const EOT_TEXT = '<|endoftext|>';
export const GPT2_EOT = 50256;
export const GPT2_VOCAB_SIZE = 50257;
const MAX_FILE_BYTES = 100_000_000;

let tokenBytesCache: Uint8Array[] | undefined;

/** Bytes of every id, 0..50256, from the rank file: lines "<sep> <first rank> <base64 token> ...". */
function tokenBytes(): Uint8Array[] {
  if (tokenBytesCache) return tokenBytesCache;
  if (r50k.special_tokens[EOT_TEXT] !== GPT2_EOT)
    throw new Error('js-tiktoken r50k_base: <|endoftext|> is not 50256 (unexpected rank file)');
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

/** a token's bytes as a string of code units 0..255, the key of the maps below */
const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

let idOfKeyCache: Map<string, number> | undefined;
/** GPT-2 id of each token's bytes (latin1 key), <|endoftext|> excluded */
function gpt2IdOfKey(): Map<string, number> {
  if (idOfKeyCache) return idOfKeyCache;
  const tb = tokenBytes();
  const m = new Map<string, number>();
  for (let i = 0; i < GPT2_EOT; i++) m.set(latin1(tb[i]), i);
  return (idOfKeyCache = m);
}

let partsCache: Int32Array | undefined;
/**
 * The two GPT-2 ids that GPT-2's merge for token t (256..50255) joins: what BPE with the ranks
 * below t leaves of t's bytes just before t's own merge. Computed on demand and cached.
 */
function mergeParts(t: number): [number, number] {
  partsCache ??= new Int32Array(2 * (GPT2_EOT - 256)).fill(-1);
  const k = 2 * (t - 256);
  if (partsCache[k] < 0) {
    const rank = gpt2IdOfKey();
    let parts = [...latin1(tokenBytes()[t])];
    while (parts.length > 2) {
      let best = -1,
        bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rank.get(parts[i] + parts[i + 1]);
        if (r !== undefined && r < t && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) throw new Error(`cannot rebuild the merge that makes token ${t}`);
      parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
    }
    partsCache[k] = rank.get(parts[0])!;
    partsCache[k + 1] = rank.get(parts[1])!;
  }
  return [partsCache[k], partsCache[k + 1]];
}

/** The longest pre-tokenised piece handed to BPE, in UTF-16 code units (see the header). */
export const MAX_PIECE = 256;
/**
 * True for every text with a piece longer than MAX_PIECE: a piece is a space and a run of
 * non-space at most, or only whitespace.
 */
const LONG_RUN = new RegExp(`\\S{${MAX_PIECE}}|\\s{${MAX_PIECE}}`);

/** A piece cut into chunks of at most MAX_PIECE code units, never inside a surrogate pair. */
function chunks(piece: string): string[] {
  if (piece.length <= MAX_PIECE) return [piece];
  const out: string[] = [];
  for (let i = 0; i < piece.length; ) {
    let j = Math.min(piece.length, i + MAX_PIECE);
    const last = piece.charCodeAt(j - 1);
    if (j < piece.length && last >= 0xd800 && last <= 0xdbff) j--;
    out.push(piece.slice(i, j));
    i = j;
  }
  return out;
}

/**
 * The pieces BPE sees in `part` (text without <|endoftext|>): r50k's pre-tokenisation (tiktoken
 * encodes each match between special tokens on its own), long ones cut into chunks.
 */
function* piecesOf(part: string): Generator<string> {
  for (const m of part.matchAll(new RegExp(r50k.pat_str, 'gu'))) yield* chunks(m[0]);
}

/** `enc`'s tokens of `text` ("<|endoftext|>" becomes `eot`), with long pieces cut into chunks. */
function encodeBounded(enc: Tiktoken, text: string, eot: number): number[] {
  if (!LONG_RUN.test(text)) return enc.encode(text, [EOT_TEXT], []);
  const out: number[] = [];
  text.split(EOT_TEXT).forEach((part, i) => {
    if (i > 0) out.push(eot);
    for (const p of piecesOf(part)) out.push(...enc.encode(p, [], []));
  });
  return out;
}

const lossy = new TextDecoder('utf-8', { ignoreBOM: true });
let shared: Tokenizer | undefined;
let sharedEnc: Tiktoken | undefined;

const gpt2Enc = () => (sharedEnc ??= new Tiktoken(r50k));

/**
 * A Tokenizer over js-tiktoken encoding `enc`, whose id i has bytes `tb[i]`. `what` names the
 * vocabulary in the error for an id outside it.
 */
function makeTokenizer(enc: Tiktoken, tb: Uint8Array[], eot: number, what: string, gpt2Ids?: Int32Array): Tokenizer {
  const vocabSize = tb.length;
  const checkId = (id: number) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(`token id ${id} is outside ${what} (0..${vocabSize - 1})`);
    }
  };
  /** whether the ids' bytes start with a UTF-8 byte-order mark (EF BB BF) */
  const startsWithBOM = (ids: number[]) => {
    const head: number[] = [];
    for (let k = 0; k < ids.length && head.length < 3; k++) head.push(...tb[ids[k]]);
    return head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
  };
  const tok: Tokenizer = {
    encode: (text) => encodeBounded(enc, text, eot),
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
    eot,
    vocabSize,
  };
  if (gpt2Ids) tok.gpt2Ids = gpt2Ids;
  return tok;
}

const makeGPT2Tokenizer = () => makeTokenizer(gpt2Enc(), tokenBytes(), GPT2_EOT, "GPT-2's vocabulary");

// ---------------------------------------------------------------------------------------------
// compact vocabularies

/**
 * The compact vocabulary for `texts` (which may contain "<|endoftext|>"): the sorted GPT-2 ids
 * of every token of the texts' GPT-2 tokenization, of every GPT-2 token whose bytes are a
 * contiguous piece of one of those, of the 256 byte tokens and of <|endoftext|> (50256, last).
 * Each distinct pre-tokenised piece is encoded once, so repetitive training text is fast.
 */
export function compactVocab(texts: Iterable<string>): number[] {
  const enc = gpt2Enc();
  const tb = tokenBytes();
  const idOf = gpt2IdOfKey();
  const pieces = new Set<string>();
  for (const text of texts) for (const part of text.split(EOT_TEXT)) for (const p of piecesOf(part)) pieces.add(p);
  const occurs = new Uint8Array(GPT2_VOCAB_SIZE);
  for (const p of pieces) for (const id of enc.encode(p, [], [])) occurs[id] = 1;
  const kept = new Uint8Array(GPT2_VOCAB_SIZE);
  for (let b = 0; b < 256; b++) kept[b] = 1;
  kept[GPT2_EOT] = 1;
  for (let t = 256; t < GPT2_EOT; t++) {
    if (!occurs[t]) continue;
    const s = latin1(tb[t]);
    for (let i = 0; i < s.length; i++) {
      for (let j = i + 2; j <= s.length; j++) {
        const id = idOf.get(s.substring(i, j));
        if (id !== undefined) kept[id] = 1;
      }
    }
  }
  const out: number[] = [];
  for (let t = 0; t < GPT2_VOCAB_SIZE; t++) if (kept[t]) out.push(t);
  return out;
}

/** The vocab.json spelling of a GPT-2 id. */
const spellingOf = (g: number) => gpt2VocabStrings()[g];

/**
 * Throws (one line) unless `gpt2Ids` is a valid compact vocabulary: integers, strictly
 * ascending, 0..255 and 50256 included, and both parts of every kept token's GPT-2 merge kept.
 */
function checkCompact(gpt2Ids: ArrayLike<number>): void {
  const bad = (why: string) => new Error(`compact vocabulary: ${why}`);
  const n = gpt2Ids.length;
  const kept = new Uint8Array(GPT2_VOCAB_SIZE);
  for (let i = 0; i < n; i++) {
    const g = gpt2Ids[i];
    if (!Number.isInteger(g) || g < 0 || g >= GPT2_VOCAB_SIZE)
      throw bad(`entry ${i} is ${g}, not a GPT-2 id (0..${GPT2_VOCAB_SIZE - 1})`);
    if (i > 0 && g <= gpt2Ids[i - 1])
      throw bad(`GPT-2 ids must be strictly ascending, entry ${i} is ${g} after ${gpt2Ids[i - 1]}`);
    kept[g] = 1;
  }
  for (let b = 0; b < 256; b++)
    if (!kept[b]) throw bad(`byte token ${b} (${JSON.stringify(spellingOf(b))}) is missing; all 256 must be kept`);
  if (!kept[GPT2_EOT]) throw bad(`${EOT_TEXT} (${GPT2_EOT}) is missing`);
  for (let i = 256; i < n - 1; i++) {
    const g = gpt2Ids[i];
    for (const p of mergeParts(g)) {
      if (!kept[p])
        throw bad(
          `GPT-2 token ${g} (${JSON.stringify(spellingOf(g))}) is kept but its merge part ${p} (${JSON.stringify(spellingOf(p))}) is not`,
        );
    }
  }
}

/**
 * The tokenizer of a compact vocabulary (the ascending GPT-2 ids of compactVocab): ids are the
 * positions in `gpt2Ids`, encoding is js-tiktoken's BPE with GPT-2's ranks restricted to the
 * kept tokens (in GPT-2's order), and <|endoftext|> is the last id. Throws (one line) unless
 * `gpt2Ids` is valid: ascending, with the bytes, <|endoftext|>, and both merge parts of each kept
 * token.
 */
export function compactTokenizer(gpt2Ids: ArrayLike<number>): Tokenizer {
  checkCompact(gpt2Ids);
  const all = tokenBytes();
  const ids = Int32Array.from(gpt2Ids);
  const n = ids.length;
  const tb = Array.from(ids, (g) => all[g]);
  // js-tiktoken's rank file: "<anything> <first rank> <base64 token> <base64 token> ..."
  const ranks = ['! 0'];
  for (let i = 0; i < n - 1; i++) ranks.push(Buffer.from(tb[i]).toString('base64'));
  const enc = new Tiktoken({
    bpe_ranks: ranks.join(' '),
    special_tokens: { [EOT_TEXT]: n - 1 },
    pat_str: r50k.pat_str,
  });
  return makeTokenizer(enc, tb, n - 1, `this compact vocabulary of ${n} tokens`, ids);
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
  gpt2VocabStrings().forEach((s, i) => {
    v[s] = i;
  });
  return v;
}

/**
 * GPT-2's 50000 merges ("a b" in vocab spelling), in rank order: merge i creates token 256 + i.
 * Rebuilt from the ranks: the pair that makes token t is what BPE with the ranks below t leaves
 * just before t's own merge.
 */
export function gpt2Merges(): string[] {
  const v = gpt2VocabStrings();
  const out: string[] = new Array(GPT2_EOT - 256);
  for (let t = 256; t < GPT2_EOT; t++) {
    const [a, b] = mergeParts(t);
    out[t - 256] = `${v[a]} ${v[b]}`;
  }
  return out;
}

let idOfSpellingCache: Map<string, number> | undefined;
/** GPT-2 id of each vocab.json spelling, "<|endoftext|>" included */
function gpt2IdOfSpelling(): Map<string, number> {
  return (idOfSpellingCache ??= new Map(gpt2VocabStrings().map((s, i) => [s, i])));
}

// ---------------------------------------------------------------------------------------------
// writing a tokenizer's files, in Hugging Face's GPT-2 format

export interface TokenizerFilesOptions {
  /** tokenizer_config.json's model_max_length (the context length); omitted when not given */
  modelMaxLength?: number;
}

/** the GPT-2 ids of a tokenizer's ids: its gpt2Ids, or 0..50256 for GPT-2's own */
function gpt2IdsOf(tok: Tokenizer): Int32Array {
  const ids = tok.gpt2Ids ?? Int32Array.from({ length: GPT2_VOCAB_SIZE }, (_, i) => i);
  if (ids.length !== tok.vocabSize || tok.eot !== ids.length - 1 || ids[ids.length - 1] !== GPT2_EOT) {
    throw new Error(
      `a tokenizer of ${tok.vocabSize} tokens (eot ${tok.eot}) that is neither GPT-2's nor a compact vocabulary of it`,
    );
  }
  return ids;
}

/** a JSON object of spelling -> id, in id order (JSON.stringify would put "0", "1", ... first) */
function vocabJsonText(spellings: string[]): string {
  return `{${spellings.map((s, i) => `${JSON.stringify(s)}:${i}`).join(',')}}`;
}

/**
 * Write `tok`'s tokenizer files into `dir` (created if needed), each atomically: vocab.json,
 * merges.txt, tokenizer.json, tokenizer_config.json and special_tokens_map.json, in Hugging
 * Face's GPT-2 format, so that GPT2TokenizerFast.from_pretrained(dir) (or GPT2Tokenizer) loads
 * them as they are. `tok` is GPT-2's own tokenizer or a compact one; a compact vocabulary's
 * merges are the GPT-2 merges of its kept tokens in id order (merge i makes token 256 + i).
 */
export function writeTokenizerFiles(dir: string, tok: Tokenizer, opts: TokenizerFilesOptions = {}): void {
  const ids = gpt2IdsOf(tok);
  const v = gpt2VocabStrings();
  const spellings = Array.from(ids, (g) => v[g]);
  const merges: string[] = [];
  for (let i = 256; i < ids.length - 1; i++) {
    const [a, b] = mergeParts(ids[i]);
    merges.push(`${v[a]} ${v[b]}`);
  }
  const eot = ids.length - 1;
  const vocabText = vocabJsonText(spellings);
  const addedToken = {
    id: eot,
    content: EOT_TEXT,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  };
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({
    type: 'ByteLevel',
    add_prefix_space: addPrefixSpace,
    trim_offsets: trimOffsets,
    use_regex: true,
  });
  const VOCAB = '\u0000vocab\u0000';
  const tokenizerJson = JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [addedToken],
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: VOCAB,
      merges,
    },
  }).replace(JSON.stringify(VOCAB), () => vocabText);
  const { id: _, ...addedDecoder } = addedToken;
  const config: Record<string, unknown> = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: { [String(eot)]: addedDecoder },
    bos_token: EOT_TEXT,
    eos_token: EOT_TEXT,
    unk_token: EOT_TEXT,
    pad_token: null,
    // decode exactly what was encoded (GPT-2's own config has true, which drops spaces before punctuation)
    clean_up_tokenization_spaces: false,
    errors: 'replace',
    tokenizer_class: 'GPT2Tokenizer',
  };
  if (opts.modelMaxLength !== undefined) config.model_max_length = opts.modelMaxLength;
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, 'vocab.json'), vocabText);
  writeFileAtomic(path.join(dir, 'merges.txt'), `#version: 0.2\n${merges.map((m) => `${m}\n`).join('')}`);
  writeFileAtomic(path.join(dir, 'tokenizer.json'), tokenizerJson);
  writeFileAtomic(path.join(dir, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeFileAtomic(
    path.join(dir, 'special_tokens_map.json'),
    `${JSON.stringify({ bos_token: EOT_TEXT, eos_token: EOT_TEXT, unk_token: EOT_TEXT }, null, 2)}\n`,
  );
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

/** merges.txt's merges: its lines without the "#version" header and trailing empty lines */
function readMergesTxt(file: string): string[] {
  const size = fs.statSync(file).size;
  if (size > MAX_FILE_BYTES) throw new Error(`${file}: ${size} bytes, larger than the ${MAX_FILE_BYTES}-byte limit`);
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''));
  if (lines.length && lines[0].startsWith('#version')) lines.shift();
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** a vocabulary's (token, id) entries, with `extra` (tokenizer.json's added tokens) where not in it */
function vocabEntries(vocab: unknown, file: string, extra: Map<string, number>): [string, unknown][] {
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab))
    throw notGPT2(file, 'the vocabulary is not an object of token -> id');
  const entries = Object.entries(vocab as Record<string, unknown>);
  for (const [k, v] of extra) if (!Object.hasOwn(vocab, k)) entries.push([k, v]);
  return entries;
}

function checkVocab(entries: [string, unknown][], file: string): void {
  if (entries.length !== GPT2_VOCAB_SIZE) throw notGPT2(file, `${entries.length} tokens, GPT-2 has ${GPT2_VOCAB_SIZE}`);
  const seen = new Uint8Array(GPT2_VOCAB_SIZE);
  for (const [tok, id] of entries) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= GPT2_VOCAB_SIZE)
      throw notGPT2(file, `token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}`);
    if (seen[id]) throw notGPT2(file, `id ${id} is used twice`);
    seen[id] = 1;
    if (id === GPT2_EOT) {
      if (tok !== EOT_TEXT) throw notGPT2(file, `id ${GPT2_EOT} is ${JSON.stringify(tok)}, GPT-2 has "${EOT_TEXT}"`);
      continue;
    }
    // the spelling is a bijection of the bytes, so comparing spellings compares bytes
    const want = gpt2VocabStrings()[id];
    if (tok !== want)
      throw notGPT2(file, `token ${JSON.stringify(tok)} has id ${id}, GPT-2's id ${id} is ${JSON.stringify(want)}`);
  }
}

/** a merge as [left, right], or undefined if it is not a pair of strings */
function mergePair(m: unknown): [string, string] | undefined {
  let pair: unknown[] | undefined;
  if (typeof m === 'string') pair = m.split(' ');
  else if (Array.isArray(m)) pair = m;
  if (pair?.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return undefined;
  return [pair[0], pair[1]];
}

function checkMerges(merges: unknown[], file: string): void {
  if (merges.length !== GPT2_EOT - 256) throw notGPT2(file, `${merges.length} merges, GPT-2 has ${GPT2_EOT - 256}`);
  for (let i = 0; i < merges.length; i++) {
    const pair = mergePair(merges[i]);
    if (!pair) throw notGPT2(file, `merge ${i} is ${JSON.stringify(merges[i])}, not a pair`);
    const made = pair[0] + pair[1];
    const want = gpt2VocabStrings()[256 + i];
    if (made !== want)
      throw notGPT2(
        file,
        `merge ${i} (${JSON.stringify(pair.join(' '))}) makes ${JSON.stringify(made)}, GPT-2's makes ${JSON.stringify(want)}`,
      );
  }
}

/**
 * The GPT-2 ids of a compact vocabulary's entries (new id -> GPT-2 id), or a one-line error:
 * every token a GPT-2 token, the n ids dense 0..n-1 and in GPT-2's order, the 256 bytes first
 * and <|endoftext|> last.
 */
function compactIds(entries: [string, unknown][], file: string): Int32Array {
  const n = entries.length;
  const bad = (why: string) =>
    new Error(
      `${file}: ${n} tokens, GPT-2 has ${GPT2_VOCAB_SIZE}, and it is not a compact subset of GPT-2's vocabulary either: ${why} — only GPT-2's byte-level BPE, or a compact subset of it, is supported`,
    );
  const idOf = gpt2IdOfSpelling();
  const ids = new Int32Array(n).fill(-1);
  for (const [tok, id] of entries) {
    if (typeof id !== 'number' || !Number.isInteger(id))
      throw bad(`token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}`);
    if (id < 0 || id >= n)
      throw bad(`token ${JSON.stringify(tok)} has id ${id}, but the ids of ${n} tokens must be dense, 0..${n - 1}`);
    if (ids[id] >= 0) throw bad(`id ${id} is used twice`);
    const g = idOf.get(tok);
    if (g === undefined) throw bad(`token ${JSON.stringify(tok)} (id ${id}) is not a GPT-2 token`);
    ids[id] = g;
  }
  // n distinct ids within 0..n-1: dense
  if (!entries.some(([t]) => t === EOT_TEXT)) throw bad(`it has no "${EOT_TEXT}"`);
  for (let i = 1; i < n; i++) {
    if (ids[i] <= ids[i - 1]) {
      throw bad(
        `the ids are not in GPT-2's order: id ${i - 1} is ${JSON.stringify(spellingOf(ids[i - 1]))} (GPT-2's ${ids[i - 1]}), id ${i} is ${JSON.stringify(spellingOf(ids[i]))} (GPT-2's ${ids[i]})`,
      );
    }
  }
  // ascending, so <|endoftext|> (GPT-2's largest id) is last
  for (let b = 0; b < 256; b++) {
    if (ids[b] !== b)
      throw bad(
        `byte token ${JSON.stringify(spellingOf(b))} (GPT-2's ${b}) is missing; ids 0..255 must be the 256 bytes`,
      );
  }
  return ids;
}

/**
 * Throws (one line, naming the first bad merge) unless `merges` are exactly the GPT-2 merges of
 * the compact vocabulary `ids`' kept tokens: merge i joins two tokens of the vocabulary into
 * token 256 + i, as GPT-2's merge for that token does.
 */
function checkCompactMerges(merges: unknown[], file: string, ids: Int32Array): void {
  const v = gpt2VocabStrings();
  const n = ids.length;
  const want = n - 257;
  const bad = (why: string) =>
    new Error(
      `${file}: ${why} — the merges do not match the compact vocabulary (merge i must be GPT-2's merge for token 256 + i)`,
    );
  const inVocab = new Set<string>();
  for (let i = 0; i < n - 1; i++) inVocab.add(v[ids[i]]);
  for (let i = 0; i < Math.min(merges.length, want); i++) {
    const pair = mergePair(merges[i]);
    if (!pair) throw bad(`merge ${i} is ${JSON.stringify(merges[i])}, not a pair`);
    const shown = JSON.stringify(pair.join(' '));
    for (const p of pair)
      if (!inVocab.has(p)) throw bad(`merge ${i} (${shown}): ${JSON.stringify(p)} is not in the vocabulary`);
    const t = ids[256 + i];
    const made = pair[0] + pair[1];
    if (made !== v[t])
      throw bad(`merge ${i} (${shown}) makes ${JSON.stringify(made)}, but token ${256 + i} is ${JSON.stringify(v[t])}`);
    const [a, b] = mergeParts(t);
    if (pair[0] !== v[a] || pair[1] !== v[b])
      throw bad(
        `merge ${i} (${shown}) is not GPT-2's merge for ${JSON.stringify(v[t])}, which is ${JSON.stringify(`${v[a]} ${v[b]}`)}`,
      );
  }
  if (merges.length < want)
    throw bad(
      `${merges.length} merges for ${want} tokens: token ${256 + merges.length} (${JSON.stringify(v[ids[256 + merges.length]])}) has none`,
    );
  if (merges.length > want)
    throw bad(`${merges.length} merges, but the vocabulary has only ${want} tokens beyond the bytes and ${EOT_TEXT}`);
}

/** What a directory's tokenizer files describe. */
export type TokenizerFiles =
  | { kind: 'none' }
  | { kind: 'gpt2' }
  /** a compact vocabulary: the GPT-2 id of each id */
  | { kind: 'compact'; gpt2Ids: Int32Array };

type Described = 'gpt2' | Int32Array;
const describeKind = (d: Described) =>
  d === 'gpt2' ? `GPT-2's ${GPT2_VOCAB_SIZE} tokens` : `a compact vocabulary of ${d.length} tokens`;

/** the vocabulary (and merges, when given) of vocab.json/merges.txt or of tokenizer.json */
function describeFiles(
  entries: [string, unknown][],
  vocabFile: string,
  merges: unknown[] | undefined,
  mergesFile: string,
  mergesMissing: string,
): Described {
  if (entries.length === GPT2_VOCAB_SIZE) {
    checkVocab(entries, vocabFile);
    if (merges) checkMerges(merges, mergesFile);
    return 'gpt2';
  }
  const ids = compactIds(entries, vocabFile);
  if (!merges)
    throw new Error(`${vocabFile}: a compact vocabulary (${ids.length} tokens) needs its merges: ${mergesMissing}`);
  checkCompactMerges(merges, mergesFile, ids);
  return ids;
}

/**
 * Read and check `dir`'s tokenizer files (vocab.json + merges.txt, tokenizer.json; any of them
 * may be absent): GPT-2's own, or a compact vocabulary with exactly its GPT-2 merges (a compact
 * vocab.json needs its merges.txt, a compact tokenizer.json its model.merges). Anything else,
 * or vocab.json and tokenizer.json that disagree, throws a one-line error.
 */
export function readTokenizerFiles(dir: string): TokenizerFiles {
  let fromVocab: Described | undefined, fromTok: Described | undefined;
  const vocabFile = path.join(dir, 'vocab.json');
  if (fs.existsSync(vocabFile)) {
    const mergesFile = path.join(dir, 'merges.txt');
    const merges = fs.existsSync(mergesFile) ? readMergesTxt(mergesFile) : undefined;
    fromVocab = describeFiles(
      vocabEntries(readJsonFile(vocabFile), vocabFile, new Map()),
      vocabFile,
      merges,
      mergesFile,
      `${mergesFile} is missing`,
    );
  }
  const tokFile = path.join(dir, 'tokenizer.json');
  if (fs.existsSync(tokFile)) {
    const j = readJsonFile(tokFile) as Record<string, unknown> | null;
    if (typeof j !== 'object' || j === null || Array.isArray(j)) throw notGPT2(tokFile, 'not a JSON object');
    const model = j.model as Record<string, unknown> | undefined;
    if (typeof model !== 'object' || model === null) throw notGPT2(tokFile, 'no "model"');
    if (model.type !== undefined && model.type !== 'BPE')
      throw notGPT2(tokFile, `model type ${JSON.stringify(model.type)}, GPT-2's is BPE`);
    const added = j.added_tokens ?? [];
    if (!Array.isArray(added)) throw notGPT2(tokFile, '"added_tokens" is not an array');
    const extra = new Map<string, number>();
    for (const a of added as Record<string, unknown>[]) {
      if (a?.content !== EOT_TEXT || (extra.has(EOT_TEXT) && extra.get(EOT_TEXT) !== a?.id)) {
        throw notGPT2(
          tokFile,
          `added token ${JSON.stringify(a?.content)} (id ${JSON.stringify(a?.id)}); GPT-2 has only ${EOT_TEXT} = ${GPT2_EOT}`,
        );
      }
      extra.set(EOT_TEXT, a.id as number);
    }
    const entries = vocabEntries(model.vocab, tokFile, extra);
    const vocab = model.vocab as Record<string, unknown>;
    if (extra.has(EOT_TEXT)) {
      // the added token's id: GPT-2's, or a compact vocabulary's last; and the vocabulary's own entry for it, if any, agrees
      const id = extra.get(EOT_TEXT);
      const last = entries.length === GPT2_VOCAB_SIZE ? GPT2_EOT : entries.length - 1;
      if (id !== last || (Object.hasOwn(vocab, EOT_TEXT) && vocab[EOT_TEXT] !== id)) {
        throw notGPT2(
          tokFile,
          `added token "${EOT_TEXT}" has id ${JSON.stringify(id)}, but it must be the vocabulary's last id, ${last}`,
        );
      }
    }
    if (model.merges !== undefined && !Array.isArray(model.merges))
      throw notGPT2(tokFile, '"model.merges" is not an array');
    fromTok = describeFiles(
      entries,
      tokFile,
      model.merges as unknown[] | undefined,
      tokFile,
      'it has no "model.merges"',
    );
  }
  if (fromVocab !== undefined && fromTok !== undefined) {
    const same =
      fromVocab === 'gpt2' || fromTok === 'gpt2'
        ? fromVocab === fromTok
        : fromVocab.length === fromTok.length && fromVocab.every((g, i) => g === (fromTok as Int32Array)[i]);
    if (!same)
      throw new Error(
        `${dir}: vocab.json (${describeKind(fromVocab)}) and tokenizer.json (${describeKind(fromTok)}) are different vocabularies`,
      );
  }
  const d = fromVocab ?? fromTok;
  if (d === undefined) return { kind: 'none' };
  return d === 'gpt2' ? { kind: 'gpt2' } : { kind: 'compact', gpt2Ids: d };
}

/**
 * Throws unless `dir`'s tokenizer files (if any) describe GPT-2's tokenizer or a compact
 * vocabulary of it (see readTokenizerFiles).
 */
export function checkTokenizerFiles(dir: string): void {
  readTokenizerFiles(dir);
}

/**
 * The tokenizer of a weights directory: GPT-2's (shared) when `dir` is not given, has no
 * tokenizer files or has GPT-2's own; compactTokenizer of its vocabulary when its files are a
 * compact vocabulary with its merges. Any other tokenizer files throw (one line).
 */
export function getTokenizer(dir?: string): Tokenizer {
  if (dir !== undefined) {
    const files = readTokenizerFiles(dir);
    if (files.kind === 'compact') return compactTokenizer(files.gpt2Ids);
  }
  return (shared ??= makeGPT2Tokenizer());
}

/**
 * Throws a one-line error naming both sizes unless a model whose config has `vocabSize`
 * (vocab_size, its embedding rows) fits `tok`, the tokenizer of its directory `dir`:
 * vocabSize must be tok.vocabSize, or that rounded up to a multiple of `padMultiple` (when the
 * model pads its embedding).
 */
export function checkVocabMatchesModel(tok: Tokenizer, vocabSize: number, dir: string, padMultiple = 1): void {
  const padded = Math.ceil(tok.vocabSize / padMultiple) * padMultiple;
  if (vocabSize === tok.vocabSize || vocabSize === padded) return;
  const has = tok.gpt2Ids
    ? `its tokenizer files (vocab.json) have ${tok.vocabSize} tokens`
    : `its tokenizer, GPT-2's, has ${tok.vocabSize} tokens`;
  const pad = padded !== tok.vocabSize ? ` (${padded} padded to a multiple of ${padMultiple})` : '';
  throw new Error(`${dir}: the model's vocab_size is ${vocabSize}, but ${has}${pad}`);
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
    else if (c < 0x20 || c === 0x7f) s += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (
      (c >= 0x80 && c < 0xa0) ||
      c === 0xa0 ||
      c === 0xad ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0xfeff ||
      (c >= 0x200b && c <= 0x200f)
    )
      s += `\\u{${c.toString(16)}}`;
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
        } catch {
          /* shorter */
        }
      }
      if (!done) {
        s += `\\x${bytes[i].toString(16).padStart(2, '0')}`;
        i++;
      }
    }
    return s;
  }
}
