#!/usr/bin/env python3
"""Reference vectors for dpwear's `fft_resample` (src/data/resample.rs).

Computes `scipy.signal.resample(x, num)` for real inputs of odd and even lengths, down- and
up-sampling to odd and even lengths (including 64 Hz -> 1 Hz of 300 s, the reference's BVP
case), and writes them to tests/fixtures/resample_vectors.json with a provenance header.

Long inputs are not stored: they come from a generator that Rust reproduces exactly
(`gen`: a 32-bit LCG plus sines; see `signal()` below and the test in resample.rs).

Usage: python3 scripts/gen_resample_vectors.py [OUT_JSON]
Needs numpy and scipy.
"""
import datetime
import json
import math
import sys

import numpy as np
import scipy
import scipy.signal


def signal(n, fs, seed):
    """Deterministic test signal; mirrored exactly by `signal()` in resample.rs tests."""
    u = seed & 0xFFFFFFFF
    out = []
    for i in range(n):
        u = (1664525 * u + 1013904223) & 0xFFFFFFFF
        r = u / 4294967296.0
        t = i / fs
        out.append(math.sin(2 * math.pi * 1.3 * t) + 0.5 * math.cos(2 * math.pi * 0.07 * t + 0.4)
                   + 0.3 * (r - 0.5) + 0.001 * t)
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/resample_vectors.json"
    cases = []
    # (name, n, fs, num, seed)
    generated = [
        ("bvp_64hz_300s_to_1hz", 64 * 300, 64.0, 300, 1),
        ("acc_32hz_301s_to_1hz_odd_out", 32 * 301, 32.0, 301, 2),
        ("eda_4hz_odd_in_to_even", 4 * 300 + 3, 4.0, 300, 3),
        ("odd_in_odd_out_down", 1001, 10.0, 77, 4),
        ("even_in_even_out_down", 1000, 10.0, 64, 5),
        ("even_in_odd_out_down", 512, 8.0, 63, 6),
        ("up_even_in_even_out", 64, 4.0, 200, 7),
        ("up_even_in_odd_out", 50, 4.0, 123, 8),
        ("up_odd_in_even_out", 33, 4.0, 100, 9),
        ("up_odd_in_odd_out", 35, 4.0, 101, 10),
        ("same_length", 100, 4.0, 100, 11),
        ("down_by_one_even", 100, 4.0, 99, 12),
        ("up_by_one_odd", 99, 4.0, 100, 13),
    ]
    for name, n, fs, num, seed in generated:
        x = signal(n, fs, seed)
        y = scipy.signal.resample(np.asarray(x), num)
        cases.append({"name": name, "gen": {"n": n, "fs": fs, "seed": seed}, "num": num,
                      "y": [float(v) for v in y]})
    explicit = [
        ("single_sample_up", [3.0], 4),
        ("two_samples_up", [1.0, -1.0], 5),
        ("three_to_two", [1.0, 2.0, 4.0], 2),
        ("four_to_one", [1.0, 2.0, 4.0, 8.0], 1),
    ]
    for name, x, num in explicit:
        y = scipy.signal.resample(np.asarray(x), num)
        cases.append({"name": name, "x": x, "num": num, "y": [float(v) for v in y]})
    doc = {
        "provenance": {
            "script": "scripts/gen_resample_vectors.py",
            "command": "python3 scripts/gen_resample_vectors.py tests/fixtures/resample_vectors.json",
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "date": datetime.date.today().isoformat(),
            "function": "scipy.signal.resample(x, num) (real input, no window, axis 0)",
        },
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
