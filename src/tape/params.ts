// The parameter registry: named parameters laid out in one flat buffer (as llm.c does),
// with matching flat buffers for gradients and AdamW's m and v.
//
// Layout: tensors that take weight decay (ParamSpec.decay: wte, wpe, matmul weights) come
// first, then the rest (biases, LayerNorm), so AdamW is two dispatches over two ranges.
// Each tensor starts on a 64-element (256-byte) boundary, so views bind without shifting.
//
// freeze() turns a registry into constants (a LoRA base): its Vars stop requiring gradients,
// so the tape's ops skip their weight products, and the gradient buffer is released; no AdamW
// state is ever allocated for it.
import { Tensor, numel } from '../gpu/tensor.ts';
import { Var } from './tape.ts';

export interface ParamSpec {
  name: string;
  shape: number[];
  /** whether AdamW applies weight decay to it */
  decay: boolean;
}

const ALIGN = 64;

export class Params {
  readonly specs: ParamSpec[];
  readonly offsets = new Map<string, number>();
  readonly total: number;
  /** elements [0, decayEnd) take weight decay, [decayEnd, total) do not */
  readonly decayEnd: number;
  readonly values: Tensor;
  private gradBuffer: Tensor | null;
  private vars = new Map<string, Var>();
  private state: { m: Tensor; v: Tensor } | null = null;

  constructor(specs: ParamSpec[]) {
    const decay = specs.filter((s) => s.decay);
    const rest = specs.filter((s) => !s.decay);
    this.specs = [...decay, ...rest];
    let off = 0;
    let decayEnd = 0;
    for (const s of this.specs) {
      if (this.offsets.has(s.name)) throw new Error(`duplicate parameter ${s.name}`);
      this.offsets.set(s.name, off);
      off += Math.ceil(numel(s.shape) / ALIGN) * ALIGN;
      if (s.decay) decayEnd = off;
    }
    this.total = off;
    this.decayEnd = decayEnd;
    this.values = Tensor.zeros([off]);
    const grads = Tensor.zeros([off]);
    this.gradBuffer = grads;
    for (const s of this.specs) {
      const o = this.offsets.get(s.name)!;
      this.vars.set(s.name, new Var(this.values.view(o, s.shape), true, s.name, grads.view(o, s.shape)));
    }
  }

  /** The flat gradient buffer (frozen parameters have none). */
  get grads(): Tensor {
    if (!this.gradBuffer) throw new Error('frozen parameters have no gradients');
    return this.gradBuffer;
  }

  /** true after freeze(): constants, no gradients, no optimizer state */
  get frozen() {
    return this.gradBuffer === null;
  }

  /** Make every parameter a constant: no gradient accumulates for it, its gradient buffer is released. */
  freeze() {
    if (this.state) throw new Error('freeze(): these parameters already have optimizer state');
    if (!this.gradBuffer) return;
    for (const v of this.vars.values()) {
      v.requiresGrad = false;
      v.persistentGrad = null;
    }
    this.gradBuffer.release();
    this.gradBuffer = null;
  }

  /** The parameter's Var (its value and persistent gradient are views of the flat buffers). */
  get(name: string): Var {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter named ${name}`);
    return v;
  }

  has(name: string) {
    return this.vars.has(name);
  }

  /** Number of scalars (without alignment padding). */
  get count() {
    return this.specs.reduce((a, s) => a + numel(s.shape), 0);
  }

  zeroGrad() {
    this.gradBuffer?.zero();
  }

  /** whether AdamW's moments have been allocated */
  get hasAdamState() {
    return this.state !== null;
  }

  /** AdamW's first and second moments, allocated (zeroed) on first use. */
  get adamState() {
    if (this.frozen) throw new Error('frozen parameters take no optimizer state');
    if (!this.state) this.state = { m: Tensor.zeros([this.total]), v: Tensor.zeros([this.total]) };
    return this.state;
  }

  /** Write one parameter's values from the CPU. */
  set(name: string, data: ArrayLike<number>) {
    const v = this.get(name);
    if (data.length !== v.value.size)
      throw new Error(`parameter ${name}: ${data.length} values for shape [${v.shape}]`);
    v.value.write(data);
  }

  async read(name: string): Promise<Float32Array> {
    return this.get(name).value.toArray();
  }
}
