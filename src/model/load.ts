// Moving a GPT2 between the GPU and Hugging Face's layout on disk.
import { gpu } from '../gpu/runtime.ts';
import { checkCheckpointFiles } from '../io/files.ts';
import { loadHF, readHFConfig, saveHF, type LoadOptions } from '../io/hf.ts';
import { checkAdapterBase, loadAdapter, saveAdapter } from '../io/peft.ts';
import { checkVocabMatchesModel, getTokenizer, type Tokenizer } from '../io/tokenizer.ts';
import { CONFIGS, paramCount, type GPT2Config } from './config.ts';
import { GPT2 } from './gpt2.ts';
import { LoRA, mergeWeights, siteName, type LoraConfig } from './lora.ts';

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
export function loadModel(dir: string, o: LoadOptions & { padVocab?: boolean } = {}): GPT2 {
  checkCheckpointFiles(dir);
  checkParamsFit(padVocab(readHFConfig(dir).config), dir);
  const { config: raw, tensors } = loadHF(dir, o);
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
export function loadModelAndTokenizer(dir: string, o: LoadOptions = {}): { model: GPT2; tok: Tokenizer } {
  checkCheckpointFiles(dir);
  const tok = getTokenizer(dir);
  const model = loadModel(dir, o);
  if (tok.gpt2Ids) checkVocabMatchesModel(tok, model.config.vocab_size, dir);
  return { model, tok };
}

/**
 * A PEFT adapter directory on its base: the base model and tokenizer from `baseDir`, the adapters
 * from `adapterDir` (`baseSpec`, the base as the user named it, must be the adapter's base).
 */
export function loadAdapterModel(
  adapterDir: string,
  baseDir: string,
  baseSpec: string,
  o: LoadOptions = {},
): { model: GPT2; tok: Tokenizer } {
  const { model, tok } = loadModelAndTokenizer(baseDir, o);
  loadLora(model, adapterDir, baseSpec);
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

/** Freeze `model`'s parameters and put fresh LoRA adapters (PEFT's initialisation) on it. */
export function attachLora(model: GPT2, cfg: LoraConfig, seed = 1337): LoRA {
  if (model.lora) throw new Error('this model already has LoRA adapters');
  const lora = LoRA.init(model.config, cfg, seed);
  model.params.freeze();
  model.lora = lora;
  return lora;
}

/** The adapters' values, by name (h.N.MODULE.lora_A [in, r] / .lora_B [r, out]). */
async function adapterArrays(lora: LoRA): Promise<(name: string) => Float32Array> {
  const all = await lora.params.values.toArray();
  return (name) => {
    const off = lora.params.offsets.get(name);
    const spec = lora.params.specs.find((s) => s.name === name);
    if (off === undefined || !spec) throw new Error(`no LoRA parameter ${name}`);
    return all.slice(off, off + spec.shape[0] * spec.shape[1]);
  };
}

/** Save `model`'s adapters in PEFT's format (adapter_config.json + adapter_model.safetensors). `base` names the base model. */
export async function saveLora(model: GPT2, dir: string, base: string) {
  const lora = model.lora;
  if (!lora) throw new Error('saveLora: the model has no LoRA adapters');
  const get = await adapterArrays(lora);
  const { r, alpha, dropout, rslora } = lora.cfg;
  saveAdapter(
    dir,
    model.config,
    { r, alpha, dropout, rslora, base },
    lora.sites.map((s) => ({ ...s, A: get(`${siteName(s)}.lora_A`), B: get(`${siteName(s)}.lora_B`) })),
  );
}

/**
 * Put the PEFT adapter in `dir` on `model` (its parameters are frozen). `base` is the base as the
 * user named it: it must be the one the adapter names (checkAdapterBase); shapes must fit.
 * `seed` seeds the dropout masks (a resumed run passes its own).
 */
export function loadLora(model: GPT2, dir: string, base?: string, seed?: number): LoRA {
  const { settings, sites } = loadAdapter(dir, model.config);
  if (base !== undefined) checkAdapterBase(dir, settings.base, base);
  const cfg: LoraConfig = {
    r: settings.r,
    alpha: settings.alpha,
    dropout: settings.dropout,
    rslora: settings.rslora,
    sites: sites.map(({ layer, module }) => ({ layer, module })),
  };
  const lora = new LoRA(model.config, cfg, seed);
  for (const s of sites) {
    lora.params.set(`${siteName(s)}.lora_A`, s.A);
    lora.params.set(`${siteName(s)}.lora_B`, s.B);
  }
  if (model.lora) throw new Error('this model already has LoRA adapters');
  model.params.freeze();
  model.lora = lora;
  return lora;
}

/** The base's tensors with each adapter merged in: W' = W + (alpha/r)·A·B (HF layout). */
export async function mergedTensors(model: GPT2) {
  const lora = model.lora;
  if (!lora) throw new Error('mergedTensors: the model has no LoRA adapters');
  const tensors = await modelTensors(model);
  const merged = mergeWeights(model.config, lora.cfg, (n) => tensors.get(n)!.data, await adapterArrays(lora));
  for (const [name, data] of merged) tensors.set(name, { shape: tensors.get(name)!.shape, data });
  return tensors;
}

/** Write a plain Hugging Face checkpoint with the adapters merged in (config.json + model.safetensors). */
export async function saveMerged(model: GPT2, dir: string) {
  saveHF(dir, model.config, await mergedTensors(model));
}
