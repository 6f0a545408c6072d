#!/usr/bin/env python3
"""Summarises bench/train_speed.sh (issue 15) as Markdown on stdout.

Usage: python3 bench/summarise_train_speed.py [DIR]   (default results/benchmarks/train-speed)
Reads DIR/*.json (wall times), DIR/*.record.json (dpwear's result records), DIR/*.out (Keras'
JSON line; bench/dp_step.sh's lines) and, for the accuracy check, the 10-replicate baseline
results/benchmarks/loso-cnn-reference/rep-*.json of bench/loso_baseline.sh.
"""
import glob
import json
import os
import platform
import re
import statistics as st
import sys

D = sys.argv[1] if len(sys.argv) > 1 else "results/benchmarks/train-speed"
BASELINE = "results/benchmarks/loso-cnn-reference"


def load(path):
    with open(path) as f:
        return json.load(f)


def keras_out(name):
    lines = open(os.path.join(D, name + ".out")).read().strip().splitlines()
    return json.loads(lines[-1])


def rounds(prefix):
    found = sorted(glob.glob(os.path.join(D, prefix + "-r*.json")))
    return sorted(int(re.search(r"-r(\d+)\.json$", f).group(1)) for f in found
                  if not f.endswith(".record.json"))


def fmt(xs, d=3):
    if not xs:
        return "–"
    if len(xs) == 1:
        return f"{xs[0]:.{d}f}"
    return f"{st.mean(xs):.{d}f} ± {st.stdev(xs):.{d}f}"


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


out = []
p = out.append
p("# Training speed: dpwear against the Keras re-statement of the reference (issue 15)\n")
p(f"Machine: {os.cpu_count()} cores ({cpu_name()}). Produced by `bench/train_speed.sh`, "
  "summarised by `python3 bench/summarise_train_speed.py`. Every pair of runs is back to back "
  "on the same machine, all cores for both; Keras is tensorflow-cpu + tf_keras "
  "(`bench/keras_reference.py`, the reference's models, loss, class weights and Adam, written "
  "from the specification).\n")

# 1. CNN LOSO
both = [r for r in rounds("loso-cnn-dpwear") if os.path.exists(os.path.join(D, f"loso-cnn-keras-r{r}.json"))]
p("## CNN LOSO (15 folds × 10 epochs, batch 50, reference mode)\n")
if both:
    p("| round | order | dpwear s | Keras s | dpwear / Keras | dpwear `reference_f1` | Keras F1 |")
    p("|---|---|---|---|---|---|---|")
    ratios, f1_d, f1_k = [], [], []
    for r in both:
        wd = load(os.path.join(D, f"loso-cnn-dpwear-r{r}.json"))["wall_s"]
        wk = load(os.path.join(D, f"loso-cnn-keras-r{r}.json"))["wall_s"]
        rec = load(os.path.join(D, f"loso-cnn-dpwear-r{r}.record.json"))
        fd = rec["summary"]["reference_f1"]["mean"]
        fk = keras_out(f"loso-cnn-keras-r{r}")["mean_f1"]
        ratios.append(wd / wk)
        f1_d.append(fd)
        f1_k.append(fk)
        order = "dpwear first" if r % 2 == 0 else "Keras first"
        p(f"| {r} | {order} | {wd:.1f} | {wk:.1f} | {wd / wk:.3f} | {fd:.4f} | {fk:.4f} |")
    p("")
    p(f"**dpwear / Keras wall time: {fmt(ratios)}** over {len(ratios)} rounds. "
      f"Mean `reference_f1`: dpwear {fmt(f1_d, 4)}, Keras {fmt(f1_k, 4)} (Keras' is the "
      "reference's micro-F1 computed the same way; its seeds are TensorFlow's, not dpwear's).\n")
    base = []
    for f in sorted(glob.glob(os.path.join(BASELINE, "rep-*.json"))):
        base.append(load(f)["summary"]["reference_f1"]["mean"])
    if base:
        lo, hi = min(base), max(base)
        inside = sum(lo <= x <= hi for x in f1_d)
        p(f"Accuracy against the baseline before this work (`bench/loso_baseline.sh cnn reference "
          f"10`, seeds 42–{41 + len(base)}): `reference_f1` {fmt(base, 4)}, range "
          f"[{lo:.4f}, {hi:.4f}]; the rounds here use seeds 42, 43, …: {inside} of {len(f1_d)} "
          "inside that range.\n")
else:
    p("No finished round yet.\n")

# 2. epochs
p("## Epoch time per classifier (530 windows, 11 batches of ≤ 50)\n")
p("dpwear: `eval tstr --train F --test F` training time / epochs (no warm-up excluded). Keras: "
  "fit time / epochs, and the mean of epochs 2… (the first includes tf.function tracing).\n")
p("| classifier | epochs | dpwear s/epoch | Keras s/epoch | Keras s/epoch after the first | "
  "dpwear / Keras | dpwear / Keras (after the first) |")
p("|---|---|---|---|---|---|---|")
for clf in ["cnn", "cnn-lstm", "transformer"]:
    rs = [r for r in rounds(f"epochs-{clf}-dpwear")
          if os.path.exists(os.path.join(D, f"epochs-{clf}-keras-r{r}.json"))]
    if not rs:
        p(f"| {clf} | – | – | – | – | – | – |")
        continue
    d_ep, k_ep, k_steady = [], [], []
    epochs = None
    for r in rs:
        rec = load(os.path.join(D, f"epochs-{clf}-dpwear-r{r}.record.json"))
        epochs = rec["config"]["hyper"]["epochs"]
        d_ep.append(rec["timings"]["train_seconds"][0][0] / epochs)
        k = keras_out(f"epochs-{clf}-keras-r{r}")
        k_ep.append(k["epoch_s"])
        k_steady.append(k["epoch_s_after_first"])
    p(f"| {clf} | {epochs} | {fmt(d_ep)} | {fmt(k_ep)} | {fmt(k_steady)} | "
      f"{fmt([a / b for a, b in zip(d_ep, k_ep)])} | "
      f"{fmt([a / b for a, b in zip(d_ep, k_steady)])} |")
p("")

# 3. DP step
p("## One DP-SGD step against one non-private step (batch 50, `bench/dp_step.sh`)\n")
any_dp = False
for clf in ["cnn", "cnn-lstm", "transformer"]:
    path = os.path.join(D, f"dp-step-{clf}.out")
    if os.path.exists(path):
        any_dp = True
        p(f"- {clf}:")
        for line in open(path).read().strip().splitlines():
            p(f"  - `{line.strip()}`")
if not any_dp:
    p("Not run yet.")
p("")
print("\n".join(out))
