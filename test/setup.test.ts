// scripts/lavapipe.sh (what `npm run setup` installs per distro), run with a fake apt-get,
// dpkg-query and id on a PATH of their own: nothing is installed, apt's folder is a temp dir.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts/lavapipe.sh');

const OS = {
  bookworm: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
  trixie:
    'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\nVERSION_CODENAME=trixie\nID=debian\n',
  noble: 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\nUBUNTU_CODENAME=noble\n',
  jammy: 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=jammy\nUBUNTU_CODENAME=jammy\n',
  mint: 'PRETTY_NAME="Linux Mint 22"\nID=linuxmint\nID_LIKE="ubuntu debian"\nVERSION_CODENAME=wilma\nUBUNTU_CODENAME=noble\n',
  fedora: 'PRETTY_NAME="Fedora Linux 40"\nID=fedora\nVERSION_ID=40\n',
};

// fake apt-get: logs its arguments; `install` records the version a later dpkg-query reports
const FAKES: Record<string, string> = {
  'apt-get': `echo "$*" >> "$FAKE_DIR/apt.log"
case " $* " in *" install "*) case "$*" in *backports*) v="$FAKE_BPO" ;; *) v="$FAKE_OWN" ;; esac; echo "$v" > "$FAKE_DIR/installed" ;; esac`,
  'dpkg-query': `[ -f "$FAKE_DIR/installed" ] || exit 1
case "$*" in *Status*) echo -n "install ok installed $(cat "$FAKE_DIR/installed")" ;; *) cat "$FAKE_DIR/installed" ;; esac`,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell script, not a template
  id: 'echo "${FAKE_UID:-0}"',
  uname: 'echo Linux',
};

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-test-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.mkdirSync(path.join(dir, 'apt/sources.list.d'), { recursive: true });
  for (const [name, body] of Object.entries(FAKES))
    fs.writeFileSync(path.join(dir, 'bin', name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  for (const tool of ['grep', 'cat'])
    fs.symlinkSync(
      spawnSync('bash', ['-c', `command -v ${tool}`])
        .stdout.toString()
        .trim(),
      path.join(dir, 'bin', tool),
    );
});

function run(distro: keyof typeof OS | null, env: Record<string, string> = {}) {
  const osr = path.join(dir, 'os-release');
  if (distro) fs.writeFileSync(osr, OS[distro]);
  const r = spawnSync('/bin/bash', [SCRIPT], {
    env: {
      PATH: path.join(dir, 'bin'),
      FAKE_DIR: dir,
      FAKE_OWN: '25.0.7-6',
      FAKE_BPO: '26.1.6-1~bpo13+1',
      SETUP_OS_RELEASE: osr,
      SETUP_APT_DIR: path.join(dir, 'apt'),
      ...env,
    },
    encoding: 'utf8',
  });
  const log = fs.existsSync(path.join(dir, 'apt.log'))
    ? fs.readFileSync(path.join(dir, 'apt.log'), 'utf8').trim().split('\n')
    : [];
  return { code: r.status, out: r.stdout, err: r.stderr, log };
}
const sources = () => fs.readdirSync(path.join(dir, 'apt/sources.list.d'));

describe('setup: lavapipe per distro (dry run)', () => {
  it('Debian 12 bookworm: bookworm-backports, adding the suite', () => {
    const r = run('bookworm', { SETUP_DRY_RUN: '1' });
    expect(r.code).toBe(0);
    expect(r.out).toContain('driver: mesa-vulkan-drivers from bookworm-backports');
    expect(r.out).toContain('too old for Dawn');
    expect(r.out).toContain(
      `echo 'deb http://deb.debian.org/debian bookworm-backports main' > ${dir}/apt/sources.list.d/bookworm-backports.list`,
    );
    expect(r.out).toContain('apt-get install -y -t bookworm-backports mesa-vulkan-drivers');
    expect(r.log).toEqual([]);
    expect(sources()).toEqual([]);
  });

  it('Debian 12 with bookworm-backports already configured: no sources line', () => {
    fs.writeFileSync(path.join(dir, 'apt/sources.list'), 'deb http://deb.debian.org/debian bookworm-backports main\n');
    const r = run('bookworm', { SETUP_DRY_RUN: '1' });
    expect(r.out).not.toContain('echo ');
    expect(r.out).toContain('apt-get install -y -t bookworm-backports mesa-vulkan-drivers');
  });

  it("Debian 13 trixie: trixie's own Mesa 25.0.7 by default, and says why", () => {
    const r = run('trixie', { SETUP_DRY_RUN: '1' });
    expect(r.code).toBe(0);
    expect(r.out).toContain("driver: trixie's own mesa-vulkan-drivers (Mesa 25.0.7)");
    expect(r.out).toMatch(/why: .*LAVAPIPE=backports/);
    expect(r.out).toContain('[setup]   apt-get install -y mesa-vulkan-drivers');
    expect(r.out).not.toContain('backports main');
  });

  it('Debian 13 trixie, LAVAPIPE=backports: trixie-backports (deb822 sources already naming it)', () => {
    let r = run('trixie', { SETUP_DRY_RUN: '1', LAVAPIPE: 'backports' });
    expect(r.code).toBe(0);
    expect(r.out).toContain('driver: mesa-vulkan-drivers from trixie-backports (Mesa 26.x)');
    expect(r.out).toContain('trixie-backports main');
    expect(r.out).toContain('apt-get install -y -t trixie-backports mesa-vulkan-drivers');
    fs.writeFileSync(
      path.join(dir, 'apt/sources.list.d/debian.sources'),
      'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie trixie-updates trixie-backports\n',
    );
    r = run('trixie', { SETUP_DRY_RUN: '1', LAVAPIPE: 'backports' });
    expect(r.out).not.toContain('echo ');
  });

  for (const d of ['noble', 'jammy', 'mint'] as const) {
    it(`Ubuntu-like (${d}): its own mesa-vulkan-drivers`, () => {
      const r = run(d, { SETUP_DRY_RUN: '1' });
      expect(r.code).toBe(0);
      expect(r.out).toContain(`own mesa-vulkan-drivers (${d === 'jammy' ? 'jammy' : 'noble'})`);
      expect(r.out).toContain('[setup]   apt-get install -y mesa-vulkan-drivers');
      expect(r.out).not.toContain('backports');
    });
  }

  it('refuses choices that cannot work', () => {
    expect(run('bookworm', { SETUP_DRY_RUN: '1', LAVAPIPE: 'distro' }).err).toContain('22.3 is too old');
    expect(run('noble', { SETUP_DRY_RUN: '1', LAVAPIPE: 'backports' }).code).toBe(1);
    expect(run('trixie', { SETUP_DRY_RUN: '1', LAVAPIPE: 'newest' }).err).toContain("expected 'backports' or 'distro'");
  });
});

describe('setup: install or instructions (fake apt-get)', () => {
  it('Debian 12: adds the suite, installs the backport; a second run installs nothing', () => {
    const r = run('bookworm', { FAKE_BPO: '25.0.7-2~bpo12+1' });
    expect(r.code).toBe(0);
    expect(r.log).toEqual(['update -q', 'install -y -q -t bookworm-backports mesa-vulkan-drivers']);
    expect(fs.readFileSync(path.join(dir, 'apt/sources.list.d/bookworm-backports.list'), 'utf8')).toBe(
      'deb http://deb.debian.org/debian bookworm-backports main\n',
    );
    expect(r.out).toContain('installed mesa-vulkan-drivers 25.0.7-2~bpo12+1');
    const again = run('bookworm');
    expect(again.code).toBe(0);
    expect(again.log).toEqual(r.log);
    expect(again.out).toContain('already installed; nothing to do');
  });

  it('Debian 12 with its own Mesa 22.3 installed: still installs the backport', () => {
    fs.writeFileSync(path.join(dir, 'installed'), '22.3.6-1+deb12u2');
    const r = run('bookworm', { FAKE_BPO: '25.0.7-2~bpo12+1' });
    expect(r.log).toContain('install -y -q -t bookworm-backports mesa-vulkan-drivers');
  });

  it("Debian 13: installs trixie's own, no suite added; idempotent", () => {
    const r = run('trixie');
    expect(r.code).toBe(0);
    expect(r.log).toEqual(['update -q', 'install -y -q mesa-vulkan-drivers']);
    expect(sources()).toEqual([]);
    expect(run('trixie').log).toEqual(r.log);
  });

  it('Debian 13, LAVAPIPE=backports over an installed own Mesa: takes the backport once', () => {
    fs.writeFileSync(path.join(dir, 'installed'), '25.0.7-6');
    const r = run('trixie', { LAVAPIPE: 'backports' });
    expect(r.log).toEqual(['update -q', 'install -y -q -t trixie-backports mesa-vulkan-drivers']);
    expect(sources()).toEqual(['trixie-backports.list']);
    expect(run('trixie', { LAVAPIPE: 'backports' }).log).toEqual(r.log);
  });

  it('unknown distro (or no os-release): the commands, exit 1, nothing run', () => {
    for (const d of ['fedora', null] as const) {
      const r = run(d);
      expect(r.code).toBe(1);
      expect(r.err).toContain('not one this script knows');
      expect(r.err).toContain('apt-get install -y -t bookworm-backports mesa-vulkan-drivers');
      expect(r.log).toEqual([]);
      expect(sources()).toEqual([]);
    }
  });

  it('not root: the exact commands, exit 1, nothing run or written', () => {
    const r = run('bookworm', { FAKE_UID: '1000' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('needs root');
    expect(r.err).toContain(
      `echo 'deb http://deb.debian.org/debian bookworm-backports main' > ${dir}/apt/sources.list.d/bookworm-backports.list`,
    );
    expect(r.err).toContain('apt-get install -y -t bookworm-backports mesa-vulkan-drivers');
    expect(r.log).toEqual([]);
    expect(sources()).toEqual([]);
  });

  it('no apt-get: the commands, exit 1', () => {
    fs.rmSync(path.join(dir, 'bin/apt-get'));
    const r = run('trixie', { FAKE_UID: '1000' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('needs apt-get, root');
    expect(r.err).toContain('apt-get install -y mesa-vulkan-drivers');
  });
});

describe('setup.sh', () => {
  it('SETUP_DRY_RUN=1 npm run setup prints the plan and installs nothing', () => {
    fs.writeFileSync(path.join(dir, 'os-release'), OS.trixie);
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/setup.sh')], {
      env: {
        ...process.env,
        PATH: `${dir}/bin:${process.env.PATH}`,
        FAKE_DIR: dir,
        SETUP_DRY_RUN: '1',
        SETUP_OS_RELEASE: path.join(dir, 'os-release'),
        SETUP_APT_DIR: path.join(dir, 'apt'),
      },
      encoding: 'utf8',
      input: '',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("driver: trixie's own");
    expect(r.stdout).toContain('dry run; would run:');
    expect(fs.existsSync(path.join(dir, 'apt.log'))).toBe(false);
  });
});
