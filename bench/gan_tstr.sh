#!/usr/bin/env bash
# Generator benchmark (issue 12): train GENERATOR in MODE at EPS ("inf" = non-private) on all
# 15 subjects of the reference 1 Hz data, sample 15 synthetic subjects × 36 requested windows
# (25 non-stress + 10 stress for conditional generators; DoppelGANger rejection-samples whole
# subjects with 29-32 % stress seconds), then TSTR with the CNN (reference classifier mode,
# REPS replicates) on the 15 real subjects. Resumable: a finished checkpoint, synthetic file or
# TSTR record is never recomputed; an interrupted training resumes from its checkpoint.
# Under DP: window unit, delta = 1e-5, non-overlapping windows (the planner refuses sliding).
# Summarise with bench/summarise_gan_tstr.py.
# Usage: bench/gan_tstr.sh GENERATOR MODE EPS [REPS] [extra `gan train` args]
#   e.g. bench/gan_tstr.sh cgan default 1 3
#        bench/gan_tstr.sh dgan reference inf 3 --epochs 500
set -euo pipefail
cd "$(dirname "$0")/.."
GEN=${1:?generator}; MODE=${2:?mode}; EPS=${3:?epsilon or inf}; REPS=${4:-3}; shift 3; shift || true
BIN=${BIN:-target/release/dpwear}
THREADS=${THREADS:-1}
FEAT=$(bench/reference_features.sh "$BIN")
DS=results/bench-data/wesad-ref.h5
TAG="$GEN-$MODE-eps$EPS${TAG_SUFFIX:-}"
OUT=results/benchmarks/gan-tstr/$TAG
mkdir -p "$OUT"
PRIV=()
if [ "$EPS" != inf ]; then
  PRIV=(--epsilon "$EPS" --delta 1e-5 --privacy-unit window --windows non-overlapping)
fi
start=$(date +%s.%N)
"$BIN" gan train --dataset "$DS" --generator "$GEN" --mode "$MODE" "${PRIV[@]}" \
  --threads "$THREADS" --seed 42 --out "$OUT/checkpoint" "$@" 2> "$OUT/train.log" || {
  rc=$?; tail -3 "$OUT/train.log"; exit $rc; }
end=$(date +%s.%N)
echo "$start $end" >> "$OUT/train-session-times.txt"
if [ ! -f "$OUT/synthetic.h5" ]; then
  "$BIN" gan generate --checkpoint "$OUT/checkpoint" --subjects 15 --windows-per-subject 36 \
    --stress-fraction 0.3 --seed 7 --threads "$THREADS" --out "$OUT/synthetic.h5" \
    2> "$OUT/generate.log" || { rc=$?; tail -1 "$OUT/generate.log" | tee "$OUT/generate-failed.txt"; exit $rc; }
  rm -f "$OUT/generate-failed.txt"
fi
if [ ! -f "$OUT/tstr.json" ]; then
  "$BIN" eval tstr --train "$OUT/synthetic.h5" --test "$FEAT" --classifier cnn --mode reference \
    --replicates "$REPS" --threads "$THREADS" --out "$OUT/.tstr.json.partial" > "$OUT/tstr.txt"
  mv "$OUT/.tstr.json.partial" "$OUT/tstr.json"
fi
"$BIN" gan info "$OUT/checkpoint" > "$OUT/card.txt"
tail -4 "$OUT/tstr.txt"
