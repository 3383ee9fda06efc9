// The KV cache for generation: per layer, k and v of every position so far, each
// [nHead, n_positions, headDim]. A decoder over it feeds only new tokens through the model.
import { Tensor } from '../gpu/tensor.ts';
import { kvCacheCreate } from '../ops/attention.ts';
import { Tape } from '../tape/tape.ts';
import type { Decoder } from './generate.ts';
import type { GPT2 } from './gpt2.ts';

export class KVCache implements Decoder {
  readonly layers: { k: Tensor; v: Tensor }[];
  /** positions already in the cache */
  length = 0;

  constructor(private model: GPT2) {
    const c = model.config;
    this.layers = Array.from({ length: c.n_layer }, () => kvCacheCreate(c.n_head, c.n_positions, c.n_embd / c.n_head));
  }

  /** Run `ids` through the model at positions length.. and return the last position's logits. */
  private async feed(ids: number[]): Promise<Float32Array> {
    const c = this.model.config;
    if (this.length + ids.length > c.n_positions) throw new Error(`KV cache full: ${this.length} + ${ids.length} tokens exceed ${c.n_positions} positions`);
    const tape = new Tape({ grad: false });
    const input = Tensor.from(ids, [ids.length], 'i32');
    try {
      const logits = this.model.forward(tape, input, 1, ids.length, { posOffset: this.length, cache: this, lastOnly: true });
      this.length += ids.length;
      return await logits.value.toArray();
    } finally {
      tape.free();
      input.release();
    }
  }

  prefill(ids: number[]) { this.length = 0; return this.feed(ids); }
  step(id: number) { return this.feed([id]); }

  dispose() {
    for (const l of this.layers) { l.k.release(); l.v.release(); }
  }
}
