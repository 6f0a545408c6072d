#!/usr/bin/env bash
# The embedded default run (called by `make demo` after the build): the quickstart campaign
# on simulated data (clearly labelled as simulated) — plan, train a generator per LOSO fold
# (non-private and private), run every cell locally, collect, print the result table and
# write the figures. A second `make demo` finds everything finished and only collects.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/dpwear
"$BIN" run experiments/quickstart.toml
