// Which driver an adapter is (Mesa and LLVM versions of lavapipe), and whether the
// distro's apt archives offer a newer lavapipe: parsing only, doctor and the bench feed it
// the adapter info and `apt-cache policy mesa-vulkan-drivers` output. And, for doctor when
// there is no adapter: which Vulkan ICD manifests the loader would try, and whether their
// libraries exist.
import fs from 'node:fs';
import path from 'node:path';

export interface DriverInfo {
  /** e.g. "llvmpipe" (the part of the description before the colon or parenthesis) */
  name?: string;
  /** upstream Mesa version, e.g. "25.0.7" */
  mesa?: string;
  /** the full version in the description, e.g. "25.0.7-2~bpo12+1" (a distro's package version) */
  mesaPackage?: string;
  /** e.g. "15.0.6" */
  llvm?: string;
  /** llvmpipe's vector width, e.g. 256 */
  simdBits?: number;
}

/** Mesa / LLVM versions from the adapter's description and device strings, e.g.
 * "llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1" and "llvmpipe-llvm-15-0-6-256-bits-"
 * (or Vulkan's deviceName "llvmpipe (LLVM 15.0.6, 256 bits)"). Fields not found are absent. */
export function parseDriver(info: { description?: string; device?: string }): DriverInfo {
  const text = `${info.description ?? ''} ${info.device ?? ''}`;
  const d: DriverInfo = {};
  const name = /^\s*([A-Za-z][\w-]*?)(?:\s*[:(]|-llvm-)/.exec(info.description || info.device || '');
  if (name) d.name = name[1];
  const mesa = /Mesa (\d+\.\d+(?:\.\d+)?)([^\s()]*)/.exec(text);
  if (mesa) {
    d.mesa = mesa[1];
    d.mesaPackage = mesa[1] + mesa[2];
  }
  const llvm = /LLVM (\d+(?:\.\d+)*)/i.exec(text) ?? /llvm-(\d+)-(\d+)-(\d+)/i.exec(text);
  if (llvm) d.llvm = llvm.length > 2 ? llvm.slice(1, 4).join('.') : llvm[1];
  const bits = /(\d+)[- ]bits/.exec(text);
  if (bits) d.simdBits = Number(bits[1]);
  return d;
}

/** One line: "Mesa 25.0.7 (25.0.7-2~bpo12+1), LLVM 15.0.6, 256-bit SIMD", or '' for no Mesa driver. */
export function describeDriver(d: DriverInfo): string {
  const parts: string[] = [];
  if (d.mesa) parts.push(`Mesa ${d.mesa}${d.mesaPackage && d.mesaPackage !== d.mesa ? ` (${d.mesaPackage})` : ''}`);
  if (d.llvm) parts.push(`LLVM ${d.llvm}`);
  if (d.simdBits) parts.push(`${d.simdBits}-bit SIMD`);
  return parts.join(', ');
}

export interface AptPolicy {
  installed?: string;
  candidate?: string;
  /** the version table: each version and the suites (e.g. "trixie-backports") that carry it */
  versions: { version: string; suites: string[] }[];
}

/** Parse `apt-cache policy PACKAGE` for one package. */
export function parseAptPolicy(text: string): AptPolicy {
  const p: AptPolicy = { versions: [] };
  const none = (v: string) => (v === '(none)' ? undefined : v);
  let inTable = false;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^\s+Installed: (\S+)/.exec(line))) p.installed = none(m[1]);
    else if ((m = /^\s+Candidate: (\S+)/.exec(line))) p.candidate = none(m[1]);
    else if (/^\s+Version table:/.test(line)) inTable = true;
    else if (inTable && (m = /^\s+(?:\*\*\* )?\s*(\S+) -?\d+$/.exec(line)))
      p.versions.push({ version: m[1], suites: [] });
    else if (inTable && p.versions.length && (m = /^\s+-?\d+ \S+ (\S+?)(?:\/\S+)? \S+ Packages$/.exec(line))) {
      p.versions[p.versions.length - 1].suites.push(m[1]);
    }
  }
  return p;
}

/** dpkg's version order (epoch:upstream-revision, '~' before everything): <0, 0, >0. */
export function compareDebVersions(a: string, b: string): number {
  const split = (v: string) => {
    const e = /^(\d+):/.exec(v);
    const rest = e ? v.slice(e[0].length) : v;
    const dash = rest.lastIndexOf('-');
    return [e ? Number(e[1]) : 0, dash < 0 ? rest : rest.slice(0, dash), dash < 0 ? '' : rest.slice(dash + 1)] as const;
  };
  const order = (c: string) =>
    c === '~' ? -1 : c === '' ? 0 : /[A-Za-z]/.test(c) ? c.charCodeAt(0) : c.charCodeAt(0) + 256;
  const part = (x: string, y: string): number => {
    let i = 0,
      j = 0;
    while (i < x.length || j < y.length) {
      while ((i < x.length && !/\d/.test(x[i])) || (j < y.length && !/\d/.test(y[j]))) {
        const cx = i < x.length && !/\d/.test(x[i]) ? x[i] : '';
        const cy = j < y.length && !/\d/.test(y[j]) ? y[j] : '';
        if (order(cx) !== order(cy)) return order(cx) - order(cy);
        if (cx) i++;
        if (cy) j++;
      }
      let nx = '',
        ny = '';
      while (i < x.length && /\d/.test(x[i])) nx += x[i++];
      while (j < y.length && /\d/.test(y[j])) ny += y[j++];
      const diff = Number(nx || 0) - Number(ny || 0);
      if (diff) return diff;
    }
    return 0;
  };
  const [ea, ua, ra] = split(a),
    [eb, ub, rb] = split(b);
  return ea - eb || part(ua, ub) || part(ra, rb);
}

export interface Upgrade {
  version: string;
  suite?: string;
  /** what to run as root */
  command: string;
}

/** The newest version in the table if it is newer than the installed one, with the command installing it. */
export function newerLavapipe(p: AptPolicy): Upgrade | undefined {
  if (!p.installed || !p.versions.length) return undefined;
  const best = [...p.versions].sort((x, y) => compareDebVersions(y.version, x.version))[0];
  if (compareDebVersions(best.version, p.installed) <= 0) return undefined;
  // the candidate is a plain upgrade; a backports suite is pinned low (100) so it needs -t
  const suite = best.suites[0];
  const command =
    best.version === p.candidate
      ? 'apt-get install -y mesa-vulkan-drivers'
      : suite?.endsWith('-backports')
        ? `apt-get install -y -t ${suite} mesa-vulkan-drivers`
        : `apt-get install -y mesa-vulkan-drivers=${best.version}`;
  return { version: best.version, suite, command };
}

/** What doctor says about the lavapipe package: the installed version, and a newer one with its command.
 * `codename` is /etc/os-release's VERSION_CODENAME: on trixie, 26.x from trixie-backports is named even when
 * the suite is not configured, since the trade-off was measured (issue 16). */
export function lavapipeAdvice(p: AptPolicy, codename?: string): string[] {
  if (!p.installed)
    return [
      `mesa-vulkan-drivers is not installed${p.candidate ? ` (${p.candidate} available)` : ''}; \`npm run setup\` installs the one this distro should use`,
    ];
  const up = newerLavapipe(p);
  const lines = [
    up
      ? `${p.installed} installed; newer: ${up.version}${up.suite ? ` from ${up.suite}` : ''}; as root: ${up.command}`
      : `${p.installed} installed, the newest in this machine's apt sources`,
  ];
  const trixieBpo = codename === 'trixie' && !/~bpo/.test(p.installed);
  if (trixieBpo && !p.versions.some((v) => v.suites.includes('trixie-backports'))) {
    lines.push(
      "trixie-backports carries Mesa 26.x (not in this machine's apt sources); `LAVAPIPE=backports npm run setup` adds and installs it",
    );
  }
  if (trixieBpo)
    lines.push(
      '26.x measured no faster end to end on a 2-core EPYC (tiny training step 0.89x, KV-cache generation 0.34x, cross-entropy 0.62x; bench/README.md, Driver versions)',
    );
  return lines;
}

export interface IcdEntry {
  file: string;
  library?: string;
  found: boolean;
  problem?: string;
}

export const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d'];
export const LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib/x86_64-linux-gnu',
  '/lib',
];

/** The Vulkan ICD manifests the loader would try (VK_DRIVER_FILES / VK_ICD_FILENAMES, else the
 * standard folders), each with its library and whether that library exists: a stale manifest
 * (the library removed) or an unreadable one is what "no adapter" often is. */
export function vulkanIcds(env: NodeJS.ProcessEnv = process.env, icdDirs = ICD_DIRS, libDirs = LIB_DIRS): IcdEntry[] {
  const listed = (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES)?.split(':').filter(Boolean);
  const files =
    listed ??
    icdDirs.flatMap((d) => {
      try {
        return fs
          .readdirSync(d)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => path.join(d, f));
      } catch {
        return [];
      }
    });
  const libs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...libDirs];
  return files.map((file) => {
    let library: string | undefined;
    try {
      library = JSON.parse(fs.readFileSync(file, 'utf8'))?.ICD?.library_path;
    } catch {
      return { file, found: false, problem: fs.existsSync(file) ? 'not a valid ICD manifest' : 'no such file' };
    }
    if (typeof library !== 'string') return { file, found: false, problem: 'no ICD.library_path' };
    // a bare name is searched like dlopen does; a path is relative to the manifest
    const candidates = library.includes('/')
      ? [path.resolve(path.dirname(file), library)]
      : libs.map((d) => path.join(d, library!));
    const found = candidates.some((c) => fs.existsSync(c));
    return { file, library, found, ...(found ? {} : { problem: `library ${library} not found` }) };
  });
}
