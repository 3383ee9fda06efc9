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

/** Throws one line if `file` exists and is not a regular file (symlinks are followed). */
export function checkRegularFile(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return; // missing: the reader says what it needed
  }
  if (!st.isFile()) throw new Error(`${file}: not a regular file${st.isDirectory() ? ' (a directory)' : ''}`);
}

/** checkRegularFile for each of CHECKPOINT_FILES in `dir`. */
export function checkCheckpointFiles(dir: string): void {
  for (const f of CHECKPOINT_FILES) checkRegularFile(path.join(dir, f));
}
