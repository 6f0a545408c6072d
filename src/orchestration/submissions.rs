//! `slurm/submissions.json`: every array job and collect job a campaign sent to Slurm, with
//! the cells (or generator trainings) each array task runs, so that `status` can map scheduler
//! states back to cells and generators and `submit --resume` can tell which are still queued.
//!
//! Schema 2 added the generator arrays (`generator_arrays`) and the dependencies of cell
//! arrays (`depends_on`); a schema-1 ledger reads as one without them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::slurm::{JobState, TaskKey, TaskState};

/// The schema version this dpwear writes (and the newest it reads).
pub const SUBMISSIONS_SCHEMA_VERSION: u32 = 2;

/// One array job: task `t` runs cell (or, in `generator_arrays`, generator) `offset + t`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArraySubmission {
    pub job_id: u64,
    pub offset: usize,
    pub task_ids: Vec<usize>,
    pub script: String,
    /// The jobs it waited for, as passed to sbatch (`--dependency=afterok:…`): `<job>` or
    /// `<array job>_<task>`. Empty when it had none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// One `dpwear submit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub at_unix: u64,
    /// The generator arrays, submitted before the cell arrays (task `t` trains generator
    /// `offset + t` of the manifest's `generators`).
    #[serde(default)]
    pub generator_arrays: Vec<ArraySubmission>,
    pub arrays: Vec<ArraySubmission>,
    pub collect_job_id: Option<u64>,
    pub resume: bool,
}

/// The whole ledger.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Submissions {
    pub schema_version: u32,
    pub submissions: Vec<Submission>,
}

impl Submissions {
    /// Reads the ledger (empty when there is none yet). A ledger of a newer schema than
    /// [`SUBMISSIONS_SCHEMA_VERSION`] is refused (a newer dpwear wrote it).
    pub fn read(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(t) => {
                let l: Submissions =
                    serde_json::from_str(&t).map_err(|e| format!("{}: {e}", path.display()))?;
                if l.schema_version > SUBMISSIONS_SCHEMA_VERSION {
                    return Err(format!(
                        "{}: schema_version {} is newer than this dpwear reads ({SUBMISSIONS_SCHEMA_VERSION}); use the dpwear that submitted the campaign",
                        path.display(),
                        l.schema_version
                    ));
                }
                Ok(l)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Submissions {
                schema_version: SUBMISSIONS_SCHEMA_VERSION,
                submissions: Vec::new(),
            }),
            Err(e) => Err(format!("read {}: {e}", path.display())),
        }
    }

    /// Writes the ledger atomically, as schema [`SUBMISSIONS_SCHEMA_VERSION`].
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut l = self.clone();
        l.schema_version = SUBMISSIONS_SCHEMA_VERSION;
        crate::atomic_file::write_json(path, &l)
    }

    /// Every array job id (generator and cell arrays), oldest submission first; within a
    /// submission its generator arrays, then its cell arrays.
    pub fn array_job_ids(&self) -> Vec<u64> {
        self.submissions
            .iter()
            .flat_map(|s| s.generator_arrays.iter().chain(&s.arrays).map(|a| a.job_id))
            .collect()
    }

    /// The latest scheduler state of each cell index that was ever submitted (a later
    /// submission of a cell overrides an earlier one; a task no source knows is `None`).
    pub fn cell_states(&self, tasks: &[TaskState]) -> BTreeMap<usize, Option<TaskState>> {
        latest_states(self.submissions.iter().map(|s| &s.arrays), tasks)
    }

    /// Like [`Submissions::cell_states`], for the generator indices of the generator arrays.
    pub fn generator_states(&self, tasks: &[TaskState]) -> BTreeMap<usize, Option<TaskState>> {
        latest_states(self.submissions.iter().map(|s| &s.generator_arrays), tasks)
    }
}

fn latest_states<'a>(
    arrays: impl Iterator<Item = &'a Vec<ArraySubmission>>,
    tasks: &[TaskState],
) -> BTreeMap<usize, Option<TaskState>> {
    let by_key: BTreeMap<TaskKey, &TaskState> = tasks.iter().map(|t| (t.key(), t)).collect();
    let mut out = BTreeMap::new();
    for list in arrays {
        for a in list {
            for &t in &a.task_ids {
                let key = TaskKey::Array {
                    array_job_id: a.job_id,
                    task_id: t,
                };
                out.insert(a.offset + t, by_key.get(&key).map(|s| (*s).clone()));
            }
        }
    }
    out
}

/// Slurm's reason for a job whose dependency can never be satisfied (an `afterok` job failed
/// or was cancelled).
pub const DEPENDENCY_NEVER_SATISFIED: &str = "DependencyNeverSatisfied";

/// True for a task that pends on a dependency that can never be satisfied: it will never run
/// (Slurm cancels it, as `--kill-on-invalid-dep=yes` asks, at its next scheduling pass).
pub fn is_dead_dependency(t: &TaskState) -> bool {
    t.state == JobState::Pending && t.reason.as_deref() == Some(DEPENDENCY_NEVER_SATISFIED)
}

/// True while a task may still run (pending, running, requeued, suspended…).
pub fn is_active(state: &JobState) -> bool {
    !state.is_finished()
}

/// True while a task may still run, leaving out tasks whose dependency can never be satisfied.
pub fn is_live(t: &TaskState) -> bool {
    is_active(&t.state) && !is_dead_dependency(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_submissions_override_and_offsets_apply() {
        let sub = |job_id, offset, task_ids: Vec<usize>| ArraySubmission {
            job_id,
            offset,
            task_ids,
            script: String::new(),
            depends_on: Vec::new(),
        };
        let s = Submissions {
            schema_version: 1,
            submissions: vec![
                Submission {
                    at_unix: 0,
                    generator_arrays: vec![],
                    arrays: vec![sub(10, 0, vec![0, 1, 2]), sub(11, 1001, vec![0])],
                    collect_job_id: Some(12),
                    resume: false,
                },
                Submission {
                    at_unix: 1,
                    generator_arrays: vec![],
                    arrays: vec![sub(20, 0, vec![1])],
                    collect_job_id: Some(21),
                    resume: true,
                },
            ],
        };
        let t = |job, task, state| TaskState {
            job_id: job,
            array_job_id: Some(job),
            array_task_id: Some(task),
            state,
            exit_code: None,
            reason: None,
        };
        let states = s.cell_states(&[
            t(10, 0, JobState::Completed),
            t(10, 1, JobState::Failed),
            t(20, 1, JobState::Running),
        ]);
        assert_eq!(states.len(), 4);
        assert_eq!(states[&0].as_ref().unwrap().state, JobState::Completed);
        assert_eq!(states[&1].as_ref().unwrap().state, JobState::Running);
        assert!(states[&2].is_none());
        assert!(states[&1001].is_none());
        assert_eq!(s.array_job_ids(), vec![10, 11, 20]);
    }

    #[test]
    fn generator_arrays_map_to_generator_indices() {
        let arr = |job_id, task_ids: Vec<usize>, deps: Vec<&str>| ArraySubmission {
            job_id,
            offset: 0,
            task_ids,
            script: String::new(),
            depends_on: deps.into_iter().map(String::from).collect(),
        };
        let s = Submissions {
            schema_version: 2,
            submissions: vec![
                Submission {
                    at_unix: 0,
                    generator_arrays: vec![arr(30, vec![0, 1, 2], vec![])],
                    arrays: vec![arr(31, vec![0, 1, 2, 3], vec!["30"])],
                    collect_job_id: Some(32),
                    resume: false,
                },
                Submission {
                    at_unix: 1,
                    generator_arrays: vec![arr(40, vec![1], vec![])],
                    arrays: vec![arr(41, vec![2, 3], vec!["40"])],
                    collect_job_id: Some(42),
                    resume: true,
                },
            ],
        };
        assert_eq!(s.array_job_ids(), vec![30, 31, 40, 41]);
        let t = |job, task, state, reason: Option<&str>| TaskState {
            job_id: job,
            array_job_id: Some(job),
            array_task_id: Some(task),
            state,
            exit_code: None,
            reason: reason.map(String::from),
        };
        let tasks = [
            t(30, 0, JobState::Completed, None),
            t(30, 1, JobState::Cancelled, None),
            t(30, 2, JobState::Completed, None),
            t(31, 2, JobState::Pending, Some(DEPENDENCY_NEVER_SATISFIED)),
            t(40, 1, JobState::Running, None),
        ];
        let g = s.generator_states(&tasks);
        assert_eq!(g.len(), 3);
        assert_eq!(g[&1].as_ref().unwrap().state, JobState::Running);
        assert_eq!(g[&2].as_ref().unwrap().state, JobState::Completed);
        let c = s.cell_states(&tasks);
        assert!(
            c[&2].is_none(),
            "resubmitted in job 41, which no source knows"
        );
        assert!(c[&0].is_none());
        let dead = &tasks[3];
        assert!(is_active(&dead.state) && is_dead_dependency(dead) && !is_live(dead));
        assert!(is_live(&tasks[4]) && !is_live(&tasks[0]));
    }

    #[test]
    fn old_ledgers_read_and_newer_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("submissions.json");
        std::fs::write(
            &p,
            r#"{"schema_version":1,"submissions":[{"at_unix":0,"arrays":[{"job_id":5,"offset":0,"task_ids":[0],"script":"s"}],"collect_job_id":6,"resume":false}]}"#,
        )
        .unwrap();
        let l = Submissions::read(&p).unwrap();
        assert!(l.submissions[0].generator_arrays.is_empty());
        assert!(l.submissions[0].arrays[0].depends_on.is_empty());
        l.write(&p).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(back["schema_version"], SUBMISSIONS_SCHEMA_VERSION);
        assert_eq!(Submissions::read(&p).unwrap().submissions, l.submissions);
        std::fs::write(&p, r#"{"schema_version":99,"submissions":[]}"#).unwrap();
        let e = Submissions::read(&p).unwrap_err();
        assert!(e.contains("schema_version 99"), "{e}");
        let none = Submissions::read(&dir.path().join("absent.json")).unwrap();
        assert!(none.submissions.is_empty());
    }
}
