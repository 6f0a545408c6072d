//! `dpwear gan info CHECKPOINT [--json]`.

use std::path::PathBuf;

use clap::Args;

use super::checkpoint_error;
use crate::cli::CliError;
use crate::training::generator::checkpoint::read_card;

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Checkpoint folder (written by `dpwear gan train --out`).
    pub checkpoint: PathBuf,
    /// Print the whole model card as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: InfoArgs) -> Result<(), CliError> {
    let card = read_card(&a.checkpoint).map_err(|e| checkpoint_error("read the checkpoint", e))?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&card).expect("a model card serialises")
        );
        return Ok(());
    }
    println!(
        "generator:   {} ({} mode)",
        card.generator,
        card.mode.as_str()
    );
    println!(
        "status:      {} ({} of {} steps, {:.1} s)",
        card.training.status,
        card.training.steps_done,
        card.training.steps_total,
        card.training.wall_seconds
    );
    println!(
        "parameters:  {} (released generator)",
        card.generator_parameters
    );
    println!(
        "data:        {} ({}{}), {} {} windows of subjects {}",
        card.data.dataset,
        card.data.source_kind,
        if card.data.simulated {
            ", simulated"
        } else {
            ""
        },
        card.data.windows,
        card.data.window_scheme.as_str(),
        card.data
            .training_subjects
            .iter()
            .map(|s| format!("S{s}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("privacy:     {}", card.privacy_summary);
    if let Some(p) = &card.privacy {
        for n in &p.not_covered {
            println!("  not covered: {n}");
        }
        for n in &p.notes {
            println!("  note: {n}");
        }
    }
    for (name, v) in &card.training.last_losses {
        println!("loss {name}: {v:.6}");
    }
    for n in &card.notes {
        println!("note: {n}");
    }
    println!("code:        {}", card.code_version);
    Ok(())
}
