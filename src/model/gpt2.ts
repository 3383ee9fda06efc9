// GPT-2, top to bottom (as nanoGPT's model.py), over the tape's ops.
//
// Parameters: Hugging Face's names and Conv1D layout [in, out] (gpt2Layout in ./config.ts);
// lm_head is tied to wte. wte has padded_vocab_size rows (the padding rows stay zero and their
// logits are excluded from the loss and sampling).
//
// With LoRA (./lora.ts; attachLora in ./load.ts) the base parameters are frozen and the targeted
// linears add their adapter's low-rank update.
import type { Tensor } from '../gpu/tensor.ts';
import { Params, type ParamSpec } from '../tape/params.ts';
import { type Tape, Var } from '../tape/tape.ts';
import {
  attention,
  cachedAttention,
  cachedAttentionRows,
  crossEntropyLoss,
  embedding,
  gatherRows,
  layernorm,
  gelu as geluOp,
  linear,
  linearGelu,
  linearHalf,
  lmHead,
  loraLinear,
  residualLayernorm,
} from '../tape/ops.ts';
import { gpt2Layout, type GPT2Config } from './config.ts';
import type { HalfWeights } from './half.ts';
import type { LoRA, LoraModule } from './lora.ts';
import { uniform } from './sample.ts';

/** One layer's cached keys and values ([NH, P, hd], or [B, NH, P, hd] for batched decoding). */
export interface LayerCache {
  k: Tensor;
  v: Tensor;
}

export interface ForwardOpts {
  /** position of the first token (with a KV cache: the number of tokens already cached) */
  posOffset?: number;
  /** attend through (and append to) this KV cache instead of within the batch (B = 1, inference) */
  cache?: { layers: LayerCache[] };
  /** batched decoding: one token per row (T = 1), each row at its own position, through this cache */
  rows?: { layers: LayerCache[]; at: { positions: Tensor; values: number[] } };
  /** compute logits for the last position only */
  lastOnly?: boolean;
  /** compute logits only for these rows (distinct indexes into B·T, i32 [M]): where the loss counts */
  logitRows?: Tensor;
  /** f16 copies of the weights for products of few rows (decoding; ./half.ts), inference only */
  half?: HalfWeights;
  /** called with the residual stream after each block (logit lens) */
  onLayer?: (layer: number, x: Var) => void;
}

/** The model's parameters: GPT-2's layout with wte padded to padded_vocab_size rows. */
export function paramSpecs(c: GPT2Config): ParamSpec[] {
  return gpt2Layout(c, c.padded_vocab_size);
}

export class GPT2 {
  /** LoRA adapters on the frozen base (attachLora in ./load.ts), or null */
  lora: LoRA | null = null;

  constructor(
    readonly config: GPT2Config,
    readonly params: Params,
  ) {}

  /** The parameters training updates: the adapters with LoRA, else every parameter. */
  get trainable(): Params {
    return this.lora ? this.lora.params : this.params;
  }

  /** A model with uninitialised (zero) parameters. */
  static empty(config: GPT2Config): GPT2 {
    return new GPT2(config, new Params(paramSpecs(config)));
  }

  /** GPT-2's initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2·n_layer), LayerNorm 1/0, biases 0. */
  static init(config: GPT2Config, seed = 1337): GPT2 {
    const m = GPT2.empty(config);
    const rand = gaussian(seed);
    for (const s of m.params.specs) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (s.name.endsWith('ln_1.weight') || s.name.endsWith('ln_2.weight') || s.name === 'ln_f.weight') data.fill(1);
      else if (s.shape.length >= 2) {
        const std = s.name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * config.n_layer) : 0.02;
        // wte's padding rows stay zero
        const live = s.name === 'wte.weight' ? config.vocab_size * config.n_embd : n;
        for (let i = 0; i < live; i++) data[i] = std * rand();
      }
      m.params.set(s.name, data);
    }
    return m;
  }

  private p(name: string): Var {
    return this.params.get(name);
  }

  /**
   * Block i's linear `m` (h.i.m.weight / .bias), through its LoRA adapter when it has one, or
   * against its f16 copy in `half` for few rows; `gelu` applies GELU to the result.
   */
  private linear(tape: Tape, x: Var, i: number, m: LoraModule, half?: HalfWeights, gelu = false): Var {
    const w = this.p(`h.${i}.${m}.weight`),
      b = this.p(`h.${i}.${m}.bias`);
    const adapter = this.lora?.adapter(i, m);
    const w16 = adapter ? undefined : half?.get(`h.${i}.${m}`, x.value.shape[0]);
    if (w16) return linearHalf(tape, x, w16, b, { gelu });
    if (gelu && !adapter) return linearGelu(tape, x, w, b);
    const y = adapter ? loraLinear(tape, x, w, b, adapter) : linear(tape, x, w, b);
    return gelu ? geluOp(tape, y) : y;
  }

  /** Logits [B·T, padded_vocab] (or [1, padded_vocab] with lastOnly, [M, padded_vocab] with logitRows) for token ids (i32 [B·T]). */
  forward(tape: Tape, ids: Tensor, B: number, T: number, o: ForwardOpts = {}): Var {
    const c = this.config;
    const posOffset = o.posOffset ?? 0;
    const eps = c.layer_norm_epsilon;
    if (o.rows && T !== 1) throw new Error(`forward: batched decoding takes one token per row (T = 1), got T = ${T}`);
    if (T + posOffset > c.n_positions)
      throw new Error(`sequence of ${T + posOffset} tokens exceeds the model's ${c.n_positions} positions`);
    if (ids.size !== B * T) throw new Error(`forward: ${ids.size} ids for B=${B} T=${T}`);
    if (tape.recording) this.lora?.nextForward(); // new dropout masks
    let x = embedding(tape, ids, this.p('wte.weight'), this.p('wpe.weight'), T, posOffset, o.rows?.at); // [B·T, C]
    // each residual add is fused with the LayerNorm that reads its result (one pass when inferring)
    let a = layernorm(tape, x, this.p('h.0.ln_1.weight'), this.p('h.0.ln_1.bias'), eps);
    for (let i = 0; i < c.n_layer; i++) {
      const h = `h.${i}.`;
      // attention: x += c_proj(attn(c_attn(ln_1(x)))), then m = ln_2(x)
      const qkv = this.linear(tape, a, i, 'attn.c_attn', o.half); // [B·T, 3C]
      const att = o.rows
        ? cachedAttentionRows(tape, qkv, o.rows.layers[i], o.rows.at.positions, c.n_head)
        : o.cache
          ? cachedAttention(tape, qkv, o.cache.layers[i], posOffset, c.n_head)
          : attention(tape, qkv, B, T, c.n_head);
      const proj = this.linear(tape, att, i, 'attn.c_proj', o.half); // [B·T, C]
      const r1 = residualLayernorm(tape, x, proj, this.p(`${h}ln_2.weight`), this.p(`${h}ln_2.bias`), eps);
      x = r1.sum;
      // MLP: x += mlp.c_proj(gelu(c_fc(m))), then a = the next block's ln_1(x), or ln_f(x) after the last
      const f = this.linear(tape, r1.y, i, 'mlp.c_fc', o.half, true); // [B·T, 4C]
      const mlp = this.linear(tape, f, i, 'mlp.c_proj', o.half); // [B·T, C]
      const next = i + 1 < c.n_layer ? `h.${i + 1}.ln_1` : 'ln_f';
      const r2 = residualLayernorm(tape, x, mlp, this.p(`${next}.weight`), this.p(`${next}.bias`), eps);
      x = r2.sum;
      a = r2.y;
      o.onLayer?.(i, x);
    }
    // a = ln_f(x); logits where they are wanted
    if (o.lastOnly) a = lastRow(tape, a, B * T);
    else if (o.logitRows) a = gatherRows(tape, a, o.logitRows); // [M, C]
    const wte16 = o.half?.get('wte', a.value.shape[0]);
    return wte16 ? linearHalf(tape, a, wte16, null) : lmHead(tape, a, this.p('wte.weight'));
  }

  /**
   * Forward + loss for a batch: tokens i32 [B·T] inputs, targets i32 [B·T] (negative = ignored),
   * optional per-position weights [B·T]; loss = sum(w·l) / normalizer. With `rows` (i32 [M], the
   * positions whose weight is not 0), targets and weights are [M], one per row, and logits are
   * computed there only.
   */
  loss(
    tape: Tape,
    inputs: Tensor,
    targets: Tensor,
    B: number,
    T: number,
    o: { weights?: Tensor; normalizer: number; rows?: Tensor },
  ) {
    const logits = this.forward(tape, inputs, B, T, { logitRows: o.rows });
    return {
      logits,
      ...crossEntropyLoss(tape, logits, targets, {
        vocab: this.config.vocab_size,
        weights: o.weights,
        normalizer: o.normalizer,
      }),
    };
  }
}

/** The last row of x [N, C] as a Var (inference only: no gradient flows through it). */
function lastRow(tape: Tape, x: Var, N: number): Var {
  if (tape.recording) throw new Error('lastOnly is for inference (no-grad tapes)');
  const C = x.value.size / N;
  return new Var(x.value.view((N - 1) * C, [1, C]));
}

/** Seeded standard normal samples (Box–Muller over sample.ts's uniform generator). */
export function gaussian(seed: number): () => number {
  const u = uniform(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(Math.max(u(), 1e-12)));
    const th = 2 * Math.PI * u();
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
}
