//! A campaign's generator stage for one artifact: train the generator the plan describes into
//! `generators/<id>/` (or find it trained, or resume it), check that it never saw the
//! subjects it must not see, and sample the campaign's synthetic subjects from it once
//! (`synthetic-<hash>.h5` beside the checkpoint). Every step is skipped when its output is
//! already there, so the stage is idempotent, resumable and safe to call from every cell.
//!
//! May depend on: config (the artifact), pipeline::{generator_job, sample_job}, data stores.

use std::path::{Path, PathBuf};

use super::error::{Fault, JobError};
use super::generator_job::{self, TrainObserver, TrainRequest};
use super::sample_job;
use crate::config::generators::GeneratorArtifact;
use crate::training::generator::privacy::GenDpRequest;
use crate::training::generator::synthesize::SubjectsRequest;
use crate::training::generator::Overrides;

/// Checkpoint interval of campaign generator trainings (also at the end and on signals).
pub const CHECKPOINT_EVERY: u64 = 200;

/// The training request of `art`, reading the staged store `dataset`, into `folder`.
pub fn train_request(
    art: &GeneratorArtifact,
    dataset: &Path,
    folder: &Path,
    threads: usize,
) -> TrainRequest {
    let s = &art.spec;
    TrainRequest {
        dataset: dataset.to_path_buf(),
        kind: s.kind,
        mode: s.hyper.mode,
        exclude: s.excluded_subjects.clone(),
        scheme: s.windows,
        dp: s.privacy.map(|p| GenDpRequest {
            target_epsilon: s.gan_epsilon.0,
            delta: p.delta,
            accountant: p.accountant,
            unit: p.unit,
            clip_norm: p.clip_norm,
            reproducible_noise: false,
        }),
        overrides: Overrides {
            epochs: s.hyper.epochs,
            steps: s.hyper.steps,
            batch_size: s.hyper.batch_size,
            d_steps: s.hyper.d_steps,
        },
        seed: s.seed,
        threads,
        device: tch::Device::Cpu,
        checkpoint_every: CHECKPOINT_EVERY,
        out: folder.to_path_buf(),
        force: false,
        wait_for_lock: true,
        stop_after: None,
    }
}

/// The sampling request of `art`.
pub fn subjects_request(art: &GeneratorArtifact) -> SubjectsRequest {
    let f = art.sample.stress_fraction;
    SubjectsRequest {
        subjects: art.sample.subjects,
        windows_per_subject: art.sample.windows_per_subject,
        stress_fraction: f,
        // DoppelGANger's whole-subject rejection window around the requested fraction.
        stress_ratio_range: SubjectsRequest::ratio_range_around(f),
        max_tries: 10_000,
        seed: art.sample.seed,
    }
}

/// Where the sampled subjects of `art` live inside its folder.
pub fn sample_path(art: &GeneratorArtifact, folder: &Path) -> PathBuf {
    folder.join(art.sample.file_name())
}

/// Trains (if needed) and samples (if needed) generator artifact `art` on the staged dataset
/// store `dataset` (refused unless it still has the sha256 the plan hashed into the artifact);
/// returns the sampled dataset store.
pub fn ensure(
    art: &GeneratorArtifact,
    dataset: &Path,
    folder: &Path,
    threads: usize,
    obs: &mut dyn TrainObserver,
) -> Result<PathBuf, JobError> {
    let action = format!("train generator {} ({})", art.id, art.spec.kind);
    let have = crate::data::hash::sha256_file(dataset)
        .map_err(|e| JobError::data("read the staged dataset store", e))?;
    if have != art.spec.dataset_sha256 {
        return Err(JobError::new(
            Fault::Stale,
            &action,
            format!(
                "{}: the staged dataset store changed since `dpwear plan` (sha256 {have}); run `dpwear plan` again",
                dataset.display()
            ),
        ));
    }
    let end = generator_job::train(&train_request(art, dataset, folder, threads), obs)?;
    let card = end.card();
    // The leakage check: a per-fold generator must never have seen its test subject.
    if let Some(s) = card
        .data
        .training_subjects
        .iter()
        .find(|s| art.spec.excluded_subjects.contains(s))
    {
        return Err(JobError::new(
            Fault::Internal,
            &action,
            format!(
                "{}: its model card lists subject {s} among the training subjects, but the plan excludes it (the fold's test subject); refusing to use it",
                folder.display()
            ),
        ));
    }
    if let Some(s) = card
        .data
        .training_subjects
        .iter()
        .find(|s| !art.spec.training_subjects.contains(s))
    {
        return Err(JobError::new(
            Fault::Internal,
            &action,
            format!(
                "{}: its model card lists subject {s}, which the plan does not train on",
                folder.display()
            ),
        ));
    }
    let out = sample_path(art, folder);
    if out.is_file() && crate::data::store::read_dataset(&out).is_ok() {
        return Ok(out);
    }
    let (ds, _) = sample_job::sample(folder, &subjects_request(art))?;
    crate::data::store::write_dataset(&out, &ds)
        .map_err(|e| JobError::data(format!("write {}", out.display()), e))?;
    obs.notice(&format!(
        "sampled {} synthetic subjects from generator {} into {}",
        ds.subjects.len(),
        art.id,
        out.display()
    ));
    Ok(out)
}
