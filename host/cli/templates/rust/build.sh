#!/usr/bin/env bash
# Build this plugin into a WebAssembly component: ./build.sh [OUT.wasm]
# (default dist/{{name}}.wasm). Needs cargo and the wasm32-wasip2 target
# (`rustup target add wasm32-wasip2`). `weft plugin build .` runs this script
# after checking that the tools are there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
out=${1:-dist/{{name}}.wasm}
mkdir -p "$(dirname "$out")"
target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --target wasm32-wasip2
cp "$target/wasm32-wasip2/release/{{ident}}.wasm" "$out"
