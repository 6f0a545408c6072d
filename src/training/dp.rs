//! Private classifier training: σ calibration per fold ([`plan`]), the DP-SGD loops
//! (example-level Poisson DP-SGD, window or subject unit; the reference's batch-level mode) and
//! the fold's privacy record ([`DpPlan::finish`]).
//!
//! **Example mode** (`DpMode::Example`), what the stated ε covers:
//! - n privacy units = the fold's training windows (window unit) or their subjects (subject
//!   unit); q = batch / training windows (for subjects: the rate at which each subject is
//!   drawn, so that a batch holds about `batch` windows on average); steps =
//!   ⌈epochs · windows / batch⌉ (the reference's formula); δ = min(1e−5, 1/(100·n)) unless
//!   fixed, and a δ ≥ 1/n or n < 2 is refused (`accounting::delta`, the one rule).
//! - σ is calibrated for the target ε with the chosen accountant before training starts.
//! - Every step draws a Poisson batch (independent inclusion with rate q); an empty batch is a
//!   pure-noise step. The forward pass runs through a [`Tape`], which gives exact batched
//!   per-example gradients; each example's (or subject's summed) gradient is clipped to C,
//!   N(0, σ²C²) noise is added to the clipped sum, and the result divided by the expected
//!   batch size q·n goes into `.grad` for Adam.
//! - Nothing computed from the private windows may steer training outside DP-SGD: classes are
//!   weighted by the request's public class weights (fixed before training; each clipped
//!   per-example gradient is scaled by w[y]/max(w) ≤ 1 — a weight on the loss would be undone
//!   by clipping), not by label counts, and the default head sees sign(x)·ln(1+|x|) features
//!   instead of standardised ones (whose means and sds are private statistics). Both are
//!   recorded as a note and the weights in the privacy block. Dropout stays (it acts within
//!   each window).
//! - BatchNorm mixes the windows of a batch, so DP models are built with
//!   `classifiers::build_dp` (the CNN-LSTM gets a LayerNorm; recorded as
//!   `dp_architecture_note`) and checked with `dpsgd::check_dp_compatible`.
//!
//! **Reference-batch mode** (`DpMode::ReferenceBatch`), spec §4.3, NOT example-level DP:
//! shuffled fixed-size batches, the batch-mean gradient of the (class-weighted) loss clipped
//! to C as one "microbatch", N(0, σ²C²) added without division, Adam. σ comes from
//! tf-privacy 0.8.5's `compute_noise` with the reference's inputs: n = the windows of all real
//! subjects including the held-out one, q = batch / n, steps = ⌈epochs · n / batch⌉,
//! δ = 10^−digits(n). With the reference head the reference's loss bug (binary cross-entropy
//! `from_logits=True` applied to sigmoid outputs) is reproduced, because it shapes the
//! reference's private results; this is recorded as a note.
//!
//! Randomness: batches and noise come from a ChaCha stream keyed by a secret drawn from the
//! operating system for each trained model and never recorded (word stream 0 for sampling,
//! stream 1 for the per-step noise seeds) — with `reproducible_noise`, from the fold's
//! `Purpose::Privacy` stream of the recorded seed instead, and the record says the guarantee
//! does not hold against anyone who knows the seed; dropout from libtorch's generator seeded
//! per fold, as in non-private training.
//!
//! May depend on: tch, models, privacy (accounting and dpsgd), evaluation::record.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::RngCore;
use rand_chacha::ChaCha20Rng;
use tch::{nn, Kind, Tensor};

use super::classifier::{gather_batch, per_sample_loss, Lap, TrainProfile};
use crate::evaluation::record::FoldPrivacy;
use crate::models::classifiers::Classifier;
use crate::models::{DpMode, DpTraining, HeadMode, TrainHyper};
use crate::privacy::accounting::delta::{check_delta, choose_delta};
use crate::privacy::accounting::ledger::AccountantKind;
use crate::privacy::accounting::{
    calibrate_sigma, compute_noise_tfp085, reference_delta, Accountant, AccountingError,
    CalibrationOptions, DpLevel, PldAccountant, PrivacyStatement, PrivacyUnit, PrvAccountant,
    RdpAccountant, Sampling, Schedule,
};
use crate::privacy::dpsgd::{
    dp_step_grouped, dp_step_scaled, noisy_mean, poisson_sample, pure_noise_step, total_norm,
    write_grads, DpStepConfig, DpStepReport, SubjectIndex, Tape,
};

/// tf-privacy's `compute_noise` starting noise (`noise_lbd`, spec §6.3).
const REFERENCE_MIN_NOISE: f64 = 1e-5;

/// The sizes a fold's privacy plan depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DpSizes {
    /// Training windows of the fold (real + synthetic).
    pub train_windows: usize,
    /// Distinct subjects among them.
    pub train_subjects: usize,
    /// Windows of all real subjects, the held-out one included (the reference's n).
    pub all_real_windows: usize,
}

/// A fold's privacy plan, fixed before training: σ calibrated for the target ε.
#[derive(Clone, Debug, PartialEq)]
pub struct DpPlan {
    pub request: DpTraining,
    pub dp_level: DpLevel,
    pub sampling: Sampling,
    pub accountant: AccountantKind,
    pub conversion: String,
    pub units: usize,
    pub units_rule: String,
    pub sample_rate: f64,
    pub expected_batch_size: f64,
    pub steps_planned: u64,
    pub delta: f64,
    pub delta_rule: String,
    pub sigma: f64,
    /// ε at the planned steps (≤ target).
    pub epsilon_planned: f64,
    /// Warnings of the plan, recorded as notes: δ not far below 1/n
    /// (`accounting::delta::check_delta`), σ calibration stopped at the accountant's work
    /// limit ([`crate::privacy::accounting::Calibration::note`]).
    pub plan_notes: Vec<String>,
}

/// The accountant of a DP request: dpwear's RDP or PLD accountant for example mode,
/// tf-privacy 0.8.5's RDP accountant for reference-batch mode.
fn accountant(dp: &DpTraining) -> Box<dyn Accountant> {
    match (dp.mode, dp.accountant) {
        (DpMode::ReferenceBatch, _) => Box::new(RdpAccountant::reference()),
        (DpMode::Example, AccountantKind::Rdp) => Box::new(RdpAccountant::default()),
        (DpMode::Example, AccountantKind::RdpReference) => Box::new(RdpAccountant::reference()),
        (DpMode::Example, AccountantKind::Pld) => Box::new(PldAccountant::default()),
        (DpMode::Example, AccountantKind::Prv) => Box::new(PrvAccountant::default()),
    }
}

fn accounting(what: &str, e: AccountingError) -> String {
    format!("{what}: {e}")
}

/// Calibrates σ for one fold (see the module docs for n, q, steps and δ per mode).
pub fn plan(dp: &DpTraining, hyper: &TrainHyper, sizes: DpSizes) -> Result<DpPlan, String> {
    dp.validate()?;
    let batch = hyper.batch_size;
    let epochs = hyper.epochs as f64;
    let acc = accountant(dp);
    let conversion = acc.conversion();
    match dp.mode {
        DpMode::Example => {
            let windows = sizes.train_windows;
            if batch == 0 || batch > windows {
                return Err(format!(
                    "batch size {batch} must lie in 1..={windows} (the fold's training windows) for Poisson sampling with q = batch / windows"
                ));
            }
            let (units, units_rule, unit_name) = match dp.unit {
                PrivacyUnit::Window => (windows, "training windows of the fold", "training windows"),
                PrivacyUnit::Subject => (
                    sizes.train_subjects,
                    "training subjects of the fold (each drawn with rate q = batch / training windows)",
                    "training subjects",
                ),
            };
            let chosen = choose_delta(dp.delta, "fixed (--delta)", units as u64, unit_name)
                .map_err(|e| accounting("choose delta", e))?;
            let (delta, delta_rule) = (chosen.delta, chosen.rule);
            let mut plan_notes: Vec<String> = chosen.warning.into_iter().collect();
            let sched = Schedule::from_epochs(windows as u64, batch as u64, epochs, delta)
                .map_err(|e| accounting("set up the DP-SGD schedule", e))?;
            let cal = calibrate_sigma(
                acc.as_ref(),
                &sched,
                dp.target_epsilon,
                &CalibrationOptions::default(),
            )
            .map_err(|e| accounting("calibrate sigma", e))?;
            plan_notes.extend(cal.note());
            for note in &plan_notes {
                tracing::warn!("{note}");
            }
            Ok(DpPlan {
                request: *dp,
                dp_level: DpLevel::ExampleLevel,
                sampling: Sampling::Poisson,
                accountant: acc.kind(),
                conversion,
                units,
                units_rule: units_rule.into(),
                sample_rate: sched.sample_rate,
                expected_batch_size: sched.sample_rate * units as f64,
                steps_planned: sched.steps,
                delta,
                delta_rule,
                sigma: cal.sigma,
                epsilon_planned: cal.epsilon,
                plan_notes,
            })
        }
        DpMode::ReferenceBatch => {
            let n = sizes.all_real_windows;
            let (delta, delta_rule) = match dp.delta {
                Some(d) => (d, "fixed (--delta)".to_string()),
                None => (
                    reference_delta(n as u64).map_err(|e| accounting("derive delta", e))?,
                    "10^-digits(n) (the reference's rule)".to_string(),
                ),
            };
            let plan_notes: Vec<String> =
                check_delta(delta, n as u64, "real windows (the reference's n)")
                    .map_err(|e| accounting("choose delta", e))?
                    .into_iter()
                    .collect();
            for note in &plan_notes {
                tracing::warn!("{note}");
            }
            let sched = Schedule::from_epochs(n as u64, batch as u64, epochs, delta)
                .map_err(|e| accounting("set up the reference schedule", e))?;
            let sigma = compute_noise_tfp085(
                n as u64,
                batch as u64,
                dp.target_epsilon,
                epochs,
                delta,
                REFERENCE_MIN_NOISE,
            )
            .map_err(|e| accounting("calibrate sigma (tf-privacy 0.8.5 compute_noise)", e))?;
            let epsilon_planned = acc
                .epsilon(&sched, sigma)
                .map_err(|e| accounting("account for the planned steps", e))?;
            Ok(DpPlan {
                request: *dp,
                dp_level: DpLevel::ReferenceBatchLevel,
                sampling: Sampling::Shuffle,
                accountant: acc.kind(),
                conversion,
                units: n,
                units_rule: "windows of all real subjects incl. the held-out test subject (the reference's n)".into(),
                sample_rate: sched.sample_rate,
                expected_batch_size: 1.0,
                steps_planned: sched.steps,
                delta,
                delta_rule,
                sigma,
                epsilon_planned,
                plan_notes,
            })
        }
    }
}

/// What a private training loop did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DpRunStats {
    pub steps_realised: u64,
    pub empty_batches: u64,
    /// Mean over non-empty steps of the fraction of clipped units.
    pub mean_clipped_fraction: f64,
    /// Mean over realised steps of ‖clipped sum‖ (0 for empty batches).
    pub mean_signal_norm: f64,
    /// Trainable parameters d (the noise has σC√d expected norm); set by the caller.
    pub parameters: usize,
    pub notes: Vec<String>,
    pub dp_architecture_note: Option<String>,
}

impl DpPlan {
    /// The fold's privacy record: ε spent for the realised steps, from the plan's accountant.
    pub fn finish(&self, stats: DpRunStats) -> Result<FoldPrivacy, String> {
        let acc = accountant(&self.request);
        let sched = Schedule::new(self.sample_rate, stats.steps_realised.max(1), self.delta)
            .map_err(|e| accounting("account for the realised steps", e))?;
        let mut st = PrivacyStatement::compute(
            acc.as_ref(),
            &sched,
            self.sigma,
            self.sampling,
            self.request.unit,
            self.dp_level,
        )
        .map_err(|e| accounting("account for the realised steps", e))?
        .with_delta_source(self.delta_rule.clone());
        st.conversion = self.conversion.clone();
        let mut notes = stats.notes;
        // δ ≥ 1/n and n < 2 were refused by `plan` (accounting::delta::choose_delta).
        notes.extend(self.plan_notes.iter().cloned());
        notes.push(if self.request.reproducible_noise {
            "DP randomness (batches and Gaussian noise) derived from the recorded seed (--reproducible-dp): anyone who knows the seed can recompute the noise, so the guarantee does NOT hold against them (reproduction and tests only)".to_string()
        } else {
            "DP randomness (batches and Gaussian noise) from a secret key drawn from the operating system for this model and never recorded".to_string()
        });
        Ok(FoldPrivacy {
            dp_level: self.dp_level,
            mode: self.request.mode.as_str().into(),
            accountant: self.accountant,
            conversion: self.conversion.clone(),
            epsilon_target: self.request.target_epsilon,
            epsilon_spent: st.epsilon,
            delta: self.delta,
            delta_rule: self.delta_rule.clone(),
            sigma: self.sigma,
            sample_rate: self.sample_rate,
            expected_batch_size: self.expected_batch_size,
            steps_planned: self.steps_planned,
            steps_realised: stats.steps_realised,
            empty_batches: stats.empty_batches,
            sampling: self.sampling,
            unit: self.request.unit,
            units: self.units,
            units_rule: self.units_rule.clone(),
            clip_norm: self.request.clip_norm,
            mean_clipped_fraction: stats.mean_clipped_fraction,
            noise_to_signal: (stats.mean_signal_norm > 0.0).then(|| {
                self.sigma * self.request.clip_norm * (stats.parameters as f64).sqrt()
                    / stats.mean_signal_norm
            }),
            statement: st.to_string(),
            dp_architecture_note: stats.dp_architecture_note,
            notes,
        })
    }
}

/// Note recorded for example-level DP: no data-dependent loss weights or preprocessing.
pub const EXAMPLE_PREPROCESSING_NOTE: &str = "example-level DP-SGD: nothing is fitted on the \
private windows outside DP-SGD: classes are weighted with the request's public class weights \
(each clipped per-example gradient scaled by w[y]/max(w), so the sensitivity stays C) instead of \
label counts, and the default head sees sign(x)·ln(1+|x|) features instead of standardised ones \
(whose means and sds would come from the private windows)";

/// Note recorded for reference-batch mode with the reference head.
pub const REFERENCE_LOSS_BUG_NOTE: &str = "reference-batch mode reproduces the reference's loss \
bug (spec §4.3): binary cross-entropy with from_logits=True applied to the sigmoid outputs";

/// Note recorded for reference-batch mode.
pub const REFERENCE_BATCH_NOTE: &str = "reference-batch mode: one microbatch per batch (the \
batch-mean gradient is clipped to C and N(0, sigma^2 C^2) is added to it, not divided by the \
batch size), shuffled fixed-size batches; the epsilon is the reference's nominal Poisson \
per-example value and does NOT hold for this training";

/// Splits the privacy stream: stream 0 draws the batches, stream 1 the per-step noise seeds.
fn split(rng: ChaCha20Rng) -> (ChaCha20Rng, ChaCha20Rng) {
    let mut sampling = rng.clone();
    sampling.set_stream(0);
    let mut noise = rng;
    noise.set_stream(1);
    (sampling, noise)
}

fn seed_of(noise: &mut ChaCha20Rng) -> i64 {
    (noise.next_u64() >> 1) as i64
}

/// The trainable parameters in the order the model's tape records them (a dry forward of one
/// window in evaluation mode, so no dropout randomness is consumed).
pub fn tape_params(model: &dyn Classifier, x: &Tensor) -> Vec<Tensor> {
    tch::no_grad(|| {
        let mut tape = Tape::new();
        let _ = model.forward_tape(&mut tape, &x.narrow(0, 0, 1), false);
        tape.params()
    })
}

/// Checks that the tape records every trainable variable exactly once (otherwise Adam would
/// step a parameter with a stale or non-private gradient).
pub fn check_all_recorded(vs: &nn::VarStore, params: &[Tensor]) -> Result<(), String> {
    let trainable = vs.trainable_variables();
    let numel = |v: &[Tensor]| v.iter().map(|t| t.numel()).sum::<usize>();
    if trainable.len() != params.len() || numel(&trainable) != numel(params) {
        return Err(format!(
            "the DP forward records {} parameters ({} values) but the model has {} trainable ({} values)",
            params.len(),
            numel(params),
            trainable.len(),
            numel(&trainable)
        ));
    }
    Ok(())
}

/// One example-level DP-SGD step on the windows `idx` (window unit) or the units' windows with
/// their group ids (subject unit): recorded forward, per-example (per-unit) clipping, noise,
/// division by the expected batch size, written into `.grad` (the optimiser step is the
/// caller's). `class_scales[c]` ∈ (0, 1] are the public class weights w[c]/max(w): a window's
/// clipped gradient is scaled by its class's value (window unit), or its loss is before the
/// unit's summed gradient is clipped (subject unit). Returns (Σ per-window loss / B, the step
/// report). Public for the benchmark.
#[allow(clippy::too_many_arguments)]
pub fn example_step(
    model: &dyn Classifier,
    head: HeadMode,
    x: &Tensor,
    y: &Tensor,
    idx: &[i64],
    group: Option<(&[i64], i64)>,
    class_scales: [f64; 2],
    cfg: &DpStepConfig,
    seed: i64,
    profile: &mut TrainProfile,
) -> (f64, DpStepReport) {
    let mut lap = Lap::start();
    let (xb, yb) = gather_batch(x, y, idx);
    lap.book(&mut profile.batching);
    let mut tape = Tape::new();
    let logits = model.forward_tape(&mut tape, &xb, true);
    let per = per_sample_loss(&logits, &yb, head);
    let loss_sum = per.sum(Kind::Float);
    let mean_loss = loss_sum.double_value(&[]) / idx.len() as f64;
    let table = Tensor::from_slice(&class_scales.map(|s| s as f32)).to_device(x.device());
    let scale = table.index_select(0, &yb);
    lap.book(&mut profile.forward);
    let rep = match group {
        None => dp_step_scaled(&tape, &loss_sum, Some(&scale), cfg, seed),
        Some((g, n_groups)) => {
            let g = Tensor::from_slice(g).to_device(x.device());
            let weighted = (per * scale).sum(Kind::Float);
            dp_step_grouped(&tape, &weighted, &g, n_groups, cfg, seed)
        }
    };
    lap.book(&mut profile.backward);
    (mean_loss, rep)
}

/// The example-level DP-SGD loop (see the module docs). `subjects[i]` is the subject of
/// training window i (used for the subject unit). Returns the mean per-window training loss of
/// the last epoch's worth of steps and the run statistics.
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_example(
    model: &dyn Classifier,
    opt: &mut nn::Optimizer,
    params: &[Tensor],
    head: HeadMode,
    x: &Tensor,
    y: &Tensor,
    subjects: &[u32],
    plan: &DpPlan,
    rng: ChaCha20Rng,
    profile: &mut TrainProfile,
) -> (f64, DpRunStats) {
    let n_windows = subjects.len();
    let cfg = DpStepConfig {
        clip_norm: plan.request.clip_norm,
        noise_multiplier: plan.sigma,
        expected_batch_size: plan.expected_batch_size,
    };
    let index = match plan.request.unit {
        PrivacyUnit::Subject => Some(SubjectIndex::from_labels(subjects)),
        PrivacyUnit::Window => None,
    };
    let n_units = index.as_ref().map_or(n_windows, |i| i.n_subjects());
    let (mut sampling, mut noise) = split(rng);
    let steps_per_epoch = (1.0 / plan.sample_rate).ceil().max(1.0) as u64;
    let mut stats = DpRunStats::default();
    let mut clipped_sum = 0.0;
    let mut signal_sum = 0.0; // empty batches add 0
    let mut non_empty = 0u64;
    let mut last_epoch_losses: Vec<f64> = Vec::new();
    for step in 0..plan.steps_planned {
        let t0 = Instant::now();
        let units = poisson_sample(n_units, plan.sample_rate, &mut sampling);
        let seed = seed_of(&mut noise);
        profile.batching += t0.elapsed().as_secs_f64();
        if units.is_empty() {
            let t = Instant::now();
            pure_noise_step(params, &cfg, seed);
            profile.backward += t.elapsed().as_secs_f64();
            stats.empty_batches += 1;
        } else {
            let (idx, group): (Vec<i64>, Option<Vec<i64>>) = match &index {
                None => (units.iter().map(|&u| u as i64).collect(), None),
                Some(ix) => {
                    let (w, g) = ix.expand(&units);
                    (w.iter().map(|&u| u as i64).collect(), Some(g))
                }
            };
            let (loss, rep) = example_step(
                model,
                head,
                x,
                y,
                &idx,
                group.as_deref().map(|g| (g, units.len() as i64)),
                plan.request.class_scales(),
                &cfg,
                seed,
                profile,
            );
            clipped_sum += rep.clipped_fraction;
            signal_sum += rep.signal_norm;
            non_empty += 1;
            if step + steps_per_epoch >= plan.steps_planned {
                last_epoch_losses.push(loss);
            }
        }
        let t = Instant::now();
        opt.step();
        profile.step += t.elapsed().as_secs_f64();
        stats.steps_realised += 1;
    }
    stats.mean_clipped_fraction = if non_empty > 0 {
        clipped_sum / non_empty as f64
    } else {
        0.0
    };
    stats.mean_signal_norm = signal_sum / stats.steps_realised.max(1) as f64;
    let final_loss = if last_epoch_losses.is_empty() {
        f64::NAN
    } else {
        last_epoch_losses.iter().sum::<f64>() / last_epoch_losses.len() as f64
    };
    (final_loss, stats)
}

/// The reference's loss bug: BCE "from logits" on the sigmoid outputs, averaged over the two
/// one-hot columns (per window).
fn reference_bug_loss(logits: &Tensor, y: &Tensor) -> Tensor {
    let target = y.one_hot(2).to_kind(Kind::Float);
    logits
        .sigmoid()
        .binary_cross_entropy_with_logits::<Tensor>(&target, None, None, tch::Reduction::None)
        .mean_dim([1i64].as_slice(), false, Kind::Float)
}

/// One reference-batch step on the windows `idx`: Keras' class-weighted batch-mean loss, its
/// gradient clipped to C as a whole, plus N(0, σ²C²), written into `.grad`. Returns (loss,
/// whether the gradient was clipped, the clipped gradient's norm).
#[allow(clippy::too_many_arguments)]
fn reference_step(
    model: &dyn Classifier,
    params: &[Tensor],
    head: HeadMode,
    x: &Tensor,
    y: &Tensor,
    w_table: &Tensor,
    idx: &[i64],
    cfg: &DpStepConfig,
    seed: i64,
    profile: &mut TrainProfile,
) -> (f64, bool, f64) {
    let mut lap = Lap::start();
    let (xb, yb) = gather_batch(x, y, idx);
    let wb = w_table.index_select(0, &yb);
    lap.book(&mut profile.batching);
    let logits = model.forward_t(&xb, true);
    let per = match head {
        HeadMode::Reference => reference_bug_loss(&logits, &yb),
        HeadMode::Default => per_sample_loss(&logits, &yb, head),
    };
    let loss = (per * wb).sum(Kind::Float) / idx.len() as f64;
    let value = loss.double_value(&[]);
    lap.book(&mut profile.forward);
    let grads = Tensor::run_backward(&[loss], params, false, false);
    let (noisy, clipped, signal) = tch::no_grad(|| {
        let norm = total_norm(&grads);
        let factor = if norm > cfg.clip_norm {
            cfg.clip_norm / norm
        } else {
            1.0
        };
        let scaled: Vec<Tensor> = grads.iter().map(|g| g * factor).collect();
        (
            noisy_mean(&scaled, cfg, seed),
            norm > cfg.clip_norm,
            norm * factor,
        )
    });
    // Outside no_grad: the first write creates `.grad` through autograd.
    write_grads(params, &noisy);
    lap.book(&mut profile.backward);
    (value, clipped, signal)
}

/// The reference-batch loop: `epochs` passes of shuffled batches of `batch_size`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_reference_batch(
    model: &dyn Classifier,
    opt: &mut nn::Optimizer,
    params: &[Tensor],
    head: HeadMode,
    hyper: &TrainHyper,
    x: &Tensor,
    y: &Tensor,
    w_table: &Tensor,
    plan: &DpPlan,
    mut shuffle: ChaCha20Rng,
    rng: ChaCha20Rng,
    profile: &mut TrainProfile,
) -> (f64, DpRunStats) {
    let n = x.size()[0];
    let cfg = DpStepConfig {
        clip_norm: plan.request.clip_norm,
        noise_multiplier: plan.sigma,
        expected_batch_size: 1.0,
    };
    let (_, mut noise) = split(rng);
    let mut order: Vec<i64> = (0..n).collect();
    let mut stats = DpRunStats::default();
    let mut clipped = 0u64;
    let mut signal_sum = 0.0;
    let mut final_loss = f64::NAN;
    for _ in 0..hyper.epochs {
        order.shuffle(&mut shuffle);
        let mut sum = 0.0;
        let mut batches = 0usize;
        for chunk in order.chunks(hyper.batch_size.max(1)) {
            let seed = seed_of(&mut noise);
            let (loss, c, signal) = reference_step(
                model, params, head, x, y, w_table, chunk, &cfg, seed, profile,
            );
            let t = Instant::now();
            opt.step();
            profile.step += t.elapsed().as_secs_f64();
            sum += loss;
            batches += 1;
            clipped += c as u64;
            signal_sum += signal;
            stats.steps_realised += 1;
        }
        final_loss = sum / batches.max(1) as f64;
    }
    stats.mean_clipped_fraction = clipped as f64 / stats.steps_realised.max(1) as f64;
    stats.mean_signal_norm = signal_sum / stats.steps_realised.max(1) as f64;
    (final_loss, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ClassifierKind;

    fn hyper(epochs: usize, batch: usize) -> TrainHyper {
        TrainHyper {
            epochs,
            batch_size: batch,
            ..ClassifierKind::Cnn.reference_hyper()
        }
    }

    const SIZES: DpSizes = DpSizes {
        train_windows: 494,
        train_subjects: 14,
        all_real_windows: 530,
    };

    #[test]
    fn example_plan_uses_the_fold_and_calibrates_below_target() {
        let dp = DpTraining::example(1.0);
        let p = plan(&dp, &hyper(10, 50), SIZES).unwrap();
        assert_eq!(p.units, 494);
        assert!((p.sample_rate - 50.0 / 494.0).abs() < 1e-15);
        assert_eq!(p.steps_planned, 99); // ⌈10 · 494 / 50⌉
                                         // min(1e-5, 1/(100 n)) for n = 494 windows
        assert_eq!(p.delta, 1e-5);
        assert!(
            p.delta_rule.contains("min(1e-5, 1/(100 n)), n = 494"),
            "{}",
            p.delta_rule
        );
        assert!(p.epsilon_planned <= 1.0 && p.epsilon_planned > 0.99);
        assert!((p.expected_batch_size - 50.0).abs() < 1e-9);
        let rec = p
            .finish(DpRunStats {
                steps_realised: 99,
                ..Default::default()
            })
            .unwrap();
        assert!(rec.epsilon_spent <= 1.0 + 1e-9);
        assert!(rec.statement.contains("per window") && rec.statement.contains("poisson"));
        assert!(
            rec.statement.contains("min(1e-5, 1/(100 n))"),
            "{}",
            rec.statement
        );
        assert_eq!(rec.accountant, AccountantKind::Rdp);
        // Fewer realised steps spend less.
        let fewer = p
            .finish(DpRunStats {
                steps_realised: 50,
                ..Default::default()
            })
            .unwrap();
        assert!(fewer.epsilon_spent < rec.epsilon_spent);
    }

    #[test]
    fn subject_plan_counts_subjects() {
        let dp = DpTraining {
            unit: PrivacyUnit::Subject,
            delta: Some(1e-2),
            ..DpTraining::example(10.0)
        };
        let p = plan(&dp, &hyper(2, 50), SIZES).unwrap();
        assert_eq!(p.units, 14);
        assert_eq!(p.delta, 1e-2);
        assert!((p.expected_batch_size - 14.0 * 50.0 / 494.0).abs() < 1e-12);
    }

    #[test]
    fn reference_plan_matches_the_spec_sigma() {
        let dp = DpTraining {
            mode: DpMode::ReferenceBatch,
            ..DpTraining::example(1.0)
        };
        let p = plan(&dp, &hyper(10, 50), SIZES).unwrap();
        assert_eq!(p.units, 530);
        assert_eq!(p.delta, 1e-3);
        assert_eq!(p.steps_planned, 106);
        // spec §6.3: σ stored in the reference repository for CNN, ε = 1.
        assert!((p.sigma - 3.023440150150832).abs() < 1e-6, "{}", p.sigma);
        assert_eq!(p.dp_level, DpLevel::ReferenceBatchLevel);
        assert_eq!(p.sampling, Sampling::Shuffle);
        let rec = p
            .finish(DpRunStats {
                steps_realised: 100,
                ..Default::default()
            })
            .unwrap();
        assert!(rec.statement.contains("not example-level DP"));
        assert!(rec.epsilon_spent < 1.0);
        // The reference's accountant is named as such, not as dpwear's default RDP.
        assert_eq!(p.accountant, AccountantKind::RdpReference);
        assert_eq!(rec.accountant, AccountantKind::RdpReference);
        assert!(
            rec.statement.contains("rdp-reference accountant"),
            "{}",
            rec.statement
        );
        // The reference's δ = 1e-3 is below 1/530 but not far below it: recorded as a warning;
        // then where the DP randomness came from (a secret key by default).
        assert_eq!(rec.notes.len(), 2, "{:?}", rec.notes);
        assert!(
            rec.notes[0].contains("not far below 1/n"),
            "{:?}",
            rec.notes
        );
        assert!(rec.notes[1].contains("secret key"), "{:?}", rec.notes);
        // A set δ ≥ 1/n (0.01 ≥ 1/494) is refused, not stated with a warning.
        let weak = plan(
            &DpTraining {
                delta: Some(0.01),
                ..DpTraining::example(1.0)
            },
            &hyper(1, 50),
            SIZES,
        )
        .unwrap_err();
        assert!(
            weak.contains("not below 1/n") && weak.contains("494 training windows"),
            "{weak}"
        );
    }

    #[test]
    fn default_delta_is_meaningful_for_few_subjects_and_one_subject_is_refused() {
        // Two training subjects: the old default 1/n^1.1 stated δ = 0.47.
        let dp = DpTraining {
            unit: PrivacyUnit::Subject,
            ..DpTraining::example(10.0)
        };
        let two = DpSizes {
            train_subjects: 2,
            ..SIZES
        };
        let p = plan(&dp, &hyper(1, 50), two).unwrap();
        assert_eq!((p.units, p.delta), (2, 1e-5));
        let one = DpSizes {
            train_subjects: 1,
            ..SIZES
        };
        let e = plan(&dp, &hyper(1, 50), one).unwrap_err();
        assert!(e.contains("n = 1 privacy unit (training subjects)"), "{e}");
        assert!(!e.contains("delta = 1 "), "{e}");
        // A set δ of 0.5 for two subjects is refused.
        let set = DpTraining {
            delta: Some(0.5),
            ..dp
        };
        assert!(plan(&set, &hyper(1, 50), two).unwrap_err().contains("1/n"));
    }

    /// The CNN's DP step clips per example: one window with a huge gradient moves the noiseless
    /// DP gradient by at most 2C/E (its clipped gradient replaces another clipped one), while
    /// its unclipped gradient is orders of magnitude larger; and the total is at most B·C/E.
    #[test]
    fn cnn_dp_step_clips_each_example() {
        use crate::models::classifiers::build_dp;
        use tch::{Device, Kind};
        tch::set_num_threads(1);
        tch::manual_seed(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let (model, _) = build_dp(ClassifierKind::Cnn, vs.root());
        let base = Tensor::rand([4, 6, 210], (Kind::Float, Device::Cpu));
        let huge = base.copy();
        let _ = huge.get(3).g_mul_scalar_(1e4);
        let y = Tensor::from_slice(&[0i64, 1, 0, 1]);
        let idx = [0i64, 1, 2, 3];
        let params = tape_params(model.as_ref(), &base);
        check_all_recorded(&vs, &params).unwrap();
        let (clip, e) = (1.0, 4.0);
        let cfg = DpStepConfig {
            clip_norm: clip,
            noise_multiplier: 0.0,
            expected_batch_size: e,
        };
        let grad_of = |x: &Tensor| -> Vec<Tensor> {
            tch::manual_seed(11); // identical dropout masks in both batches
            let mut prof = TrainProfile::default();
            let (_, rep) = example_step(
                model.as_ref(),
                HeadMode::Reference,
                x,
                &y,
                &idx,
                None,
                [0.4, 1.0], // public class scales ≤ 1 keep the bounds below
                &cfg,
                0,
                &mut prof,
            );
            assert!(rep.clipped_fraction > 0.0 && rep.signal_norm > 0.0);
            params.iter().map(|p| p.grad().copy()).collect()
        };
        let norm = |v: &[Tensor]| -> f64 { crate::privacy::dpsgd::total_norm(v) };
        let g_base = grad_of(&base);
        let g_huge = grad_of(&huge);
        let diff: Vec<Tensor> = g_base.iter().zip(&g_huge).map(|(a, b)| a - b).collect();
        assert!(norm(&g_huge) <= 4.0 * clip / e * (1.0 + 1e-4));
        assert!(
            norm(&diff) <= 2.0 * clip / e * (1.0 + 1e-4),
            "one example moved the gradient by {}",
            norm(&diff)
        );
        // The unclipped per-example gradient of the huge window is far above C.
        tch::manual_seed(11);
        let mut tape = Tape::new();
        let logits = model.forward_tape(&mut tape, &huge, true);
        let loss = per_sample_loss(&logits, &y, HeadMode::Reference).sum(Kind::Float);
        let norms = tape.per_example_grads(&loss).norms();
        assert!(norms.double_value(&[3]) > 100.0 * clip, "{norms:?}");
    }

    #[test]
    fn bad_requests_are_refused() {
        let h = hyper(1, 50);
        for dp in [
            DpTraining::example(0.0),
            DpTraining::example(-1.0),
            DpTraining {
                delta: Some(1.0),
                ..DpTraining::example(1.0)
            },
            DpTraining {
                clip_norm: 0.0,
                ..DpTraining::example(1.0)
            },
            DpTraining {
                mode: DpMode::ReferenceBatch,
                unit: PrivacyUnit::Subject,
                ..DpTraining::example(1.0)
            },
            DpTraining {
                mode: DpMode::ReferenceBatch,
                accountant: AccountantKind::Prv,
                ..DpTraining::example(1.0)
            },
        ] {
            assert!(plan(&dp, &h, SIZES).is_err(), "{dp:?}");
        }
        // batch larger than the training set
        assert!(plan(&DpTraining::example(1.0), &hyper(1, 600), SIZES).is_err());
        // unreachable ε (a tiny δ: with δ² above the total RDP the conversion gives ε = 0)
        let tiny = DpTraining {
            delta: Some(1e-10),
            ..DpTraining::example(1e-9)
        };
        let e = plan(&tiny, &hyper(10, 50), SIZES).unwrap_err();
        assert!(e.contains("cannot be reached"), "{e}");
    }
}
