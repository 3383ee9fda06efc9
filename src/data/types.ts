// Types shared by the data builder, the user-data loader and the batcher.

export const EOT_TEXT = '<|endoftext|>';

export interface Example {
  kind: 'qa' | 'text';
  /** the full training text, ending in <|endoftext|> */
  text: string;
  /** qa: "Q: {question}\nA:" */
  prompt?: string;
  /** qa: the answer without the leading space (text = prompt + ' ' + answer + <|endoftext|>) */
  answer?: string;
  /** the entity the example is about (builder only) */
  entity?: string;
  /** qa: the question phrasing it was made from (builder only) */
  template?: string;
}

/** The tokenizer the batcher needs; GPT-2's r50k_base from js-tiktoken fits. */
export interface Tokenizer {
  encode(text: string): number[];
  /** the <|endoftext|> id */
  eot: number;
}

export function qaExample(question: string, answer: string, extra: Partial<Example> = {}): Example {
  const prompt = `Q: ${question.trim()}\nA:`;
  const a = answer.trim();
  return { kind: 'qa', text: `${prompt} ${a}${EOT_TEXT}`, prompt, answer: a, ...extra };
}

export function textExample(text: string, extra: Partial<Example> = {}): Example {
  const t = text.trim();
  return { kind: 'text', text: t.endsWith(EOT_TEXT) ? t : `${t}${EOT_TEXT}`, ...extra };
}

/** Tokens of a text in which literal <|endoftext|> markers become the eot id. */
export function encodeWithEot(tok: Tokenizer, text: string): number[] {
  const parts = text.split(EOT_TEXT);
  const out: number[] = [];
  parts.forEach((p, i) => {
    if (p.length) for (const t of tok.encode(p)) out.push(t);
    if (i < parts.length - 1) out.push(tok.eot);
  });
  return out;
}
