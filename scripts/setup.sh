#!/usr/bin/env bash
# One-command setup: npm dependencies, then a WebGPU adapter: when Dawn finds none,
# scripts/lavapipe.sh installs Mesa's lavapipe the way this distro should get it
# (Debian 12: bookworm-backports; Debian 13: trixie's own, LAVAPIPE=backports for
# trixie-backports; Ubuntu: its own), or prints the commands where it may not.
# Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR" 2>/dev/null || true

say() { printf '[setup] %s\n' "$*"; }
# SETUP_DRY_RUN=1: only say which driver this distro gets and the commands, run nothing
[ -z "${SETUP_DRY_RUN:-}" ] || exec bash scripts/lavapipe.sh

if [ ! -d node_modules/webgpu ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
else
  say "npm dependencies already installed"
fi

have_adapter() { node scripts/has-adapter.mjs >/dev/null 2>&1; }

# an adapter is there and no driver was asked for: nothing to do
if [ -z "${LAVAPIPE:-}" ] && have_adapter; then
  say "WebGPU adapter: $(node scripts/has-adapter.mjs)"
  exit 0
fi

[ -n "${LAVAPIPE:-}" ] || say "no WebGPU adapter found"
bash scripts/lavapipe.sh || exit 1
if have_adapter; then
  say "WebGPU adapter: $(node scripts/has-adapter.mjs)"
  exit 0
fi
say "still no WebGPU adapter with this driver (Dawn needs Mesa 25 or newer; \`npm run doctor\` says more)" >&2
exit 1
