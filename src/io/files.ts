// Only regular files are opened: open() on a FIFO blocks until something writes to it (probe and
// eval hung on a FIFO named config.json or vocab.json), and a directory or device is no checkpoint.
import fs from 'node:fs';
import path from 'node:path';

/** The files a model or checkpoint directory's readers may open (config, weights, tokenizer, trainer). */
export const CHECKPOINT_FILES = [
  'config.json',
  'model.safetensors',
  'model.safetensors.index.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.json',
  'trainer_state.json',
  'optimizer.safetensors',
];

/** Why `file` must not be opened ("not a regular file"), or undefined if it is one or is missing (symlinks are followed). */
export function notRegular(file: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return undefined; // missing: the reader says what it needed
  }
  return st.isFile() ? undefined : `not a regular file${st.isDirectory() ? ' (a directory)' : ''}`;
}

/** Throws one line if `file` exists and is not a regular file. */
export function checkRegularFile(file: string): void {
  const why = notRegular(file);
  if (why) throw new Error(`${file}: ${why}`);
}

/** checkRegularFile for each of CHECKPOINT_FILES in `dir`. */
export function checkCheckpointFiles(dir: string): void {
  for (const f of CHECKPOINT_FILES) checkRegularFile(path.join(dir, f));
}
