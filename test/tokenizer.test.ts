// GPT-2 tokenizer: known ids, round trips, single tokens, checking a directory's tokenizer files;
// compact vocabularies: GPT-2's tokens on training text, the files in Hugging Face's format
// against a classic merges.txt BPE, and their checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import r50k from 'js-tiktoken/ranks/r50k_base';
import {
  byteToUnicode,
  checkTokenizerFiles,
  checkVocabMatchesModel,
  compactTokenizer,
  compactVocab,
  MAX_PIECE,
  getTokenizer,
  gpt2Merges,
  gpt2Vocab,
  readTokenizerFiles,
  tokenLabel,
  visible,
  writeTokenizerFiles,
  type Tokenizer,
} from '../src/io/tokenizer.ts';
import { buildDataset } from '../src/data/build.ts';
import { rng } from './helpers.ts';

const REF = path.join(import.meta.dirname, 'fixtures', 'gpt2-reference');
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

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
    expect(tok.encode('The quick brown fox jumps over the lazy dog.')).toEqual([
      464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13,
    ]);
    expect(tok.encode('<|endoftext|>')).toEqual([50256]);
    expect(tok.encode('a<|endoftext|>b')).toEqual([64, 50256, 65]);
    expect(tok.encode('<|endoftext')).not.toContain(50256);
    expect(tok.encode('')).toEqual([]);
  });

  // texts for round trips and byte checks: fixed, random over a mixed pool, long runs, a document
  const texts = (() => {
    const out = [
      'The quick brown fox jumps over the lazy dog.',
      '  leading spaces, trailing  \n\n\ttabs\r\nand CRLF   ',
      'naïve café — “quotes” … 日本語のテキスト 🤖🧠 Ω≈ç√ e\u0301 \u00a0\u2028\u3000',
      "it's we're they've I'm you'll he'd 'quoted' IT'S",
      'x<|endoftext|>y<|endoftext|><|endoftext|>',
      '12345 3.14159 0xdeadbeef $100,000.00',
      '<|endoftext',
      '\ufeffa leading byte-order mark',
      'ab'.repeat(300),
      'a'.repeat(500),
      '1234567890'.repeat(30),
      '-='.repeat(200),
      `${' '.repeat(500)}x`,
      'é'.repeat(150),
      '🙂'.repeat(100),
      fs.readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8'),
    ];
    const pool = [
      ...'aabbeeinnorsttTH  \n\n\t\r.,;:!?\'"-_0123456789éèßжщ中文日本🙂🧠\u0301\u00a0\u3000\ufeff$%&*()[]{}<>|/\\',
    ];
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

  it("the tokens' bytes concatenate to the UTF-8 text, and every token is in the vocabulary", () => {
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
    const text =
      'Impressionism was a school of late nineteenth century French painters who pictured appearances ' +
      'by strokes of unmixed colors to give the impression of reflected light. Its members painted outdoors, ' +
      'and they were interested in the changing effects of light on the landscape and on the people around them.';
    const ids = tok.encode(text);
    // English text is about 4-5 bytes per GPT-2 token; an unmerged encoding would be 1
    expect(Buffer.byteLength(text) / ids.length).toBeGreaterThan(4);
    for (const [w, id] of [
      [' and', 290],
      [' of', 286],
      [' to', 284],
      [' a', 257],
      ['The', 464],
      [' The', 383],
    ] as const)
      expect(tok.encode(w)).toEqual([id]);
  });

  it('cuts a very long piece into chunks: a 60,000-letter word finishes, round-trips, and leaves the text around it alone', () => {
    const r = rng(7);
    const word = Array.from({ length: 60_000 }, () => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(r() * 26)]).join('');
    const text = `Hello ${word} world<|endoftext|>Q: What is Impressionism?`;
    const t0 = performance.now();
    const ids = tok.encode(text);
    // without the cut, js-tiktoken's quadratic merge loop runs for hours; with it, about a second
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(tok.decode(ids)).toBe(text);
    const head = tok.encode('Hello');
    const tail = tok.encode(' world<|endoftext|>Q: What is Impressionism?');
    expect(ids.slice(0, head.length)).toEqual(head);
    expect(ids.slice(-tail.length)).toEqual(tail);
    // the word is encoded as its chunks of MAX_PIECE code units, each on its own
    const chunks: number[] = [];
    const piece = ` ${word}`;
    for (let i = 0; i < piece.length; i += MAX_PIECE) chunks.push(...tok.encode(piece.slice(i, i + MAX_PIECE)));
    expect(ids.slice(head.length, -tail.length)).toEqual(chunks);
    // a piece of MAX_PIECE code units is js-tiktoken's own encoding, one more is cut after MAX_PIECE
    const plain = new Tiktoken(r50k);
    expect(tok.encode(word.slice(0, MAX_PIECE))).toEqual(plain.encode(word.slice(0, MAX_PIECE)));
    expect(tok.encode(word.slice(0, MAX_PIECE + 1))).toEqual([
      ...plain.encode(word.slice(0, MAX_PIECE)),
      ...plain.encode(word[MAX_PIECE]),
    ]);
    // a compact vocabulary of the text gives it the same tokens
    const compact = compactTokenizer(compactVocab([text]));
    expect(compact.encode(text).map((i) => compact.gpt2Ids![i])).toEqual(ids);
    // cuts never split a surrogate pair
    for (const s of ['🙂'.repeat(300), `a${'🙂'.repeat(300)}`, ' '.repeat(1000), '7'.repeat(1000)])
      expect(tok.decode(tok.encode(s)), s.slice(0, 10)).toBe(s);
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
  beforeAll(() => {
    vocab = gpt2Vocab();
    merges = gpt2Merges();
    vocabJson = JSON.stringify(vocab);
  });

  const dirWith = (name: string, files: Record<string, string>) => {
    const d = path.join(tmp, name);
    fs.mkdirSync(d, { recursive: true });
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(d, f), text);
    return d;
  };
  const mergesTxt = (m: string[]) => `#version: 0.2\n${m.join('\n')}\n`;
  const tokenizerJson = (
    v: unknown,
    m: unknown,
    added: unknown[] = [{ id: 50256, content: '<|endoftext|>', special: true }],
  ) =>
    JSON.stringify({
      version: '1.0',
      added_tokens: added,
      pre_tokenizer: { type: 'ByteLevel' },
      model: { type: 'BPE', vocab: v, merges: m },
    });

  it("GPT-2's vocab.json and merges.txt, rebuilt from the ranks, have GPT-2's known entries", () => {
    expect(Object.keys(vocab).length).toBe(50257);
    expect(vocab['!']).toBe(0);
    expect(vocab.Ġthe).toBe(262);
    expect(vocab.Hello).toBe(15496);
    expect(vocab.Ġworld).toBe(995);
    expect(vocab.Ċ).toBe(198);
    expect(vocab['<|endoftext|>']).toBe(50256);
    expect(merges.length).toBe(50000);
    expect(merges.slice(0, 5)).toEqual(['Ġ t', 'Ġ a', 'h e', 'i n', 'r e']);
  });

  it("accepts a directory with no tokenizer files, or GPT-2's own", () => {
    expect(getTokenizer(path.join(REF, 'hot-plain-f32')).encode('Hello world')).toEqual([15496, 995]);
    const d = dirWith('gpt2-files', {
      'vocab.json': vocabJson,
      'merges.txt': mergesTxt(merges),
      'tokenizer.json': tokenizerJson(vocab, merges),
    });
    expect(getTokenizer(d).encode(' the')).toEqual([262]);
    // the newer tokenizer.json form with merges as pairs
    const d2 = dirWith('gpt2-pairs', {
      'tokenizer.json': tokenizerJson(
        vocab,
        merges.map((m) => m.split(' ')),
      ),
    });
    expect(() => checkTokenizerFiles(d2)).not.toThrow();
  });

  it('refuses a different tokenizer with a clear error', () => {
    const swapped = { ...vocab, Ġthe: 995, Ġworld: 262 };
    const small = Object.fromEntries(Object.entries(vocab).slice(0, 1000));
    const renamed = { ...vocab };
    delete renamed.Ġthe;
    renamed.Ġteh = 262;
    const cases: [string, Record<string, string>, RegExp][] = [
      [
        'swapped',
        { 'vocab.json': JSON.stringify(swapped) },
        /vocab\.json: token "Ġthe" has id 995, GPT-2's id 995 is "Ġworld" — this is not GPT-2's tokenizer, and only GPT-2's byte-level BPE is supported/,
      ],
      ['small', { 'vocab.json': JSON.stringify(small) }, /vocab\.json: 1000 tokens, GPT-2 has 50257/],
      ['renamed', { 'vocab.json': JSON.stringify(renamed) }, /token "Ġteh" has id 262/],
      [
        'eot moved',
        { 'vocab.json': JSON.stringify({ ...vocab, '<|endoftext|>': 0, '!': 50256 }) },
        /not GPT-2's tokenizer/,
      ],
      ['not json', { 'vocab.json': '{' }, /vocab\.json: not valid JSON/],
      ['array', { 'vocab.json': '[]' }, /not an object/],
      [
        'merges',
        { 'vocab.json': vocabJson, 'merges.txt': mergesTxt([merges[1], merges[0], ...merges.slice(2)]) },
        /merges\.txt: merge 0 \("Ġ a"\) makes "Ġa", GPT-2's makes "Ġt"/,
      ],
      [
        'merges short',
        { 'vocab.json': vocabJson, 'merges.txt': mergesTxt(merges.slice(0, 100)) },
        /100 merges, GPT-2 has 50000/,
      ],
      [
        'tokenizer.json vocab',
        { 'tokenizer.json': tokenizerJson(swapped, merges) },
        /tokenizer\.json: token "Ġthe" has id 995/,
      ],
      [
        'tokenizer.json added',
        { 'tokenizer.json': tokenizerJson(vocab, merges, [{ id: 50257, content: '<pad>' }]) },
        /added token "<pad>" \(id 50257\)/,
      ],
      [
        'tokenizer.json type',
        { 'tokenizer.json': JSON.stringify({ model: { type: 'Unigram', vocab: [] } }) },
        /model type "Unigram", GPT-2's is BPE/,
      ],
    ];
    for (const [name, files, re] of cases) {
      const d = dirWith(`bad-${name.replace(/ /g, '-')}`, files);
      expect(() => getTokenizer(d), name).toThrow(re);
    }
  });
});

describe('compact vocabulary', () => {
  // training-like text: hand-written art-history prose and Q/A lines, and the start of the real art mix
  const prose = [
    'Impressionism was a nineteenth-century art movement characterized by relatively small, thin, yet visible brush strokes, ' +
      'open composition, emphasis on the accurate depiction of light in its changing qualities, ordinary subject matter, and ' +
      'the inclusion of movement as a crucial element of human perception and experience.',
    'Claude Monet (1840-1926) painted "Impression, Sunrise" in 1872; the critic Louis Leroy mocked its title, and the name stuck.',
    'The Baroque style used contrast, movement, exuberant detail, deep colour, grandeur and surprise to achieve a sense of awe.\n\n' +
      "Caravaggio's chiaroscuro — the strong contrast between light and dark — influenced Rembrandt, Rubens and Velázquez.",
    'Q: Who was Vincent van Gogh?\nA: A Dutch post-impressionist painter (1853-1890).<|endoftext|>',
    'Q: What is a fresco?\nA: A technique of mural painting executed upon freshly laid lime plaster.<|endoftext|>',
    'Q: When did the Renaissance begin?\nA: In 14th-century Florence, Italy.<|endoftext|>',
    "Q: What's the Mona Lisa?\nA: A half-length portrait by Leonardo da Vinci, c. 1503–1519, in the Louvre.<|endoftext|>",
  ];
  const train = [
    ...prose,
    ...buildDataset({ mix: 'art' })
      .train.slice(0, 300)
      .map((e) => e.text),
  ];
  const full = getTokenizer();
  const ids = compactVocab(train);
  const tok = compactTokenizer(ids);
  const g = (newIds: number[]) => newIds.map((i) => tok.gpt2Ids![i]);

  // random text: unicode, emoji, CJK, numbers, whitespace runs, pieces of words, <|endoftext|>
  const random = (() => {
    const r = rng(123);
    const pool = [
      ...'aeinorstlmdhcuTHWQA  \n\n\t\r.,;:!?\'"-_()[]{}<>|/\\$%&*#@0123456789éèàüßçñøжщяΩ≈√中文日本語한국🙂🧠🎨\u0301\u00a0\u3000\u2028\ufeff',
    ];
    const words = [
      'the',
      ' painting',
      'impression',
      'ism',
      ' van',
      'Gogh',
      'Monet',
      "'s",
      "'re",
      ' 1889',
      '...',
      '  ',
      '\n\n\n',
      'QQQQ',
      'zxqv',
      '<|endoftext|>',
    ];
    const out = [
      '',
      ' ',
      '\ufeffhello',
      'a'.repeat(200),
      `${' '.repeat(100)}x`,
      '1234567890'.repeat(10),
      '🙂'.repeat(30),
    ];
    for (let k = 0; k < 400; k++) {
      let s = '';
      for (let n = Math.floor(r() * 40); n > 0; n--)
        s += r() < 0.7 ? pool[Math.floor(r() * pool.length)] : words[Math.floor(r() * words.length)];
      out.push(s);
    }
    return out;
  })();

  /**
   * The classic merges-file BPE of GPT-2's encoder.py / HF GPT2Tokenizer, from a directory's
   * vocab.json and merges.txt: bytes_to_unicode, r50k's pre-tokenisation, then repeatedly merge
   * (every occurrence of) the adjacent pair with the lowest merges.txt index.
   */
  const classicBPE = (dir: string) => {
    const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
    const lines = fs.readFileSync(path.join(dir, 'merges.txt'), 'utf8').split('\n');
    expect(lines[0]).toBe('#version: 0.2');
    expect(lines[lines.length - 1]).toBe('');
    const rank = new Map(lines.slice(1, -1).map((l, i) => [l, i]));
    const b2u = byteToUnicode();
    const re = new RegExp(r50k.pat_str, 'gu');
    const bpe = (word: string[]) => {
      for (;;) {
        let best: string | undefined,
          bestRank = Infinity;
        for (let i = 0; i + 1 < word.length; i++) {
          const r = rank.get(`${word[i]} ${word[i + 1]}`);
          if (r !== undefined && r < bestRank) {
            bestRank = r;
            best = `${word[i]} ${word[i + 1]}`;
          }
        }
        if (best === undefined) return word;
        const [a, b] = best.split(' ');
        const out: string[] = [];
        for (let i = 0; i < word.length; ) {
          if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
            out.push(a + b);
            i += 2;
          } else out.push(word[i++]);
        }
        word = out;
      }
    };
    return (text: string) => {
      const out: number[] = [];
      text.split('<|endoftext|>').forEach((part, k) => {
        if (k > 0) out.push(vocab['<|endoftext|>']);
        for (const m of part.matchAll(re)) {
          for (const t of bpe([...Buffer.from(m[0], 'utf8')].map((b) => b2u[b]))) {
            if (!(t in vocab)) throw new Error(`classic BPE made ${JSON.stringify(t)}, which is not in vocab.json`);
            out.push(vocab[t]);
          }
        }
      });
      return out;
    };
  };

  it("keeps the training tokens and their pieces, the bytes and <|endoftext|>, closed under merges, in GPT-2's order", () => {
    expect(ids.length).toBeLessThan(20000);
    for (let i = 0; i < 256; i++) expect(ids[i]).toBe(i);
    expect(ids[ids.length - 1]).toBe(50256);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]);
    const kept = new Set(ids);
    for (const s of train) for (const id of full.encode(s)) expect(kept.has(id)).toBe(true);
    // both parts of each kept token's GPT-2 merge are kept
    const vocab = gpt2Vocab();
    const merges = gpt2Merges();
    for (const id of ids.slice(256, -1))
      for (const p of merges[id - 256].split(' ')) expect(kept.has(vocab[p]), `${id} ${merges[id - 256]}`).toBe(true);
    expect(tok.vocabSize).toBe(ids.length);
    expect(tok.eot).toBe(ids.length - 1);
    expect(Array.from(tok.gpt2Ids!)).toEqual(ids);
    expect(full.gpt2Ids).toBeUndefined();
    expect(compactVocab(['<|endoftext|>'])).toEqual([...Array(256).keys(), 50256]);
  });

  it("tokenizes the training text into exactly GPT-2's tokens", () => {
    for (const s of train) {
      const got = tok.encode(s);
      expect(g(got), JSON.stringify(s.slice(0, 40))).toEqual(full.encode(s));
      expect(tok.decode(got)).toBe(s);
    }
    expect(tok.encode('Q: Who?<|endoftext|>').at(-1)).toBe(tok.eot);
    expect(tok.decodeOne(tok.eot)).toBe('<|endoftext|>');
    expect(tok.decodeOne(tok.encode(' the')[0])).toBe(' the');
  });

  it('tokenizes any other text into kept tokens only, and round-trips it', () => {
    for (const s of random) {
      const got = tok.encode(s);
      for (const id of got) expect(Number.isInteger(id) && id >= 0 && id < tok.vocabSize).toBe(true);
      expect(tok.decode(got), JSON.stringify(s.slice(0, 40))).toBe(s);
      expect(Buffer.concat(got.map((id) => tok.bytes(id))).equals(Buffer.from(s, 'utf8'))).toBe(true);
    }
    expect(() => tok.decode([tok.vocabSize])).toThrow(
      new RegExp(
        `token id ${tok.vocabSize} is outside this compact vocabulary of ${tok.vocabSize} tokens \\(0\\.\\.${tok.vocabSize - 1}\\)`,
      ),
    );
  });

  it('writes Hugging Face GPT-2 files that a classic merges.txt BPE reads to the same ids', () => {
    const d = path.join(tmp, 'compact-files');
    writeTokenizerFiles(d, tok, { modelMaxLength: 256 });
    expect(fs.readdirSync(d).sort()).toEqual([
      'merges.txt',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'vocab.json',
    ]);
    const classic = classicBPE(d);
    for (const s of [...train, ...random]) expect(classic(s), JSON.stringify(s.slice(0, 40))).toEqual(tok.encode(s));
    // vocab.json is in id order; tokenizer.json carries the same vocabulary and merges
    const vocabText = fs.readFileSync(path.join(d, 'vocab.json'), 'utf8');
    expect(vocabText.startsWith('{"!":0,"\\"":1,"#":2')).toBe(true);
    const vocab = JSON.parse(vocabText);
    expect(Object.keys(vocab).length).toBe(tok.vocabSize);
    expect(vocab['<|endoftext|>']).toBe(tok.eot);
    const tj = JSON.parse(fs.readFileSync(path.join(d, 'tokenizer.json'), 'utf8'));
    expect(tj.model.type).toBe('BPE');
    expect(tj.model.vocab).toEqual(vocab);
    expect(tj.model.merges).toEqual(fs.readFileSync(path.join(d, 'merges.txt'), 'utf8').split('\n').slice(1, -1));
    expect(tj.model.merges.length).toBe(tok.vocabSize - 257);
    expect(tj.added_tokens).toEqual([
      expect.objectContaining({ id: tok.eot, content: '<|endoftext|>', special: true }),
    ]);
    expect(tj.pre_tokenizer).toEqual({
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    });
    expect(tj.decoder.type).toBe('ByteLevel');
    expect(tj.post_processor.type).toBe('ByteLevel');
    const cfg = JSON.parse(fs.readFileSync(path.join(d, 'tokenizer_config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      tokenizer_class: 'GPT2Tokenizer',
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
      model_max_length: 256,
    });
    expect(cfg.added_tokens_decoder[String(tok.eot)].content).toBe('<|endoftext|>');
    expect(JSON.parse(fs.readFileSync(path.join(d, 'special_tokens_map.json'), 'utf8'))).toEqual({
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
    });
    // no temporary files left behind
    expect(fs.readdirSync(d).some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  it("writes GPT-2's own files, which load back as GPT-2 and agree with the classic BPE", () => {
    const d = path.join(tmp, 'gpt2-written');
    writeTokenizerFiles(d, full);
    expect(readTokenizerFiles(d)).toEqual({ kind: 'gpt2' });
    expect(getTokenizer(d)).toBe(full);
    const classic = classicBPE(d);
    for (const s of [...prose, ...random.slice(0, 100)]) expect(classic(s)).toEqual(full.encode(s));
  });

  it('getTokenizer loads a compact tokenizer from its files (vocab.json + merges.txt, or tokenizer.json alone)', () => {
    const d = path.join(tmp, 'compact-load');
    writeTokenizerFiles(d, tok);
    const sameAs = (t: Tokenizer) => {
      expect(Array.from(t.gpt2Ids!)).toEqual(ids);
      expect(t.vocabSize).toBe(tok.vocabSize);
      expect(t.eot).toBe(tok.eot);
      for (const s of [...prose, ...random.slice(0, 50)]) expect(t.encode(s)).toEqual(tok.encode(s));
    };
    sameAs(getTokenizer(d));
    const onlyJson = path.join(tmp, 'compact-json');
    fs.mkdirSync(onlyJson);
    fs.copyFileSync(path.join(d, 'tokenizer.json'), path.join(onlyJson, 'tokenizer.json'));
    sameAs(getTokenizer(onlyJson));
    const onlyTxt = path.join(tmp, 'compact-txt');
    fs.mkdirSync(onlyTxt);
    for (const f of ['vocab.json', 'merges.txt']) fs.copyFileSync(path.join(d, f), path.join(onlyTxt, f));
    sameAs(getTokenizer(onlyTxt));
  });

  it('refuses broken compact tokenizer files with a one-line error naming the problem', () => {
    const d = path.join(tmp, 'compact-src');
    writeTokenizerFiles(d, tok);
    const vocabText = fs.readFileSync(path.join(d, 'vocab.json'), 'utf8');
    const vocab = JSON.parse(vocabText) as Record<string, number>;
    const merges = fs.readFileSync(path.join(d, 'merges.txt'), 'utf8').split('\n').slice(1, -1);
    const spellings = Object.entries(vocab)
      .sort((a, b) => a[1] - b[1])
      .map(([s]) => s);
    const vocabOf = (sp: string[]) => `{${sp.map((s, i) => `${JSON.stringify(s)}:${i}`).join(',')}}`;
    const mergesTxt = (m: string[]) => `#version: 0.2\n${m.join('\n')}\n`;
    const k = 40; // a merge in the middle
    const bytesOnly = path.join(tmp, 'compact-bytes-only');
    writeTokenizerFiles(bytesOnly, compactTokenizer([...Array(256).keys(), 50256]));
    const bytesOnlyJson = fs.readFileSync(path.join(bytesOnly, 'tokenizer.json'), 'utf8');
    // a token that is a part of a later merge: drop it and its merge, renumber densely
    const part = merges[k].split(' ')[0] + merges[k].split(' ')[1];
    const firstUse = merges.findIndex((m) => m.split(' ').includes(part));
    expect(firstUse).toBeGreaterThan(k);
    const dropped = spellings.filter((s) => s !== part);
    const cases: [string, Record<string, string>, RegExp][] = [
      [
        'merge removed',
        { 'vocab.json': vocabText, 'merges.txt': mergesTxt(merges.filter((_, i) => i !== k)) },
        new RegExp(
          `merges\\.txt: merge ${k} \\(${JSON.stringify(merges[k + 1]).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) makes .*, but token ${256 + k} is `,
        ),
      ],
      [
        'last merge removed',
        { 'vocab.json': vocabText, 'merges.txt': mergesTxt(merges.slice(0, -1)) },
        new RegExp(`${merges.length - 1} merges for ${merges.length} tokens: token ${255 + merges.length} .* has none`),
      ],
      [
        'missing part',
        { 'vocab.json': vocabOf(dropped), 'merges.txt': mergesTxt(merges.filter((_, i) => i !== k)) },
        new RegExp(
          `merges\\.txt: merge ${firstUse - 1} \\(.*\\): ${JSON.stringify(part).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not in the vocabulary`,
        ),
      ],
      [
        'merges swapped',
        {
          'vocab.json': vocabText,
          'merges.txt': mergesTxt([...merges.slice(0, k), merges[k + 1], merges[k], ...merges.slice(k + 2)]),
        },
        new RegExp(`merge ${k} \\(.*\\) makes`),
      ],
      [
        'no merges',
        { 'vocab.json': vocabText },
        /vocab\.json: a compact vocabulary \(\d+ tokens\) needs its merges: .*merges\.txt is missing/,
      ],
      [
        'id not dense',
        { 'vocab.json': vocabText.replace('"#":2', `"#":${spellings.length}`), 'merges.txt': mergesTxt(merges) },
        new RegExp(
          `vocab\\.json: ${spellings.length} tokens, GPT-2 has 50257, and it is not a compact subset of GPT-2's vocabulary either: token "#" has id ${spellings.length}, but the ids of ${spellings.length} tokens must be dense, 0\\.\\.${spellings.length - 1}`,
        ),
      ],
      [
        'id order',
        {
          'vocab.json': vocabOf([...spellings.slice(0, 300), spellings[301], spellings[300], ...spellings.slice(302)]),
          'merges.txt': mergesTxt(merges),
        },
        /the ids are not in GPT-2's order: id 300 is/,
      ],
      [
        'eot not last',
        { 'vocab.json': vocabOf(['<|endoftext|>', ...spellings.slice(0, -1)]), 'merges.txt': mergesTxt(merges) },
        /not in GPT-2's order/,
      ],
      [
        'no eot',
        { 'vocab.json': vocabOf(spellings.slice(0, -1)), 'merges.txt': mergesTxt(merges) },
        /it has no "<\|endoftext\|>"/,
      ],
      [
        'not gpt2',
        {
          'vocab.json': vocabOf([...spellings.slice(0, 300), 'Ġzzzzqqq', ...spellings.slice(301)]),
          'merges.txt': mergesTxt(merges),
        },
        /token "Ġzzzzqqq" \(id 300\) is not a GPT-2 token/,
      ],
      [
        'byte missing',
        { 'vocab.json': vocabOf(spellings.slice(1)), 'merges.txt': mergesTxt(merges) },
        /byte token "!" \(GPT-2's 0\) is missing/,
      ],
      [
        'disagree',
        { 'vocab.json': vocabText, 'merges.txt': mergesTxt(merges), 'tokenizer.json': bytesOnlyJson },
        new RegExp(
          `vocab\\.json \\(a compact vocabulary of ${spellings.length} tokens\\) and tokenizer\\.json \\(a compact vocabulary of 257 tokens\\) are different vocabularies`,
        ),
      ],
    ];
    for (const [name, files, re] of cases) {
      const dir = path.join(tmp, `compact-bad-${name.replace(/ /g, '-')}`);
      fs.mkdirSync(dir, { recursive: true });
      for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
      let msg = '';
      try {
        getTokenizer(dir);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg, name).toMatch(re);
      expect(msg.includes('\n'), name).toBe(false);
      expect(() => checkTokenizerFiles(dir), name).toThrow();
    }
    // tokenizer.json: the added <|endoftext|> must be the last id
    const tj = JSON.parse(fs.readFileSync(path.join(d, 'tokenizer.json'), 'utf8'));
    tj.added_tokens[0].id = 5;
    const dj = path.join(tmp, 'compact-bad-added');
    fs.mkdirSync(dj);
    fs.writeFileSync(path.join(dj, 'tokenizer.json'), JSON.stringify(tj));
    expect(() => getTokenizer(dj)).toThrow(
      new RegExp(`added token "<\\|endoftext\\|>" has id 5, but it must be the vocabulary's last id, ${tok.eot}`),
    );
  });

  it('compactTokenizer checks its GPT-2 ids', () => {
    const bytes = [...Array(256).keys()];
    expect(compactTokenizer([...bytes, 50256]).encode('ab c')).toEqual([64, 65, 220, 66]);
    expect(() => compactTokenizer([...bytes, 262, 50256])).toThrow(
      /compact vocabulary: GPT-2 token 262 \("Ġthe"\) is kept but its merge part \d+ \(".*"\) is not/,
    );
    expect(() => compactTokenizer(bytes)).toThrow(/<\|endoftext\|> \(50256\) is missing/);
    expect(() => compactTokenizer([...bytes.slice(1), 50256])).toThrow(/byte token 0 \("!"\) is missing/);
    expect(() => compactTokenizer([...bytes, 300, 299, 50256])).toThrow(
      /strictly ascending, entry 257 is 299 after 300/,
    );
    expect(() => compactTokenizer([...bytes, 50257])).toThrow(/not a GPT-2 id/);
  });

  it('checkVocabMatchesModel names both sizes when the model and its tokenizer disagree', () => {
    expect(() => checkVocabMatchesModel(tok, tok.vocabSize, 'w')).not.toThrow();
    expect(() => checkVocabMatchesModel(full, 50257, 'w')).not.toThrow();
    const padded = Math.ceil(tok.vocabSize / 64) * 64;
    expect(() => checkVocabMatchesModel(tok, padded, 'w', 64)).not.toThrow();
    expect(() => checkVocabMatchesModel(tok, 50257, 'w')).toThrow(
      new RegExp(
        `^w: the model's vocab_size is 50257, but its tokenizer files \\(vocab\\.json\\) have ${tok.vocabSize} tokens$`,
      ),
    );
    expect(() => checkVocabMatchesModel(full, 1000, 'w', 64)).toThrow(
      /the model's vocab_size is 1000, but its tokenizer, GPT-2's, has 50257 tokens \(50304 padded to a multiple of 64\)/,
    );
  });
});
