//! Generator checkpoints: a folder with
//! - `model-card.json`: what was trained, on what, how, with which privacy statement
//!   (`schema_version`, kind `dpwear-generator-card`), and the sha256 of both weight files;
//! - `generator.safetensors`: the released generator (what `gan generate` loads);
//! - `training-state.safetensors`: every tensor the next step reads (all networks, optimiser
//!   moments, released statistics), so an interrupted training resumes bit for bit.
//!
//! Writes are atomic (temporary file + rename) and ordered: weight files first, the card last,
//! so a card always describes weight files that exist; a card whose digests do not match its
//! files (truncated, edited, foreign) is refused on load.
//!
//! May depend on: tch (safetensors), serde, the privacy records, `atomic_file`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::privacy::{GenDpPlan, GenPrivacyRecord};
use crate::data::hash::sha256_file;
use crate::data::LabelMap;
use crate::features::windows::WindowScheme;
use crate::models::generator_spec::{GeneratorKind, GeneratorMode};

pub const CARD_FILE: &str = "model-card.json";
pub const GENERATOR_FILE: &str = "generator.safetensors";
pub const STATE_FILE: &str = "training-state.safetensors";
pub const CARD_KIND: &str = "dpwear-generator-card";
pub const CARD_SCHEMA_VERSION: u32 = 1;

/// Errors of checkpoint IO, each with its class for the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    WriteFailed { path: PathBuf, message: String },
}

/// The data a generator was trained on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardData {
    /// The dataset store as given.
    pub dataset: String,
    /// sha256 of the dataset store file.
    pub dataset_sha256: String,
    /// Where the store's data came from, and its digest.
    pub source_kind: String,
    pub source_sha256: String,
    pub simulated: bool,
    pub label_map: LabelMap,
    pub class_names: Vec<String>,
    pub window_scheme: WindowScheme,
    pub windows: usize,
    pub training_subjects: Vec<u32>,
    pub excluded_subjects: Vec<u32>,
    /// Preprocessing done before dpwear saw the data.
    pub preprocessing: String,
}

/// Progress and outcome of the training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardTraining {
    /// `in-progress` (resumable) or `complete`.
    pub status: String,
    pub steps_total: u64,
    pub steps_done: u64,
    /// DP mechanism invocations so far (D steps on real data).
    pub private_steps: u64,
    pub empty_batches: u64,
    pub clipped_fraction_sum: f64,
    pub seed: u64,
    pub threads: usize,
    pub device: String,
    /// Seconds spent training, over all sessions.
    pub wall_seconds: f64,
    /// Mean of each loss over the last logged steps.
    pub last_losses: Vec<(String, f64)>,
}

/// A weight file and its digest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardFile {
    pub name: String,
    pub sha256: String,
    pub tensors: usize,
}

/// The model card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    pub schema_version: u32,
    pub kind: String,
    pub generator: GeneratorKind,
    pub mode: GeneratorMode,
    /// The family's hyper-parameters (its own serde type).
    pub hyper: serde_json::Value,
    /// Parameters of the released generator.
    pub generator_parameters: i64,
    pub data: CardData,
    pub training: CardTraining,
    /// `None`: trained without differential privacy.
    pub privacy_plan: Option<GenDpPlan>,
    /// The guarantee for the steps done so far (`None` without DP).
    pub privacy: Option<GenPrivacyRecord>,
    /// "no differential privacy: ..." for non-private generators, else the statement again.
    pub privacy_summary: String,
    /// sha256 of everything that defines the training (kind, mode, hyper-parameters, data,
    /// privacy request, seed): a resumed run must match it.
    pub request_sha256: String,
    pub generator_file: Option<CardFile>,
    pub state_file: Option<CardFile>,
    pub code_version: String,
    pub notes: Vec<String>,
}

impl ModelCard {
    pub fn is_complete(&self) -> bool {
        self.training.status == "complete"
    }
}

fn unreadable(path: &Path, e: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn malformed(path: &Path, e: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn write_failed(path: &Path, e: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::WriteFailed {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Writes named tensors as safetensors atomically; returns the file's entry.
fn write_tensors(
    dir: &Path,
    name: &str,
    tensors: &[(String, Tensor)],
) -> Result<CardFile, CheckpointError> {
    let path = dir.join(name);
    let tmp = crate::atomic_file::temp_path(&path);
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                t.detach().to_device(tch::Device::Cpu).contiguous(),
            )
        })
        .collect();
    Tensor::write_safetensors(&cpu, &tmp).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        write_failed(&path, e)
    })?;
    let sha256 = sha256_file(&tmp).map_err(|e| write_failed(&path, e))?;
    crate::atomic_file::rename_into_place(&tmp, &path).map_err(|e| write_failed(&path, e))?;
    Ok(CardFile {
        name: name.into(),
        sha256,
        tensors: cpu.len(),
    })
}

/// Saves the weight files and then the card (atomically each).
pub fn save(
    dir: &Path,
    card: &mut ModelCard,
    generator: &[(String, Tensor)],
    state: &[(String, Tensor)],
) -> Result<(), CheckpointError> {
    std::fs::create_dir_all(dir).map_err(|e| write_failed(dir, e))?;
    card.generator_file = Some(write_tensors(dir, GENERATOR_FILE, generator)?);
    card.state_file = Some(write_tensors(dir, STATE_FILE, state)?);
    let path = dir.join(CARD_FILE);
    crate::atomic_file::write_json(&path, card).map_err(|e| write_failed(&path, e))
}

/// Reads and checks a card: JSON of this kind and schema, weight files present with the
/// recorded digests.
pub fn read_card(dir: &Path) -> Result<ModelCard, CheckpointError> {
    if !dir.exists() {
        return Err(unreadable(dir, "no such checkpoint folder"));
    }
    if !dir.is_dir() {
        return Err(malformed(
            dir,
            "not a checkpoint folder (expected a folder holding model-card.json)",
        ));
    }
    let path = dir.join(CARD_FILE);
    let bytes = std::fs::read(&path).map_err(|e| unreadable(&path, e))?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| malformed(&path, format!("not JSON: {e}")))?;
    let kind = value.get("kind").and_then(|k| k.as_str());
    if kind != Some(CARD_KIND) {
        return Err(malformed(
            &path,
            format!(
                "not a dpwear generator card (kind {:?}, expected {CARD_KIND:?})",
                kind.unwrap_or("missing")
            ),
        ));
    }
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    if version != Some(CARD_SCHEMA_VERSION as u64) {
        return Err(malformed(
            &path,
            format!(
                "schema_version {:?} is not supported by this dpwear (expected {CARD_SCHEMA_VERSION})",
                version
            ),
        ));
    }
    let card: ModelCard = serde_json::from_value(value)
        .map_err(|e| malformed(&path, format!("not a valid model card: {e}")))?;
    for file in [&card.generator_file, &card.state_file]
        .into_iter()
        .flatten()
    {
        let p = dir.join(&file.name);
        if file.name.contains('/') || file.name.contains("..") {
            return Err(malformed(
                &path,
                format!("file name {:?} leaves the folder", file.name),
            ));
        }
        let sha = sha256_file(&p).map_err(|e| unreadable(&p, e))?;
        if sha != file.sha256 {
            return Err(malformed(
                &p,
                format!(
                    "sha256 {sha} does not match the model card's {} (truncated, edited or from another checkpoint)",
                    file.sha256
                ),
            ));
        }
    }
    Ok(card)
}

/// Reads one of the card's weight files (after [`read_card`] checked its digest).
pub fn read_tensors(dir: &Path, file: &CardFile) -> Result<Vec<(String, Tensor)>, CheckpointError> {
    let p = dir.join(&file.name);
    let t =
        Tensor::read_safetensors(&p).map_err(|e| malformed(&p, format!("not safetensors: {e}")))?;
    if t.len() != file.tensors {
        return Err(malformed(
            &p,
            format!("holds {} tensors, the card says {}", t.len(), file.tensors),
        ));
    }
    Ok(t)
}

/// Number of scalar parameters in named tensors.
pub fn count_parameters(tensors: &[(String, Tensor)]) -> i64 {
    tensors.iter().map(|(_, t)| t.numel() as i64).sum()
}
