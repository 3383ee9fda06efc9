import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setup, randn, poisoned, expectClose } from './helpers.ts';
import { Tensor, poolStats, trimPool } from '../src/gpu/tensor.ts';
import { setMaxBinding } from '../src/gpu/device.ts';
import {
  counters,
  dispatch,
  kernel,
  paramLayout,
  resetCounters,
  runtime,
  sync,
  specialise,
} from '../src/gpu/runtime.ts';
import * as ew from '../src/ops/elementwise.ts';
import * as ref from '../src/ref/cpu.ts';

beforeAll(setup);
afterEach(() => setMaxBinding(undefined));

describe('tensor', () => {
  it('round-trips f32, f16, u32 and i32 data, and views', async () => {
    const x = randn(1001, 7);
    expectClose(await Tensor.from(x, [7, 143]).toArray(), x, 0, 0);
    const h = Tensor.from([1, -2.5, 65504, 0.333251953125, 7], [5], 'f16');
    expect([...(await h.toArray())]).toEqual([1, -2.5, 65504, 0.333251953125, 7]);
    expect([...(await Tensor.from([0, 1, 4294967295], [3], 'u32').read())]).toEqual([0, 1, 4294967295]);
    expect([...(await Tensor.from([-3, 0, 5], [3], 'i32').read())]).toEqual([-3, 0, 5]);
    const big = Tensor.from(x, [1001]);
    const v = big.view(37, [11, 3]);
    expectClose(await v.toArray(), x.subarray(37, 70), 0, 0);
    // an op on a view at an unaligned offset writes only that window
    ew.fill(v, 2);
    const after = await big.toArray();
    expect(after[36]).toBe(x[36]);
    expect(after[37]).toBe(2);
    expect(after[69]).toBe(2);
    expect(after[70]).toBe(x[70]);
  });

  it('counts dispatches, workgroups, submissions and waits until reset', async () => {
    const t = Tensor.empty([1024]);
    await sync();
    resetCounters();
    ew.fill(t, 1); // 1024 floats: one vec4 dispatch of one 256-wide workgroup
    ew.fill(t, 2);
    expect(counters()).toEqual({ dispatches: 2, workgroups: 2, submits: 0, waits: 0 });
    await sync(); // both in one command buffer
    await sync(); // nothing enqueued: nothing submitted
    expect(resetCounters()).toEqual({ dispatches: 2, workgroups: 2, submits: 1, waits: 2 });
    expect((await t.read())[0]).toBe(2); // a read-back: one copy submitted, one wait
    expect(resetCounters()).toEqual({ dispatches: 0, workgroups: 0, submits: 1, waits: 1 });
    expect(counters()).toEqual({ dispatches: 0, workgroups: 0, submits: 0, waits: 0 });
    t.release();
  });

  it('reuses pool buffers instead of allocating', () => {
    const t = Tensor.empty([1000]);
    t.release();
    const before = poolStats().allocations;
    const u = Tensor.empty([999]);
    expect(poolStats().allocations).toBe(before);
    u.release();
    expect(() => u.buffer).toThrow(/used after release/);
  });

  it('reuses bind groups for the same kernel and ranges, and forgets them when pool buffers are destroyed', async () => {
    const x = Tensor.from([1, 2, 3, 4, 5], [5]),
      y = Tensor.from([10, 20, 30, 40, 50], [5]);
    const stats = runtime().bindGroupStats;
    const step = async () => {
      const z = ew.add(x, y);
      const v = await z.read();
      z.release();
      return v;
    };
    await step(); // the first may make its groups
    const made = stats.made,
      reused = stats.reused;
    expect(Array.from(await step())).toEqual([11, 22, 33, 44, 55]); // same kernel, same buffers
    expect(stats.made).toBe(made);
    expect(stats.reused).toBeGreaterThan(reused);
    const w = Tensor.from([1, 1, 1, 1, 1], [5]); // another input: a new group, the right result
    const z = ew.add(x, w);
    expect(Array.from(await z.read())).toEqual([2, 3, 4, 5, 6]);
    expect(stats.made).toBeGreaterThan(made);
    for (const t of [z, w]) t.release();
    trimPool();
    expect(runtime().bindGroups.size).toBe(0);
    expect(Array.from(await step())).toEqual([11, 22, 33, 44, 55]); // pool buffers after the trim are new
    for (const t of [x, y]) t.release();
  });
});

describe('elementwise', () => {
  const n = 1027;
  const a = randn(n, 1, 3),
    b = randn(n, 2, 3);
  const A = () => Tensor.from(a, [n]),
    B = () => Tensor.from(b, [n]);
  const cases: [string, (o: Tensor) => Tensor, (i: number) => number][] = [
    ['add', (o) => ew.add(A(), B(), o), (i) => a[i] + b[i]],
    ['mul', (o) => ew.mul(A(), B(), o), (i) => a[i] * b[i]],
    ['axpby', (o) => ew.axpby(0.5, A(), -2, B(), o), (i) => 0.5 * a[i] - 2 * b[i]],
    ['scale', (o) => ew.scale(A(), 1.5, o), (i) => 1.5 * a[i]],
    ['copy', (o) => ew.copy(A(), o), (i) => a[i]],
    ['gelu', (o) => ew.gelu(A(), o), (i) => ref.gelu(a[i])],
    ['gelu_backward', (o) => ew.geluBackward(A(), B(), o), (i) => b[i] * ref.geluGrad(a[i])],
  ];
  for (const [name, op, want] of cases) {
    it(name, async () => {
      const out = poisoned([n]);
      op(out);
      expectClose(
        await out.toArray(),
        Array.from({ length: n }, (_, i) => want(i)),
        1e-5,
        1e-6,
        name,
      );
    });
  }

  it('GELU stays finite for large |x|', async () => {
    const x = [-1e4, -100, -20, 20, 100, 1e4, 3e38, -3e38];
    const y = await ew.gelu(Tensor.from(x, [x.length])).toArray();
    const dy = await ew
      .geluBackward(
        Tensor.from(x, [x.length]),
        Tensor.from(
          x.map(() => 1),
          [x.length],
        ),
      )
      .toArray();
    expectClose(
      y,
      x.map((v) => Math.max(v, 0)),
      1e-6,
      0,
      'gelu',
    );
    expectClose(
      dy,
      x.map((v) => (v > 0 ? 1 : 0)),
      1e-6,
      0,
      'gelu grad',
    );
  });

  it('splits tensors larger than one storage binding into windows', async () => {
    await setMaxBinding(4096); // 1024 floats per binding
    const m = 5000 + 13;
    const x = randn(m, 3),
      y = randn(m, 4);
    const out = poisoned([m]);
    ew.add(Tensor.from(x, [m]), Tensor.from(y, [m]), out);
    expectClose(
      await out.toArray(),
      Array.from({ length: m }, (_, i) => x[i] + y[i]),
      1e-6,
      1e-6,
    );
  });

  it('rejects mismatched shapes naming the op', () => {
    expect(() => ew.add(Tensor.empty([3]), Tensor.empty([4]))).toThrow(/add: shapes \[3\] and \[4\]/);
  });
});

describe('runtime', () => {
  it('reports a WGSL compile error with the kernel file name', async () => {
    expect(() => specialise('x.wgsl', 'let a = {{MISSING}};', {})).toThrow(
      /kernels\/x.wgsl: placeholder \{\{MISSING\}\}/,
    );
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { KERNEL_DIR } = await import('../src/gpu/runtime.ts');
    const file = path.join(KERNEL_DIR, '_broken_test.wgsl');
    fs.writeFileSync(file, '@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing; }\n');
    try {
      kernel('_broken_test.wgsl', 'main');
      await expect(sync()).rejects.toThrow(/kernels\/_broken_test.wgsl \(main\) failed to compile/);
    } finally {
      fs.unlinkSync(file);
    }
  });

  it('turns a validation error into an exception naming the kernel', async () => {
    const k = kernel('elementwise.wgsl', 'add', { V: 'f32', GELU_V: 'v', GELU_GRAD_V: 'v' });
    const t = Tensor.empty([4]);
    // binding 3 (the output) missing: createBindGroup fails validation
    dispatch(k, { n: 4, row: 4 }, [t.binding, t.binding], [1]);
    await expect(sync()).rejects.toThrow(/elementwise.wgsl:add/);
  });
});

describe('named kernel parameters', () => {
  const wgsl = `
struct Params { n: u32, x0: u32, alpha: f32, shift: i32 }
struct TailParams { count: u32, o0: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> p: Params;      // body, helper
@group(0) @binding(0) var<uniform> pt: TailParams; // tail
fn helper(i: u32) -> u32 { return p.x0 + i; }
@compute @workgroup_size(1) fn body() { let a = helper(p.n); }
@compute @workgroup_size(1) fn tail() { let b = pt.count; }
@compute @workgroup_size(1) fn both() { let a = p.n + pt.count; }`;

  it("reads each entry point's struct, through the functions it calls", () => {
    expect(paramLayout('t.wgsl', wgsl, 'body')).toEqual([
      { name: 'n', type: 'u32' },
      { name: 'x0', type: 'u32' },
      { name: 'alpha', type: 'f32' },
      { name: 'shift', type: 'i32' },
    ]);
    expect(paramLayout('t.wgsl', wgsl, 'tail').map((f) => f.name)).toEqual(['count', 'o0', '_p0', '_p1']);
    expect(() => paramLayout('t.wgsl', wgsl, 'both')).toThrow(/reads 2 uniform parameter structs \(p, pt\)/);
    expect(() =>
      paramLayout('t.wgsl', 'struct P { v: vec2f }\n@group(0) @binding(0) var<uniform> p: P;', 'main'),
    ).toThrow(/'v: vec2f' is not a u32, i32 or f32/);
  });

  it('packs values by name and type, fills omitted fields with 0, and rejects unknown names and bad values', async () => {
    // axpby: o = alpha·a + beta·b, every field by name (the padding field is never set)
    const k = kernel('elementwise.wgsl', 'axpby', { V: 'f32', GELU_V: 'v', GELU_GRAD_V: 'v' });
    const a = Tensor.from([1, 2, 3], [3]),
      b = Tensor.from([10, 20, 30], [3]),
      o = Tensor.empty([3]);
    const [ra, rb, ro] = [a.binding, b.binding, o.binding];
    dispatch(k, { n: 3, a0: ra.base, b0: rb.base, o0: ro.base, alpha: 0.5, beta: -2, row: 256 }, [ra, rb, ro], [1]);
    expect([...(await o.toArray())]).toEqual([-19.5, -39, -58.5]);
    expect(() => dispatch(k, { n: 3, alpah: 1 }, [a.binding, b.binding, o.binding], [1])).toThrow(
      /no parameter 'alpah' \(it has n, a0, b0, o0, alpha, beta, row\)/,
    );
    expect(() => dispatch(k, { _pad: 1 }, [a.binding, b.binding, o.binding], [1])).toThrow(/no parameter '_pad'/);
    expect(() => dispatch(k, { n: -1 }, [a.binding, b.binding, o.binding], [1])).toThrow(
      /parameter n = -1 is not a u32/,
    );
    expect(() => dispatch(k, { n: 1.5 }, [a.binding, b.binding, o.binding], [1])).toThrow(
      /parameter n = 1.5 is not a u32/,
    );
    for (const t of [a, b, o]) t.release();
  });
});
