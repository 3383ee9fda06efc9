// rgba32float textures for the texture kernels (matmul, attention): a pool by size, so that
// repeated products of one shape reuse their packed-operand textures (queue order makes reuse
// safe, as for the buffer pool), the texture-dimension limit, and the adapter's subgroup size.
import { gpu } from './runtime.ts';

/** For tests: a smaller texture-dimension limit than the device's, to exercise texture blocking. */
export const textureLimits: { maxTexture?: number } = {};

// A pool of rgba32float textures by size: repeated products of one shape reuse their
// packed-operand textures. Queue order makes reuse safe (as for the buffer pool).
const texFree = new Map<string, GPUTexture[]>();
export const texturePoolStats = { textures: 0, bytes: 0, allocations: 0, reuses: 0 };

export function acquireTexture(w: number, h: number): GPUTexture {
  const key = `${w}x${h}`;
  const list = texFree.get(key);
  if (list?.length) {
    texturePoolStats.reuses++;
    return list.pop()!;
  }
  texturePoolStats.textures++;
  texturePoolStats.allocations++;
  texturePoolStats.bytes += w * h * 16;
  return gpu().device.createTexture({
    label: `matmul-operand-${key}`,
    size: [w, h],
    format: 'rgba32float',
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
  });
}

export function releaseTexture(t: GPUTexture) {
  const key = `${t.width}x${t.height}`;
  let list = texFree.get(key);
  if (!list) texFree.set(key, (list = []));
  list.push(t);
}

/** Destroy the free packed-operand textures. */
export function trimTexturePool() {
  for (const list of texFree.values())
    for (const t of list) {
      texturePoolStats.textures--;
      texturePoolStats.bytes -= t.width * t.height * 16;
      t.destroy();
    }
  texFree.clear();
}

/** The largest texture dimension the texture kernels may use. */
export function maxTexture(): number {
  return Math.min(gpu().device.limits.maxTextureDimension2D, textureLimits.maxTexture ?? Infinity);
}

/** The subgroup size, when the adapter has subgroups of one fixed size; else 0. */
export function subgroupSize(): number {
  const g = gpu();
  if (!g.features.has('subgroups')) return 0;
  const i = g.adapter.info as unknown as { subgroupMinSize?: number; subgroupMaxSize?: number };
  return i.subgroupMinSize && i.subgroupMinSize === i.subgroupMaxSize ? i.subgroupMinSize : 0;
}
