#!/usr/bin/env bash
# The reference's scenario-1 private rows (issue 5): LOSO on the reference features with a
# private classifier, one `dpwear eval loso` process per replicate (master seeds 42, 43, …), so
# an interrupted run keeps every finished replicate; finished replicates are never recomputed.
# Summarise with bench/summarise_dp_rows.py results/benchmarks/dp-rows/*.
# Usage: bench/dp_rows.sh CLASSIFIER HEAD DP_MODE ACCOUNTANT EPSILON [REPLICATES] [extra eval args]
#   HEAD: reference|default; DP_MODE: example|reference-batch; ACCOUNTANT: rdp|pld
#   e.g. bench/dp_rows.sh cnn default example rdp 10 1 --threads 1
set -euo pipefail
cd "$(dirname "$0")/.."
CLF=${1:?classifier}; HEAD=${2:?head}; DPMODE=${3:?dp mode}; ACC=${4:?accountant}; EPS=${5:?epsilon}
REPS=${6:-1}; shift $(( $# < 6 ? $# : 6 ))
BIN=${DPWEAR_BIN:-target/release/dpwear}
FEAT=results/bench-data/wesad-ref-features.h5
OUT=results/benchmarks/dp-rows/$CLF-$HEAD-$DPMODE-$ACC-eps$EPS
mkdir -p "$OUT"
[ -f "$FEAT" ] || { echo "missing $FEAT: run bench/loso_baseline.sh once to build it" >&2; exit 2; }
for r in $(seq 0 $((REPS - 1))); do
  rec="$OUT/rep-$r.json"
  [ -f "$rec" ] && continue
  "$BIN" eval loso --features "$FEAT" --classifier "$CLF" --mode "$HEAD" --replicates 1 \
    --seed $((42 + r)) --epsilon "$EPS" --dp-mode "$DPMODE" --accountant "$ACC" \
    --out "$rec" "$@" > "$OUT/.rep-$r.txt.partial"
  mv "$OUT/.rep-$r.txt.partial" "$OUT/rep-$r.txt"
  tail -2 "$OUT/rep-$r.txt"
done
