#!/usr/bin/env bash
# The main job, from a fresh clone: build weft and every plugin, validate the
# example flows, and run `flows/support-triage.yaml` on the embedded store
# (`.weft/` beside weft.yaml: redb, the offline mock model, no network): an
# agent step whose model call goes through the host to the `mock-model`
# adapter, a transform, a fan-out to a Python step and a transform, and a
# fan-in. Then a few plugins on their own, including a hostile one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

echo "==> building plugins (Rust, Python, JavaScript) and weft" >&2
scripts/build-plugins.sh plugins/dist
cargo build --quiet --bin weft
weft=${CARGO_TARGET_DIR:-target}/debug/weft
dist=plugins/dist

step() { printf '\n==> %s\n$ weft %s\n' "$1" "${*:2}" >&2; "$weft" "${@:2}"; }

step "validate the example flows against weft.yaml" validate
step "run a real flow: agent step -> transform -> fan-out (Python, transform) -> fan-in" \
  run support-triage \
  --input '{"ticket":{"id":42,"customer":"ada","body":"I was charged twice for my November invoice and want my money back."},"team":"billing"}'
run_id=$("$weft" runs list --flow support-triage --limit 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["run_id"])')
step "recompute the run's hash-chained ledger" runs verify "$run_id"
step "a JavaScript step on its own (componentize-js)" \
  plugin run "$dist/reshape.wasm" --config '{"group_by":"team","sum":["hours"],"sort_by":"-hours"}' \
  --input '{"items":[{"team":"billing","hours":3},{"team":"support","hours":5},{"team":"billing","hours":4}]}'
step "a retry strategy deciding after a failed attempt" \
  plugin run "$dist/exp-backoff.wasm" --config '{"base_ms":200,"factor":2,"max_attempts":5}' \
  --input '{"run_id":"demo","flow_id":"demo","step_id":"s","attempt":3,"error":{"kind":"transient","message":"HTTP 503"}}'
printf '\n==> a hostile plugin is stopped at its deadline, and weft says so:\n' >&2
if "$weft" plugin run "$dist/hostile-loop.wasm" --timeout 300ms; then
  echo "demo: the infinite loop was not stopped!" >&2
  exit 1
fi
printf '\ndemo: done\n' >&2
