#!/usr/bin/env bash
# Installs Debian's linux-source-6.12 (when it is not there yet and we may) and unpacks only the KVM folders of
# arm64, riscv and loongarch, virt/kvm and the KVM headers into a cache outside the repo. Prints the tree's path.
# Used by .ci/run and test/realtree/linux-6.12.test.ts.
set -euo pipefail
cache="${LOCKPATH_CACHE:-$HOME/.cache/lockpath}"
tree="$cache/linux-source-6.12"
tarball=/usr/src/linux-source-6.12.tar.xz
if [ -f "$tree/arch/arm64/kvm/mmu.c" ] && [ -f "$tree/include/linux/kvm_host.h" ]; then echo "$tree"; exit 0; fi
if [ ! -f "$tarball" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "fetch-linux-6.12: $tarball is missing and apt-get is not usable here (need root and apt)" >&2
    exit 1
  fi
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.12 >/dev/null
fi
mkdir -p "$cache"
tar -xJf "$tarball" -C "$cache" --wildcards \
  'linux-source-6.12/Makefile' \
  'linux-source-6.12/arch/arm64/kvm/*' 'linux-source-6.12/arch/riscv/kvm/*' 'linux-source-6.12/arch/loongarch/kvm/*' \
  'linux-source-6.12/virt/kvm/*' 'linux-source-6.12/include/kvm/*' \
  'linux-source-6.12/arch/arm64/include/asm/kvm*' 'linux-source-6.12/arch/riscv/include/asm/kvm*' 'linux-source-6.12/arch/loongarch/include/asm/kvm*' \
  'linux-source-6.12/include/linux/kvm_host.h' 'linux-source-6.12/include/linux/kvm_types.h'
echo "$tree"
