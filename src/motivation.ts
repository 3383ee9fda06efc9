// The motivating failure, the one this project exists to fix. A student's 35M-parameter GPT,
// trained from scratch for 11 epochs, had a fine validation perplexity (7.65) but answered "What
// is Impressionism?" with "the cochlea"; its top next tokens after the first prompt below were
// " the" (6.01), " an" (5.55), " a" (3.71). These are its two questions, in the training data's
// "Q: …\nA:" format, stated once for the trainer's probes, the probe's default, the diagnosis and
// the report. ("Seed" in this project means a random seed only.)
export const MOTIVATING_PROMPTS: readonly string[] = [
  'Q: What is Impressionism?\nA:',
  'Q: Who was Vincent van Gogh?\nA:',
];
