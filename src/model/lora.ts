// LoRA adapters (Hu et al. 2021) on a frozen GPT-2, as Hugging Face PEFT makes them.
//
// Each targeted linear y = x·W + b becomes y = x·W + b + (alpha/r)·(dropout(x)·A)·B, with
// A [in, r] (lora_A) and B [r, out] (lora_B) in GPT-2's Conv1D orientation (x·W, W [in, out]).
// A starts as PEFT's kaiming_uniform_(a=√5) does: uniform in ±1/√in; B starts at zero, so an
// untrained adapter leaves the model unchanged. The adapters are their own small Params (one
// flat buffer), the base's are frozen, and AdamW runs over the adapters only.
//
// PEFT stores lora_A.weight as [r, in] and lora_B.weight as [out, r] (torch.nn.Linear's
// [out_features, in_features]) whatever fan_in_fan_out says; src/io/peft.ts transposes on
// save and load.
import { Params, type ParamSpec } from '../tape/params.ts';
import type { LoraAdapter } from '../tape/ops.ts';
import type { GPT2Config } from './config.ts';
import { uniform } from './sample.ts';

/** The linears an adapter can sit on, by their name inside a block (h.N.…). */
export const LORA_MODULES = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] as const;
export type LoraModule = (typeof LORA_MODULES)[number];

/** How --lora-targets may spell each module ("c_proj" alone is the attention's). */
const ALIASES: Record<string, LoraModule> = {
  c_attn: 'attn.c_attn',
  c_proj: 'attn.c_proj',
  c_fc: 'mlp.c_fc',
};

/** One adapted linear: block `layer`'s `module`. */
export interface LoraSite {
  layer: number;
  module: LoraModule;
}

export interface LoraConfig {
  /** rank */
  r: number;
  /** scale numerator: the update is (alpha / r)·A·B (alpha / √r with rslora) */
  alpha: number;
  /** dropout probability on each adapter's input, while training */
  dropout: number;
  /** the adapted linears (every block's, unless PEFT's layers_to_transform said otherwise) */
  sites: LoraSite[];
  /** rank-stabilized LoRA (PEFT's use_rslora): scale alpha / √r */
  rslora?: boolean;
}

/** PEFT LoraConfig's defaults: r 8, lora_alpha 8, lora_dropout 0, and GPT-2's c_attn. */
export const LORA_DEFAULTS = { r: 8, alpha: 8, dropout: 0, targets: ['attn.c_attn'] as LoraModule[] };

/** Module names from --lora-targets spellings (c_attn, c_proj, c_fc, mlp.c_proj, or full names). */
export function parseTargets(names: readonly string[]): LoraModule[] {
  const out: LoraModule[] = [];
  for (const raw of names) {
    const n = raw.trim();
    const m = ALIASES[n] ?? (LORA_MODULES as readonly string[]).find((x) => x === n);
    if (!m)
      throw new Error(
        `LoRA target "${raw}" is not one of c_attn, c_proj (attention), c_fc, mlp.c_proj (or ${LORA_MODULES.join(', ')})`,
      );
    if (!out.includes(m as LoraModule)) out.push(m as LoraModule);
  }
  if (out.length === 0) throw new Error('LoRA needs at least one target module');
  return out;
}

/** The given modules in every block. */
export function sitesFor(c: GPT2Config, modules: readonly LoraModule[]): LoraSite[] {
  const sites: LoraSite[] = [];
  for (let layer = 0; layer < c.n_layer; layer++) for (const module of modules) sites.push({ layer, module });
  return sites;
}

/** A module's weight shape [in, out] (Conv1D layout). */
export function moduleShape(c: GPT2Config, m: LoraModule): [number, number] {
  const C = c.n_embd;
  switch (m) {
    case 'attn.c_attn':
      return [C, 3 * C];
    case 'attn.c_proj':
      return [C, C];
    case 'mlp.c_fc':
      return [C, 4 * C];
    case 'mlp.c_proj':
      return [4 * C, C];
  }
}

export const siteName = (s: LoraSite) => `h.${s.layer}.${s.module}`;

export function checkLoraConfig(cfg: LoraConfig, c: GPT2Config): void {
  if (!(Number.isInteger(cfg.r) && cfg.r > 0)) throw new Error(`LoRA rank r must be a positive integer (got ${cfg.r})`);
  if (!(Number.isFinite(cfg.alpha) && cfg.alpha > 0)) throw new Error(`LoRA alpha must be positive (got ${cfg.alpha})`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`LoRA dropout must be in [0, 1) (got ${cfg.dropout})`);
  if (cfg.sites.length === 0) throw new Error('LoRA needs at least one adapted module');
  for (const s of cfg.sites)
    if (!(Number.isInteger(s.layer) && s.layer >= 0 && s.layer < c.n_layer))
      throw new Error(`LoRA site ${siteName(s)}: the model has ${c.n_layer} layers`);
}

export class LoRA {
  /** lora_A [in, r] and lora_B [r, out] of each site, as h.N.MODULE.lora_A / .lora_B */
  readonly params: Params;
  /** alpha / r (alpha / √r with rslora) */
  readonly scale: number;
  private readonly byName = new Map<string, LoraSite>();
  /**
   * Which training forward pass this is: the dropout masks are a function of it (and the seed).
   * Each training forward pass counts one; trainStep sets it from the optimizer step and the
   * micro-batch, so that a resumed run draws the masks an uninterrupted one would.
   */
  pass = 0;

  constructor(
    readonly model: GPT2Config,
    readonly cfg: LoraConfig,
    private readonly seed = 1337,
  ) {
    checkLoraConfig(cfg, model);
    const specs: ParamSpec[] = [];
    for (const s of cfg.sites) {
      const [fin, fout] = moduleShape(model, s.module);
      const n = siteName(s);
      if (this.byName.has(n)) throw new Error(`LoRA site ${n} given twice`);
      this.byName.set(n, s);
      specs.push({ name: `${n}.lora_A`, shape: [fin, cfg.r], decay: true });
      specs.push({ name: `${n}.lora_B`, shape: [cfg.r, fout], decay: true });
    }
    this.params = new Params(specs);
    this.scale = cfg.rslora ? cfg.alpha / Math.sqrt(cfg.r) : cfg.alpha / cfg.r;
  }

  /** PEFT's initialisation: lora_A uniform in ±1/√in (kaiming_uniform_, a = √5), lora_B zero. */
  static init(model: GPT2Config, cfg: LoraConfig, seed = 1337): LoRA {
    const lora = new LoRA(model, cfg, seed);
    const rand = uniform(seed);
    for (const s of cfg.sites) {
      const [fin] = moduleShape(model, s.module);
      const bound = 1 / Math.sqrt(fin);
      const a = Float32Array.from({ length: fin * cfg.r }, () => (2 * rand() - 1) * bound);
      lora.params.set(`${siteName(s)}.lora_A`, a);
    }
    return lora;
  }

  get sites(): readonly LoraSite[] {
    return this.cfg.sites;
  }

  /** Called once per training forward pass: the dropout masks differ from pass to pass. */
  nextForward() {
    this.pass++;
  }

  /** The adapter on block `layer`'s `module`, or null when it has none. */
  adapter(layer: number, module: LoraModule): LoraAdapter | null {
    const n = `h.${layer}.${module}`;
    if (!this.byName.has(n)) return null;
    const site = this.cfg.sites.indexOf(this.byName.get(n)!);
    return {
      A: this.params.get(`${n}.lora_A`),
      B: this.params.get(`${n}.lora_B`),
      scale: this.scale,
      dropout: this.cfg.dropout,
      seed: (this.seed + Math.imul(this.pass, 0x9e3779b9) + Math.imul(site, 0x85ebca6b)) >>> 0,
    };
  }
}

/**
 * W' = W + scale·A·B for each site, in the Conv1D layout: the weights of a plain GPT-2 that
 * computes what base + adapters compute (dropout aside). `weights` maps h.N.MODULE.weight to
 * [in, out] arrays; `adapters` maps h.N.MODULE.lora_A / .lora_B to [in, r] / [r, out] arrays.
 * Returns new arrays for the adapted weights only.
 */
export function mergeWeights(
  model: GPT2Config,
  cfg: LoraConfig,
  weights: (name: string) => Float32Array,
  adapters: (name: string) => Float32Array,
): Map<string, Float32Array> {
  const scale = cfg.rslora ? cfg.alpha / Math.sqrt(cfg.r) : cfg.alpha / cfg.r;
  const r = cfg.r;
  const out = new Map<string, Float32Array>();
  for (const s of cfg.sites) {
    const n = siteName(s);
    const [fin, fout] = moduleShape(model, s.module);
    const W = weights(`${n}.weight`),
      A = adapters(`${n}.lora_A`),
      B = adapters(`${n}.lora_B`);
    const merged = new Float32Array(fin * fout);
    const row = new Float64Array(fout);
    for (let i = 0; i < fin; i++) {
      for (let o = 0; o < fout; o++) row[o] = 0;
      for (let k = 0; k < r; k++) {
        const a = A[i * r + k];
        if (a === 0) continue;
        for (let o = 0; o < fout; o++) row[o] += a * B[k * fout + o];
      }
      for (let o = 0; o < fout; o++) merged[i * fout + o] = W[i * fout + o] + scale * row[o];
    }
    out.set(`${n}.weight`, merged);
  }
  return out;
}
