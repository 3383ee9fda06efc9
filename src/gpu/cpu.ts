// The CPU this process runs on: for a CPU adapter (lavapipe) it, not the adapter's description,
// decides which kernel variant is fastest. A VM may name only "AMD EPYC", so the widest SIMD
// extension and /proc/cpuinfo's family and model numbers are recorded too (AMD family 23 = 17h:
// Zen 1/2; 25 = 19h: Zen 3/4): lavapipe ran the tiny training step about 3.5x slower on a
// family 23 model 1 than on an AVX-512 EPYC.
import fs from 'node:fs';
import os from 'node:os';

export interface CpuInfo {
  model: string;
  cores: number;
  simd?: string;
  family?: number;
  modelId?: number;
}

export function cpuInfo(): CpuInfo {
  let info = '';
  try {
    info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not Linux */
  }
  const field = (name: string) => new RegExp(`^${name}\\s*: (.*)$`, 'm').exec(info)?.[1];
  const has = new Set((field('flags') ?? '').split(' '));
  const simd = ['avx512f', 'avx2', 'avx', 'sse4_2'].find((f) => has.has(f));
  const family = Number(field('cpu family')),
    modelId = Number(field('model'));
  return {
    model: os.cpus()[0]?.model?.trim() || 'unknown',
    cores: os.availableParallelism(),
    ...(simd ? { simd } : {}),
    ...(Number.isFinite(family) && Number.isFinite(modelId) ? { family, modelId } : {}),
  };
}

/** One line: "AMD EPYC (2 cores, avx2, family 23 model 1)". */
export function describeCpu(c: CpuInfo): string {
  return `${c.model} (${c.cores} cores${c.simd ? `, ${c.simd}` : ''}${c.family !== undefined ? `, family ${c.family} model ${c.modelId}` : ''})`;
}
