#!/usr/bin/env bash
# LOSO baseline benchmark on the reference features (issue 3): one `dpwear eval loso` process per
# replicate (master seeds 42, 43, …; each replicate's streams derive from its own seed), so an
# interrupted run keeps every finished replicate. Summarise with bench/summarise_loso.py.
# Usage: bench/loso_baseline.sh CLASSIFIER MODE REPLICATES [extra dpwear eval args]
#   e.g. bench/loso_baseline.sh cnn reference 10
set -euo pipefail
cd "$(dirname "$0")/.."
CLF=${1:?classifier}; MODE=${2:?mode}; REPS=${3:-10}; shift 3 || true
BIN=target/release/dpwear
OUT=results/benchmarks/loso-$CLF-$MODE
mkdir -p "$OUT"
FEAT=$(bench/reference_features.sh "$BIN")
for r in $(seq 0 $((REPS - 1))); do
  rec="$OUT/rep-$r.json"
  [ -f "$rec" ] && continue      # finished replicates are never recomputed
  "$BIN" eval loso --features "$FEAT" --classifier "$CLF" --mode "$MODE" \
    --replicates 1 --seed $((42 + r)) --out "$rec" "$@" > "$OUT/.rep-$r.txt.partial"
  mv "$OUT/.rep-$r.txt.partial" "$OUT/rep-$r.txt"   # the table appears only once complete
  tail -2 "$OUT/rep-$r.txt"
done
