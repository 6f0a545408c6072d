#!/usr/bin/env python3
"""Reference vectors for dpwear's C2ST (src/evaluation/fidelity/c2st.rs): the reference
implementation's classifier two-sample test (spec §3.1.6, its `GANMonitor`):

  X = windows (n, 60, 6) of real (label 0) and synthetic (label 1) data, each flattened with
      reshape(n, 60 * 6, order="F") (feature j = t + 60 * c);
  train = the first 80 % of each class (int(0.8 * n)), test = the rest;
  KNeighborsClassifier(n_neighbors=2).fit(train).score(test) = test accuracy.

Writes tests/fixtures/c2st_vectors.json: a few cases (same distribution, a shifted one,
unequal sizes) with the windows and sklearn's accuracy.

Usage (from the repository root; needs numpy and scikit-learn, e.g. the bench venv):
    bench/.venv-gretel/bin/python scripts/gen_c2st_vectors.py [OUT_JSON]
"""
import datetime
import json
import platform
import sys

import numpy as np
import sklearn
from sklearn.neighbors import KNeighborsClassifier

SEED = 20261207
T, C = 12, 3  # small windows keep the fixture small; the rule does not depend on the shape


def c2st(real, syn):
    nr, ns = len(real), len(syn)
    fr = real.reshape(nr, T * C, order="F")
    fs = syn.reshape(ns, T * C, order="F")
    kr, ks = int(0.8 * nr), int(0.8 * ns)
    xtr = np.concatenate([fr[:kr], fs[:ks]])
    ytr = np.concatenate([np.zeros(kr), np.ones(ks)])
    xte = np.concatenate([fr[kr:], fs[ks:]])
    yte = np.concatenate([np.zeros(nr - kr), np.ones(ns - ks)])
    return float(KNeighborsClassifier(n_neighbors=2).fit(xtr, ytr).score(xte, yte))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/c2st_vectors.json"
    rng = np.random.default_rng(SEED)
    cases = []
    for name, nr, ns, shift in [
        ("same", 40, 40, 0.0),
        ("shifted", 30, 30, 0.8),
        ("unequal", 25, 45, 0.3),
    ]:
        real = rng.normal(size=(nr, T, C))
        syn = rng.normal(size=(ns, T, C)) + shift
        cases.append({
            "name": name, "t": T, "c": C,
            "real": real.ravel().tolist(), "n_real": nr,
            "synthetic": syn.ravel().tolist(), "n_synthetic": ns,
            "accuracy": c2st(real, syn),
        })
    doc = {
        "provenance": {
            "script": "scripts/gen_c2st_vectors.py",
            "command": "bench/.venv-gretel/bin/python scripts/gen_c2st_vectors.py",
            "seed": SEED,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "sklearn": sklearn.__version__,
            "date": datetime.date.today().isoformat(),
            "layout": "windows row-major (n, t, c) as written by numpy ravel()",
        },
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(doc, f)
    print(out, [(c["name"], c["accuracy"]) for c in cases])


if __name__ == "__main__":
    main()
