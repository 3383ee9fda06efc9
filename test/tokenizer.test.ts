// GPT-2 tokenizer: known ids, round trips, single tokens, checking a directory's tokenizer files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkTokenizerFiles, getTokenizer, gpt2Merges, gpt2Vocab, tokenLabel, visible } from '../src/io/tokenizer.ts';
import { rng } from './helpers.ts';

const REF = path.join(import.meta.dirname, 'fixtures', 'gpt2-reference');
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-test-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

const tok = getTokenizer();

describe('encode / decode', () => {
  it('gives GPT-2 ids', () => {
    expect(tok.eot).toBe(50256);
    expect(tok.vocabSize).toBe(50257);
    expect(tok.encode('Hello world')).toEqual([15496, 995]);
    expect(tok.encode('Hello, world!')).toEqual([15496, 11, 995, 0]);
    expect(tok.encode(' the')).toEqual([262]);
    expect(tok.encode('\n')).toEqual([198]);
    expect(tok.encode('\n\n')).toEqual([628]);
    expect(tok.encode('!')).toEqual([0]);
    expect(tok.encode('The quick brown fox jumps over the lazy dog.')).toEqual([464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13]);
    expect(tok.encode('<|endoftext|>')).toEqual([50256]);
    expect(tok.encode('a<|endoftext|>b')).toEqual([64, 50256, 65]);
    expect(tok.encode('<|endoftext')).not.toContain(50256);
    expect(tok.encode('')).toEqual([]);
  });

  // texts for round trips and byte checks: fixed, random over a mixed pool, long runs, a document
  const texts = (() => {
    const out = [
      'The quick brown fox jumps over the lazy dog.',
      "  leading spaces, trailing  \n\n\ttabs\r\nand CRLF   ",
      'naïve café — “quotes” … 日本語のテキスト 🤖🧠 Ω≈ç√ e\u0301 \u00a0\u2028\u3000',
      "it's we're they've I'm you'll he'd 'quoted' IT'S",
      'x<|endoftext|>y<|endoftext|><|endoftext|>',
      '12345 3.14159 0xdeadbeef $100,000.00',
      '<|endoftext',
      '\ufeffa leading byte-order mark',
      'ab'.repeat(300), 'a'.repeat(500), '1234567890'.repeat(30), '-='.repeat(200), ' '.repeat(500) + 'x', 'é'.repeat(150), '🙂'.repeat(100),
      fs.readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8'),
    ];
    const pool = [...'aabbeeinnorsttTH  \n\n\t\r.,;:!?\'"-_0123456789éèßжщ中文日本🙂🧠\u0301\u00a0\u3000\ufeff$%&*()[]{}<>|/\\'];
    const r = rng(42);
    for (let k = 0; k < 300; k++) {
      let s = '';
      for (let n = Math.floor(r() * 80); n > 0; n--) s += pool[Math.floor(r() * pool.length)];
      if (k % 10 === 0) s += '<|endoftext|>';
      out.push(s);
    }
    return out;
  })();

  it('round-trips text, including unicode, whitespace runs, a leading BOM and <|endoftext|>', () => {
    for (const s of texts) expect(tok.decode(tok.encode(s)), JSON.stringify(s.slice(0, 40))).toBe(s);
  });

  it('the tokens\' bytes concatenate to the UTF-8 text, and every token is in the vocabulary', () => {
    for (const s of texts) {
      const ids = tok.encode(s);
      for (const id of ids) expect(Number.isInteger(id) && id >= 0 && id < 50257).toBe(true);
      const parts = ids.map((id) => tok.bytes(id));
      expect(Buffer.concat(parts).equals(Buffer.from(s, 'utf8')), JSON.stringify(s.slice(0, 40))).toBe(true);
      // decodeOne agrees with bytes wherever the token is valid UTF-8 by itself
      for (const id of ids.slice(0, 50)) {
        const b = Buffer.from(tok.bytes(id));
        if (!b.toString('utf8').includes('\ufffd')) expect(tok.decodeOne(id)).toBe(b.toString('utf8'));
      }
    }
    // bytes() hands out a copy
    tok.bytes(262)[0] = 0;
    expect(Array.from(tok.bytes(262))).toEqual([0x20, 0x74, 0x68, 0x65]);
  });

  it('merges greedily by rank: the common words are single tokens, not letters', () => {
    // plain English prose (not the README, whose code blocks and tables change over time)
    const text = 'Impressionism was a school of late nineteenth century French painters who pictured appearances ' +
      'by strokes of unmixed colors to give the impression of reflected light. Its members painted outdoors, ' +
      'and they were interested in the changing effects of light on the landscape and on the people around them.';
    const ids = tok.encode(text);
    // English text is about 4-5 bytes per GPT-2 token; an unmerged encoding would be 1
    expect(Buffer.byteLength(text) / ids.length).toBeGreaterThan(4);
    for (const [w, id] of [[' and', 290], [' of', 286], [' to', 284], [' a', 257], ['The', 464], [' The', 383]] as const) expect(tok.encode(w)).toEqual([id]);
  });

  it('decodeOne gives the raw text of a token', () => {
    expect(tok.decodeOne(262)).toBe(' the');
    expect(tok.decodeOne(198)).toBe('\n');
    expect(tok.decodeOne(15496)).toBe('Hello');
    expect(tok.decodeOne(50256)).toBe('<|endoftext|>');
    expect(tok.decodeOne(447)).toBe('\ufffd'); // a piece of a multi-byte character
    expect(Array.from(tok.bytes(447))).toEqual([0xe2, 0x80]);
  });

  it('refuses ids outside the vocabulary', () => {
    expect(() => tok.decode([1, 50257])).toThrow(/token id 50257 is outside GPT-2's vocabulary \(0\.\.50256\)/);
    expect(() => tok.decodeOne(-1)).toThrow(/outside/);
    expect(() => tok.decodeOne(1.5)).toThrow(/outside/);
  });

  it('visible() and tokenLabel() make whitespace and byte pieces readable', () => {
    expect(visible(' a\n\tb\r')).toBe('␣a\\n\\tb\\r');
    expect(visible('\u0000\u007f')).toBe('\\x00\\x7f');
    expect(visible('\u00a0x')).toBe('\\u{a0}x');
    expect(visible('日本')).toBe('日本');
    expect(tokenLabel(tok, 262)).toBe('␣the');
    expect(tokenLabel(tok, 628)).toBe('\\n\\n');
    expect(tokenLabel(tok, 447)).toBe('\\xe2\\x80');
    expect(tokenLabel(tok, 50256)).toBe('<|endoftext|>');
  });
});

describe('tokenizer files in a weights directory', () => {
  let vocab: Record<string, number>;
  let merges: string[];
  let vocabJson: string;
  beforeAll(() => { vocab = gpt2Vocab(); merges = gpt2Merges(); vocabJson = JSON.stringify(vocab); });

  const dirWith = (name: string, files: Record<string, string>) => {
    const d = path.join(tmp, name);
    fs.mkdirSync(d, { recursive: true });
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(d, f), text);
    return d;
  };
  const mergesTxt = (m: string[]) => '#version: 0.2\n' + m.join('\n') + '\n';
  const tokenizerJson = (v: unknown, m: unknown, added: unknown[] = [{ id: 50256, content: '<|endoftext|>', special: true }]) =>
    JSON.stringify({ version: '1.0', added_tokens: added, pre_tokenizer: { type: 'ByteLevel' }, model: { type: 'BPE', vocab: v, merges: m } });

  it('GPT-2\'s vocab.json and merges.txt, rebuilt from the ranks, have GPT-2\'s known entries', () => {
    expect(Object.keys(vocab).length).toBe(50257);
    expect(vocab['!']).toBe(0);
    expect(vocab['Ġthe']).toBe(262);
    expect(vocab['Hello']).toBe(15496);
    expect(vocab['Ġworld']).toBe(995);
    expect(vocab['Ċ']).toBe(198);
    expect(vocab['<|endoftext|>']).toBe(50256);
    expect(merges.length).toBe(50000);
    expect(merges.slice(0, 5)).toEqual(['Ġ t', 'Ġ a', 'h e', 'i n', 'r e']);
  });

  it('accepts a directory with no tokenizer files, or GPT-2\'s own', () => {
    expect(getTokenizer(path.join(REF, 'hot-plain-f32')).encode('Hello world')).toEqual([15496, 995]);
    const d = dirWith('gpt2-files', {
      'vocab.json': vocabJson,
      'merges.txt': mergesTxt(merges),
      'tokenizer.json': tokenizerJson(vocab, merges),
    });
    expect(getTokenizer(d).encode(' the')).toEqual([262]);
    // the newer tokenizer.json form with merges as pairs
    const d2 = dirWith('gpt2-pairs', { 'tokenizer.json': tokenizerJson(vocab, merges.map((m) => m.split(' '))) });
    expect(() => checkTokenizerFiles(d2)).not.toThrow();
  });

  it('refuses a different tokenizer with a clear error', () => {
    const swapped = { ...vocab, 'Ġthe': 995, 'Ġworld': 262 };
    const small = Object.fromEntries(Object.entries(vocab).slice(0, 1000));
    const renamed = { ...vocab };
    delete renamed['Ġthe'];
    renamed['Ġteh'] = 262;
    const cases: [string, Record<string, string>, RegExp][] = [
      ['swapped', { 'vocab.json': JSON.stringify(swapped) }, /vocab\.json: token "Ġthe" has id 995, GPT-2's id 995 is "Ġworld" — this is not GPT-2's tokenizer, and only GPT-2's byte-level BPE is supported/],
      ['small', { 'vocab.json': JSON.stringify(small) }, /vocab\.json: 1000 tokens, GPT-2 has 50257/],
      ['renamed', { 'vocab.json': JSON.stringify(renamed) }, /token "Ġteh" has id 262/],
      ['eot moved', { 'vocab.json': JSON.stringify({ ...vocab, '<|endoftext|>': 0, '!': 50256 }) }, /not GPT-2's tokenizer/],
      ['not json', { 'vocab.json': '{' }, /vocab\.json: not valid JSON/],
      ['array', { 'vocab.json': '[]' }, /not an object/],
      ['merges', { 'vocab.json': vocabJson, 'merges.txt': mergesTxt([merges[1], merges[0], ...merges.slice(2)]) }, /merges\.txt: merge 0 \("Ġ a"\) makes "Ġa", GPT-2's makes "Ġt"/],
      ['merges short', { 'vocab.json': vocabJson, 'merges.txt': mergesTxt(merges.slice(0, 100)) }, /100 merges, GPT-2 has 50000/],
      ['tokenizer.json vocab', { 'tokenizer.json': tokenizerJson(swapped, merges) }, /tokenizer\.json: token "Ġthe" has id 995/],
      ['tokenizer.json added', { 'tokenizer.json': tokenizerJson(vocab, merges, [{ id: 50257, content: '<pad>' }]) }, /added token "<pad>" \(id 50257\)/],
      ['tokenizer.json type', { 'tokenizer.json': JSON.stringify({ model: { type: 'Unigram', vocab: [] } }) }, /model type "Unigram", GPT-2's is BPE/],
    ];
    for (const [name, files, re] of cases) {
      const d = dirWith('bad-' + name.replace(/ /g, '-'), files);
      expect(() => getTokenizer(d), name).toThrow(re);
    }
  });
});
