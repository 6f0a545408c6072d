//! The versioned JSON result record of an evaluation run (`dpwear eval loso|tstr --out r.json`):
//! configuration, seeds, per-fold metrics, per-replicate averages, the summary across
//! replicates, code version and data provenance. Timings sit in their own top-level field so
//! that two runs with the same seed compare equal once it is removed.

use serde::{Deserialize, Serialize};

use super::aggregate::{MeanMetrics, ReplicateSummary};
use super::metrics::MetricSet;
use super::protocol::Protocol;
use crate::models::{ClassifierKind, HeadMode, TrainHyper};

/// Version of this record layout.
pub const RECORD_SCHEMA_VERSION: u32 = 1;

/// Where the evaluated data came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataProvenance {
    pub path: String,
    /// sha256 of the source the features were computed from.
    pub source_sha256: String,
    pub simulated: bool,
    pub feature_mode: String,
    pub window_scheme: String,
    pub windows: usize,
    pub label_counts: Vec<usize>,
}

/// The run's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    pub protocol: Protocol,
    pub classifier: ClassifierKind,
    pub head: HeadMode,
    pub hyper: TrainHyper,
    pub replicates: usize,
    pub master_seed: u64,
    /// True when every replicate reuses the master seed (the reference's behaviour).
    pub same_seed: bool,
    pub threads: usize,
    pub device: String,
}

/// One fold (test subject) of one replicate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldRecord {
    pub fold: usize,
    pub test_subject: String,
    pub n_train_real: usize,
    pub n_train_synthetic: usize,
    pub n_test: usize,
    /// Class weights used in the loss, by class.
    pub class_weights: Vec<f64>,
    /// Training loss of the last epoch (mean over its batches).
    pub final_loss: f64,
    pub metrics: MetricSet,
}

/// One replicate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicateRecord {
    pub replicate: usize,
    pub seed: u64,
    pub folds: Vec<FoldRecord>,
    /// Unweighted mean over test subjects (the reference's "average").
    pub average: MeanMetrics,
    /// Confusion matrices of all folds summed, scored once.
    pub pooled: MetricSet,
}

/// Wall-clock timings (excluded from determinism comparisons).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub total_seconds: f64,
    /// Per replicate, per fold: seconds spent training (forward, backward, optimiser).
    pub train_seconds: Vec<Vec<f64>>,
    /// Per replicate, per fold: seconds spent predicting the test windows.
    pub predict_seconds: Vec<Vec<f64>>,
    pub mean_fold_seconds: f64,
    /// Per replicate, per trained model: seconds in setup, batching, forward, backward and
    /// the optimiser step.
    pub train_profile: Vec<Vec<TrainProfileSeconds>>,
}

/// Where one model's training time went (see `training::classifier::TrainProfile`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainProfileSeconds {
    pub setup: f64,
    pub batching: f64,
    pub forward: f64,
    pub backward: f64,
    pub step: f64,
}

/// The whole record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    pub schema_version: u32,
    pub kind: String,
    pub dpwear_version: String,
    pub git_commit: String,
    pub config: EvalConfig,
    pub data: DataProvenance,
    /// Synthetic training data (TSTR, or LOSO augmentation), if any.
    pub synthetic: Option<DataProvenance>,
    pub replicates: Vec<ReplicateRecord>,
    pub summary: ReplicateSummary,
    pub timings: Timings,
}
