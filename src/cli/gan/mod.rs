//! `dpwear gan`: train a generator (`train`), sample synthetic subjects from it (`generate`),
//! show a checkpoint's model card (`info`).
//!
//! May depend on: training::generator, data stores, the CLI's exit codes and progress.

pub mod generate_cmd;
pub mod info_cmd;
pub mod train_cmd;

use clap::Subcommand;

use super::exit;
use super::CliError;
use crate::training::generator::checkpoint::CheckpointError;

#[derive(Debug, Subcommand)]
pub enum GanCommand {
    /// Train a generator (cgan, dgan, timegan, dp-merf) on a dataset store, optionally with
    /// differential privacy; checkpoints into --out and resumes there.
    Train(train_cmd::TrainArgs),
    /// Sample synthetic subjects from a trained generator into a dataset store (.h5), the
    /// reference's synthetic CSV (.csv) or NumPy arrays (.npz).
    Generate(generate_cmd::GenerateArgs),
    /// Print a checkpoint's model card (what was trained, on what, its privacy statement).
    Info(info_cmd::InfoArgs),
}

pub fn run(cmd: GanCommand) -> Result<(), CliError> {
    match cmd {
        GanCommand::Train(a) => train_cmd::run(a),
        GanCommand::Generate(a) => generate_cmd::run(a),
        GanCommand::Info(a) => info_cmd::run(a),
    }
}

/// Exit code of a checkpoint error: 3 unreadable, 4 malformed, 6 not writable.
pub fn checkpoint_error(action: &str, e: CheckpointError) -> CliError {
    let code = match e {
        CheckpointError::Unreadable { .. } => exit::INPUT_UNREADABLE,
        CheckpointError::Malformed { .. } => exit::INPUT_MALFORMED,
        CheckpointError::WriteFailed { .. } => exit::OUTPUT_FAILED,
    };
    CliError::new(code, action, e)
}
