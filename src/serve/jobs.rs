//! Generation jobs: what was asked, its state (published through a `watch` channel that the
//! SSE route follows), its cancel flag and, once done, its synthetic subjects.
//!
//! At most one job is active (queued, loading or generating) at a time; at most [`MAX_JOBS`]
//! are kept, the oldest finished one dropped first. Job ids are server-made and unguessable
//! (hashed with the process's random SipHash keys; they are not research randomness).
//!
//! May depend on: tokio::sync::watch, the sampling request, data.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use tokio::sync::watch;

use super::results::JobOutput;
use crate::training::generator::synthesize::SubjectsRequest;

/// Jobs kept in memory (finished ones beyond this are dropped, oldest first).
pub const MAX_JOBS: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Queued,
    Loading,
    Generating,
    Done,
    Error,
    Cancelled,
}

impl Phase {
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Done | Phase::Error | Phase::Cancelled)
    }
}

/// What the progress bar shows; `seq` grows with every change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobState {
    pub seq: u64,
    pub phase: Phase,
    /// Subjects generated so far.
    pub done: usize,
    pub total: usize,
    pub message: String,
}

/// One generation.
pub struct Job {
    pub id: String,
    pub model_id: String,
    pub request: SubjectsRequest,
    state: watch::Sender<JobState>,
    cancel: AtomicBool,
    output: OnceLock<Arc<JobOutput>>,
}

impl Job {
    pub fn state(&self) -> JobState {
        self.state.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<JobState> {
        self.state.subscribe()
    }

    /// Publishes a new phase/progress (ignored once final).
    pub fn publish(&self, phase: Phase, done: usize, message: impl Into<String>) {
        let message = message.into();
        self.state.send_if_modified(|s| {
            if s.phase.is_final() {
                return false;
            }
            s.seq += 1;
            s.phase = phase;
            s.done = done;
            s.message = message;
            true
        });
    }

    /// Asks the worker to stop between subjects (a queued job is cancelled at once).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        if self.state().phase == Phase::Queued {
            self.publish(Phase::Cancelled, 0, "cancelled before it started");
        }
    }

    pub fn cancel_requested(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// Stores the result and publishes `done`.
    pub fn finish(&self, output: JobOutput) {
        let total = self.request.subjects;
        let _ = self.output.set(Arc::new(output));
        self.publish(Phase::Done, total, "done");
    }

    pub fn output(&self) -> Option<Arc<JobOutput>> {
        self.output.get().cloned()
    }
}

/// The job table.
#[derive(Default)]
pub struct Jobs {
    jobs: Mutex<VecDeque<Arc<Job>>>,
    counter: AtomicU64,
    keys: std::collections::hash_map::RandomState,
}

/// Why a job could not be added.
#[derive(Debug, PartialEq, Eq)]
pub enum AddRefused {
    /// Another job is active.
    Busy,
}

impl Jobs {
    fn fresh_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let mut h = self.keys.build_hasher();
        h.write_u64(n);
        let a = h.finish();
        h.write_u64(a);
        format!("j{:016x}{:08x}", a, h.finish() as u32)
    }

    /// A random-looking seed for requests that gave none (below 2^31, easy to retype).
    pub fn fresh_seed(&self) -> u64 {
        let mut h = self.keys.build_hasher();
        h.write_u64(self.counter.fetch_add(1, Ordering::SeqCst) ^ 0x5eed);
        h.finish() & 0x7fff_ffff
    }

    /// Adds a queued job unless one is active.
    pub fn add(&self, model_id: &str, request: SubjectsRequest) -> Result<Arc<Job>, AddRefused> {
        let mut jobs = self.jobs.lock().expect("job table lock");
        if jobs.iter().any(|j| !j.state().phase.is_final()) {
            return Err(AddRefused::Busy);
        }
        while jobs.len() >= MAX_JOBS {
            jobs.pop_front();
        }
        let (state, _) = watch::channel(JobState {
            seq: 0,
            phase: Phase::Queued,
            done: 0,
            total: request.subjects,
            message: "queued".into(),
        });
        let job = Arc::new(Job {
            id: self.fresh_id(),
            model_id: model_id.to_string(),
            request,
            state,
            cancel: AtomicBool::new(false),
            output: OnceLock::new(),
        });
        jobs.push_back(job.clone());
        Ok(job)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        if !super::registry::valid_id(id) {
            return None;
        }
        let jobs = self.jobs.lock().expect("job table lock");
        jobs.iter().find(|j| j.id == id).cloned()
    }
}

/// A small request for the serve tests: 2 subjects × 4 windows, stress fraction 0.3.
#[cfg(test)]
pub(crate) fn test_request(seed: u64) -> SubjectsRequest {
    SubjectsRequest {
        subjects: 2,
        windows_per_subject: 4,
        stress_fraction: 0.3,
        stress_ratio_range: SubjectsRequest::ratio_range_around(0.3),
        max_tries: crate::training::generator::synthesize::DEFAULT_MAX_TRIES,
        seed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> SubjectsRequest {
        test_request(1)
    }

    #[test]
    fn one_active_job_at_a_time_and_old_ones_are_dropped() {
        let jobs = Jobs::default();
        let a = jobs.add("m", req()).unwrap();
        assert!(matches!(jobs.add("m", req()), Err(AddRefused::Busy)));
        a.cancel();
        assert_eq!(a.state().phase, Phase::Cancelled);
        let mut ids = vec![a.id.clone()];
        for _ in 0..MAX_JOBS {
            let j = jobs.add("m", req()).unwrap();
            j.publish(Phase::Error, 0, "x");
            ids.push(j.id.clone());
        }
        assert!(jobs.get(&ids[0]).is_none(), "the oldest is dropped");
        assert!(jobs.get(ids.last().unwrap()).is_some());
        assert_ne!(ids[1], ids[2]);
        assert!(ids.iter().all(|i| super::super::registry::valid_id(i)));
    }

    #[test]
    fn final_states_do_not_change() {
        let jobs = Jobs::default();
        let j = jobs.add("m", req()).unwrap();
        j.publish(Phase::Generating, 1, "1 of 2");
        let seq = j.state().seq;
        j.publish(Phase::Error, 1, "boom");
        j.publish(Phase::Generating, 2, "late");
        assert_eq!(j.state().phase, Phase::Error);
        assert_eq!(j.state().seq, seq + 1);
    }
}
