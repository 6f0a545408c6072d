#!/usr/bin/env python3
"""Generate reference vectors for dpwear's evaluation metrics.

Writes tests/fixtures/metric_vectors.json (relative to the repository root), which the Rust
tests in tests/metric_vectors.rs compare against with tolerance 1e-12.

Usage (from the repository root):
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy scikit-learn
    /tmp/venv/bin/python scripts/gen_metric_vectors.py

Every case is generated from a fixed numpy seed (SEED below), so reruns with the same
numpy/scikit-learn versions give byte-identical output apart from provenance.date.

Per case (k classes, labels 0..k-1):
  * scikit-learn, always with labels=range(k) and zero_division=0:
    confusion_matrix, accuracy_score, balanced_accuracy_score,
    precision_recall_fscore_support(average=None) per class (precision, recall, f1, support),
    and for average in macro / micro / weighted: precision_recall_fscore_support(average=...)
    plus f1_score(average=...) (asserted equal to the former's F1).
  * Binary cases additionally carry two-column "sigmoid-like" probabilities (two independent
    values in (0, 1), not complementary, like the reference's two-unit sigmoid output); y_pred
    is their arg-max (ties -> column 0, as np.argmax / tf.argmax do), and the reference metrics
    computed the Keras way (reference spec section 4.4):

      Y      = one_hot(y_true, 2)                 # shape (n, 2)
      P      = probs > 0.5                        # Keras Precision()/Recall() default
                                                  # threshold; strictly greater
      tp     = sum(P & (Y == 1))                  # over all 2n cells: both columns flattened
      fp     = sum(P & (Y == 0))
      fn     = sum(~P & (Y == 1))
      precision = tp / (tp + fp)  or 0 if tp + fp == 0   (Keras divide_no_nan)
      recall    = tp / (tp + fn)  or 0 if tp + fn == 0
      f1        = 2 * precision * recall / (precision + recall)  or 0 if the sum is 0
      accuracy  = mean(argmax(probs, 1) == y_true)  # Keras categorical accuracy

    This "reference F1" is a micro-F1 over both classes, not the stress-class F1.
  * A few aggregate cases: mean, sample sd (ddof=1; None when n == 1), min, max and
    poor_ratio (fraction of values <= 0.3).
"""

import datetime
import json
import os
import platform
import sys
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

SEED = 20240917
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "metric_vectors.json")
POOR_THRESHOLD = 0.3

rng = np.random.default_rng(SEED)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def probs_for(y_pred, spread=2.0):
    """Two independent sigmoid-like values per row, ordered so that argmax == y_pred."""
    n = len(y_pred)
    a = sigmoid(rng.normal(0.0, spread, size=n))
    b = sigmoid(rng.normal(0.0, spread, size=n))
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    # Continuous draws: exact ties have probability zero, but guard anyway.
    lo = np.where(hi == lo, lo * 0.5, lo)
    probs = np.empty((n, 2))
    for i, p in enumerate(y_pred):
        probs[i, p] = hi[i]
        probs[i, 1 - p] = lo[i]
    return probs


def noisy_predictions(y_true, k, error_rate):
    y_pred = y_true.copy()
    flip = rng.random(len(y_true)) < error_rate
    y_pred[flip] = rng.integers(0, k, size=int(flip.sum()))
    return y_pred


def reference_metrics(probs, y_true):
    y_true = np.asarray(y_true)
    onehot = np.eye(2)[y_true]
    pos = probs > 0.5
    tp = int(np.sum(pos & (onehot == 1)))
    fp = int(np.sum(pos & (onehot == 0)))
    fn = int(np.sum(~pos & (onehot == 1)))
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    correct = int(np.sum(np.argmax(probs, axis=1) == y_true))
    return {
        "n": int(len(y_true)),
        "correct": correct,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "accuracy": correct / len(y_true),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
    }


def sk_metrics(y_true, y_pred, k):
    labels = list(range(k))
    with warnings.catch_warnings():
        # Raised for the k = 1 case even though labels are given; the shape is right.
        warnings.filterwarnings("ignore", message="A single label was found")
        cm = confusion_matrix(y_true, y_pred, labels=labels)
    assert cm.shape == (k, k)
    out = {
        "confusion_matrix": cm.tolist(),
        "accuracy": float(accuracy_score(y_true, y_pred)),
    }
    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true": sklearn drops those classes, as we do.
        warnings.simplefilter("ignore")
        out["balanced_accuracy"] = float(balanced_accuracy_score(y_true, y_pred))
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0)
    out["per_class"] = [
        {"precision": float(p[c]), "recall": float(r[c]), "f1": float(f[c]), "support": int(s[c])}
        for c in range(k)
    ]
    for avg in ("macro", "micro", "weighted"):
        pa, ra, fa, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=avg, zero_division=0)
        f1 = f1_score(y_true, y_pred, labels=labels, average=avg, zero_division=0)
        assert f1 == fa, (avg, f1, fa)
        out[avg] = {"precision": float(pa), "recall": float(ra), "f1": float(fa)}
    return out


cases = []


def add(name, y_true, y_pred=None, k=2, probs=None, note=""):
    y_true = np.asarray(y_true, dtype=int)
    if k == 2:
        if probs is None:
            assert y_pred is not None
            probs = probs_for(np.asarray(y_pred, dtype=int))
        probs = np.asarray(probs, dtype=float)
        y_pred = np.argmax(probs, axis=1)
    y_pred = np.asarray(y_pred, dtype=int)
    assert len(y_true) == len(y_pred) >= 1
    case = {
        "name": name,
        "note": note,
        "n_classes": k,
        "y_true": y_true.tolist(),
        "y_pred": y_pred.tolist(),
        "expected": sk_metrics(y_true, y_pred, k),
    }
    if k == 2:
        case["probs"] = probs.tolist()
        case["expected"]["reference"] = reference_metrics(probs, y_true)
    cases.append(case)
    return case


def wesad_like_labels(n, stress_fraction=0.283):
    return (rng.random(n) < stress_fraction).astype(int)


# ---- binary cases -------------------------------------------------------------------------
y = rng.integers(0, 2, 50)
add("binary_balanced_random", y, noisy_predictions(y, 2, 0.4))
y = wesad_like_labels(100)
add("binary_imbalanced_wesad_like", y, noisy_predictions(y, 2, 0.3),
    note="about 28% stress, like WESAD")
y = wesad_like_labels(60)
c = add("binary_constant_non_stress", y, np.zeros(60, dtype=int),
        probs=np.column_stack([0.55 + 0.4 * rng.random(60), 0.05 + 0.4 * rng.random(60)]),
        note="constant non-stress predictor: reference f1 equals its accuracy")
assert abs(c["expected"]["reference"]["f1"] - c["expected"]["accuracy"]) < 1e-15
y = wesad_like_labels(40)
add("binary_constant_stress", y, np.ones(40, dtype=int),
    probs=np.column_stack([np.full(40, 0.1), np.full(40, 0.9)]),
    note="constant stress predictor: reference f1 equals its accuracy")
y = rng.integers(0, 2, 30)
add("binary_perfect", y, y)
y = rng.integers(0, 2, 30)
add("binary_all_wrong", y, 1 - y)
add("binary_n1_stress_correct", [1], [1])
add("binary_n1_stress_wrong", [1], [0])
add("binary_n1_non_stress_correct", [0], [0])
add("binary_n1_non_stress_wrong", [0], [1])
y = np.zeros(25, dtype=int)
add("binary_stress_absent_from_true", y, noisy_predictions(y, 2, 0.5),
    note="class 1 absent from y_true but predicted sometimes")
add("binary_stress_absent_everywhere", np.zeros(12, dtype=int), np.zeros(12, dtype=int),
    note="class 1 in neither y_true nor y_pred: all its scores are 0 (zero_division=0)")
y = np.ones(15, dtype=int)
add("binary_non_stress_absent_from_true", y, noisy_predictions(y, 2, 0.5))
y = wesad_like_labels(45)
add("binary_stress_never_predicted_random_probs", y, np.zeros(45, dtype=int),
    note="argmax never picks class 1, but the probabilities vary")
add("binary_ties_and_threshold_boundary", [0, 1, 1, 0, 1, 0],
    probs=[[0.5, 0.5], [0.5, 0.5], [0.3, 0.3], [0.5, 0.2], [0.2, 0.5], [0.7, 0.7]],
    note="exact ties go to column 0; exactly 0.5 is not above the threshold")
y = rng.integers(0, 2, 40)
p1 = sigmoid(rng.normal(0, 2, 40))
add("binary_complementary_probs", y, probs=np.column_stack([1 - p1, p1]),
    note="p and 1-p: reference precision = recall = f1 = accuracy (barring p = 0.5)")
y = rng.integers(0, 2, 35)
add("binary_both_columns_high", y,
    probs=np.column_stack([0.5 + 0.5 * rng.random(35), 0.5 + 0.5 * rng.random(35)]),
    note="both sigmoids above 0.5: reference recall 1, precision 0.5")
y = rng.integers(0, 2, 35)
add("binary_both_columns_low", y,
    probs=np.column_stack([0.5 * rng.random(35), 0.5 * rng.random(35)]),
    note="both sigmoids at most 0.5: reference precision = recall = f1 = 0")
for n, rate in [(7, 0.3), (13, 0.5), (200, 0.25), (530, 0.2)]:
    y = wesad_like_labels(n)
    add(f"binary_random_n{n}", y, noisy_predictions(y, 2, rate))

# ---- multi-class cases --------------------------------------------------------------------
y = rng.integers(0, 3, 60)
add("multi3_balanced_random", y, noisy_predictions(y, 3, 0.4), k=3)
y = rng.choice(3, size=90, p=[0.6, 0.3, 0.1])
add("multi3_imbalanced", y, noisy_predictions(y, 3, 0.35), k=3)
y = rng.integers(0, 3, 40)
yp = noisy_predictions(y, 3, 0.3)
yp[yp == 2] = 0
add("multi3_class2_never_predicted", y, yp, k=3)
y = rng.choice([0, 2], size=40)
add("multi3_class1_absent_from_true", y, noisy_predictions(y, 3, 0.5), k=3)
y = rng.integers(0, 2, 30)
add("multi3_class2_absent_everywhere", y, noisy_predictions(y, 2, 0.3), k=3,
    note="macro averages still divide by k = 3")
y = rng.choice(3, size=33, p=[0.5, 0.3, 0.2])
add("multi3_constant_predictor", y, np.zeros(33, dtype=int), k=3)
y = rng.integers(0, 3, 21)
add("multi3_perfect", y, y, k=3)
y = rng.integers(0, 3, 24)
add("multi3_all_wrong_cyclic", y, (y + 1) % 3, k=3)
add("multi3_n1", [2], [1], k=3)
y = rng.integers(0, 4, 80)
add("multi4_random", y, noisy_predictions(y, 4, 0.5), k=4)
add("multi1_single_class", [0, 0, 0], [0, 0, 0], k=1, note="k = 1")

# ---- aggregate cases ----------------------------------------------------------------------
aggregates = []
for name, values in [
    ("single_value", [0.717]),
    ("identical_runs", [0.6] * 10),
    ("two_values", [0.25, 0.75]),
    ("ten_runs_random", rng.random(10).tolist()),
    ("with_poor_boundary", [0.3, 0.29999, 0.31, 0.9, 0.1, 0.283]),
    ("thirty_values", (0.5 + 0.2 * rng.standard_normal(30)).tolist()),
]:
    v = np.asarray(values, dtype=float)
    aggregates.append({
        "name": name,
        "values": v.tolist(),
        "n": int(len(v)),
        "mean": float(np.mean(v)),
        "sd": float(np.std(v, ddof=1)) if len(v) > 1 else None,
        "min": float(np.min(v)),
        "max": float(np.max(v)),
        "poor_threshold": POOR_THRESHOLD,
        "poor_ratio": float(np.mean(v <= POOR_THRESHOLD)),
    })

doc = {
    "provenance": {
        "script": "scripts/gen_metric_vectors.py",
        "command": "python3 scripts/gen_metric_vectors.py",
        "seed": SEED,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conventions": "labels=range(k), zero_division=0; reference = Keras Precision/Recall "
                       "at threshold 0.5 over both one-hot columns (micro), f1 = 2PR/(P+R); "
                       "sd with ddof=1, null for n=1; poor_ratio = fraction <= threshold",
    },
    "cases": cases,
    "aggregates": aggregates,
}

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as fh:
    # One case per line: diffable without spreading every number over its own line.
    fh.write("{\n")
    fh.write(f' "provenance": {json.dumps(doc["provenance"], indent=None)},\n')
    for key in ("cases", "aggregates"):
        fh.write(f' "{key}": [\n')
        fh.write(",\n".join("  " + json.dumps(c) for c in doc[key]))
        fh.write("\n ]" + (",\n" if key == "cases" else "\n"))
    fh.write("}\n")
json.loads(open(OUT).read())  # the hand-joined file must still be valid JSON
print(f"wrote {len(cases)} cases and {len(aggregates)} aggregate cases to "
      f"{os.path.relpath(OUT)}", file=sys.stderr)
