//! `dpwear run-cell --manifest m.json --index i`: one cell, as run by the local executor and by
//! every Slurm array task; the per-fold work itself is `pipeline::cell_folds`. It refuses a
//! cell whose id does not match its configuration, inputs and this binary's code version;
//! skips a finished cell; splits the folds between MPI ranks; makes sure the generators of its
//! folds are trained and sampled (`pipeline::generator_stage`: normally done by the generator
//! stage before; otherwise trained here under the generator folder's lock, each rank the
//! generators of its own folds); checkpoints every scored fold; stops between folds on SIGINT,
//! SIGTERM or SIGUSR1 (Slurm's warning before the time limit) with exit code 75 so that a
//! rerun resumes; and has rank 0 gather the folds and write the cell record atomically.
//!
//! Trust in what is on disk: with `--manifest-sha256` (what `dpwear run` passes) a manifest
//! whose content changed is refused (exit 7); the staged feature store must have the sha256
//! the manifest recorded (exit 7); a fold checkpoint is used only when sealed for this cell
//! and fold with a matching digest (else the fold is recomputed, with a warning); a record that
//! does not verify is moved aside (`cells/<id>.corrupt-<n>.json`) and the cell recomputed.
//! Rank 0 holds the cell's lock (`cells/<id>.lock`) while it works: a second `run-cell` of the
//! cell waits for it, then finds the cell finished.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use std::collections::BTreeMap;

use super::super::{exit, CliError};
use super::cell_inputs::{
    ensure_generator, load_real, load_synthetic_file, read_pinned_manifest, task_threads,
};
use crate::config::cell_id;
use crate::evaluation::protocol::Protocol;
use crate::features::FeatureSet;
use crate::orchestration::lock::{lock_waiting, FileLock, LockError};
use crate::orchestration::manifest::{Manifest, ManifestCell};
use crate::orchestration::ranks::{folds_of_rank, Ranks};
use crate::orchestration::records::{
    cell_state_from_files, move_corrupt_aside, now_unix, CellFailure, CellRecord, CellState,
    FoldCheckpoint, CELL_RECORD_SCHEMA_VERSION,
};
use crate::orchestration::CampaignDir;
use crate::pipeline::cell_folds::{CellEval, CellSynthetic};
use crate::pipeline::inputs;
use crate::training::eval_runner::{FoldOutcome, Next};

/// Options of `dpwear run-cell`.
#[derive(Debug, Args)]
pub struct RunCellArgs {
    /// The campaign's manifest.json.
    #[arg(long)]
    pub manifest: PathBuf,
    /// The cell's index in the manifest (the Slurm array task id plus the chunk offset).
    #[arg(long)]
    pub index: usize,
    /// libtorch threads, 1 to 256 (default: the experiment's model.threads, else all cores).
    #[arg(long, value_parser = crate::config::limits::threads)]
    pub threads: Option<usize>,
    /// Recompute a finished cell (its old record is replaced only when the new one is done).
    #[arg(long)]
    pub force: bool,
    /// Refuse (exit 7) unless the manifest file has this sha256 (pins a run to the manifest
    /// it started with; `dpwear run` passes it).
    #[arg(long, env = "DPWEAR_MANIFEST_SHA256")]
    pub manifest_sha256: Option<String>,
}

/// Runs `dpwear run-cell`; the error carries the exit code.
pub fn run(a: RunCellArgs) -> Result<(), CliError> {
    crate::interrupt::install();
    let m = read_pinned_manifest(
        &a.manifest,
        a.manifest_sha256.as_deref(),
        &format!("cell index {}", a.index),
    )?;
    let dir = CampaignDir::of_manifest(&a.manifest);
    let cell = m.cells.get(a.index).ok_or_else(|| {
        CliError::new(
            exit::INVALID_PARAMETER,
            "run the cell",
            format!(
                "index {} is outside the manifest's {} cells",
                a.index,
                m.cells.len()
            ),
        )
    })?;
    let expected = cell_id(
        &cell.config,
        &cell.inputs_sha256,
        &crate::orchestration::manifest::code_version(),
    );
    if expected != cell.id {
        return Err(CliError::new(
            exit::STALE_CELL,
            &format!("run cell {} (index {})", cell.id, a.index),
            format!(
                "its hash does not match (this binary computes {expected}: the manifest was planned by dpwear {} or edited); run `dpwear plan` again",
                m.code_version
            ),
        ));
    }
    let ranks = Ranks::from_env()
        .map_err(|e| CliError::new(exit::INVALID_PARAMETER, "join the MPI ranks", e))?;
    let record_path = dir.cell_record(&cell.id);
    // Rank 0 holds the cell's lock until it returns; the other ranks follow its decision
    // (one broadcast on every path, so that no rank waits for a rank that left).
    let lock = if ranks.rank() == 0 {
        let prepared = lock_and_check(&dir, cell, a.force);
        ranks.broadcast_flag(!matches!(prepared, Ok((_, false))));
        let (l, finished) = prepared?;
        if finished {
            crate::notice!(
                "cell {} (index {}) is already finished: {}",
                cell.id,
                a.index,
                record_path.display()
            );
            return Ok(());
        }
        Some(l)
    } else if ranks.broadcast_flag(false) {
        return Ok(());
    } else {
        None
    };
    let result = run_cell(&m, cell, &dir, &ranks, a.threads);
    if ranks.rank() == 0 {
        if let Err(e) = &result {
            let f = CellFailure::new(
                &cell.id,
                cell.index,
                e.code,
                e.message.clone(),
                e.code == exit::RESUMABLE,
            );
            if let Err(w) = crate::atomic_file::write_json(&dir.cell_failure(&cell.id), &f) {
                tracing::error!("cannot write the failure note: {w}");
            }
        }
    }
    drop(lock);
    result
}

/// Rank 0: takes the cell's lock (waiting for a holder) and reads the cell's files; moves a
/// record that does not verify aside. Returns the lock and whether the cell is finished (and
/// not to be recomputed).
fn lock_and_check(
    dir: &CampaignDir,
    cell: &ManifestCell,
    force: bool,
) -> Result<(FileLock, bool), CliError> {
    let action = format!("run cell {} (index {})", cell.id, cell.index);
    let what = format!("dpwear run-cell of cell {} (index {})", cell.id, cell.index);
    let lock = lock_waiting(&dir.cell_lock(&cell.id), &what, |holder| {
        crate::notice!(
            "cell {} (index {}) is being computed by {holder}: waiting for it",
            cell.id,
            cell.index
        )
    })
    .map_err(|e| match e {
        LockError::Interrupted { holder, .. } => CliError::new(
            exit::RESUMABLE,
            &action,
            format!("interrupted while waiting for {holder}, which computes it"),
        ),
        e => CliError::new(exit::OUTPUT_FAILED, "lock the cell", e),
    })?;
    match cell_state_from_files(dir, &cell.id) {
        CellState::Done => return Ok((lock, !force)),
        CellState::Corrupt { reason } => {
            let to = move_corrupt_aside(dir, &cell.id).map_err(|e| {
                CliError::new(
                    exit::OUTPUT_FAILED,
                    &format!(
                        "move the corrupt record {} aside",
                        dir.cell_record(&cell.id).display()
                    ),
                    e,
                )
            })?;
            crate::notice!(
                "cell {} (index {}): its record did not verify ({reason}); moved to {} and computing the cell again",
                cell.id,
                cell.index,
                to.display()
            );
        }
        _ => {}
    }
    Ok((lock, false))
}

/// The synthetic data of cell `cell` for the folds `mine` (fold = index into
/// `subjects`): a precomputed file, a shared generator's subjects, or the per-fold
/// generators' subjects of those folds (trained first when missing).
fn cell_synthetic(
    m: &Manifest,
    dir: &CampaignDir,
    cell: &ManifestCell,
    real: &FeatureSet,
    mine: &[usize],
    threads: usize,
) -> Result<CellSynthetic, CliError> {
    let c = &cell.config;
    if let Some((fs, p)) = load_synthetic_file(m, c, real)? {
        return Ok(CellSynthetic::Shared(fs, p));
    }
    if cell.generators.is_empty() {
        return Ok(CellSynthetic::None);
    }
    let read =
        |g: &crate::config::generators::CellGenerator| -> Result<(FeatureSet, String), CliError> {
            let path = ensure_generator(m, dir, g.artifact, threads)?;
            let fs = inputs::read_synthetic_features(
                &path,
                real.mode,
                c.model.head,
                c.point.synthetic_subjects,
            )?;
            Ok((fs, path.display().to_string()))
        };
    if let [g] = cell.generators.as_slice() {
        if g.test_subject.is_none() {
            let (fs, p) = read(g)?;
            return Ok(CellSynthetic::Shared(fs, p));
        }
    }
    let mut map = BTreeMap::new();
    for &f in mine {
        let subject = real.subject_ids[f];
        let g = cell
            .generators
            .iter()
            .find(|g| g.test_subject == Some(subject))
            .ok_or_else(|| {
                CliError::new(
                    exit::STALE_CELL,
                    "run the cell",
                    format!("the manifest lists no generator for the fold of test subject {subject}; run `dpwear plan` again"),
                )
            })?;
        map.insert(subject, read(g)?);
        if crate::interrupt::requested() {
            break;
        }
    }
    Ok(CellSynthetic::PerFold(map))
}

fn checkpoint_path(dir: &CampaignDir, id: &str, fold: usize) -> PathBuf {
    dir.cell_checkpoints(id)
        .join(format!("fold-{fold:03}.json"))
}

fn run_cell(
    m: &Manifest,
    cell: &ManifestCell,
    dir: &CampaignDir,
    ranks: &Ranks,
    threads: Option<usize>,
) -> Result<(), CliError> {
    let started = Instant::now();
    let c = &cell.config;
    let threads = task_threads(threads, m);
    tch::set_num_threads(threads as i32);
    let real = load_real(m, dir, c)?;
    let protocol = inputs::eval_config(c, threads).0.protocol;
    let per_fold = cell.generators.iter().any(|g| g.test_subject.is_some());
    // One fold per real subject (LOSO folds, TSTR test subjects). A whole TSTR trains one
    // model for every test subject, so rank 0 does it all; with per-fold generators every
    // TSTR fold is its own training and the ranks share them.
    let n_subjects = real.subject_ids.len();
    let mine: Vec<usize> = match protocol {
        Protocol::Loso => folds_of_rank(n_subjects, ranks.rank(), ranks.size()),
        Protocol::Tstr if per_fold => folds_of_rank(n_subjects, ranks.rank(), ranks.size()),
        Protocol::Tstr if ranks.rank() == 0 => (0..n_subjects).collect(),
        Protocol::Tstr => Vec::new(),
    };
    let synthetic = cell_synthetic(m, dir, cell, &real, &mine, threads)?;
    if crate::interrupt::requested() {
        return Err(CliError::new(
            exit::RESUMABLE,
            &format!("run cell {}", cell.id),
            "interrupted during the generator stage; the trained generators are saved: run it again to resume",
        ));
    }
    let eval = CellEval {
        config: c,
        real: &real,
        real_path: m.real.source.clone(),
        synthetic: &synthetic,
        threads,
    };
    let planned = if mine.is_empty() && per_fold {
        Vec::new()
    } else {
        eval.plan_folds()?
    };
    let n_folds = n_subjects;
    let checkpointed = protocol == Protocol::Loso || per_fold;
    let mut outcomes: Vec<FoldOutcome> = Vec::new();
    let mut todo = Vec::new();
    for &f in &mine {
        let p = checkpoint_path(dir, &cell.id, f);
        let Ok(text) = std::fs::read_to_string(&p) else {
            todo.push(f);
            continue;
        };
        if !checkpointed {
            todo.push(f);
            continue;
        }
        let checked = FoldCheckpoint::open(&text, &cell.id, f).and_then(|v| {
            let o: FoldOutcome =
                serde_json::from_value(v).map_err(|e| format!("not a fold outcome: {e}"))?;
            if o.record.fold != f || o.replicate != c.replicate || o.record.n_test != planned[f].test.len() {
                return Err(format!(
                    "it scores fold {} of replicate {} on {} windows, not fold {f} of replicate {} on {}",
                    o.record.fold,
                    o.replicate,
                    o.record.n_test,
                    c.replicate,
                    planned[f].test.len()
                ));
            }
            Ok(o)
        });
        match checked {
            Ok(o) => outcomes.push(o),
            Err(why) => {
                tracing::warn!(cell = %cell.id, fold = f, path = %p.display(), "fold checkpoint not used, the fold is recomputed: {why}");
                crate::notice!(
                    "warning: {}: not a valid checkpoint of fold {f} of cell {} ({why}); recomputing the fold",
                    p.display(),
                    cell.id
                );
                todo.push(f);
            }
        }
    }
    if !outcomes.is_empty() {
        tracing::info!(cell = %cell.id, rank = ranks.rank(), resumed = outcomes.len(), "fold checkpoints reused");
    }
    let mut write_err = None;
    let fresh = if todo.is_empty() || crate::interrupt::requested() {
        Vec::new()
    } else {
        eval.run_folds(&todo, |o| {
            let sealed = serde_json::to_value(o)
                .map_err(std::io::Error::other)
                .map(|v| FoldCheckpoint::seal(&cell.id, o.record.fold, v));
            if let Err(e) = sealed.and_then(|ck| {
                crate::atomic_file::write_json(&checkpoint_path(dir, &cell.id, o.record.fold), &ck)
            }) {
                write_err = Some(e);
                return Next::Stop;
            }
            tracing::info!(cell = %cell.id, rank = ranks.rank(), fold = o.record.fold, subject = %o.record.test_subject, macro_f1 = o.record.metrics.macro_f1, "fold scored");
            if crate::interrupt::requested() {
                Next::Stop
            } else {
                Next::Continue
            }
        })?
    };
    if let Some(e) = write_err {
        return Err(CliError::new(
            exit::OUTPUT_FAILED,
            "write a fold checkpoint",
            e,
        ));
    }
    outcomes.extend(fresh);
    let mine_bytes = serde_json::to_vec(&outcomes)
        .map_err(|e| CliError::new(exit::INTERNAL, "serialise folds", e))?;
    let gathered = ranks.gather(mine_bytes);
    let Some(parts) = gathered else {
        // Not rank 0: done once our folds are in.
        return if crate::interrupt::requested() && outcomes.len() < mine.len() {
            Err(CliError::new(
                exit::RESUMABLE,
                "finish the cell's folds",
                "interrupted; the finished folds are saved",
            ))
        } else {
            Ok(())
        };
    };
    let mut all: Vec<FoldOutcome> = Vec::with_capacity(n_folds);
    for p in parts {
        let v: Vec<FoldOutcome> = serde_json::from_slice(&p)
            .map_err(|e| CliError::new(exit::INTERNAL, "decode a rank's folds", e))?;
        all.extend(v);
    }
    if all.len() < n_folds {
        return Err(CliError::new(
            exit::RESUMABLE,
            &format!("finish cell {}", cell.id),
            format!(
                "interrupted with {} of {n_folds} folds saved; run it again to resume",
                all.len()
            ),
        ));
    }
    let eval = eval.assemble(all, started.elapsed().as_secs_f64())?;
    let mut notes = Vec::new();
    if c.point.generator_training == Some(crate::config::GeneratorTraining::Shared) {
        notes.push(crate::config::grid::SHARED_LEAK_NOTE.to_string());
    }
    if m.real.simulated {
        notes.push("SIMULATED data: the real subjects and every generator's training data come from dpwear's simulator".into());
    }
    let record = CellRecord {
        schema_version: CELL_RECORD_SCHEMA_VERSION,
        kind: "dpwear-cell".into(),
        campaign: m.campaign.clone(),
        index: cell.index,
        cell_id: cell.id.clone(),
        config: c.clone(),
        ranks: ranks.size(),
        host: crate::atomic_file::hostname(),
        finished_unix: now_unix(),
        eval,
        notes,
        generators: cell
            .generators
            .iter()
            .filter_map(|g| m.generators.get(g.artifact).map(|a| a.id.clone()))
            .collect(),
        guarantee: cell.guarantee.clone(),
        quality: super::cell_inputs::cell_quality(m, dir, cell),
    };
    let path = dir.cell_record(&cell.id);
    crate::atomic_file::write_json(&path, &record)
        .map_err(|e| CliError::new(exit::OUTPUT_FAILED, &format!("write {}", path.display()), e))?;
    let _ = std::fs::remove_file(dir.cell_failure(&cell.id));
    let _ = std::fs::remove_dir_all(dir.cells().join(&cell.id));
    let s = &record.eval.replicates[0].average;
    println!(
        "cell {} (index {}) done in {:.1} s on {} rank(s): macro-F1 {:.4}, stress F1 {:.4}",
        cell.id,
        cell.index,
        started.elapsed().as_secs_f64(),
        ranks.size(),
        s.macro_f1,
        s.positive_f1
    );
    Ok(())
}
