#!/usr/bin/env bash
# Time per step of each generator family, private against non-private, on the reference 1 Hz
# data (15 subjects, non-overlapping windows for both so the data are the same), THREADS
# libtorch threads, STEPS executor steps each (default-mode schedules, window unit, epsilon 1).
# Writes results/benchmarks/gan-step-times.md.
# Usage: bench/gan_step_times.sh [STEPS=30] [THREADS=1]
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-30}; THREADS=${2:-1}
BIN=${BIN:-target/release/dpwear}
DS=results/bench-data/wesad-ref.h5
[ -f "$DS" ] || "$BIN" data import ../shared/data/wesad/subject_data_1hz.pickle --out "$DS" --force
OUT=results/benchmarks/gan-step-times.md
tmp=$(mktemp -d)
{
  echo "Time per executor step and per discriminator (critic) step, $STEPS steps, $THREADS thread(s), non-overlapping windows of the 15 reference subjects; \`bench/gan_step_times.sh $STEPS $THREADS\` on $(nproc) cores, $(date -u +%F)."
  echo
  echo "| generator (default mode) | DP | ms / executor step | D steps / executor step | ms / D step | private / non-private |"
  echo "|---|---|---|---|---|---|"
  for g in cgan dgan dp-merf timegan; do
    base=""
    for dp in no yes; do
      args=()
      [ "$dp" = yes ] && args=(--epsilon 1)
      if [ "$g" = timegan ] && [ "$dp" = yes ]; then
        echo "| $g | ε = 1 | refused (all five networks read the data) | | | |"; continue
      fi
      rm -rf "$tmp/ck"
      "$BIN" gan train --dataset "$DS" --generator "$g" --windows non-overlapping --steps "$STEPS" \
        --threads "$THREADS" "${args[@]}" --out "$tmp/ck" >/dev/null 2>&1
      python3 - "$tmp/ck/model-card.json" "$g" "$dp" "$base" > "$tmp/row" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); t = c["training"]; g, dp, base = sys.argv[2:5]
ms = 1000 * t["wall_seconds"] / t["steps_done"]
h = c["hyper"]
dsteps = h.get("d_steps", 1) if g in ("cgan", "dgan") else (0 if g == "dp-merf" else 1)
per_d = f"{ms / dsteps:.1f}" if dsteps else "- (one release)"
ratio = f"{ms / float(base):.2f}x" if base else ""
print(f"| {g} | {'ε = 1' if dp == 'yes' else 'no'} | {ms:.1f} | {dsteps} | {per_d} | {ratio} |")
print(f"{ms}", file=sys.stderr)
PY
      cat "$tmp/row"
      [ "$dp" = no ] && base=$(python3 -c "import json;c=json.load(open('$tmp/ck/model-card.json'));t=c['training'];print(1000*t['wall_seconds']/t['steps_done'])")
    done
  done
} > "$OUT"
rm -rf "$tmp"
cat "$OUT"
