#!/usr/bin/env bash
# The embedded default run (called by `make demo` after the build): the quickstart campaign
# on simulated data (clearly labelled as simulated) — plan, run every cell locally, collect,
# print the result table. A second `make demo` finds every cell finished and only collects.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/dpwear
SYN=results/quickstart-inputs/synthetic.h5
# Stand-in for a generator's output until dpwear's GANs land: 4 more simulated subjects.
[ -f "$SYN" ] || "$BIN" data simulate --subjects 4 --seed 1001 --out "$SYN"
"$BIN" run experiments/quickstart.toml
