#!/usr/bin/env python3
"""Writes a small, made-up WESAD-like dataset for dpwear's raw WESAD reader tests.

    python3 scripts/make_wesad_fixture.py OUT_DIR [--protocol 2|4]
    python3 scripts/make_wesad_fixture.py --expected tests/fixtures/wesad_raw_expected.json

OUT_DIR gets `S{n}/S{n}.pkl` for three made-up subjects (S2, S3, S5; about 3.5-5 minutes
each). NOTHING HERE IS REAL DATA: signals are synthetic, generated from a fixed seed
(`np.random.default_rng`), so the output is identical on every run.

Each pickle has WESAD's exact structure (WESAD README; dpwear spec section 1.1):

    {'signal': {'chest': {'ACC': (N,3), 'ECG': (N,1), 'EMG': (N,1), 'EDA': (N,1),
                          'Temp': (N,1), 'Resp': (N,1)}          # 700 Hz, float64
                'wrist': {'ACC': (n,3) 32 Hz, 'BVP': (n,1) 64 Hz,
                          'EDA': (n,1) 4 Hz, 'TEMP': (n,1) 4 Hz}},  # float64
     'label': (N,) int32 at 700 Hz, 'subject': 'S2'}

The label track has transient (0), baseline (1), stress (2), amusement (3), meditation (4)
and ignored (5, 6, 7) segments whose boundaries fall between whole seconds. Wrist levels
depend on the phase (e.g. EDA steps up during stress), so label alignment is testable.

--protocol 2 (default) writes Python-2-style pickles like the real WESAD files: strings and
bytes as BINSTRING/SHORT_BINSTRING, globals spelled `numpy.core.multiarray`.
--protocol 4 writes modern pickles with the standard pickler (numpy 2 spells the module
`numpy._core.multiarray`).

--expected JSON computes the reference preprocessing (spec section 1.2) of the same data:
num = len(label)//700; each wrist channel resampled as a whole with scipy.signal.resample
(or, if scipy is missing, the same algorithm in numpy); label of second k = label[700 k];
rows with label in {0,4,5,6,7} dropped; per-subject min-max scaling. It records per-subject
rows, raw-label counts, the first 10 rows and per-channel sums, with a provenance header.
Needs only python3 + numpy (scipy optional).
"""
import argparse
import datetime
import io
import json
import os
import pickle
import struct
import sys

import numpy as np

SEED = 20240607
LABEL_HZ = 700
WRIST_HZ = {"ACC": 32, "BVP": 64, "EDA": 4, "TEMP": 4}
# (subject number, label samples): S2 300.5 s, S3 251.176 s, S5 exactly 207 s.
SUBJECTS = [(2, 300 * 700 + 350), (3, 251 * 700 + 123), (5, 207 * 700)]
# Phase plan: (raw label, fraction of the session).
PHASES = [(0, .03), (1, .20), (0, .03), (2, .17), (6, .03), (0, .02), (3, .12), (7, .03),
          (4, .11), (0, .02), (5, .02), (1, .12), (0, .10)]
# Per-label level offsets of the wrist signals.
EDA_LEVEL = {0: 0.3, 1: 0.0, 2: 1.5, 3: 0.4, 4: -0.2, 5: 0.1, 6: 0.6, 7: 0.6}
TEMP_LEVEL = {0: 0.1, 1: 0.0, 2: 0.5, 3: 0.2, 4: -0.1, 5: 0.0, 6: 0.3, 7: 0.3}
BVP_LEVEL = {0: 5.0, 1: 0.0, 2: 25.0, 3: 10.0, 4: -5.0, 5: 0.0, 6: 8.0, 7: 8.0}
HEART_HZ = {0: 1.2, 1: 1.1, 2: 1.6, 3: 1.25, 4: 1.0, 5: 1.1, 6: 1.2, 7: 1.2}
ACC_LEVEL = {0: (2, 0, 0), 1: (0, 0, 0), 2: (8, -6, 4), 3: (3, 2, -2), 4: (-2, 1, 1),
             5: (0, 0, 0), 6: (4, 4, 4), 7: (4, 4, 4)}


def label_track(n_label, subject_no, rng):
    """Raw 700 Hz labels; boundaries jittered so they fall between whole seconds."""
    labels = np.zeros(n_label, dtype=np.int32)
    start = 0
    cum = 0.0
    for i, (lab, frac) in enumerate(PHASES):
        cum += frac
        end = n_label if i == len(PHASES) - 1 else int(round(cum * n_label)) + int(rng.integers(-300, 300))
        end = min(max(end, start), n_label)
        labels[start:end] = lab
        start = end
    return labels


def wrist_signals(labels, subject_no, rng):
    n_label = len(labels)
    out = {}
    for name, fs in WRIST_HZ.items():
        n = n_label * fs // LABEL_HZ
        t = np.arange(n) / fs
        lab = labels[np.minimum((np.arange(n) * LABEL_HZ) // fs, n_label - 1)]
        if name == "EDA":
            lv = np.vectorize(EDA_LEVEL.get)(lab)
            x = 2.0 + 0.1 * subject_no + lv + 0.002 * t + 0.02 * rng.standard_normal(n)
        elif name == "TEMP":
            lv = np.vectorize(TEMP_LEVEL.get)(lab)
            x = 33.0 + 0.05 * subject_no + lv - 0.001 * t + 0.01 * rng.standard_normal(n)
        elif name == "BVP":
            lv = np.vectorize(BVP_LEVEL.get)(lab)
            hr = np.vectorize(HEART_HZ.get)(lab)
            phase = 2 * np.pi * np.cumsum(hr) / fs
            x = 40.0 * np.sin(phase) + lv + 3.0 * rng.standard_normal(n)
        else:  # ACC, 3 axes in 1/64 g like the E4
            lv = np.array([ACC_LEVEL[int(v)] for v in lab], dtype=np.float64)
            g = np.array([30.0, -20.0, 50.0]) + subject_no
            x = g + lv + 1.5 * rng.standard_normal((n, 3))
        x = np.asarray(x, dtype=np.float64)
        out[name] = x.reshape(n, 3) if name == "ACC" else x.reshape(n, 1)
    return {"ACC": out["ACC"], "BVP": out["BVP"], "EDA": out["EDA"], "TEMP": out["TEMP"]}


def chest_signals(n_label, rng):
    # Cheap but well-formed: float64 at 700 Hz, WESAD's shapes.
    return {
        "ACC": rng.standard_normal((n_label, 3)),
        "ECG": rng.standard_normal((n_label, 1)),
        "EMG": rng.standard_normal((n_label, 1)),
        "EDA": rng.standard_normal((n_label, 1)),
        "Temp": 34.0 + rng.standard_normal((n_label, 1)),
        "Resp": rng.standard_normal((n_label, 1)),
    }


def make_subjects():
    rng = np.random.default_rng(SEED)
    subjects = []
    for no, n_label in SUBJECTS:
        labels = label_track(n_label, no, rng)
        wrist = wrist_signals(labels, no, rng)
        chest = chest_signals(n_label, rng)
        subjects.append((no, {"signal": {"chest": chest, "wrist": wrist},
                              "label": labels, "subject": "S%d" % no}))
    return subjects


class Py2StylePickler(pickle._Pickler):
    """Protocol 2 the way Python 2 wrote it: str and bytes as (SHORT_)BINSTRING, numpy's
    globals as `numpy.core.*`."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_string(self, obj):
        b = obj.encode("latin1") if isinstance(obj, str) else obj
        n = len(b)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + b)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + b)
        self.memoize(obj)

    dispatch[bytes] = save_py2_string
    dispatch[str] = save_py2_string

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None) or "__main__"
        name = name or obj.__qualname__
        module = module.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + ("%s\n%s\n" % (module, name)).encode("ascii"))
        self.memoize(obj)


def dump(obj, protocol):
    if protocol == 2:
        buf = io.BytesIO()
        Py2StylePickler(buf, protocol=2).dump(obj)
        return buf.getvalue()
    return pickle.dumps(obj, protocol=protocol)


# ---------------------------------------------------------------- reference preprocessing

def resample_numpy(x, num):
    """scipy.signal.resample(x, num) for real 1-D x (scipy >= 1.13 formulation)."""
    n_x = len(x)
    m = min(num, n_x)
    m2 = m // 2 + 1
    X = np.fft.rfft(x)[:m2].copy()
    if m % 2 == 0 and num != n_x:
        X[m // 2] *= 2 if num < n_x else 0.5
    return np.fft.irfft(X / (n_x / num), n=num)


def reference_preprocess(data, resample):
    labels = np.asarray(data["label"]).reshape(-1)
    num = (len(labels) // LABEL_HZ) * 1
    w = data["signal"]["wrist"]
    cols = [w["BVP"][:, 0], w["EDA"][:, 0], w["ACC"][:, 0], w["ACC"][:, 1], w["ACC"][:, 2],
            w["TEMP"][:, 0]]
    X = np.stack([resample(c, num) for c in cols], axis=1)
    lab = labels[np.arange(num) * LABEL_HZ]
    keep = ~np.isin(lab, [0, 4, 5, 6, 7])
    X, lab = X[keep], lab[keep]
    X = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))
    return num, X, lab


def expected(path):
    try:
        import scipy
        import scipy.signal
        resample = scipy.signal.resample
        how = "scipy.signal.resample (scipy %s)" % scipy.__version__
    except ImportError:
        resample = resample_numpy
        how = "numpy port of scipy.signal.resample (scipy not installed)"
    subjects = []
    for no, data in make_subjects():
        num, X, lab = reference_preprocess(data, resample)
        subjects.append({
            "subject": "S%d" % no,
            "label_samples": int(len(data["label"])),
            "seconds": int(num),
            "rows": int(len(lab)),
            "raw_label_counts": {str(k): int((lab == k).sum()) for k in (1, 2, 3)},
            "first_raw_labels": [int(v) for v in lab[:10]],
            "first_rows": [[float(v) for v in row] for row in X[:10]],
            "channel_sums": [float(v) for v in X.sum(axis=0)],
        })
    doc = {
        "provenance": {
            "script": "scripts/make_wesad_fixture.py",
            "command": "python3 scripts/make_wesad_fixture.py --expected " + path,
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "resample": how,
            "date": datetime.date.today().isoformat(),
            "seed": SEED,
            "note": "made-up data; reference preprocessing of spec section 1.2",
        },
        "channels": ["BVP", "EDA", "ACC_x", "ACC_y", "ACC_z", "TEMP"],
        "subjects": subjects,
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", help="directory to write S{n}/S{n}.pkl into")
    ap.add_argument("--protocol", type=int, choices=(2, 4), default=2)
    ap.add_argument("--expected", metavar="JSON", help="write the reference preprocessing")
    args = ap.parse_args()
    if not args.out and not args.expected:
        ap.error("give OUT_DIR and/or --expected JSON")
    if args.out:
        for no, data in make_subjects():
            d = os.path.join(args.out, "S%d" % no)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "S%d.pkl" % no), "wb") as f:
                f.write(dump(data, args.protocol))
    if args.expected:
        expected(args.expected)


if __name__ == "__main__":
    main()
