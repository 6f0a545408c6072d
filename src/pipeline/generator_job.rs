//! Training one generator into a checkpoint folder, resumably: the body of `dpwear gan
//! train`, of a campaign's generator tasks (`dpwear run-generator`) and of `run-cell` when a
//! cell's generator is missing. The whole request (data, family, privacy plan) is resolved
//! before anything is trained.
//!
//! What happens with an existing checkpoint folder:
//! - a complete checkpoint of the same request: nothing is recomputed;
//! - an interrupted checkpoint of the same request: training resumes where it stopped;
//! - a checkpoint of another request: refused unless `force`;
//! - a corrupt card or weight file: refused naming the file.
//!
//! One training per folder at a time (an flock on `<out>/.lock`, waited for or refused).
//!
//! May depend on: training::generator, data stores, privacy, pipeline::error.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::error::{Fault, JobError};
use crate::data::hash::sha256_file;
use crate::data::store;
use crate::features::windows::WindowScheme;
use crate::models::generator_spec::{GeneratorKind, GeneratorMode};
use crate::training::generator::algorithm::Family;
use crate::training::generator::checkpoint::{
    self, CardData, CardTraining, CheckpointError, ModelCard, CARD_KIND, CARD_SCHEMA_VERSION,
};
use crate::training::generator::executor::{self, LoopConfig, RunEnd};
use crate::training::generator::privacy::{self as gen_privacy, GenDpPlan, GenDpRequest};
use crate::training::generator::rng::SecretKey;
use crate::training::generator::{registry, GenData, Overrides};

/// A resolved training request.
#[derive(Clone, Debug)]
pub struct TrainRequest {
    /// Dataset store (.h5).
    pub dataset: PathBuf,
    pub kind: GeneratorKind,
    pub mode: GeneratorMode,
    /// Subjects left out (sorted, distinct).
    pub exclude: Vec<u32>,
    pub scheme: WindowScheme,
    pub dp: Option<GenDpRequest>,
    pub overrides: Overrides,
    pub seed: u64,
    pub threads: usize,
    pub device: tch::Device,
    pub checkpoint_every: u64,
    pub out: PathBuf,
    /// Replace a checkpoint of another request.
    pub force: bool,
    /// Wait for another training of the folder instead of refusing.
    pub wait_for_lock: bool,
    /// Stop (checkpointed, resumable) after this many steps in this session.
    pub stop_after: Option<u64>,
}

/// What the caller hears while a generator trains.
pub trait TrainObserver {
    /// A status line for the user.
    fn notice(&mut self, line: &str);
    /// Training starts or resumes: `done` of `total` steps.
    fn start(&mut self, _done: u64, _total: u64) {}
    /// One executor step finished.
    fn step(&mut self, _p: &executor::Progress<'_>) {}
    fn finish(&mut self) {}
}

/// How a training request ended (errors aside).
#[derive(Debug)]
pub enum TrainEnd {
    /// The folder already held this generator, trained to the end.
    AlreadyDone(ModelCard),
    Trained(ModelCard),
}

impl TrainEnd {
    pub fn card(&self) -> &ModelCard {
        match self {
            TrainEnd::AlreadyDone(c) | TrainEnd::Trained(c) => c,
        }
    }
}

/// The error of a checkpoint read or write.
pub fn checkpoint_error(action: &str, e: CheckpointError) -> JobError {
    let fault = match e {
        CheckpointError::Unreadable { .. } => Fault::InputUnreadable,
        CheckpointError::Malformed { .. } => Fault::InputMalformed,
        CheckpointError::WriteFailed { .. } => Fault::OutputFailed,
    };
    JobError::new(fault, action, e)
}

/// sha256 of everything that defines the training.
fn request_digest(value: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(value).expect("request serialises"));
    format!("{:x}", h.finalize())
}

/// A resolved request: the training data, the family and the privacy plan.
pub type Resolved = (GenData, Box<dyn Family>, Option<GenDpPlan>);

/// The request resolved on dataset `ds`: the training data, the family and the privacy plan
/// (σ calibrated for the family's declared schedule), exactly as training will use them.
pub fn resolve(req: &TrainRequest, ds: &crate::data::Dataset) -> Result<Resolved, JobError> {
    const ACTION: &str = "plan the generator training";
    let kind = req.kind;
    let data = GenData::from_dataset(ds, req.scheme, &req.exclude, req.device)
        .map_err(|e| JobError::invalid(ACTION, format!("{}: {e}", req.dataset.display())))?;
    let family = registry::family(kind, req.mode, data.n_classes, &req.overrides)
        .map_err(|e| JobError::invalid(ACTION, format!("{kind}: {e}")))?;
    family
        .validate(&data)
        .map_err(|e| JobError::invalid(ACTION, format!("{kind}: {e}")))?;
    let plan = match &req.dp {
        Some(dp) => Some(
            gen_privacy::plan(dp, family.as_ref(), &data)
                .map_err(|e| JobError::invalid(ACTION, format!("{kind}: {e}")))?,
        ),
        None => None,
    };
    Ok((data, family, plan))
}

/// Trains (or resumes, or finds done) the generator of `req` in `req.out`.
pub fn train(req: &TrainRequest, obs: &mut dyn TrainObserver) -> Result<TrainEnd, JobError> {
    const ACTION: &str = "train the generator";
    let kind = req.kind;
    let mode = req.mode;
    let scheme = req.scheme;
    let device = req.device;

    // Inputs and the whole plan, before anything is trained.
    let ds =
        store::read_dataset(&req.dataset).map_err(|e| JobError::data("read the dataset", e))?;
    let dataset_sha256 =
        sha256_file(&req.dataset).map_err(|e| JobError::data("read the dataset", e))?;
    let exclude = req.exclude.clone();
    let (data, family, plan) = resolve(req, &ds)?;
    let reproducible_dp = req.dp.is_some_and(|d| d.reproducible_noise);
    let hyper = family.hyper_json();
    let request = serde_json::json!({
        "generator": kind,
        "mode": mode,
        "hyper": hyper,
        "dataset_sha256": dataset_sha256,
        "exclude": exclude,
        "window_scheme": scheme,
        "dp": req.dp,
        "reproducible_dp": reproducible_dp,
        "seed": req.seed,
    });
    let digest = request_digest(&request);

    let out = &req.out;
    if out.exists() && !out.is_dir() {
        return Err(JobError::new(
            Fault::OutputFailed,
            ACTION,
            format!("{} exists and is not a folder", out.display()),
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| {
        JobError::new(
            Fault::OutputFailed,
            ACTION,
            format!("{}: {e}", out.display()),
        )
    })?;
    let lock_path = out.join(".lock");
    let _lock = if req.wait_for_lock {
        crate::file_lock::lock_waiting(&lock_path, "dpwear generator training", |h| {
            obs.notice(&format!(
                "{} is being trained by {h}: waiting for it",
                out.display()
            ))
        })
        .map_err(|e| match e {
            crate::file_lock::LockError::Interrupted { holder, .. } => JobError::new(
                Fault::Resumable,
                ACTION,
                format!(
                    "interrupted while waiting for {holder}, which trains {}",
                    out.display()
                ),
            ),
            e => JobError::new(Fault::OutputFailed, "lock the generator folder", e),
        })?
    } else {
        crate::file_lock::try_lock(&lock_path, "dpwear gan train").map_err(|e| {
            JobError::new(
                Fault::OutputFailed,
                ACTION,
                format!("another `dpwear gan train` is using {}: {e}", out.display()),
            )
        })?
    };

    // An existing checkpoint: done, resume, or refuse.
    let card_path = out.join(checkpoint::CARD_FILE);
    let mut resume: Option<ModelCard> = None;
    if card_path.exists() && !req.force {
        let card = checkpoint::read_card(out).map_err(|e| {
            let mut err = checkpoint_error("read the existing checkpoint", e);
            err.cause
                .push_str(" (remove it or pass --force to replace it)");
            err
        })?;
        if card.request_sha256 != digest {
            return Err(JobError::new(
                Fault::OutputFailed,
                ACTION,
                format!(
                    "{} holds a checkpoint of another training (its request digest differs: generator, mode, hyper-parameters, data, privacy or seed); pass --force to replace it or choose another folder",
                    out.display()
                ),
            ));
        }
        if card.is_complete() {
            obs.notice(&format!(
                "{} already holds this generator, trained to the end ({} steps); nothing to do",
                out.display(),
                card.training.steps_done
            ));
            return Ok(TrainEnd::AlreadyDone(card));
        }
        resume = Some(card);
    }

    tch::set_num_threads(req.threads as i32);
    tch::manual_seed(crate::training::generator::rng::stream_seed(
        req.seed,
        crate::training::generator::rng::StepPurpose::Other(0),
        0,
    ) as i64);
    let mut algo = family
        .build(&data, plan.as_ref().map(|p| p.settings()), device)
        .map_err(|e| JobError::invalid(ACTION, format!("{kind}: {e}")))?;
    // The key of the batch and noise streams: secret for private runs (module docs of
    // training::generator::rng), from the seed otherwise; a resumed run reads its own back.
    let mut key = match (&plan, reproducible_dp) {
        (Some(_), false) => {
            SecretKey::fresh().map_err(|e| JobError::new(Fault::Internal, ACTION, e))?
        }
        _ => SecretKey::from_seed(req.seed),
    };
    let malformed = |action: &str, file: &str, e: String| {
        JobError::new(
            Fault::InputMalformed,
            action,
            format!("{}: {e}", out.join(file).display()),
        )
    };
    let mut card = match resume {
        Some(card) => {
            let file = card.state_file.clone().ok_or_else(|| {
                JobError::new(
                    Fault::InputMalformed,
                    ACTION,
                    format!("{}: the card names no training state", card_path.display()),
                )
            })?;
            let state = checkpoint::read_tensors(out, &file)
                .map_err(|e| checkpoint_error("read the training state", e))?;
            let (state, saved_key) = executor::split_state(state)
                .map_err(|e| malformed("resume the training", &file.name, e.to_string()))?;
            key = saved_key;
            algo.load_state(&state)
                .map_err(|e| malformed("resume the training", &file.name, e.to_string()))?;
            obs.notice(&format!(
                "resuming {} at step {} of {}",
                out.display(),
                card.training.steps_done,
                card.training.steps_total
            ));
            card
        }
        None => {
            let mut notes = family.notes();
            match (&plan, reproducible_dp) {
                (Some(_), false) => notes.push("DP randomness (which windows each Poisson batch holds, the Gaussian noise) comes from a secret 256-bit key drawn from the operating system and kept only in training-state.safetensors: publish generator.safetensors and this card, never the training state".into()),
                (Some(_), true) => notes.push("--reproducible-dp: the DP batches and noise are derived from the recorded seed, so anyone who knows the seed can recompute them and the stated guarantee does NOT hold against them (tests and reproduction only)".into()),
                (None, _) => {}
            }
            if ds.source.kind.is_simulated() {
                notes.push(
                    "trained on SIMULATED data (dpwear's simulator), not on measurements".into(),
                );
            }
            ModelCard {
                schema_version: CARD_SCHEMA_VERSION,
                kind: CARD_KIND.into(),
                generator: kind,
                mode,
                hyper,
                generator_parameters: 0,
                data: CardData {
                    dataset: req.dataset.display().to_string(),
                    dataset_sha256,
                    source_kind: ds.source.kind.as_str().into(),
                    source_sha256: ds.source.sha256.clone(),
                    simulated: ds.source.kind.is_simulated(),
                    label_map: ds.label_map,
                    class_names: ds.label_map.class_names().iter().map(|s| s.to_string()).collect(),
                    window_scheme: scheme,
                    windows: data.len(),
                    training_subjects: data.subject_ids.clone(),
                    excluded_subjects: exclude.clone(),
                    preprocessing: "per-subject min-max scaling of each channel to [0, 1] over the kept 1 Hz rows (done when the store was made; not covered by any privacy statement)".into(),
                },
                training: CardTraining {
                    status: "in-progress".into(),
                    steps_total: algo.total_steps(),
                    steps_done: 0,
                    private_steps: 0,
                    empty_batches: 0,
                    clipped_fraction_sum: 0.0,
                    seed: req.seed,
                    threads: req.threads,
                    device: format!("{device:?}"),
                    wall_seconds: 0.0,
                    last_losses: Vec::new(),
                },
                privacy_plan: plan.clone(),
                privacy: None,
                privacy_summary: match &plan {
                    Some(_) => String::new(),
                    None => "no differential privacy: trained without a privacy mechanism; the generator may memorise training windows".into(),
                },
                request_sha256: digest,
                generator_file: None,
                state_file: None,
                code_version: format!(
                    "dpwear {} (git {})",
                    env!("CARGO_PKG_VERSION"),
                    env!("DPWEAR_GIT_COMMIT")
                ),
                notes,
            }
        }
    };
    if let Some(p) = &plan {
        obs.notice(&format!(
            "privacy plan: sigma = {} for {} private steps at q = {} (target epsilon {}, delta {:e}, {} unit)",
            crate::privacy::accounting::fmt::sig6(p.sigma),
            p.steps_planned,
            crate::privacy::accounting::fmt::sig6(p.sample_rate),
            p.request.target_epsilon,
            p.delta,
            p.request.unit.as_str()
        ));
    }

    let total = algo.total_steps();
    obs.start(card.training.steps_done, total);
    let end = {
        let mut observer = |p: &executor::Progress<'_>| obs.step(p);
        executor::run(
            algo.as_mut(),
            &data,
            &mut card,
            plan.as_ref(),
            &key,
            out,
            LoopConfig {
                checkpoint_every: req.checkpoint_every,
                stop_after: req.stop_after,
            },
            &mut observer,
        )
    };
    obs.finish();
    match end {
        Ok(RunEnd::Complete) => {
            obs.notice(&format!(
                "trained {kind} ({} steps, {:.1} s); checkpoint in {}",
                card.training.steps_done,
                card.training.wall_seconds,
                out.display()
            ));
            Ok(TrainEnd::Trained(card))
        }
        Ok(RunEnd::Interrupted { steps_done, signal }) => Err(JobError::new(
            Fault::Resumable,
            ACTION,
            format!(
                "interrupted{} after {steps_done} of {total} steps; the checkpoint in {} is saved: run the same command again to resume",
                if signal != 0 { format!(" by signal {signal}") } else { String::new() },
                out.display()
            ),
        )),
        Err(executor::ExecutorError::Checkpoint(e)) => {
            Err(checkpoint_error("save the checkpoint", e))
        }
        Err(e) => Err(JobError::new(Fault::Internal, ACTION, e)),
    }
}
