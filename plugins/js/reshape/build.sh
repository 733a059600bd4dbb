#!/usr/bin/env bash
# Build the reshape step plugin (JavaScript, componentize-js) into a component.
#
#   plugins/js/reshape/build.sh OUT.wasm
#
# Runs `npm ci` first when node_modules is missing or older than package-lock.json.
# `-d http -d fetch-event` leave out StarlingMonkey's fetch support, so the component
# does not import wasi:http (the step-plugin world does not offer it). Quiet unless
# it fails.
#
# package.json pins @bytecodealliance/preview2-shim 0.25.0 on purpose: componentize-js
# 0.23.0 imports it without declaring it, and 0.26.x no longer preopens `/` by
# default, so the splicer (run under that shim) could not read the WIT folder
# ("reading file .../wit: No such file or directory"). That is probably also why
# `jco componentize` (jco 1.35 depends on shim 0.26) fails here.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 OUT.wasm" >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wit="$(cd "$here/../../../wit" && pwd)"
out="$1"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
mkdir -p "$(dirname "$out")"

log="$(mktemp)"
tmp=""
trap 'rm -f "$log" ${tmp:+"$tmp"}' EXIT
cd "$here"

# npm ci leaves node_modules/.package-lock.json behind; it is our "installed" stamp.
stamp="node_modules/.package-lock.json"
if ! [ -x node_modules/.bin/componentize-js ] || ! [ -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
        # npm ci refuses a lock file that lacks some optional, platform-specific
        # packages (rolldown, componentize-qjs and jco-node-fs bindings for other
        # systems), which happens when the lock was written against a registry that
        # does not carry them all. `npm install --no-save` installs the locked
        # versions anyway and leaves package-lock.json untouched.
        if grep -q 'can only install packages when your package.json and package-lock.json' "$log" &&
            npm install --no-save --no-audit --no-fund >"$log" 2>&1; then
            :
        else
            cat "$log" >&2
            echo "build.sh: installing componentize-js in $here failed" >&2
            exit 1
        fi
    fi
    touch "$stamp"
fi

# Build into a temporary file next to the output so a failed build never leaves a
# truncated component behind.
tmp="$(mktemp "$out.XXXXXX")"
if ! node_modules/.bin/componentize-js --wit "$wit" -n step-plugin -d http -d fetch-event \
    -o "$tmp" app.js >"$log" 2>&1; then
    cat "$log" >&2
    echo "build.sh: componentize-js failed" >&2
    exit 1
fi
chmod "$(printf %o $((0666 & ~0$(umask))))" "$tmp"
mv -f "$tmp" "$out"
tmp=""
