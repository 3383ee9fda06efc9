// The user's own training data: .txt prose and .jsonl records.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { type Example, qaExample, textExample } from './types.ts';

const SHAPES = 'expected {"text"}, {"question","answer"}, {"prompt","completion"} or {"messages":[{"role","content"}]}';

function str(v: unknown): v is string {
  return typeof v === 'string';
}

/** One .jsonl record → an example; throws a message without the file/line prefix. */
function parseRecord(rec: unknown): Example {
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) throw new Error(`not a JSON object; ${SHAPES}`);
  const r = rec as Record<string, unknown>;
  const nonEmpty = (k: string) => {
    if (!str(r[k])) throw new Error(`"${k}" must be a string`);
    if (!(r[k] as string).trim()) throw new Error(`"${k}" is empty`);
    return r[k] as string;
  };
  if ('messages' in r) {
    const ms = r.messages;
    if (!Array.isArray(ms) || ms.length === 0) throw new Error('"messages" must be a non-empty array');
    // user → Q, assistant → A; earlier turns become part of the prompt, the last answer is the target
    const turns: string[] = [];
    let lastAnswer: string | undefined;
    let last: 'user' | 'assistant' | null = null;
    ms.forEach((m, i) => {
      if (m === null || typeof m !== 'object' || !str(m.role) || !str(m.content))
        throw new Error(`messages[${i}] must be {"role": string, "content": string}`);
      if (m.role === 'system') return;
      if (m.role !== 'user' && m.role !== 'assistant')
        throw new Error(`messages[${i}]: role "${m.role}" is not user, assistant or system`);
      if (!m.content.trim()) throw new Error(`messages[${i}]: content is empty`);
      if (m.role === 'user') {
        if (last === 'user') throw new Error(`messages[${i}]: two user messages in a row`);
        if (lastAnswer !== undefined) turns.push(`A: ${lastAnswer}`);
        lastAnswer = undefined;
        turns.push(`Q: ${m.content.trim()}`);
      } else {
        if (last !== 'user') throw new Error(`messages[${i}]: assistant message not preceded by a user message`);
        lastAnswer = m.content.trim();
      }
      last = m.role;
    });
    if (last !== 'assistant' || lastAnswer === undefined)
      throw new Error('"messages" must end with an assistant message');
    const prompt = `${turns.join('\n')}\nA:`;
    const answer: string = lastAnswer;
    return { kind: 'qa', text: `${prompt} ${answer}<|endoftext|>`, prompt, answer };
  }
  if ('question' in r || 'answer' in r) return qaExample(nonEmpty('question'), nonEmpty('answer'));
  if ('prompt' in r || 'completion' in r) return qaExample(nonEmpty('prompt'), nonEmpty('completion'));
  if ('text' in r) return textExample(nonEmpty('text'));
  throw new Error(`unknown record with keys ${JSON.stringify(Object.keys(r))}; ${SHAPES}`);
}

/**
 * Load user data. `.txt`: passages separated by blank lines, trained as plain text. `.jsonl`: one
 * record per line, {"text"} (plain text), {"question","answer"} and {"prompt","completion"} (QA,
 * formatted "Q: …\nA: …"), or chat {"messages":[{"role","content"}]} (user → Q, assistant → A,
 * system ignored; the last assistant message is the answer, earlier turns are prompt). Blank lines
 * are skipped. A missing or empty file, or a bad line, throws a one-line error naming the file and
 * the line.
 */
export function loadUserData(files: string[]): Example[] {
  const out: Example[] = [];
  for (const file of files) {
    let raw: string;
    try {
      raw = readFileSync(file, 'utf8').replace(/^\uFEFF/, ''); // (Windows editors write a BOM)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(
        `${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (e as Error).message})`}`,
      );
    }
    if (!raw.trim()) throw new Error(`${file}: file is empty`);
    const ext = extname(file).toLowerCase();
    if (ext === '.txt') {
      for (const p of raw.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/)) if (p.trim()) out.push(textExample(p.trim()));
    } else if (ext === '.jsonl') {
      const lines = raw.replace(/\r\n?/g, '\n').split('\n');
      lines.forEach((line, i) => {
        if (!line.trim()) return;
        let rec: unknown;
        try {
          rec = JSON.parse(line);
        } catch (e) {
          throw new Error(`${file}:${i + 1}: invalid JSON (${(e as Error).message.split('\n')[0]})`);
        }
        try {
          out.push(parseRecord(rec));
        } catch (e) {
          throw new Error(`${file}:${i + 1}: ${(e as Error).message}`);
        }
      });
    } else {
      throw new Error(`${file}: unsupported file type "${ext || '(none)'}" (use .txt or .jsonl)`);
    }
  }
  return out;
}
