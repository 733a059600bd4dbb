#!/usr/bin/env bash
# Everything CI checks, from a fresh clone: formatting, clippy, the whole test
# suite (whose build script builds every Wasm plugin once), and the JavaScript
# plugin's own unit tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

cargo fmt --all -- --check
(cd plugins && cargo fmt --all -- --check)
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace
(cd plugins/js/reshape && node --test reshape.test.js)
