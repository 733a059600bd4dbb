#!/usr/bin/env bash
# Everything CI checks, from a fresh clone: formatting, clippy, the whole test
# suite (whose build script builds every Wasm plugin once), and the JavaScript
# plugin's own unit tests. The console's browser tests need Chromium and
# Playwright (scripts/setup-browser.sh). The semantic-search tests need the real embedding model:
# scripts/setup-model.sh obtains it (once; later runs are a no-op) and prints the
# WEFT_EMBED_MODEL_DIR / WEFT_ORT_DYLIB exports that point the tests at it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
model_env="$(scripts/setup-model.sh)"
eval "$model_env"
# The console's browser tests: Chromium and Playwright for Python.
browser_env="$(scripts/setup-browser.sh)"
eval "$browser_env"

cargo fmt --all -- --check
(cd plugins && cargo fmt --all -- --check)
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace
# The regression guard of docs/performance.md: a short `weft bench` against a
# real daemon fails when store operations per commit under concurrent load fall
# towards 1 (a change that serialises commits); a ratio, never a time.
cargo run --quiet --bin weft -- bench --quick --depths 100 --min-ops-per-commit 3
# The deployment files (docs/deploy.md): Kubernetes manifests and overlays, the
# Compose file, the Prometheus rules, the dashboard, the Containerfile; offline,
# a few seconds once its tools are installed. Flags are checked against the
# debug binary the tests above built.
WEFT_BIN="${CARGO_TARGET_DIR:-target}/debug/weft" scripts/check-deploy.sh
# The container image, built from that binary, inspected, and its filesystem
# tried in a chroot (docs/deploy.md); a machine that cannot build images says
# why and is skipped.
scripts/check-image.sh "${CARGO_TARGET_DIR:-target}/debug/weft"
(cd plugins/js/reshape && node --test reshape.test.js)
