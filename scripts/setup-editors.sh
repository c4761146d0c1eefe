#!/usr/bin/env bash
# Installs the real editors the end-to-end tests drive (test/e2e/): Debian's neovim, emacs-nox + elpa-eglot,
# chromium and ripgrep, and code-server@4.100.3 (VS Code 1.100.3; the last release that runs on Node 20) under
# "$LOCKPATH_CACHE/editors" (default ~/.cache/lockpath/editors), never inside the repo. Idempotent: a second run
# only checks what is there (about a second). Prints the code-server path on its last line.
#
# Only apt and the npm registry are reachable here, so three things that would otherwise download or stop are
# worked around (see shared/notes/real-editors.md):
#   - code-server's native modules (kerberos, node-pty, native-keymap...) need build tools and a few -dev packages;
#   - @vscode/ripgrep's postinstall downloads rg from the internet: it is handed a tarball of Debian's rg instead;
#   - node-pty's build runs `npx node-gyp`, which stops on an npm `yes=false` setting: npm_config_yes=true;
#   - node-gyp must find Node's headers locally (npm's nodedir, else the running node's include/node).
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
cache="${LOCKPATH_CACHE:-$HOME/.cache/lockpath}"
prefix="$cache/editors"
stamp="$prefix/.installed-code-server-$CODE_SERVER_VERSION"
bin="$prefix/node_modules/code-server/out/node/entry.js"
log() { echo "setup-editors: $*" >&2; }

# --- Debian packages -----------------------------------------------------------------------------------------
# apt-get update runs at most once, and only when a package is missing.
packages=(neovim emacs-nox elpa-eglot chromium ripgrep build-essential pkg-config python3 libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev)
missing() { for p in "$@"; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"; done; }
need=($(missing "${packages[@]}"))
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "missing Debian packages (${need[*]}) and apt-get is not usable here (need root and apt)"
    exit 1
  fi
  log "apt-get install ${need[*]}"
  apt-get update -qq >/dev/null 2>&1 || log "apt-get update failed; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- code-server ---------------------------------------------------------------------------------------------
if [ -f "$stamp" ] && [ -f "$bin" ]; then
  echo "$prefix/node_modules/.bin/code-server"
  exit 0
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" != 20 ]; then
  log "warning: code-server@$CODE_SERVER_VERSION wants Node 20, this is Node $(node --version)"
fi

log "installing code-server@$CODE_SERVER_VERSION into $prefix"
mkdir -p "$prefix"
work=$(mktemp -d "${TMPDIR:-/tmp}/lockpath-setup-editors.XXXXXX")
trap 'rm -rf "$work"' EXIT

# @vscode/ripgrep's postinstall looks for $TMPDIR/vscode-ripgrep-cache-<its version>/<release asset> before it
# downloads. Give it every version/asset it might ask for, built from Debian's rg.
mkdir -p "$work/rg/bin"
cp "$(command -v rg)" "$work/rg/bin/rg"
tarball="$work/rg.tar.gz"
tar -czf "$tarball" -C "$work/rg/bin" rg
for v in 1.15.9 1.15.10 1.15.11 1.15.12 1.15.13 1.15.14; do
  mkdir -p "$work/vscode-ripgrep-cache-$v"
  for asset in ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz ripgrep-v13.0.0-13-x86_64-unknown-linux-musl.tar.gz \
    ripgrep-v14.1.1-1-x86_64-unknown-linux-musl.tar.gz; do
    cp "$tarball" "$work/vscode-ripgrep-cache-$v/$asset"
  done
done

# A project-less folder of its own, so npm does not walk up into the repo (or anything else) for a package.json.
[ -f "$prefix/package.json" ] || echo '{ "name": "lockpath-editors", "private": true }' >"$prefix/package.json"
# node-gyp would download Node's headers for the native modules: point it at the installed ones when npm is not
# already told where they are.
nodedir="$(npm config get nodedir 2>/dev/null || true)"
if [ -z "$nodedir" ] || [ "$nodedir" = undefined ] || [ "$nodedir" = null ]; then
  node_prefix="$(dirname "$(dirname "$(command -v node)")")"
  if [ -f "$node_prefix/include/node/node.h" ]; then nodedir="$node_prefix"; else nodedir=""; fi
fi
(
  [ -z "$nodedir" ] || export npm_config_nodedir="$nodedir"
  export TMPDIR="$work" npm_config_yes=true npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
  npm install --prefix "$prefix" --unsafe-perm --save-exact --loglevel=error "code-server@$CODE_SERVER_VERSION" >&2
)
if [ ! -f "$bin" ]; then
  log "code-server@$CODE_SERVER_VERSION did not install: $bin is missing"
  exit 1
fi
# Its native modules are what fails quietly: report node-pty (the integrated terminal) when it did not build.
if ! ls "$prefix"/node_modules/code-server/lib/vscode/node_modules/node-pty/build/Release/pty.node >/dev/null 2>&1 &&
   ! ls "$prefix"/node_modules/code-server/lib/vscode/node_modules/node-pty/prebuilds/*/pty.node >/dev/null 2>&1; then
  log "warning: node-pty's native module was not built (terminals will not work; the tests do not need them)"
fi
touch "$stamp"
echo "$prefix/node_modules/.bin/code-server"
