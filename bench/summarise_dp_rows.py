#!/usr/bin/env python3
"""Summarise the private-row records written by bench/dp_rows.sh.

Usage: bench/summarise_dp_rows.py results/benchmarks/dp-rows/* [more dirs…]
Prints a Markdown table per run directory: classifier, head, DP mode, accountant, target ε, the
fold range of σ, δ and steps, ε spent (max over folds), replicates finished, mean (± sd over
replicates, ddof 1) of the per-replicate subject averages of reference_f1, stress-class F1 and
macro-F1, the folds whose model predicts one class for every test window ("constant"), and
seconds per LOSO run. Python standard library only.
"""
import json
import statistics
import sys
from pathlib import Path

from summarise_loso import ms  # mean ± sd (ddof 1) over replicates


def span(values, fmt):
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"


def constant(fold):
    """The fold's model predicted a single class for all its test windows."""
    c = fold["metrics"]["confusion"]
    return c[0][0] + c[1][0] == 0 or c[0][1] + c[1][1] == 0


def main(dirs):
    print("| classifier | head | DP mode | accountant | ε target | σ | δ | steps | ε spent (max) | clipped | replicates | reference_f1 | stress F1 | macro F1 | constant folds | s per LOSO run |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for d in dirs:
        recs = [json.loads(p.read_text()) for p in sorted(Path(d).glob("rep-*.json"))]
        if not recs:
            continue
        cfg = recs[0]["config"]
        dp = cfg["hyper"]["dp"]
        folds = [f for r in recs for rep in r["replicates"] for f in rep["folds"]]
        priv = [f["privacy"] for f in folds]
        avg = [rep["average"] for r in recs for rep in r["replicates"]]
        print(
            "| {clf} | {head} | {mode} | {acc} | {eps:g} | {sigma} | {delta} | {steps} | {spent:.4f} | {clip} | {n} | {rf1} | {sf1} | {mf1} | {const}/{nf} | {secs:.0f} |".format(
                clf=cfg["classifier"],
                head=cfg["head"],
                mode=dp["mode"],
                acc=priv[0]["accountant"] + (" (tf-privacy 0.8.5)" if dp["mode"] == "reference-batch" else ""),
                eps=dp["target_epsilon"],
                sigma=span([p["sigma"] for p in priv], "{:.4f}"),
                delta=span([p["delta"] for p in priv], "{:.3e}"),
                steps=span([p["steps_realised"] for p in priv], "{}"),
                spent=max(p["epsilon_spent"] for p in priv),
                clip=f"{statistics.fmean(p['mean_clipped_fraction'] for p in priv):.2f}",
                n=len(recs),
                rf1=ms([a["reference"]["f1"] for a in avg]),
                sf1=ms([a["positive_f1"] for a in avg]),
                mf1=ms([a["macro_f1"] for a in avg]),
                const=sum(constant(f) for f in folds),
                nf=len(folds),
                secs=statistics.fmean(r["timings"]["total_seconds"] for r in recs),
            )
        )


if __name__ == "__main__":
    main(sys.argv[1:])
