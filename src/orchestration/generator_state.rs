//! The state of a campaign's generator trainings from their files (pure: no libtorch): done
//! when the model card says the training is complete and the sampled subjects exist; running
//! while a process holds the folder's lock; failed or interrupted from `failed.json`;
//! otherwise partial (a checkpoint mid-training) or pending.
//!
//! May depend on: the campaign layout, file locks, serde_json.

use serde::{Deserialize, Serialize};

use super::layout::CampaignDir;
use crate::config::generators::GeneratorArtifact;

/// Why a generator task's last attempt did not finish (`generators/<id>/failed.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorFailure {
    pub schema_version: u32,
    pub kind: String,
    pub generator_id: String,
    pub index: usize,
    pub exit_code: i32,
    pub message: String,
    pub resumable: bool,
}

/// The `kind` of a generator failure note.
pub const GENERATOR_FAILURE_KIND: &str = "dpwear-generator-failure";

/// Where a generator training stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GeneratorState {
    /// Trained to the end and sampled.
    Done,
    /// A process holds its lock.
    Running,
    Failed {
        exit_code: i32,
        message: String,
    },
    Interrupted,
    /// A checkpoint exists (steps done of total) but nothing trains it now.
    Partial {
        steps_done: u64,
        steps_total: u64,
    },
    Pending,
}

impl GeneratorState {
    pub fn label(&self) -> String {
        match self {
            GeneratorState::Done => "done".into(),
            GeneratorState::Running => "running".into(),
            GeneratorState::Failed { exit_code, .. } => format!("failed (exit {exit_code})"),
            GeneratorState::Interrupted => "interrupted".into(),
            GeneratorState::Partial {
                steps_done,
                steps_total,
            } => format!("partial ({steps_done}/{steps_total} steps)"),
            GeneratorState::Pending => "pending".into(),
        }
    }
}

/// Reads the training block of a model card without the torch types.
#[derive(Deserialize)]
struct CardProbe {
    training: TrainingProbe,
}

#[derive(Deserialize)]
struct TrainingProbe {
    status: String,
    steps_done: u64,
    steps_total: u64,
}

/// The state of generator `art` of the campaign in `dir`.
pub fn generator_state(dir: &CampaignDir, art: &GeneratorArtifact) -> GeneratorState {
    let folder = dir.generator(&art.id);
    let card = std::fs::read(folder.join("model-card.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<CardProbe>(&b).ok());
    let sampled = folder.join(art.sample.file_name()).is_file();
    if let Some(c) = &card {
        if c.training.status == "complete" && sampled {
            return GeneratorState::Done;
        }
    }
    if super::lock::is_held(&folder.join(".lock")) {
        return GeneratorState::Running;
    }
    if let Some(f) = std::fs::read(dir.generator_failure(&art.id))
        .ok()
        .and_then(|t| serde_json::from_slice::<GeneratorFailure>(&t).ok())
    {
        return if f.resumable {
            GeneratorState::Interrupted
        } else {
            GeneratorState::Failed {
                exit_code: f.exit_code,
                message: f.message,
            }
        };
    }
    match card {
        Some(c) => GeneratorState::Partial {
            steps_done: c.training.steps_done,
            steps_total: c.training.steps_total,
        },
        None => GeneratorState::Pending,
    }
}
