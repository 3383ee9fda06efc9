// WebGPU device acquisition under Node.js (Dawn's bindings from the `webgpu` package).
//
// One process-wide device, created on first use with the adapter's maximum limits.
// Dawn busy-polls the main thread while a promise (mapAsync, onSubmittedWorkDone)
// is pending; on a CPU adapter (lavapipe) that steals a core from the driver's
// workers, so after the device exists we lower the main thread's priority.
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { create, globals } from 'webgpu';

// GPUBufferUsage, GPUMapMode, ... as globals, as in a browser.
Object.assign(globalThis, globals);

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** true for CPU implementations (lavapipe / llvmpipe / SwiftShader) */
  isSoftware: boolean;
}

export interface Gpu {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: AdapterSummary;
  features: Set<string>;
  /** the largest storage-buffer binding, in bytes (may be lowered for tests) */
  maxBinding: number;
  /** minStorageBufferOffsetAlignment */
  offsetAlign: number;
}

export const NO_ADAPTER_HELP = [
  'No WebGPU adapter found.',
  "On a machine without a GPU, install Mesa's software Vulkan driver (lavapipe), version 25 or newer.",
  'On Debian bookworm (its own Mesa 22.3 is too old for Dawn), as root:',
  '  echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/bookworm-backports.list',
  '  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers',
  'On Debian trixie (its own Mesa is 25.0.7) or Ubuntu, as root: apt-get update && apt-get install -y mesa-vulkan-drivers',
  'or simply run `npm run setup` as root, which does this for you.',
].join('\n');

export class NoAdapterError extends Error {
  constructor(detail = '') {
    super(NO_ADAPTER_HELP + (detail ? `\n(${detail})` : ''));
    this.name = 'NoAdapterError';
  }
}

// Keep a reference to the object create() returns: letting it be collected has crashed processes.
let gpuInstance: GPU | undefined;
let current: Promise<Gpu> | undefined;

export interface GpuOptions {
  /** artificially lower maxStorageBufferBindingSize (bytes), to test large-tensor splitting */
  maxBinding?: number;
}

function ensureRuntimeDir() {
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = `${os.tmpdir()}/xdg-runtime-${process.getuid?.() ?? 0}`;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
}

/**
 * The shader-cache directory for a lavapipe vector width other than its default, or undefined.
 * Mesa's on-disk shader cache does not key its entries on LP_NATIVE_VECTOR_WIDTH: a kernel
 * compiled at 256 bits and loaded at 512 (same SPIR-V) ran with the wrong lanes and gave wrong
 * results (tex-sg matmul, 2026-12-04, Mesa 25.0.7). So a process that sets the width gets a
 * cache of its own, unless MESA_SHADER_CACHE_DIR already names one.
 */
export function shaderCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const width = env.LP_NATIVE_VECTOR_WIDTH?.trim();
  if (!width || env.MESA_SHADER_CACHE_DIR) return undefined;
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, `mesa_shader_cache_lp${width.replace(/[^0-9]/g, '') || 'x'}`);
}

/**
 * Dawn's toggles for this process, from DAWN_ENABLE and DAWN_DISABLE (comma-separated toggle
 * names, e.g. DAWN_ENABLE=skip_validation,disable_robustness), as create() takes them. None by
 * default: bench/toggles.ts measures what each does on this adapter (bench/README.md).
 */
export function dawnFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const flags: string[] = [];
  for (const [name, flag] of [
    ['DAWN_ENABLE', 'enable-dawn-features'],
    ['DAWN_DISABLE', 'disable-dawn-features'],
  ] as const) {
    const list = (env[name] ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    for (const t of list)
      if (!/^[a-z0-9_]+$/.test(t)) throw new Error(`${name}: '${t}' is not a Dawn toggle name (lower_snake_case)`);
    if (list.length) flags.push(`${flag}=${list.join(',')}`);
  }
  return flags;
}

export async function requestAdapter(): Promise<GPUAdapter> {
  ensureRuntimeDir();
  const cache = shaderCacheDir();
  if (cache) process.env.MESA_SHADER_CACHE_DIR = cache; // read by lavapipe when the instance starts
  if (!gpuInstance) {
    gpuInstance = create(dawnFlags());
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpuInstance.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new NoAdapterError(String(e));
  }
  if (!adapter) throw new NoAdapterError();
  return adapter;
}

export function summarize(adapter: GPUAdapter): AdapterSummary {
  const i = adapter.info;
  const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.toLowerCase();
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    isSoftware: /llvmpipe|lavapipe|swiftshader|software/.test(text),
  };
}

async function createGpu(opts: GpuOptions): Promise<Gpu> {
  const adapter = await requestAdapter();
  const wanted: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const key of [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxComputeWorkgroupSizeZ',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBuffersPerShaderStage',
    'maxStorageTexturesPerShaderStage',
    'maxTextureDimension2D',
    'maxBindGroups',
  ]) {
    const v = (adapter.limits as unknown as Record<string, number>)[key];
    if (typeof v === 'number') requiredLimits[key] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const info = summarize(adapter);
  device.lost.then((l) => {
    if (l.reason !== 'destroyed') {
      console.error(`WebGPU device lost (${l.reason}): ${l.message}`);
      process.exitCode = 1;
    }
  });
  // Lower this thread's priority only now: the driver's worker threads already exist
  // and keep the normal priority, so the busy-polling main thread yields to them.
  if (info.isSoftware) {
    try {
      os.setPriority(0, 19);
    } catch {
      /* not permitted: harmless */
    }
  }
  const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, opts.maxBinding ?? Number.POSITIVE_INFINITY);
  return {
    device,
    adapter,
    info,
    features: new Set([...device.features] as string[]),
    maxBinding: Math.floor(maxBinding / 256) * 256,
    offsetAlign: device.limits.minStorageBufferOffsetAlignment,
  };
}

/** The GPU object (what navigator.gpu is in a browser) that the device came from, once requested; for libraries that expect navigator.gpu. */
export function gpuObject(): GPU | undefined {
  return gpuInstance;
}

/** The process-wide device (created on first call). */
export function getGpu(opts: GpuOptions = {}): Promise<Gpu> {
  if (!current) current = createGpu(opts);
  return current;
}

/** For tests: change the binding limit of the existing device. */
export async function setMaxBinding(bytes: number | undefined) {
  const g = await getGpu();
  g.maxBinding = Math.floor(Math.min(bytes ?? Infinity, g.device.limits.maxStorageBufferBindingSize) / 256) * 256;
}
