//! `dpwear submit x.toml`: plan, then send the unfinished cells to Slurm as array jobs (split
//! under the site's `MaxArraySize`, throttled by `slurm.array_throttle`), each task running
//! `srun dpwear run-cell --manifest … --index $((offset + SLURM_ARRAY_TASK_ID))`, plus a
//! collect job with `--dependency=afterany:… --kill-on-invalid-dep=yes`. `--resume` sends only
//! the cells that are neither finished nor still queued or running (failed, cancelled,
//! preempted, timed out, or never submitted).

use std::path::{Path, PathBuf};

use clap::Args;

use super::super::{exit, CliError};
use super::plan_cmd;
use crate::config::experiment::SlurmSection;
use crate::orchestration::records::now_unix;
use crate::orchestration::slurm::{
    dependency_args, format_array_spec, render_array_script, render_collect_script,
    split_into_chunks, ArrayScript, CollectScript, SbatchProfile, SlurmClient, SlurmError,
    DEFAULT_MAX_ARRAY_SIZE,
};
use crate::orchestration::submissions::{is_active, ArraySubmission, Submission, Submissions};
use crate::orchestration::{cell_state, CampaignDir, CellState, Manifest};

/// Options of `dpwear submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The experiment file.
    pub experiment: PathBuf,
    /// Folder that holds the campaign folders.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Resubmit only the cells that are unfinished and not queued or running.
    #[arg(long)]
    pub resume: bool,
}

/// A Slurm failure while doing `action`: no Slurm here or an unreachable controller is a
/// setting of this machine (exit 5, one line); anything else is unexpected (exit 1).
pub fn slurm_error(action: &str, e: SlurmError) -> CliError {
    let code = match e {
        SlurmError::NotInstalled { .. }
        | SlurmError::Unreachable { .. }
        | SlurmError::Command { .. } => exit::SCHEDULER_UNAVAILABLE,
        SlurmError::WriteScript { .. } => exit::OUTPUT_FAILED,
        _ => exit::INTERNAL,
    };
    CliError::new(code, action, e)
}

/// Where submission `submission` (1-based: the ledger's length + 1) writes its array job
/// `array` (1-based) script; `plan --dry-run` names the same file.
pub fn array_script_path(dir: &CampaignDir, submission: usize, array: usize) -> PathBuf {
    dir.slurm()
        .join(format!("array-{submission}-{array}.sbatch"))
}

/// Where submission `submission` writes its collect job script.
pub fn collect_script_path(dir: &CampaignDir, submission: usize) -> PathBuf {
    dir.slurm().join(format!("collect-{submission}.sbatch"))
}

/// The number the next submission of the campaign in `dir` gets.
fn next_submission(dir: &CampaignDir) -> Result<usize, CliError> {
    let ledger = Submissions::read(&dir.submissions())
        .map_err(|e| CliError::new(exit::INPUT_MALFORMED, "read the submissions", e))?;
    Ok(ledger.submissions.len() + 1)
}

/// Default seconds of warning before the time limit.
pub const DEFAULT_SIGNAL_SECONDS: u32 = 300;

/// The site profile of the experiment's `[slurm]` table, with defaults.
pub fn profile(s: &SlurmSection) -> SbatchProfile {
    SbatchProfile {
        partition: s.partition.clone(),
        account: s.account.clone(),
        qos: s.qos.clone(),
        gres: s.gres.clone(),
        time: s.time.clone().unwrap_or_else(|| "02:00:00".into()),
        cpus_per_task: s.cpus_per_task.unwrap_or(1),
        mem: s.mem.clone(),
        ranks_per_cell: s.ranks_per_cell.unwrap_or(1),
        array_throttle: s.array_throttle,
        setup: s.setup.clone(),
        signal_seconds: s.signal_seconds.unwrap_or(DEFAULT_SIGNAL_SECONDS),
        extra_sbatch: s.extra_sbatch.clone(),
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    })
}

/// A rendered array job.
pub struct PlannedArray {
    pub offset: usize,
    pub task_ids: Vec<usize>,
    pub script: String,
}

/// The scripts for `cells` (indices) of the campaign in `dir`.
fn render_all(
    m: &Manifest,
    dir: &CampaignDir,
    cells: &[usize],
    max_array_size: usize,
) -> Result<(Vec<PlannedArray>, String), CliError> {
    let prof = profile(&m.experiment.slurm);
    let binary = std::env::current_exe()
        .map(|p| absolute(&p))
        .map_err(|e| CliError::new(exit::INTERNAL, "find the dpwear binary", e))?;
    std::fs::create_dir_all(dir.slurm().join("logs")).map_err(|e| {
        CliError::new(
            exit::OUTPUT_FAILED,
            &format!("create {}", dir.slurm().display()),
            e,
        )
    })?;
    let root = absolute(&dir.root);
    let manifest = root.join("manifest.json");
    let manifest_sha256 = crate::orchestration::manifest::file_sha256(&manifest).map_err(|e| {
        CliError::new(
            exit::INPUT_UNREADABLE,
            &format!("hash {}", manifest.display()),
            e,
        )
    })?;
    let logs = root.join("slurm/logs");
    let workdir = absolute(Path::new("."));
    let job_name = format!("dpwear-{}", m.campaign);
    let bad = |e: crate::orchestration::slurm::RenderError| {
        CliError::new(exit::INVALID_PARAMETER, "render the sbatch script", e)
    };
    let mut arrays = Vec::new();
    for chunk in split_into_chunks(cells, max_array_size) {
        let spec = format_array_spec(&chunk.task_ids, prof.array_throttle);
        let s = ArrayScript {
            job_name: &job_name,
            profile: &prof,
            binary: &binary,
            manifest: &manifest,
            manifest_sha256: &manifest_sha256,
            log_dir: &logs,
            workdir: &workdir,
            index_offset: chunk.offset,
            array: &spec,
        };
        s.validate().map_err(bad)?;
        arrays.push(PlannedArray {
            offset: chunk.offset,
            task_ids: chunk.task_ids,
            script: render_array_script(&s),
        });
    }
    let collect_name = format!("dpwear-{}-collect", m.campaign);
    let c = CollectScript {
        job_name: &collect_name,
        profile: &prof,
        binary: &binary,
        campaign_dir: &root,
        log_dir: &logs,
        workdir: &workdir,
    };
    c.validate().map_err(bad)?;
    Ok((arrays, render_collect_script(&c)))
}

fn unfinished(m: &Manifest, dir: &CampaignDir) -> Vec<usize> {
    m.cells
        .iter()
        .filter(|c| cell_state(dir, &c.id) != CellState::Done)
        .map(|c| c.index)
        .collect()
}

/// What `plan --dry-run` prints: the scripts `submit` would send now.
pub fn dry_run_text(m: &Manifest, dir: &CampaignDir) -> Result<String, CliError> {
    use std::fmt::Write;
    let cells = unfinished(m, dir);
    let max = match SlurmClient::detect() {
        Ok(c) => c.max_array_size(),
        Err(e) => {
            tracing::info!("{e}; assuming MaxArraySize {DEFAULT_MAX_ARRAY_SIZE}");
            DEFAULT_MAX_ARRAY_SIZE
        }
    };
    let n = next_submission(dir)?;
    let (arrays, collect) = render_all(m, dir, &cells, max)?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n# dry run: {} unfinished cell(s) → {} array job(s) (MaxArraySize {max}) + 1 collect job; nothing submitted",
        cells.len(),
        arrays.len()
    );
    for (i, a) in arrays.iter().enumerate() {
        let _ = writeln!(
            s,
            "\n# ---- sbatch --parsable {}  (array job {} of {}: cells {}…{})",
            array_script_path(dir, n, i + 1).display(),
            i + 1,
            arrays.len(),
            a.offset + a.task_ids.first().copied().unwrap_or(0),
            a.offset + a.task_ids.last().copied().unwrap_or(0)
        );
        s.push_str(&a.script);
    }
    let _ = writeln!(
        s,
        "\n# ---- sbatch --parsable --dependency=afterany:<array job ids> --kill-on-invalid-dep=yes {}",
        collect_script_path(dir, n).display()
    );
    s.push_str(&collect);
    Ok(s)
}

/// Runs `dpwear submit`.
pub fn run(a: SubmitArgs) -> Result<(), CliError> {
    let client = SlurmClient::detect().map_err(|e| slurm_error("submit", e))?;
    // one question to slurmctld before anything is staged: an unreachable controller is one
    // line, not a dump of every command's stderr
    let max = client
        .site_max_array_size()
        .map_err(|e| slurm_error("submit", e))?;
    let (m, dir) = plan_cmd::build_manifest(&a.experiment, &a.results)?;
    plan_cmd::write_manifest(&m, &dir)?;
    let mut ledger = Submissions::read(&dir.submissions())
        .map_err(|e| CliError::new(exit::INPUT_MALFORMED, "read the submissions", e))?;
    let states = client
        .query(&ledger.array_job_ids())
        .map_err(|e| slurm_error("ask Slurm", e))?;
    let by_cell = ledger.cell_states(&states);
    let active: Vec<usize> = by_cell
        .iter()
        .filter(|(_, s)| s.as_ref().is_some_and(|t| is_active(&t.state)))
        .map(|(&i, _)| i)
        .collect();
    if !a.resume && !active.is_empty() {
        return Err(CliError::new(
            exit::INVALID_PARAMETER,
            "submit",
            format!(
                "{} cell(s) of campaign {} are still queued or running; see `dpwear status`, or `dpwear submit --resume` to send only the others",
                active.len(),
                m.campaign
            ),
        ));
    }
    let cells: Vec<usize> = unfinished(&m, &dir)
        .into_iter()
        .filter(|i| !active.contains(i))
        .collect();
    if cells.is_empty() {
        crate::notice!(
            "campaign {}: nothing to submit ({} finished, {} queued or running)",
            m.campaign,
            m.cells.len() - unfinished(&m, &dir).len(),
            active.len()
        );
        return Ok(());
    }
    let (arrays, collect) = render_all(&m, &dir, &cells, max)?;
    let n = ledger.submissions.len() + 1;
    let mut submitted = Vec::new();
    for (i, arr) in arrays.iter().enumerate() {
        let path = array_script_path(&dir, n, i + 1);
        let job_id = client
            .submit(&path, &arr.script, &[])
            .map_err(|e| CliError::new(exit::OUTPUT_FAILED, "submit the array job", e))?;
        submitted.push(ArraySubmission {
            job_id,
            offset: arr.offset,
            task_ids: arr.task_ids.clone(),
            script: path.display().to_string(),
        });
        // recorded at once: a later failure must not lose track of what is queued
        let mut l = ledger.clone();
        l.submissions.push(Submission {
            at_unix: now_unix(),
            arrays: submitted.clone(),
            collect_job_id: None,
            resume: a.resume,
        });
        l.write(&dir.submissions())
            .map_err(|e| CliError::new(exit::OUTPUT_FAILED, "write the submissions", e))?;
    }
    let ids: Vec<u64> = submitted.iter().map(|s| s.job_id).collect();
    let collect_path = collect_script_path(&dir, n);
    let collect_id = client
        .submit(&collect_path, &collect, &dependency_args(&ids))
        .map_err(|e| CliError::new(exit::OUTPUT_FAILED, "submit the collect job", e))?;
    ledger.submissions.push(Submission {
        at_unix: now_unix(),
        arrays: submitted,
        collect_job_id: Some(collect_id),
        resume: a.resume,
    });
    ledger
        .write(&dir.submissions())
        .map_err(|e| CliError::new(exit::OUTPUT_FAILED, "write the submissions", e))?;
    println!(
        "submitted {} cell(s) of campaign {} as {} array job(s) ({}) and collect job {collect_id}",
        cells.len(),
        m.campaign,
        ids.len(),
        ids.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
