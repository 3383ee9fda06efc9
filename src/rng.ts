// The project's one seeded generator: mulberry32, uniform in [0, 1). Weight init, sampling, the
// data builder, the autotuner's operands, the bench and the tests all draw from it, so a seed
// means the same stream everywhere. No Math.random in src/.

/** A seeded uniform generator in [0, 1) (mulberry32). */
export function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
