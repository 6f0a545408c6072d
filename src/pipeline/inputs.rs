//! A cell's inputs, read and checked against what the plan recorded: the staged real features
//! (their file sha256 and source digest), a precomputed synthetic file (its sha256), a trained
//! generator's sampled subjects; and the cell's evaluation configuration (protocol,
//! classifier, head, hyper-parameters, DP-SGD from the cell's privacy policy, seeds).
//!
//! May depend on: config, data, features, models, training::eval_runner, pipeline::error.

use std::path::Path;

use super::error::{Fault, JobError};
use crate::config::{CellConfig, Strategy};
use crate::evaluation::protocol::Protocol;
use crate::evaluation::record::EvalConfig;
use crate::features::synthetic::{read_synthetic, SyntheticWindows};
use crate::features::{self, FeatureMode, FeatureSet};
use crate::models::{DpMode, DpTraining, HeadMode};

/// Reads the staged real features at `path`, refusing a store whose sha256 is not `want`
/// (`None`: the plan recorded none) or whose source is not `source_sha256`.
pub fn load_real(
    path: &Path,
    want: Option<&str>,
    source_sha256: &str,
) -> Result<FeatureSet, JobError> {
    let action = format!("read {}", path.display());
    let Some(want) = want else {
        return Err(JobError::new(
            Fault::Stale,
            action,
            "the manifest records no sha256 of the staged store (planned by an older dpwear); run `dpwear plan` again",
        ));
    };
    let have = crate::data::hash::sha256_file(path)
        .map_err(|e| JobError::data("read the staged features", e))?;
    if have != want {
        return Err(JobError::new(
            Fault::Stale,
            action,
            format!("the staged store changed since `dpwear plan` (sha256 {have}, the manifest recorded {want}); run `dpwear plan` again to restage it"),
        ));
    }
    let fs =
        features::read_features(path).map_err(|e| JobError::data("read the staged features", e))?;
    if fs.source_sha256 != source_sha256 {
        return Err(JobError::new(
            Fault::Stale,
            action,
            "its source digest differs from the manifest's; run `dpwear plan` again",
        ));
    }
    Ok(fs)
}

/// Reads synthetic data (feature store, dataset store or the reference's synthetic CSV) as
/// features of `mode`, the first `k` subjects (all when `None`); the reference head takes the
/// reference's synthetic windows, the default head all of them (as `dpwear eval` does).
pub fn read_synthetic_features(
    path: &Path,
    mode: FeatureMode,
    head: HeadMode,
    k: Option<usize>,
) -> Result<FeatureSet, JobError> {
    let windows = match head {
        HeadMode::Reference => SyntheticWindows::Reference,
        HeadMode::Default => SyntheticWindows::All,
    };
    read_synthetic(path, mode, windows, k).map_err(|e| JobError::data("read the synthetic data", e))
}

/// Reads a precomputed synthetic file for cell `c`, refusing one whose sha256 is not `want`.
pub fn load_synthetic_file(
    path: &Path,
    want: &str,
    c: &CellConfig,
    mode: FeatureMode,
) -> Result<FeatureSet, JobError> {
    let sha = crate::data::hash::sha256_file(path)
        .map_err(|e| JobError::data("hash the synthetic data", e))?;
    if sha != want {
        return Err(JobError::new(
            Fault::Stale,
            format!("read {}", path.display()),
            "the file changed since `dpwear plan` (sha256 differs); plan again",
        ));
    }
    read_synthetic_features(path, mode, c.model.head, c.point.synthetic_subjects)
}

/// The evaluation configuration of a cell: its protocol, classifier, head, hyper-parameters
/// (with DP-SGD from the cell's privacy policy when its ε is finite) and seeds.
pub fn eval_config(c: &CellConfig, threads: usize) -> (EvalConfig, tch::Device) {
    let protocol = match c.point.strategy {
        Strategy::Real | Strategy::Augment => Protocol::Loso,
        Strategy::Tstr => Protocol::Tstr,
    };
    let mut hyper = c.point.classifier.reference_hyper();
    if let Some(e) = c.model.epochs {
        hyper.epochs = e;
    }
    if let Some(b) = c.model.batch_size {
        hyper.batch_size = b;
    }
    if let Some(lr) = c.model.learning_rate {
        hyper.learning_rate = lr;
    }
    hyper.dp = c.privacy.as_ref().map(|p| DpTraining {
        mode: if p.mode == "reference-batch" {
            DpMode::ReferenceBatch
        } else {
            DpMode::Example
        },
        target_epsilon: c.point.epsilon.0,
        delta: p.delta,
        accountant: p.accountant,
        clip_norm: p.clip_norm,
        unit: p.unit,
        class_weights: p.class_weights,
        reproducible_noise: p.reproducible_noise,
    });
    (
        EvalConfig {
            protocol,
            classifier: c.point.classifier,
            head: c.model.head,
            hyper,
            replicates: 1,
            master_seed: c.master_seed,
            same_seed: false,
            threads,
            device: "Cpu".into(),
            fold_batch: 1,
        },
        tch::Device::Cpu,
    )
}
