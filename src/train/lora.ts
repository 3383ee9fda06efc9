// LoRA in a training run: the --lora flags checked and turned into adapters on the base, and the
// adapters of a LoRA run's checkpoint put back on its base when it resumes.
import { baseModelName } from '../io/peft.ts';
import { getTokenizer, type Tokenizer } from '../io/tokenizer.ts';
import type { GPT2 } from '../model/gpt2.ts';
import { attachLora, loadLora, loadModel, saveMerged } from '../model/load.ts';
import { LORA_DEFAULTS, parseTargets, sitesFor, type LoraConfig } from '../model/lora.ts';
import { writeTokenizerFiles } from '../io/tokenizer.ts';

export interface LoraFlags {
  /** --lora R: train rank-R adapters on a frozen base instead of every weight */
  loraR?: number;
  loraAlpha?: number;
  loraDropout?: number;
  /** --lora-targets: c_attn (default), c_proj (attention), c_fc, mlp.c_proj */
  loraTargets?: string[];
  /** --merge-lora: also write merged/, a plain HF checkpoint with the adapters merged in */
  mergeLora?: boolean;
}

/** One-line errors for LoRA flags that cannot work: no base model, options without --lora, unknown targets. */
export function checkLoraFlags(o: LoraFlags & { weights?: string }): void {
  const given = o.loraAlpha !== undefined || o.loraDropout !== undefined || o.loraTargets !== undefined || o.mergeLora;
  if (o.loraR === undefined) {
    if (given) throw new Error('--lora-alpha, --lora-dropout, --lora-targets and --merge-lora need --lora R');
    return;
  }
  if (!o.weights)
    throw new Error(
      `--lora ${o.loraR} needs a base model to adapt: --model distilgpt2 or gpt2, or --weights DIR|ORG/NAME`,
    );
  if (o.loraTargets) parseTargets(o.loraTargets.flatMap((t) => t.split(',')));
}

/** The adapters' configuration for a model of config `c` from the flags (PEFT's defaults otherwise). */
export function loraConfigFrom(o: LoraFlags, c: GPT2['config']): LoraConfig {
  const targets = o.loraTargets ? parseTargets(o.loraTargets.flatMap((t) => t.split(','))) : LORA_DEFAULTS.targets;
  return {
    r: o.loraR ?? LORA_DEFAULTS.r,
    alpha: o.loraAlpha ?? LORA_DEFAULTS.alpha,
    dropout: o.loraDropout ?? LORA_DEFAULTS.dropout,
    sites: sitesFor(c, targets),
  };
}

/** Freeze `model` and put fresh adapters on it; returns the line to log. */
export function startLora(model: GPT2, o: LoraFlags, seed: number): string {
  const cfg = loraConfigFrom(o, model.config);
  const lora = attachLora(model, cfg, seed);
  const modules = [...new Set(cfg.sites.map((s) => s.module))].join(', ');
  return `LoRA: r ${cfg.r}, alpha ${cfg.alpha}, dropout ${cfg.dropout} on ${modules} (${cfg.sites.length} linears): ${lora.params.count.toLocaleString('en-US')} trainable parameters; the base is frozen`;
}

/** A LoRA run's checkpoint: the base from `weights` (the run's), the adapters and tokenizer from `ckpt`. */
export function resumeLora(weights: string, ckpt: string, seed: number): { model: GPT2; tok: Tokenizer } {
  const model = loadModel(weights);
  loadLora(model, ckpt, baseModelName(weights), seed);
  return { model, tok: getTokenizer(ckpt) };
}

/** --merge-lora: `dir` becomes a plain HF checkpoint (weights merged, with the tokenizer). */
export async function writeMerged(model: GPT2, dir: string, tok: Tokenizer) {
  await saveMerged(model, dir);
  writeTokenizerFiles(dir, tok);
}
