#!/usr/bin/env python3
"""Reference vectors for dpwear's fidelity metrics (src/evaluation/fidelity/).

Writes tests/fixtures/fidelity_vectors.json (relative to the repository root), which the unit
tests in src/evaluation/fidelity/{ks,wasserstein,mmd}.rs compare against:

  * ks: scipy.stats.ks_2samp(x, y) with the defaults (alternative='two-sided',
    method='auto'; in scipy 1.17 'auto' means the exact distribution whenever
    max(n, m) <= 10000, ties or not). Stored: statistic D and pvalue.
  * wasserstein: scipy.stats.wasserstein_distance(x, y) (unweighted).
  * mmd: unbiased MMD^2 with an RBF kernel, computed directly in numpy (mmd2_unbiased below):
      pooled Z = [X; Y]; h = median of the Euclidean distances |z_i - z_j| over all pairs
      i < j of Z (numpy median: mean of the two middle values for an even count);
      k(a, b) = exp(-|a - b|^2 / (2 h^2));
      MMD^2 = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1))
              - 2 sum_{i, j} k(x_i, y_j) / (m n).

Usage (from the repository root):
    bench/.venv-gretel/bin/python scripts/gen_fidelity_vectors.py [OUT_JSON]
Needs numpy and scipy. Every sample comes from a fixed numpy seed (SEED), so reruns with the
same numpy/scipy versions give the same numbers apart from provenance.date.
"""
import datetime
import json
import platform
import sys

import numpy as np
import scipy
import scipy.stats

SEED = 20250611


def mmd2_unbiased(x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m, n = len(x), len(y)
    z = np.concatenate([x, y])
    sq = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    iu = np.triu_indices(len(z), 1)
    h = float(np.median(np.sqrt(sq[iu])))
    k = np.exp(-sq / (2.0 * h * h))
    kxx = k[:m, :m]
    kyy = k[m:, m:]
    kxy = k[:m, m:]
    t_xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    t_yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    t_xy = kxy.sum() / (m * n)
    return float(t_xx + t_yy - 2.0 * t_xy), h


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/fidelity_vectors.json"
    rng = np.random.default_rng(SEED)
    r = lambda a: [float(v) for v in np.asarray(a, dtype=np.float64)]

    samples = [
        ("small_unequal", "n=5, m=7, both N(0,1)", rng.normal(size=5), rng.normal(size=7)),
        ("equal_sizes", "n=m=8: scipy's equal-size path", rng.normal(size=8), rng.normal(size=8)),
        ("ties_integers", "rounded values: ties within and across samples",
         np.round(rng.normal(0, 2, size=12)), np.round(rng.normal(0.5, 2, size=9))),
        ("shifted", "y shifted by +1", rng.normal(size=40), rng.normal(size=30) + 1.0),
        ("different_sizes", "n=100, m=37", rng.normal(size=100), rng.standard_t(3, size=37)),
        ("medium_exact", "n=300, m=250, small shift", rng.normal(size=300),
         rng.normal(0.2, 1.0, size=250)),
        ("very_different", "disjoint supports: D = 1, tiny p", rng.uniform(0, 1, size=20),
         rng.uniform(2, 3, size=25)),
    ]
    x_same = rng.normal(size=10)
    samples.append(("identical", "x == y", x_same, x_same.copy()))

    one_d = []
    for name, note, x, y in samples:
        res = scipy.stats.ks_2samp(x, y)
        one_d.append({
            "name": name, "note": note, "x": r(x), "y": r(y),
            "ks_statistic": float(res.statistic), "ks_pvalue": float(res.pvalue),
            "wasserstein": float(scipy.stats.wasserstein_distance(x, y)),
        })

    mmd_inputs = [
        ("mmd_1d", "rows of length 1", rng.normal(size=(7, 1)), rng.normal(size=(9, 1))),
        ("mmd_3d_same", "d=3, same distribution", rng.normal(size=(12, 3)),
         rng.normal(size=(10, 3))),
        ("mmd_3d_shifted", "d=3, y shifted by +1.5 in every coordinate",
         rng.normal(size=(15, 3)), rng.normal(size=(11, 3)) + 1.5),
    ]
    mmd_cases = []
    for name, note, x, y in mmd_inputs:
        v, h = mmd2_unbiased(x, y)
        mmd_cases.append({"name": name, "note": note,
                          "x": [r(row) for row in x], "y": [r(row) for row in y],
                          "bandwidth": h, "mmd2": v})

    doc = {
        "provenance": {
            "script": "scripts/gen_fidelity_vectors.py",
            "command": "bench/.venv-gretel/bin/python scripts/gen_fidelity_vectors.py",
            "seed": SEED, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "conventions": "ks = scipy.stats.ks_2samp(x, y) defaults (two-sided, method='auto'"
                           " = exact for max(n,m) <= 10000); wasserstein = "
                           "scipy.stats.wasserstein_distance(x, y); mmd2 = unbiased MMD^2, "
                           "RBF exp(-|a-b|^2/(2h^2)), h = median pairwise Euclidean distance "
                           "over the pooled sample (pairs i<j)",
        },
        "one_d": one_d,
        "mmd": mmd_cases,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
