#!/usr/bin/env bash
# Build this plugin into a WebAssembly component: ./build.sh [OUT.wasm]
# (default dist/{{name}}.wasm). Needs componentize-js 0.23.0 (`npm install`
# here installs it from package.json); COMPONENTIZE_JS may name it.
# `weft plugin build .` runs this script after checking that the tools are there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
out=${1:-dist/{{name}}.wasm}
mkdir -p "$(dirname "$out")"
# -d http -d fetch-event: leave StarlingMonkey's fetch out, or the component
# imports wasi:http, which only a model adapter may.
"${COMPONENTIZE_JS:-node_modules/.bin/componentize-js}" --wit wit -n {{world}} \
  -d http -d fetch-event -o "$out" app.js
