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

# Plugin toolchains, in weft's tools folder, for the C plugins and for
# `weft plugin build` of the projects `weft plugin new` writes (Python and
# JavaScript projects find componentize-py and componentize-js there).
tools=${WEFT_TOOLS_DIR:-"$HOME/.cache/weft/tools"}
mkdir -p "$tools"

# C: clang for wasm32 with its runtime library, and wasi-libc (Debian packages).
c_packages="clang-22 lld-22 wasi-libc libclang-rt-22-dev-wasm32"
if ! command -v clang-22 >/dev/null 2>&1 || [ ! -f /usr/lib/wasm32-wasi/libc.a ] ||
  [ ! -f "$(clang-22 --target=wasm32-wasi -rtlib=compiler-rt -print-libgcc-file-name 2>/dev/null)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $c_packages >/dev/null
  else
    echo "setup: the C plugins need clang-22 with wasm32 support and wasi-libc (apt-get install $c_packages)" >&2
    exit 1
  fi
fi

# C: wit-bindgen (bindings) and wasm-tools (component new), from crates.io, at
# the versions that match the workspace's wit-bindgen 0.63 and wasm-tools crates.
cargo_tool() { # crate version binary
  if ! "$tools/cargo/bin/$3" --version 2>/dev/null | grep -q " $2\b"; then
    echo "setup: installing $1 $2 into $tools/cargo (a few minutes, once)" >&2
    cargo install --quiet --locked --root "$tools/cargo" "$1" --version "$2"
  fi
}
cargo_tool wit-bindgen-cli 0.63.0 wit-bindgen
cargo_tool wasm-tools 1.262.0 wasm-tools

# C: the WASI preview-1 reactor adapter, from the crate of the workspace's
# wasmtime version (Cargo.toml pins it), out of cargo's registry sources.
adapter_version=$(sed -n 's/^wasi-preview1-component-adapter-provider = "=\(.*\)"$/\1/p' Cargo.toml)
adapter="$tools/wasi-adapter-$adapter_version.wasm"
if [ ! -f "$adapter" ]; then
  find_adapter() {
    find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -path \
      "*/wasi-preview1-component-adapter-provider-$adapter_version/artefacts/wasi_snapshot_preview1.reactor.wasm" \
      -print -quit 2>/dev/null
  }
  src=$(find_adapter)
  [ -n "$src" ] || { cargo fetch --quiet && src=$(find_adapter); }
  if [ -z "$src" ]; then
    echo "setup: could not find the WASI reactor adapter $adapter_version in cargo's registry" >&2
    exit 1
  fi
  cp "$src" "$adapter.tmp" && mv "$adapter.tmp" "$adapter"
fi
export WEFT_WASI_ADAPTER=${WEFT_WASI_ADAPTER:-$adapter}

# Python: componentize-py, as plugins/python/text-stats/build.sh pins it.
cpy_version=0.25.1
if [ "$("$tools/venv/bin/componentize-py" --version 2>/dev/null)" != "componentize-py $cpy_version" ]; then
  { [ -x "$tools/venv/bin/pip" ] || python3 -m venv "$tools/venv"; } >&2
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$cpy_version" >&2
fi

# JavaScript: componentize-js with the preview2-shim it needs (see
# plugins/js/reshape/build.sh for why 0.25.0), for generated projects.
cjs="$tools/node/node_modules/@bytecodealliance/componentize-js/package.json"
if ! grep -q '"version": "0.23.0"' "$cjs" 2>/dev/null; then
  mkdir -p "$tools/node"
  npm install --prefix "$tools/node" --no-audit --no-fund --silent --save-exact \
    @bytecodealliance/componentize-js@0.23.0 @bytecodealliance/preview2-shim@0.25.0 >&2
fi
