#!/usr/bin/env bash
# One-command setup: npm dependencies, then a WebGPU adapter (installing Mesa's
# lavapipe from Debian bookworm-backports when there is none and we may use apt).
# Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR" 2>/dev/null || true

say() { printf '[setup] %s\n' "$*"; }

if [ ! -d node_modules/webgpu ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
else
  say "npm dependencies already installed"
fi

have_adapter() { node scripts/has-adapter.mjs >/dev/null 2>&1; }

if have_adapter; then
  say "WebGPU adapter: $(node scripts/has-adapter.mjs)"
  exit 0
fi

say "no WebGPU adapter found"
if [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] && grep -q bookworm /etc/os-release 2>/dev/null; then
  say "installing Mesa lavapipe (mesa-vulkan-drivers) from bookworm-backports"
  src=/etc/apt/sources.list.d/bookworm-backports.list
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" > "$src"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers >/dev/null
  if have_adapter; then
    say "WebGPU adapter: $(node scripts/has-adapter.mjs)"
    exit 0
  fi
  say "still no adapter after installing lavapipe"
  node scripts/has-adapter.mjs || true
  exit 1
fi

cat >&2 <<'MSG'
[setup] No WebGPU adapter and this script cannot install one here (needs Debian bookworm, apt, root).
[setup] Install a Vulkan driver yourself. On Debian bookworm, as root:
[setup]   echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/bookworm-backports.list
[setup]   apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers
[setup] (bookworm's own Mesa 22.3 is too old for Dawn; 25.x works.) Then run `npm run setup` again.
MSG
exit 1
