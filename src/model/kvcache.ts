// The KV cache for generation: per layer, k and v of every position so far, each
// [nHead, n_positions, headDim]. A decoder over it feeds only new tokens through the model.
import { Tensor } from '../gpu/tensor.ts';
import { argmaxRows } from '../ops/argmax.ts';
import { kvCacheCreate, kvCacheCreateRows, kvCacheRow } from '../ops/attention.ts';
import { Tape } from '../tape/tape.ts';
import type { GPT2, LayerCache } from './gpt2.ts';
import { type DecodeWeights, HALF_MAX_ROWS, HalfWeights, resolveDecodeWeights } from './half.ts';

/** f16 copies of the model's decoding weights for one decoder's life: none where f32 is chosen, or for more rows than use them. */
function halfWeights(model: GPT2, weights: DecodeWeights = 'auto', rows = 1): HalfWeights | undefined {
  if (resolveDecodeWeights(weights) === 'f32' || rows > HALF_MAX_ROWS) return undefined;
  return HalfWeights.pack(model.params, model.config, (i, m) => !!model.lora?.adapter(i, m));
}

/** Token-at-a-time decoding: the cached decoder here, the recomputing reference in generate.ts. */
export interface Decoder {
  /** Feed the prompt; returns the logits after its last token. */
  prefill(ids: number[]): Promise<Float32Array>;
  /** Feed one more token; returns the logits after it. */
  step(id: number): Promise<Float32Array>;
  dispose(): void;
}

export class KVCache implements Decoder {
  readonly layers: { k: Tensor; v: Tensor }[];
  /** positions already in the cache */
  length = 0;

  private half: HalfWeights | undefined;

  constructor(
    private model: GPT2,
    o: { weights?: DecodeWeights } = {},
  ) {
    const c = model.config;
    this.layers = Array.from({ length: c.n_layer }, () => kvCacheCreate(c.n_head, c.n_positions, c.n_embd / c.n_head));
    this.half = halfWeights(model, o.weights);
  }

  /** Run `input` (i32 [T] on the GPU) through the model at positions length..; the last position's logits [1, Vp]. */
  private forwardLast(tape: Tape, input: Tensor) {
    const c = this.model.config;
    const T = input.size;
    if (this.length + T > c.n_positions)
      throw new Error(`KV cache full: ${this.length} + ${T} tokens exceed ${c.n_positions} positions`);
    const logits = this.model.forward(tape, input, 1, T, {
      posOffset: this.length,
      cache: this,
      lastOnly: true,
      half: this.half,
    });
    this.length += T;
    return logits;
  }

  /** Run `ids` through the model at positions length.. and return the last position's logits. */
  private async feed(ids: number[]): Promise<Float32Array> {
    const tape = new Tape({ recording: false });
    const input = Tensor.from(ids, [ids.length], 'i32');
    try {
      return await this.forwardLast(tape, input).value.toArray();
    } finally {
      tape.free();
      input.release();
    }
  }

  /**
   * Greedy decoding without a read-back per step: feed the token in `id` (i32 [1] on the GPU,
   * such as the previous step's choice) and return the first maximum of the logits after it
   * (i32 [1] on the GPU). The work is only enqueued.
   */
  stepGreedy(id: Tensor): Tensor {
    const tape = new Tape({ recording: false });
    try {
      return argmaxRows(this.forwardLast(tape, id).value, this.model.config.vocab_size);
    } finally {
      tape.free(); // enqueued work that reads the freed tensors stays valid
    }
  }

  prefill(ids: number[]) {
    this.length = 0;
    return this.feed(ids);
  }
  step(id: number) {
    return this.feed([id]);
  }

  dispose() {
    for (const l of this.layers) {
      l.k.release();
      l.v.release();
    }
    this.half?.release();
  }
}

/**
 * Caches for B sequences decoded together (batched greedy evaluation): per layer k, v
 * [B, NH, P, hd]. Each prompt is prefilled through its row's view of the caches; then every
 * step feeds one token per row, each at its own position, in one forward pass and one readback.
 */
export class KVCacheRows {
  readonly layers: LayerCache[];
  /** positions cached in each row */
  readonly lengths: number[];

  private half: HalfWeights | undefined;

  constructor(
    private model: GPT2,
    readonly B: number,
    o: { weights?: DecodeWeights } = {},
  ) {
    const c = model.config;
    this.layers = Array.from({ length: c.n_layer }, () =>
      kvCacheCreateRows(B, c.n_head, c.n_positions, c.n_embd / c.n_head),
    );
    this.lengths = new Array(B).fill(0);
    this.half = halfWeights(model, o.weights, B);
  }

  /** Feed each row's prompt (B of them); returns each row's logits after its last token. */
  async prefill(prompts: number[][]): Promise<Float32Array[]> {
    if (prompts.length !== this.B) throw new Error(`prefill: ${prompts.length} prompts for ${this.B} rows`);
    const c = this.model.config;
    const tapes: Tape[] = [];
    const inputs: Tensor[] = [];
    try {
      const logits = prompts.map((ids, b) => {
        if (ids.length === 0 || ids.length > c.n_positions)
          throw new Error(`prefill: prompt ${b} has ${ids.length} tokens (1..${c.n_positions})`);
        const tape = new Tape({ recording: false });
        const input = Tensor.from(ids, [ids.length], 'i32');
        tapes.push(tape);
        inputs.push(input);
        const layers = this.layers.map((l) => kvCacheRow(l, b));
        return this.model.forward(tape, input, 1, ids.length, { cache: { layers }, lastOnly: true, half: this.half });
      });
      const out = await Promise.all(logits.map((l) => l.value.toArray()));
      prompts.forEach((ids, b) => {
        this.lengths[b] = ids.length;
      });
      return out;
    } finally {
      for (const t of tapes) t.free();
      for (const t of inputs) t.release();
    }
  }

  /**
   * Feed one token per row at position lengths[b]; returns the logits [B, padded_vocab],
   * row-major. Rows with active[b] false (finished) are fed at their last position again and do
   * not advance: their logits mean nothing.
   */
  async step(ids: number[], active: boolean[] = ids.map(() => true)): Promise<Float32Array> {
    const c = this.model.config;
    if (ids.length !== this.B) throw new Error(`step: ${ids.length} ids for ${this.B} rows`);
    const full = this.lengths.findIndex((n, b) => active[b] && n >= c.n_positions);
    if (full >= 0) throw new Error(`KV cache full: row ${full} holds all ${c.n_positions} positions`);
    const at = this.lengths.map((n, b) => (active[b] ? n : Math.max(0, n - 1)));
    const tape = new Tape({ recording: false });
    const input = Tensor.from(ids, [ids.length], 'i32');
    const positions = Tensor.from(at, [this.B], 'u32');
    try {
      const logits = this.model.forward(tape, input, this.B, 1, {
        rows: { layers: this.layers, at: { positions, values: at } },
        half: this.half,
      });
      const out = await logits.value.toArray();
      for (let b = 0; b < this.B; b++) if (active[b]) this.lengths[b]++;
      return out;
    } finally {
      tape.free();
      input.release();
      positions.release();
    }
  }

  dispose() {
    for (const l of this.layers) {
      l.k.release();
      l.v.release();
    }
    this.half?.release();
  }
}
