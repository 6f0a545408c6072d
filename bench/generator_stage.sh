#!/usr/bin/env bash
# Issue 13 benchmark: runs a campaign of bench/generator-stage/ cell by cell in array order
# (replicate-major: every grid point gets replicate 0 before any gets replicate 1), each
# `dpwear run --only <index>` training the generators that cell needs first (each generator
# once: later cells reuse it). Resumable: finished cells and generators are never redone; an
# interrupted generator resumes from its checkpoint. Collects the tables at the end and
# whenever it is stopped with MAX_CELLS.
# Usage: bench/generator_stage.sh scenario3-dp-merf|scenario4-cgan [MAX_CELLS]
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=${1:?campaign file stem under bench/generator-stage/}
MAX=${2:-1000000}
BIN=${BIN:-target/release/dpwear}
TOML=bench/generator-stage/$NAME.toml
RES=results/benchmarks/generator-stage
"$BIN" plan "$TOML" --results "$RES" --all > /dev/null
CAMPAIGN=$(sed -n 's/^campaign = "\(.*\)"/\1/p' "$TOML")
DIR=$RES/$CAMPAIGN
N=$(python3 -c "import json; print(len(json.load(open('$DIR/manifest.json'))['cells']))")
done_now=0
for i in $(seq 0 $((N - 1))); do
  id=$(python3 -c "import json; print(json.load(open('$DIR/manifest.json'))['cells'][$i]['id'])")
  [ -f "$DIR/cells/$id.json" ] && continue
  [ "$done_now" -ge "$MAX" ] && break
  start=$(date +%s)
  "$BIN" run "$TOML" --results "$RES" --only "$i" --no-collect -j 1 --threads 1 2>> "$DIR/bench.log"
  echo "cell $i ($id): $(( $(date +%s) - start )) s" >> "$DIR/bench-times.txt"
  done_now=$((done_now + 1))
done
"$BIN" collect "$TOML" --results "$RES" > "$DIR/collect.txt" 2>&1 || true
tail -40 "$DIR/collect.txt"
