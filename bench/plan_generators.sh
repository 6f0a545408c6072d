#!/usr/bin/env bash
# Issue 13 benchmark: plan time and manifest size of a ~10,000-cell grid with a generator
# stage — 3 generators × gan_epsilon {inf, 10, 1, 0.1} × per-fold and shared × augment and
# TSTR × 7 values of k × 30 replicates on 15 simulated subjects: 10,080 cells and 5,760
# generator trainings, every private generator's σ calibrated at plan time (the same code path
# as its training). Writes results/benchmarks/plan-generators.md.
# Usage: bench/plan_generators.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/target/release/dpwear
OUT=$PWD/results/benchmarks/plan-generators.md
COMMIT=$(git rev-parse --short HEAD)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
cat > big.toml <<TOML
schema_version = 1
campaign = "big"
replicates = 30
[dataset]
simulate = { subjects = 15, seed = 1, minutes_scale = 0.3 }
windows = "non-overlapping"
[[grid]]
strategy = ["augment", "tstr"]
generator = ["cgan", "dgan", "dp-merf"]
gan_epsilon = ["inf", 10, 1, 0.1]
generator_training = ["per-fold", "shared"]
synthetic_subjects = [1, 5, 10, 15, 30, 50, 100]
classifier = ["cnn"]
TOML
t0=$(date +%s.%N)
"$BIN" plan big.toml > plan.txt 2>/dev/null
t1=$(date +%s.%N)
"$BIN" plan big.toml > /dev/null 2>&1
t2=$(date +%s.%N)
read -r CELLS GENS PRIV <<<"$(python3 -c "
import json; m=json.load(open('results/big/manifest.json'))
print(len(m['cells']), len(m['generators']), sum(1 for g in m['generators'] if g.get('privacy_plan')))")"
SIZE=$(stat -c %s results/big/manifest.json)
t3=$(date +%s.%N)
"$BIN" status big --summary > /dev/null
t4=$(date +%s.%N)
f() { python3 -c "print(f'{$2-$1:.2f}')"; }
cat > "$OUT" <<MD
# Plan time and manifest size with a generator stage

Command: \`bench/plan_generators.sh\` (commit $COMMIT, $(date -u +%F), $(nproc) cores; other work shared the machine).

| measurement | value |
|---|---|
| cells | $CELLS |
| generator trainings in the manifest (each trained once, shared by its cells) | $GENS |
| of which private (σ calibrated at plan time, RDP) | $PRIV |
| \`dpwear plan\` (first: stages the inputs and the dataset store, calibrates every private generator, composes every cell's ledger) | $(f "$t0" "$t1") s |
| \`dpwear plan\` again (inputs staged, manifest unchanged) | $(f "$t1" "$t2") s |
| manifest size | $SIZE bytes ($((SIZE / CELLS)) bytes per cell) |
| \`dpwear status --summary\` | $(f "$t3" "$t4") s |
MD
cat "$OUT"
