// f16 copies of the weights a decoding step reads (src/ops/gemv_f16.ts): each block's four
// linears and the tied lm_head (wte). A decoder packs them when it starts (one pass over the
// weights) and releases them when it ends, so they never go stale while training goes on.
// LayerNorm parameters, biases and wpe stay f32, and so does every product with more rows than
// HALF_MAX_ROWS (a prefill's), where the f32 matmul kernels are faster.
import { type HalfMatrix, HALF_K_MULTIPLE, packHalf, releaseHalf } from '../ops/gemv_f16.ts';
import { gpu } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { Params } from '../tape/params.ts';
import type { GPT2Config } from './config.ts';
import { LORA_MODULES, type LoraModule } from './lora.ts';

/** Products with at most this many rows (tokens decoded together) use the f16 weights. */
export const HALF_MAX_ROWS = 8;

/**
 * How decoding stores the weights it multiplies by: 'f16' copies, 'f32' (exactly the trained
 * values), or 'auto': f16 on CPU adapters, where kernels/gemv_f16.wgsl is built for their loads
 * (one lane per row of Wᵀ), f32 on GPUs, whose coalesced reads that layout would defeat (no
 * GPU-shaped f16 kernel is written yet).
 */
export type DecodeWeights = 'auto' | 'f16' | 'f32';

/** What 'auto' means on this adapter. */
export function resolveDecodeWeights(w: DecodeWeights = 'auto'): 'f16' | 'f32' {
  return w !== 'auto' ? w : gpu().info.isSoftware ? 'f16' : 'f32';
}

/** A weight decoding multiplies by, as HalfWeights names it, with its layout for packHalf. */
interface DecodeMatrix {
  name: string;
  w: Tensor;
  layout: 'nk' | 'kn';
}

/**
 * The weights of `params` that decoding packs: h.i.<module>.weight (Conv1D [in, out]) as
 * 'h.i.<module>' and wte as 'wte', except modules `skip` names (those with LoRA adapters) and
 * matrices whose inputs are not a multiple of 32.
 */
function decodeMatrices(
  params: Params,
  c: GPT2Config,
  skip: (layer: number, m: LoraModule) => boolean,
): DecodeMatrix[] {
  const out: DecodeMatrix[] = [];
  for (let i = 0; i < c.n_layer; i++)
    for (const m of LORA_MODULES) {
      const w = params.get(`h.${i}.${m}.weight`).value;
      if (!skip(i, m) && w.shape[0] % HALF_K_MULTIPLE === 0) out.push({ name: `h.${i}.${m}`, w, layout: 'kn' });
    }
  if (c.n_embd % HALF_K_MULTIPLE === 0) out.push({ name: 'wte', w: params.get('wte.weight').value, layout: 'nk' });
  return out;
}

const noSkip = () => false;

export class HalfWeights {
  private constructor(private mats: Map<string, HalfMatrix>) {}

  /** Pack the decoding weights of `params` (decodeMatrices). */
  static pack(params: Params, c: GPT2Config, skip: (layer: number, m: LoraModule) => boolean = noSkip) {
    return new HalfWeights(new Map(decodeMatrices(params, c, skip).map((d) => [d.name, packHalf(d.w, d.layout)])));
  }

  /** How many weights pack() would hold in f16, without packing them. */
  static elements(params: Params, c: GPT2Config): number {
    return decodeMatrices(params, c, noSkip).reduce((n, d) => n + d.w.size, 0);
  }

  /** The f16 form of `name` ('h.3.mlp.c_fc', 'wte') for a product of `rows` rows, if it is used there. */
  get(name: string, rows: number): HalfMatrix | undefined {
    return rows <= HALF_MAX_ROWS ? this.mats.get(name) : undefined;
  }

  release() {
    for (const h of this.mats.values()) releaseHalf(h);
    this.mats.clear();
  }
}
