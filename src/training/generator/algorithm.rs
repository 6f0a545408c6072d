//! What a generator training algorithm implements: one step at a time. The executor
//! ([`super::executor`]) owns the loop, checkpoints, interrupts and progress; an algorithm owns
//! its networks, optimisers and the maths of one step.
//!
//! Contract (what makes checkpoints, resume and the privacy statement true):
//! - every random draw of step `k` comes from the [`StepRng`] the executor passes for `k`
//!   (never from libtorch's global generator after construction);
//! - [`GanAlgorithm::state`] returns every tensor that the next step reads (weights of all
//!   networks, optimiser moments, released statistics), and [`GanAlgorithm::load_state`]
//!   restores it exactly;
//! - every update that reads real windows is a DP mechanism when `dp` is set, and the step
//!   reports how many such mechanism invocations it ran ([`StepReport::private_steps`]); the
//!   executor adds them up and the privacy statement is computed from that realised count.
//!
//! May depend on: tch, the generator models, privacy::dpsgd.

use tch::Tensor;

use super::data::GenData;
use super::rng::StepRng;
use crate::models::generator_spec::GeneratorKind;
use crate::privacy::accounting::PrivacyUnit;

/// What one step did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepReport {
    /// Named losses of the step (e.g. `d`, `g`), for progress and the model card.
    pub losses: Vec<(&'static str, f64)>,
    /// DP mechanism invocations on real data in this step (D steps under DP-SGD; 1 for a
    /// one-shot release; 0 otherwise).
    pub private_steps: u64,
    /// Of those, steps whose Poisson batch was empty (pure-noise steps).
    pub empty_batches: u64,
    /// Sum over this step's private steps of the fraction of clipped units.
    pub clipped_fraction_sum: f64,
}

/// How a training touches the real windows, for planning σ before it starts.
#[derive(Clone, Debug, PartialEq)]
pub enum PrivateUse {
    /// DP-SGD: `steps` noisy updates, each on a fresh Poisson batch of expected size
    /// `expected_batch` windows (q = expected_batch / windows). For the subject unit, subjects
    /// are drawn with the same rate q.
    DpSgd { expected_batch: f64, steps: u64 },
    /// One Gaussian release of a statistic (q = 1, one step). The algorithm scales the noise
    /// by its own sensitivity: std = σ · Δ.
    OneShotGaussian,
    /// This training cannot be made private as configured; the reason is shown to the user.
    Impossible(String),
}

/// The DP settings an algorithm trains with (σ calibrated before training by
/// [`super::privacy::plan`]).
#[derive(Clone, Debug, PartialEq)]
pub struct DpSettings {
    /// Noise multiplier σ (noise std σ·C for DP-SGD, σ·Δ for a one-shot release).
    pub sigma: f64,
    /// Per-unit clipping norm C of DP-SGD.
    pub clip_norm: f64,
    /// Poisson rate q (per window, or per subject for the subject unit).
    pub sample_rate: f64,
    /// Expected real batch q · units (windows for the window unit).
    pub expected_batch: f64,
    /// Fake rows per D step: fixed, so the number of fakes reveals nothing about |batch|.
    pub fake_batch: usize,
    pub unit: PrivacyUnit,
}

/// A generator training algorithm on data of type `D` (sensor windows by default; the
/// tabular BGAN trains on records).
pub trait GanAlgorithm<D: ?Sized = GenData> {
    fn kind(&self) -> GeneratorKind;
    /// Executor steps in the whole schedule.
    fn total_steps(&self) -> u64;
    /// Runs step `step` (0-based) on `data`.
    fn step(&mut self, step: u64, data: &D, rng: &mut StepRng) -> Result<StepReport, String>;
    /// The whole training state by stable name (see the module contract).
    fn state(&self) -> Vec<(String, Tensor)>;
    /// Restores [`GanAlgorithm::state`].
    fn load_state(&mut self, named: &[(String, Tensor)]) -> Result<(), String>;
    /// The released generator: the tensors [`super::sampler`] needs to sample, by name.
    fn generator_tensors(&self) -> Vec<(String, Tensor)>;
}

/// Schedule and size overrides from the command line (or a grid cell); `None` keeps the
/// mode's value. Each family says how it reads them (e.g. cGAN epochs are passes over the
/// windows; TimeGAN steps are joint iterations).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Overrides {
    pub epochs: Option<u64>,
    pub steps: Option<u64>,
    pub batch_size: Option<usize>,
    /// D steps per G step (critic ratio) where the family has one.
    pub d_steps: Option<u64>,
}

/// Synthetic windows drawn from a generator.
#[derive(Debug)]
pub struct Sampled {
    /// (n, 60, 6) float32.
    pub windows: Tensor,
    /// (n, 60) int64 per-second labels: the requested label for conditional generators, the
    /// generated (thresholded) label channel for DoppelGANger.
    pub step_labels: Tensor,
}

/// Refuses labels a conditional sampler of `n_classes` classes cannot draw; `what` names the
/// generator in the message.
pub fn check_labels(labels: &[u8], n_classes: usize, what: &str) -> Result<(), String> {
    match labels.iter().find(|&&l| l as usize >= n_classes) {
        Some(l) => Err(format!(
            "label {l} requested from a {what} of {n_classes} classes"
        )),
        None => Ok(()),
    }
}

/// The per-second labels of conditionally drawn windows: label i repeated over the window's
/// 60 seconds, (n, 60) int64.
pub fn constant_step_labels(labels: &[u8], device: tch::Device) -> Tensor {
    let n = labels.len() as i64;
    super::rng::label_tensor(labels, device)
        .unsqueeze(1)
        .expand([n, super::data::SEQ_LEN], false)
        .contiguous()
}

/// A trained generator, rebuilt from its released tensors and hyper-parameters.
pub trait WindowSampler {
    /// True when windows are drawn for requested labels; false when the generator makes its
    /// own labels (DoppelGANger's label channel).
    fn conditional(&self) -> bool;
    /// `labels.len()` windows; a conditional generator draws window i with label `labels[i]`.
    fn sample(&self, labels: &[u8], rng: &mut rand_chacha::ChaCha20Rng) -> Result<Sampled, String>;
}

/// The inputs of the reference's σ calibration (tf-privacy `compute_noise(n, batch, ε,
/// epochs, δ, 1e-5)`, spec §3.1.5): what the reference intended, applied for real.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReferenceSigma {
    pub n: u64,
    pub batch: u64,
    pub epochs: f64,
    pub delta: f64,
    /// How the inputs were derived (recorded in the card).
    pub rule: String,
}

/// One generator family with its hyper-parameters fixed: what the executor and the privacy
/// planner need to know before training, and how to build the algorithm.
pub trait Family {
    fn kind(&self) -> GeneratorKind;
    /// The hyper-parameters as recorded in the model card (the family's own serde type).
    fn hyper_json(&self) -> serde_json::Value;
    /// Checks the hyper-parameters against the data (batch larger than the windows, zero
    /// steps, ...), before anything is trained.
    fn validate(&self, data: &GenData) -> Result<(), String>;
    /// How this training reads real data when made private with `unit`.
    fn private_use(&self, data: &GenData, unit: PrivacyUnit) -> PrivateUse;
    /// Fake rows per private D step, given the expected real batch.
    fn fake_batch(&self, expected_batch: f64) -> usize {
        expected_batch.round().max(1.0) as usize
    }
    /// Notes for the model card (reference-mode quirks, substitutions).
    fn notes(&self) -> Vec<String>;
    /// The reference's own σ calibration, where the family's reference mode had one (the DP
    /// cGAN: tf-privacy's `compute_noise` with its inputs). `None`: σ is calibrated by dpwear
    /// for the exact schedule. Either way the stated ε is dpwear's, for the steps realised.
    fn reference_sigma(&self, _data: &GenData) -> Option<ReferenceSigma> {
        None
    }
    /// The algorithm, networks initialised from libtorch's generator (seeded by the caller).
    fn build(
        &self,
        data: &GenData,
        dp: Option<DpSettings>,
        device: tch::Device,
    ) -> Result<Box<dyn GanAlgorithm>, String>;
    /// The sampler over released tensors (from [`GanAlgorithm::generator_tensors`]).
    fn sampler(
        &self,
        tensors: &[(String, Tensor)],
        device: tch::Device,
    ) -> Result<Box<dyn WindowSampler>, String>;
}
