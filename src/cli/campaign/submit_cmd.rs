//! `dpwear submit x.toml`: plan, then send the unfinished cells to Slurm in two stages:
//! 1. one generator array job (split under the site's `MaxArraySize`, throttled by
//!    `slurm.array_throttle`, like the cells) over the generator trainings those cells need and
//!    that are not trained yet, each task running `dpwear run-generator --manifest … --index
//!    $((offset + SLURM_ARRAY_TASK_ID))` as one process;
//! 2. the cell array jobs, each task running `srun dpwear run-cell --manifest … --index
//!    $((offset + SLURM_ARRAY_TASK_ID))`; a cell array whose cells need a generator of this
//!    submission waits for it with `--dependency=afterok:… --kill-on-invalid-dep=yes` (a
//!    failed or cancelled generator task removes it instead of leaving it pending forever);
//!
//! plus a collect job with `--dependency=afterany:<every array of the submission>
//! --kill-on-invalid-dep=yes`. `--resume` sends only the generators that are neither trained
//! nor still queued or running and the cells that are neither finished nor still queued or
//! running (failed, cancelled, preempted, timed out, removed with a failed generator, or never
//! submitted); a resubmitted cell array waits for the generators it needs that this submission
//! sends and for those still queued from an earlier one (`afterok:<job>_<task>`).

use std::path::{Path, PathBuf};

use clap::Args;

use super::super::{exit, CliError};
use super::planning;
use std::collections::{BTreeMap, BTreeSet};

use crate::config::experiment::SlurmSection;
use crate::orchestration::generator_state::{generator_state, GeneratorState};
use crate::orchestration::records::now_unix;
use crate::orchestration::slurm::{
    afterok_dependency_args, dependency_args, format_array_spec, plan_stages, render_array_script,
    render_collect_script, render_generator_array_script, ArrayChunk, ArrayScript, CollectScript,
    GeneratorArrayScript, GeneratorDependency, GeneratorSlot, SbatchProfile, SlurmClient,
    SlurmError, StagePlan, TaskState, DEFAULT_MAX_ARRAY_SIZE,
};
use crate::orchestration::submissions::{
    is_dead_dependency, is_live, ArraySubmission, Submission, Submissions,
};
use crate::orchestration::{cell_state, CampaignDir, CellState, Manifest};

/// Options of `dpwear submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The experiment file.
    pub experiment: PathBuf,
    /// Folder that holds the campaign folders.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Resubmit only the cells (and generator trainings) that are unfinished and not queued or
    /// running.
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

/// Where submission `submission` writes its generator array job `array` (1-based) script.
pub fn generator_script_path(dir: &CampaignDir, submission: usize, array: usize) -> PathBuf {
    dir.slurm()
        .join(format!("generators-{submission}-{array}.sbatch"))
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

/// A rendered array job (cells or generators).
pub struct PlannedArray {
    pub offset: usize,
    pub task_ids: Vec<usize>,
    pub script: String,
    /// What a cell array waits for (empty for generator arrays).
    pub depends_on: Vec<GeneratorDependency>,
}

/// The scripts of one submission.
pub struct Rendered {
    pub generators: Vec<PlannedArray>,
    pub cells: Vec<PlannedArray>,
    pub collect: String,
}

/// The scripts for the stage plan `plan` of the campaign in `dir`.
fn render_all(m: &Manifest, dir: &CampaignDir, plan: &StagePlan) -> Result<Rendered, CliError> {
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
    let mut generators = Vec::new();
    let gen_name = format!("dpwear-{}-generators", m.campaign);
    for chunk in &plan.generator_chunks {
        let spec = format_array_spec(&chunk.task_ids, prof.array_throttle);
        let s = GeneratorArrayScript {
            job_name: &gen_name,
            profile: &prof,
            binary: &binary,
            manifest: &manifest,
            manifest_sha256: &manifest_sha256,
            log_dir: &logs,
            workdir: &workdir,
            index_offset: chunk.offset,
            array: &spec,
        };
        s.validate_generator().map_err(bad)?;
        generators.push(PlannedArray {
            offset: chunk.offset,
            task_ids: chunk.task_ids.clone(),
            script: render_generator_array_script(&s),
            depends_on: Vec::new(),
        });
    }
    let mut cells = Vec::new();
    for a in &plan.cell_arrays {
        let ArrayChunk { offset, task_ids } = &a.chunk;
        let spec = format_array_spec(task_ids, prof.array_throttle);
        let s = ArrayScript {
            job_name: &job_name,
            profile: &prof,
            binary: &binary,
            manifest: &manifest,
            manifest_sha256: &manifest_sha256,
            log_dir: &logs,
            workdir: &workdir,
            index_offset: *offset,
            array: &spec,
        };
        s.validate().map_err(bad)?;
        cells.push(PlannedArray {
            offset: *offset,
            task_ids: task_ids.clone(),
            script: render_array_script(&s),
            depends_on: a.depends_on.clone(),
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
    Ok(Rendered {
        generators,
        cells,
        collect: render_collect_script(&c),
    })
}

fn unfinished(m: &Manifest, dir: &CampaignDir) -> Vec<usize> {
    m.cells
        .iter()
        .filter(|c| cell_state(dir, &c.id) != CellState::Done)
        .map(|c| c.index)
        .collect()
}

/// The generator indices each cell needs, by cell index.
fn cell_generators(m: &Manifest) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); m.cells.len()];
    for c in &m.cells {
        if let Some(slot) = out.get_mut(c.index) {
            *slot = c.generators.iter().map(|g| g.artifact).collect();
        }
    }
    out
}

/// Where generator `g` stands for a submission: trained → ready; queued or running in an
/// earlier generator array (`sched`, live tasks only) → wait for that task; trained right now
/// by a process outside Slurm's view (its lock is held) → ready (the cells wait for the
/// lock); otherwise → send it.
fn generator_slot(
    m: &Manifest,
    dir: &CampaignDir,
    g: usize,
    sched: &BTreeMap<usize, Option<TaskState>>,
) -> GeneratorSlot {
    let Some(art) = m.generators.get(g) else {
        return GeneratorSlot::Ready;
    };
    let files = generator_state(dir, art);
    if files == GeneratorState::Done {
        return GeneratorSlot::Ready;
    }
    if let Some(t) = sched
        .get(&g)
        .and_then(|t| t.as_ref())
        .filter(|t| is_live(t))
    {
        if let (Some(array_job_id), Some(task_id)) = (t.array_job_id, t.array_task_id) {
            return GeneratorSlot::Queued {
                array_job_id,
                task_id,
            };
        }
    }
    if files == GeneratorState::Running {
        return GeneratorSlot::Ready;
    }
    GeneratorSlot::Submit
}

/// The stage plan for `cells`, with generator states from the files and `sched`.
fn stage_plan(
    m: &Manifest,
    dir: &CampaignDir,
    cells: &[usize],
    sched: &BTreeMap<usize, Option<TaskState>>,
    max_array_size: usize,
) -> StagePlan {
    let gens = cell_generators(m);
    let needed: BTreeSet<usize> = cells
        .iter()
        .filter_map(|&c| gens.get(c))
        .flatten()
        .copied()
        .collect();
    let slots: BTreeMap<usize, GeneratorSlot> = needed
        .into_iter()
        .map(|g| (g, generator_slot(m, dir, g, sched)))
        .collect();
    plan_stages(
        cells,
        |c| gens.get(c).map(Vec::as_slice).unwrap_or(&[]),
        |g| slots.get(&g).copied().unwrap_or(GeneratorSlot::Ready),
        max_array_size,
    )
}

/// The first and last index of an array job's tasks.
fn span(a: &PlannedArray) -> (usize, usize) {
    (
        a.offset + a.task_ids.first().copied().unwrap_or(0),
        a.offset + a.task_ids.last().copied().unwrap_or(0),
    )
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
    let plan = stage_plan(m, dir, &cells, &BTreeMap::new(), max);
    let r = render_all(m, dir, &plan)?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n# dry run: {} generator training(s) → {} generator array job(s), {} unfinished cell(s) → {} cell array job(s) (MaxArraySize {max}) + 1 collect job; nothing submitted",
        plan.generators().len(),
        r.generators.len(),
        cells.len(),
        r.cells.len()
    );
    for (i, a) in r.generators.iter().enumerate() {
        let (first, last) = span(a);
        let _ = writeln!(
            s,
            "\n# ---- sbatch --parsable {}  (generator array job {} of {}: generators {first}…{last})",
            generator_script_path(dir, n, i + 1).display(),
            i + 1,
            r.generators.len(),
        );
        s.push_str(&a.script);
    }
    for (i, a) in r.cells.iter().enumerate() {
        let (first, last) = span(a);
        let deps = if a.depends_on.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = a
                .depends_on
                .iter()
                .map(|d| match d {
                    GeneratorDependency::NewArray(k) => {
                        format!("<generator array job {}>", k + 1)
                    }
                    GeneratorDependency::Queued {
                        array_job_id,
                        task_id,
                    } => format!("{array_job_id}_{task_id}"),
                })
                .collect();
            format!(
                "--dependency=afterok:{} --kill-on-invalid-dep=yes ",
                names.join(":")
            )
        };
        let _ = writeln!(
            s,
            "\n# ---- sbatch --parsable {deps}{}  (array job {} of {}: cells {first}…{last})",
            array_script_path(dir, n, i + 1).display(),
            i + 1,
            r.cells.len(),
        );
        s.push_str(&a.script);
    }
    let _ = writeln!(
        s,
        "\n# ---- sbatch --parsable --dependency=afterany:<array job ids> --kill-on-invalid-dep=yes {}",
        collect_script_path(dir, n).display()
    );
    s.push_str(&r.collect);
    Ok(s)
}

fn join_ids(ids: &[u64]) -> String {
    ids.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `dpwear submit`.
pub fn run(a: SubmitArgs) -> Result<(), CliError> {
    let client = SlurmClient::detect().map_err(|e| slurm_error("submit", e))?;
    // one question to slurmctld before anything is staged: an unreachable controller is one
    // line, not a dump of every command's stderr
    let max = client
        .site_max_array_size()
        .map_err(|e| slurm_error("submit", e))?;
    let (m, dir) = planning::build_manifest(&a.experiment, &a.results)?;
    planning::write_manifest(&m, &dir)?;
    let mut ledger = Submissions::read(&dir.submissions())
        .map_err(|e| CliError::new(exit::INPUT_MALFORMED, "read the submissions", e))?;
    let states = client
        .query(&ledger.array_job_ids())
        .map_err(|e| slurm_error("ask Slurm", e))?;
    let by_cell = ledger.cell_states(&states);
    let by_gen = ledger.generator_states(&states);
    let live = |m: &BTreeMap<usize, Option<TaskState>>| -> BTreeSet<usize> {
        m.iter()
            .filter(|(_, s)| s.as_ref().is_some_and(is_live))
            .map(|(&i, _)| i)
            .collect()
    };
    let active = live(&by_cell);
    let active_gens: BTreeSet<usize> = live(&by_gen)
        .into_iter()
        .filter(|&g| {
            m.generators
                .get(g)
                .is_some_and(|art| generator_state(&dir, art) != GeneratorState::Done)
        })
        .collect();
    if !a.resume && (!active.is_empty() || !active_gens.is_empty()) {
        return Err(CliError::new(
            exit::INVALID_PARAMETER,
            "submit",
            format!(
                "{} cell(s) and {} generator training(s) of campaign {} are still queued or running; see `dpwear status`, or `dpwear submit --resume` to send only the others",
                active.len(),
                active_gens.len(),
                m.campaign
            ),
        ));
    }
    // cell arrays that wait for a generator that failed: Slurm removes them at its next pass
    // (--kill-on-invalid-dep); remove them now, so that their cells can be sent again
    let dead: BTreeSet<u64> = by_cell
        .values()
        .flatten()
        .filter(|t| is_dead_dependency(t))
        .filter_map(|t| t.array_job_id)
        .collect();
    for id in &dead {
        client
            .cancel(*id)
            .map_err(|e| slurm_error("cancel a cell array whose generator failed", e))?;
        crate::notice!("cancelled cell array job {id}: a generator it waited for did not finish");
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
    let plan = stage_plan(&m, &dir, &cells, &by_gen, max);
    let r = render_all(&m, &dir, &plan)?;
    let n = ledger.submissions.len() + 1;
    let mut sub = Submission {
        at_unix: now_unix(),
        generator_arrays: Vec::new(),
        arrays: Vec::new(),
        collect_job_id: None,
        resume: a.resume,
    };
    // recorded after every sbatch: a later failure must not lose track of what is queued
    let record = |sub: &Submission| -> Result<(), CliError> {
        let mut l = ledger.clone();
        l.submissions.push(sub.clone());
        l.write(&dir.submissions())
            .map_err(|e| CliError::new(exit::OUTPUT_FAILED, "write the submissions", e))
    };
    for (i, arr) in r.generators.iter().enumerate() {
        let path = generator_script_path(&dir, n, i + 1);
        let job_id = client
            .submit(&path, &arr.script, &[])
            .map_err(|e| CliError::new(exit::OUTPUT_FAILED, "submit the generator array job", e))?;
        sub.generator_arrays.push(ArraySubmission {
            job_id,
            offset: arr.offset,
            task_ids: arr.task_ids.clone(),
            script: path.display().to_string(),
            depends_on: Vec::new(),
        });
        record(&sub)?;
    }
    let gen_ids: Vec<u64> = sub.generator_arrays.iter().map(|s| s.job_id).collect();
    for (i, arr) in r.cells.iter().enumerate() {
        let path = array_script_path(&dir, n, i + 1);
        let targets: Vec<_> = arr
            .depends_on
            .iter()
            .filter_map(|d| d.resolve(&gen_ids))
            .collect();
        let job_id = client
            .submit(&path, &arr.script, &afterok_dependency_args(&targets))
            .map_err(|e| CliError::new(exit::OUTPUT_FAILED, "submit the array job", e))?;
        let mut depends_on: Vec<String> = targets.iter().map(ToString::to_string).collect();
        depends_on.sort();
        sub.arrays.push(ArraySubmission {
            job_id,
            offset: arr.offset,
            task_ids: arr.task_ids.clone(),
            script: path.display().to_string(),
            depends_on,
        });
        record(&sub)?;
    }
    let cell_ids: Vec<u64> = sub.arrays.iter().map(|s| s.job_id).collect();
    let all_ids: Vec<u64> = gen_ids.iter().chain(&cell_ids).copied().collect();
    let collect_path = collect_script_path(&dir, n);
    let collect_id = client
        .submit(&collect_path, &r.collect, &dependency_args(&all_ids))
        .map_err(|e| CliError::new(exit::OUTPUT_FAILED, "submit the collect job", e))?;
    sub.collect_job_id = Some(collect_id);
    ledger.submissions.push(sub);
    ledger
        .write(&dir.submissions())
        .map_err(|e| CliError::new(exit::OUTPUT_FAILED, "write the submissions", e))?;
    let generators = if gen_ids.is_empty() {
        String::new()
    } else {
        format!(
            " after {} generator training(s) in {} generator array job(s) ({})",
            plan.generators().len(),
            gen_ids.len(),
            join_ids(&gen_ids)
        )
    };
    println!(
        "submitted {} cell(s) of campaign {} as {} array job(s) ({}){generators}, and collect job {collect_id}",
        cells.len(),
        m.campaign,
        cell_ids.len(),
        join_ids(&cell_ids),
    );
    Ok(())
}
