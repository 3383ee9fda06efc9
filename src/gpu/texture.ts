// rgba32float textures for the texture kernels (matmul, attention): a pool by size, so that
// repeated products of one shape reuse their packed-operand textures (queue order makes reuse
// safe, as for the buffer pool), the texture-dimension limit, and the adapter's subgroup size.
// The pool lives in the Runtime (src/gpu/runtime.ts).
import { gpu, runtime, type Runtime } from './runtime.ts';

/** The texture pool's counters (textures and bytes held, allocations, reuses). */
export function texturePoolStats(): Runtime['texturePoolStats'] {
  return runtime().texturePoolStats;
}

export function acquireTexture(w: number, h: number): GPUTexture {
  const { freeTextures, texturePoolStats: stats } = runtime();
  const key = `${w}x${h}`;
  const list = freeTextures.get(key);
  if (list?.length) {
    stats.reuses++;
    return list.pop()!;
  }
  stats.textures++;
  stats.allocations++;
  stats.bytes += w * h * 16;
  return gpu().device.createTexture({
    label: `matmul-operand-${key}`,
    size: [w, h],
    format: 'rgba32float',
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
  });
}

export function releaseTexture(t: GPUTexture) {
  const { freeTextures } = runtime();
  const key = `${t.width}x${t.height}`;
  let list = freeTextures.get(key);
  if (!list) freeTextures.set(key, (list = []));
  list.push(t);
}

/** Destroy the free packed-operand textures. */
export function trimTexturePool() {
  const { freeTextures, texturePoolStats: stats } = runtime();
  for (const list of freeTextures.values())
    for (const t of list) {
      stats.textures--;
      stats.bytes -= t.width * t.height * 16;
      t.destroy();
    }
  freeTextures.clear();
}

/** The largest texture dimension the texture kernels may use (runtime().options.maxTexture lowers it). */
export function maxTexture(): number {
  return Math.min(gpu().device.limits.maxTextureDimension2D, runtime().options.maxTexture ?? Infinity);
}

/** The subgroup size, when the adapter has subgroups of one fixed size; else 0. */
export function subgroupSize(): number {
  const g = gpu();
  if (!g.features.has('subgroups')) return 0;
  const i = g.adapter.info as unknown as { subgroupMinSize?: number; subgroupMaxSize?: number };
  return i.subgroupMinSize && i.subgroupMinSize === i.subgroupMaxSize ? i.subgroupMinSize : 0;
}
