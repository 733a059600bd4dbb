#!/usr/bin/env bash
# Build this plugin into a WebAssembly component: ./build.sh [OUT.wasm]
# (default dist/{{name}}.wasm). `weft plugin build .` runs this script after
# checking the tools and sets their paths; without weft, set WASI_ADAPTER (the
# reactor adapter, wasi_snapshot_preview1.reactor.wasm of the crates.io crate
# wasi-preview1-component-adapter-provider) and have on PATH:
#   wit-bindgen  cargo install --locked wit-bindgen-cli --version 0.63.0
#   wasm-tools   cargo install --locked wasm-tools --version 1.262.0
#   clang        with wasm32 support and wasi-libc (Debian: apt-get install
#                clang-22 lld-22 wasi-libc libclang-rt-22-dev-wasm32)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
out=${1:-dist/{{name}}.wasm}
: "${WASI_ADAPTER:?set WASI_ADAPTER to the WASI preview-1 reactor adapter (.wasm)}"
clang=${CLANG:-clang}
sysroot=${WASI_SYSROOT:-/usr}
# Older wasi-libc packages (Debian's) use the wasm32-wasi directory name.
triple=wasm32-wasip1
flags=()
if [ ! -d "$sysroot/lib/wasm32-wasip1" ]; then
  triple=wasm32-wasi
  flags+=(-Wno-deprecated)
fi
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
"${WIT_BINDGEN:-wit-bindgen}" c wit --world {{world}} --out-dir "$gen" >/dev/null 2>&1
"$clang" --target=$triple --sysroot="$sysroot" -mexec-model=reactor -Os -Wall "${flags[@]}" \
  -I"$gen" -I. ./*.c "$gen"/*.c "$gen"/*_component_type.o -o "$gen/core.wasm"
mkdir -p "$(dirname "$out")"
"${WASM_TOOLS:-wasm-tools}" component new "$gen/core.wasm" \
  --adapt "wasi_snapshot_preview1=$WASI_ADAPTER" -o "$out"
