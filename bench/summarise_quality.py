#!/usr/bin/env python3
"""Summarise the generator quality reports of the benchmark campaigns (issue 14).

Reads every campaign manifest under results/benchmarks/generator-stage/ and
results/benchmarks/quality-campaigns/, and each generator's stored report
generators/<id>/quality-*.json (written by the generator stage: members = the generator's
training subjects, holdout = its LOSO test subject). Prints one Markdown table per campaign:
per (generator, gan_epsilon, training), the mean ± sd over the measured generators (folds and
replicates) of each headline metric, with n. Usage:
    python3 bench/summarise_quality.py > results/benchmarks/quality.md
"""
import glob
import json
import os
import statistics
import sys

ROOTS = ["results/benchmarks/generator-stage", "results/benchmarks/quality-campaigns"]
FIDELITY = ["mmd2", "c2st_accuracy", "marginal_ks_mean", "correlation_frobenius",
            "psd_distance_mean", "prdc_precision", "prdc_recall", "prdc_coverage"]
LEAKAGE = ["mia_auc", "dcr_ratio", "domias_auc"]


def fmt(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    m = statistics.fmean(vals)
    if len(vals) == 1:
        return f"{m:.3f}"
    return f"{m:.3f} ± {statistics.stdev(vals):.3f}"


def main():
    print("# Quality of per-fold generators on the reference 1 Hz WESAD (issue 14)\n")
    print("Made by `python3 bench/summarise_quality.py` from the reports the generator stage stores "
          "beside each generator (`bench/quality.sh`). Members: the generator's 14 training "
          "subjects' windows; holdout: its LOSO test subject's windows; synthetic: 15 subjects × "
          "36 windows. Mean ± sd over the measured folds (n). Fidelity against all 15 real "
          "subjects. MIA = distance attack (0.5: no advantage); DCR ratio < 1: synthetic "
          "windows lie closer to training windows than to held-out ones.\n")
    for root in ROOTS:
        for man in sorted(glob.glob(f"{root}/*/manifest.json")):
            m = json.load(open(man))
            base = os.path.dirname(man)
            rows = {}
            for g in m.get("generators", []):
                files = glob.glob(f"{base}/generators/{g['id']}/quality-*.json")
                if not files:
                    continue
                q = json.load(open(sorted(files)[0]))
                spec = g["spec"]
                key = (spec["kind"], str(spec["gan_epsilon"]), spec["training"])
                rows.setdefault(key, []).append((g["replicate"], q))
            if not rows:
                continue
            print(f"## campaign `{m['campaign']}` ({base})\n")
            for title, metrics in (("Fidelity", FIDELITY), ("Leakage", LEAKAGE)):
                extra = " | AUC CI above 0.5 (distance / DOMIAS)" if title == "Leakage" else ""
                print(f"### {title}\n")
                print("| generator | gan_epsilon | training | n (replicates) | " + " | ".join(metrics) + extra + " |")
                print("|---|---|---|---:|" + "---:|" * (len(metrics) + (1 if extra else 0)))
                for key in sorted(rows):
                    s = rows[key]
                    reps = sorted({r for r, _ in s})
                    cells = [fmt([q["scalars"].get(k) for _, q in s]) for k in metrics]
                    if extra:
                        def above(name):
                            hits = n = 0
                            for _, q in s:
                                leak = q["report"].get("leakage") or {}
                                a = leak.get(name)
                                if name == "domias" and a:
                                    a = a.get("attack")
                                if a:
                                    n += 1
                                    hits += a["auc_low"] > 0.5
                            return f"{hits}/{n}"
                        cells.append(f"{above('distance_attack')} / {above('domias')}")
                    rs = ",".join(map(str, reps))
                    print(f"| {key[0]} | {key[1]} | {key[2]} | {len(s)} ({rs}) | " + " | ".join(cells) + " |")
                print()
    full = sorted(glob.glob("results/benchmarks/quality/*/*/quality.md"))
    if full:
        print("## Full reports (one fold per generator and ε, with figures)\n")
        for p in full:
            print(f"- [{p}]({os.path.relpath(p, 'results/benchmarks')})")
        print()


if __name__ == "__main__":
    sys.exit(main())
