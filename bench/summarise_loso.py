#!/usr/bin/env python3
"""Summarise LOSO benchmark records written by bench/loso_baseline.sh.

Usage: bench/summarise_loso.py results/benchmarks/loso-cnn-reference [more dirs…]
Prints a Markdown table: replicates finished, mean ± sd (ddof 1) over replicates of the
per-replicate subject averages (reference_f1, stress-class F1, macro-F1, accuracy), wall time
per LOSO run and per fold, and where the training time went. Python standard library only.
"""
import json
import statistics
import sys
from pathlib import Path


def ms(values):
    if not values:
        return "-"
    m = statistics.fmean(values)
    if len(values) < 2:
        return f"{m:.4f}"
    return f"{m:.4f} ± {statistics.stdev(values):.4f}"


def main(dirs):
    print("| run | replicates | reference_f1 | stress F1 | macro F1 | accuracy | s per LOSO run | s per fold | training time split (forward / backward / step / other) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d in dirs:
        recs = [json.loads(p.read_text()) for p in sorted(Path(d).glob("rep-*.json"))]
        if not recs:
            print(f"| {Path(d).name} | 0 | - | - | - | - | - | - | - |")
            continue
        avgs = [r["replicates"][0]["average"] for r in recs]
        ref = [a["reference"]["f1"] for a in avgs if a.get("reference")]
        pos = [a["positive_f1"] for a in avgs]
        mac = [a["macro_f1"] for a in avgs]
        acc = [a["accuracy"] for a in avgs]
        total = [r["timings"]["total_seconds"] for r in recs]
        fold = [r["timings"]["mean_fold_seconds"] for r in recs]
        prof = [p for r in recs for rep in r["timings"].get("train_profile", []) for p in rep]
        split = "-"
        if prof:
            tot = {k: sum(p[k] for p in prof) for k in prof[0]}
            whole = sum(tot.values())
            other = tot["setup"] + tot["batching"]
            split = " / ".join(f"{100 * v / whole:.0f} %" for v in (tot["forward"], tot["backward"], tot["step"], other))
        c = recs[0]["config"]
        name = f"{c['classifier']} {c['head']} ({c['hyper']['epochs']} epochs)"
        print(f"| {name} | {len(recs)} | {ms(ref)} | {ms(pos)} | {ms(mac)} | {ms(acc)} | {statistics.fmean(total):.0f} | {statistics.fmean(fold):.1f} | {split} |")


if __name__ == "__main__":
    main(sys.argv[1:])
