#!/usr/bin/env bash
# Build this plugin into a WebAssembly component: ./build.sh [OUT.wasm]
# (default dist/{{name}}.wasm). Needs componentize-py 0.25.1
# (`pip install componentize-py==0.25.1`); COMPONENTIZE_PY may name it.
# `weft plugin build .` runs this script after checking that the tools are there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
out=${1:-dist/{{name}}.wasm}
mkdir -p "$(dirname "$out")"
# VIRTUAL_ENV is unset so that an active venv's site-packages are not bundled.
env -u VIRTUAL_ENV PYTHONDONTWRITEBYTECODE=1 "${COMPONENTIZE_PY:-componentize-py}" \
  --quiet -d wit -w {{world}} componentize -p . app -o "$out"
