//! Fidelity metrics: how close a synthetic sample is to a real one, as distances and
//! two-sample tests between empirical distributions.
//!
//! Files:
//! - [`ks`]: the two-sample Kolmogorov–Smirnov statistic D and its two-sided p-value, matching
//!   `scipy.stats.ks_2samp(x, y)` with its defaults (`method='auto'`: the exact distribution
//!   for `max(n, m) <= 10000`; see the module for the large-sample fallback).
//! - [`wasserstein`]: the 1-Wasserstein distance between two 1-D empirical distributions,
//!   equal to `scipy.stats.wasserstein_distance(x, y)`.
//! - [`windows`]: per-window statistics (mean, sd, min, max, slope per channel), the
//!   cross-channel correlation matrix and its Frobenius distance, mean autocorrelation and
//!   its distance, for sets of `n × t × c` windows.
//! - [`c2st`]: the reference's classifier two-sample test (2-NN on Fortran-flattened windows,
//!   80/20 split per class), matching scikit-learn.
//! - [`psd`]: Welch's power spectral density, equal to `scipy.signal.welch`, and the
//!   per-channel distance between two sets' mean spectra (rustfft).
//! - [`mmd`]: the unbiased MMD² with an RBF kernel whose bandwidth is the median pairwise
//!   distance of the pooled sample, and a permutation p-value driven by an explicit
//!   [`rand_chacha::ChaCha20Rng`].
//! - [`eigen`]: the symmetric eigen-decomposition (Householder tridiagonalisation and implicit
//!   QL) that [`pca`] rests on.
//! - [`pca`]: principal component analysis fitted on one set of records and applied to any
//!   set, matching `sklearn.decomposition.PCA` (components, explained variance with ddof = 1,
//!   its ratio, `transform`, and sklearn's sign convention), for the real-vs-synthetic
//!   scatter figure.
//! - [`tsne`]: exact t-SNE (sklearn's optimiser: perplexity calibration, early exaggeration,
//!   momentum and gains, PCA initialisation), deterministic; for up to
//!   [`tsne::MAX_EXACT_TSNE_RECORDS`] records.
//! - [`prdc`]: precision, recall, density and coverage of Naeem et al. (2020) with k-nearest
//!   neighbour balls, as the `prdc` package computes them.
//!
//! Reference vectors: `tests/fixtures/fidelity_vectors.json`, made by
//! `scripts/gen_fidelity_vectors.py` (scipy and a direct numpy MMD²), and
//! `tests/fixtures/quality_vectors.json`, made by `scripts/gen_quality_vectors.py` (sklearn's
//! PCA and t-SNE joint probabilities, a numpy transcription of `prdc`).
//!
//! May depend on: thiserror, rustfft (the PSD), rand / rand_chacha (permutations and the
//! t-SNE random initialisation behind an explicit RNG), serde
//! (tests only read the fixture). Must never use tch, mpi, orchestration or IO: every function
//! is a pure function of its inputs and bad input is an error, never a panic.
pub mod c2st;
pub mod eigen;
pub mod ks;
pub mod mmd;
pub mod pca;
pub mod prdc;
pub mod psd;
pub mod tsne;
pub mod wasserstein;
pub mod windows;

pub use c2st::{c2st_knn2, C2st};
pub use eigen::{symmetric_eigen, SymmetricEigen};
pub use ks::{ks_2samp, KsMethod, KsResult};
pub use mmd::{median_bandwidth, mmd2_permutation_test, mmd2_unbiased, MmdTest};
pub use pca::Pca;
pub use prdc::{prdc, Prdc, DEFAULT_PRDC_K};
pub use psd::{mean_psd, psd_distance, welch, Psd};
pub use tsne::{joint_probabilities, tsne, Tsne, TsneConfig, TsneInit, MAX_EXACT_TSNE_RECORDS};
pub use wasserstein::wasserstein_distance;
pub use windows::{
    autocorrelation_distance, correlation_matrix, frobenius_distance, Windows, WINDOW_STATS,
};

/// An error of the fidelity metrics. Messages read after "failed to …".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FidelityError {
    /// A sample has no values (or fewer than the metric needs).
    #[error("compute {metric}: sample {what} has {found} values but at least {needed} are needed")]
    TooFewValues {
        metric: &'static str,
        what: &'static str,
        found: usize,
        needed: usize,
    },
    /// A value is NaN or infinite.
    #[error("compute {metric}: sample {what} has a non-finite value {value} at index {index}")]
    NonFinite {
        metric: &'static str,
        what: &'static str,
        index: usize,
        value: f64,
    },
    /// The rows of a multivariate sample do not all have the same length.
    #[error(
        "compute {metric}: row {row} of sample {what} has {found} values but {expected} are expected"
    )]
    RaggedRows {
        metric: &'static str,
        what: &'static str,
        row: usize,
        expected: usize,
        found: usize,
    },
    /// Rows of length zero.
    #[error("compute {metric}: rows have length 0")]
    EmptyRows { metric: &'static str },
    /// The median pairwise distance of the pooled sample is 0 (most points coincide), so the
    /// median-heuristic RBF bandwidth is undefined.
    #[error("compute {metric}: the median pairwise distance of the pooled sample is 0, so the median-heuristic bandwidth is undefined")]
    ZeroBandwidth { metric: &'static str },
    /// A parameter (number of components, perplexity, k, …) is out of its valid range.
    #[error("compute {metric}: {parameter} = {value} is invalid: {reason}")]
    InvalidParameter {
        metric: &'static str,
        parameter: &'static str,
        value: String,
        reason: String,
    },
    /// More records than the (quadratic-cost) method accepts.
    #[error(
        "compute {metric}: {found} records exceed the limit of {limit} for this exact method; subsample the records first"
    )]
    TooManyValues {
        metric: &'static str,
        found: usize,
        limit: usize,
    },
    /// The data leave the result undefined (e.g. zero total variance).
    #[error("compute {metric}: {reason}")]
    Degenerate {
        metric: &'static str,
        reason: &'static str,
    },
    /// An iterative numerical method did not converge.
    #[error("compute {metric}: {what} did not converge within {iterations} iterations")]
    NoConvergence {
        metric: &'static str,
        what: &'static str,
        iterations: usize,
    },
}

/// Checks that `rows` holds at least `needed` finite rows of length `dim` (`dim > 0`).
pub(crate) fn check_rows<R: AsRef<[f64]>>(
    metric: &'static str,
    what: &'static str,
    rows: &[R],
    dim: usize,
    needed: usize,
) -> Result<(), FidelityError> {
    if rows.len() < needed {
        return Err(FidelityError::TooFewValues {
            metric,
            what,
            found: rows.len(),
            needed,
        });
    }
    if dim == 0 {
        return Err(FidelityError::EmptyRows { metric });
    }
    for (row, r) in rows.iter().enumerate() {
        let r = r.as_ref();
        if r.len() != dim {
            return Err(FidelityError::RaggedRows {
                metric,
                what,
                row,
                expected: dim,
                found: r.len(),
            });
        }
        if let Some((col, &value)) = r.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(FidelityError::NonFinite {
                metric,
                what,
                index: row * dim + col,
                value,
            });
        }
    }
    Ok(())
}

/// Squared Euclidean distance of two rows of equal length.
pub(crate) fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Checks that a 1-D sample is non-empty and finite.
pub(crate) fn check_sample(
    metric: &'static str,
    what: &'static str,
    values: &[f64],
    needed: usize,
) -> Result<(), FidelityError> {
    if values.len() < needed {
        return Err(FidelityError::TooFewValues {
            metric,
            what,
            found: values.len(),
            needed,
        });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(FidelityError::NonFinite {
            metric,
            what,
            index,
            value,
        });
    }
    Ok(())
}

/// Sorts a copy of finite values (total order; inputs were checked to be finite).
pub(crate) fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// Number of elements of an ascending slice that are `<= x` (numpy `searchsorted(side='right')`).
pub(crate) fn count_le(sorted: &[f64], x: f64) -> usize {
    sorted.partition_point(|&v| v <= x)
}

#[cfg(test)]
pub(crate) mod fixture {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct OneD {
        pub name: String,
        pub x: Vec<f64>,
        pub y: Vec<f64>,
        pub ks_statistic: f64,
        pub ks_pvalue: f64,
        pub wasserstein: f64,
    }

    #[derive(Deserialize)]
    pub struct Mmd {
        pub name: String,
        pub x: Vec<Vec<f64>>,
        pub y: Vec<Vec<f64>>,
        pub bandwidth: f64,
        pub mmd2: f64,
    }

    #[derive(Deserialize)]
    pub struct Vectors {
        pub one_d: Vec<OneD>,
        pub mmd: Vec<Mmd>,
    }

    pub fn load_quality() -> serde_json::Value {
        let text = include_str!("../../../tests/fixtures/quality_vectors.json");
        serde_json::from_str(text).expect("quality_vectors.json parses")
    }

    pub fn load() -> Vectors {
        let text = include_str!("../../../tests/fixtures/fidelity_vectors.json");
        serde_json::from_str(text).expect("fidelity_vectors.json parses")
    }

    /// |a - b| <= rel * max(|a|, |b|) + abs.
    pub fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs()) + abs
    }
}
