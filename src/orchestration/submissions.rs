//! `slurm/submissions.json`: every array job and collect job a campaign sent to Slurm, with
//! the cells each array task runs, so that `status` can map scheduler states back to cells
//! and `submit --resume` can tell which cells are still queued.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::slurm::{JobState, TaskKey, TaskState};

/// One array job: task `t` runs cell `offset + t`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArraySubmission {
    pub job_id: u64,
    pub offset: usize,
    pub task_ids: Vec<usize>,
    pub script: String,
}

/// One `dpwear submit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub at_unix: u64,
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
    /// Reads the ledger (empty when there is none yet).
    pub fn read(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Submissions {
                schema_version: 1,
                submissions: Vec::new(),
            }),
            Err(e) => Err(format!("read {}: {e}", path.display())),
        }
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        crate::atomic_file::write_json(path, self)
    }

    /// Every array job id, oldest first.
    pub fn array_job_ids(&self) -> Vec<u64> {
        self.submissions
            .iter()
            .flat_map(|s| s.arrays.iter().map(|a| a.job_id))
            .collect()
    }

    /// The latest scheduler state of each cell index that was ever submitted (a later
    /// submission of a cell overrides an earlier one; a task no source knows is `None`).
    pub fn cell_states(&self, tasks: &[TaskState]) -> BTreeMap<usize, Option<TaskState>> {
        let by_key: BTreeMap<TaskKey, &TaskState> = tasks.iter().map(|t| (t.key(), t)).collect();
        let mut out = BTreeMap::new();
        for s in &self.submissions {
            for a in &s.arrays {
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
}

/// True while a task may still run (pending, running, requeued, suspended…).
pub fn is_active(state: &JobState) -> bool {
    !state.is_finished()
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
        };
        let s = Submissions {
            schema_version: 1,
            submissions: vec![
                Submission {
                    at_unix: 0,
                    arrays: vec![sub(10, 0, vec![0, 1, 2]), sub(11, 1001, vec![0])],
                    collect_job_id: Some(12),
                    resume: false,
                },
                Submission {
                    at_unix: 1,
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
}
