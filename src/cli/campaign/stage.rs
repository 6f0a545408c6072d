//! Staging a campaign's inputs before any cell runs: the real dataset (simulated or read from
//! its source) becomes one feature store per feature mode under `inputs/`, and every
//! generator file is checked and hashed. A staged store whose source digest, mode and window
//! scheme already match, and whose file digest is the one the previous manifest recorded, is
//! kept; any other (edited, corrupt, or of unknown provenance) is rebuilt. The manifest records
//! each store's sha256 and `run-cell` refuses a store that no longer has it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::super::{data_cmd, exit, CliError};
use crate::config::grid::DatasetSpec;
use crate::config::{Experiment, Generator};
use crate::data::simulator::{simulate, SimulatorConfig};
use crate::data::{hash, store, Dataset, LabelMap};
use crate::features::{self, FeatureMode};
use crate::orchestration::manifest::{RealInput, StagedDataset, SyntheticInput};
use crate::orchestration::CampaignDir;

fn load_dataset(spec: &DatasetSpec) -> Result<Dataset, CliError> {
    match spec {
        DatasetSpec::Simulate(s) => simulate(&SimulatorConfig {
            subjects: s.subjects,
            seed: s.seed,
            label_map: LabelMap::Binary,
            minutes_scale: s.minutes_scale,
        })
        .map_err(|e| CliError::data("simulate the campaign's dataset", e)),
        DatasetSpec::Path(p) => {
            let action = format!("read the dataset {}", p.display());
            let is_h5 = p.extension().and_then(|e| e.to_str()) == Some("h5");
            if is_h5 {
                let kind = store::file_kind(p).map_err(|e| CliError::data(&action, e))?;
                if kind != store::KIND {
                    return Err(CliError::new(
                        exit::INPUT_MALFORMED,
                        &action,
                        format!("it is a {kind} file; [dataset] path needs a dataset store, raw WESAD or the reference's 1 Hz pickle/CSV"),
                    ));
                }
                store::read_dataset(p).map_err(|e| CliError::data(&action, e))
            } else {
                data_cmd::read_source(p, data_cmd::SourceFormat::Auto, LabelMap::Binary)
                    .map_err(|e| CliError::data(&action, e))
            }
        }
    }
}

/// Feature modes used by the grid.
fn modes(e: &Experiment) -> Vec<FeatureMode> {
    let mut v: Vec<FeatureMode> = Vec::new();
    for p in &e.points {
        if !v.contains(&p.feature_mode) {
            v.push(p.feature_mode);
        }
    }
    v
}

fn staged_matches(path: &Path, sha: &str, mode: FeatureMode, e: &Experiment) -> bool {
    match features::read_features(path) {
        Ok(fs) => fs.source_sha256 == sha && fs.mode == mode && fs.scheme == e.windows,
        Err(_) => false,
    }
}

/// Stages the real data; returns its description for the manifest.
pub fn stage_real(e: &Experiment, dir: &CampaignDir) -> Result<RealInput, CliError> {
    let ds = load_dataset(&e.dataset)?;
    let min = crate::config::limits::MIN_CAMPAIGN_SUBJECTS;
    if ds.subjects.len() < min {
        return Err(CliError::new(
            exit::INVALID_PARAMETER,
            &format!("stage the dataset {}", ds.source.path),
            format!(
                "it has {} subject(s); a campaign needs at least {min} (leave-one-subject-out needs a test subject and a training subject)",
                ds.subjects.len()
            ),
        ));
    }
    let sha = ds.source.sha256.clone();
    // What the previous plan staged: a store is kept only with the digest recorded then.
    let previous = crate::orchestration::Manifest::read(&dir.manifest())
        .ok()
        .map(|m| m.real.features_sha256)
        .unwrap_or_default();
    let mut feats = BTreeMap::new();
    let mut digests = BTreeMap::new();
    let mut windows = 0;
    for mode in modes(e) {
        let rel = format!(
            "inputs/features-{}-{}.h5",
            mode.as_str(),
            e.windows.as_str()
        );
        let path = dir.root.join(&rel);
        let recorded = previous.get(mode.as_str());
        let untouched = match recorded {
            Some(d) => hash::sha256_file(&path).ok().as_ref() == Some(d),
            None => false,
        };
        if path.exists() && !untouched {
            tracing::warn!(path = %path.display(), "the staged store is not the one the previous plan recorded (edited, corrupt or unknown): rebuilding it");
        }
        if !untouched || !staged_matches(&path, &sha, mode, e) {
            let fs = features::build(&ds, e.windows, mode);
            if fs.is_empty() {
                return Err(CliError::new(
                    exit::INVALID_PARAMETER,
                    "stage the features",
                    "the dataset gives no windows (sessions too short?)",
                ));
            }
            // The same check every cell's read of the store makes, here at plan time and
            // naming the dataset (a subject without windows, a non-finite feature).
            let named = match &e.dataset {
                DatasetSpec::Path(p) => p.clone(),
                DatasetSpec::Simulate(_) => std::path::PathBuf::from("[dataset] simulate"),
            };
            fs.validate(&named)
                .map_err(|e| CliError::data("stage the features", e))?;
            features::write_features(&path, &fs)
                .map_err(|e| CliError::data("write the staged features", e))?;
            tracing::info!(path = %path.display(), windows = fs.len(), "staged features");
        }
        windows = features::read_features(&path)
            .map(|f| f.len())
            .unwrap_or(windows);
        let digest =
            hash::sha256_file(&path).map_err(|e| CliError::data("hash the staged features", e))?;
        digests.insert(mode.as_str().to_string(), digest);
        feats.insert(mode.as_str().to_string(), rel);
    }
    let dataset = if e.points.iter().any(|p| p.generator.trained().is_some()) {
        Some(stage_dataset_store(&ds, dir, previous_dataset(dir))?)
    } else {
        None
    };
    Ok(RealInput {
        dataset,
        source: ds.source.path.clone(),
        sha256: sha,
        simulated: ds.source.kind.is_simulated(),
        subjects: ds.subjects.len(),
        windows,
        features: feats,
        features_sha256: digests,
    })
}

/// What the previous plan recorded of the staged dataset store.
fn previous_dataset(dir: &CampaignDir) -> Option<StagedDataset> {
    crate::orchestration::Manifest::read(&dir.manifest())
        .ok()
        .and_then(|m| m.real.dataset)
}

/// The staged dataset store trained generators read (`inputs/dataset.h5`). It is kept when it
/// is the very file the previous plan recorded and holds the same source: generator ids hash
/// its sha256, so rewriting it (HDF5 files are not byte-stable) would retrain every generator.
fn stage_dataset_store(
    ds: &Dataset,
    dir: &CampaignDir,
    previous: Option<StagedDataset>,
) -> Result<StagedDataset, CliError> {
    let rel = "inputs/dataset.h5".to_string();
    let path = dir.root.join(&rel);
    let kept = previous.filter(|p| {
        p.path == rel
            && hash::sha256_file(&path).ok().as_deref() == Some(p.sha256.as_str())
            && store::source_sha256(&path).ok().as_deref() == Some(ds.source.sha256.as_str())
    });
    if kept.is_none() {
        if path.exists() {
            tracing::warn!(path = %path.display(), "the staged dataset store is not the one the previous plan recorded: rebuilding it (its generators will be retrained)");
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::new(
                    exit::OUTPUT_FAILED,
                    &format!("create {}", parent.display()),
                    e,
                )
            })?;
        }
        store::write_dataset(&path, ds)
            .map_err(|e| CliError::data("write the staged dataset store", e))?;
    }
    let sha256 =
        hash::sha256_file(&path).map_err(|e| CliError::data("hash the staged dataset store", e))?;
    Ok(StagedDataset {
        path: rel,
        sha256,
        subjects: ds.subjects.iter().map(|s| s.id).collect(),
    })
}

/// Resolves a generator file against the experiment's folder.
pub fn resolve_generator_path(experiment_path: &Path, p: &str) -> PathBuf {
    let raw = PathBuf::from(p);
    if raw.is_absolute() {
        raw
    } else {
        experiment_path
            .parent()
            .map(|d| d.join(&raw))
            .unwrap_or(raw)
    }
}

/// Refuses, before anything is staged, an experiment whose input files are missing, naming
/// every missing one (the dataset path and each generator file) in one error.
pub fn check_inputs_exist(e: &Experiment, experiment_path: &Path) -> Result<(), CliError> {
    let mut missing: Vec<String> = Vec::new();
    if let DatasetSpec::Path(p) = &e.dataset {
        if !p.exists() {
            missing.push(format!("dataset {} does not exist", p.display()));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &e.points {
        if let Generator::File(f) = &p.generator {
            if !seen.insert(f.as_str()) {
                continue;
            }
            let path = resolve_generator_path(experiment_path, f);
            if !path.is_file() {
                missing.push(format!(
                    "generator {}: {} does not exist",
                    p.generator.label(),
                    path.display()
                ));
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(CliError::new(
        exit::INPUT_UNREADABLE,
        "plan",
        format!(
            "{} missing input(s) (relative paths are relative to {}): {}",
            missing.len(),
            experiment_path.display(),
            missing.join("; ")
        ),
    ))
}

/// Checks and hashes every generator file of the grid.
pub fn stage_synthetic(
    e: &Experiment,
    experiment_path: &Path,
) -> Result<BTreeMap<String, SyntheticInput>, CliError> {
    let mut out = BTreeMap::new();
    for p in &e.points {
        if let Generator::File(f) = &p.generator {
            let label = p.generator.label();
            if out.contains_key(&label) {
                continue;
            }
            let path = resolve_generator_path(experiment_path, f);
            if !path.is_file() {
                return Err(CliError::new(
                    exit::INPUT_UNREADABLE,
                    "plan",
                    format!(
                        "generator {label}: {} does not exist (relative paths are relative to {})",
                        path.display(),
                        experiment_path.display()
                    ),
                ));
            }
            let sha = hash::sha256_file(&path)
                .map_err(|e| CliError::data(&format!("hash {}", path.display()), e))?;
            let abs = std::fs::canonicalize(&path).unwrap_or(path);
            out.insert(
                label,
                SyntheticInput {
                    path: abs.display().to_string(),
                    sha256: sha,
                },
            );
        }
    }
    Ok(out)
}

/// Warns (one line per generator) when a generator file is the real data itself: its sha256,
/// or the source digest a dpwear store records, equals the real data's — the test subjects
/// would leak into training.
pub fn warn_if_synthetic_is_real(real: &RealInput, synthetic: &BTreeMap<String, SyntheticInput>) {
    for (label, s) in synthetic {
        let recorded = store::source_sha256(Path::new(&s.path)).ok();
        let mut digests = vec![s.sha256.as_str()];
        digests.extend(recorded.as_deref());
        if let Some(w) =
            features::synthetic::same_data_warning(&real.source, &real.sha256, &s.path, &digests)
        {
            tracing::warn!(generator = %label, "{w}");
        }
    }
}
