#!/usr/bin/env bash
# DoppelGANger speed, side by side on this machine (issue 12): dpwear's `gan train --generator
# dgan --mode reference` against gretel-synthetics' DGAN (PyTorch, CPU) with the same
# configuration (spec §3.2.2: one LSTM step emitting 60 x 7, MLP critic, WGAN-GP lambda 10,
# batch 1000, Adam 1e-4 / 0.5) on the reference's 1,083 sliding windows, EPOCHS epochs each,
# THREADS libtorch threads each, run one after the other, REPEAT times alternating.
# Needs the bench-only venv: python3 -m venv bench/.venv-gretel && bench/.venv-gretel/bin/pip
#   install torch==2.11.0 category_encoders scikit-learn pandas && bench/.venv-gretel/bin/pip install
#   --no-deps gretel-synthetics==0.22.20 (its pinned rdt<1.3 is no longer on PyPI; DGAN needs none of it)
# Writes results/benchmarks/dgan-vs-gretel.jsonl (one line per run) and prints the ratio.
# Usage: bench/dgan_vs_gretel.sh [EPOCHS=20] [THREADS=1] [REPEAT=2]
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-20}; THREADS=${2:-1}; REPEAT=${3:-2}
BIN=${BIN:-target/release/dpwear}
PY=bench/.venv-gretel/bin/python
DATA=results/bench-data
mkdir -p "$DATA" results/benchmarks
DS=$DATA/wesad-ref.h5
[ -f "$DS" ] || "$BIN" data import ../shared/data/wesad/subject_data_1hz.pickle --out "$DS" --force
OUT=results/benchmarks/dgan-vs-gretel.jsonl
for r in $(seq 1 "$REPEAT"); do
  ck=$(mktemp -d)
  t0=$(date +%s.%N)
  "$BIN" gan train --dataset "$DS" --generator dgan --mode reference --windows sliding \
    --epochs "$EPOCHS" --threads "$THREADS" --seed "$r" --checkpoint-every 100000000 \
    --out "$ck/ck" 2>/dev/null >/dev/null
  t1=$(date +%s.%N)
  python3 - "$ck/ck/model-card.json" "$t0" "$t1" "$EPOCHS" "$THREADS" >> "$OUT" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
t = card["training"]
wall = float(sys.argv[3]) - float(sys.argv[2])
print(json.dumps({"impl": "dpwear dgan (reference mode)", "code": card["code_version"],
  "threads": int(sys.argv[5]), "epochs": int(sys.argv[4]), "windows": card["data"]["windows"],
  "steps": t["steps_done"], "wall_s": wall, "train_s": t["wall_seconds"],
  "s_per_epoch": t["wall_seconds"] / int(sys.argv[4])}))
PY
  rm -rf "$ck"
  "$PY" bench/gretel_dgan_epochs.py ../shared/data/wesad/wesad_windows.npy "$EPOCHS" "$THREADS" 2>/dev/null | tail -1 >> "$OUT"
done
python3 - "$OUT" "$EPOCHS" "$THREADS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if r["epochs"] == int(sys.argv[2]) and r["threads"] == int(sys.argv[3])]
d = [r["s_per_epoch"] for r in rows if r["impl"].startswith("dpwear")]
g = [r["s_per_epoch"] for r in rows if r["impl"].startswith("gretel")]
if d and g:
    md, mg = sorted(d)[len(d)//2], sorted(g)[len(g)//2]
    print(f"s/epoch (median of {len(d)} / {len(g)} runs, {sys.argv[3]} thread(s)): dpwear {md:.4f}, gretel {mg:.4f}; gretel/dpwear = {mg/md:.2f}x")
PY
