// Seeded randomness for the data builder: a string hash and the project's generator (src/rng.ts).
// No Math.random anywhere in src/data, so every build, split and epoch order is a pure function of
// its seed.
import { uniform } from '../rng.ts';

/** 32-bit FNV-1a over the parts joined with '\u0001', then a final avalanche. */
export function hash32(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  const s = parts.join('\u0001');
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class Rng {
  private u: () => number;
  constructor(seed: number) {
    this.u = uniform(seed);
  }
  static of(...parts: (string | number)[]): Rng {
    return new Rng(hash32(...parts));
  }
  /** uniform in [0, 1) */
  next(): number {
    return this.u();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** Fisher–Yates, in place; returns the array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i];
      xs[i] = xs[j];
      xs[j] = t;
    }
    return xs;
  }
  /** k distinct elements in random order (all of them, shuffled, when k ≥ length). */
  sample<T>(xs: readonly T[], k: number): T[] {
    return this.shuffle(xs.slice()).slice(0, Math.max(0, k));
  }
}
