#!/usr/bin/env bash
# The embedded default run (called by `make demo` after the build): simulate a WESAD-shaped
# dataset (clearly labelled as simulated), summarise it, compute the reference features.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/dpwear
OUT=results/demo
mkdir -p "$OUT"
"$BIN" data simulate --subjects 15 --seed 42 --out "$OUT/simulated.h5" --force
"$BIN" data info "$OUT/simulated.h5"
"$BIN" features --dataset "$OUT/simulated.h5" --mode reference --out "$OUT/features.h5" --force
"$BIN" data info "$OUT/features.h5"
