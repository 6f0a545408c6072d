//! The versioned JSON result record of an evaluation run (`dpwear eval loso|tstr --out r.json`):
//! configuration, seeds, per-fold metrics, per-replicate averages, the summary across
//! replicates, code version and data provenance. Timings sit in their own top-level field so
//! that two runs with the same seed compare equal once it is removed. Private training adds
//! `config.hyper.dp` (the request) and a `privacy` block per fold ([`FoldPrivacy`]: σ, q, δ,
//! steps planned and realised, ε target and spent, accountant, sampling, unit, DP level);
//! both are absent from non-private records, which are unchanged.

use serde::{Deserialize, Serialize};

use super::aggregate::{MeanMetrics, ReplicateSummary};
use super::metrics::MetricSet;
use super::protocol::Protocol;
use crate::models::{ClassifierKind, HeadMode, TrainHyper};
use crate::privacy::accounting::ledger::AccountantKind;
use crate::privacy::accounting::{DpLevel, PrivacyUnit, Sampling};

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
    /// How many folds' models were trained as one batched model (`--fold-batch`; see
    /// `training::fold_batch`); 1 (one model at a time) is not serialised.
    #[serde(default = "one_model", skip_serializing_if = "is_one_model")]
    pub fold_batch: usize,
}

fn one_model() -> usize {
    1
}

fn is_one_model(n: &usize) -> bool {
    *n <= 1
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
    /// The privacy guarantee of this fold's model (private training only; absent and not
    /// serialised for non-private training).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<FoldPrivacy>,
}

/// What one privately trained model spent, and under which assumptions. σ, q, δ and the
/// steps are per fold because they depend on the fold's training set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldPrivacy {
    /// `example-level DP-SGD`, or the reference-compatible batch-level label that says "not
    /// example-level DP".
    pub dp_level: DpLevel,
    /// `example` or `reference-batch`.
    pub mode: String,
    pub accountant: AccountantKind,
    /// The accountant's (ε, δ) conversion (and order list for the reference's accountant).
    pub conversion: String,
    pub epsilon_target: f64,
    /// ε of the steps actually taken, from the accountant (≤ the target up to calibration
    /// tolerance).
    pub epsilon_spent: f64,
    pub delta: f64,
    /// How δ was chosen: `min(1e-5, 1/(100 n)), n = …`, `fixed (--delta)` or the reference's `10^-digits(n)`.
    pub delta_rule: String,
    /// Noise multiplier σ (noise std σ·C).
    pub sigma: f64,
    /// Sampling rate q the accountant assumes.
    pub sample_rate: f64,
    /// Divisor of the noisy clipped sum (q·n; 1 in reference-batch mode, where the noise is
    /// added to a clipped mean).
    pub expected_batch_size: f64,
    /// Steps the calibration assumed.
    pub steps_planned: u64,
    /// Steps actually taken (empty Poisson batches count: they are pure-noise steps).
    pub steps_realised: u64,
    /// Realised steps whose Poisson batch was empty.
    pub empty_batches: u64,
    pub sampling: Sampling,
    pub unit: PrivacyUnit,
    /// n: the number of privacy units the accountant counts.
    pub units: usize,
    /// What n is (e.g. "training windows of the fold").
    pub units_rule: String,
    /// Clipping norm C.
    pub clip_norm: f64,
    /// Mean over non-empty steps of the fraction of units whose gradient norm exceeded C
    /// (a training diagnostic; like the training loss it is not covered by the guarantee).
    pub mean_clipped_fraction: f64,
    /// Expected noise norm σC√d (d = trainable parameters) over the mean norm of the clipped
    /// sum it is added to: how much larger the noise is than the signal per step (also a
    /// diagnostic computed from the private data, not covered by the guarantee; absent in
    /// records written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_to_signal: Option<f64>,
    /// The guarantee in words: ε, δ, unit, accountant and conversion, σ, q, steps, sampling,
    /// DP level.
    pub statement: String,
    /// Architecture change made for DP (e.g. BatchNorm → LayerNorm in the CNN-LSTM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp_architecture_note: Option<String>,
    /// Other deliberate differences from non-private training (loss, class weights,
    /// preprocessing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
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
    /// the optimiser step. Absent in records written before the profile existed.
    #[serde(default)]
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

#[cfg(test)]
mod compat_tests {
    /// The first benchmark record was written before `timings.train_profile` existed; it must
    /// still read.
    #[test]
    fn records_without_a_train_profile_still_read() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("results/benchmarks/loso-cnn-reference/rep-0.json");
        let text = std::fs::read_to_string(&p).unwrap();
        let r: super::EvalRecord = serde_json::from_str(&text).unwrap();
        assert!(r.timings.train_profile.is_empty() || !r.timings.train_profile[0].is_empty());
    }
}
