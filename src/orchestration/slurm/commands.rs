//! The one file that runs Slurm commands (`sbatch`, `squeue`, `scontrol`, `sacct`,
//! `scancel`). Everything it reads goes through the pure parsers in [`super::parse`].
//!
//! Behaviour of Slurm 22.05.8 this relies on (see `tests/fixtures/slurm/captured/`):
//! - `squeue -j` and `scontrol show job` fail with "Invalid job id specified" once slurmctld
//!   has forgotten every listed job (after `MinJobAge`); that is an empty answer, not an error.
//! - `sacct` prints "Slurm accounting storage is disabled" on stderr and exits 1 on sites
//!   without slurmdbd; that source is then skipped.
//! - `scancel` of an unknown job id prints nothing and exits 0.
//!
//! Commands are looked up on `PATH`, or in one directory ([`SlurmClient::with_bin_dir`]), which
//! is how tests put fake commands in place.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::parse::{
    merge_task_states, parse_jobcomp, parse_jobcomp_location, parse_max_array_size, parse_sacct,
    parse_sbatch_parsable, parse_scontrol_jobs, parse_squeue, ParseError, Parsed, TaskState,
    SACCT_FORMAT, SQUEUE_FORMAT,
};
use super::render::shell_quote;

/// `MaxArraySize` when the site's cannot be read (Slurm's default).
pub const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// A Slurm command that could not be run or failed. Messages read after "failed to …".
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("find {program} on PATH (is this a Slurm login node?)")]
    NotInstalled { program: String },
    #[error("run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// The command ran but could not reach slurmctld (no configuration source, DNS, refused
    /// connection); `reason` is the one line that says why (the raw output is logged at debug).
    #[error("run `{command}`: Slurm is not reachable (the controller cannot be contacted; run dpwear on a Slurm login node, or `dpwear run` to run the cells here): {reason}")]
    Unreachable { command: String, reason: String },
    /// `stderr` is the command's error output on one line (lines joined by " | ").
    #[error("run `{command}`: {status}: {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("write the batch script {}: {source}", path.display())]
    WriteScript {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("submit with `{command}`: {source}")]
    Submit {
        command: String,
        #[source]
        source: ParseError,
    },
}

/// What a finished command printed.
struct Output {
    command: String,
    success: bool,
    status: String,
    stdout: String,
    stderr: String,
}

/// Phrases with which Slurm 22.05's client commands say that slurmctld cannot be reached.
const UNREACHABLE_MARKERS: [&str; 6] = [
    "Could not establish a configuration source",
    "Unable to contact slurm controller",
    "resolve_ctls_from_dns_srv",
    "Unable to establish controller machine",
    "Connection refused",
    "Socket timed out",
];

/// The one-line reason when `stderr` says that slurmctld cannot be reached: its last
/// `fatal:`/`error:` line without the program prefix.
pub fn unreachable_reason(stderr: &str) -> Option<String> {
    if !UNREACHABLE_MARKERS.iter().any(|m| stderr.contains(m)) {
        return None;
    }
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let pick = lines
        .iter()
        .rev()
        .find(|l| l.contains("fatal:"))
        .or_else(|| lines.last())
        .copied()
        .unwrap_or("no answer");
    let reason = pick
        .split_once("fatal:")
        .or_else(|| pick.split_once("error:"))
        .map(|(_, r)| r.trim())
        .unwrap_or(pick);
    Some(reason.to_string())
}

/// A command's error output on one line.
fn one_line(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

impl Output {
    fn into_error(self) -> SlurmError {
        tracing::debug!(command = %self.command, status = %self.status, stderr = %self.stderr.trim(), "Slurm command failed");
        if let Some(reason) = unreachable_reason(&self.stderr) {
            return SlurmError::Unreachable {
                command: self.command,
                reason,
            };
        }
        SlurmError::Command {
            command: self.command,
            status: self.status,
            stderr: one_line(&self.stderr),
        }
    }
}

/// Runs Slurm's commands on this machine.
#[derive(Clone, Debug, Default)]
pub struct SlurmClient {
    bin_dir: Option<PathBuf>,
    jobcomp_file: Option<PathBuf>,
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

fn log_skipped(command: &str, parsed: &Parsed) {
    for s in &parsed.skipped {
        tracing::warn!(
            command,
            line_number = s.line_number,
            line = %s.line,
            reason = %s.reason,
            "skipped a line of Slurm output"
        );
    }
}

fn is_invalid_job_id(out: &Output) -> bool {
    out.stderr.contains("Invalid job id specified")
}

impl SlurmClient {
    /// A client for the Slurm on `PATH`; fails when there is no `sbatch`.
    pub fn detect() -> Result<Self, SlurmError> {
        find_on_path("sbatch").ok_or_else(|| SlurmError::NotInstalled {
            program: "sbatch".into(),
        })?;
        Ok(SlurmClient::default())
    }

    /// A client that runs the commands in `dir` (fake commands in tests, or a site whose Slurm
    /// is not on PATH).
    pub fn with_bin_dir(dir: impl Into<PathBuf>) -> Self {
        SlurmClient {
            bin_dir: Some(dir.into()),
            jobcomp_file: None,
        }
    }

    /// Also read task states from this `jobcomp/filetxt` file in [`SlurmClient::query`]
    /// (see [`SlurmClient::discover_jobcomp_file`]).
    pub fn with_jobcomp_file(mut self, path: Option<PathBuf>) -> Self {
        self.jobcomp_file = path;
        self
    }

    /// The job completion file in use, if any.
    pub fn jobcomp_file(&self) -> Option<&Path> {
        self.jobcomp_file.as_deref()
    }

    fn program(&self, name: &str) -> PathBuf {
        match &self.bin_dir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        }
    }

    fn run(&self, name: &str, args: &[String]) -> Result<Output, SlurmError> {
        let program = self.program(name);
        let command = std::iter::once(name.to_string())
            .chain(args.iter().map(|a| shell_quote(a)))
            .collect::<Vec<_>>()
            .join(" ");
        tracing::debug!(%command, "running");
        let out = Command::new(&program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| SlurmError::Spawn {
                command: command.clone(),
                source,
            })?;
        Ok(Output {
            command,
            success: out.status.success(),
            status: out.status.to_string(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Writes `script_text` to `script_path` (atomically: a temporary file, then a rename; the
    /// file stays there, next to the logs, for the record) and submits it with
    /// `sbatch --parsable <extra_args> <script_path>`. Options in `extra_args` (e.g.
    /// [`super::render::dependency_args`]) override the script's `#SBATCH` lines. Returns the
    /// job id.
    pub fn submit(
        &self,
        script_path: &Path,
        script_text: &str,
        extra_args: &[String],
    ) -> Result<u64, SlurmError> {
        crate::atomic_file::write(script_path, script_text.as_bytes()).map_err(|source| {
            SlurmError::WriteScript {
                path: script_path.to_path_buf(),
                source,
            }
        })?;
        let mut args = vec!["--parsable".to_string()];
        args.extend(extra_args.iter().cloned());
        args.push(script_path.to_string_lossy().into_owned());
        let out = self.run("sbatch", &args)?;
        if !out.success {
            return Err(out.into_error());
        }
        if !out.stderr.trim().is_empty() {
            tracing::warn!(command = %out.command, stderr = %out.stderr.trim(), "sbatch printed warnings");
        }
        parse_sbatch_parsable(&out.stdout).map_err(|source| SlurmError::Submit {
            command: out.command,
            source,
        })
    }

    /// `scontrol show config`, verbatim.
    pub fn show_config(&self) -> Result<String, SlurmError> {
        let out = self.run("scontrol", &["show".into(), "config".into()])?;
        if !out.success {
            return Err(out.into_error());
        }
        Ok(out.stdout)
    }

    /// The site's `MaxArraySize` (array task ids must stay below it), or
    /// [`DEFAULT_MAX_ARRAY_SIZE`] when the configuration has none; an error when
    /// `scontrol show config` fails (e.g. [`SlurmError::Unreachable`]).
    pub fn site_max_array_size(&self) -> Result<usize, SlurmError> {
        let cfg = self.show_config()?;
        Ok(parse_max_array_size(&cfg).unwrap_or_else(|| {
            tracing::warn!(
                "no MaxArraySize in scontrol show config; assuming {DEFAULT_MAX_ARRAY_SIZE}"
            );
            DEFAULT_MAX_ARRAY_SIZE
        }))
    }

    /// Like [`SlurmClient::site_max_array_size`], but a failure is one warning line (the raw
    /// output is logged at debug level) and gives [`DEFAULT_MAX_ARRAY_SIZE`].
    pub fn max_array_size(&self) -> usize {
        self.site_max_array_size().unwrap_or_else(|e| {
            tracing::warn!("cannot read MaxArraySize, assuming {DEFAULT_MAX_ARRAY_SIZE}: {e}");
            DEFAULT_MAX_ARRAY_SIZE
        })
    }

    /// The site's job completion file, when it uses `jobcomp/filetxt` and this machine can read
    /// the file (it is written on the slurmctld host).
    pub fn discover_jobcomp_file(&self) -> Option<PathBuf> {
        let path = parse_jobcomp_location(&self.show_config().ok()?)?;
        std::fs::metadata(&path)
            .is_ok_and(|m| m.is_file())
            .then_some(path)
    }

    /// What Slurm knows about `job_ids` (array job ids or plain job ids), one record per array
    /// task or plain job, merged from (in this order of authority)
    /// 1. slurmctld: `squeue -h -r -t all` and `scontrol -o show job`, which know pending,
    ///    running and recently finished jobs (for `MinJobAge`);
    /// 2. `sacct`, when the site has accounting storage;
    /// 3. the jobcomp file, when one is set.
    ///
    /// See [`merge_task_states`] for how they are combined. An error from slurmctld is an
    /// error (a partial picture would make pending tasks look lost); sacct and the jobcomp
    /// file only add, and their failures are logged and skipped. A job no source knows is
    /// absent from the result.
    pub fn query(&self, job_ids: &[u64]) -> Result<Vec<TaskState>, SlurmError> {
        if job_ids.is_empty() {
            return Ok(Vec::new());
        }
        let id_list = job_ids
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",");

        let mut live = Vec::new();
        let out = self.run(
            "squeue",
            &[
                "-h".into(),
                "-r".into(),
                "-t".into(),
                "all".into(),
                "-o".into(),
                SQUEUE_FORMAT.into(),
                "-j".into(),
                id_list.clone(),
            ],
        )?;
        if out.success {
            let parsed = parse_squeue(&out.stdout);
            log_skipped(&out.command, &parsed);
            live.extend(parsed.tasks);
        } else if !is_invalid_job_id(&out) {
            return Err(out.into_error());
        }
        for id in job_ids {
            let out = self.run(
                "scontrol",
                &["-o".into(), "show".into(), "job".into(), id.to_string()],
            )?;
            if out.success {
                let parsed = parse_scontrol_jobs(&out.stdout);
                log_skipped(&out.command, &parsed);
                live.extend(parsed.tasks);
            } else if !is_invalid_job_id(&out) {
                return Err(out.into_error());
            }
        }

        let mut sacct = Vec::new();
        match self.run(
            "sacct",
            &[
                "-X".into(),
                "-n".into(),
                "-P".into(),
                format!("--format={SACCT_FORMAT}"),
                "-j".into(),
                id_list,
            ],
        ) {
            Ok(out) if out.stderr.contains("accounting storage is disabled") => {
                tracing::debug!("sacct: accounting storage is disabled");
            }
            Ok(out) if out.success => {
                let parsed = parse_sacct(&out.stdout);
                log_skipped(&out.command, &parsed);
                sacct = parsed.tasks;
            }
            Ok(out) => tracing::warn!(error = %out.into_error(), "skipping sacct"),
            Err(e) => tracing::warn!(error = %e, "skipping sacct"),
        }

        let mut jobcomp = Vec::new();
        if let Some(path) = &self.jobcomp_file {
            match std::fs::read(path) {
                Ok(bytes) => {
                    let parsed = parse_jobcomp(&String::from_utf8_lossy(&bytes));
                    log_skipped(&path.display().to_string(), &parsed);
                    jobcomp = parsed.tasks;
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping the jobcomp file")
                }
            }
        }

        let sources: Vec<Vec<TaskState>> = [live, sacct, jobcomp]
            .into_iter()
            .map(|s| s.into_iter().filter(|t| t.belongs_to(job_ids)).collect())
            .collect();
        Ok(merge_task_states(&sources))
    }

    /// `scancel <job_id>` (for an array job id: every task). Cancelling a job that has ended
    /// or that Slurm does not know succeeds silently (scancel exits 0).
    pub fn cancel(&self, job_id: u64) -> Result<(), SlurmError> {
        let out = self.run("scancel", &[job_id.to_string()])?;
        if !out.success {
            return Err(out.into_error());
        }
        Ok(())
    }
}

/// The integration tests' fake-command writer, shared with the tests below.
#[cfg(all(test, unix))]
#[path = "../../../tests/common/fake_command.rs"]
mod fake_command;

#[cfg(all(test, unix))]
mod tests {
    use super::super::parse::JobState;
    use super::*;

    fn captured(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/slurm/captured")
            .join(name)
    }

    /// Writes an executable shell script `name` into `dir` (see [`super::fake_command`]).
    fn fake(dir: &Path, name: &str, body: &str) {
        super::fake_command::write_fake_command(dir, name, body);
    }

    /// The old way (write + chmod from this process) fails this under fork pressure with
    /// ETXTBSY within a few hundred fakes (measured: at the 66th); [`fake`] must not.
    #[test]
    fn fakes_run_while_other_threads_fork() {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let forkers: Vec<_> = (0..4)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let _ = Command::new("/bin/true").status();
                    }
                })
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let mut result = Ok(());
        for i in 0..300 {
            let name = format!("fake{i}");
            fake(dir.path(), &name, "exit 0");
            if let Err(e) = Command::new(dir.path().join(&name)).status() {
                result = Err(format!("exec of fake {i}: {e}"));
                break;
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for f in forkers {
            f.join().unwrap();
        }
        result.unwrap();
    }

    /// Fake squeue/scontrol/sacct that print the "final" capture (scontrol only the records of
    /// the asked id, like the real one).
    fn fake_slurm(dir: &Path, with_sacct: bool) {
        fake(
            dir,
            "squeue",
            &format!("cat '{}'", captured("squeue_final.txt").display()),
        );
        fake(
            dir,
            "scontrol",
            &format!(
                "id=\"$4\"; grep -E \"^JobId=$id |ArrayJobId=$id \" '{}' || {{ echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1; }}",
                captured("scontrol_show_job_final.txt").display()
            ),
        );
        if with_sacct {
            fake(
                dir,
                "sacct",
                &format!("cat '{}'", captured("sacct_final.txt").display()),
            );
        } else {
            fake(
                dir,
                "sacct",
                "echo 'Slurm accounting storage is disabled' >&2; exit 1",
            );
        }
    }

    #[test]
    fn query_merges_captured_sources() {
        let dir = tempfile::tempdir().unwrap();
        fake_slurm(dir.path(), false);
        let client = SlurmClient::with_bin_dir(dir.path());
        // cells (2), timeout (3), never-afterok (6), array-cancel (8)
        let tasks = client.query(&[2, 3, 6, 8]).unwrap();
        let cells: Vec<&TaskState> = tasks.iter().filter(|t| t.array_job_id == Some(2)).collect();
        assert_eq!(cells.len(), 4);
        let failed = cells.iter().find(|t| t.array_task_id == Some(2)).unwrap();
        assert_eq!(failed.state, JobState::Failed);
        assert_eq!(failed.job_id, 12);
        assert_eq!(failed.exit_code, Some((3, 0))); // squeue has none; scontrol filled it
        assert_eq!(failed.reason.as_deref(), Some("NonZeroExitCode"));
        let timeout = tasks.iter().find(|t| t.job_id == 3).unwrap();
        assert_eq!(
            (timeout.state.clone(), timeout.exit_code),
            (JobState::Timeout, Some((0, 15)))
        );
        let never = tasks.iter().find(|t| t.job_id == 6).unwrap();
        assert_eq!(never.reason.as_deref(), Some("DependencyNeverSatisfied"));
        let cancelled: Vec<_> = tasks.iter().filter(|t| t.array_job_id == Some(8)).collect();
        assert_eq!(cancelled.len(), 6);
        assert!(cancelled.iter().all(|t| t.state == JobState::Cancelled));
        // nothing from other jobs (squeue's fake prints all of them)
        assert!(tasks.iter().all(|t| t.belongs_to(&[2, 3, 6, 8])));
        assert_eq!(tasks.len(), 4 + 1 + 1 + 6);
    }

    #[test]
    fn query_falls_back_to_sacct_and_jobcomp() {
        let dir = tempfile::tempdir().unwrap();
        fake_slurm(dir.path(), true);
        // slurmctld has forgotten everything
        fake(
            dir.path(),
            "squeue",
            "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1",
        );
        fake(
            dir.path(),
            "scontrol",
            "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1",
        );
        let client =
            SlurmClient::with_bin_dir(dir.path()).with_jobcomp_file(Some(captured("jobcomp.txt")));
        let tasks = client.query(&[2, 3]).unwrap();
        assert_eq!(tasks.len(), 5);
        let timeout = tasks.iter().find(|t| t.job_id == 3).unwrap();
        // sacct and jobcomp say 0:0 where scontrol said 0:15
        assert_eq!(
            (timeout.state.clone(), timeout.exit_code),
            (JobState::Timeout, Some((0, 0)))
        );
        // only the jobcomp file
        fake(
            dir.path(),
            "sacct",
            "echo 'Slurm accounting storage is disabled' >&2; exit 1",
        );
        let tasks = client.query(&[2]).unwrap();
        assert_eq!(tasks.len(), 4);
        assert_eq!(tasks[2].state, JobState::Failed);
        // a missing jobcomp file is skipped
        let client =
            SlurmClient::with_bin_dir(dir.path()).with_jobcomp_file(Some(dir.path().join("nope")));
        assert!(client.query(&[2]).unwrap().is_empty());
    }

    #[test]
    fn query_errors_when_slurmctld_is_down() {
        let dir = tempfile::tempdir().unwrap();
        fake_slurm(dir.path(), false);
        fake(
            dir.path(),
            "squeue",
            "echo 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)' >&2; exit 1",
        );
        let err = SlurmClient::with_bin_dir(dir.path())
            .query(&[2])
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("run `squeue -h -r -t all -o '%i|%A|%F|%K|%T|%r' -j 2`"),
            "{msg}"
        );
        assert!(
            msg.ends_with("Unable to contact slurm controller (connect failure)"),
            "{msg}"
        );
        assert!(SlurmClient::with_bin_dir(dir.path())
            .query(&[])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn submit_writes_the_script_and_passes_options() {
        let dir = tempfile::tempdir().unwrap();
        let args_file = dir.path().join("args");
        fake(
            dir.path(),
            "sbatch",
            &format!(
                "for a in \"$@\"; do echo \"$a\"; done > '{}'; echo '42;cluster'",
                args_file.display()
            ),
        );
        let client = SlurmClient::with_bin_dir(dir.path());
        let script = dir.path().join("logs dir/array_0.sbatch");
        let deps = super::super::render::dependency_args(&[7, 8]);
        let id = client
            .submit(&script, "#!/bin/bash\ntrue\n", &deps)
            .unwrap();
        assert_eq!(id, 42);
        assert_eq!(
            std::fs::read_to_string(&script).unwrap(),
            "#!/bin/bash\ntrue\n"
        );
        let args = std::fs::read_to_string(&args_file).unwrap();
        assert_eq!(
            args,
            format!(
                "--parsable\n--dependency=afterany:7:8\n--kill-on-invalid-dep=yes\n{}\n",
                script.display()
            )
        );
        // the captured sbatch error comes back in the message
        fake(
            dir.path(),
            "sbatch",
            &format!(
                "cat '{}' >&2; exit 1",
                captured("sbatch_error_invalid_partition.txt").display()
            ),
        );
        let msg = client.submit(&script, "x", &[]).unwrap_err().to_string();
        assert!(msg.contains("run `sbatch --parsable "), "{msg}");
        assert!(
            msg.ends_with(
                "sbatch: error: Batch job submission failed: Invalid partition name specified"
            ),
            "{msg}"
        );
        fake(dir.path(), "sbatch", "echo 'Submitted batch job 5'");
        let err = client.submit(&script, "x", &[]).unwrap_err();
        assert!(matches!(err, SlurmError::Submit { .. }), "{err}");
    }

    #[test]
    fn config_cancel_and_missing_commands() {
        let dir = tempfile::tempdir().unwrap();
        fake(
            dir.path(),
            "scontrol",
            &format!("cat '{}'", captured("scontrol_show_config.txt").display()),
        );
        fake(dir.path(), "scancel", "exit 0");
        let client = SlurmClient::with_bin_dir(dir.path());
        assert_eq!(client.max_array_size(), 1001);
        // the captured JobCompLoc was under /tmp and is gone by now, normally
        let _ = client.discover_jobcomp_file();
        client.cancel(5).unwrap();
        let empty = tempfile::tempdir().unwrap();
        let client = SlurmClient::with_bin_dir(empty.path());
        assert_eq!(client.max_array_size(), DEFAULT_MAX_ARRAY_SIZE);
        let err = client.cancel(5).unwrap_err();
        assert!(matches!(err, SlurmError::Spawn { .. }));
        assert!(err.to_string().starts_with("run `scancel 5`"));
    }

    /// Renders, submits and follows a real generator array job, a cell array job that waits for
    /// it (`afterok`, whole array and single tasks) and the collect job, with paths that need
    /// quoting, `/bin/echo` standing in for dpwear. Needs a running Slurm:
    /// `eval "$(scripts/slurm-test-up.sh DIR)"`, then
    /// `cargo test --no-default-features --lib live_slurm -- --ignored`.
    #[test]
    #[ignore = "needs a running Slurm (scripts/slurm-test-up.sh)"]
    fn live_slurm_round_trip() {
        use super::super::render::*;
        let client = SlurmClient::detect().expect("sbatch on PATH");
        let client = client
            .clone()
            .with_jobcomp_file(client.discover_jobcomp_file());
        let dir = tempfile::Builder::new()
            .prefix("dpwear live 'q' ")
            .tempdir_in("/tmp")
            .unwrap();
        let campaign = dir.path().join("camp \"1\"");
        let log_dir = campaign.join("logs 100%");
        std::fs::create_dir_all(&log_dir).unwrap();
        let manifest = campaign.join("manifest $HOME.json");
        let profile = SbatchProfile {
            partition: None,
            account: None,
            qos: None,
            gres: None,
            time: "00:05:00".into(),
            cpus_per_task: 1,
            mem: Some("200M".into()),
            ranks_per_cell: 1,
            array_throttle: Some(2),
            setup: vec!["export DPWEAR_PROBE='set up'".into()],
            signal_seconds: 60,
            extra_sbatch: vec!["--comment=dpwear-live-test".into()],
        };
        // the generator stage: two generator tasks; the cell array waits for both (afterok,
        // once as whole array and once as single tasks, the two forms submit uses)
        let gen_array = format_array_spec(&[0, 1], profile.array_throttle);
        let g = GeneratorArrayScript {
            job_name: "dpwear live generators",
            profile: &profile,
            binary: Path::new("/bin/echo"),
            manifest: &manifest,
            manifest_sha256: "0123abcd",
            log_dir: &log_dir,
            workdir: &campaign,
            index_offset: 7,
            array: &gen_array,
        };
        g.validate_generator().unwrap();
        let gid = client
            .submit(
                &log_dir.join("generators_7.sbatch"),
                &render_generator_array_script(&g),
                &[],
            )
            .unwrap();
        let array = format_array_spec(&[0, 1, 2], profile.array_throttle);
        let s = ArrayScript {
            job_name: "dpwear live test",
            profile: &profile,
            binary: Path::new("/bin/echo"),
            manifest: &manifest,
            manifest_sha256: "0123abcd",
            log_dir: &log_dir,
            workdir: &campaign,
            index_offset: 1001,
            array: &array,
        };
        s.validate().unwrap();
        let id = client
            .submit(
                &log_dir.join("array_1001.sbatch"),
                &render_array_script(&s),
                &afterok_dependency_args(&[
                    DependencyTarget::Job(gid),
                    DependencyTarget::ArrayTask {
                        array_job_id: gid,
                        task_id: 0,
                    },
                    DependencyTarget::ArrayTask {
                        array_job_id: gid,
                        task_id: 1,
                    },
                ]),
            )
            .unwrap();
        let c = CollectScript {
            job_name: "dpwear live collect",
            profile: &profile,
            binary: Path::new("/bin/echo"),
            campaign_dir: &campaign,
            log_dir: &log_dir,
            workdir: &campaign,
        };
        c.validate().unwrap();
        let cid = client
            .submit(
                &log_dir.join("collect.sbatch"),
                &render_collect_script(&c),
                &dependency_args(&[gid, id]),
            )
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        let tasks = loop {
            let tasks = client.query(&[gid, id, cid]).unwrap();
            if tasks.len() == 6 && tasks.iter().all(|t| t.state.is_finished()) {
                break tasks;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not finished: {tasks:#?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        };
        assert!(
            tasks.iter().all(|t| t.state == JobState::Completed),
            "{tasks:#?}"
        );
        for t in tasks.iter().filter(|t| t.array_job_id == Some(gid)) {
            let task = t.array_task_id.unwrap();
            let log = log_dir.join(format!("generator-{gid}_{task}.out"));
            let text =
                std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
            assert_eq!(
                text,
                format!(
                    "run-generator --manifest {} --manifest-sha256 0123abcd --threads 1 --index {}\n",
                    manifest.display(),
                    7 + task
                )
            );
        }
        for t in tasks.iter().filter(|t| t.array_job_id == Some(id)) {
            let task = t.array_task_id.unwrap();
            let log = log_dir.join(format!("{id}_{task}.out"));
            let text =
                std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
            assert_eq!(
                text,
                format!(
                    "run-cell --manifest {} --manifest-sha256 0123abcd --index {}\n",
                    manifest.display(),
                    1001 + task
                )
            );
        }
        let text = std::fs::read_to_string(log_dir.join(format!("{cid}.out"))).unwrap();
        assert_eq!(text, format!("collect {}\n", campaign.display()));
        client.cancel(id).unwrap();
    }
}
