// src/gpu/driver.ts: Mesa/LLVM versions from adapter strings, and newer lavapipe from apt-cache policy.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers.ts';
import {
  parseDriver,
  describeDriver,
  parseAptPolicy,
  compareDebVersions,
  newerLavapipe,
  lavapipeAdvice,
  vulkanIcds,
} from '../src/gpu/driver.ts';

const BOOKWORM = `mesa-vulkan-drivers:
  Installed: 25.0.7-2~bpo12+1
  Candidate: 25.0.7-2~bpo12+1
  Version table:
 *** 25.0.7-2~bpo12+1 100
        100 http://deb.debian.org/debian bookworm-backports/main amd64 Packages
        100 /var/lib/dpkg/status
     22.3.6-1+deb12u2 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
`;
const TRIXIE_BPO = `mesa-vulkan-drivers:
  Installed: 25.0.7-6
  Candidate: 25.0.7-6
  Version table:
     26.1.6-1~bpo13+1 100
        100 http://deb.debian.org/debian trixie-backports/main amd64 Packages
 *** 25.0.7-6 500
        500 http://deb.debian.org/debian trixie/main amd64 Packages
        100 /var/lib/dpkg/status
`;
const NOBLE = `mesa-vulkan-drivers:
  Installed: 24.0.5-1ubuntu1
  Candidate: 24.2.8-1ubuntu1~24.04.1
  Version table:
     24.2.8-1ubuntu1~24.04.1 500
        500 http://archive.ubuntu.com/ubuntu noble-updates/main amd64 Packages
 *** 24.0.5-1ubuntu1 500
        500 http://archive.ubuntu.com/ubuntu noble/main amd64 Packages
        100 /var/lib/dpkg/status
`;
const NONE = `mesa-vulkan-drivers:
  Installed: (none)
  Candidate: 25.0.7-6
  Version table:
     25.0.7-6 500
        500 http://deb.debian.org/debian trixie/main amd64 Packages
`;

describe('parseDriver', () => {
  it("Dawn's lavapipe adapter info", () => {
    const d = parseDriver({
      description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
      device: 'llvmpipe-llvm-15-0-6-256-bits-',
    });
    expect(d).toEqual({
      name: 'llvmpipe',
      mesa: '25.0.7',
      mesaPackage: '25.0.7-2~bpo12+1',
      llvm: '15.0.6',
      simdBits: 256,
    });
    expect(describeDriver(d)).toBe('Mesa 25.0.7 (25.0.7-2~bpo12+1), LLVM 15.0.6, 256-bit SIMD');
  });
  it("Vulkan's device name, and the LLVM version from the device slug alone", () => {
    expect(parseDriver({ description: 'llvmpipe (LLVM 19.1.7, 512 bits)' })).toEqual({
      name: 'llvmpipe',
      llvm: '19.1.7',
      simdBits: 512,
    });
    expect(
      parseDriver({ device: 'llvmpipe-llvm-19-1-7-256-bits-', description: 'llvmpipe: Mesa 26.1.6-1~bpo13+1 0.0.1' }),
    ).toMatchObject({ mesa: '26.1.6', mesaPackage: '26.1.6-1~bpo13+1', llvm: '19.1.7' });
  });
  it('a hardware GPU: nothing Mesa', () => {
    expect(describeDriver(parseDriver({ description: 'NVIDIA GeForce RTX 4090', device: '' }))).toBe('');
  });
});

describe('apt-cache policy', () => {
  it('parses installed, candidate and the suites of each version', () => {
    const p = parseAptPolicy(BOOKWORM);
    expect(p.installed).toBe('25.0.7-2~bpo12+1');
    expect(p.versions).toEqual([
      { version: '25.0.7-2~bpo12+1', suites: ['bookworm-backports'] },
      { version: '22.3.6-1+deb12u2', suites: ['bookworm'] },
    ]);
    expect(parseAptPolicy(NONE).installed).toBeUndefined();
  });
  it('orders versions as dpkg does', () => {
    expect(compareDebVersions('25.0.7-2~bpo12+1', '25.0.7-2')).toBeLessThan(0);
    expect(compareDebVersions('26.1.6-1~bpo13+1', '25.0.7-6')).toBeGreaterThan(0);
    expect(compareDebVersions('25.0.7-2~bpo12+1', '22.3.6-1+deb12u2')).toBeGreaterThan(0);
    expect(compareDebVersions('1:22.0', '25.0')).toBeGreaterThan(0);
    expect(compareDebVersions('24.2.8-1ubuntu1~24.04.1', '24.2.8-1ubuntu1')).toBeLessThan(0);
    expect(compareDebVersions('25.0.10', '25.0.9')).toBeGreaterThan(0);
    expect(compareDebVersions('25.0.7-6', '25.0.7-6')).toBe(0);
  });
  it('names a newer lavapipe and the command that installs it', () => {
    expect(newerLavapipe(parseAptPolicy(BOOKWORM))).toBeUndefined();
    expect(newerLavapipe(parseAptPolicy(TRIXIE_BPO))).toEqual({
      version: '26.1.6-1~bpo13+1',
      suite: 'trixie-backports',
      command: 'apt-get install -y -t trixie-backports mesa-vulkan-drivers',
    });
    expect(newerLavapipe(parseAptPolicy(NOBLE))).toMatchObject({
      version: '24.2.8-1ubuntu1~24.04.1',
      command: 'apt-get install -y mesa-vulkan-drivers',
    });
    expect(newerLavapipe(parseAptPolicy(NONE))).toBeUndefined();
  });
});

describe('lavapipeAdvice', () => {
  it('says what is installed and names the newer one with its command', () => {
    expect(lavapipeAdvice(parseAptPolicy(BOOKWORM), 'bookworm')).toEqual([
      "25.0.7-2~bpo12+1 installed, the newest in this machine's apt sources",
    ]);
    const t = lavapipeAdvice(parseAptPolicy(TRIXIE_BPO), 'trixie');
    expect(t[0]).toBe(
      '25.0.7-6 installed; newer: 26.1.6-1~bpo13+1 from trixie-backports; as root: apt-get install -y -t trixie-backports mesa-vulkan-drivers',
    );
    expect(t[1]).toContain('KV-cache generation 0.34x');
  });
  it('on trixie without trixie-backports configured, points at LAVAPIPE=backports', () => {
    const t = lavapipeAdvice(parseAptPolicy(TRIXIE_BPO.replace(/ {5}26\.1\.6.*\n.*\n/, '')), 'trixie');
    expect(t[0]).toContain('the newest in');
    expect(t[1]).toContain('LAVAPIPE=backports npm run setup');
    expect(lavapipeAdvice(parseAptPolicy(NONE), 'trixie')[0]).toContain('not installed (25.0.7-6 available)');
  });
});

describe('vulkanIcds', () => {
  it('names each manifest and whether its library exists', () => {
    const dir = tempDir('icd-');
    fs.mkdirSync(path.join(dir, 'icd.d'));
    fs.mkdirSync(path.join(dir, 'lib'));
    fs.writeFileSync(path.join(dir, 'lib/libvulkan_lvp.so'), '');
    const icd = (name: string, lib: string) =>
      fs.writeFileSync(path.join(dir, 'icd.d', name), JSON.stringify({ ICD: { library_path: lib } }));
    icd('lvp_icd.json', 'libvulkan_lvp.so');
    icd('stale_icd.json', '/nonexistent/libvulkan_old.so');
    icd('rel_icd.json', '../lib/libvulkan_lvp.so');
    fs.writeFileSync(path.join(dir, 'icd.d/broken_icd.json'), '{ not json');
    const r = vulkanIcds({}, [path.join(dir, 'icd.d'), path.join(dir, 'absent')], [path.join(dir, 'lib')]);
    expect(r.map((i) => [path.basename(i.file), i.found, i.problem])).toEqual([
      ['broken_icd.json', false, 'not a valid ICD manifest'],
      ['lvp_icd.json', true, undefined],
      ['rel_icd.json', true, undefined],
      ['stale_icd.json', false, 'library /nonexistent/libvulkan_old.so not found'],
    ]);
    // VK_DRIVER_FILES replaces the folders; a missing file is named
    expect(vulkanIcds({ VK_DRIVER_FILES: `${dir}/gone.json` }, [], [])).toEqual([
      { file: `${dir}/gone.json`, found: false, problem: 'no such file' },
    ]);
  });
});

describe('shaderCacheDir (lavapipe vector width)', () => {
  it('gives a width other than the default its own Mesa shader cache, unless one is named', async () => {
    const { shaderCacheDir } = await import('../src/gpu/device.ts');
    expect(shaderCacheDir({})).toBeUndefined();
    expect(shaderCacheDir({ LP_NATIVE_VECTOR_WIDTH: '512', HOME: '/h' })).toBe('/h/.cache/mesa_shader_cache_lp512');
    expect(shaderCacheDir({ LP_NATIVE_VECTOR_WIDTH: '512', XDG_CACHE_HOME: '/x' })).toBe('/x/mesa_shader_cache_lp512');
    expect(shaderCacheDir({ LP_NATIVE_VECTOR_WIDTH: '512', MESA_SHADER_CACHE_DIR: '/mine' })).toBeUndefined();
  });
});
