#!/usr/bin/env bash
# Install what weft's build needs beyond the Rust toolchain: the wasm32-wasip2
# target, PostgreSQL's binaries, and the plugin toolchains: clang-22 with
# wasi-libc (Debian packages), wit-bindgen-cli and wasm-tools (crates.io),
# the WASI preview-1 reactor adapter (from cargo's registry), componentize-py
# (PyPI) and componentize-js (npm), the last four into weft's tools folder
# (${WEFT_TOOLS_DIR:-~/.cache/weft/tools}), each skipped when present at its
# pinned version. Exports WEFT_WASI_ADAPTER. Idempotent; sourced by demo.sh
# and test.sh.
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
setup_tools=${WEFT_TOOLS_DIR:-"$HOME/.cache/weft/tools"}
mkdir -p "$setup_tools"

# C: clang for wasm32 with its runtime library, and wasi-libc (Debian packages).
setup_c_packages="clang-22 lld-22 wasi-libc libclang-rt-22-dev-wasm32"
if ! command -v clang-22 >/dev/null 2>&1 || [ ! -f /usr/lib/wasm32-wasi/libc.a ] ||
  [ ! -f "$(clang-22 --target=wasm32-wasi -rtlib=compiler-rt -print-libgcc-file-name 2>/dev/null)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $setup_c_packages >/dev/null
  else
    echo "setup: the C plugins need clang-22 with wasm32 support and wasi-libc (apt-get install $setup_c_packages)" >&2
    exit 1
  fi
fi

# C: wit-bindgen (bindings) and wasm-tools (component new), from crates.io, at
# the versions that match the workspace's wit-bindgen 0.63 and wasm-tools crates.
cargo_tool() { # crate version binary
  if ! "$setup_tools/cargo/bin/$3" --version 2>/dev/null | grep -q " $2\b"; then
    echo "setup: installing $1 $2 into $setup_tools/cargo (a few minutes, once)" >&2
    env -u CARGO_TARGET_DIR cargo install --quiet --locked --root "$setup_tools/cargo" "$1" --version "$2"
  fi
}
cargo_tool wit-bindgen-cli 0.63.0 wit-bindgen
cargo_tool wasm-tools 1.262.0 wasm-tools

# C: the WASI preview-1 reactor adapter, from the crate of the workspace's
# wasmtime version (Cargo.toml pins it), out of cargo's registry sources.
setup_adapter_version=$(sed -n 's/^wasi-preview1-component-adapter-provider = "=\(.*\)"$/\1/p' Cargo.toml)
setup_adapter="$setup_tools/wasi-adapter-$setup_adapter_version.wasm"
if [ ! -f "$setup_adapter" ]; then
  find_adapter() {
    find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -path \
      "*/wasi-preview1-component-adapter-provider-$setup_adapter_version/artefacts/wasi_snapshot_preview1.reactor.wasm" \
      -print -quit 2>/dev/null
  }
  setup_src=$(find_adapter)
  [ -n "$setup_src" ] || { cargo fetch --quiet && setup_src=$(find_adapter); }
  if [ -z "$setup_src" ]; then
    echo "setup: could not find the WASI reactor adapter $setup_adapter_version in cargo's registry" >&2
    exit 1
  fi
  cp "$setup_src" "$setup_adapter.tmp" && mv "$setup_adapter.tmp" "$setup_adapter"
fi
export WEFT_WASI_ADAPTER=${WEFT_WASI_ADAPTER:-$setup_adapter}

# Python: componentize-py, as plugins/python/text-stats/build.sh pins it.
setup_cpy_version=0.25.1
if [ "$("$setup_tools/venv/bin/componentize-py" --version 2>/dev/null)" != "componentize-py $setup_cpy_version" ]; then
  { [ -x "$setup_tools/venv/bin/pip" ] || python3 -m venv "$setup_tools/venv"; } >&2
  "$setup_tools/venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$setup_cpy_version" >&2
fi

# JavaScript: componentize-js with the preview2-shim it needs (see
# plugins/js/reshape/build.sh for why 0.25.0), for generated projects.
setup_cjs="$setup_tools/node/node_modules/@bytecodealliance/componentize-js/package.json"
if ! grep -q '"version": "0.23.0"' "$setup_cjs" 2>/dev/null; then
  mkdir -p "$setup_tools/node"
  npm install --prefix "$setup_tools/node" --no-audit --no-fund --silent --save-exact \
    @bytecodealliance/componentize-js@0.23.0 @bytecodealliance/preview2-shim@0.25.0 >&2
fi
