#!/usr/bin/env bash
# Build every Wasm plugin under plugins/ into one folder (default plugins/dist):
# the Rust reference and hostile test plugins (cargo, wasm32-wasip2), the Python
# plugin (componentize-py), the JavaScript plugin (componentize-js) and the C
# plugins (plugins/c/build.sh: wit-bindgen c, clang, wasm-tools; the tools come
# from scripts/setup.sh, the WASI adapter from $WEFT_WASI_ADAPTER). Installs
# the wasm32-wasip2 target and the Python/JS toolchains when they are missing.
# Incremental: cargo rebuilds what changed; the others rebuild when a source is
# newer than their output. `--rust-only` skips Python, JavaScript and C.
#
#   scripts/build-plugins.sh [--rust-only] [OUT_DIR]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rust_only=false
if [ "${1:-}" = "--rust-only" ]; then
  rust_only=true
  shift
fi
out=${1:-"$root/plugins/dist"}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Called from a build script, cargo's own variables would leak into the nested
# build (and a shared target dir would deadlock on its lock).
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET RUSTFLAGS CARGO_ENCODED_RUSTFLAGS \
  CARGO_BUILD_RUSTFLAGS RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER CARGO_MAKEFLAGS \
  MAKEFLAGS MFLAGS CARGO_PRIMARY_PACKAGE CARGO_MANIFEST_DIR CARGO_PKG_NAME
plugins_target=${WEFT_PLUGINS_TARGET:-"$root/plugins/target"}

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "build-plugins: installing the wasm32-wasip2 target" >&2
  rustup target add wasm32-wasip2 >&2
fi

(cd "$root/plugins" && CARGO_TARGET_DIR="$plugins_target" cargo build --release --quiet)
for wasm in "$plugins_target"/wasm32-wasip2/release/*.wasm; do
  name=$(basename "$wasm" .wasm)
  dest="$out/${name//_/-}.wasm"
  if [ ! -f "$dest" ] || ! cmp -s "$wasm" "$dest"; then
    cp "$wasm" "$dest.tmp" && mv "$dest.tmp" "$dest"
  fi
done

$rust_only && exit 0

# $1 = plugin folder, $2 = output file, rest = sources; true if any is newer.
stale() {
  local dir=$1 dest=$2
  shift 2
  [ -f "$dest" ] || return 0
  [ -n "$(find "$@" "$root/wit" -newer "$dest" -print -quit 2>/dev/null)" ]
}

py="$root/plugins/python/text-stats"
if stale "$py" "$out/text-stats.wasm" "$py/app.py" "$py/build.sh"; then
  "$py/build.sh" "$out/text-stats.wasm"
fi
js="$root/plugins/js/reshape"
if stale "$js" "$out/reshape.wasm" "$js/app.js" "$js/reshape.js" "$js/package-lock.json" "$js/build.sh"; then
  "$js/build.sh" "$out/reshape.wasm"
fi

# The C plugins: WORLD SOURCE_DIR, built into dist/<folder name>.wasm.
c_plugins=(
  "step-plugin plugins/c/word-count"
  "retry-plugin plugins/c/fixed-delay"
  "step-plugin plugins/tests/c-hostile-oob"
  "step-plugin plugins/tests/c-hostile-loop"
)
for entry in "${c_plugins[@]}"; do
  read -r world dir <<<"$entry"
  name=$(basename "$dir")
  if stale "$root/$dir" "$out/$name.wasm" "$root/$dir" "$root/plugins/c/common" "$root/plugins/c/build.sh"; then
    "$root/plugins/c/build.sh" "$world" "$root/$dir" "$out/$name.wasm"
  fi
done
