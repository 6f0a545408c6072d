//! `dpwear status <campaign>`: each cell's state, from its files (done, corrupt, failed,
//! interrupted, partial; running while a `run-cell` holds the cell's lock) and from the
//! scheduler for submitted cells (squeue / scontrol / sacct / jobcomp, whichever the site
//! has), with a count per state key (`done`, `corrupt`, `running`, `pending`, `failed`,
//! `partial`, `not_run`); then each generator training of the generator stage, from its
//! files ([`generator_state`]) and from the scheduler for the generator array tasks, with
//! its own counts (the same keys but `corrupt`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::super::{exit, CliError};
use crate::orchestration::generator_state::{generator_state, GeneratorState};
use crate::orchestration::slurm::{SlurmClient, TaskState};
use crate::orchestration::submissions::{is_dead_dependency, Submissions};
use crate::orchestration::{cell_state, CampaignDir, CellState, Manifest};

/// Options of `dpwear status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The campaign: its folder, or its name under --results.
    pub campaign: PathBuf,
    /// Folder that holds the campaign folders.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Only the counts, no line per cell or generator.
    #[arg(long)]
    pub summary: bool,
    /// Machine-readable: one JSON object with a state per cell and per generator training.
    #[arg(long)]
    pub json: bool,
}

/// A cell's state for display, as `(key, text)`: the key (one word, what the counts and
/// `--json` use) and the text with details. Files first (a record means done, a record that
/// does not verify corrupt, a held cell lock running), then the scheduler. A task that pends
/// on a dependency that can never be satisfied (a generator it waited for failed) is failed:
/// it will never run.
pub fn display_state(files: &CellState, scheduler: Option<&TaskState>) -> (&'static str, String) {
    let sched = scheduler.map(|t| t.state.as_str());
    match (files, sched) {
        (CellState::Done, _) => ("done", "done".into()),
        (CellState::Corrupt { .. }, _) => ("corrupt", "corrupt".into()),
        (CellState::Running { .. }, _) => ("running", "running".into()),
        _ if scheduler.is_some_and(is_dead_dependency) => {
            ("failed", "failed (generator failed)".into())
        }
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

/// A generator training's state for display, as `(key, text)` with the keys of
/// [`display_state`]: files first (trained and sampled means done, a held lock running), then
/// the scheduler (pending, running; a task that was cancelled, timed out, ran out of memory…
/// shows that state: `failed (cancelled)`), then the failure note (`failed (exit 3)`,
/// `failed (interrupted)`) and the checkpoint.
pub fn generator_display_state(
    files: &GeneratorState,
    scheduler: Option<&TaskState>,
) -> (&'static str, String) {
    let sched = scheduler.map(|t| t.state.as_str());
    match (files, sched) {
        (GeneratorState::Done, _) => ("done", "done".into()),
        (GeneratorState::Running, _) => ("running", "running".into()),
        (_, Some("PENDING")) => ("pending", "pending".into()),
        (_, Some("RUNNING" | "COMPLETING")) => ("running", "running".into()),
        (_, Some(s)) if s != "COMPLETED" && s != "FAILED" => {
            ("failed", format!("failed ({})", s.to_lowercase()))
        }
        (GeneratorState::Failed { exit_code, .. }, _) => {
            ("failed", format!("failed (exit {exit_code})"))
        }
        (GeneratorState::Interrupted, _) => ("failed", "failed (interrupted)".into()),
        (_, Some("FAILED")) => ("failed", "failed".into()),
        (_, Some(_)) => ("failed", "failed (not trained)".into()),
        (GeneratorState::Partial { .. }, None) => ("partial", files.label()),
        (GeneratorState::Pending, None) => ("not_run", "not run".into()),
    }
}

/// `<array job>_<task>` (or the job id) of a scheduler record, `-` without one.
fn job_label(t: Option<&TaskState>) -> String {
    t.map(|t| match (t.array_job_id, t.array_task_id) {
        (Some(a), Some(i)) => format!("{a}_{i}"),
        _ => t.job_id.to_string(),
    })
    .unwrap_or_else(|| "-".into())
}

fn counts_text(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{v} {}", k.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
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
        let (key, state) = display_state(&files, s);
        *counts.entry(key.to_string()).or_default() += 1;
        let job = job_label(s);
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
    let gen_sched = ledger.generator_states(&tasks);
    let mut gen_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut gen_lines = Vec::new();
    let mut json_gens = Vec::new();
    for g in &m.generators {
        let files = generator_state(&dir, g);
        let s = gen_sched.get(&g.index).and_then(|t| t.as_ref());
        let (key, state) = generator_display_state(&files, s);
        *gen_counts.entry(key.to_string()).or_default() += 1;
        let job = job_label(s);
        let fold = g
            .test_subject
            .map(|t| format!("fold {t}"))
            .unwrap_or_else(|| "shared".into());
        let detail = match &files {
            GeneratorState::Failed { message, .. } => message.clone(),
            GeneratorState::Partial { .. } if key != "partial" => files.label(),
            _ => s.and_then(|t| t.reason.clone()).unwrap_or_default(),
        };
        gen_lines.push(format!(
            "{:>5}  {:<16}  {:<22}  {:<12}  {:<9}  {}",
            g.index,
            g.id,
            state,
            job,
            g.spec.kind.to_string(),
            if detail.is_empty() {
                fold.clone()
            } else {
                format!("{fold}; {detail}")
            }
        ));
        json_gens.push(serde_json::json!({
            "index": g.index, "id": g.id, "state": state, "key": key, "job": job,
            "kind": g.spec.kind.to_string(), "test_subject": g.test_subject,
            "cells": g.cells.len(), "detail": detail
        }));
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "campaign": m.campaign, "counts": counts, "cells": json_cells,
                "generator_counts": gen_counts, "generators": json_gens
            }))
            .unwrap_or_default()
        );
        return Ok(());
    }
    let generators = if m.generators.is_empty() {
        String::new()
    } else {
        format!(
            "; {} generator training(s): {}",
            m.generators.len(),
            counts_text(&gen_counts)
        )
    };
    println!(
        "campaign {}: {} cell(s); {}{generators}",
        m.campaign,
        m.cells.len(),
        counts_text(&counts)
    );
    if !a.summary {
        println!(
            "{:>5}  {:<16}  {:<22}  {:<12}  detail",
            "index", "cell", "state", "job"
        );
        for l in lines {
            println!("{l}");
        }
        if !gen_lines.is_empty() {
            println!(
                "\n{:>5}  {:<16}  {:<22}  {:<12}  {:<9}  detail",
                "index", "generator", "state", "job", "kind"
            );
            for l in gen_lines {
                println!("{l}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestration::slurm::JobState;

    fn task(state: JobState, reason: Option<&str>) -> TaskState {
        TaskState {
            job_id: 9,
            array_job_id: Some(7),
            array_task_id: Some(2),
            state,
            exit_code: None,
            reason: reason.map(String::from),
        }
    }

    #[test]
    fn state_keys_are_single_words() {
        let k = |f: CellState, s: Option<&str>| {
            let t = s.map(|s| task(JobState::parse(s), None));
            display_state(&f, t.as_ref()).0
        };
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
        assert_eq!(
            k(CellState::Pending { folds: 0 }, Some("PENDING")),
            "pending"
        );
        // a cell array that waits for a generator that failed will never run
        let dead = task(JobState::Pending, Some("DependencyNeverSatisfied"));
        assert_eq!(
            display_state(&CellState::Pending { folds: 0 }, Some(&dead)),
            ("failed", "failed (generator failed)".to_string())
        );
        let waiting = task(JobState::Pending, Some("Dependency"));
        assert_eq!(
            display_state(&CellState::Pending { folds: 0 }, Some(&waiting)).0,
            "pending"
        );
    }

    #[test]
    fn generator_states_show_cancelled_and_failed_tasks() {
        let g = |f: GeneratorState, s: Option<JobState>| {
            let t = s.map(|s| task(s, None));
            generator_display_state(&f, t.as_ref())
        };
        let text = |k: &str, t: &str| (k.to_string(), t.to_string());
        let owned = |(k, t): (&str, String)| (k.to_string(), t);
        assert_eq!(
            owned(g(GeneratorState::Pending, None)),
            text("not_run", "not run")
        );
        assert_eq!(
            owned(g(GeneratorState::Pending, Some(JobState::Pending))),
            text("pending", "pending")
        );
        assert_eq!(
            owned(g(GeneratorState::Pending, Some(JobState::Running))),
            text("running", "running")
        );
        // scancel: run-generator saved its checkpoint (interrupted) and Slurm says cancelled
        assert_eq!(
            owned(g(GeneratorState::Interrupted, Some(JobState::Cancelled))),
            text("failed", "failed (cancelled)")
        );
        assert_eq!(
            owned(g(
                GeneratorState::Partial {
                    steps_done: 5,
                    steps_total: 400
                },
                Some(JobState::Timeout)
            )),
            text("failed", "failed (timeout)")
        );
        let failed = GeneratorState::Failed {
            exit_code: 3,
            message: "m".into(),
        };
        assert_eq!(
            owned(g(failed.clone(), Some(JobState::Failed))),
            text("failed", "failed (exit 3)")
        );
        assert_eq!(owned(g(failed, None)), text("failed", "failed (exit 3)"));
        // the USR1 warning before the time limit: exit 75, checkpoint saved
        assert_eq!(
            owned(g(GeneratorState::Interrupted, Some(JobState::Failed))),
            text("failed", "failed (interrupted)")
        );
        assert_eq!(
            owned(g(GeneratorState::Pending, Some(JobState::Failed))),
            text("failed", "failed")
        );
        assert_eq!(
            owned(g(GeneratorState::Pending, Some(JobState::Completed))),
            text("failed", "failed (not trained)")
        );
        assert_eq!(
            owned(g(
                GeneratorState::Partial {
                    steps_done: 5,
                    steps_total: 400
                },
                None
            )),
            text("partial", "partial (5/400 steps)")
        );
        assert_eq!(g(GeneratorState::Done, Some(JobState::Cancelled)).0, "done");
        assert_eq!(
            g(GeneratorState::Running, Some(JobState::Pending)).0,
            "running"
        );
    }
}
