#!/usr/bin/env bash
# What the console's browser tests need (host/cli/tests/console_browser.rs):
# Debian's Chromium (apt, as root) and Playwright for Python from PyPI in
# ${WEFT_TOOLS_DIR:-~/.cache/weft/tools}/console-venv (it drives the system
# Chromium; no browser is downloaded). Idempotent; run by scripts/test.sh.
# Prints the environment the tests read (WEFT_CONSOLE_PYTHON, WEFT_CHROMIUM).
set -euo pipefail
tools="${WEFT_TOOLS_DIR:-$HOME/.cache/weft/tools}"
venv="$tools/console-venv"
playwright="playwright==1.65.2"

chromium="${WEFT_CHROMIUM:-}"
if [ -z "$chromium" ]; then
  chromium="$(command -v chromium || command -v chromium-browser || true)"
fi
if [ -z "$chromium" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-browser: installing chromium from apt" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
    chromium="$(command -v chromium)"
  else
    echo "setup-browser: Chromium is required for the console's browser tests (Debian: apt-get install chromium; or set WEFT_CHROMIUM)" >&2
    exit 1
  fi
fi

if ! [ -x "$venv/bin/python" ] || [ "$(cat "$venv/.weft-requirements" 2>/dev/null)" != "$playwright" ]; then
  echo "setup-browser: installing $playwright into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$playwright" >&2
  echo "$playwright" > "$venv/.weft-requirements"
fi

echo "export WEFT_CONSOLE_PYTHON='$venv/bin/python' WEFT_CHROMIUM='$chromium'"
