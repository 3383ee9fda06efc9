// Types shared by the data builder, the user-data loader and the batcher.
import { EOT_TEXT } from '../io/tokenizer.ts';

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

export function qaExample(question: string, answer: string, extra: Partial<Example> = {}): Example {
  const prompt = `Q: ${question.trim()}\nA:`;
  const a = answer.trim();
  return { kind: 'qa', text: `${prompt} ${a}${EOT_TEXT}`, prompt, answer: a, ...extra };
}

/**
 * The example with its question typed in lower case, as people often type (`eval --lower-case`):
 * every "Q:" line of the prompt lower-cased, the markers, earlier answers and the answer kept.
 */
export function lowerCaseQuestion(e: Example): Example {
  if (e.kind !== 'qa' || !e.prompt) return e;
  const prompt = e.prompt.replace(/^Q: (.*)$/gm, (_, q: string) => `Q: ${q.toLowerCase()}`);
  return { ...e, prompt, text: prompt + e.text.slice(e.prompt.length) };
}

export function textExample(text: string, extra: Partial<Example> = {}): Example {
  const t = text.trim();
  return { kind: 'text', text: t.endsWith(EOT_TEXT) ? t : `${t}${EOT_TEXT}`, ...extra };
}
