//! The one loop of generator training: it runs an algorithm's steps, tallies the privacy
//! mechanism invocations, checkpoints every N steps and at the end, stops cleanly on
//! SIGINT/SIGTERM/SIGUSR1 (checkpoint, then [`RunEnd::Interrupted`]), and reports progress to
//! an observer (the CLI draws the bar or the summary lines).
//!
//! Resume: the caller rebuilds the algorithm, loads the checkpoint's training state and passes
//! the card, whose `steps_done` is where the loop restarts. Because each step's randomness is
//! a function of (seed, step) ([`super::rng`]) and the state holds every tensor a step reads,
//! the resumed run equals an uninterrupted one bit for bit on CPU.
//!
//! Budget stop: the realised private steps may never exceed the plan's (σ was calibrated for
//! the planned count); a family that tried would stop with an error before its step ran.
//!
//! May depend on: the algorithm trait, checkpoints, privacy plans, `interrupt`.

use std::path::Path;
use std::time::Instant;

use super::algorithm::{GanAlgorithm, StepReport};
use super::checkpoint::{self, CheckpointError, ModelCard};
use super::privacy::GenDpPlan;
use super::rng::{SecretKey, StepRng};

/// How the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    Complete,
    /// Stopped by a signal after checkpointing `steps_done` steps.
    Interrupted {
        steps_done: u64,
        signal: i32,
    },
}

/// Progress of the loop, for observers.
#[derive(Clone, Debug)]
pub struct Progress<'a> {
    pub step: u64,
    pub total: u64,
    pub report: &'a StepReport,
    pub private_steps: u64,
}

/// Errors of the loop.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("step {step}: {message}")]
    Step { step: u64, message: String },
    #[error("save the checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("privacy accounting: {0}")]
    Privacy(String),
}

/// Loop settings.
#[derive(Clone, Copy, Debug)]
pub struct LoopConfig {
    /// Checkpoint every this many steps (0: only at the end and on interrupt).
    pub checkpoint_every: u64,
    /// Stop after this many steps in this session (tests; `None`: run to the end).
    pub stop_after: Option<u64>,
}

fn record_privacy(card: &mut ModelCard, plan: Option<&GenDpPlan>) -> Result<(), ExecutorError> {
    if let Some(plan) = plan {
        let rec = plan
            .record(
                card.training.private_steps,
                card.training.empty_batches,
                card.training.clipped_fraction_sum,
            )
            .map_err(ExecutorError::Privacy)?;
        card.privacy_summary = format!(
            "{}{}; {}",
            rec.statement,
            if plan.request.reproducible_noise {
                "; does NOT hold against anyone who knows the seed (--reproducible-dp)"
            } else {
                ""
            },
            super::privacy::NOT_COVERED_SHORT
        );
        card.privacy = Some(rec);
    }
    Ok(())
}

fn save<D: ?Sized>(
    dir: &Path,
    card: &mut ModelCard,
    algo: &dyn GanAlgorithm<D>,
    plan: Option<&GenDpPlan>,
    key: &SecretKey,
) -> Result<(), ExecutorError> {
    record_privacy(card, plan)?;
    card.generator_parameters = checkpoint::count_parameters(&algo.generator_tensors());
    let mut state = algo.state();
    state.push((SecretKey::STATE_NAME.to_string(), key.to_tensor()));
    checkpoint::save(dir, card, &algo.generator_tensors(), &state)?;
    Ok(())
}

/// Splits a training state read from a checkpoint into the algorithm's tensors and the
/// executor's secret key.
pub fn split_state(
    mut state: Vec<(String, tch::Tensor)>,
) -> Result<(Vec<(String, tch::Tensor)>, SecretKey), String> {
    let i = state
        .iter()
        .position(|(n, _)| n == SecretKey::STATE_NAME)
        .ok_or_else(|| format!("the training state holds no `{}`", SecretKey::STATE_NAME))?;
    let (_, t) = state.swap_remove(i);
    Ok((state, SecretKey::from_tensor(&t)?))
}

/// Runs `algo` from `card.training.steps_done` to the end (or to an interrupt), saving
/// checkpoints into `dir`. `key` keys the batch and noise streams ([`super::rng`]); it is
/// saved in the training state only.
#[allow(clippy::too_many_arguments)]
pub fn run<D: ?Sized>(
    algo: &mut dyn GanAlgorithm<D>,
    data: &D,
    card: &mut ModelCard,
    plan: Option<&GenDpPlan>,
    key: &SecretKey,
    dir: &Path,
    cfg: LoopConfig,
    observer: &mut dyn FnMut(&Progress<'_>),
) -> Result<RunEnd, ExecutorError> {
    let total = algo.total_steps();
    card.training.steps_total = total;
    let start = card.training.steps_done;
    let mut session_start = Instant::now();
    let mut loss_sums: Vec<(String, f64, u64)> = Vec::new();
    for step in start..total {
        if crate::interrupt::requested() || cfg.stop_after == Some(step - start) {
            card.training.wall_seconds += session_start.elapsed().as_secs_f64();
            save(dir, card, algo, plan, key)?;
            return Ok(RunEnd::Interrupted {
                steps_done: step,
                signal: crate::interrupt::signal(),
            });
        }
        let mut rng = StepRng::keyed(card.training.seed, step, key);
        let report = algo
            .step(step, data, &mut rng)
            .map_err(|message| ExecutorError::Step { step, message })?;
        card.training.private_steps += report.private_steps;
        card.training.empty_batches += report.empty_batches;
        card.training.clipped_fraction_sum += report.clipped_fraction_sum;
        if let Some(plan) = plan {
            if card.training.private_steps > plan.steps_planned {
                return Err(ExecutorError::Privacy(format!(
                    "step {step} took the private steps to {}, beyond the {} that sigma was calibrated for (a bug in the {} family)",
                    card.training.private_steps, plan.steps_planned, card.generator
                )));
            }
        } else if report.private_steps > 0 {
            return Err(ExecutorError::Privacy(format!(
                "step {step} ran a private mechanism in a non-private training (a bug in the {} family)",
                card.generator
            )));
        }
        for (name, v) in &report.losses {
            match loss_sums.iter_mut().find(|(n, _, _)| n == name) {
                Some(e) => {
                    e.1 += v;
                    e.2 += 1;
                }
                None => loss_sums.push((name.to_string(), *v, 1)),
            }
        }
        card.training.steps_done = step + 1;
        observer(&Progress {
            step: step + 1,
            total,
            report: &report,
            private_steps: card.training.private_steps,
        });
        let last = step + 1 == total;
        if last || (cfg.checkpoint_every > 0 && (step + 1) % cfg.checkpoint_every == 0) {
            card.training.last_losses = loss_sums
                .iter()
                .map(|(n, s, k)| (n.clone(), s / *k as f64))
                .collect();
            loss_sums.clear();
            if last {
                card.training.status = "complete".into();
            }
            card.training.wall_seconds += session_start.elapsed().as_secs_f64();
            session_start = Instant::now();
            save(dir, card, algo, plan, key)?;
        }
    }
    if start >= total {
        card.training.status = "complete".into();
        save(dir, card, algo, plan, key)?;
    }
    Ok(RunEnd::Complete)
}
