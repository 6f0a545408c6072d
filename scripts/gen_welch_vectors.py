#!/usr/bin/env python3
"""Reference vectors for dpwear's Welch power spectral density (src/evaluation/fidelity/psd.rs):
scipy.signal.welch(x, fs=1.0, nperseg=P) with every other argument at its default (periodic
Hann window, noverlap = P // 2, detrend='constant', one-sided, scaling='density',
average='mean').

Writes tests/fixtures/welch_vectors.json.
Usage (from the repository root; needs numpy and scipy, e.g. the bench venv):
    bench/.venv-gretel/bin/python scripts/gen_welch_vectors.py [OUT_JSON]
"""
import datetime
import json
import platform
import sys

import numpy as np
import scipy
import scipy.signal

SEED = 7


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/welch_vectors.json"
    rng = np.random.default_rng(SEED)
    cases = []
    for name, n, p in [("one-segment-even", 60, 60), ("overlapping", 60, 32),
                       ("odd-length", 45, 45), ("sine", 64, 16)]:
        if name == "sine":
            x = np.sin(2 * np.pi * 0.125 * np.arange(n)) + 0.1 * rng.normal(size=n)
        else:
            x = rng.normal(size=n) + 3.0
        f, pxx = scipy.signal.welch(x, fs=1.0, nperseg=p)
        cases.append({"name": name, "x": x.tolist(), "nperseg": p,
                      "freqs": f.tolist(), "psd": pxx.tolist()})
    doc = {"provenance": {"script": "scripts/gen_welch_vectors.py",
                          "command": "bench/.venv-gretel/bin/python scripts/gen_welch_vectors.py",
                          "seed": SEED, "python": platform.python_version(),
                          "numpy": np.__version__, "scipy": scipy.__version__,
                          "date": datetime.date.today().isoformat()},
           "cases": cases}
    with open(out, "w") as fh:
        json.dump(doc, fh)
    print(out, [(c["name"], len(c["psd"])) for c in cases])


if __name__ == "__main__":
    main()
