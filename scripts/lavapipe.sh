#!/usr/bin/env bash
# Install Mesa's software Vulkan driver (lavapipe) the way this distro should get it.
# Called by scripts/setup.sh when Dawn finds no WebGPU adapter (or LAVAPIPE is set).
#
#   Debian 12 bookworm  mesa-vulkan-drivers from bookworm-backports (own 22.3 is too old for Dawn)
#   Debian 13 trixie    trixie's own mesa-vulkan-drivers (25.0.7, what the kernels are tuned on);
#                       LAVAPIPE=backports takes trixie-backports (26.x) instead
#   Ubuntu (and ID_LIKE=ubuntu)  its own mesa-vulkan-drivers
#   anything else, no apt, not root: print the commands, install nothing, exit 1
#
# Environment: LAVAPIPE=backports|distro (default: per distro, as above)
#   SETUP_DRY_RUN=1          print the plan and the commands, run nothing
#   SETUP_OS_RELEASE=FILE    read FILE instead of /etc/os-release (tests)
#   SETUP_APT_DIR=DIR        apt's config folder, default /etc/apt (tests)
set -euo pipefail

say() { printf '[setup] %s\n' "$*"; }
os_release=${SETUP_OS_RELEASE:-/etc/os-release}
apt_dir=${SETUP_APT_DIR:-/etc/apt}
want=${LAVAPIPE:-}
if [ -n "$want" ] && [ "$want" != backports ] && [ "$want" != distro ]; then
  say "LAVAPIPE=$want: expected 'backports' or 'distro'" >&2
  exit 1
fi

# os-release is KEY=value or KEY="value"; read it, don't source it
ID='' VERSION_CODENAME='' ID_LIKE='' UBUNTU_CODENAME='' PRETTY_NAME=''
if [ -r "$os_release" ]; then
  while IFS='=' read -r k v; do
    v=${v%\"}; v=${v#\"}; v=${v%\'}; v=${v#\'}
    case $k in ID|VERSION_CODENAME|ID_LIKE|UBUNTU_CODENAME|PRETTY_NAME) printf -v "$k" '%s' "$v" ;; esac
  done < "$os_release"
fi
distro="${PRETTY_NAME:-${ID:-unknown}}"

# ---- the plan: driver, why, and the apt commands (suite empty = the distro's own)
suite='' driver='' why=''
case "$ID" in
  debian)
    case "$VERSION_CODENAME:$want" in
      bookworm:|bookworm:backports)
        suite=bookworm-backports
        driver="mesa-vulkan-drivers from bookworm-backports (Mesa 25.x)"
        why="bookworm's own Mesa 22.3 is too old for Dawn; 25.0.7 from backports works" ;;
      bookworm:distro)
        say "LAVAPIPE=distro: bookworm's own Mesa 22.3 is too old for Dawn; use the default (bookworm-backports)" >&2
        exit 1 ;;
      trixie:|trixie:distro)
        driver="trixie's own mesa-vulkan-drivers (Mesa 25.0.7)"
        why="the version the CPU kernel defaults were tuned on; trixie-backports' 26.x was measured no faster end to end (KV-cache generation 0.34x, cross-entropy 0.62x on a 2-core EPYC; bench/README.md). LAVAPIPE=backports opts in to 26.x" ;;
      trixie:backports)
        suite=trixie-backports
        driver="mesa-vulkan-drivers from trixie-backports (Mesa 26.x)"
        why="LAVAPIPE=backports asked for it (faster workgroup-memory kernels; KV-cache generation and cross-entropy measured slower)" ;;
    esac ;;
esac
if [ -z "$driver" ] && { [ "$ID" = ubuntu ] || [[ " $ID_LIKE " == *" ubuntu "* ]]; }; then
  if [ "$want" = backports ]; then
    say "LAVAPIPE=backports: Ubuntu has no Mesa backports suite; unset LAVAPIPE to use its own packages" >&2
    exit 1
  fi
  driver="${ID}'s own mesa-vulkan-drivers (${UBUNTU_CODENAME:-$VERSION_CODENAME})"
  why="Ubuntu's archive is the supported source; setup checks afterwards that Dawn finds an adapter with it"
fi

# the commands, as text (printed when we may not run them, or in a dry run)
add_source=''
if [ -n "$suite" ] && ! grep -rqs "$suite" "$apt_dir/sources.list" "$apt_dir/sources.list.d/"; then add_source=1; fi
src_line="deb http://deb.debian.org/debian $suite main"
src_file="$apt_dir/sources.list.d/$suite.list"
cmds=()
[ -z "$add_source" ] || cmds+=("echo '$src_line' > $src_file")
cmds+=("apt-get update")
cmds+=("apt-get install -y ${suite:+-t $suite }mesa-vulkan-drivers")
print_cmds() { for c in "${cmds[@]}"; do say "  $c"; done; }

if [ -z "$driver" ]; then
  say "distro: $distro — not one this script knows (Debian 12 bookworm, Debian 13 trixie, Ubuntu)" >&2
  say "Install Mesa's lavapipe (mesa-vulkan-drivers, Mesa 25 or newer) yourself. On Debian bookworm, as root:" >&2
  say "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bookworm-backports.list" >&2
  say "  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers" >&2
  say "On Debian trixie or Ubuntu, as root: apt-get update && apt-get install -y mesa-vulkan-drivers" >&2
  say "Then run \`npm run setup\` again." >&2
  exit 1
fi

say "distro: $distro"
say "driver: $driver"
say "why: $why"

if [ -n "${SETUP_DRY_RUN:-}" ]; then
  say "dry run; would run:"
  print_cmds
  exit 0
fi

missing=''
[ "$(uname -s)" = Linux ] || missing="Linux"
command -v apt-get >/dev/null || missing="${missing:+$missing, }apt-get"
[ "$(id -u)" = 0 ] || missing="${missing:+$missing, }root"
if [ -n "$missing" ]; then
  say "cannot install it here (needs $missing). Run these as root, then \`npm run setup\` again:" >&2
  print_cmds >&2
  exit 1
fi

# already there (the distro's own, or a backport when a backport is wanted): install nothing
have=$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if [[ $have == "install ok installed "* ]] && { [ -z "$suite" ] || [[ $have == *~bpo* ]]; }; then
  say "mesa-vulkan-drivers ${have##* } is already installed; nothing to do"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
say "installing: ${cmds[*]}"
[ -z "$add_source" ] || echo "$src_line" > "$src_file"
apt-get update -q >/dev/null
apt-get install -y -q ${suite:+-t "$suite"} mesa-vulkan-drivers >/dev/null
say "installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo '(version unknown)')"
