//! The conditional LSTM GAN family (spec §3.1): its hyper-parameters ([`CganHyper`], both modes),
//! the training algorithm (D steps, DP-SGD when private, then one G step) and the sampler. The
//! networks live in `models::generators::cgan`.
//!
//! **Reference mode** (spec §3.1.4–3.1.5, the thesis' binary version): real batches of 8 from a
//! fresh shuffle every epoch (the last batch short), 420 epochs, one D step and one G step per
//! executor step, D and G Adam(2e-4, β1 0.5). The fakes of a D step are G(z, y) with the real
//! batch's labels y (one fake per real row); the G step draws a new z for the same labels. The
//! mode-seeking term L_z = 8 · mean|G(z1) − G(z2)| / mean|z1 − z2| (halves of the G batch) is
//! computed but, as in the reference (which evaluated G_z1, G_z2 outside the GradientTape), carries
//! no gradient: it is only logged (`div`). Not reproduced: the reference's `shuffle → cache` froze
//! one partial shuffle for all epochs (here every epoch is reshuffled); with an odd batch the
//! reference compared halves of sizes ⌊b/2⌋ and ⌈b/2⌉ by broadcasting (here the first ⌊b/2⌋ rows
//! against the next ⌊b/2⌋).
//!
//! **Reference mode with DP**: what the reference intended and never ran (its DP optimiser's
//! `compute_gradients` was never called, spec §3.1.5). D Adam(1e-3, β 0.9/0.999); a fresh Poisson
//! batch with expected size 8 per D step; real row i and its fake (same label y_i) are ONE privacy
//! unit: their summed gradient is clipped to C jointly, so the number of fakes (= |batch|) is
//! inside the unit and reveals nothing; noise N(0, σ²C²) once per step; divided by the expected
//! batch 8. D steps = ⌈epochs · n / 8⌉. σ comes from the reference's own calibration
//! ([`Family::reference_sigma`]: tf-privacy `compute_noise` with n = sliding windows // 2, 2 ·
//! epochs, δ = 1e-4); the stated ε is dpwear's, for the steps run. Because the reference's G step
//! reused the real batch's labels (private), the G step here draws its 8 labels from the public
//! prior (below) instead.
//!
//! **Default mode** (dpwear's design for DP at n ≈ 500, dp-generators.md §1.4 "BCE cGAN", after Bie
//! et al.): Poisson real batches with expected size 32 (private or not); 1 D step per G step; a
//! FIXED number F of fake rows per D step (private: `dp.fake_batch`, which this family sets to the
//! expected real batch in privacy units, rounded, at least 1 — 32 for the window unit; else the
//! batch size) whose labels come from a PUBLIC prior — binary [0.7, 0.3] (the 70/30
//! non-stress/stress design ratio of the WESAD protocol and of the reference's generation), 3-class
//! [0.55, 0.3, 0.15] (the protocol's baseline/stress/amusement durations), uniform otherwise —
//! never from the real label counts. Under DP every real row and every fake row is its own clipped
//! unit (fakes are post-processing, clipping them keeps the scales of the two losses alike), the
//! divisor is expected real batch + fake rows. D Adam(2e-4, β1 0.5): the usual DCGAN setting, which
//! Bie et al. also use for the private D. G Adam(2e-4, β1 0.5). The G loss is
//! BCE(1, D(G(z, y), y)) plus λ / (L_z + 1e-5), MSGAN's own bounded mode-seeking form, differentiated — with λ = 0 by
//! default (set `ms_lambda` in the hyper-parameters to use it). Measured on the 15 reference
//! subjects, 100 epochs, not private: with the reference's −λ·L_z differentiated, or with
//! λ = 1 in the bounded form, the generator inflated its ReLU outputs (window means ≈ 2 and
//! within-window sds ≈ 1 where the data have 0.1–0.7 and 0.01–0.1) while D won (D loss 0.003
//! at 5 D steps per G step); with λ = 0 and 1 D step per G step the values came back into the
//! data's range. The reference's −8 · L_z never acted. The G step takes `batch_size` (32)
//! latents; its labels are ⌊32/2⌋ prior draws repeated for the second half, so that L_z (when
//! used) compares two latents under the same label (MSGAN's conditional form). Schedule: 300
//! epochs, D steps = ⌈epochs · n / batch⌉ (the class conditioning had not emerged after 100
//! epochs; the reference's 420 epochs of batch 8 show it); `--d-steps` sets more D steps per G
//! step (Bie et al.'s many-D-steps recipe for DP) within the same D-step budget.
//!
//! **Subject unit**: subjects are Poisson-sampled with the rate q; each subject's windows (and, in
//! reference mode, their paired fakes) form one clipped unit; default-mode fakes stay units of
//! their own, as many as the expected subjects per batch (rounded, at least 1), so real and fake
//! units weigh alike. The divisor counts expected subjects (+ fakes).
//!
//! Reported losses: `d` (non-private: mean BCE of the D steps), `d_fake` (under DP: the fake rows'
//! BCE only, since the real rows' loss is a non-private statistic), `g` (the G loss), `g_bce` (its
//! BCE part) and `div` (λ · L_z).
//!
//! Schedule overrides: `epochs` as above; `steps` fixes the executor steps (G steps) and ignores
//! the epochs; `batch_size` the (expected) real batch; `d_steps` the D:G ratio. An executor step =
//! one G step after its `d_steps` D steps. Every D step that reads real data under DP is a counted
//! private step, including those whose Poisson batch was empty (fake rows only, or pure noise when
//! there are none).
//!
//! Randomness: Poisson draws from `rng.batch`, latents and fake labels from `rng.latent`, DP noise
//! seeds from `rng.noise`. An executor step first draws the real batches of all its D steps, then
//! all their fake labels and latents, and makes every fake in one generator pass (G is fixed during
//! those D steps, so this equals one pass per D step); the per-epoch shuffle of non-private
//! reference batches from the (run seed, epoch) stream `Other(SHUFFLE_STREAM)`. The sampler draws z
//! from the caller's stream with `rng::normal`.
//!
//! May depend on: tch, serde, the generator networks, privacy::dpsgd, the generator training
//! traits, rng and Adam.

use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Reduction, Tensor};

use crate::models::generator_spec::{GeneratorKind, GeneratorMode};
use crate::models::generators::cgan::{
    copy_named, CganDiscriminator, CganGenerator, LATENT_DIM, N_FEATURES, SEQ_LEN,
};
use crate::privacy::accounting::PrivacyUnit;
use crate::privacy::dpsgd::{
    dp_step, dp_step_grouped, poisson_sample, pure_noise_step, shuffle_batches, write_grads,
    DpStepConfig, DpStepReport, SubjectIndex, Tape,
};
use crate::training::generator::adam::{Adam, AdamConfig};
use crate::training::generator::algorithm::{
    check_labels, constant_step_labels, DpSettings, Family, GanAlgorithm, Overrides, PrivateUse,
    ReferenceSigma, Sampled, StepReport, WindowSampler,
};
use crate::training::generator::data::GenData;
use crate::training::generator::rng::{self, StepPurpose, StepRng};

/// MSGAN's ε in λ / (L_z + ε) (the official implementation's 1e-5).
pub const MS_EPS: f64 = 1e-5;

/// Stream tag of the per-epoch shuffle of non-private shuffled batches.
pub const SHUFFLE_STREAM: u32 = 0x6367;
/// Windows generated per forward pass by the sampler.
const SAMPLE_CHUNK: usize = 2048;

/// How real batches are drawn when training is not private (private training is always
/// Poisson).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BatchSampling {
    /// A fresh shuffle each epoch, fixed-size batches, the last one short (reference).
    Shuffle,
    /// Independent inclusion with rate batch / n.
    Poisson,
}

/// The fake rows of a D step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FakeRows {
    /// One fake per real row with that row's label (reference); under DP the pair is one unit.
    Paired,
    /// A fixed number of fakes with labels from the public prior; under DP each its own unit.
    Prior,
}

/// The cGAN's hyper-parameters (recorded in the model card).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CganHyper {
    pub mode: GeneratorMode,
    pub n_classes: usize,
    /// Real windows per D step: the shuffled batch, or the expected Poisson batch.
    pub batch_size: usize,
    /// Passes over the windows (ignored when `steps` is set).
    pub epochs: u64,
    /// Executor steps (G steps), overriding `epochs`.
    pub steps: Option<u64>,
    /// D steps per G step.
    pub d_steps: u64,
    /// D optimiser of non-private training.
    pub d_adam: AdamConfig,
    /// D optimiser under DP.
    pub d_adam_private: AdamConfig,
    pub g_adam: AdamConfig,
    /// λ of the mode-seeking term L_z.
    pub ms_lambda: f64,
    /// Whether L_z is differentiated (default) or only logged (reference).
    pub ms_gradient: bool,
    /// Real batches of non-private training.
    pub sampling: BatchSampling,
    pub fakes: FakeRows,
    /// Public label prior of the G step's labels (and of the fakes for `FakeRows::Prior`).
    pub label_prior: Vec<f64>,
}

/// The public label prior for `n_classes` (see the module docs).
pub fn public_prior(n_classes: usize) -> Vec<f64> {
    match n_classes {
        2 => vec![0.7, 0.3],
        3 => vec![0.55, 0.3, 0.15],
        c => vec![1.0 / c as f64; c],
    }
}

impl CganHyper {
    /// The hyper-parameters of `mode` (see the module docs).
    pub fn for_mode(mode: GeneratorMode, n_classes: usize) -> Self {
        match mode {
            GeneratorMode::Reference => Self {
                mode,
                n_classes,
                batch_size: 8,
                epochs: 420,
                steps: None,
                d_steps: 1,
                d_adam: AdamConfig::new(2e-4, 0.5),
                d_adam_private: AdamConfig::new(1e-3, 0.9),
                g_adam: AdamConfig::new(2e-4, 0.5),
                ms_lambda: 8.0,
                ms_gradient: false,
                sampling: BatchSampling::Shuffle,
                fakes: FakeRows::Paired,
                label_prior: public_prior(n_classes),
            },
            GeneratorMode::Default => Self {
                mode,
                n_classes,
                batch_size: 32,
                epochs: 300,
                steps: None,
                d_steps: 1,
                d_adam: AdamConfig::new(2e-4, 0.5),
                d_adam_private: AdamConfig::new(2e-4, 0.5),
                g_adam: AdamConfig::new(2e-4, 0.5),
                ms_lambda: 0.0,
                ms_gradient: true,
                sampling: BatchSampling::Poisson,
                fakes: FakeRows::Prior,
                label_prior: public_prior(n_classes),
            },
        }
    }

    fn apply(&mut self, o: &Overrides) {
        if let Some(e) = o.epochs {
            self.epochs = e;
        }
        if let Some(s) = o.steps {
            self.steps = Some(s);
        }
        if let Some(b) = o.batch_size {
            self.batch_size = b;
        }
        if let Some(d) = o.d_steps {
            self.d_steps = d;
        }
    }

    /// Checks that do not need the data.
    pub fn check(&self) -> Result<(), String> {
        if self.n_classes < 2 {
            return Err(format!(
                "the cGAN needs at least 2 classes, got {}",
                self.n_classes
            ));
        }
        if self.batch_size == 0 {
            return Err("cGAN batch size must be at least 1".into());
        }
        if self.d_steps == 0 {
            return Err("cGAN D steps per G step must be at least 1".into());
        }
        match self.steps {
            Some(0) => return Err("cGAN steps must be at least 1".into()),
            None if self.epochs == 0 => return Err("cGAN epochs must be at least 1".into()),
            _ => {}
        }
        if self.label_prior.len() != self.n_classes
            || self
                .label_prior
                .iter()
                .any(|p| !(p.is_finite() && *p >= 0.0))
            || (self.label_prior.iter().sum::<f64>() - 1.0).abs() > 1e-9
        {
            return Err(format!(
                "cGAN label prior {:?} must hold {} probabilities summing to 1",
                self.label_prior, self.n_classes
            ));
        }
        if !(self.ms_lambda.is_finite() && self.ms_lambda >= 0.0) {
            return Err(format!(
                "cGAN mode-seeking weight {} must be finite and >= 0",
                self.ms_lambda
            ));
        }
        for (name, a) in [
            ("D", &self.d_adam),
            ("private D", &self.d_adam_private),
            ("G", &self.g_adam),
        ] {
            if !(a.lr.is_finite() && a.lr > 0.0) {
                return Err(format!("cGAN {name} learning rate {} must be > 0", a.lr));
            }
        }
        Ok(())
    }

    fn shuffled(&self, private: bool) -> bool {
        !private && self.sampling == BatchSampling::Shuffle
    }

    /// (executor steps, D steps) on `n` windows. Shuffled: epochs · ⌈n / b⌉ D steps;
    /// Poisson: ⌈epochs · n / b⌉; both rounded up to whole G steps of `d_steps` D steps.
    pub fn schedule(&self, n: usize, private: bool) -> (u64, u64) {
        let d = self.d_steps.max(1);
        let exec = match self.steps {
            Some(s) => s,
            None => {
                let b = self.batch_size.max(1) as u64;
                let n = n as u64;
                let d_total = if self.shuffled(private) {
                    self.epochs.saturating_mul(n.div_ceil(b))
                } else {
                    self.epochs.saturating_mul(n).div_ceil(b)
                };
                d_total.div_ceil(d)
            }
        };
        (exec, exec.saturating_mul(d))
    }
}

/// The G loss on latents `z` (B, 60) and labels `y` (B,), with L_z = mean|G(z1) − G(z2)| /
/// mean|z1 − z2| over the first ⌊B/2⌋ rows against the next ⌊B/2⌋: with `gradient`,
/// BCE(1, D(G(z, y), y)) + λ / (L_z + 1e-5) (MSGAN's bounded form); without, the reference's
/// BCE − λ · L_z with L_z a constant. Returns (loss, BCE, the added term).
pub fn generator_loss(
    g: &CganGenerator,
    d: &CganDiscriminator,
    z: &Tensor,
    y: &Tensor,
    lambda: f64,
    gradient: bool,
) -> (Tensor, f64, f64) {
    let fake = g.forward(z, y);
    let logits = d.forward(&fake, y);
    let bce = logits.binary_cross_entropy_with_logits::<Tensor>(
        &logits.ones_like(),
        None,
        None,
        Reduction::Mean,
    );
    let h = z.size()[0] / 2;
    let ratio = if h > 0 && lambda > 0.0 {
        let num = (fake.narrow(0, 0, h) - fake.narrow(0, h, h))
            .abs()
            .mean(Kind::Float);
        let den = (z.narrow(0, 0, h) - z.narrow(0, h, h))
            .abs()
            .mean(Kind::Float);
        Some(num / den)
    } else {
        None
    };
    // The term added to the BCE: the reference's −λ·L_z, detached (it had no effect), or
    // MSGAN's own bounded form λ / (L_z + 1e-5) with its gradient. (−λ·L_z with a gradient
    // rewards ever larger differences between outputs, and the ReLU output is unbounded: the
    // generator inflates its outputs instead of matching the data.)
    let term = match ratio {
        None => bce.zeros_like(),
        Some(r) if gradient => (r + MS_EPS).reciprocal() * lambda,
        Some(r) => (r * -lambda).detach(),
    };
    let loss = &bce + &term;
    let (b, dv) = (bce.double_value(&[]), term.double_value(&[]));
    (loss, b, dv)
}

/// The rows of one D step: real rows first, then fakes.
#[derive(Debug)]
pub struct DBatch {
    /// Number of real rows.
    pub n_real: usize,
    pub n_fake: usize,
    /// (B + F, 60, 6).
    pub x: Tensor,
    /// (B + F,) int64.
    pub y: Tensor,
    /// (B + F,) float: 1 real, 0 fake.
    pub target: Tensor,
    /// Privacy unit of each row (0..n_units).
    pub unit: Vec<i64>,
    pub n_units: i64,
    /// Labels of the real rows (the reference's G step reuses them when non-private).
    pub real_labels: Vec<u8>,
}

/// The cGAN training algorithm.
pub struct CganAlgorithm {
    hyper: CganHyper,
    _vs: nn::VarStore,
    g: CganGenerator,
    d: CganDiscriminator,
    g_opt: Adam,
    d_opt: Adam,
    dp: Option<DpSettings>,
    subjects: Option<SubjectIndex>,
    n: usize,
    total: u64,
    device: Device,
}

impl std::fmt::Debug for CganAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CganAlgorithm")
            .field("hyper", &self.hyper)
            .field("dp", &self.dp)
            .field("n", &self.n)
            .field("total", &self.total)
            .finish()
    }
}

impl CganAlgorithm {
    /// Networks initialised from libtorch's global generator (G first, then D).
    pub fn new(
        hyper: CganHyper,
        data: &GenData,
        dp: Option<DpSettings>,
        device: Device,
    ) -> Result<Self, String> {
        hyper.check()?;
        if data.n_classes != hyper.n_classes {
            return Err(format!(
                "the cGAN was configured for {} classes but the data have {}",
                hyper.n_classes, data.n_classes
            ));
        }
        if let Some(dp) = &dp {
            if !(dp.sample_rate > 0.0 && dp.sample_rate <= 1.0) {
                return Err(format!("sample rate {} must lie in (0, 1]", dp.sample_rate));
            }
            if !(dp.clip_norm.is_finite() && dp.clip_norm > 0.0) {
                return Err(format!("clip norm {} must be finite and > 0", dp.clip_norm));
            }
            if !(dp.sigma.is_finite() && dp.sigma >= 0.0) {
                return Err(format!(
                    "noise multiplier {} must be finite and >= 0",
                    dp.sigma
                ));
            }
            if !(dp.expected_batch.is_finite() && dp.expected_batch > 0.0) {
                return Err(format!("expected batch {} must be > 0", dp.expected_batch));
            }
        }
        let subjects = match &dp {
            Some(s) if s.unit == PrivacyUnit::Subject => {
                Some(SubjectIndex::from_labels(&data.subject_of))
            }
            _ => None,
        };
        let vs = nn::VarStore::new(device);
        let c = hyper.n_classes as i64;
        let g = CganGenerator::new(vs.root() / "g", c);
        let d = CganDiscriminator::new(vs.root() / "d", c);
        let g_opt = Adam::new(g.parameters(), hyper.g_adam);
        let d_cfg = if dp.is_some() {
            hyper.d_adam_private
        } else {
            hyper.d_adam
        };
        let d_opt = Adam::new(d.parameters(), d_cfg);
        let (total, d_total) = hyper.schedule(data.len(), dp.is_some());
        tracing::debug!(
            mode = hyper.mode.as_str(),
            windows = data.len(),
            g_steps = total,
            d_steps = d_total,
            private = dp.is_some(),
            "cGAN built"
        );
        Ok(Self {
            hyper,
            _vs: vs,
            g,
            d,
            g_opt,
            d_opt,
            dp,
            subjects,
            n: data.len(),
            total,
            device,
        })
    }

    pub fn generator(&self) -> &CganGenerator {
        &self.g
    }

    pub fn discriminator(&self) -> &CganDiscriminator {
        &self.d
    }

    /// Fake rows per D step (when not paired).
    fn fake_rows(&self) -> usize {
        match &self.dp {
            Some(dp) => dp.fake_batch,
            None => self.hyper.batch_size,
        }
    }

    /// The real windows of D step `j` (global D-step index) and each one's unit.
    fn draw_real(&self, j: u64, rng: &mut StepRng) -> (Vec<usize>, Vec<i64>, i64) {
        let private = self.dp.is_some();
        if self.hyper.shuffled(private) {
            let b = self.hyper.batch_size;
            let per_epoch = self.n.div_ceil(b) as u64;
            let (epoch, pos) = (j / per_epoch, (j % per_epoch) as usize);
            let mut s = rng::stream(rng.run_seed, StepPurpose::Other(SHUFFLE_STREAM), epoch);
            let rows = shuffle_batches(self.n, b, &mut s).swap_remove(pos);
            let unit = (0..rows.len() as i64).collect();
            let k = rows.len() as i64;
            return (rows, unit, k);
        }
        let q = match &self.dp {
            Some(dp) => dp.sample_rate,
            None => (self.hyper.batch_size as f64 / self.n as f64).min(1.0),
        };
        match &self.subjects {
            Some(index) => {
                let chosen = poisson_sample(index.n_subjects(), q, &mut rng.batch);
                let (rows, unit) = index.expand(&chosen);
                (rows, unit, chosen.len() as i64)
            }
            None => {
                let rows = poisson_sample(self.n, q, &mut rng.batch);
                let unit = (0..rows.len() as i64).collect();
                let k = rows.len() as i64;
                (rows, unit, k)
            }
        }
    }

    /// `k` labels for a G batch: ⌊k/2⌋ prior draws repeated, plus one more draw if k is odd.
    fn g_labels(&self, k: usize, rng: &mut ChaCha20Rng) -> Vec<u8> {
        let half = rng::labels_from_prior(k / 2, &self.hyper.label_prior, rng);
        let mut v = half.clone();
        v.extend_from_slice(&half);
        if k % 2 == 1 {
            v.extend(rng::labels_from_prior(1, &self.hyper.label_prior, rng));
        }
        v
    }

    /// Draws the rows of executor step `step`'s D steps: first every real batch
    /// (`rng.batch`, or the epoch's shuffle), then every fake label and latent (`rng.latent`),
    /// and all fakes in ONE generator pass (G does not change during these D steps).
    pub fn draw_d_batches(&self, step: u64, data: &GenData, rng: &mut StepRng) -> Vec<DBatch> {
        let d = self.hyper.d_steps;
        let reals: Vec<(Vec<usize>, Vec<i64>, i64)> =
            (0..d).map(|i| self.draw_real(step * d + i, rng)).collect();
        let mut fake_labels: Vec<Vec<u8>> = Vec::with_capacity(reals.len());
        for (rows, _, _) in &reals {
            fake_labels.push(match self.hyper.fakes {
                FakeRows::Paired => rows.iter().map(|&i| data.labels[i]).collect(),
                FakeRows::Prior => rng::labels_from_prior(
                    self.fake_rows(),
                    &self.hyper.label_prior,
                    &mut rng.latent,
                ),
            });
        }
        let all_labels: Vec<u8> = fake_labels.concat();
        let n_all = all_labels.len() as i64;
        let x_fake_all = if n_all > 0 {
            let z = rng::normal(&[n_all, LATENT_DIM], &mut rng.latent, self.device);
            let y = rng::label_tensor(&all_labels, self.device);
            tch::no_grad(|| self.g.forward(&z, &y))
        } else {
            Tensor::zeros([0, SEQ_LEN, N_FEATURES], (Kind::Float, self.device))
        };
        let mut offset = 0i64;
        reals
            .into_iter()
            .zip(fake_labels)
            .map(|((rows, mut unit, mut n_units), fl)| {
                let (n_real, n_fake) = (rows.len(), fl.len());
                match self.hyper.fakes {
                    FakeRows::Paired => unit.extend_from_within(..),
                    FakeRows::Prior => {
                        unit.extend((0..n_fake as i64).map(|k| n_units + k));
                        n_units += n_fake as i64;
                    }
                }
                let x_fake = x_fake_all.narrow(0, offset, n_fake as i64);
                offset += n_fake as i64;
                let (x_real, y_real, _) = data.gather(&rows);
                let x = Tensor::cat(&[x_real.to_device(self.device), x_fake], 0);
                let y = Tensor::cat(
                    &[
                        y_real.to_device(self.device),
                        rng::label_tensor(&fl, self.device),
                    ],
                    0,
                );
                let target = Tensor::cat(
                    &[
                        Tensor::ones([n_real as i64], (Kind::Float, self.device)),
                        Tensor::zeros([n_fake as i64], (Kind::Float, self.device)),
                    ],
                    0,
                );
                DBatch {
                    n_real,
                    n_fake,
                    x,
                    y,
                    target,
                    unit,
                    n_units,
                    real_labels: rows.iter().map(|&i| data.labels[i]).collect(),
                }
            })
            .collect()
    }

    /// The DP-SGD divisor of a D step: expected real units (+ fake rows when they are units).
    pub fn dp_divisor(&self, dp: &DpSettings) -> f64 {
        match self.hyper.fakes {
            FakeRows::Paired => dp.expected_batch,
            FakeRows::Prior => dp.expected_batch + dp.fake_batch as f64,
        }
    }

    /// Writes the private D gradient of `batch` into D's `.grad()` (no optimiser step).
    /// Returns the mean loss of the FAKE rows only (NaN without fakes: the real rows' loss is
    /// a statistic of private data outside the mechanism, so it is never reported) and the DP
    /// report.
    pub fn private_d_grads(
        &self,
        batch: &DBatch,
        dp: &DpSettings,
        seed: i64,
    ) -> (f64, DpStepReport) {
        let cfg = DpStepConfig {
            clip_norm: dp.clip_norm,
            noise_multiplier: dp.sigma,
            expected_batch_size: self.dp_divisor(dp),
        };
        let rows = batch.n_real + batch.n_fake;
        if rows == 0 {
            return (f64::NAN, pure_noise_step(&self.d.parameters(), &cfg, seed));
        }
        let mut tape = Tape::new();
        let logits = self.d.forward_tape(&mut tape, &batch.x, &batch.y);
        let per = logits.binary_cross_entropy_with_logits::<Tensor>(
            &batch.target,
            None,
            None,
            Reduction::None,
        );
        let loss_sum = per.sum(Kind::Float);
        let fake_mean = if batch.n_fake > 0 {
            per.narrow(0, batch.n_real as i64, batch.n_fake as i64)
                .mean(Kind::Float)
                .double_value(&[])
        } else {
            f64::NAN
        };
        let one_per_row = batch.unit.iter().enumerate().all(|(i, &u)| u == i as i64);
        let rep = if one_per_row {
            dp_step(&tape, &loss_sum, &cfg, seed)
        } else {
            let group = Tensor::from_slice(&batch.unit).to_device(self.device);
            dp_step_grouped(&tape, &loss_sum, &group, batch.n_units, &cfg, seed)
        };
        (fake_mean, rep)
    }

    /// One D step on `batch`: (reported loss, private?, empty real batch?, clipped fraction).
    fn d_step(&mut self, batch: &DBatch, rng: &mut StepRng) -> (f64, bool, bool, f64) {
        match self.dp.clone() {
            Some(dp) => {
                let seed = rng.noise_seed();
                let (loss, rep) = self.private_d_grads(batch, &dp, seed);
                self.d_opt.step();
                let empty = batch.n_real == 0;
                let clipped = if empty { 0.0 } else { rep.clipped_fraction };
                (loss, true, empty, clipped)
            }
            None => {
                let rows = batch.n_real + batch.n_fake;
                if rows == 0 {
                    return (f64::NAN, false, true, 0.0);
                }
                self.d_opt.zero_grad();
                let logits = self.d.forward(&batch.x, &batch.y);
                let loss = logits.binary_cross_entropy_with_logits::<Tensor>(
                    &batch.target,
                    None,
                    None,
                    Reduction::Mean,
                );
                loss.backward();
                self.d_opt.step();
                (loss.double_value(&[]), false, batch.n_real == 0, 0.0)
            }
        }
    }

    /// One G step (G updated only): (loss, BCE, λ·L_z).
    fn g_step(&mut self, real_labels: &[u8], rng: &mut StepRng) -> (f64, f64, f64) {
        let labels = match (self.hyper.fakes, &self.dp) {
            // The reference's G step reuses the real batch's labels (non-private only).
            (FakeRows::Paired, None) if !real_labels.is_empty() => real_labels.to_vec(),
            (FakeRows::Paired, _) => self.g_labels(self.hyper.batch_size, &mut rng.latent),
            (FakeRows::Prior, _) => self.g_labels(self.hyper.batch_size, &mut rng.latent),
        };
        let y = rng::label_tensor(&labels, self.device);
        let z = rng::normal(
            &[labels.len() as i64, LATENT_DIM],
            &mut rng.latent,
            self.device,
        );
        let (loss, bce, div) = generator_loss(
            &self.g,
            &self.d,
            &z,
            &y,
            self.hyper.ms_lambda,
            self.hyper.ms_gradient,
        );
        let params = self.g.parameters();
        let grads = Tensor::run_backward(&[&loss], &params, false, false);
        let grads: Vec<Tensor> = grads
            .into_iter()
            .zip(&params)
            .map(|(g, p)| if g.defined() { g } else { p.zeros_like() })
            .collect();
        write_grads(&params, &grads);
        self.g_opt.step();
        (loss.double_value(&[]), bce, div)
    }
}

impl GanAlgorithm for CganAlgorithm {
    fn kind(&self) -> GeneratorKind {
        GeneratorKind::Cgan
    }

    fn total_steps(&self) -> u64 {
        self.total
    }

    fn step(&mut self, step: u64, data: &GenData, rng: &mut StepRng) -> Result<StepReport, String> {
        if data.len() != self.n {
            return Err(format!(
                "the cGAN was built for {} windows but the step got {}",
                self.n,
                data.len()
            ));
        }
        let mut report = StepReport::default();
        let batches = self.draw_d_batches(step, data, rng);
        let mut d_losses = Vec::with_capacity(batches.len());
        for (i, batch) in batches.iter().enumerate() {
            let (loss, private, empty, clipped) = self.d_step(batch, rng);
            if loss.is_finite() {
                d_losses.push(loss);
            } else if !loss.is_nan() {
                return Err(format!("D loss became {loss} in D step {i} of step {step}"));
            }
            if private {
                report.private_steps += 1;
                if empty {
                    report.empty_batches += 1;
                } else {
                    report.clipped_fraction_sum += clipped;
                }
            }
        }
        let last_labels = batches.last().map_or(&[][..], |b| &b.real_labels[..]);
        let (g, bce, div) = self.g_step(last_labels, rng);
        if !g.is_finite() {
            return Err(format!("G loss became {g}"));
        }
        if !d_losses.is_empty() {
            // Under DP only the fake rows' D loss is reported (post-processing).
            let name = if self.dp.is_some() { "d_fake" } else { "d" };
            report
                .losses
                .push((name, d_losses.iter().sum::<f64>() / d_losses.len() as f64));
        }
        report.losses.push(("g", g));
        report.losses.push(("g_bce", bce));
        report.losses.push(("div", div));
        Ok(report)
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = self.generator_tensors();
        out.extend(
            self.d
                .named()
                .into_iter()
                .map(|(n, t)| (format!("d.{n}"), t)),
        );
        out.extend(self.g_opt.state("opt.g"));
        out.extend(self.d_opt.state("opt.d"));
        out
    }

    fn load_state(&mut self, named: &[(String, Tensor)]) -> Result<(), String> {
        copy_named(&self.g.named(), named, "g.")?;
        copy_named(&self.d.named(), named, "d.")?;
        self.g_opt.load_state("opt.g", named)?;
        self.d_opt.load_state("opt.d", named)?;
        Ok(())
    }

    fn generator_tensors(&self) -> Vec<(String, Tensor)> {
        self.g
            .named()
            .into_iter()
            .map(|(n, t)| (format!("g.{n}"), t))
            .collect()
    }
}

/// Draws windows from a trained cGAN generator.
#[derive(Debug)]
pub struct CganSampler {
    g: CganGenerator,
    device: Device,
}

impl WindowSampler for CganSampler {
    fn conditional(&self) -> bool {
        true
    }

    fn sample(&self, labels: &[u8], rng: &mut ChaCha20Rng) -> Result<Sampled, String> {
        check_labels(labels, self.g.n_classes as usize, "cGAN")?;
        let n = labels.len() as i64;
        let z = rng::normal(&[n, LATENT_DIM], rng, self.device);
        let y = rng::label_tensor(labels, self.device);
        let windows = if n == 0 {
            Tensor::zeros([0, SEQ_LEN, N_FEATURES], (Kind::Float, self.device))
        } else {
            let parts: Vec<Tensor> = tch::no_grad(|| {
                z.split(SAMPLE_CHUNK as i64, 0)
                    .iter()
                    .zip(y.split(SAMPLE_CHUNK as i64, 0))
                    .map(|(z, y)| self.g.forward(z, &y))
                    .collect()
            });
            Tensor::cat(&parts, 0)
        };
        let step_labels = constant_step_labels(labels, self.device);
        Ok(Sampled {
            windows,
            step_labels,
        })
    }
}

/// The cGAN family with its hyper-parameters fixed.
#[derive(Clone, Debug, PartialEq)]
pub struct CganFamily {
    pub hyper: CganHyper,
}

impl Family for CganFamily {
    fn kind(&self) -> GeneratorKind {
        GeneratorKind::Cgan
    }

    fn hyper_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.hyper).expect("the cGAN hyper-parameters serialise")
    }

    fn validate(&self, data: &GenData) -> Result<(), String> {
        self.hyper.check()?;
        if data.n_classes != self.hyper.n_classes {
            return Err(format!(
                "the cGAN was configured for {} classes but the data have {}",
                self.hyper.n_classes, data.n_classes
            ));
        }
        if self.hyper.batch_size > data.len() {
            return Err(format!(
                "cGAN batch size {} is larger than the {} training windows",
                self.hyper.batch_size,
                data.len()
            ));
        }
        Ok(())
    }

    fn private_use(&self, data: &GenData, _unit: PrivacyUnit) -> PrivateUse {
        let (_, d_steps) = self.hyper.schedule(data.len(), true);
        PrivateUse::DpSgd {
            expected_batch: self.hyper.batch_size as f64,
            steps: d_steps,
        }
    }

    /// Paired (reference): 0, the fakes are inside the real rows' units. Prior (default): the
    /// expected real batch in privacy units, rounded, at least 1.
    fn fake_batch(&self, expected_batch: f64) -> usize {
        match self.hyper.fakes {
            FakeRows::Paired => 0,
            FakeRows::Prior => expected_batch.round().max(1.0) as usize,
        }
    }

    /// Reference mode: the thesis notebook's / `retraining.py`'s calibration (spec §3.1.5),
    /// `compute_noise(n = sliding windows // 2, batch, ε, 2 · epochs, δ = 1e-4)`. None in
    /// default mode, and when `steps` replaces the epochs (the reference had no such schedule).
    fn reference_sigma(&self, data: &GenData) -> Option<ReferenceSigma> {
        let h = &self.hyper;
        (h.mode == GeneratorMode::Reference && h.steps.is_none()).then(|| ReferenceSigma {
            n: (data.sliding_window_count / 2) as u64,
            batch: h.batch_size as u64,
            epochs: 2.0 * h.epochs as f64,
            delta: 1e-4,
            rule: "the thesis notebook and retraining.py: n = sliding windows // 2 and epochs = 2 x EPOCHS (each second lies in two sliding windows), delta = 1e-4".into(),
        })
    }

    fn notes(&self) -> Vec<String> {
        let h = &self.hyper;
        let mut v = vec![format!(
            "public label prior {:?} for {} (a design ratio fixed in advance, never the real label counts)",
            h.label_prior,
            match h.fakes {
                FakeRows::Paired => "the G step's labels under DP",
                FakeRows::Prior => "the fake rows of every D step and the G step's labels",
            }
        )];
        match h.mode {
            GeneratorMode::Reference => v.extend([
                "reference mode: fakes of a D step use the real batch's labels (one fake per real row); under DP real row i and fake i are clipped jointly as one unit".to_string(),
                format!("reference mode: the mode-seeking term (λ = {}) is computed outside the gradient, as in the reference, so it is only logged (div)", h.ms_lambda),
                "reference mode: every epoch is reshuffled (the reference's shuffle-then-cache froze one partial shuffle for all epochs)".to_string(),
                "reference mode under DP: Poisson batches of expected size 8 and D Adam(1e-3, 0.9/0.999) as the reference intended; per-example clipping and noise applied for real (the reference never called its DP optimiser's compute_gradients); the G step draws its labels from the public prior because the reference reused the private batch's labels".to_string(),
                "generator output is ReLU (>= 0, unbounded, not clipped), as in the reference".to_string(),
            ]),
            GeneratorMode::Default => v.extend([
                format!("default mode: {} D steps per G step on fresh Poisson batches (expected {} windows) with a fixed number of fake rows (the batch size, or under DP the expected real batch in privacy units); under DP each real unit and each fake row is its own clipped unit, divisor expected real units + fake rows", h.d_steps, h.batch_size),
                format!("default mode: G loss BCE(1, D(G(z, y), y)) - {} * mode-seeking ratio (MSGAN), differentiated; the two halves of a G batch share their labels", h.ms_lambda),
            ]),
        }
        if let Some(s) = h.steps {
            v.push(format!("schedule fixed to {s} G steps (epochs ignored)"));
        }
        v
    }

    fn build(
        &self,
        data: &GenData,
        dp: Option<DpSettings>,
        device: Device,
    ) -> Result<Box<dyn GanAlgorithm>, String> {
        self.validate(data)?;
        Ok(Box::new(CganAlgorithm::new(
            self.hyper.clone(),
            data,
            dp,
            device,
        )?))
    }

    fn sampler(
        &self,
        tensors: &[(String, Tensor)],
        device: Device,
    ) -> Result<Box<dyn WindowSampler>, String> {
        let g = CganGenerator::from_named(tensors, "g.", self.hyper.n_classes as i64, device)?;
        Ok(Box::new(CganSampler { g, device }))
    }
}

/// The cGAN family of `mode` for `n_classes` with the overrides applied.
pub fn family(
    mode: GeneratorMode,
    n_classes: usize,
    overrides: &Overrides,
) -> Result<Box<dyn Family>, String> {
    let mut hyper = CganHyper::for_mode(mode, n_classes);
    hyper.apply(overrides);
    hyper.check()?;
    Ok(Box::new(CganFamily { hyper }))
}

/// The cGAN family a model card recorded.
pub fn from_hyper(hyper: &serde_json::Value) -> Result<Box<dyn Family>, String> {
    let hyper: CganHyper = serde_json::from_value(hyper.clone())
        .map_err(|e| format!("the card's cGAN hyper-parameters do not parse: {e}"))?;
    hyper.check()?;
    Ok(Box::new(CganFamily { hyper }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::simulator::{simulate, SimulatorConfig};
    use crate::features::windows::WindowScheme;

    fn data() -> GenData {
        let ds = simulate(&SimulatorConfig {
            subjects: 3,
            ..SimulatorConfig::default()
        })
        .expect("simulate");
        GenData::from_dataset(&ds, WindowScheme::NonOverlapping, &[], Device::Cpu).expect("windows")
    }

    fn tiny(mode: GeneratorMode) -> CganHyper {
        let mut h = CganHyper::for_mode(mode, 2);
        h.batch_size = 8;
        h.steps = Some(5);
        if mode == GeneratorMode::Default {
            h.d_steps = 2;
        }
        h
    }

    fn settings(unit: PrivacyUnit, q: f64, units: usize, clip: f64, sigma: f64) -> DpSettings {
        DpSettings {
            sigma,
            clip_norm: clip,
            sample_rate: q,
            expected_batch: q * units as f64,
            fake_batch: 3,
            unit,
        }
    }

    fn snapshot(named: &[(String, Tensor)]) -> Vec<(String, Tensor)> {
        named
            .iter()
            .map(|(n, t)| (n.clone(), t.detach().copy()))
            .collect()
    }

    fn assert_bitwise(a: &[(String, Tensor)], b: &[(String, Tensor)]) {
        assert_eq!(a.len(), b.len());
        for ((na, ta), (nb, tb)) in a.iter().zip(b) {
            assert_eq!(na, nb);
            assert!(ta.equal(tb), "tensor {na} differs");
        }
    }

    fn run(algo: &mut dyn GanAlgorithm, data: &GenData, steps: std::ops::Range<u64>) -> u64 {
        let mut private = 0;
        for k in steps {
            let rep = algo.step(k, data, &mut StepRng::new(17, k)).expect("step");
            for (name, v) in &rep.losses {
                assert!(v.is_finite(), "loss {name} = {v} at step {k}");
            }
            private += rep.private_steps;
        }
        private
    }

    /// Σ_units min(1, C/‖g_u‖) g_u / divisor by one backward pass per unit (plain autograd
    /// through the fused forward), and the unclipped norms.
    fn per_unit_loop(
        algo: &CganAlgorithm,
        batch: &DBatch,
        clip: f64,
        divisor: f64,
    ) -> (Vec<Tensor>, Vec<f64>) {
        let params = algo.discriminator().parameters();
        let mut sum: Vec<Tensor> = params.iter().map(|p| p.detach().zeros_like()).collect();
        let mut norms = Vec::new();
        for u in 0..batch.n_units {
            let rows: Vec<i64> = batch
                .unit
                .iter()
                .enumerate()
                .filter(|(_, &g)| g == u)
                .map(|(i, _)| i as i64)
                .collect();
            assert!(!rows.is_empty(), "unit {u} has no row");
            let idx = Tensor::from_slice(&rows);
            let logits = algo.discriminator().forward(
                &batch.x.index_select(0, &idx),
                &batch.y.index_select(0, &idx),
            );
            let loss = logits.binary_cross_entropy_with_logits::<Tensor>(
                &batch.target.index_select(0, &idx),
                None,
                None,
                Reduction::Sum,
            );
            let grads = Tensor::run_backward(&[&loss], &params, false, false);
            let norm = grads
                .iter()
                .map(|g| g.square().sum(Kind::Double).double_value(&[]))
                .sum::<f64>()
                .sqrt();
            norms.push(norm);
            let factor = (clip / norm).min(1.0);
            for (s, g) in sum.iter_mut().zip(&grads) {
                *s += g * factor;
            }
        }
        (sum.into_iter().map(|s| s / divisor).collect(), norms)
    }

    fn check_private_d_step(mode: GeneratorMode, unit: PrivacyUnit) {
        let data = data();
        let (q, units) = match unit {
            PrivacyUnit::Window => (0.08, data.len()),
            PrivacyUnit::Subject => (0.5, data.subject_ids.len()),
        };
        let algo = CganAlgorithm::new(
            tiny(mode),
            &data,
            Some(settings(unit, q, units, 1.0, 0.0)),
            Device::Cpu,
        )
        .unwrap();
        let batch = (0..50)
            .flat_map(|k| algo.draw_d_batches(k, &data, &mut StepRng::new(11, k)))
            .find(|b| b.n_real > 0 && b.n_units >= 2)
            .expect("a batch with two units");
        match mode {
            GeneratorMode::Default => assert_eq!(batch.n_fake, 3),
            GeneratorMode::Reference => assert_eq!(batch.n_fake, batch.n_real),
        }
        let (_, mut norms) = per_unit_loop(&algo, &batch, f64::INFINITY, 1.0);
        norms.sort_by(f64::total_cmp);
        // Between the smallest and the largest unit norm: some units clipped, some not.
        let clip = (norms[0] * norms[norms.len() - 1]).sqrt();
        let dp = settings(unit, q, units, clip, 0.0);
        let divisor = algo.dp_divisor(&dp);
        let (want, _) = per_unit_loop(&algo, &batch, clip, divisor);
        let (_, rep) = algo.private_d_grads(&batch, &dp, 99);
        assert_eq!(rep.batch_size, batch.n_units);
        assert!(rep.clipped_fraction > 0.0 && rep.clipped_fraction < 1.0);
        let params = algo.discriminator().parameters();
        let mut scale = 0.0f64;
        let mut diff = 0.0f64;
        for (p, w) in params.iter().zip(&want) {
            scale = scale.max(w.abs().max().double_value(&[]));
            diff = diff.max((p.grad() - w).abs().max().double_value(&[]));
        }
        assert!(scale > 0.0);
        // Within 1e-5 relative to the gradients' scale (float32: the two sums round
        // differently; the scale reaches ≈ 6 here).
        assert!(
            diff < 1e-5 * scale.max(1.0),
            "{mode:?} {unit:?}: diff {diff}, scale {scale}"
        );
    }

    #[test]
    fn private_d_step_equals_a_per_unit_loop_default_window() {
        check_private_d_step(GeneratorMode::Default, PrivacyUnit::Window);
    }

    #[test]
    fn private_d_step_equals_a_per_unit_loop_default_subject() {
        check_private_d_step(GeneratorMode::Default, PrivacyUnit::Subject);
    }

    #[test]
    fn private_d_step_equals_a_per_unit_loop_reference_pairs() {
        check_private_d_step(GeneratorMode::Reference, PrivacyUnit::Window);
        check_private_d_step(GeneratorMode::Reference, PrivacyUnit::Subject);
    }

    #[test]
    fn reference_div_term_has_no_gradient_default_has() {
        let vs = nn::VarStore::new(Device::Cpu);
        let g = CganGenerator::new(vs.root() / "g", 2);
        let d = CganDiscriminator::new(vs.root() / "d", 2);
        let z = rng::normal(
            &[8, LATENT_DIM],
            &mut rng::stream(1, StepPurpose::Latent, 0),
            Device::Cpu,
        );
        let y = rng::label_tensor(&[0, 1, 1, 0, 0, 1, 1, 0], Device::Cpu);
        let params = g.parameters();
        let grads = |lambda: f64, gradient: bool| {
            let (loss, bce, div) = generator_loss(&g, &d, &z, &y, lambda, gradient);
            assert!(
                (loss.double_value(&[]) - (bce + div)).abs() < 1e-6 * (bce + div).abs().max(1.0)
            );
            (Tensor::run_backward(&[&loss], &params, false, false), div)
        };
        let (bce_only, _) = grads(0.0, true);
        let (reference, div_ref) = grads(8.0, false);
        let (default, div_def) = grads(1.0, true);
        assert!(div_ref < 0.0 && div_def > 0.0);
        let max_diff = |a: &[Tensor], b: &[Tensor]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs().max().double_value(&[]))
                .fold(0.0, f64::max)
        };
        assert_eq!(max_diff(&bce_only, &reference), 0.0);
        assert!(max_diff(&bce_only, &default) > 1e-6);
    }

    #[test]
    fn same_seed_same_state_and_resume_is_bitwise() {
        let data = data();
        let n = data.len();
        for (mode, dp) in [
            (
                GeneratorMode::Default,
                Some(settings(PrivacyUnit::Window, 8.0 / n as f64, n, 1.0, 1.0)),
            ),
            (GeneratorMode::Reference, None),
        ] {
            let mut a = CganAlgorithm::new(tiny(mode), &data, dp.clone(), Device::Cpu).unwrap();
            let init = snapshot(&a.state());
            run(&mut a, &data, 0..3);
            let mid = snapshot(&a.state());
            run(&mut a, &data, 3..5);
            let end = snapshot(&a.state());
            let mut b = CganAlgorithm::new(tiny(mode), &data, dp.clone(), Device::Cpu).unwrap();
            b.load_state(&mid).unwrap();
            run(&mut b, &data, 3..5);
            assert_bitwise(&end, &b.state());
            let mut c = CganAlgorithm::new(tiny(mode), &data, dp.clone(), Device::Cpu).unwrap();
            c.load_state(&init).unwrap();
            run(&mut c, &data, 0..3);
            assert_bitwise(&mid, &c.state());
            assert!(!init[0].1.equal(&end[0].1), "training changed nothing");
        }
    }

    #[test]
    fn tiny_training_gives_finite_losses() {
        let data = data();
        for mode in [GeneratorMode::Default, GeneratorMode::Reference] {
            let mut algo = CganAlgorithm::new(tiny(mode), &data, None, Device::Cpu).unwrap();
            let rep = algo.step(0, &data, &mut StepRng::new(3, 0)).unwrap();
            let names: Vec<&str> = rep.losses.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, ["d", "g", "g_bce", "div"]);
            assert_eq!(rep.private_steps, 0);
            assert_eq!(run(&mut algo, &data, 1..3), 0);
        }
    }

    #[test]
    fn private_steps_total_the_declared_use() {
        let data = data();
        let n = data.len() as u64;
        for (mode, want) in [
            (GeneratorMode::Default, n.div_ceil(24).div_ceil(5) * 5),
            (GeneratorMode::Reference, n.div_ceil(24)),
        ] {
            let o = Overrides {
                epochs: Some(1),
                batch_size: Some(24),
                ..Overrides::default()
            };
            let fam = family(mode, 2, &o).unwrap();
            fam.validate(&data).unwrap();
            let PrivateUse::DpSgd {
                expected_batch,
                steps,
            } = fam.private_use(&data, PrivacyUnit::Window)
            else {
                panic!("the cGAN is DP-SGD");
            };
            assert_eq!((expected_batch, steps), (24.0, want));
            let dp = DpSettings {
                sigma: 1.0,
                clip_norm: 1.0,
                sample_rate: expected_batch / n as f64,
                expected_batch,
                fake_batch: fam.fake_batch(expected_batch),
                unit: PrivacyUnit::Window,
            };
            let dp_clone = dp.clone();
            let mut algo = fam.build(&data, Some(dp), Device::Cpu).unwrap();
            let rep = algo.step(0, &data, &mut StepRng::new(17, 0)).unwrap();
            assert!(
                rep.losses.iter().all(|(n, _)| *n != "d"),
                "{:?}",
                rep.losses
            );
            let mut algo = fam
                .build(&data, Some(DpSettings { ..dp_clone }), Device::Cpu)
                .unwrap();
            let total = algo.total_steps();
            assert_eq!(run(algo.as_mut(), &data, 0..total), steps, "{mode:?}");
        }
    }

    #[test]
    fn subject_unit_training_counts_its_steps() {
        let data = data();
        let o = Overrides {
            steps: Some(1),
            d_steps: Some(2),
            batch_size: Some(24),
            epochs: None,
        };
        let fam = family(GeneratorMode::Default, 2, &o).unwrap();
        let PrivateUse::DpSgd {
            expected_batch,
            steps,
        } = fam.private_use(&data, PrivacyUnit::Subject)
        else {
            panic!("the cGAN is DP-SGD");
        };
        assert_eq!(steps, 2);
        let q = expected_batch / data.len() as f64;
        let units = q * data.subject_ids.len() as f64;
        let dp = DpSettings {
            sigma: 1.0,
            clip_norm: 1.0,
            sample_rate: q,
            expected_batch: units,
            fake_batch: fam.fake_batch(units),
            unit: PrivacyUnit::Subject,
        };
        assert_eq!(dp.fake_batch, 1);
        let mut algo = fam.build(&data, Some(dp), Device::Cpu).unwrap();
        let total = algo.total_steps();
        assert_eq!(run(algo.as_mut(), &data, 0..total), steps);
    }

    #[test]
    fn schedules_and_modes() {
        let r = CganHyper::for_mode(GeneratorMode::Reference, 2);
        assert_eq!(r.schedule(1083, false), (420 * 136, 420 * 136));
        assert_eq!(r.schedule(1083, true), (56_858, 56_858));
        let d = CganHyper::for_mode(GeneratorMode::Default, 2);
        assert_eq!(d.schedule(530, true), (4969, 4969));
        assert_eq!(d.schedule(530, false), (4969, 4969));
        assert_eq!(d.label_prior, vec![0.7, 0.3]);
        assert_eq!(
            CganHyper::for_mode(GeneratorMode::Default, 3).label_prior,
            vec![0.55, 0.3, 0.15]
        );
        let o = Overrides {
            steps: Some(7),
            d_steps: Some(3),
            batch_size: Some(16),
            epochs: None,
        };
        let fam = family(GeneratorMode::Default, 3, &o).unwrap();
        let back = from_hyper(&fam.hyper_json()).unwrap();
        assert_eq!(back.hyper_json(), fam.hyper_json());
        let h: CganHyper = serde_json::from_value(fam.hyper_json()).unwrap();
        assert_eq!(
            (h.steps, h.d_steps, h.batch_size, h.n_classes),
            (Some(7), 3, 16, 3)
        );
        assert_eq!(h.schedule(1000, true), (7, 21));
        assert_eq!((fam.fake_batch(5.2), fam.fake_batch(0.3)), (5, 1));
        assert_eq!(
            family(GeneratorMode::Reference, 2, &Overrides::default())
                .unwrap()
                .fake_batch(8.0),
            0
        );
        let data = data();
        assert!(fam.reference_sigma(&data).is_none());
        let rf = family(GeneratorMode::Reference, 2, &Overrides::default()).unwrap();
        let rs = rf
            .reference_sigma(&data)
            .expect("the reference's calibration");
        assert_eq!(
            (rs.n, rs.batch, rs.epochs, rs.delta),
            ((data.sliding_window_count / 2) as u64, 8, 840.0, 1e-4)
        );
        let mut bad = fam.hyper_json();
        bad["surprise"] = serde_json::json!(1);
        assert!(from_hyper(&bad).is_err());
        let Err(e) = family(
            GeneratorMode::Default,
            2,
            &Overrides {
                d_steps: Some(0),
                ..o
            },
        ) else {
            panic!("zero D steps accepted");
        };
        assert!(e.contains("D steps"), "{e}");
        let big = family(
            GeneratorMode::Default,
            2,
            &Overrides {
                batch_size: Some(data.len() + 1),
                ..Overrides::default()
            },
        )
        .unwrap();
        let e = big.validate(&data).unwrap_err();
        assert!(e.contains("batch size"), "{e}");
    }

    #[test]
    fn sampler_shapes_labels_and_determinism() {
        let data = data();
        let fam = family(
            GeneratorMode::Default,
            2,
            &Overrides {
                steps: Some(1),
                d_steps: Some(1),
                batch_size: Some(8),
                epochs: None,
            },
        )
        .unwrap();
        let algo = fam.build(&data, None, Device::Cpu).unwrap();
        let s = fam
            .sampler(&snapshot(&algo.generator_tensors()), Device::Cpu)
            .unwrap();
        assert!(s.conditional());
        let labels = [0u8, 1, 1, 0, 1];
        let out = s
            .sample(&labels, &mut rng::stream(3, StepPurpose::Generate, 0))
            .unwrap();
        assert_eq!(out.windows.size(), vec![5, 60, 6]);
        assert_eq!(out.step_labels.size(), vec![5, 60]);
        for (i, &l) in labels.iter().enumerate() {
            let row = out.step_labels.get(i as i64);
            assert!(row.eq(l as i64).all().int64_value(&[]) == 1);
        }
        assert!(out.windows.min().double_value(&[]) >= 0.0);
        let again = s
            .sample(&labels, &mut rng::stream(3, StepPurpose::Generate, 0))
            .unwrap();
        assert!(out.windows.equal(&again.windows));
        let none = s
            .sample(&[], &mut rng::stream(3, StepPurpose::Generate, 0))
            .unwrap();
        assert_eq!(none.windows.size(), vec![0, 60, 6]);
        assert!(s
            .sample(&[2], &mut rng::stream(3, StepPurpose::Generate, 0))
            .is_err());
    }
}
