//! The local executor (the embedded default): runs generator trainings (`dpwear
//! run-generator`) and cells (`dpwear run-cell`) as subprocesses, at most `parallel` at a time, each cell's stdout and stderr going to its log. On an
//! interrupt it starts nothing new, forwards SIGTERM to the running cells (they stop after
//! their current fold, keep their checkpoints and exit as resumable) and waits for them, so
//! every finished cell stays intact.
//!
//! May depend on: libc (signals), the interrupt flag. Must never use tch.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::layout::CampaignDir;

/// Exit code of a cell that was interrupted and can resume (EX_TEMPFAIL).
pub const RESUMABLE_EXIT: i32 = 75;

/// What a job computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// `dpwear run-cell`.
    Cell,
    /// `dpwear run-generator` (a generator training of the generator stage).
    Generator,
}

/// A cell or generator training to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalJob {
    pub index: usize,
    pub id: String,
    pub task: Task,
}

/// How to run them.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// The dpwear binary.
    pub binary: PathBuf,
    pub manifest: PathBuf,
    pub parallel: usize,
    /// libtorch threads per cell.
    pub threads: usize,
    /// Passed through to `run-cell` (recompute finished cells).
    pub force: bool,
    /// The manifest's sha256 when the run started: `run-cell` refuses a changed manifest.
    pub manifest_sha256: Option<String>,
}

/// How one cell ended.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalOutcome {
    pub index: usize,
    pub id: String,
    /// The process's exit code (`None`: killed by a signal, or could not start).
    pub exit_code: Option<i32>,
    pub seconds: f64,
    /// Seconds from the decision to run the cell to the process running (spawn overhead).
    pub spawn_seconds: f64,
}

impl LocalOutcome {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
    pub fn resumable(&self) -> bool {
        self.exit_code == Some(RESUMABLE_EXIT)
    }
}

/// Runs `jobs` in order with bounded parallelism; `on_done` sees each outcome (from worker
/// threads, serialised by a lock). Returns the outcomes of the cells that were started.
pub fn run_cells(
    dir: &CampaignDir,
    jobs: &[LocalJob],
    opts: &LocalOptions,
    on_done: impl FnMut(&LocalOutcome) + Send,
) -> Vec<LocalOutcome> {
    let next = AtomicUsize::new(0);
    let running: Mutex<Vec<u32>> = Mutex::new(Vec::new());
    let outcomes: Mutex<Vec<LocalOutcome>> = Mutex::new(Vec::new());
    let on_done = Mutex::new(on_done);
    let workers_left = AtomicUsize::new(opts.parallel.max(1));
    let _ = std::fs::create_dir_all(dir.logs());
    std::thread::scope(|s| {
        // Forwards an interrupt to the running cells once.
        s.spawn(|| {
            let mut forwarded = false;
            while workers_left.load(Ordering::SeqCst) > 0 {
                if !forwarded && crate::interrupt::requested() {
                    for &pid in running.lock().expect("lock").iter() {
                        // SAFETY: sends a signal to a child we started and still wait for.
                        unsafe {
                            libc::kill(pid as libc::pid_t, libc::SIGTERM);
                        }
                    }
                    forwarded = true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        for _ in 0..opts.parallel.max(1) {
            s.spawn(|| {
                loop {
                    if crate::interrupt::requested() {
                        break;
                    }
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(k) else { break };
                    let outcome = run_one(dir, job, opts, &running);
                    on_done.lock().expect("lock")(&outcome);
                    outcomes.lock().expect("lock").push(outcome);
                }
                workers_left.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    let mut v = outcomes.into_inner().expect("lock");
    v.sort_by_key(|o| o.index);
    v
}

fn run_one(
    dir: &CampaignDir,
    job: &LocalJob,
    opts: &LocalOptions,
    running: &Mutex<Vec<u32>>,
) -> LocalOutcome {
    let t0 = Instant::now();
    let fail = |seconds: f64| LocalOutcome {
        index: job.index,
        id: job.id.clone(),
        exit_code: None,
        seconds,
        spawn_seconds: seconds,
    };
    let log_path = match job.task {
        Task::Cell => dir.cell_log(&job.id),
        Task::Generator => dir.generator_log(&job.id),
    };
    let log = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
    {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(cell = %job.id, "cannot open its log: {e}");
            return fail(t0.elapsed().as_secs_f64());
        }
    };
    let log2 = match log.try_clone() {
        Ok(f) => f,
        Err(_) => return fail(t0.elapsed().as_secs_f64()),
    };
    let mut cmd = Command::new(&opts.binary);
    cmd.arg(match job.task {
        Task::Cell => "run-cell",
        Task::Generator => "run-generator",
    })
    .arg("--manifest")
    .arg(&opts.manifest)
    .arg("--index")
    .arg(job.index.to_string())
    .arg("--threads")
    .arg(opts.threads.to_string())
    .stdin(Stdio::null())
    .stdout(Stdio::from(log))
    .stderr(Stdio::from(log2));
    if opts.force && job.task == Task::Cell {
        cmd.arg("--force");
    }
    if let Some(sha) = &opts.manifest_sha256 {
        cmd.arg("--manifest-sha256").arg(sha);
    }
    // A child of its own process group: Ctrl-C reaches the executor, which forwards it, so a
    // cell is never killed between writing its record and renaming it.
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(cell = %job.id, "cannot start {}: {e}", opts.binary.display());
            return fail(t0.elapsed().as_secs_f64());
        }
    };
    let spawn_seconds = t0.elapsed().as_secs_f64();
    running.lock().expect("lock").push(child.id());
    let status = child.wait();
    running.lock().expect("lock").retain(|&p| p != child.id());
    LocalOutcome {
        index: job.index,
        id: job.id.clone(),
        exit_code: status.ok().and_then(|s| s.code()),
        seconds: t0.elapsed().as_secs_f64(),
        spawn_seconds,
    }
}
