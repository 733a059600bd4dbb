#!/usr/bin/env bash
# Build one C plugin of this repository into a component:
#
#   plugins/c/build.sh WORLD SRC_DIR OUT.wasm
#
# wit-bindgen c writes the bindings of WORLD (from wit/), clang compiles them with
# every .c file of SRC_DIR and plugins/c/common/weft_json.c for wasm32-wasip1 as a
# reactor, and wasm-tools component new wraps the core module with the WASI
# preview-1 reactor adapter. The tools come from the environment (WIT_BINDGEN,
# WASM_TOOLS, CLANG, WASI_SYSROOT, WEFT_WASI_ADAPTER), else weft's tools folder
# (${WEFT_TOOLS_DIR:-~/.cache/weft/tools}, filled by scripts/setup.sh), else PATH.
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 WORLD SRC_DIR OUT.wasm" >&2
  exit 2
fi
world=$1
src=$(cd "$2" && pwd)
out=$3
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wit=$(cd "$here/../../wit" && pwd)
tools=${WEFT_TOOLS_DIR:-$HOME/.cache/weft/tools}

tool() { # $1 = variable's value, $2 = name
  if [ -n "$1" ]; then echo "$1"
  elif [ -x "$tools/cargo/bin/$2" ]; then echo "$tools/cargo/bin/$2"
  elif command -v "$2" >/dev/null 2>&1; then command -v "$2"
  else
    echo "plugins/c/build.sh: $2 not found; run scripts/setup.sh" >&2
    exit 1
  fi
}
wit_bindgen=$(tool "${WIT_BINDGEN:-}" wit-bindgen)
wasm_tools=$(tool "${WASM_TOOLS:-}" wasm-tools)
clang=${CLANG:-$(command -v clang-22 || command -v clang || echo clang)}
sysroot=${WASI_SYSROOT:-/usr}
# The adapter of the workspace's wasmtime version, where scripts/setup.sh puts it.
adapter_version=$(sed -n 's/^wasi-preview1-component-adapter-provider = "=\(.*\)"$/\1/p' "$here/../../Cargo.toml")
adapter=${WEFT_WASI_ADAPTER:-$tools/wasi-adapter-$adapter_version.wasm}
if [ ! -f "$adapter" ]; then
  echo "plugins/c/build.sh: the WASI reactor adapter $adapter is missing; run scripts/setup.sh" >&2
  exit 1
fi
# Debian's wasi-libc lays out the sysroot under the older triple name.
triple=wasm32-wasip1
flags=()
if [ ! -d "$sysroot/lib/wasm32-wasip1" ]; then
  triple=wasm32-wasi
  flags+=(-Wno-deprecated)
fi

gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
# wit-bindgen names every file it writes; say nothing unless it fails.
if ! "$wit_bindgen" c "$wit" --world "$world" --out-dir "$gen" >"$gen/log" 2>&1; then
  cat "$gen/log" >&2
  exit 1
fi
"$clang" --target=$triple --sysroot="$sysroot" -mexec-model=reactor -Os -Wall \
  "${flags[@]}" -I"$gen" -I"$here/common" \
  "$src"/*.c "$here/common/weft_json.c" "$gen"/*.c "$gen"/*_component_type.o \
  -o "$gen/core.wasm"
mkdir -p "$(dirname "$out")"
"$wasm_tools" component new "$gen/core.wasm" \
  --adapt "wasi_snapshot_preview1=$adapter" -o "$out.tmp"
mv -f "$out.tmp" "$out"
