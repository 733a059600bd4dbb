#!/usr/bin/env bash
# Run every fuzz target with N cases each and print, per target, how many
# cases ran and how many panicked:
#
#   scripts/fuzz.sh N [--release] [--seed S]
#
# The targets are ordinary tests (host/flow/tests/fuzz.rs, host/server/tests/
# fuzz_api.rs, host/engine/tests/fuzz_host.rs, host/runtime/src/state_fuzz.rs)
# driven by the weft-fuzz harness (host/fuzz): `cargo test` runs them with
# small default case counts; here WEFT_FUZZ_CASES=N replaces every default.
# --release builds them optimised (for long runs); --seed S changes the inputs
# (WEFT_FUZZ_SEED; the default seed is fixed, so runs repeat). A panicking
# case is printed as hex: keep it in the target's regressions. Exits non-zero
# if any target panicked or failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cases=${1:?usage: scripts/fuzz.sh N [--release] [--seed S]}
shift
profile=()
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=(--release) ;;
    --seed) export WEFT_FUZZ_SEED="$2"; shift ;;
    *) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
export WEFT_FUZZ_CASES="$cases"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
run() {
  # shellcheck disable=SC2068
  if ! cargo test --quiet ${profile[@]+"${profile[@]}"} "$@" -- --nocapture --test-threads 2 >>"$log" 2>&1; then
    status=1
  fi
}
run -p weft-flow --test fuzz
run -p weft-runtime --lib state_fuzz
run -p weft-engine --test fuzz_host
run -p weft-server --test fuzz_api

printf '%-22s %12s %8s %9s\n' target executions panics seconds
grep -o 'weft-fuzz target=[^ ]* executions=[0-9]* panics=[0-9]* seconds=[0-9.]*' "$log" |
  sed 's/weft-fuzz //; s/[a-z]*=//g' |
  while read -r target execs panics secs; do
    printf '%-22s %12s %8s %9s\n' "$target" "$execs" "$panics" "$secs"
  done
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: a target failed; its output:" >&2
  grep -E 'panicked|weft-fuzz .*: panic|FAILED|error' "$log" | head -40 >&2
fi
exit "$status"
