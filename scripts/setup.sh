#!/usr/bin/env bash
# Installs every Debian package vidmm-bench needs to build, test and run.
# Idempotent and quiet when everything is already there; safe to run on every build.
set -euo pipefail

PKGS=(
  build-essential g++ meson ninja-build pkg-config
  liburing-dev libpci-dev libhwloc-dev libcmocka-dev libjansson-dev
  libbenchmark-dev libxxhash-dev
  libasan8 libubsan1 libtsan2
  clang libclang-rt-14-dev
  pciutils util-linux fio
  python3 python3-matplotlib python3-scipy python3-numpy
  systemtap-sdt-dev binutils linux-perf bpftrace
  libvulkan-dev mesa-vulkan-drivers glslc vulkan-validationlayers vulkan-tools
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# A stale package list makes apt-get install fail with 404s: refresh once per setup run.
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
