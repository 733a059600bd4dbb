#!/usr/bin/env bash
# Install what weft's build needs beyond the Rust toolchain: the wasm32-wasip2
# target now; the Python (componentize-py) and JavaScript (componentize-js)
# toolchains are installed on first use by scripts/build-plugins.sh, from PyPI
# and npm. Idempotent; sourced by demo.sh and test.sh.
set -euo pipefail

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "setup: \`$1\` is required ($2) but was not found on PATH" >&2
    exit 1
  }
}
need cargo "Rust toolchain, https://rustup.rs"
need rustup "to add the wasm32-wasip2 target"
need python3 "Python 3.10+ with pip and venv, for the Python plugin"
need node "Node.js 18+, for the JavaScript plugin"
need npm "npm, for the JavaScript plugin"

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi

# The PostgreSQL store's tests start a throwaway PostgreSQL 15 server
# (host/pg-harness) from these binaries.
pg_bin=${WEFT_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$pg_bin/postgres" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "setup: PostgreSQL 15 binaries are required in $pg_bin for the store's tests (apt-get install postgresql, or set WEFT_PG_BIN)" >&2
    exit 1
  fi
fi
