#!/usr/bin/env bash
# The benchmarks' shared inputs: the reference 1 Hz WESAD imported as a dataset store
# (results/bench-data/wesad-ref.h5) and its reference-mode features
# (results/bench-data/wesad-ref-features.h5), each made once with BIN when missing. Prints the
# features path (everything else goes to stderr), so a script takes it with
#   FEAT=$(bench/reference_features.sh "$BIN")
# Usage: bench/reference_features.sh [BIN]        (default target/release/dpwear)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/dpwear}
DATA=results/bench-data
DS=$DATA/wesad-ref.h5
FEAT=$DATA/wesad-ref-features.h5
mkdir -p "$DATA"
if [ ! -f "$FEAT" ]; then
  [ -f "$DS" ] || "$BIN" data import ../shared/data/wesad/subject_data_1hz.pickle --out "$DS" --force >&2
  "$BIN" features --dataset "$DS" --mode reference --out "$FEAT" --force >&2
fi
echo "$FEAT"
