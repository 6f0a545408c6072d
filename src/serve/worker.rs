//! The generation worker: one thread that owns the loaded generators (libtorch modules stay
//! on the thread that built them) and runs one job at a time, publishing its progress and
//! checking its cancel flag between subjects. Up to [`CACHE`] generators stay loaded between
//! requests (least recently used dropped first).
//!
//! May depend on: pipeline::sample_job, the job table, the registry.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use super::jobs::{Job, Phase};
use super::registry::Registry;
use super::results::JobOutput;
use crate::pipeline::sample_job::LoadedGenerator;

/// Generators kept loaded.
pub const CACHE: usize = 4;

/// A job for the worker.
pub struct Order {
    pub job: Arc<Job>,
}

/// Starts the worker; jobs are sent through the returned channel (one waits at most).
pub fn spawn(
    registry: Arc<Registry>,
    models_arg: String,
    threads: Option<usize>,
) -> Result<SyncSender<Order>, std::io::Error> {
    let (tx, rx) = sync_channel::<Order>(1);
    std::thread::Builder::new()
        .name("dpwear-generate".into())
        .spawn(move || run(rx, &registry, &models_arg, threads))?;
    Ok(tx)
}

fn run(rx: Receiver<Order>, registry: &Registry, models_arg: &str, threads: Option<usize>) {
    if let Some(t) = threads {
        tch::set_num_threads(t as i32);
    }
    let mut loaded: Vec<(String, LoadedGenerator)> = Vec::new();
    while let Ok(Order { job }) = rx.recv() {
        if job.cancel_requested() {
            job.publish(Phase::Cancelled, 0, "cancelled before it started");
            continue;
        }
        let Some(model) = registry.get(&job.model_id) else {
            job.publish(Phase::Error, 0, format!("unknown model {}", job.model_id));
            continue;
        };
        // Messages name the model, never the server's folders.
        let hide = |m: String| {
            m.replace(
                &model.dir.display().to_string(),
                &format!("model {}", model.id),
            )
            .replace(&registry.root.display().to_string(), "<models>")
        };
        let position = loaded.iter().position(|(id, _)| *id == model.id);
        let generator = match position {
            Some(i) => {
                let entry = loaded.remove(i);
                loaded.push(entry);
                &loaded.last().expect("just pushed").1
            }
            None => {
                job.publish(Phase::Loading, 0, format!("loading {}", model.id));
                match LoadedGenerator::load(&model.dir) {
                    Ok(g) => {
                        if loaded.len() >= CACHE {
                            loaded.remove(0);
                        }
                        loaded.push((model.id.clone(), g));
                        &loaded.last().expect("just pushed").1
                    }
                    Err(e) => {
                        job.publish(Phase::Error, 0, hide(e.to_string()));
                        continue;
                    }
                }
            }
        };
        let total = job.request.subjects;
        job.publish(Phase::Generating, 0, format!("subject 1 of {total}"));
        let checkpoint_arg = format!("{}/{}", models_arg.trim_end_matches('/'), model.name);
        let outcome =
            generator.sample(&job.request, "dpwear serve", &checkpoint_arg, &mut |done| {
                if job.cancel_requested() {
                    return false;
                }
                let next = (done + 1).min(total);
                job.publish(
                    Phase::Generating,
                    done,
                    format!("subject {next} of {total}"),
                );
                true
            });
        match outcome {
            Ok(Some(ds)) => job.finish(JobOutput::new(ds, model, &checkpoint_arg, &job.request)),
            Ok(None) => {
                let done = job.state().done;
                job.publish(Phase::Cancelled, done, "cancelled");
            }
            Err(e) => job.publish(Phase::Error, job.state().done, hide(e.to_string())),
        }
    }
}
