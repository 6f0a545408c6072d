#!/usr/bin/env bash
# Fold-batched training (issue 15): throughput of the CNN's LOSO folds trained as one batched
# model (`dpwear eval loso --fold-batch M`) against one model at a time, on the same reference
# features, same seed, same machine, interleaved rounds:
#   sequential  one fold after the other on all threads   (DPWEAR_SEQUENTIAL_FOLDS=1)
#   concurrent  one fold per thread (the CPU default)
#   batch-5     five folds as one model, then the next five
#   batch-15    all fifteen folds as one model
# Throughput = folds trained and scored per second of wall time; the report gives each mode's
# ratio to `sequential` and its reference_f1 (the same seed: batched models equal the
# one-at-a-time ones within float tolerance, so the F1s should agree up to predictions that
# sit on the 0.5 threshold).
#
# Every run writes one JSON file under results/benchmarks/fold-batch/ (atomically); finished
# runs are never repeated: rerun to resume. The summary is results/benchmarks/fold-batch.md.
#
# Usage: bench/fold_batch.sh [ROUNDS] [EPOCHS]      (defaults 2 and 2)
#        DEVICE=cuda bench/fold_batch.sh            GPU mode (the CUDA build; results under
#          fold-batch-cuda/): sequential against batch-5 and batch-15.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
EPOCHS=${2:-2}
DEVICE=${DEVICE:-cpu}
THREADS=${THREADS:-$(nproc)}
BIN=${BIN:-target/release/dpwear}
OUT=results/benchmarks/fold-batch
[ "$DEVICE" = cpu ] || OUT=$OUT-$DEVICE
mkdir -p "$OUT"
[ -f .env.build ] && source .env.build

FEAT=$(bench/reference_features.sh "$BIN")

# run NAME ENV FOLD_BATCH: one LOSO replicate of the CNN, timed; NAME.json appears when done.
run() {
  local name=$1 envs=$2 batch=$3
  [ -f "$OUT/$name.json" ] && return 0
  local t0 t1
  t0=$(date +%s.%N)
  env $envs "$BIN" eval loso --features "$FEAT" --classifier cnn --mode reference --replicates 1 \
    --epochs "$EPOCHS" --seed 42 --threads "$THREADS" --device "$DEVICE" --fold-batch "$batch" \
    --out "$OUT/.$name.record.json" --force > "$OUT/.$name.out.partial"
  t1=$(date +%s.%N)
  mv "$OUT/.$name.record.json" "$OUT/$name.record.json"
  mv "$OUT/.$name.out.partial" "$OUT/$name.out"
  python3 - "$OUT/$name" "$t0" "$t1" "$name" <<'PY'
import json, os, sys
base, t0, t1, name = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rec = json.load(open(base + ".record.json"))
out = {"mode": name.rsplit("-r", 1)[0], "wall_s": t1 - t0,
       "folds": sum(len(r["folds"]) for r in rec["replicates"]),
       "reference_f1": rec["summary"]["reference_f1"]["mean"],
       "final_losses": [f["final_loss"] for r in rec["replicates"] for f in r["folds"]]}
json.dump(out, open(base + ".json.partial", "w"), indent=1)
os.replace(base + ".json.partial", base + ".json")
PY
  echo "$name: $(python3 -c "import json;print(round(json.load(open('$OUT/$name.json'))['wall_s'],1))") s"
}

MODES="sequential concurrent batch-5 batch-15"
[ "$DEVICE" = cpu ] || MODES="sequential batch-5 batch-15"
for r in $(seq 0 $((ROUNDS - 1))); do
  order=$MODES
  [ $((r % 2)) -eq 1 ] && order=$(echo $MODES | tr ' ' '\n' | tac | tr '\n' ' ')
  for mode in $order; do
    case $mode in
      sequential) run "$mode-r$r" "DPWEAR_SEQUENTIAL_FOLDS=1" 1 ;;
      concurrent) run "$mode-r$r" "DPWEAR_BENCH_MODE=concurrent" 1 ;;
      batch-*) run "$mode-r$r" "DPWEAR_SEQUENTIAL_FOLDS=1" "${mode#batch-}" ;;
    esac
  done
done

python3 - "$OUT" "$EPOCHS" "$DEVICE" "$(nproc)" > "$OUT.md.partial" <<'PY'
import glob, json, statistics as st, sys
out, epochs, device, cores = sys.argv[1:5]
runs = [json.load(open(f)) for f in sorted(glob.glob(out + "/*.json")) if not f.endswith(".record.json")]
by = {}
for r in runs:
    by.setdefault(r["mode"], []).append(r)
seq = st.mean(r["wall_s"] for r in by["sequential"])
base_losses = by["sequential"][0]["final_losses"]
print(f"# Fold-batched training: CNN LOSO, {epochs} epochs, reference mode, device {device}, {cores} cores\n")
print(f"Command: `bench/fold_batch.sh ROUNDS {epochs}`" + (" with DEVICE=cuda" if device != "cpu" else "") + "\n")
print("| mode | runs | wall s (mean) | throughput / sequential | reference_f1 | max |Δ final loss| vs sequential |")
print("|---|---|---|---|---|---|")
for mode in ["sequential", "concurrent", "batch-5", "batch-15"]:
    rs = by.get(mode)
    if not rs:
        continue
    wall = st.mean(r["wall_s"] for r in rs)
    dl = max(abs(a - b) for r in rs for a, b in zip(r["final_losses"], base_losses))
    print(f"| {mode} | {len(rs)} | {wall:.1f} | {seq / wall:.2f}× | {rs[0]['reference_f1']:.4f} | {dl:.1e} |")
PY
mv "$OUT.md.partial" "$OUT.md"
cat "$OUT.md"
