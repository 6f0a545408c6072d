//! The quality step of a campaign's generator stage: once a generator artifact is sampled,
//! measure its synthetic subjects against the staged real data — fidelity against every real
//! window, leakage with its training subjects as members and (per-fold) its LOSO test subject
//! as the holdout — and keep the report beside the checkpoint as
//! `quality-<hash>.json`, the hash covering the sample file and the `[quality]` options. Done
//! once; every cell that uses the generator copies the headline numbers into its record.
//!
//! A shared generator trained on every subject has no holdout, so its leakage is not measured
//! (its cells already carry "leaks the test subject").
//!
//! May depend on: config (artifact, quality spec), data stores, pipeline::{quality_job,
//! generator_stage}, evaluation::quality.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::JobError;
use super::quality_job::{quality, Holdout, QualityRequest, SampleWindows};
use crate::config::generators::GeneratorArtifact;
use crate::config::grid::QualitySpec;
use crate::evaluation::quality::QualityOptions;

/// `kind` of the stored report.
pub const KIND: &str = "dpwear-generator-quality";
/// Version of the stored report's layout and contents (part of its file name's hash, so that a
/// dpwear that measures more recomputes older reports).
pub const SCHEMA_VERSION: u32 = 1;

/// What `quality-<hash>.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorQuality {
    pub schema_version: u32,
    pub kind: String,
    pub generator: String,
    /// The LOSO test subject it never saw (the holdout), `None` when shared.
    pub test_subject: Option<u32>,
    pub options: QualitySpec,
    /// The headline numbers by name (`evaluation::quality::SCALAR_METRICS`).
    pub scalars: BTreeMap<String, f64>,
    /// The whole report (`evaluation::quality::QualityReport`).
    pub report: serde_json::Value,
    /// What the numbers are not: [`NOT_PRIVATE`].
    #[serde(default)]
    pub note: String,
}

/// Every stored report says it.
pub const NOT_PRIVATE: &str = "computed from the real windows without any privacy mechanism: for the researcher; not covered by the generator's (or any) epsilon";

/// Where the report of `art` under `spec` lives inside its folder.
pub fn quality_path(art: &GeneratorArtifact, folder: &Path, spec: &QualitySpec) -> PathBuf {
    let mut h = Sha256::new();
    h.update(art.sample.file_name().as_bytes());
    h.update(serde_json::to_vec(spec).unwrap_or_default());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    // A report with other contents is a new report.
    h.update(SCHEMA_VERSION.to_le_bytes());
    let d = format!("{:x}", h.finalize());
    folder.join(format!("quality-{}.json", &d[..12]))
}

/// Reads a stored report; `None` when it is missing or not a report (it is then recomputed).
pub fn read_quality(path: &Path) -> Option<GeneratorQuality> {
    let text = std::fs::read_to_string(path).ok()?;
    let q: GeneratorQuality = serde_json::from_str(&text).ok()?;
    (q.kind == KIND && q.schema_version == SCHEMA_VERSION).then_some(q)
}

/// Measures (unless already measured) the sample of `art` in `folder` against the staged
/// store `dataset`; `None` when `spec` disables quality.
pub fn ensure_quality(
    art: &GeneratorArtifact,
    dataset: &Path,
    folder: &Path,
    spec: &QualitySpec,
) -> Result<Option<GeneratorQuality>, JobError> {
    if !spec.enabled {
        return Ok(None);
    }
    let path = quality_path(art, folder, spec);
    if let Some(q) = read_quality(&path) {
        return Ok(Some(q));
    }
    let action = format!("measure the quality of generator {}", art.id);
    let real = crate::data::store::read_dataset(dataset)
        .map_err(|e| JobError::data("read the staged dataset store", e))?;
    let sample = super::generator_stage::sample_path(art, folder);
    let synthetic = crate::data::store::read_dataset(&sample)
        .map_err(|e| JobError::data(format!("read {}", sample.display()), e))?;
    let holdout = if art.test_subject.is_some() {
        Holdout::OtherSubjects
    } else {
        Holdout::None
    };
    let req = QualityRequest {
        real: &real,
        synthetic: &synthetic,
        training_subjects: Some(&art.spec.training_subjects),
        holdout,
        scheme: art.spec.windows,
        options: QualityOptions {
            permutations: spec.permutations,
            max_pairwise: spec.max_pairwise,
            seed: art.sample.seed,
            ..QualityOptions::default()
        },
    };
    let windows = SampleWindows::of(&req);
    let mut report = quality(&req, &windows).map_err(|e| JobError::invalid(&action, e.cause))?;
    if spec.model_scores {
        report.model_scores = Some(super::quality_models::model_scores(
            &windows.real,
            &windows.synthetic,
            crate::features::windows::WINDOW_LEN,
            crate::data::N_CHANNELS,
            spec.score_iterations,
            art.sample.seed,
            None,
        )?);
    }
    let q = GeneratorQuality {
        schema_version: SCHEMA_VERSION,
        kind: KIND.into(),
        generator: art.id.clone(),
        test_subject: art.test_subject,
        options: *spec,
        scalars: report
            .scalars()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        report: serde_json::to_value(&report).map_err(|e| JobError::invalid(&action, e))?,
        note: NOT_PRIVATE.into(),
    };
    crate::atomic_file::write_json(&path, &q).map_err(|e| {
        JobError::new(
            super::error::Fault::OutputFailed,
            format!("write {}", path.display()),
            e,
        )
    })?;
    Ok(Some(q))
}
