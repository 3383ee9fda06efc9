// The motivating failure, the one this project exists to fix. A student's 35M-parameter GPT,
// trained from scratch for 11 epochs, had a fine validation perplexity (7.65) but answered "What
// is Impressionism?" with "the cochlea"; its top next tokens after the first prompt below were
// " the" (6.01), " an" (5.55), " a" (3.71). These are its two questions, stated once: the prompts
// in the training data's "Q: …\nA:" format (for the trainer's probes, the probe's default, the
// diagnosis and the report) and the WordNet entities they ask about (always in the embedded
// training data). ("Seed" in this project means a random seed only.)
const MOTIVATING_QUESTIONS = [
  { prompt: 'Q: What is Impressionism?\nA:', entity: 'impressionism' },
  { prompt: 'Q: Who was Vincent van Gogh?\nA:', entity: 'vincent van gogh' },
];

export const MOTIVATING_PROMPTS: readonly string[] = MOTIVATING_QUESTIONS.map((q) => q.prompt);
/** the entity keys of src/data (lower-case names) */
export const MOTIVATING_ENTITIES: readonly string[] = MOTIVATING_QUESTIONS.map((q) => q.entity);
