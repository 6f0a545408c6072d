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
    print("Reading the leakage columns: the non-members are one other subject's windows, so the "
          "attacks test subject-level membership (is this person in the training data?) and "
          "also pick up how far that subject lies from the 14 training subjects. A window-level "
          "epsilon does not bound subject-level inference (a subject's windows form a group of "
          "about 35), so an AUC interval above 0.5 at epsilon = 1 is not a broken guarantee; it "
          "is also not proof of memorisation. Every number here is computed from the real data "
          "without privacy.\n")
    for root in ROOTS:
        for man in sorted(glob.glob(f"{root}/*/manifest.json")):
            m = json.load(open(man))
            base = os.path.dirname(man)
            rows = {}
            unsampled = []
            for g in m.get("generators", []):
                files = glob.glob(f"{base}/generators/{g['id']}/quality-*.json")
                card = f"{base}/generators/{g['id']}/model-card.json"
                if not files and os.path.exists(card):
                    c = json.load(open(card))
                    if c["training"]["status"] == "complete" and not glob.glob(
                            f"{base}/generators/{g['id']}/synthetic-*.h5"):
                        unsampled.append((g["spec"]["kind"], str(g["spec"]["gan_epsilon"]),
                                          g.get("test_subject")))
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
            for kind, eps, subject in unsampled:
                print(f"- {kind} at gan_epsilon = {eps} (test subject S{subject}): trained, but no "
                      "synthetic sample: the sampler's rule (whole subjects with 29–32 % stress "
                      "seconds) was not met in 10,000 draws, so there is nothing to measure.")
            if unsampled:
                print()
    full = sorted(glob.glob("results/benchmarks/quality/*/*/quality.json"))
    if full:
        print("## Full reports (one fold per generator and ε, with figures)\n")
        print("Post-hoc GRU scores (2,000 Adam steps each; discriminative: |held-out accuracy − 0.5|, "
              "predictive: one-step-ahead MAE on real held-out windows, trained on synthetic / on "
              "real) and, for private cGANs, the canary audit of one discriminator step with the "
              "checkpoint's σ and C (1,000 runs; ε lower bound at 95 % confidence against the "
              "accountant's ε for that one step at sampling rate 1, δ = the plan's).\n")
        print("| report | discriminative | predictive (syn / real) | audit ε lower bound | one-step ε claimed |")
        print("|---|---:|---:|---:|---:|")
        for p in full:
            r = json.load(open(p))["report"]
            m = r.get("model_scores") or {}
            a = r.get("audit") or {}
            name = os.path.basename(os.path.dirname(p))
            link = os.path.relpath(os.path.join(os.path.dirname(p), "quality.md"), "results/benchmarks")
            disc = f"{m['discriminative_score']:.3f}" if m else "–"
            pred = f"{m['predictive_mae']:.3f} / {m['predictive_mae_real_trained']:.3f}" if m else "–"
            lb = f"{a['eps_lower']:.3f}" if a else "–"
            cl = f"{a['claimed_epsilon']:.3f}" if a and a.get("claimed_epsilon") is not None else "–"
            print(f"| [{os.path.basename(os.path.dirname(os.path.dirname(p)))}/{name}]({link}) | {disc} | {pred} | {lb} | {cl} |")
        print()


if __name__ == "__main__":
    sys.exit(main())
