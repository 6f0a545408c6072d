//! `dpwear status <campaign>`: each cell's state, from its files (done, corrupt, failed,
//! interrupted, partial; running while a `run-cell` holds the cell's lock) and from the
//! scheduler for submitted cells (squeue / scontrol / sacct / jobcomp, whichever the site
//! has), with a count per state key (`done`, `corrupt`, `running`, `pending`, `failed`,
//! `partial`, `not_run`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::super::{exit, CliError};
use crate::orchestration::slurm::SlurmClient;
use crate::orchestration::submissions::Submissions;
use crate::orchestration::{cell_state, CampaignDir, CellState, Manifest};

/// Options of `dpwear status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The campaign: its folder, or its name under --results.
    pub campaign: PathBuf,
    /// Folder that holds the campaign folders.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Only the counts, no line per cell.
    #[arg(long)]
    pub summary: bool,
    /// Machine-readable: one JSON object with a state per cell.
    #[arg(long)]
    pub json: bool,
}

/// A cell's state for display, as `(key, text)`: the key (one word, what the counts and
/// `--json` use) and the text with details. Files first (a record means done, a record that
/// does not verify corrupt, a held cell lock running), then the scheduler.
pub fn display_state(files: &CellState, scheduler: Option<&str>) -> (&'static str, String) {
    match (files, scheduler) {
        (CellState::Done, _) => ("done", "done".into()),
        (CellState::Corrupt { .. }, _) => ("corrupt", "corrupt".into()),
        (CellState::Running { .. }, _) => ("running", "running".into()),
        (_, Some("PENDING")) => ("pending", "pending".into()),
        (_, Some(s)) if s == "RUNNING" || s == "COMPLETING" => ("running", "running".into()),
        (CellState::Failed { .. }, _) => ("failed", "failed".into()),
        (_, Some(s)) if s != "COMPLETED" => ("failed", format!("failed ({})", s.to_lowercase())),
        (CellState::Interrupted { .. }, _) => ("failed", "failed (interrupted)".into()),
        (_, Some(_)) => ("failed", "failed (no record)".into()),
        (CellState::Pending { folds: 0 }, None) => ("not_run", "not run".into()),
        (CellState::Pending { folds }, None) => ("partial", format!("partial ({folds} folds)")),
    }
}

/// Runs `dpwear status`.
pub fn run(a: StatusArgs) -> Result<(), CliError> {
    let dir = if a.campaign.is_dir() {
        CampaignDir::new(&a.campaign)
    } else {
        CampaignDir::new(a.results.join(&a.campaign))
    };
    let m =
        Manifest::read(&dir.manifest()).map_err(|e| CliError::manifest("read the campaign", e))?;
    let ledger = Submissions::read(&dir.submissions())
        .map_err(|e| CliError::new(exit::INPUT_MALFORMED, "read the submissions", e))?;
    let ids = ledger.array_job_ids();
    let tasks = if ids.is_empty() {
        Vec::new()
    } else {
        let client =
            SlurmClient::detect().map_err(|e| super::submit_cmd::slurm_error("ask Slurm", e))?;
        let client = {
            let jc = client.discover_jobcomp_file();
            client.with_jobcomp_file(jc)
        };
        client
            .query(&ids)
            .map_err(|e| super::submit_cmd::slurm_error("ask Slurm", e))?
    };
    let sched = ledger.cell_states(&tasks);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut lines = Vec::new();
    let mut json_cells = Vec::new();
    for c in &m.cells {
        let files = cell_state(&dir, &c.id);
        let s = sched.get(&c.index).and_then(|t| t.as_ref());
        let (key, state) = display_state(&files, s.map(|t| t.state.as_str()));
        *counts.entry(key.to_string()).or_default() += 1;
        let job = s
            .map(|t| match (t.array_job_id, t.array_task_id) {
                (Some(a), Some(i)) => format!("{a}_{i}"),
                _ => t.job_id.to_string(),
            })
            .unwrap_or_else(|| "-".into());
        let detail = match &files {
            CellState::Failed { message, .. } => message.clone(),
            CellState::Corrupt { reason } => reason.clone(),
            CellState::Running { folds } => match s.and_then(|t| t.reason.clone()) {
                Some(r) => r,
                None => format!("{folds} fold(s) saved"),
            },
            _ => s.and_then(|t| t.reason.clone()).unwrap_or_default(),
        };
        lines.push(format!(
            "{:>5}  {:<16}  {:<22}  {:<12}  {}",
            c.index, c.id, state, job, detail
        ));
        json_cells.push(serde_json::json!({
            "index": c.index, "id": c.id, "state": state, "key": key, "job": job, "detail": detail
        }));
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "campaign": m.campaign, "counts": counts, "cells": json_cells
            }))
            .unwrap_or_default()
        );
        return Ok(());
    }
    println!(
        "campaign {}: {} cell(s); {}",
        m.campaign,
        m.cells.len(),
        counts
            .iter()
            .map(|(k, v)| format!("{v} {}", k.replace('_', " ")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !a.summary {
        println!(
            "{:>5}  {:<16}  {:<22}  {:<12}  detail",
            "index", "cell", "state", "job"
        );
        for l in lines {
            println!("{l}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_are_single_words() {
        let k = |f: CellState, s: Option<&str>| display_state(&f, s).0;
        assert_eq!(k(CellState::Pending { folds: 0 }, None), "not_run");
        assert_eq!(k(CellState::Pending { folds: 2 }, None), "partial");
        assert_eq!(k(CellState::Running { folds: 2 }, None), "running");
        assert_eq!(
            display_state(&CellState::Running { folds: 2 }, None).1,
            "running"
        );
        let corrupt = CellState::Corrupt { reason: "x".into() };
        assert_eq!(k(corrupt.clone(), None), "corrupt");
        assert_eq!(k(corrupt, Some("COMPLETED")), "corrupt");
        assert_eq!(
            k(CellState::Pending { folds: 0 }, Some("RUNNING")),
            "running"
        );
        assert_eq!(
            k(CellState::Pending { folds: 0 }, Some("CANCELLED")),
            "failed"
        );
        assert_eq!(k(CellState::Done, Some("FAILED")), "done");
    }
}
