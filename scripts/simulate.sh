#!/usr/bin/env bash
# Long runs of the reliability tests (docs/reliability.md): the deterministic
# simulation of the engine over N seeds, and the power-loss test of the store
# over 10×N seeds, in a release build. Prints how many seeds ran clean; a
# failure prints its seed and how to replay it (WEFT_SIM_SEED=…), and the
# script exits non-zero.
#   scripts/simulate.sh 2000            # seeds 0..2000
#   WEFT_SIM_FIRST=5000 scripts/simulate.sh 1000
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
n=${1:-1000}
export WEFT_SIM_SEEDS="$n" WEFT_POWER_LOSS_SEEDS=$((n * 10))
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
run() {
  if ! cargo test --release --quiet "$@" -- --nocapture >"$log" 2>&1; then
    status=1
    grep -E -A12 "panicked|simulation seed" "$log" | head -40
  fi
  grep -E "^(simulation|power loss):" "$log" || true
}
run -p weft-engine --test simulation seeds_run_clean
run -p weft-store-redb --test power_loss every_acknowledged_write_survives_power_loss
exit "$status"
