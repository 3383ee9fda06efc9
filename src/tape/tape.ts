// The autograd tape, as small as micrograd's engine but over GPU tensors.
//
// A Var holds a value tensor and, after backward(), a gradient. Each op (src/tape/ops.ts)
// computes its output and records one backward closure on the tape. Ops are recorded in
// the order they run, so the reverse of the tape is a reverse topological order:
// backward() runs the closures from last to first. Gradients accumulate (a Var used
// twice receives the sum). Once a closure has run, the tensors it saved and its output's
// gradient go back to the buffer pool, so memory stays flat from step to step.
import { Tensor, shapeStr } from '../gpu/tensor.ts';
import { accumulate, fill } from '../ops/elementwise.ts';

export class Var {
  grad: Tensor | null = null;
  constructor(
    public value: Tensor,
    /** false for inputs and constants: no gradient is accumulated for them */
    public requiresGrad = false,
    public name = '',
    /** a parameter's gradient lives in persistent storage (the flat gradient buffer) */
    public persistentGrad: Tensor | null = null,
  ) {}

  get shape() {
    return this.value.shape;
  }

  /** Add `g` into this Var's gradient. Takes ownership of `g` (it may be released). */
  accumulate(g: Tensor) {
    if (!this.requiresGrad) {
      g.release();
      return;
    }
    if (g.size !== this.value.size)
      throw new Error(
        `gradient ${shapeStr(g.shape)} does not match ${this.name || 'value'} ${shapeStr(this.value.shape)}`,
      );
    const target = this.persistentGrad ?? this.grad;
    if (!target) {
      this.grad = g;
      return;
    }
    accumulate(target, g);
    g.release();
  }

  /** The gradient to read after backward(): the persistent one for parameters. */
  get gradient(): Tensor | null {
    return this.persistentGrad ?? this.grad;
  }
}

type Closure = () => void;

export class Tape {
  /** false: a no-grad tape (inference) that only owns intermediates and records no backward steps */
  readonly recording: boolean;
  private closures: Closure[] = [];
  private owned: Tensor[] = [];
  private done = false;
  private unitRoot: Var | null = null;

  constructor(opts: { recording?: boolean } = {}) {
    this.recording = opts.recording ?? true;
  }

  /** Record a backward step. */
  record(fn: Closure) {
    if (!this.recording) return;
    if (this.done) throw new Error('this tape was already used by backward(); start a new Tape for a new forward pass');
    this.closures.push(fn);
  }

  /** Tensors (forward intermediates) released when the tape is freed. */
  own(...ts: Tensor[]) {
    this.owned.push(...ts);
  }

  /** Hand `t` to the caller: free() will not release it. */
  detach(t: Tensor): Tensor {
    const i = this.owned.indexOf(t);
    if (i >= 0) this.owned.splice(i, 1);
    return t;
  }

  get length() {
    return this.closures.length;
  }

  /** True while backward() runs from `v` with the root gradient 1 (fused-gradient ops need this). */
  isUnitRoot(v: Var) {
    return this.unitRoot === v;
  }

  /**
   * Backpropagate from `root`, starting from `rootGrad` (d output / d root; 1 by default). A
   * non-scalar root needs an explicit one.
   * The tape can be used once; afterwards its intermediates are released.
   */
  backward(root: Var, rootGrad?: Tensor) {
    if (this.done)
      throw new Error('backward() called twice on the same tape: its graph was freed after the first call');
    if (!this.recording) throw new Error('backward() on a no-grad tape: nothing was recorded');
    if (!rootGrad) {
      if (root.value.size !== 1)
        throw new Error(`backward() on a non-scalar ${shapeStr(root.shape)} needs an explicit root gradient`);
      // a fill kernel, not an upload: a write from the CPU would submit the step's forward pass here
      rootGrad = fill(Tensor.empty(root.value.shape), 1);
      this.unitRoot = root;
    } else if (rootGrad.size !== root.value.size) {
      throw new Error(
        `backward(): root gradient ${shapeStr(rootGrad.shape)} does not match root ${shapeStr(root.shape)}`,
      );
    }
    root.requiresGrad = true;
    root.accumulate(rootGrad);
    for (let i = this.closures.length - 1; i >= 0; i--) this.closures[i]();
    this.free();
  }

  /** Release every intermediate (also used for no-grad forward passes). */
  free() {
    this.done = true;
    this.closures = [];
    for (const t of this.owned) t.release();
    this.owned = [];
  }
}

/** Take a Var's accumulated (non-persistent) gradient, leaving it empty. */
export function takeGrad(v: Var): Tensor | null {
  const g = v.grad;
  v.grad = null;
  return g;
}
