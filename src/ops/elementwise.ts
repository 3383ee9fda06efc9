// Elementwise ops (kernels/elementwise.wgsl). Tensors of any size: the element range is
// cut into windows that each fit one storage binding, one dispatch per window.
import { dispatch, grid, kernel, vec4Parts, rowsPerBinding } from '../gpu/runtime.ts';
import { Tensor, shapeStr } from '../gpu/tensor.ts';

const WG = 256;

function sameShape(op: string, ts: Tensor[]) {
  for (const t of ts) {
    if (t.dtype !== 'f32') throw new Error(`${op}: expected f32 tensors, got ${t.dtype} ${shapeStr(t.shape)}`);
    if (t.size !== ts[0].size)
      throw new Error(`${op}: shapes ${ts.map((x) => shapeStr(x.shape)).join(' and ')} differ`);
    if (t.released) throw new Error(`${op}: tensor ${shapeStr(t.shape)} was released`);
  }
}

const map4 = (f: string) => `vec4f(${f}(v.x), ${f}(v.y), ${f}(v.z), ${f}(v.w))`;
const DEFS = {
  f32: { V: 'f32', GELU_V: 'gelu_f(v)', GELU_GRAD_V: 'gelu_grad(v)' },
  vec4f: { V: 'vec4f', GELU_V: map4('gelu_f'), GELU_GRAD_V: map4('gelu_grad') },
};

/**
 * Run entry `entry` over `inputs` writing `out`, window by window: where every window starts at
 * a multiple of 4 floats, the vec4 form over whole vec4s and the f32 form over the tail.
 */
function run(entry: string, inputs: Tensor[], out: Tensor, alpha = 0, beta = 0) {
  sameShape(entry, [...inputs, out]);
  // a window must fit one binding even after aligning its start down; a multiple of 4 floats
  const win = rowsPerBinding(entry, 4, 'four floats', 4);
  for (let start = 0; start < out.size; start += win) {
    const n = Math.min(win, out.size - start);
    const ranges = [...inputs, out].map((t) => t.range(start, n));
    const bases = [0, 0, 0];
    // param slots a0, b0, o0: binary ops use all three; unary ops use a0 and o0
    if (inputs.length === 2) {
      bases[0] = ranges[0].base;
      bases[1] = ranges[1].base;
      bases[2] = ranges[2].base;
    } else if (inputs.length === 1) {
      bases[0] = ranges[0].base;
      bases[2] = ranges[1].base;
    } else bases[2] = ranges[0].base;
    // (an unused base slot is 0, which never stops the vec4 form)
    for (const { V, count, bases: b } of vec4Parts(n, bases)) {
      const [gx, gy] = grid(Math.ceil(count / WG));
      dispatch(
        kernel('elementwise.wgsl', entry, DEFS[V]),
        { n: count, a0: b[0], b0: b[1], o0: b[2], alpha, beta, row: gx * WG },
        ranges,
        [gx, gy],
      );
    }
  }
  return out;
}

export const add = (a: Tensor, b: Tensor, out = Tensor.empty(a.shape)) => run('add', [a, b], out);
export const mul = (a: Tensor, b: Tensor, out = Tensor.empty(a.shape)) => run('mul', [a, b], out);
/** out = alpha·a + beta·b */
export const axpby = (alpha: number, a: Tensor, beta: number, b: Tensor, out = Tensor.empty(a.shape)) =>
  run('axpby', [a, b], out, alpha, beta);
export const scale = (a: Tensor, alpha: number, out = Tensor.empty(a.shape)) => run('scale', [a], out, alpha);
export const gelu = (x: Tensor, out = Tensor.empty(x.shape)) => run('gelu', [x], out);
/** dx = dy · gelu'(x) */
export const geluBackward = (x: Tensor, dy: Tensor, out = Tensor.empty(x.shape)) => run('gelu_backward', [x, dy], out);
/** out += alpha·a, in place (out is bound once, read_write) */
export const accumulate = (out: Tensor, a: Tensor, alpha = 1) => run('accumulate', [a], out, alpha);
export const copy = (a: Tensor, out = Tensor.empty(a.shape)) => run('copy', [a], out);
export const fill = (out: Tensor, value: number) => run('fill', [], out, value);
