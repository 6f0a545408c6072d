//! Sampling synthetic subjects from a finished generator checkpoint: the body of `dpwear gan
//! generate` and of a campaign's generator stage. The result is a dataset (subjects 1001, …)
//! whose provenance is the generator (source kind `generator`, the model card and the request
//! in its note).
//!
//! May depend on: training::generator, data, pipeline::error.

use std::path::{Path, PathBuf};

use super::error::{Fault, JobError};
use super::generator_job::checkpoint_error;
use crate::data::{Dataset, Provenance, SourceKind};
use crate::training::generator::algorithm::WindowSampler;
use crate::training::generator::checkpoint::{read_card, read_tensors, ModelCard};
use crate::training::generator::registry;
use crate::training::generator::synthesize::{generate_subjects_observed, SubjectsRequest};

/// A finished generator loaded from its checkpoint, ready to sample many requests (the web
/// page keeps these between requests; `gan generate` loads one for one request).
pub struct LoadedGenerator {
    pub card: ModelCard,
    checkpoint: PathBuf,
    generator_sha256: String,
    sampler: Box<dyn WindowSampler>,
}

impl LoadedGenerator {
    /// Reads and checks the card and weights of `checkpoint` and rebuilds its generator.
    pub fn load(checkpoint: &Path) -> Result<LoadedGenerator, JobError> {
        const ACTION: &str = "load the generator";
        let card = read_card(checkpoint).map_err(|e| checkpoint_error("read the checkpoint", e))?;
        if !card.is_complete() {
            return Err(JobError::invalid(
                ACTION,
                format!(
                    "{} holds an unfinished training ({} of {} steps); run the same training again to finish it",
                    checkpoint.display(),
                    card.training.steps_done,
                    card.training.steps_total
                ),
            ));
        }
        let file = card.generator_file.clone().ok_or_else(|| {
            JobError::new(
                Fault::InputMalformed,
                ACTION,
                format!(
                    "{}: the model card names no generator file",
                    checkpoint.display()
                ),
            )
        })?;
        let tensors = read_tensors(checkpoint, &file)
            .map_err(|e| checkpoint_error("read the generator", e))?;
        let family = registry::family_from_hyper(card.generator, &card.hyper).map_err(|e| {
            JobError::new(
                Fault::InputMalformed,
                ACTION,
                format!(
                    "{}: hyper-parameters of the card: {e}",
                    checkpoint.display()
                ),
            )
        })?;
        let sampler = family.sampler(&tensors, tch::Device::Cpu).map_err(|e| {
            JobError::new(
                Fault::InputMalformed,
                ACTION,
                format!("{}: {e}", checkpoint.join(&file.name).display()),
            )
        })?;
        Ok(LoadedGenerator {
            card,
            checkpoint: checkpoint.to_path_buf(),
            generator_sha256: file.sha256,
            sampler,
        })
    }

    /// The checkpoint folder it was loaded from.
    pub fn checkpoint(&self) -> &Path {
        &self.checkpoint
    }

    /// True when windows are drawn for requested labels (false: DoppelGANger).
    pub fn conditional(&self) -> bool {
        self.sampler.conditional()
    }

    /// Samples `req`; `keep_going(done)` is asked after each subject (false: stop, `None`).
    /// The dataset's provenance names the checkpoint as `source_path` and `generated_by`.
    pub fn sample(
        &self,
        req: &SubjectsRequest,
        generated_by: &str,
        source_path: &str,
        keep_going: &mut dyn FnMut(usize) -> bool,
    ) -> Result<Option<Dataset>, JobError> {
        const ACTION: &str = "generate synthetic subjects";
        req.validate(self.card.data.label_map)
            .map_err(|e| JobError::invalid(ACTION, e))?;
        let note = serde_json::json!({
            "generated_by": generated_by,
            "request": req,
            "model_card": self.card,
        });
        let source = Provenance {
            kind: SourceKind::Generator,
            path: source_path.to_string(),
            sha256: self.generator_sha256.clone(),
            note: note.to_string(),
        };
        generate_subjects_observed(
            self.sampler.as_ref(),
            req,
            self.card.data.label_map,
            source,
            keep_going,
        )
        .map_err(|e| JobError::invalid(ACTION, e))
    }
}

/// Samples `req` from the checkpoint in `checkpoint`; returns the dataset and the model card.
pub fn sample(checkpoint: &Path, req: &SubjectsRequest) -> Result<(Dataset, ModelCard), JobError> {
    let generator = LoadedGenerator::load(checkpoint)?;
    let ds = generator
        .sample(
            req,
            "dpwear gan generate",
            &checkpoint.display().to_string(),
            &mut |_| true,
        )?
        .expect("generation without an observer is never stopped");
    Ok((ds, generator.card))
}
