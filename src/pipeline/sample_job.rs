//! Sampling synthetic subjects from a finished generator checkpoint: the body of `dpwear gan
//! generate` and of a campaign's generator stage. The result is a dataset (subjects 1001, …)
//! whose provenance is the generator (source kind `generator`, the model card and the request
//! in its note).
//!
//! May depend on: training::generator, data, pipeline::error.

use std::path::Path;

use super::error::{Fault, JobError};
use super::generator_job::checkpoint_error;
use crate::data::{Dataset, Provenance, SourceKind};
use crate::training::generator::checkpoint::{read_card, read_tensors, ModelCard};
use crate::training::generator::registry;
use crate::training::generator::synthesize::{generate_subjects, SubjectsRequest};

/// Samples `req` from the checkpoint in `checkpoint`; returns the dataset and the model card.
pub fn sample(checkpoint: &Path, req: &SubjectsRequest) -> Result<(Dataset, ModelCard), JobError> {
    const ACTION: &str = "generate synthetic subjects";
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
    req.validate(card.data.label_map)
        .map_err(|e| JobError::invalid(ACTION, e))?;
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
    let tensors =
        read_tensors(checkpoint, &file).map_err(|e| checkpoint_error("read the generator", e))?;
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
    let note = serde_json::json!({
        "generated_by": "dpwear gan generate",
        "request": req,
        "model_card": card,
    });
    let source = Provenance {
        kind: SourceKind::Generator,
        path: checkpoint.display().to_string(),
        sha256: file.sha256.clone(),
        note: note.to_string(),
    };
    let ds = generate_subjects(sampler.as_ref(), req, card.data.label_map, source)
        .map_err(|e| JobError::invalid(ACTION, e))?;
    Ok((ds, card))
}
