// src/data: the WordNet-built default data, user data, batching. CPU only.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Dataset,
  type Example,
  buildDataset,
  encodeExamples,
  formatStats,
  loadBatchFile,
  loadDataset,
  loadUserData,
  lowerCaseQuestion,
  makeEpoch,
  packEpoch,
  qaExample,
  textExample,
} from '../src/data/index.ts';
import { namesOf } from '../src/data/build.ts';
import { getTokenizer } from '../src/io/tokenizer.ts';
import { parsePersonGloss } from '../src/data/gloss.ts';
import { FILLERS, INTENTS, LOWER_CASE_RATE, noisy } from '../src/data/render.ts';
import { Rng } from '../src/data/rng.ts';

const tok = getTokenizer();

let dir: string;
let art: Dataset;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'data-test-'));
  art = buildDataset({ mix: 'art' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const findQA = (ds: Dataset, q: string) => ds.train.find((x) => x.kind === 'qa' && x.prompt === `Q: ${q}\nA:`);

describe('WordNet art data', () => {
  it('builds deterministically, and the cached copy equals a fresh build', async () => {
    const again = buildDataset({ mix: 'art', memo: false });
    expect(again.train).toEqual(art.train);
    expect(again.val).toEqual(art.val);
    expect(again.heldOut).toEqual(art.heldOut);
    const first = await loadDataset({ mix: 'art', cacheDir: dir, tokenizer: tok });
    expect(first.cached).toBe(false);
    expect(first.path).toMatch(/data-art-s1234-v\d+-[0-9a-f]{8}\.json$/);
    const second = await loadDataset({ mix: 'art', cacheDir: dir });
    expect(second.cached).toBe(true);
    expect(second.train).toEqual(art.train);
    expect(second.val).toEqual(art.val);
    expect(second.stats.train.tokens).toBe(first.stats.train.tokens);
    console.log(formatStats(first.stats));
    // another seed gives other held-out entities and other phrasings
    const other = buildDataset({ mix: 'art', seed: 7 });
    expect(other.heldOut.entities).not.toEqual(art.heldOut.entities);
  });

  it('keeps validation disjoint from training', () => {
    const trainText = new Set(art.train.map((x) => x.text));
    for (const x of [...art.val.phrasings, ...art.val.entities]) expect(trainText.has(x.text), x.text).toBe(false);
    // held-out phrasings: no validation question is asked in training, no template is shared
    const trainQ = new Set(art.train.filter((x) => x.kind === 'qa').map((x) => x.prompt));
    for (const x of art.val.phrasings) expect(trainQ.has(x.prompt), x.prompt).toBe(false);
    const trainTemplates = new Set(art.train.map((x) => x.template).filter(Boolean));
    for (const t of art.heldOut.phrasings) expect(trainTemplates.has(t), t).toBe(false);
    // held-out entities: none of their names occurs in any training example
    expect(art.heldOut.entities.length).toBeGreaterThanOrEqual(10);
    const hay = art.train.map((x) => x.text).join('\n');
    for (const name of art.heldOut.entities) {
      expect(new RegExp(`(^|[^A-Za-z0-9])${escapeRe(name)}($|[^A-Za-z0-9])`, 'i').test(hay), name).toBe(false);
    }
    const heldKeys = new Set(art.val.entities.map((x) => x.entity));
    for (const x of art.train) expect(heldKeys.has(x.entity), x.entity).toBe(false);
    expect(art.val.phrasings.length).toBeGreaterThan(200);
    expect(art.val.entities.some((x) => x.kind === 'qa') && art.val.entities.some((x) => x.kind === 'text')).toBe(true);
  });

  it('answers the motivating questions from the glosses', () => {
    const imp = findQA(art, 'What is Impressionism?');
    expect(imp).toBeDefined();
    expect(imp!.answer).toContain(
      'a school of late 19th century French painters who pictured appearances by strokes of unmixed colors to give the impression of reflected light',
    );
    expect(imp!.text).toBe(`${imp!.prompt} ${imp!.answer}<|endoftext|>`);
    const vg = findQA(art, 'Who was Vincent van Gogh?');
    expect(vg).toBeDefined();
    expect(vg!.answer).toMatch(/^Vincent van Gogh was a Dutch Post-impressionist painter/);
    expect(vg!.answer).toContain('1853');
    expect(vg!.answer).toContain('1890');
    expect(findQA(art, 'What was Vincent van Gogh known for?')!.answer).toContain('his use of color');
    expect(findQA(art, 'Where was Vincent van Gogh from?')!.answer).toMatch(/Dutch|Netherlands/);
    // prose joins the facts too
    expect(
      art.train.some((x) => x.kind === 'text' && x.text.includes('Vincent van Gogh') && x.text.includes('1853')),
    ).toBe(true);
    expect(
      art.train.some((x) => x.kind === 'text' && /Impressionism (is|was) a school of late 19th century/.test(x.text)),
    ).toBe(true);
  });

  it('asks in many phrasings, and states sane statistics', () => {
    const templates = new Set(
      art.train.filter((x) => x.kind === 'qa' && !x.template!.startsWith('group.')).map((x) => x.template),
    );
    expect(templates.size).toBeGreaterThanOrEqual(10);
    expect(art.heldOut.phrasings.length).toBeGreaterThanOrEqual(5);
    for (const t of [
      'What is {X}?',
      'Tell me about {N}.',
      'Who {be} {X}?',
      'What {be} {X} known for?',
      'Define {N}.',
      'What kind of art is {X}?',
      'Explain {N}.',
      'What does the term {N} mean?',
      'Describe {X}.',
      'When did {X} live?',
      'Where {be} {X} from?',
    ]) {
      expect(templates.has(t), t).toBe(true);
    }
    const s = art.stats;
    expect(s.entities.total).toBeGreaterThanOrEqual(500);
    expect(s.entities.byKind.person).toBeGreaterThanOrEqual(150);
    expect(s.entities.byKind.movement).toBeGreaterThanOrEqual(25);
    expect(s.train.qa).toBe(art.train.filter((x) => x.kind === 'qa').length);
    expect(s.train.passages).toBeGreaterThan(500);
    expect(s.train.qa).toBeGreaterThan(s.train.passages);
    for (const x of art.train) {
      expect(x.text.endsWith('<|endoftext|>')).toBe(true);
      expect(x.text.indexOf('<|endoftext|>')).toBe(x.text.length - 13);
      expect(x.text).not.toMatch(/undefined|NaN|\{[A-Za-z]+\}|\s\s|[^.]\.\.[^.]/);
    }
  });

  it('builds the core mix: the most connected art entities, each in many passages and phrasings', () => {
    const core = buildDataset({ mix: 'core' });
    const trained = new Set(core.train.map((x) => x.entity).filter((k) => k && !k.startsWith('group:')));
    for (const k of ['impressionism', 'vincent van gogh', 'claude monet', 'pablo picasso', 'cubism', 'renaissance'])
      expect(trained.has(k), k).toBe(true);
    expect(trained.size).toBeGreaterThan(50);
    expect(trained.size).toBeLessThan(art.stats.entities.total / 4);
    for (const k of trained) {
      const xs = core.train.filter((x) => x.entity === k);
      const passages = new Set(xs.filter((x) => x.kind === 'text').map((x) => x.text));
      expect(passages.size, k).toBeGreaterThanOrEqual(2); // its facts told in more than one passage
      expect(xs.filter((x) => x.kind === 'qa').length, k).toBeGreaterThanOrEqual(5);
    }
    // held-out phrasings: every trained entity is asked in some, none of them is a training question
    const trainQ = new Set(core.train.filter((x) => x.kind === 'qa').map((x) => x.prompt));
    for (const x of core.val.phrasings) expect(trainQ.has(x.prompt), x.prompt).toBe(false);
    const asked = new Set(core.val.phrasings.map((x) => x.entity));
    for (const k of trained) expect(asked.has(k), k).toBe(true);
    // an entity's text is the same whatever the mix: the core's first rendering is the art mix's
    const monet = (ds: Dataset) =>
      ds.train.filter((x) => x.entity === 'claude monet' && x.kind === 'text').map((x) => x.text);
    expect(monet(core).slice(0, monet(art).length)).toEqual(monet(art));
  });

  it('lower-cases the questions of QA examples and nothing else', () => {
    const e = lowerCaseQuestion(qaExample('Who was Claude Monet?', 'Claude Monet was a French painter.'));
    expect(e.prompt).toBe('Q: who was claude monet?\nA:');
    expect(e.text).toBe('Q: who was claude monet?\nA: Claude Monet was a French painter.<|endoftext|>');
    expect(e.answer).toBe('Claude Monet was a French painter.');
    // a conversation: every question, no answer
    const c: Example = {
      kind: 'qa',
      prompt: 'Q: Who?\nA: Monet.\nQ: When?\nA:',
      answer: '1840.',
      text: 'Q: Who?\nA: Monet.\nQ: When?\nA: 1840.',
    };
    expect(lowerCaseQuestion(c).prompt).toBe('Q: who?\nA: Monet.\nQ: when?\nA:');
    expect(lowerCaseQuestion(c).text).toBe('Q: who?\nA: Monet.\nQ: when?\nA: 1840.');
    const t = textExample('Claude Monet painted Water Lilies.');
    expect(lowerCaseQuestion(t)).toBe(t);
  });

  it('makes noisy copies of questions that keep the name and add only fillers', () => {
    const templateWords = new Set(
      INTENTS.flatMap((i) => [...i.train, ...i.val])
        .join(' ')
        .toLowerCase()
        .match(/[a-z']+/g),
    );
    for (const f of FILLERS) expect(templateWords.has(f), f).toBe(false);
    const q = 'What was the birth year of Vincent van Gogh?';
    const words = new Set(q.toLowerCase().match(/[a-z']+/g));
    const seen = new Set<string>();
    let lower = 0;
    for (let seed = 0; seed < 200; seed++) {
      const n = noisy(q, 'Vincent van Gogh', new Rng(seed));
      // the name as given, or in lower case (its first letter capitalised where it opens the question)
      const name = ['Vincent van Gogh', 'vincent van gogh', 'Vincent van gogh'].find((x) => n.includes(x));
      expect(name, n).toBeDefined();
      if (name !== 'Vincent van Gogh') {
        lower++;
        expect(n, 'a lower-case copy is lower case throughout').toBe(n.toLowerCase());
      }
      for (const w of n
        .replace(name!, '')
        .toLowerCase()
        .match(/[a-z']+/g) ?? [])
        expect(words.has(w) || FILLERS.includes(w), `${w} in ${n}`).toBe(true);
      seen.add(n);
    }
    expect(seen.size).toBeGreaterThan(150); // mostly different copies
    // LOWER_CASE_RATE of them in lower case (binomial: 200 draws, sd about 7)
    expect(Math.abs(lower - 200 * LOWER_CASE_RATE)).toBeLessThan(30);
    expect(seen.has(q)).toBe(false); // at least one filler is always inserted
    // a name the data keeps in lower case is often capitalised, as people type it ("What is Cubism?")
    let capital = 0;
    for (let seed = 0; seed < 200; seed++) {
      const n = noisy('What do you know about cubism?', 'cubism', new Rng(seed));
      expect(n, 'the name in one of its two cases').toMatch(/\b(cubism|Cubism)\b/);
      if (/\S Cubism/.test(n)) capital++; // capitalised inside the question, not only as its first word
    }
    expect(capital).toBeGreaterThan(30);
    expect(capital).toBeLessThan(110);
    // a possessive stays attached to the name
    expect(noisy("What was Degas's job?", 'Degas', new Rng(3))).toMatch(/degas's/i);
    // a name the question does not hold is an error, not a copy with the name noised away
    expect(() => noisy('Painting is a type of what?', 'painting', new Rng(1))).toThrow(/"painting" does not occur/);
    expect(() => noisy('What is art?', '', new Rng(1))).toThrow(/does not occur/);
    // in the built core data, a question that starts with a lower-case name (capitalised there) keeps it
    const core = buildDataset({ mix: 'core' });
    const typeOf = core.train.filter((x) => x.kind === 'qa' && x.entity === 'painting' && /type/.test(x.prompt!));
    expect(typeOf.length).toBeGreaterThan(2);
    for (const x of typeOf) expect(x.prompt!, x.prompt).toMatch(/[Pp]ainting/);
    for (const x of core.train) if (x.kind === 'qa') expect(x.prompt!, x.prompt).not.toMatch(/ {2}/);
  });

  it('builds the general and mixed mixes', () => {
    const general = buildDataset({ mix: 'general' });
    const mixed = buildDataset({ mix: 'mixed' });
    console.log(formatStats(general.stats));
    console.log(formatStats(mixed.stats));
    expect(general.stats.entities.art).toBe(0);
    expect(general.stats.entities.total).toBeGreaterThanOrEqual(art.stats.entities.total);
    expect(general.stats.entities.byKind.person).toBeGreaterThan(100);
    expect(general.stats.train.qa).toBeGreaterThan(art.stats.train.qa);
    expect(mixed.stats.entities.art).toBe(art.stats.entities.total);
    expect(mixed.stats.entities.general).toBe(general.stats.entities.total);
    expect(findQA(mixed, 'What is Impressionism?')).toBeDefined();
    expect(findQA(general, 'What is Impressionism?')).toBeUndefined();
    // an art entity's own text is the same in the art and the mixed mix
    const vg = (ds: Dataset) => ds.train.filter((x) => x.entity === 'vincent van gogh').map((x) => x.text);
    expect(vg(mixed)).toEqual(vg(art));
    const hay = mixed.train.map((x) => x.text.toLowerCase()).join('\n');
    for (const n of mixed.heldOut.entities)
      expect(new RegExp(`(^|[^a-z0-9])${escapeRe(n.toLowerCase())}($|[^a-z0-9])`).test(hay), n).toBe(false);
  });

  it('parses person glosses', () => {
    const p = parsePersonGloss('Dutch Post-impressionist painter noted for his use of color (1853-1890)');
    expect(p).toMatchObject({
      nationality: 'Dutch',
      country: 'the Netherlands',
      head: 'Dutch Post-impressionist painter',
      pronoun: 'he',
      living: false,
    });
    expect(p.life).toMatchObject({ born: '1853', died: '1890' });
    expect(p.knownFor).toBe('was noted for his use of color');
    const q = parsePersonGloss(
      'United States painter (born in the Netherlands) who was a leading American exponent of abstract expressionism (1904-1997)',
    );
    expect(q).toMatchObject({
      nationality: 'United States',
      nationalityAdj: 'American',
      birthplace: 'the Netherlands',
    });
    expect(q.predicates[0]).toBe('was a leading American exponent of abstract expressionism');
    const r = parsePersonGloss('Greek sculptor (4th century BC)');
    expect(r.life?.century).toBe('4th century BC');
    expect(parsePersonGloss('ancient Greek sculptor (370-330 BC)').life).toMatchObject({
      born: '370 BC',
      died: '330 BC',
    });
    expect(parsePersonGloss('United States pop artist (born 1928)')).toMatchObject({
      living: true,
      life: { born: '1928' },
    });
    expect(namesOf({ name: 'Vincent van Gogh', short: 'van Gogh', aliases: [] } as never)).toEqual([
      'Vincent van Gogh',
      'van Gogh',
    ]);
  });
});

describe('user data', () => {
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('parses .txt passages and every .jsonl record type', () => {
    const txt = write('a.txt', 'First passage\nstill first.\n\n\nSecond passage.\n  \nThird.\n');
    const jsonl = write(
      'b.jsonl',
      [
        JSON.stringify({ text: 'Some prose.' }),
        '',
        JSON.stringify({ question: 'What is fresco?', answer: 'A mural painted on wet plaster.' }),
        JSON.stringify({ prompt: 'Who painted the Sistine Chapel ceiling?', completion: 'Michelangelo.' }),
        JSON.stringify({
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hi?' },
            { role: 'assistant', content: 'Hello.' },
            { role: 'user', content: 'What is cubism?' },
            { role: 'assistant', content: 'An art movement.' },
          ],
        }),
      ].join('\n'),
    );
    const ex = loadUserData([txt, jsonl]);
    expect(ex.map((x) => x.kind)).toEqual(['text', 'text', 'text', 'text', 'qa', 'qa', 'qa']);
    expect(ex[0].text).toBe('First passage\nstill first.<|endoftext|>');
    expect(ex[4]).toMatchObject({
      prompt: 'Q: What is fresco?\nA:',
      answer: 'A mural painted on wet plaster.',
      text: 'Q: What is fresco?\nA: A mural painted on wet plaster.<|endoftext|>',
    });
    expect(ex[5].prompt).toBe('Q: Who painted the Sistine Chapel ceiling?\nA:');
    expect(ex[6]).toMatchObject({ prompt: 'Q: Hi?\nA: Hello.\nQ: What is cubism?\nA:', answer: 'An art movement.' });
  });

  it('takes a 60,000-letter word: the tokenizer cuts it into pieces it encodes quickly', () => {
    const word = Array.from({ length: 60_000 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz'[(i * 7919) % 26]).join('');
    const ex = loadUserData([write('long.txt', `fine\n\n${word}\n`)]);
    expect(ex.map((e) => e.text)).toEqual(['fine<|endoftext|>', `${word}<|endoftext|>`]);
    const t0 = performance.now();
    const [, long] = encodeExamples(ex, tok);
    expect(performance.now() - t0).toBeLessThan(20_000); // hours before the cut
    expect(tok.decode(Array.from(long.tokens))).toBe(`${word}<|endoftext|>`);
  });

  it('fails with one line naming the file and line', () => {
    const bad = write(
      'bad.jsonl',
      `${JSON.stringify({ text: 'ok' })}\n${JSON.stringify({ question: 'q', answer: 'a' })}\n{"question": "no answer"\n`,
    );
    expect(() => loadUserData([bad])).toThrow(new RegExp(`^${escapeRe(bad)}:3: invalid JSON`));
    const wrong = write('wrong.jsonl', `${JSON.stringify({ text: 'ok' })}\n${JSON.stringify({ foo: 1 })}\n`);
    expect(() => loadUserData([wrong])).toThrow(new RegExp(`${escapeRe(wrong)}:2: unknown record`));
    const emptyAnswer = write('ea.jsonl', `${JSON.stringify({ question: 'q', answer: ' ' })}\n`);
    expect(() => loadUserData([emptyAnswer])).toThrow(/ea\.jsonl:1: "answer" is empty/);
    const chat = write('chat.jsonl', `${JSON.stringify({ messages: [{ role: 'user', content: 'q' }] })}\n`);
    expect(() => loadUserData([chat])).toThrow(/chat\.jsonl:1: "messages" must end with an assistant message/);
    expect(() => loadUserData([join(dir, 'missing.txt')])).toThrow(/missing\.txt: no such file/);
    expect(() => loadUserData([write('empty.jsonl', '\n \n')])).toThrow(/empty\.jsonl: file is empty/);
    expect(() => loadUserData([write('x.csv', 'a,b')])).toThrow(/x\.csv: unsupported file type/);
    // a UTF-8 byte-order mark (Windows editors write one) is accepted
    expect(loadUserData([write('bom.jsonl', `\uFEFF${JSON.stringify({ text: 'ok' })}\n`)])).toHaveLength(1);
    try {
      loadUserData([bad]);
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  });
});

describe('batching', () => {
  const examples: Example[] = [
    qaExample('What is Impressionism?', 'Impressionism is a school of late 19th century French painters.'),
    textExample('Vincent van Gogh (1853-1890) was a Dutch Post-impressionist painter.'),
    qaExample('Who was Claude Monet?', 'Claude Monet was a French impressionist painter.'),
    ...Array.from({ length: 40 }, (_, i) => textExample(`Passage number ${i} about painting and sculpture.`)),
    textExample(Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ')),
  ];

  it('puts loss weights on answer tokens only (lossOn answer), on all tokens otherwise', () => {
    const [qa] = encodeExamples([examples[0]], tok);
    const p = tok.encode('Q: What is Impressionism?\nA:');
    const a = tok.encode(' Impressionism is a school of late 19th century French painters.');
    expect(Array.from(qa.tokens)).toEqual([...p, ...a, tok.eot]);
    expect(Array.from(qa.weights)).toEqual([...p.map(() => 0), ...a.map(() => 1), 1]);
    // the concatenation tokenizes like the whole text
    expect(Array.from(qa.tokens)).toEqual([...tok.encode(examples[0].text.replace('<|endoftext|>', '')), tok.eot]);
    const [all] = encodeExamples([examples[0]], tok, 'all');
    expect(all.weights.every((w) => w === 1)).toBe(true);
    const [txt] = encodeExamples([examples[1]], tok);
    expect(txt.weights.every((w) => w === 1)).toBe(true);
    expect(txt.tokens[txt.tokens.length - 1]).toBe(tok.eot);

    // packed alone: the weighted targets are exactly the answer tokens and the final eot
    const [b] = makeEpoch([examples[0]], tok, { T: 64, B: 2, seed: 1, epoch: 0 });
    const targets: number[] = [];
    for (let t = 0; t < b.T; t++) if (b.weights[t]) targets.push(b.tokens[t + 1]);
    expect(targets).toEqual([...a, tok.eot]);
    expect(b.tokens[0]).toBe(tok.eot);
    // the second row is empty padding
    expect(Array.from(b.tokens.subarray(65, 130)).every((x) => x === tok.eot)).toBe(true);
    expect(Array.from(b.weights.subarray(64)).every((x) => x === 0)).toBe(true);
  });

  it('packs rows of T+1 tokens in a deterministic order per (seed, epoch)', () => {
    const T = 32;
    const B = 4;
    const seqs = encodeExamples(examples, tok);
    const e1 = packEpoch(seqs, { T, B, seed: 5, epoch: 1, eot: tok.eot });
    const e1b = packEpoch(seqs, { T, B, seed: 5, epoch: 1, eot: tok.eot });
    const e2 = packEpoch(seqs, { T, B, seed: 5, epoch: 2, eot: tok.eot });
    expect(e1).toEqual(e1b);
    expect(e1.map((b) => Array.from(b.tokens))).not.toEqual(e2.map((b) => Array.from(b.tokens)));
    for (const b of e1) {
      expect(b.tokens.length).toBe(B * (T + 1));
      expect(b.weights.length).toBe(B * T);
      for (const w of b.weights) expect(w === 0 || w === 1).toBe(true);
    }
    // every target of every sequence is in some row exactly once: the weight total matches
    const want = seqs.reduce((s, q) => s + q.weights.reduce((a, w) => a + w, 0), 0);
    const got = (bs: typeof e1) => bs.reduce((s, b) => s + b.weights.reduce((a, w) => a + w, 0), 0);
    expect(got(e1)).toBe(want);
    expect(got(e2)).toBe(want);
    // the 60-word passage is longer than T and spans rows
    expect(seqs[seqs.length - 1].tokens.length).toBeGreaterThan(T);
  });

  it('packs the built dataset', () => {
    const sub = art.train.slice(0, 300);
    const bs = makeEpoch(sub, tok, { T: 128, B: 8, seed: 1, epoch: 0 });
    const fill = bs.reduce((s, b) => s + b.tokens.filter((x) => x !== tok.eot).length, 0) / (bs.length * 8 * 129);
    expect(fill).toBeGreaterThan(0.8);
  });

  it('loads a batch file and rejects bad ones naming the file and row', () => {
    const ok = join(dir, 'ok.json');
    writeFileSync(
      ok,
      JSON.stringify({
        tokens: [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
        ],
      }),
    );
    const b = loadBatchFile(ok, 50257);
    expect(b).toMatchObject({ B: 2, T: 3 });
    expect(Array.from(b.tokens)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(b.weights)).toEqual([1, 1, 1, 1, 1, 1]);
    const bad = (name: string, data: unknown) => {
      const p = join(dir, name);
      writeFileSync(p, JSON.stringify(data));
      return () => loadBatchFile(p, 50257, 16);
    };
    expect(
      bad('ragged.json', {
        tokens: [
          [1, 2, 3],
          [1, 2],
        ],
      }),
    ).toThrow(/ragged\.json: row 1: has 2 tokens, row 0 has 3/);
    expect(
      bad('float.json', {
        tokens: [
          [1, 2, 3],
          [1, 2.5, 3],
        ],
      }),
    ).toThrow(/float\.json: row 1, position 1: 2\.5 is not an integer/);
    expect(bad('big.json', { tokens: [[1, 2, 50257]] })).toThrow(
      /big\.json: row 0, position 2: token id 50257 is outside the vocabulary/,
    );
    expect(bad('neg.json', { tokens: [[-1, 2]] })).toThrow(/neg\.json: row 0, position 0/);
    expect(bad('long.json', { tokens: [Array.from({ length: 18 }, () => 1)] })).toThrow(
      /long\.json: .*exceeds the model's context 16/,
    );
    expect(bad('shape.json', { rows: [] })).toThrow(/shape\.json: expected \{"tokens"/);
  });
});
