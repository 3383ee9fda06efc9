// Hugging Face GPT2LMHeadModel checkpoints: a directory with config.json and model.safetensors
// (or a sharded model.safetensors.index.json and its shards).
//
// Tensor names are the plain HF ones, whatever the file used ("transformer.h.0.ln_1.weight" and
// "h.0.ln_1.weight" both become "h.0.ln_1.weight"); gpt2Layout (src/model/config.ts) lists them
// with their shapes. wte.weight is [vocab_size, C] and also the tied lm_head.
//
// LAYOUT: HF's Conv1D stores its weight as [in, out] (y = x @ W + b), the transpose of
// torch.nn.Linear. The map keeps exactly that layout: row-major [in, out] Float32Arrays.
//
// The old attention buffers (h.{i}.attn.bias, h.{i}.attn.masked_bias) are skipped without being
// read. An lm_head.weight, if present, must equal wte.weight bit for bit (untied heads are not
// supported). Every other tensor name is an error, as is a missing tensor or a shape that is not
// the one config.json implies.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromHF, gpt2Layout, toHF, type GPT2Config } from '../model/config.ts';
import { writeFileAtomic } from './atomic.ts';
import {
  INDEX_NAME,
  SafetensorsReader,
  openSharded,
  writeSafetensors,
  type DType,
  type TensorSource,
} from './safetensors.ts';

export interface HFTensor {
  /** HF layout; Conv1D weights are [in, out] */
  shape: number[];
  data: Float32Array;
}

export interface HFSource {
  dir: string;
  /** the weight files read (one, or the shards) */
  files: string[];
  sharded: boolean;
  /** keys carried the "transformer." prefix */
  prefixed: boolean;
  /** storage dtypes of the tensors read */
  dtypes: DType[];
  /** original keys not loaded: old attention buffers and a tied lm_head.weight */
  skipped: string[];
  /** whether the file held an lm_head.weight (checked equal to wte.weight) */
  lmHead: boolean;
  /** config.json as read */
  configJson: Record<string, unknown>;
}

export interface LoadedHF {
  /** padded_vocab_size === vocab_size here: padding is the model's business */
  config: GPT2Config;
  /** plain HF names, in hfShapes() order */
  tensors: Map<string, HFTensor>;
  source: HFSource;
}

const WEIGHTS_NAME = 'model.safetensors';
const PREFIX = 'transformer.';

/** Why a tensor has its expected shape, for error messages. */
function because(name: string, c: GPT2Config): string {
  if (name === 'wte.weight') return `vocab_size=${c.vocab_size}, n_embd=${c.n_embd}`;
  if (name === 'wpe.weight') return `n_positions=${c.n_positions}, n_embd=${c.n_embd}`;
  return `n_embd=${c.n_embd}`;
}

/** Every parameter of a GPT2LMHeadModel with its HF shape, in HF's order (gpt2Layout). */
export function hfShapes(c: GPT2Config): Map<string, number[]> {
  return new Map(gpt2Layout(c).map((e) => [e.name, e.shape]));
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const fmt = (s: number[]) => `[${s.join(',')}]`;

/**
 * Read config.json and check the settings that would change the computation and that this
 * engine does not implement (fromHF already checks the sizes and the activation).
 */
export function readHFConfig(dir: string): { config: GPT2Config; json: Record<string, unknown> } {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new Error(
      `${dir}: not a directory (expected a Hugging Face model directory with config.json and model.safetensors)`,
    );
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) {
    throw new Error(
      `${dir}: no config.json — a weights directory needs config.json (the Hugging Face model config) next to model.safetensors`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '')); // (Windows editors write a BOM)
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${file}: must be a JSON object`);
  const j = json as Record<string, unknown>;
  if (j.model_type !== undefined && j.model_type !== 'gpt2')
    throw new Error(`${file}: model_type "${String(j.model_type)}" is not supported (gpt2 only)`);
  const config = fromHF(j, file);
  const refuse = (field: string, why: string) => {
    throw new Error(`${file}: ${field} = ${JSON.stringify(j[field])} is not supported (${why})`);
  };
  if (j.n_inner !== undefined && j.n_inner !== null && j.n_inner !== 4 * config.n_embd)
    refuse('n_inner', `the MLP is 4 x n_embd = ${4 * config.n_embd} wide here`);
  if (j.scale_attn_weights === false) refuse('scale_attn_weights', 'attention is always scaled by 1/sqrt(head_dim)');
  if (j.scale_attn_by_inverse_layer_idx === true)
    refuse('scale_attn_by_inverse_layer_idx', 'no per-layer attention scaling');
  if (j.add_cross_attention === true) refuse('add_cross_attention', 'no cross-attention');
  if (j.tie_word_embeddings === false) refuse('tie_word_embeddings', 'lm_head is always tied to wte');
  return { config, json: j };
}

/** Open the weights of `dir`: model.safetensors if present, else the sharded index. */
export function openWeights(dir: string): { src: TensorSource; sharded: boolean } {
  const single = path.join(dir, WEIGHTS_NAME);
  if (fs.existsSync(single)) return { src: SafetensorsReader.open(single), sharded: false };
  const index = path.join(dir, INDEX_NAME);
  if (fs.existsSync(index)) return { src: openSharded(index), sharded: true };
  const bin = fs.existsSync(path.join(dir, 'pytorch_model.bin'));
  throw new Error(
    `${dir}: no ${WEIGHTS_NAME} (or ${INDEX_NAME})` +
      (bin ? ' — pytorch_model.bin (a pickle) is not read; convert it to safetensors first' : ''),
  );
}

const BUFFER_RE = /^h\.\d+\.attn\.(bias|masked_bias)$/;

/**
 * Weights beyond this magnitude overflow float32 arithmetic once squared (layernorm's variance,
 * attention scores): no trained GPT-2 comes near it (its largest weights are in the tens).
 */
const MAX_WEIGHT = 1e19;

/**
 * Throws one line naming the first NaN, infinity or overflowing value (loading them gave NaN
 * logits and exit 0); the probe and eval load such a checkpoint anyway with --allow-nonfinite.
 */
function checkFinite(data: Float32Array, what: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(Math.abs(v) <= MAX_WEIGHT)) {
      throw new Error(
        `${what} holds ${v} at element ${i}${Number.isFinite(v) ? ` (beyond ±${MAX_WEIGHT.toExponential()}, it overflows float32 arithmetic)` : ''}: a broken checkpoint (--allow-nonfinite loads it anyway, to inspect it)`,
      );
    }
  }
}

export interface LoadOptions {
  /** load NaN, infinite or overflowing weights instead of refusing them (to inspect a broken checkpoint) */
  allowNonFinite?: boolean;
}

/** Load a GPT2LMHeadModel checkpoint directory into float32 arrays (see the top of this file). */
export function loadHF(dir: string, o: LoadOptions = {}): LoadedHF {
  const { config, json } = readHFConfig(dir);
  const cfgFile = path.join(dir, 'config.json');
  const expected = hfShapes(config);
  const { src, sharded } = openWeights(dir);
  try {
    const where = src.files.length === 1 ? src.files[0] : path.join(dir, INDEX_NAME);
    // normalise names: plain name -> original key
    const key = new Map<string, string>();
    const skipped: string[] = [];
    let prefixed = false;
    let lmHeadKey: string | undefined;
    for (const orig of src.names()) {
      let name = orig;
      if (name.startsWith(PREFIX)) {
        name = name.slice(PREFIX.length);
        prefixed = true;
      }
      if (name === 'lm_head.weight' && orig === name) {
        lmHeadKey = orig;
        continue;
      }
      if (BUFFER_RE.test(name)) {
        skipped.push(orig);
        continue;
      }
      if (!expected.has(name)) {
        const layer = /^h\.(\d+)\./.exec(name);
        if (layer && Number(layer[1]) >= config.n_layer && expected.has(name.replace(/^h\.\d+\./, 'h.0.'))) {
          throw new Error(
            `${where}: tensor "${orig}" belongs to layer ${layer[1]} but ${cfgFile} says n_layer=${config.n_layer}`,
          );
        }
        throw new Error(
          `${where}: unexpected tensor "${orig}" (not part of GPT2LMHeadModel; a different architecture?)`,
        );
      }
      const prev = key.get(name);
      if (prev !== undefined) throw new Error(`${where}: tensor "${name}" appears twice (as "${prev}" and "${orig}")`);
      key.set(name, orig);
    }
    // presence and shapes, before reading any data
    for (const [name, shape] of expected) {
      const orig = key.get(name);
      if (orig === undefined) {
        const layer = /^h\.(\d+)\./.exec(name);
        const hint = layer ? `; ${cfgFile} says n_layer=${config.n_layer}` : '';
        throw new Error(`${where}: missing tensor "${name}" (expected shape ${fmt(shape)}${hint})`);
      }
      const got = src.entry(orig).shape;
      if (!sameShape(got, shape)) {
        throw new Error(
          `${where}: tensor "${orig}" has shape ${fmt(got)} but ${cfgFile} (${because(name, config)}) implies ${fmt(shape)}`,
        );
      }
    }
    const tensors = new Map<string, HFTensor>();
    const dtypes = new Set<DType>();
    for (const [name, shape] of expected) {
      const orig = key.get(name)!;
      dtypes.add(src.entry(orig).dtype);
      const data = src.read(orig);
      if (!o.allowNonFinite) checkFinite(data, `${where}: tensor "${orig}"`);
      tensors.set(name, { shape, data });
    }
    if (lmHeadKey !== undefined) {
      const e = src.entry(lmHeadKey);
      const wte = tensors.get('wte.weight')!;
      if (!sameShape(e.shape, wte.shape)) {
        throw new Error(
          `${where}: lm_head.weight has shape ${fmt(e.shape)}, wte.weight ${fmt(wte.shape)}: an untied lm_head is not supported`,
        );
      }
      // compared bit for bit, a chunk at a time (a second full copy of wte would be 150 MB for GPT-2)
      const w = new Uint32Array(wte.data.buffer, wte.data.byteOffset, wte.data.length);
      const CHUNK = 1 << 20;
      for (let at = 0; at < w.length; at += CHUNK) {
        const part = src.readSlice(lmHeadKey, at, Math.min(CHUNK, w.length - at));
        const head = new Uint32Array(part.buffer, part.byteOffset, part.length);
        for (let i = 0; i < head.length; i++) {
          if (head[i] !== w[at + i]) {
            throw new Error(
              `${where}: lm_head.weight differs from wte.weight (first at element ${at + i}): an untied lm_head is not supported`,
            );
          }
        }
      }
      skipped.push(lmHeadKey);
    }
    return {
      config,
      tensors,
      source: {
        dir,
        files: src.files,
        sharded,
        prefixed,
        dtypes: [...dtypes],
        skipped,
        lmHead: lmHeadKey !== undefined,
        configJson: json,
      },
    };
  } finally {
    src.close();
  }
}

/**
 * Write `dir`/model.safetensors (plain HF keys, HF layout, F32, metadata format=pt) and
 * `dir`/config.json (toHF), each atomically, so that transformers'
 * GPT2LMHeadModel.from_pretrained(dir) loads it. wte may have padded_vocab_size rows: only the
 * first vocab_size are written. Other files in `dir` are left alone (model.safetensors takes
 * precedence over a sharded index there).
 */
export function saveHF(dir: string, config: GPT2Config, tensors: Map<string, HFTensor>): void {
  const expected = hfShapes(config);
  for (const name of tensors.keys()) {
    if (!expected.has(name))
      throw new Error(`saveHF: unexpected tensor "${name}" (not a GPT2LMHeadModel parameter for this config)`);
  }
  const out: { name: string; shape: number[]; data: Float32Array }[] = [];
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) throw new Error(`saveHF: missing tensor "${name}" (shape ${fmt(shape)})`);
    let data = t.data;
    const n = shape.reduce((a, b) => a * b, 1);
    if (!(data instanceof Float32Array) || data.length !== t.shape.reduce((a, b) => a * b, 1)) {
      throw new Error(`saveHF: tensor "${name}" has ${data?.length} values for shape ${fmt(t.shape)}`);
    }
    if (
      name === 'wte.weight' &&
      t.shape.length === 2 &&
      t.shape[1] === config.n_embd &&
      t.shape[0] >= config.vocab_size &&
      t.shape[0] <= Math.max(config.padded_vocab_size, config.vocab_size)
    ) {
      data = data.subarray(0, n); // drop the padding rows
    } else if (!sameShape(t.shape, shape)) {
      throw new Error(
        `saveHF: tensor "${name}" has shape ${fmt(t.shape)} but the config (${because(name, config)}) implies ${fmt(shape)}`,
      );
    }
    if (data.length !== n)
      throw new Error(`saveHF: tensor "${name}" has ${t.data.length} values for shape ${fmt(t.shape)}`);
    out.push({ name, shape, data });
  }
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, WEIGHTS_NAME), out, { format: 'pt' });
  writeFileAtomic(path.join(dir, 'config.json'), `${JSON.stringify(toHF(config), null, 2)}\n`);
}
