#!/usr/bin/env bash
# Cost of one DP-SGD step against one non-private step (issue 5) for one classifier: batch 50 of the
# reference features, 1 libtorch thread by default (the machine is shared), 3 warm-up steps,
# then the median of DPWEAR_BENCH_REPS (default 20) timed steps of each. The DP step is the
# training loop's own `training::dp::example_step` (recorded forward, backprops, per-example
# gradients with ghost norms for Dense layers, clipping, ChaCha Gaussian noise, write .grad)
# plus Adam; the non-private step is forward + backward + Adam on the reference model (for the
# CNN-LSTM that one has BatchNorm; its DP twin a LayerNorm).
# Usage: bench/dp_step.sh [FEATURES.h5] [THREADS] [cnn|cnn-lstm|transformer]
#   FEATURES defaults to results/bench-data/wesad-ref-features.h5 (see bench/loso_baseline.sh
#   for how it is made).
set -euo pipefail
cd "$(dirname "$0")/.."
FEAT=${1:-results/bench-data/wesad-ref-features.h5}
THREADS=${2:-1}
CLF=${3:-cnn}
[ -f "$FEAT" ] || { echo "missing $FEAT (run bench/loso_baseline.sh once, or pass a path)" >&2; exit 3; }
[ -f .env.build ] && source .env.build
DPWEAR_BENCH_FEATURES=$(realpath "$FEAT") DPWEAR_BENCH_THREADS=$THREADS DPWEAR_BENCH_CLASSIFIER=$CLF \
  cargo test --release -j1 --test eval_dp bench_dp_step -- --ignored --nocapture 2>&1 \
  | grep -E "^(cnn|transformer|DP step)"
