// Answer scoring: keyword recall, its shuffled baseline (what a constant answer cannot beat), the
// lift above it and the on-topic share. Pure functions: no GPU.
import { describe, expect, it } from 'vitest';
import { keywordRecall, scoreAnswers, type QAItem } from '../src/train/evaluate.ts';

const items: QAItem[] = [
  {
    prompt: 'Q: Who was Claude Monet?\nA:',
    answer: 'Claude Monet was a French impressionist painter.',
    entity: 'claude monet',
  },
  { prompt: 'Q: When did Monet live?\nA:', answer: 'Claude Monet lived from 1840 to 1926.', entity: 'claude monet' },
  {
    prompt: 'Q: Who was Vincent van Gogh?\nA:',
    answer: 'Vincent van Gogh was a Dutch Post-impressionist painter noted for his use of color.',
    entity: 'vincent van gogh',
  },
  {
    prompt: 'Q: What is Cubism?\nA:',
    answer: 'An artistic movement in France beginning in 1907 that featured surfaces of geometrical planes.',
    entity: 'cubism',
  },
  { prompt: 'Q: What is a fresco?\nA:', answer: 'A mural done with watercolors on wet plaster.', entity: 'fresco' },
];

describe('answer scoring', () => {
  it('a constant answer scores exactly its shuffled baseline, whatever it says', () => {
    for (const constant of [
      'A French painter.',
      'a painter of the 19th century',
      'Claude Monet was a French impressionist painter.',
      '',
    ]) {
      const s = scoreAnswers(
        items,
        items.map(() => constant),
      );
      expect(s.lift).toBeCloseTo(0, 12);
      expect(s.recall).toBeCloseTo(s.baseline, 12);
    }
  });

  it('the reference answers themselves score recall 1, a lift near 1 and are all on topic', () => {
    const s = scoreAnswers(
      items,
      items.map((it) => it.answer),
    );
    expect(s.recall).toBe(1);
    expect(s.lift).toBeGreaterThan(0.8);
    expect(s.onTopic).toBe(1);
    expect(s.perItem.every((p) => p.onTopic)).toBe(true);
  });

  it('answers about the wrong entity are off topic, and shuffled answers score near the baseline', () => {
    const shifted = items.map((_, i) => items[(i + 2) % items.length].answer);
    const s = scoreAnswers(items, shifted);
    expect(s.onTopic).toBe(0);
    expect(s.lift).toBeLessThan(0.05);
    // the baseline counts only other entities: Monet's two answers swapped stay on topic
    const swapped = [items[1].answer, items[0].answer, ...items.slice(2).map((it) => it.answer)];
    const w = scoreAnswers(items, swapped);
    expect(w.perItem[0].onTopic && w.perItem[1].onTopic).toBe(true);
  });

  it('keyword recall ignores case, punctuation and function words', () => {
    expect(keywordRecall('the FRENCH, impressionist', 'A French impressionist painter.')).toBeCloseTo(2 / 3, 12);
    expect(keywordRecall('anything', 'the of a')).toBe(1);
  });
});
