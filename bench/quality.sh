#!/usr/bin/env bash
# Issue 14 benchmark: the quality report (fidelity and leakage) of per-fold generators on the
# reference 1 Hz WESAD, each measured against the staged real data with its training
# subjects as members and its LOSO test subject as the holdout.
#
# For campaign TOML (default results folder RES), plans it, then for every generator artifact
# whose test subject is in SUBJECTS (all folds when none are given) runs
# `dpwear run-generator` — it trains and samples the generator unless done (resumable) and
# writes generators/<id>/quality-<hash>.json — and, for the first listed subject of each
# (kind, gan_epsilon), the full `dpwear quality` report (with the post-hoc models, and the
# canary audit for private cGANs) and its figures under
# results/benchmarks/quality/<campaign>/. Summarise with bench/summarise_quality.py.
# REPLICATES (default "0") names the replicates whose generators are measured.
# Usage: bench/quality.sh TOML [SUBJECT...]
#   e.g. bench/quality.sh bench/generator-stage/scenario3-dp-merf.toml
#        RES=results/benchmarks/quality-campaigns bench/quality.sh bench/quality/gans.toml 2
set -euo pipefail
cd "$(dirname "$0")/.."
TOML=${1:?experiment file}; shift
BIN=${BIN:-target/release/dpwear}
RES=${RES:-results/benchmarks/generator-stage}
"$BIN" plan "$TOML" --results "$RES" --all > /dev/null
CAMPAIGN=$(sed -n 's/^campaign = "\(.*\)"/\1/p' "$TOML")
DIR=$RES/$CAMPAIGN
OUT=results/benchmarks/quality/$CAMPAIGN
mkdir -p "$OUT"
REPLICATES=${REPLICATES:-0} python3 - "$DIR/manifest.json" "$@" > "$OUT/.todo" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
want = {int(s) for s in sys.argv[2:]}
reps = {int(r) for r in os.environ["REPLICATES"].split(",")}
first = {}
for g in m["generators"]:
    t = g.get("test_subject")
    if want and t not in want or g["replicate"] not in reps:
        continue
    key = (g["spec"]["kind"], str(g["spec"]["gan_epsilon"]), g["replicate"])
    full = key not in first and g["replicate"] == 0
    first.setdefault(key, g["id"])
    eps = g["spec"]["gan_epsilon"]
    print(g["index"], g["id"], g["spec"]["kind"], "inf" if eps in (None, "inf") else eps, t, int(full))
PY
while read -r idx id kind eps subject full; do
  start=$(date +%s)
  "$BIN" run-generator --manifest "$DIR/manifest.json" --index "$idx" --threads 1 2>> "$OUT/bench.log"
  echo "generator $idx ($id, $kind, eps $eps, test S$subject): $(( $(date +%s) - start )) s" >> "$OUT/bench-times.txt"
  if [ "$full" = 1 ] && [ ! -f "$OUT/$kind-eps$eps-S$subject/quality.json" ]; then
    syn=$(ls "$DIR/generators/$id"/synthetic-*.h5 | head -1)
    "$BIN" quality --real "$DIR/inputs/dataset.h5" --synthetic "$syn" \
      --checkpoint "$DIR/generators/$id" --out "$OUT/$kind-eps$eps-S$subject" --force \
      --model-scores --threads 1 $( [ "$kind" = cgan ] && [ "$eps" != inf ] && echo --audit ) \
      > "$OUT/$kind-eps$eps-S$subject.txt" 2>> "$OUT/bench.log"
  fi
done < "$OUT/.todo"
rm -f "$OUT/.todo"
echo "done: $DIR; summarise with python3 bench/summarise_quality.py"
