#!/usr/bin/env python3
"""Reference vectors for dpwear's synthetic-data quality and empirical-privacy measures.

Writes tests/fixtures/quality_vectors.json (relative to the repository root), which the unit
tests of src/evaluation/fidelity/{pca,tsne,prdc}.rs and src/evaluation/{kde,domias}.rs compare
against:

  * pca: sklearn.decomposition.PCA(n_components=k) (defaults: svd_solver='auto', so 'full'
    LAPACK SVD or 'covariance_eigh' depending on the shape; whiten=False). Stored: mean_,
    components_ (after sklearn's svd_flip with u_based_decision=False: the largest-|.| entry
    of each component is positive), explained_variance_ (ddof = 1),
    explained_variance_ratio_, and transform() of the fitting set and of a second set.
  * tsne_p: the joint probabilities of exact t-SNE,
    sklearn.manifold._t_sne._joint_probabilities(D, perplexity, 0), where D is the square
    matrix of squared Euclidean distances cast to float32 (as TSNE(method='exact') does).
    D is stored (condensed, i < j, float32 values written as float64), so the test feeds the
    very same numbers. Also stored: per row, the perplexity exp(H_i) of the conditional
    distribution from sklearn.manifold._utils._binary_search_perplexity (H in nats).
  * tsne_run: the records of the blobs case and the final KL divergences of
    sklearn.manifold.TSNE(perplexity=10, method='exact', init='random', random_state=s) on
    them for s = 0..4 (coordinates are not compared: only the quality the optimiser reaches);
    and one evaluation of sklearn's objective _kl_divergence (KL and gradient) at a fixed
    embedding y0 with the joint P of those records.
  * prdc: precision, recall, density and coverage of Naeem et al. (2020), a direct numpy
    transcription of the formulas of the `prdc` package (compute_prdc): radii = distance of
    each point to its k-th nearest neighbour in its own set (the (k+1)-th smallest distance
    counting itself), strict '<' comparisons, exact Euclidean distances.
  * kde: scipy.stats.gaussian_kde(dataset.T) (Scott's factor n**(-1/(d+4)), full ddof=1
    covariance) and its logpdf at query points; and DOMIAS scores
    log p_synthetic(x) - log p_reference(x) with one KDE fitted on each set.

Usage (from the repository root):
    /work/main/bench/.venv-gretel/bin/python scripts/gen_quality_vectors.py [OUT_JSON]
Needs numpy, scipy and scikit-learn (generated with numpy 2.4.6, scipy 1.17.1,
scikit-learn 1.9.1). Every sample comes from a fixed numpy seed (SEED), so reruns with the same
versions give the same numbers apart from provenance.date.
"""
import datetime
import json
import math
import platform
import sys

import numpy as np
import scipy
import scipy.stats
import sklearn
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE, _t_sne
from sklearn.manifold import _utils as tsne_utils

SEED = 20260314


def rows(a):
    return [[float(v) for v in row] for row in np.asarray(a, dtype=np.float64)]


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def pca_case(name, note, x, y, k):
    p = PCA(n_components=k).fit(x)
    return {
        "name": name, "note": note, "n_components": k, "solver": p._fit_svd_solver,
        "x": rows(x), "y": rows(y),
        "mean": flat(p.mean_), "components": rows(p.components_),
        "explained_variance": flat(p.explained_variance_),
        "explained_variance_ratio": flat(p.explained_variance_ratio_),
        "x_transformed": rows(p.transform(x)), "y_transformed": rows(p.transform(y)),
    }


def tsne_case(name, note, x, perplexity):
    x = np.asarray(x, dtype=np.float64)
    sq = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    d32 = sq.astype(np.float32)
    cond = tsne_utils._binary_search_perplexity(d32, np.float32(perplexity), 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(cond > 0, cond * np.log(cond), 0.0)
    perp = np.exp(-plogp.sum(axis=1))
    joint = _t_sne._joint_probabilities(d32, perplexity, 0)  # condensed, i < j
    iu = np.triu_indices(len(x), 1)
    return {
        "name": name, "note": note, "n": len(x), "perplexity": perplexity,
        "sq_distances": flat(d32[iu]), "row_perplexity": flat(perp),
        "joint_p": flat(joint),
    }


def prdc(real, fake, k):
    """The formulas of prdc.compute_prdc (Naeem et al. 2020), with exact distances."""
    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    def radii(a):
        d = dist(a, a)
        return np.sort(d, axis=1)[:, k]  # (k+1)-th smallest, the point itself included

    real_r, fake_r = radii(real), radii(fake)
    d_rf = dist(real, fake)
    inside = d_rf < real_r[:, None]
    return {
        "precision": float(inside.any(axis=0).mean()),
        "recall": float((d_rf < fake_r[None, :]).any(axis=1).mean()),
        "density": float(inside.sum(axis=0).mean() / k),
        "coverage": float((d_rf.min(axis=1) < real_r).mean()),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/quality_vectors.json"
    rng = np.random.default_rng(SEED)

    # PCA: correlated Gaussian data (a random mixing matrix), one tall and one wide case.
    mix = rng.normal(size=(6, 6)) * np.array([3.0, 2.0, 1.5, 1.0, 0.5, 0.2])[:, None]
    x_tall = rng.normal(size=(70, 6)) @ mix + np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
    y_tall = rng.normal(size=(9, 6)) @ mix
    mix_w = rng.normal(size=(12, 12)) * np.linspace(3.0, 0.1, 12)[:, None]
    x_wide = rng.normal(size=(8, 12)) @ mix_w
    y_wide = rng.normal(size=(5, 12)) @ mix_w
    mix_m = rng.normal(size=(20, 20)) * np.linspace(2.0, 0.2, 20)[:, None]
    x_mid = rng.normal(size=(60, 20)) @ mix_m
    y_mid = rng.normal(size=(6, 20)) @ mix_m
    pca_cases = [
        pca_case("tall", "n=70, d=6, k=3: n >= 10 d, sklearn uses covariance_eigh",
                 x_tall, y_tall, 3),
        pca_case("wide", "n=8, d=12, k=4: n < d, sklearn uses the full SVD", x_wide, y_wide, 4),
        pca_case("mid", "n=60, d=20, k=5: full SVD", x_mid, y_mid, 5),
    ]

    # t-SNE joint probabilities: two blobs in 3-D, and a wider uniform cloud.
    blobs = np.concatenate([rng.normal(size=(20, 3)), rng.normal(size=(20, 3)) + 4.0])
    cloud = rng.uniform(-2.0, 2.0, size=(45, 4))
    p_blobs = _t_sne._joint_probabilities(
        ((blobs[:, None, :] - blobs[None, :, :]) ** 2).sum(-1).astype(np.float32), 10.0, 0)
    y0 = rng.normal(size=(len(blobs), 2))
    kl0, grad0 = _t_sne._kl_divergence(y0.ravel(), p_blobs, 1, len(blobs), 2)
    tsne_run = {
        "note": "the blobs_perp10 records; sklearn TSNE(method='exact', init='random', "
                "perplexity=10, random_state=s) for s in 0..4, defaults otherwise",
        "x": rows(blobs), "perplexity": 10.0,
        # One evaluation of the objective: sklearn's _kl_divergence (KL and gradient, 2-D,
        # degrees_of_freedom 1) at a fixed embedding y0, with P of the blobs case.
        "y0": rows(y0), "kl_at_y0": float(kl0), "grad_at_y0": flat(grad0),
        "kl_random_init": [float(TSNE(perplexity=10.0, method="exact", init="random",
                                      random_state=s).fit(blobs).kl_divergence_)
                           for s in range(5)],
    }
    tsne_cases = [
        tsne_case("blobs_perp10", "n=40, d=3, two blobs, perplexity 10", blobs, 10.0),
        tsne_case("cloud_perp30", "n=45, d=4, uniform, perplexity 30 (the default)", cloud, 30.0),
    ]

    # PRDC.
    prdc_inputs = [
        ("same", "same distribution, n_real=30, n_fake=25, d=3, k=5",
         rng.normal(size=(30, 3)), rng.normal(size=(25, 3)), 5),
        ("shifted", "fake shifted by +1 in every coordinate, k=5",
         rng.normal(size=(30, 3)), rng.normal(size=(25, 3)) + 1.0, 5),
        ("narrow_fake", "fake with a quarter of the spread (mode collapse), k=3",
         rng.normal(size=(20, 2)), 0.25 * rng.normal(size=(40, 2)), 3),
    ]
    prdc_cases = []
    for name, note, real, fake, k in prdc_inputs:
        case = {"name": name, "note": note, "k": k, "real": rows(real), "fake": rows(fake)}
        case.update(prdc(real, fake, k))
        prdc_cases.append(case)

    # Gaussian KDE and DOMIAS scores.
    cov = np.array([[1.0, 0.6, 0.0], [0.6, 2.0, -0.3], [0.0, -0.3, 0.5]])
    chol = np.linalg.cholesky(cov)
    synthetic = rng.normal(size=(50, 3)) @ chol.T + 0.3
    reference = rng.normal(size=(40, 3)) @ chol.T
    points = np.concatenate([rng.normal(size=(8, 3)) @ chol.T, [[6.0, -6.0, 4.0]]])
    kde_s = scipy.stats.gaussian_kde(synthetic.T)
    kde_r = scipy.stats.gaussian_kde(reference.T)
    kde_case = {
        "note": "d=3, correlated; the last point lies far in the tail",
        "synthetic": rows(synthetic), "reference": rows(reference), "points": rows(points),
        "synthetic_factor": float(kde_s.factor),
        "synthetic_logpdf": flat(kde_s.logpdf(points.T)),
        "reference_logpdf": flat(kde_r.logpdf(points.T)),
        "domias_log_ratio": flat(kde_s.logpdf(points.T) - kde_r.logpdf(points.T)),
    }

    doc = {
        "provenance": {
            "script": "scripts/gen_quality_vectors.py",
            "command": "/work/main/bench/.venv-gretel/bin/python scripts/gen_quality_vectors.py",
            "seed": SEED, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "sklearn": sklearn.__version__,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "conventions": "pca = sklearn PCA(n_components) defaults (components after "
                           "svd_flip(u_based_decision=False), variances ddof=1); tsne_p = "
                           "sklearn _joint_probabilities on float32 squared distances "
                           "(condensed i<j), row_perplexity = exp(entropy in nats) of "
                           "_binary_search_perplexity's rows; prdc = numpy transcription of "
                           "prdc.compute_prdc (strict <, exact Euclidean); kde = "
                           "scipy.stats.gaussian_kde defaults (Scott), logpdf",
        },
        "pca": pca_cases,
        "tsne_p": tsne_cases,
        "tsne_run": tsne_run,
        "prdc": prdc_cases,
        "kde": kde_case,
    }
    with open(out, "w") as f:
        # One line per case (numbers are most of the file; indenting each one would double it).
        f.write("{\n")
        items = list(doc.items())
        for i, (key, value) in enumerate(items):
            sep = "," if i + 1 < len(items) else ""
            if isinstance(value, list):
                f.write(f' "{key}": [\n')
                f.write(",\n".join("  " + json.dumps(v) for v in value))
                f.write(f"\n ]{sep}\n")
            else:
                f.write(f' "{key}": {json.dumps(value)}{sep}\n')
        f.write("}\n")


if __name__ == "__main__":
    main()
