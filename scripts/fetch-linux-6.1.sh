#!/usr/bin/env bash
# Installs Debian's linux-source-6.1 (when it is not there yet and we may) and unpacks only the KVM folders and
# headers into a cache outside the repo. Prints the tree's path. Used by .ci/run and test/realtree.
set -euo pipefail
cache="${LOCKPATH_CACHE:-$HOME/.cache/lockpath}"
tree="$cache/linux-source-6.1"
tarball=/usr/src/linux-source-6.1.tar.xz
if [ -f "$tree/arch/arm64/kvm/mmu.c" ]; then echo "$tree"; exit 0; fi
if [ ! -f "$tarball" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "fetch-linux-6.1: $tarball is missing and apt-get is not usable here (need root and apt)" >&2
    exit 1
  fi
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.1 >/dev/null
fi
mkdir -p "$cache"
tar -xJf "$tarball" -C "$cache" --wildcards \
  'linux-source-6.1/Makefile' 'linux-source-6.1/arch/arm64/kvm/*' 'linux-source-6.1/virt/kvm/*' \
  'linux-source-6.1/include/kvm/*' 'linux-source-6.1/arch/arm64/include/asm/kvm*' 'linux-source-6.1/include/linux/kvm_host.h'
echo "$tree"
