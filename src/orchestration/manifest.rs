//! The manifest (`results/<campaign>/manifest.json`): the validated experiment, the staged
//! inputs with their sha256, and every cell in array order with its content-hash id. `plan`
//! writes it; `run`, `run-cell`, `submit`, `status` and `collect` read it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::generators::{CellGenerator, GeneratorArtifact};
use crate::config::{CellConfig, Experiment};

/// Version of the manifest layout.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;
/// The `kind` field of a manifest.
pub const MANIFEST_KIND: &str = "dpwear-manifest";

/// The real data every cell is evaluated on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RealInput {
    /// Where it came from (a path, or `simulator`).
    pub source: String,
    pub sha256: String,
    pub simulated: bool,
    pub subjects: usize,
    pub windows: usize,
    /// Feature store per feature mode, relative to the campaign folder.
    pub features: BTreeMap<String, String>,
    /// sha256 of each staged feature store file, by feature mode: `run-cell` refuses a store
    /// that differs (absent in manifests of older versions: plan again).
    #[serde(default)]
    pub features_sha256: BTreeMap<String, String>,
    /// The staged dataset store trained generators read (only when the grid trains one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<StagedDataset>,
}

/// The real 1 Hz data as a dataset store under `inputs/`, for the generator stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StagedDataset {
    /// Relative to the campaign folder.
    pub path: String,
    pub sha256: String,
    /// Subject ids in fold order.
    pub subjects: Vec<u32>,
}

/// A precomputed synthetic data file (`generator = "file:…"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyntheticInput {
    /// Absolute path.
    pub path: String,
    pub sha256: String,
}

/// One cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestCell {
    pub index: usize,
    pub id: String,
    /// sha256 over the real data's and (if any) the synthetic file's digests.
    pub inputs_sha256: String,
    pub config: CellConfig,
    /// The privacy ledger of a private cell, computed by `plan` before anything runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<CellLedger>,
    /// The trained generators the cell uses: one per LOSO fold (per-fold training) or one for
    /// every fold (shared); empty without a trained generator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generators: Vec<CellGenerator>,
    /// The cell's whole privacy guarantee on its real training data (generator and classifier
    /// composed), planned before anything runs; absent for cells with neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guarantee: Option<CellGuarantee>,
}

/// A cell's end-to-end privacy: what touches the real training data and what that composes to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellGuarantee {
    /// `private` (every component that reads real training data is inside a mechanism),
    /// `not private` (some component reads them without one).
    pub status: String,
    /// The composed ε (max over folds) where the cell is private and the composition is
    /// defined, at `delta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    /// One sentence per component and the composition, as printed by `plan`.
    pub statement: Vec<String>,
    /// Per fold, the mechanisms composed and their ε (augment cells with a private
    /// generator and a private classifier on one unit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folds: Vec<FoldComposition>,
}

/// One fold's composition: the generator's and the classifier's mechanisms on that fold's
/// training data, composed by `accountant` at `delta`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldComposition {
    pub test_subject: u32,
    pub accountant: crate::privacy::accounting::ledger::AccountantKind,
    pub generator: crate::privacy::accounting::compose::Mechanism,
    pub classifier: crate::privacy::accounting::compose::Mechanism,
    pub delta: f64,
    pub epsilon: f64,
}

/// A private cell's planned guarantee over its folds (σ is calibrated per fold because each
/// fold's training set differs): ranges over the folds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellLedger {
    pub epsilon_target: f64,
    /// Largest ε the calibration reached over the folds (≤ target).
    pub epsilon_planned_max: f64,
    pub dp_level: String,
    pub mode: String,
    pub accountant: String,
    pub conversion: String,
    pub sampling: String,
    pub unit: String,
    pub delta_rule: String,
    pub delta: [f64; 2],
    pub sigma: [f64; 2],
    pub sample_rate: [f64; 2],
    pub steps: [u64; 2],
    pub units: [usize; 2],
    pub clip_norm: f64,
    pub folds: usize,
}

/// The whole manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub kind: String,
    pub campaign: String,
    /// The code version that enters cell ids (the crate version).
    pub code_version: String,
    pub git_commit: String,
    pub experiment_path: String,
    pub experiment_sha256: String,
    pub experiment: Experiment,
    pub real: RealInput,
    /// By generator label (`file:…`).
    pub synthetic: BTreeMap<String, SyntheticInput>,
    /// Generator trainings of the generator stage, each trained once for every cell that
    /// lists it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generators: Vec<GeneratorArtifact>,
    pub cells: Vec<ManifestCell>,
}

/// Why a manifest cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("read {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a dpwear manifest of schema_version {MANIFEST_SCHEMA_VERSION}: {reason}"
    )]
    Malformed { path: PathBuf, reason: String },
}

impl ManifestError {
    /// Whether the file could not be read at all (rather than read and found malformed).
    pub fn is_unreadable(&self) -> bool {
        matches!(self, ManifestError::Unreadable { .. })
    }
}

impl Manifest {
    /// Reads and checks a manifest.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        // Bytes first, then JSON: a file that exists but is not UTF-8 JSON is malformed (exit
        // 4), only a failed read is unreadable (exit 3).
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| ManifestError::Malformed {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if m.kind != MANIFEST_KIND || m.schema_version != MANIFEST_SCHEMA_VERSION {
            return Err(ManifestError::Malformed {
                path: path.to_path_buf(),
                reason: format!("kind {:?}, schema_version {}", m.kind, m.schema_version),
            });
        }
        if m.generators.iter().enumerate().any(|(i, g)| g.index != i)
            || m.cells
                .iter()
                .flat_map(|c| &c.generators)
                .any(|g| g.artifact >= m.generators.len())
        {
            return Err(ManifestError::Malformed {
                path: path.to_path_buf(),
                reason: "generator artifacts are not in index order or a cell names a missing one"
                    .into(),
            });
        }
        if m.cells.iter().enumerate().any(|(i, c)| c.index != i) {
            return Err(ManifestError::Malformed {
                path: path.to_path_buf(),
                reason: "cells are not in index order".into(),
            });
        }
        Ok(m)
    }

    /// Writes the manifest atomically.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        crate::atomic_file::write_json(path, self)
    }

    /// The cell with this id.
    pub fn cell_by_id(&self, id: &str) -> Option<&ManifestCell> {
        self.cells.iter().find(|c| c.id == id)
    }
}

/// The code version that enters cell and generator ids (the crate version).
pub fn code_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// sha256 of a file's bytes (the manifest's content digest that pins a run to it).
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path)?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// sha256 over the digests a cell reads.
pub fn inputs_sha256(real: &str, synthetic: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"real:");
    h.update(real.as_bytes());
    if let Some(s) = synthetic {
        h.update(b"\nsynthetic:");
        h.update(s.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn random_bytes_are_malformed_and_a_missing_file_is_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("manifest.json");
        std::fs::write(&p, [0x8b_u8, 0xff, 0x00, 0x13, 0xc3, 0x28]).unwrap();
        let e = Manifest::read(&p).unwrap_err();
        assert!(!e.is_unreadable(), "{e}");
        assert!(e.to_string().contains("is not a dpwear manifest"), "{e}");
        std::fs::write(&p, "{\"kind\": 3}").unwrap();
        assert!(!Manifest::read(&p).unwrap_err().is_unreadable());
        let e = Manifest::read(&dir.path().join("absent.json")).unwrap_err();
        assert!(e.is_unreadable(), "{e}");
    }
}
