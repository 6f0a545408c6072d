#!/usr/bin/env python3
"""Keras re-statement of the reference classifiers, for the training-speed benchmark (issue 15).

Runs in the bench-only venv `bench/.venv-keras` (tensorflow-cpu + tf_keras from PyPI; made by
bench/train_speed.sh). Reads a dpwear feature store (HDF5: X (N, 6, 210), y, subject) and runs
what the reference's `stress_detector` does for one classifier, written from the specification
(../shared/reference/wesad-reference-pipeline.md §4.1-4.4), not from its code:

- CNN: Conv2D(64, (1, 3), same, ReLU) → Dropout ×2, Conv2D → MaxPool(1, 2) → Dropout, Conv2D →
  Dropout → MaxPool(1, 2) → Dropout, Flatten, Dense(128, ReLU) → Dropout → Dense(64, ReLU) →
  Dropout → Dense(2, sigmoid); dropout 0.3; 2,601,730 parameters.
- CNN-LSTM: the same conv stack, BatchNormalization, TimeDistributed(Flatten), LSTM(128, seq) →
  Dropout → LSTM(64) → Dropout → Dense(128) → Dropout → Dense(64) → Dropout → Dense(2, sigmoid).
- Transformer: 8 blocks of LN(1e-6) → MHA(4 heads, key_dim 256, dropout 0.25) → Dropout → add,
  LN → Conv1D(4, 1, ReLU) → Dropout → Conv1D(210, 1) → add; GlobalAveragePooling1D(channels_first)
  → Dense(128, ReLU) → Dropout(0.25) → Dense(2, sigmoid).

Training as the reference: binary cross-entropy on one-hot targets, Adam (Keras defaults),
class weights {0: 1, 1: n0/n1}, shuffle, no validation. Evaluation: the reference's micro "F1"
over both one-hot columns at threshold 0.5, per subject, averaged over subjects.

Modes:
  loso   LOSO over all subjects (or the first --folds), --epochs each; prints wall time per fold
  epochs --epochs epochs on all windows, as `dpwear eval tstr --train F --test F` trains
         (epoch-time ratio; per-epoch times recorded, the first one includes graph tracing)
Output: one JSON object on stdout (timings in seconds; accuracy per subject).
"""
import argparse
import json
import os
import time


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--features", required=True)
    p.add_argument("--classifier", choices=["cnn", "cnn-lstm", "transformer"], required=True)
    p.add_argument("--mode", choices=["loso", "epochs"], default="loso")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--folds", type=int, default=None)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args()


args = parse()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tf_keras import layers  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(args.threads)
tf.config.threading.set_inter_op_parallelism_threads(args.threads)

EPOCHS = {"cnn": 10, "cnn-lstm": 20, "transformer": 110}
LR = {"cnn": 1e-3, "cnn-lstm": 1e-3, "transformer": 1e-4}


def conv_stack(x, d=0.3):
    conv = lambda t: layers.Conv2D(64, (1, 3), padding="same", activation="relu")(t)  # noqa: E731
    x = layers.Dropout(d)(conv(x))
    x = layers.Dropout(d)(conv(x))
    x = layers.Dropout(d)(layers.MaxPooling2D((1, 2))(conv(x)))
    x = layers.Dropout(d)(conv(x))
    return layers.Dropout(d)(layers.MaxPooling2D((1, 2))(x))


def build(kind):
    if kind in ("cnn", "cnn-lstm"):
        inp = keras.Input((6, 210, 1))
        x = conv_stack(inp)
        if kind == "cnn":
            x = layers.Flatten()(x)
        else:
            x = layers.BatchNormalization()(x)
            x = layers.TimeDistributed(layers.Flatten())(x)
            x = layers.Dropout(0.3)(layers.LSTM(128, return_sequences=True)(x))
            x = layers.Dropout(0.3)(layers.LSTM(64)(x))
        x = layers.Dropout(0.3)(layers.Dense(128, activation="relu")(x))
        x = layers.Dropout(0.3)(layers.Dense(64, activation="relu")(x))
    else:
        inp = keras.Input((6, 210))
        x = inp
        for _ in range(8):
            h = layers.LayerNormalization(epsilon=1e-6)(x)
            h = layers.MultiHeadAttention(num_heads=4, key_dim=256, dropout=0.25)(h, h)
            x = layers.Dropout(0.25)(h) + x
            h = layers.LayerNormalization(epsilon=1e-6)(x)
            h = layers.Dropout(0.25)(layers.Conv1D(4, 1, activation="relu")(h))
            x = layers.Conv1D(210, 1)(h) + x
        x = layers.GlobalAveragePooling1D(data_format="channels_first")(x)
        x = layers.Dropout(0.25)(layers.Dense(128, activation="relu")(x))
    out = layers.Dense(2, activation="sigmoid")(x)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(LR[kind]), loss="binary_crossentropy")
    return model


def micro_f1(probs, y):
    onehot = np.eye(2)[y]
    pos = probs > 0.5
    tp = np.sum(pos & (onehot == 1))
    fp = np.sum(pos & (onehot == 0))
    fn = np.sum(~pos & (onehot == 1))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def main():
    f = h5py.File(args.features, "r")
    X = f["X"][:].astype(np.float32)
    y = f["y"][:].astype(np.int64)
    subj = f["subject"][:]
    epochs = args.epochs or EPOCHS[args.classifier]
    subjects = sorted(set(subj.tolist()))
    if args.mode == "epochs":
        subjects = [None]
    elif args.folds:
        subjects = subjects[: args.folds]
    if args.classifier != "transformer":
        X = X[..., None]
    result = {
        "classifier": args.classifier,
        "mode": args.mode,
        "epochs": epochs,
        "threads": args.threads,
        "tensorflow": tf.__version__,
        "parameters": None,
        "folds": [],
    }
    started = time.perf_counter()
    for s in subjects:
        t0 = time.perf_counter()
        keras.backend.clear_session()
        np.random.seed(args.seed)
        tf.random.set_seed(args.seed)
        train, test = subj != s, subj == s
        epoch_times = []

        class EpochTimer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                epoch_times.append(time.perf_counter() - self.t)

        model = build(args.classifier)
        result["parameters"] = int(model.count_params())
        n1 = int(y[train].sum())
        n0 = int(train.sum()) - n1
        cw = {0: 1.0, 1: n0 / n1} if n0 and n1 else None
        t1 = time.perf_counter()
        hist = model.fit(X[train], np.eye(2)[y[train]], epochs=epochs, batch_size=50,
                         class_weight=cw, shuffle=True, verbose=0, callbacks=[EpochTimer()])
        t2 = time.perf_counter()
        fold = {"subject": None if s is None else int(s), "build_s": t1 - t0, "fit_s": t2 - t1,
                "epoch_s": epoch_times, "windows": int(train.sum()),
                "final_loss": float(hist.history["loss"][-1])}
        if args.mode == "loso":
            probs = model.predict(X[test], batch_size=256, verbose=0)
            fold["f1"] = float(micro_f1(probs, y[test]))
            fold["accuracy"] = float(np.mean(probs.argmax(1) == y[test]))
        fold["total_s"] = time.perf_counter() - t0
        result["folds"].append(fold)
        print(json.dumps(fold), flush=True, file=__import__("sys").stderr)
    result["wall_s"] = time.perf_counter() - started
    if args.mode == "loso":
        result["mean_f1"] = float(np.mean([fo["f1"] for fo in result["folds"]]))
    else:
        times = result["folds"][0]["epoch_s"]
        result["epoch_s"] = result["folds"][0]["fit_s"] / epochs
        result["epoch_s_after_first"] = float(np.mean(times[1:])) if len(times) > 1 else None
    print(json.dumps(result))


main()
