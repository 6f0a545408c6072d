#!/usr/bin/env bash
# σ calibrated by the PLD accountant against the RDP accountant for the classifiers' LOSO
# schedules (issue 5: "the σ saved by PLD against RDP at the same ε"). Example-level DP-SGD on
# a typical fold: n = 495 training windows (14 of the 15 WESAD subjects), batch 50 (q = 50/495),
# steps = ⌈epochs · n / batch⌉, δ = 1/n^1.1, Poisson sampling, window unit.
# Then the calibration cost for a 100,000-step schedule (q = 256/60,000, δ = 1e-5; issue 5: under
# a second with RDP, a few seconds with PLD), with the binary's bare start-up time beside it.
# Writes results/benchmarks/dp-sigma.md.  Usage: bench/dp_sigma.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${DPWEAR_BIN:-target/release/dpwear}
OUT=results/benchmarks/dp-sigma.md
N=495; B=50
Q=$(python3 -c "print($B/$N)")
DELTA=$(python3 -c "print(1/$N**1.1)")
sigma() { # accountant eps steps → "σ seconds"
  local t0 t1 s q=${4:-$Q} d=${5:-$DELTA}
  t0=$(date +%s.%N)
  s=$("$BIN" privacy sigma --target-epsilon "$2" --sample-rate "$q" --steps "$3" --delta "$d" \
      --accountant "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['sigma'])")
  t1=$(date +%s.%N)
  echo "$s $(python3 -c "print(f'{$t1-$t0:.2f}')")"
}
{
  echo "# σ: PLD against RDP at the same (ε, δ)"
  echo
  echo "Command: \`bench/dp_sigma.sh\` ($(git rev-parse --short=12 HEAD), $(date -u +%F)). Typical LOSO fold:"
  echo "n = $N training windows, batch $B (q = $Q), δ = 1/n^1.1 = $(python3 -c "print(f'{$DELTA:.4e}')"),"
  echo "Poisson sampling, window unit, steps = ⌈epochs · n / batch⌉. RDP: dpwear's RDP accountant"
  echo "(tf-privacy orders, improved conversion); PLD: connect-the-dots pessimistic, interval 1e-4;"
  echo "PRV: upper end of its certified error bar (ε error ≤ 1 % of the RDP ε, δ error δ/1000)."
  echo "Seconds are wall time of one \`dpwear privacy sigma\` call (process start-up included);"
  echo "load average when the run began: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores."
  echo
  echo "| classifier (epochs) | steps | ε | σ RDP | σ PLD | σ saved by PLD | noise variance saved | σ PRV (upper bound) | σ saved by PRV | s RDP | s PLD | s PRV |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for pair in cnn:10 cnn-lstm:20 transformer:110; do
    clf=${pair%%:*}; ep=${pair##*:}
    steps=$(( (ep * N + B - 1) / B ))
    for eps in 10 1 0.1; do
      read -r sr tr < <(sigma rdp "$eps" "$steps")
      read -r sp tp < <(sigma pld "$eps" "$steps")
      read -r sv tv < <(sigma prv "$eps" "$steps")
      python3 - "$clf" "$ep" "$steps" "$eps" "$sr" "$sp" "$sv" "$tr" "$tp" "$tv" <<'PY'
import sys
clf, ep, steps, eps, sr, sp, sv, tr, tp, tv = sys.argv[1:]
sr, sp, sv = float(sr), float(sp), float(sv)
print(f"| {clf} ({ep}) | {steps} | {eps} | {sr:.4f} | {sp:.4f} | {100*(sr-sp)/sr:.1f} % | {100*(1-(sp/sr)**2):.1f} % | {sv:.4f} | {100*(sr-sv)/sr:.1f} % | {tr} | {tp} | {tv} |")
PY
    done
  done
  echo
  echo "## Calibration cost for a long schedule"
  echo
  Q2=$(python3 -c "print(256/60000)")
  t0=$(date +%s.%N); "$BIN" --version > /dev/null; t1=$(date +%s.%N)
  echo "100,000 steps, q = 256/60,000 = $Q2, δ = 1e-5, Poisson, window unit. Seconds are one"
  echo "\`dpwear privacy sigma\` call, process start-up included; \`dpwear --version\` alone took"
  echo "$(python3 -c "print(f'{$t1-$t0:.2f}')") s here (loading libtorch in a torch build)."
  echo
  echo "| ε | σ RDP | s RDP | σ PLD | s PLD | σ PRV | s PRV |"
  echo "|---|---|---|---|---|---|---|"
  for eps in 8 1; do
    read -r sr tr < <(sigma rdp "$eps" 100000 "$Q2" 1e-5)
    read -r sp tp < <(sigma pld "$eps" 100000 "$Q2" 1e-5)
    read -r sv tv < <(sigma prv "$eps" 100000 "$Q2" 1e-5)
    echo "| $eps | $(python3 -c "print(f'{$sr:.4f}')") | $tr | $(python3 -c "print(f'{$sp:.4f}')") | $tp | $(python3 -c "print(f'{$sv:.4f}')") | $tv |"
  done
} > "$OUT"
cat "$OUT"
