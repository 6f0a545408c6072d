#!/usr/bin/env bash
# Training speed (issue 15): dpwear against a Keras re-statement of the reference classifiers
# (bench/keras_reference.py, tensorflow-cpu + tf_keras in the bench-only venv bench/.venv-keras,
# from PyPI) on the same reference features, on the same machine, interleaved.
#
#   1. CNN LOSO (15 folds × 10 epochs, batch 50, reference mode), ROUNDS rounds; each round runs
#      dpwear and Keras back to back, in alternating order (ABBA), all cores for both; dpwear
#      round r uses master seed 42 + r, so its accuracy is comparable with the 10-replicate
#      baseline of bench/loso_baseline.sh (results/benchmarks/loso-cnn-reference/).
#   2. Epoch time of each classifier on all 530 windows (`dpwear eval tstr --train F --test F`
#      against Keras' fit on the same windows), EPOCHS epochs, ROUNDS interleaved rounds.
#   3. One DP-SGD step against one non-private step (bench/dp_step.sh), per classifier.
#
# Every run writes one JSON file under results/benchmarks/train-speed/ (atomically: a run that
# did not finish leaves nothing), and finished runs are never repeated: rerun to resume.
# Summarise with: python3 bench/summarise_train_speed.py > results/benchmarks/train-speed.md
#
# Usage: bench/train_speed.sh [ROUNDS] [EPOCHS]            (defaults 3 and 3)
#        DEVICE=cuda bench/train_speed.sh                     GPU mode: dpwear runs with
#          --device cuda (the CUDA build: `cargo build --release --features cuda` with the full
#          torch wheels), results under train-speed-cuda/; Keras stays on the CPU (tensorflow-cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
EPOCHS=${2:-3}
DEVICE=${DEVICE:-cpu}
THREADS=${THREADS:-$(nproc)}
BIN=${BIN:-target/release/dpwear}
OUT=results/benchmarks/train-speed
[ "$DEVICE" = cpu ] || OUT=$OUT-$DEVICE
mkdir -p "$OUT"
[ -f .env.build ] && source .env.build

VENV=bench/.venv-keras
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import tensorflow, tf_keras, h5py" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "tensorflow-cpu==2.21.*" "tf_keras==2.21.*" h5py
fi

FEAT=$(bench/reference_features.sh "$BIN")

# run NAME COMMAND…: runs once, timing it; stdout goes to NAME.out, then NAME.json appears with
# the wall time (the tool's own record, when it writes one, is NAME.record.json).
run() {
  local name=$1; shift
  [ -f "$OUT/$name.json" ] && return 0
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > "$OUT/.$name.out.partial"
  t1=$(date +%s.%N)
  mv "$OUT/.$name.out.partial" "$OUT/$name.out"
  python3 - "$OUT/$name" "$t0" "$t1" "$*" <<'EOF'
import json, os, sys
base, t0, t1, cmd = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rec = {"wall_s": t1 - t0, "command": cmd}
tmp = base + ".json.partial"
json.dump(rec, open(tmp, "w"), indent=1)
os.replace(tmp, base + ".json")
EOF
  echo "$name: $(python3 -c "import json;print(round(json.load(open('$OUT/$name.json'))['wall_s'],1))") s"
}

dpwear_loso() {
  local r=$1
  run "loso-cnn-dpwear-r$r" "$BIN" eval loso --features "$FEAT" --classifier cnn --mode reference \
    --replicates 1 --seed $((42 + r)) --threads "$THREADS" --device "$DEVICE" \
    --out "$OUT/loso-cnn-dpwear-r$r.record.json" --force
}
keras_loso() {
  local r=$1
  run "loso-cnn-keras-r$r" "$VENV/bin/python" bench/keras_reference.py --features "$FEAT" \
    --classifier cnn --mode loso --threads "$THREADS" --seed $((42 + r))
}
for r in $(seq 0 $((ROUNDS - 1))); do
  if [ $((r % 2)) -eq 0 ]; then dpwear_loso "$r"; keras_loso "$r"; else keras_loso "$r"; dpwear_loso "$r"; fi
done

for clf in cnn cnn-lstm transformer; do
  for r in $(seq 0 $((ROUNDS - 1))); do
    run "epochs-$clf-dpwear-r$r" "$BIN" eval tstr --train "$FEAT" --test "$FEAT" --classifier "$clf" \
      --mode reference --replicates 1 --epochs "$EPOCHS" --seed $((42 + r)) --threads "$THREADS" \
      --device "$DEVICE" --out "$OUT/epochs-$clf-dpwear-r$r.record.json" --force
    run "epochs-$clf-keras-r$r" "$VENV/bin/python" bench/keras_reference.py --features "$FEAT" \
      --classifier "$clf" --mode epochs --epochs "$EPOCHS" --threads "$THREADS" --seed $((42 + r))
  done
done

if [ "$DEVICE" = cpu ]; then
  for clf in cnn cnn-lstm transformer; do
    run "dp-step-$clf" bench/dp_step.sh "$FEAT" "$THREADS" "$clf"
  done
fi
echo "done; summarise with: python3 bench/summarise_train_speed.py > results/benchmarks/train-speed.md"
