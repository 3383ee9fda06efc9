// Moving a GPT2 between the GPU and Hugging Face's layout on disk.
import { gpu } from '../gpu/runtime.ts';
import { checkCheckpointFiles } from '../io/files.ts';
import { loadHF, readHFConfig, saveHF } from '../io/hf.ts';
import { checkVocabMatchesModel, getTokenizer, type Tokenizer } from '../io/tokenizer.ts';
import { CONFIGS, paramCount, type GPT2Config } from './config.ts';
import { GPT2 } from './gpt2.ts';

/** Round the vocabulary up to a multiple of 64 (tile-friendly rows for wte and the logits). */
export function padVocab(c: GPT2Config, multiple = 64): GPT2Config {
  return { ...c, padded_vocab_size: Math.ceil(c.vocab_size / multiple) * multiple };
}

/**
 * The flat parameter buffer (and each of its gradient and AdamW copies) must fit one device
 * buffer: checked from the config alone, before any weight is read or allocated.
 */
export function checkParamsFit(c: GPT2Config, source: string, maxBuffer = gpu().device.limits.maxBufferSize): void {
  const bytes =
    4 * (paramCount({ ...c, vocab_size: Math.max(c.vocab_size, c.padded_vocab_size) }) + 64 * (4 + 12 * c.n_layer));
  if (bytes > maxBuffer) {
    throw new Error(
      `${source}: ${c.n_layer} layers × ${c.n_embd} wide with a vocabulary of ${c.vocab_size} is ${(paramCount(c) / 1e6).toFixed(0)}M parameters, ` +
        `${(bytes / 2 ** 30).toFixed(1)} GiB in one buffer, over this device's ${(maxBuffer / 2 ** 30).toFixed(1)} GiB buffer limit`,
    );
  }
}

/**
 * Load a model from an HF directory (config.json + model.safetensors) onto the GPU: its files
 * checked to be regular files and its size against the device before anything is read.
 */
export function loadModel(dir: string, o: { padVocab?: boolean } = {}): GPT2 {
  checkCheckpointFiles(dir);
  checkParamsFit(padVocab(readHFConfig(dir).config), dir);
  const { config: raw, tensors } = loadHF(dir);
  const config = o.padVocab === false ? raw : padVocab(raw);
  const model = GPT2.empty(config);
  for (const s of model.params.specs) {
    const t = tensors.get(s.name);
    if (!t) throw new Error(`${dir}: missing tensor ${s.name}`);
    if (s.name === 'wte.weight' && config.padded_vocab_size !== config.vocab_size) {
      const padded = new Float32Array(config.padded_vocab_size * config.n_embd);
      padded.set(t.data);
      model.params.set(s.name, padded);
    } else model.params.set(s.name, t.data);
  }
  return model;
}

/**
 * A model and the tokenizer its directory carries (GPT-2's when it has none); a compact
 * vocabulary must match the model's vocab_size (a one-line error names both sizes).
 */
export function loadModelAndTokenizer(dir: string): { model: GPT2; tok: Tokenizer } {
  checkCheckpointFiles(dir);
  const tok = getTokenizer(dir);
  const model = loadModel(dir);
  if (tok.gpt2Ids) checkVocabMatchesModel(tok, model.config.vocab_size, dir);
  return { model, tok };
}

/** Read every parameter back, in the HF layout (wte trimmed to the real vocabulary). */
export async function modelTensors(model: GPT2): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const c = model.config;
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const all = await model.params.values.toArray();
  for (const s of model.params.specs) {
    const off = model.params.offsets.get(s.name)!;
    let shape = s.shape;
    if (s.name === 'wte.weight') shape = [c.vocab_size, c.n_embd];
    const n = shape.reduce((a, b) => a * b, 1);
    out.set(s.name, { shape, data: all.slice(off, off + n) });
  }
  return out;
}

/** Export in the HF layout (config.json + model.safetensors), atomically. */
export async function saveModel(model: GPT2, dir: string) {
  saveHF(dir, model.config, await modelTensors(model));
}

/** A named config or a fresh model with optional overrides. */
export function configFor(name: keyof typeof CONFIGS, over: Partial<GPT2Config> = {}): GPT2Config {
  const base = CONFIGS[name];
  const c = { ...base, ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)) } as GPT2Config;
  if (c.n_embd % c.n_head) throw new Error(`n_embd ${c.n_embd} is not divisible by n_head ${c.n_head}`);
  if (c.padded_vocab_size < c.vocab_size) c.padded_vocab_size = padVocab(c).padded_vocab_size;
  return c;
}
