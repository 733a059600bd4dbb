#!/usr/bin/env bash
# Build the text-stats step plugin (Python, componentize-py) into a component.
#
#   plugins/python/text-stats/build.sh OUT.wasm
#
# Installs componentize-py into ${WEFT_TOOLS_DIR:-$HOME/.cache/weft/tools}/venv when it
# is missing or another version. Bindings are generated inside componentize-py at
# build time; nothing generated is written next to app.py. Quiet unless it fails.
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1

if [ "$#" -ne 1 ]; then
    echo "usage: $0 OUT.wasm" >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wit="$(cd "$here/../../../wit" && pwd)"
out="$1"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
mkdir -p "$(dirname "$out")"

venv="${WEFT_TOOLS_DIR:-$HOME/.cache/weft/tools}/venv"
cpy="$venv/bin/componentize-py"
if ! [ -x "$cpy" ] || [ "$("$cpy" --version 2>/dev/null)" != "componentize-py $COMPONENTIZE_PY_VERSION" ]; then
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    if ! { [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"; } >"$log" 2>&1 ||
        ! "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "componentize-py==$COMPONENTIZE_PY_VERSION" >>"$log" 2>&1; then
        cat "$log" >&2
        echo "build.sh: could not install componentize-py $COMPONENTIZE_PY_VERSION into $venv" >&2
        exit 1
    fi
fi

# Build into a temporary file next to the output so a failed build never leaves a
# truncated component behind. VIRTUAL_ENV is unset so that a caller's active venv
# does not get its site-packages bundled; only this folder is on the Python path.
tmp="$(mktemp "$out.XXXXXX")"
trap 'rm -f "$tmp" ${log:+"$log"}' EXIT
cd "$here"
env -u VIRTUAL_ENV PYTHONDONTWRITEBYTECODE=1 \
    "$cpy" --quiet -d "$wit" -w step-plugin componentize -p "$here" app -o "$tmp"
rm -rf "$here/__pycache__"
chmod "$(printf %o $((0666 & ~0$(umask))))" "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
