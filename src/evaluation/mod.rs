//! Evaluation: classification metrics with an explicit positive class and explicit averaging,
//! the reference implementation's "F1" reproduced under its own name (`reference_f1`), and the
//! aggregation of per-subject scores into per-replicate and across-replicate summaries.
//!
//! Files:
//! - [`metrics`]: confusion matrices, accuracy, balanced accuracy, per-class and
//!   macro/micro/weighted precision, recall and F1 (scikit-learn semantics with
//!   `zero_division=0`), the Keras-style [`metrics::reference_f1`], and the per-fold
//!   [`metrics::MetricSet`].
//! - [`fidelity`]: distribution-level fidelity metrics (two-sample KS, 1-Wasserstein, MMD²,
//!   C2ST, PSD, PRDC) and the PCA and t-SNE projections for real-vs-synthetic figures.
//! - [`leakage`]: empirical privacy: distance to closest record against a holdout, and the
//!   distance membership-inference attack (AUC with a Hanley–McNeil interval, TPR at 1 % and
//!   0.1 % FPR with Clopper–Pearson intervals).
//! - [`quality`]: the quality report of one synthetic sample (fidelity and leakage together)
//!   and its headline scalars for tables.
//! - [`audit`]: the statistics of a canary audit of a DP mechanism: FPR/FNR of a threshold
//!   test with Clopper–Pearson bounds and the empirical ε lower bound at 95 % confidence (the
//!   mechanism runs are in `training::quality::audit`).
//! - [`domias`]: the DOMIAS density-ratio membership-inference attack (synthetic KDE over
//!   reference KDE, on PCA-reduced records), scored with the same attack metrics.
//! - [`kde`]: the Gaussian kernel density estimate (scipy's `gaussian_kde`, in log space)
//!   that DOMIAS rests on.
//! - [`aggregate`]: mean, sample standard deviation (ddof = 1), [`aggregate::Summary`],
//!   unweighted per-subject averages and pooled confusion matrices per replicate, and
//!   [`aggregate::poor_ratio`].
//!
//! May depend on: serde, thiserror, statrs (pure f64 maths), rustfft and rand / rand_chacha /
//! rand_distr behind an explicit RNG (fidelity). Must never use tch, mpi,
//! orchestration, reporting or any IO: everything here is a pure function of its inputs, so
//! that it builds and is tested without libtorch (`--no-default-features`).
pub mod aggregate;
pub mod audit;
pub mod domias;
pub mod fidelity;
pub mod kde;
pub mod leakage;
pub mod metrics;
pub mod protocol;
pub mod quality;
pub mod record;
pub mod tabular;

pub use aggregate::{
    mean, pooled, poor_ratio, sample_sd, subject_average, MeanMetrics, ReferenceMean,
    ReplicateSummary, Summary, DEFAULT_POOR_THRESHOLD,
};
pub use domias::{domias_attack, domias_attack_pca, domias_scores, DEFAULT_DOMIAS_COMPONENTS};
pub use kde::GaussianKde;
pub use metrics::{
    argmax2, reference_f1, Average, AveragedScores, ClassScores, ConfusionMatrix, MetricSet,
    ReferenceMetrics, STRESS_CLASS,
};

/// An error of the evaluation layer. Messages read after "failed to …".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvaluationError {
    /// Two inputs that must be aligned element by element have different lengths.
    #[error("compute metrics: {left} has {left_len} entries but {right} has {right_len}")]
    LengthMismatch {
        left: &'static str,
        left_len: usize,
        right: &'static str,
        right_len: usize,
    },
    /// An input that must hold at least one element is empty.
    #[error("compute metrics: {what} is empty")]
    Empty { what: &'static str },
    /// A class label is not in `0..n_classes`.
    #[error(
        "compute metrics: {which} label {label} at index {index} is out of range for {n_classes} classes (labels must be 0..{n_classes})"
    )]
    LabelOutOfRange {
        which: &'static str,
        index: usize,
        label: usize,
        n_classes: usize,
    },
    /// The number of classes is not usable (zero, or too few for the request).
    #[error("compute metrics: invalid number of classes {n_classes}: {reason}")]
    InvalidClassCount {
        n_classes: usize,
        reason: &'static str,
    },
    /// A class index (e.g. the positive class) is not in `0..n_classes`.
    #[error("compute metrics: class {class} is out of range for {n_classes} classes")]
    ClassOutOfRange { class: usize, n_classes: usize },
    /// A probability or metric value is NaN or infinite.
    #[error("compute metrics: {what} at index {index} is not finite ({value})")]
    NonFinite {
        what: &'static str,
        index: usize,
        value: f64,
    },
    /// Scores to be combined disagree on the number of classes or the positive class.
    #[error("combine metrics: entry {index} has {field} {got} but entry 0 has {expected}")]
    Incompatible {
        index: usize,
        field: &'static str,
        expected: usize,
        got: usize,
    },
    /// A serialised confusion matrix is malformed.
    #[error("read confusion matrix: {reason}")]
    InvalidConfusionMatrix { reason: String },
}
