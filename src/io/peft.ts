// LoRA adapters in Hugging Face PEFT's format: a directory with adapter_config.json and
// adapter_model.safetensors, which PeftModel.from_pretrained(GPT2LMHeadModel.from_pretrained(base),
// dir) loads.
//
// Keys are PEFT's for GPT2LMHeadModel without the adapter's name ("default"):
//   base_model.model.transformer.h.N.attn.c_attn.lora_A.weight   [r, in]
//   base_model.model.transformer.h.N.attn.c_attn.lora_B.weight   [out, r]
// PEFT's lora_A / lora_B are torch.nn.Linear layers, so their weights are [out_features,
// in_features] whatever fan_in_fan_out says (fan_in_fan_out: true only tells PEFT that the base
// layer is a Conv1D, [in, out]). Here the adapters are kept in the Conv1D orientation, A [in, r]
// and B [r, out] (src/model/lora.ts): this file transposes on the way out and back.
//
// target_modules is written with names PEFT matches to exactly our sites ("c_attn", "attn.c_proj",
// "c_fc", "mlp.c_proj": PEFT matches a list entry to a module whose name equals it or ends with
// ".entry", so a bare "c_proj" would take both projections). On load, the list (or a regex
// string, matched against the whole module name as PEFT does) is resolved by PEFT's rule.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GPT2Config } from '../model/config.ts';
import { writeFileAtomic } from './atomic.ts';
import { readSafetensors, writeSafetensors } from './safetensors.ts';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/** The modules an adapter can sit on (src/model/lora.ts LORA_MODULES, repeated: io may not import model/lora). */
const MODULES = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] as const;
type Module = (typeof MODULES)[number];
/** How target_modules names each module when we write it */
const TARGET_NAME: Record<Module, string> = {
  'attn.c_attn': 'c_attn',
  'attn.c_proj': 'attn.c_proj',
  'mlp.c_fc': 'c_fc',
  'mlp.c_proj': 'mlp.c_proj',
};

/** PEFT's state-dict key of one site's lora_A or lora_B weight. */
export function peftKey(layer: number, module: string, which: 'lora_A' | 'lora_B'): string {
  return `base_model.model.transformer.h.${layer}.${module}.${which}.weight`;
}

export interface AdapterSettings {
  r: number;
  alpha: number;
  dropout: number;
  rslora?: boolean;
  /** the base model as the user named it (a Hub id or a directory) */
  base: string;
}

export interface AdapterSite {
  layer: number;
  module: Module;
  /** [in, r], row-major */
  A: Float32Array;
  /** [r, out], row-major */
  B: Float32Array;
}

function moduleShape(c: GPT2Config, m: Module): [number, number] {
  const C = c.n_embd;
  return m === 'attn.c_attn' ? [C, 3 * C] : m === 'attn.c_proj' ? [C, C] : m === 'mlp.c_fc' ? [C, 4 * C] : [4 * C, C];
}

/** rows × cols row-major → cols × rows */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

/** adapter_config.json's object: PEFT LoraConfig's fields for a GPT-2 causal LM. */
export function adapterConfig(s: AdapterSettings, sites: readonly { layer: number; module: Module }[], nLayer: number) {
  const modules = MODULES.filter((m) => sites.some((x) => x.module === m));
  const layers = [...new Set(sites.map((x) => x.layer))].sort((a, b) => a - b);
  // every module on the same layers: PEFT's layers_to_transform says which, when not all
  for (const m of modules) {
    const on = sites.filter((x) => x.module === m).map((x) => x.layer);
    if (on.length !== layers.length)
      throw new Error(`PEFT adapters: module ${m} is adapted on layers [${on}], others on [${layers}]`);
  }
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: s.base,
    revision: null,
    r: s.r,
    lora_alpha: s.alpha,
    lora_dropout: s.dropout,
    target_modules: modules.map((m) => TARGET_NAME[m]),
    fan_in_fan_out: true,
    bias: 'none',
    use_rslora: !!s.rslora,
    modules_to_save: null,
    init_lora_weights: true,
    layers_to_transform: layers.length === nLayer ? null : layers,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    inference_mode: true,
  };
}

/**
 * Write `dir`/adapter_model.safetensors (PEFT's keys and shapes, F32) and then
 * `dir`/adapter_config.json, each atomically.
 */
export function saveAdapter(dir: string, c: GPT2Config, s: AdapterSettings, sites: readonly AdapterSite[]): void {
  const config = adapterConfig(s, sites, c.n_layer);
  const tensors = [];
  for (const x of sites) {
    const [fin, fout] = moduleShape(c, x.module);
    if (x.A.length !== fin * s.r || x.B.length !== s.r * fout)
      throw new Error(`saveAdapter: h.${x.layer}.${x.module} is not [${fin}, ${s.r}] · [${s.r}, ${fout}]`);
    tensors.push({ name: peftKey(x.layer, x.module, 'lora_A'), shape: [s.r, fin], data: transpose(x.A, fin, s.r) });
    tensors.push({ name: peftKey(x.layer, x.module, 'lora_B'), shape: [fout, s.r], data: transpose(x.B, s.r, fout) });
  }
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
  writeFileAtomic(path.join(dir, ADAPTER_CONFIG), `${JSON.stringify(config, null, 2)}\n`);
}

/** Whether `dir` holds a PEFT adapter (its adapter_config.json). */
export function isAdapterDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, ADAPTER_CONFIG));
}

/** The modules of one block that PEFT's target_modules (a list, or a regex string) selects. */
function matchTargets(targets: unknown, layer: number, file: string): Module[] {
  const full = (m: Module) => `transformer.h.${layer}.${m}`;
  if (typeof targets === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${targets})$`);
    } catch {
      throw new Error(`${file}: target_modules ${JSON.stringify(targets)} is not a valid regular expression`);
    }
    return MODULES.filter((m) => re.test(full(m)));
  }
  if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'string'))
    throw new Error(`${file}: target_modules must be a list of module names or a regex string`);
  return MODULES.filter((m) => targets.some((t: string) => full(m) === t || full(m).endsWith(`.${t}`)));
}

export interface LoadedAdapter {
  settings: AdapterSettings;
  sites: AdapterSite[];
}

/**
 * Read a PEFT LoRA adapter for base config `c`. One-line errors for what cannot be this
 * model's adapter: not LoRA, bias or modules_to_save (not supported), a key or shape that does
 * not fit the base.
 */
export function loadAdapter(dir: string, c: GPT2Config): LoadedAdapter {
  const file = path.join(dir, ADAPTER_CONFIG);
  if (!fs.existsSync(file)) throw new Error(`${dir}: no ${ADAPTER_CONFIG} (not a PEFT adapter directory)`);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new Error(`${file}: must be a JSON object`);
  if (j.peft_type !== 'LORA') throw new Error(`${file}: peft_type ${JSON.stringify(j.peft_type)} is not "LORA"`);
  const r = j.r,
    alpha = j.lora_alpha,
    dropout = j.lora_dropout ?? 0;
  if (typeof r !== 'number' || !Number.isInteger(r) || r <= 0)
    throw new Error(`${file}: r must be a positive integer (got ${JSON.stringify(r)})`);
  if (typeof alpha !== 'number' || !(alpha > 0))
    throw new Error(`${file}: lora_alpha must be positive (got ${JSON.stringify(alpha)})`);
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1))
    throw new Error(`${file}: lora_dropout must be in [0, 1) (got ${JSON.stringify(dropout)})`);
  if ((j.bias ?? 'none') !== 'none')
    throw new Error(`${file}: bias ${JSON.stringify(j.bias)} is not supported ("none" only)`);
  const none = (k: string) => {
    const v = j[k];
    if (v !== undefined && v !== null && !(typeof v === 'object' && Object.keys(v).length === 0))
      throw new Error(`${file}: ${k} ${JSON.stringify(v)} is not supported`);
  };
  for (const k of ['modules_to_save', 'rank_pattern', 'alpha_pattern']) none(k);
  // GPT-2's blocks are transformer.h.N: layers_pattern may say so
  const lp = j.layers_pattern;
  if (lp !== undefined && lp !== null && lp !== 'h' && !(Array.isArray(lp) && lp.length === 1 && lp[0] === 'h'))
    throw new Error(`${file}: layers_pattern ${JSON.stringify(lp)} is not GPT-2's "h"`);
  if (j.use_dora === true) throw new Error(`${file}: use_dora is not supported (plain LoRA only)`);
  let layers = Array.from({ length: c.n_layer }, (_, i) => i);
  const lt = j.layers_to_transform;
  if (lt !== undefined && lt !== null) {
    const want = typeof lt === 'number' ? [lt] : lt;
    if (!Array.isArray(want) || !want.every((x) => Number.isInteger(x) && x >= 0 && x < c.n_layer))
      throw new Error(`${file}: layers_to_transform ${JSON.stringify(lt)} does not fit a ${c.n_layer}-layer base`);
    layers = layers.filter((i) => want.includes(i));
  }
  const base = typeof j.base_model_name_or_path === 'string' ? j.base_model_name_or_path : '';
  const weights = path.join(dir, ADAPTER_WEIGHTS);
  if (!fs.existsSync(weights))
    throw new Error(
      `${dir}: no ${ADAPTER_WEIGHTS} next to ${ADAPTER_CONFIG}${fs.existsSync(path.join(dir, 'adapter_model.bin')) ? ' (adapter_model.bin is a pickle, refused on purpose: save it with safe_serialization=True)' : ''}`,
    );
  const tensors = readSafetensors(weights);
  const used = new Set<string>();
  const take = (key: string, shape: [number, number]): Float32Array => {
    const t = tensors.get(key);
    if (!t) throw new Error(`${weights}: missing ${key} (target_modules selects it)`);
    if (t.shape.length !== 2 || t.shape[0] !== shape[0] || t.shape[1] !== shape[1])
      throw new Error(
        `${weights}: ${key} is [${t.shape}] but this base (n_embd ${c.n_embd}, r ${r}) needs [${shape}]: the adapter was made for another base`,
      );
    used.add(key);
    return t.data;
  };
  const sites: AdapterSite[] = [];
  for (const layer of layers) {
    for (const module of matchTargets(j.target_modules, layer, file)) {
      const [fin, fout] = moduleShape(c, module);
      const a = take(peftKey(layer, module, 'lora_A'), [r, fin]);
      const b = take(peftKey(layer, module, 'lora_B'), [fout, r]);
      sites.push({ layer, module, A: transpose(a, r, fin), B: transpose(b, fout, r) });
    }
  }
  for (const key of tensors.keys())
    if (!used.has(key))
      throw new Error(
        `${weights}: unexpected tensor ${key} (not a LoRA weight of target_modules on this ${c.n_layer}-layer base)`,
      );
  if (sites.length === 0)
    throw new Error(`${file}: target_modules ${JSON.stringify(j.target_modules)} selects no GPT-2 module`);
  return { settings: { r, alpha, dropout, rslora: j.use_rslora === true, base }, sites };
}

/** A base's name for comparison: a Hub id's or directory's last part, without @revision. */
function baseName(spec: string): string {
  const s = spec.replace(/@[^/]*$/, '').replace(/[/\\]+$/, '');
  const cached = /models--([^/\\]+)/.exec(s);
  if (cached) return cached[1].split('--').pop()!.toLowerCase();
  return (s.split(/[/\\]/).pop() ?? s).toLowerCase();
}

/**
 * Throws one line unless the base the user gave is the one the adapter names (compared by the
 * model's name: "distilgpt2", "distilbert/distilgpt2" and a directory weights/distilgpt2 agree).
 * An adapter that names no base is accepted.
 */
export function checkAdapterBase(adapterDir: string, adapterBase: string, base: string): void {
  if (!adapterBase) return;
  if (path.resolve(adapterBase) === path.resolve(base)) return;
  if (baseName(adapterBase) !== baseName(base))
    throw new Error(
      `${adapterDir}: this adapter was trained on base "${adapterBase}", not "${base}" (base_model_name_or_path in ${ADAPTER_CONFIG})`,
    );
}

/**
 * The base_model_name_or_path to write for a base loaded from `dir`: the Hub id "ORG/NAME" when
 * `dir` is a snapshot in the Hugging Face cache (…/models--ORG--NAME/snapshots/COMMIT), else `dir`.
 */
export function baseModelName(dir: string): string {
  const m = /models--([^/\\]+?)--([^/\\]+)[/\\]snapshots[/\\]/.exec(path.resolve(dir));
  return m ? `${m[1]}/${m[2]}` : dir;
}

/** An adapter directory's base_model_name_or_path ('' when it names none or cannot be read). */
export function adapterBase(dir: string): string {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(dir, ADAPTER_CONFIG), 'utf8').replace(/^\uFEFF/, ''));
    return typeof j.base_model_name_or_path === 'string' ? j.base_model_name_or_path : '';
  } catch {
    return '';
  }
}
