#!/usr/bin/env bash
# The main job, from a fresh clone: build weft and every plugin, then run the
# reference plugins in the sandbox — an agent step (`prompt`) whose model calls
# go through the host to the offline `mock-model` adapter, a Python step, a
# JavaScript step, a retry strategy and a pool policy — and show what
# `weft plugin inspect` knows about one of them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

echo "==> building plugins (Rust, Python, JavaScript) and weft" >&2
scripts/build-plugins.sh plugins/dist
cargo build --quiet --bin weft
weft=${CARGO_TARGET_DIR:-target}/debug/weft
dist=plugins/dist

step() { printf '\n==> %s\n$ weft %s\n' "$1" "${*:2}" >&2; "$weft" "${@:2}"; }

step "inspect: which world does the prompt step target?" \
  plugin inspect "$dist/prompt.wasm"
step "an agent step: fills a template, asks the model through the host" \
  plugin run "$dist/prompt.wasm" \
  --config '{"model":"mock","template":"Summarise this ticket: {{ticket.body}}","system":"You are a support agent."}' \
  --input '{"ticket":{"id":42,"body":"The customer wants their money back for a double charge."}}'
step "a JSON transform (Rust)" \
  plugin run "$dist/json-transform.wasm" \
  --config '{"pick":["ticket.id","ticket.body"],"rename":{"ticket.id":"id"}}' \
  --input '{"ticket":{"id":42,"body":"double charge","internal":"x"}}'
step "text statistics (Python, componentize-py)" \
  plugin run "$dist/text-stats.wasm" --config '{"top":3}' \
  --input '{"text":"Refund requested. The refund was approved. The customer is happy!"}'
step "grouping and sums (JavaScript, componentize-js)" \
  plugin run "$dist/reshape.wasm" --config '{"group_by":"team","sum":["hours"],"sort_by":"-hours"}' \
  --input '{"items":[{"team":"billing","hours":3},{"team":"support","hours":5},{"team":"billing","hours":4}]}'
step "a retry strategy deciding after a failed attempt" \
  plugin run "$dist/exp-backoff.wasm" --config '{"base_ms":200,"factor":2,"max_attempts":5}' \
  --input '{"run_id":"demo","flow_id":"demo","step_id":"s","attempt":3,"error":{"kind":"transient","message":"HTTP 503"}}'
step "a pool policy choosing which queued tasks run" \
  plugin run "$dist/fair-share.wasm"
printf '\n==> a hostile plugin is stopped at its deadline, and weft says so:\n' >&2
if "$weft" plugin run "$dist/hostile-loop.wasm" --timeout 300ms; then
  echo "demo: the infinite loop was not stopped!" >&2
  exit 1
fi
printf '\ndemo: done\n' >&2
