//! `dpwear run x.toml`: plan, run the generator stage (every generator training the selected
//! cells need and that is not done, one `dpwear run-generator` subprocess each, bounded by
//! `generation.parallel`), then the unfinished cells (one `dpwear run-cell` subprocess per
//! cell, bounded by `local.parallel`), then collect and print the table. Cells of a generator
//! that failed are not run (they are reported).
//! A finished cell is never recomputed unless `--force`; `--only <id>` reruns one cell;
//! `--failed` reruns only the failed, interrupted and corrupt ones (and the cells of a failed
//! or interrupted generator) (a corrupt record is moved
//! aside by `run-cell`, never deleted). Ctrl-C stops after the running cells' current folds
//! and keeps everything finished.
//!
//! The campaign is locked (`results/<c>/.lock`) from planning to the end: a second `run`,
//! `plan` or `submit` of it refuses at once and names the holder. The cells run against the
//! manifest this run wrote: each `run-cell` gets its sha256 and refuses (exit 7) a manifest
//! that changed under it.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::super::{exit, CliError};
use super::{collect_cmd, planning};
use crate::orchestration::generator_state::{generator_state, GeneratorState};
use crate::orchestration::local::{run_cells, LocalJob, LocalOptions, Task};
use crate::orchestration::manifest::file_sha256;
use crate::orchestration::{cell_state, CampaignDir, CellState};
use crate::reporting::progress::Progress;

/// Options of `dpwear run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment file.
    pub experiment: PathBuf,
    /// Folder that holds the campaign folders.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Cells at once, 1 to 1024 (default: the experiment's local.parallel).
    #[arg(long, short = 'j', value_parser = crate::config::limits::jobs)]
    pub jobs: Option<usize>,
    /// libtorch threads per cell, 1 to 256 (default: model.threads, else cores / jobs).
    #[arg(long, value_parser = crate::config::limits::threads)]
    pub threads: Option<usize>,
    /// Recompute finished cells too.
    #[arg(long)]
    pub force: bool,
    /// Run only this cell (id or index); it is recomputed even when finished.
    #[arg(long)]
    pub only: Option<String>,
    /// Run only the cells whose last attempt failed or was interrupted.
    #[arg(long, conflicts_with = "only")]
    pub failed: bool,
    /// Do not collect the tables afterwards.
    #[arg(long)]
    pub no_collect: bool,
}

/// A cell process's exit code for log lines (Display, never `Some(…)`).
fn exit_label(code: Option<i32>) -> String {
    code.map_or_else(|| "none (killed or not started)".into(), |c| c.to_string())
}

/// Runs `dpwear run`.
pub fn run(a: RunArgs) -> Result<(), CliError> {
    crate::interrupt::install();
    let (m, dir) = planning::build_manifest(&a.experiment, &a.results)?;
    planning::write_manifest(&m, &dir)?;
    let manifest_sha256 = file_sha256(&dir.manifest()).map_err(|e| {
        CliError::new(
            exit::INPUT_UNREADABLE,
            &format!("read {}", dir.manifest().display()),
            e,
        )
    })?;
    let mut jobs: Vec<LocalJob> = Vec::new();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut skipped_done = 0;
    let mut skipped_failed = 0;
    let mut running_elsewhere = 0;
    for c in &m.cells {
        if let Some(only) = &a.only {
            if &c.id != only && &c.index.to_string() != only {
                continue;
            }
        }
        let state = cell_state(&dir, &c.id);
        if let CellState::Corrupt { reason } = &state {
            crate::notice!(
                "cell {} (index {}) has a corrupt record ({reason}): it is moved aside and rerun",
                c.id,
                c.index
            );
        }
        let wanted = match (&state, a.failed) {
            // another process computes it (its run-cell holds the cell's lock)
            (CellState::Running { .. }, _) => false,
            _ if a.only.is_some() => true,
            (CellState::Done, _) => a.force,
            (
                CellState::Failed { .. }
                | CellState::Interrupted { .. }
                | CellState::Corrupt { .. },
                _,
            ) => true,
            // --failed also retries the cells that never ran because a generator they need
            // failed or was interrupted.
            (CellState::Pending { .. }, failed_only) => {
                !failed_only
                    || c.generators.iter().any(|g| {
                        matches!(
                            generator_state(&dir, &m.generators[g.artifact]),
                            GeneratorState::Failed { .. } | GeneratorState::Interrupted
                        )
                    })
            }
        };
        if wanted {
            jobs.push(LocalJob {
                index: c.index,
                id: c.id.clone(),
                task: Task::Cell,
            });
        } else if state == CellState::Done {
            skipped_done += 1;
        } else if let CellState::Running { .. } = state {
            running_elsewhere += 1;
        } else {
            skipped_failed += 1;
        }
    }
    if let Some(only) = &a.only {
        if jobs.is_empty() {
            return Err(CliError::new(
                exit::INVALID_PARAMETER,
                "select the cell",
                format!("no cell {only:?} in {}", dir.manifest().display()),
            ));
        }
    }
    let parallel = a.jobs.unwrap_or(m.experiment.local_parallel).max(1);
    let threads = a
        .threads
        .or(m.experiment.threads)
        .unwrap_or((cores / parallel).max(1));
    crate::config::limits::check_total_threads(parallel, threads)
        .map_err(|e| CliError::new(exit::INVALID_PARAMETER, "run the campaign", e))?;
    crate::notice!(
        "campaign {}: {} cell(s) to run, {} already finished{}{}; {} at a time, {} thread(s) each",
        m.campaign,
        jobs.len(),
        skipped_done,
        if skipped_failed > 0 {
            format!(", {skipped_failed} not selected")
        } else {
            String::new()
        },
        if running_elsewhere > 0 {
            format!(", {running_elsewhere} running in another process (skipped)")
        } else {
            String::new()
        },
        parallel,
        threads
    );
    let binary = std::env::current_exe()
        .map_err(|e| CliError::new(exit::INTERNAL, "find the dpwear binary", e))?;
    let started = Instant::now();
    // Stage 1: the generator trainings the selected cells need and that are not done.
    let (gen_failed, gen_interrupted) = run_generator_stage(
        &m,
        &dir,
        &jobs,
        &binary,
        &manifest_sha256,
        a.threads.or(m.experiment.threads),
        cores,
    );
    if !gen_failed.is_empty() {
        jobs.retain(|j| {
            m.cells[j.index]
                .generators
                .iter()
                .all(|g| !gen_failed.contains(&g.artifact))
        });
    }
    if gen_interrupted {
        return Err(CliError::new(
            exit::INTERRUPTED,
            "run the campaign",
            "interrupted during the generator stage; finished generators and checkpoints are kept — run again to resume",
        ));
    }
    // Stage 2: the cells.
    let opts = LocalOptions {
        binary,
        manifest: dir.manifest(),
        parallel,
        threads,
        force: a.force || a.only.is_some(),
        manifest_sha256: Some(manifest_sha256),
    };
    let mut progress = Progress::new(jobs.len() as u64, "cells");
    let outcomes = run_cells(&dir, &jobs, &opts, |o| {
        if !o.succeeded() {
            tracing::warn!(cell = %o.id, index = o.index, code = %exit_label(o.exit_code), log = %dir.cell_log(&o.id).display(), "cell did not finish");
        }
        progress.inc();
    });
    progress.finish();
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|o| !o.succeeded() && !o.resumable())
        .collect();
    let interrupted = crate::interrupt::requested() || outcomes.iter().any(|o| o.resumable());
    let spawn: f64 = outcomes.iter().map(|o| o.spawn_seconds).sum();
    crate::notice!(
        "ran {} cell(s) in {:.1} s ({} failed{}); mean spawn overhead {:.1} ms per cell",
        outcomes.len(),
        started.elapsed().as_secs_f64(),
        failed.len(),
        if interrupted { ", interrupted" } else { "" },
        1e3 * spawn / outcomes.len().max(1) as f64
    );
    for f in &failed {
        crate::notice!(
            "  failed: cell {} (index {}), exit {}; log {}",
            f.id,
            f.index,
            exit_label(f.exit_code),
            dir.cell_log(&f.id).display()
        );
    }
    if !a.no_collect && !interrupted {
        collect_cmd::collect(&dir, true)?;
    }
    if interrupted {
        return Err(CliError::new(
            exit::INTERRUPTED,
            "run the campaign",
            "interrupted; finished cells and fold checkpoints are kept — run again to resume",
        ));
    }
    if !failed.is_empty() || !gen_failed.is_empty() {
        return Err(CliError::new(
            exit::CELLS_FAILED,
            "run the campaign",
            format!(
                "{} cell(s) failed and {} generator training(s) failed (see their logs; the cells of a failed generator were not run; `dpwear run --failed` retries them)",
                failed.len(),
                gen_failed.len()
            ),
        ));
    }
    Ok(())
}

/// Runs the generator trainings that the cell `jobs` need and that are not done (never one
/// that another process is training: the cell waits for it), `generation.parallel` at a
/// time. Returns the indices of the generators that failed and whether the stage was
/// interrupted.
fn run_generator_stage(
    m: &crate::orchestration::Manifest,
    dir: &CampaignDir,
    jobs: &[LocalJob],
    binary: &std::path::Path,
    manifest_sha256: &str,
    threads: Option<usize>,
    cores: usize,
) -> (std::collections::BTreeSet<usize>, bool) {
    let mut needed = std::collections::BTreeSet::new();
    for j in jobs {
        needed.extend(m.cells[j.index].generators.iter().map(|g| g.artifact));
    }
    let mut gen_jobs = Vec::new();
    let mut done = 0;
    for &g in &needed {
        let art = &m.generators[g];
        match generator_state(dir, art) {
            GeneratorState::Done => done += 1,
            GeneratorState::Running => {}
            _ => gen_jobs.push(LocalJob {
                index: g,
                id: art.id.clone(),
                task: Task::Generator,
            }),
        }
    }
    let mut failed = std::collections::BTreeSet::new();
    if gen_jobs.is_empty() {
        return (failed, false);
    }
    let parallel = m.experiment.generation.parallel.max(1);
    let threads = threads.unwrap_or((cores / parallel).max(1));
    crate::notice!(
        "generator stage: {} training(s) to run, {done} already done; {parallel} at a time, {threads} thread(s) each",
        gen_jobs.len()
    );
    let opts = LocalOptions {
        binary: binary.to_path_buf(),
        manifest: dir.manifest(),
        parallel,
        threads,
        force: false,
        manifest_sha256: Some(manifest_sha256.to_string()),
    };
    let t = Instant::now();
    let mut progress = Progress::new(gen_jobs.len() as u64, "generators");
    let outcomes = run_cells(dir, &gen_jobs, &opts, |o| {
        if !o.succeeded() {
            tracing::warn!(generator = %o.id, index = o.index, code = %exit_label(o.exit_code), log = %dir.generator_log(&o.id).display(), "generator training did not finish");
        }
        progress.inc();
    });
    progress.finish();
    let interrupted = crate::interrupt::requested() || outcomes.iter().any(|o| o.resumable());
    for o in &outcomes {
        if !o.succeeded() && !o.resumable() {
            failed.insert(o.index);
            crate::notice!(
                "  failed: generator {} (index {}), exit {}; log {}",
                o.id,
                o.index,
                exit_label(o.exit_code),
                dir.generator_log(&o.id).display()
            );
        }
    }
    crate::notice!(
        "generator stage: {} training(s) in {:.1} s ({} failed{})",
        outcomes.len(),
        t.elapsed().as_secs_f64(),
        failed.len(),
        if interrupted { ", interrupted" } else { "" }
    );
    (failed, interrupted)
}
