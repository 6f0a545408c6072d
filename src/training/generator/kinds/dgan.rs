//! DoppelGANger (WGAN-GP) as the reference trains it (spec §3.2), and dpwear's default
//! version with a genuinely private critic.
//!
//! Data: 7 channels per second, the 6 signals and the per-second label as a continuous channel
//! (label / (C − 1), so 0/1 for binary labels as in the reference). The generator is
//! unconditional; the sampler thresholds the generated label channel per second
//! (v ≥ 0.5 → 1 for binary labels; in general round(v·(C − 1))).
//!
//! Loss: L_D = mean D(fake) − mean D(real) + λ·GP with λ = 10, x̂ = fake + α (real − fake),
//! α ~ U(0, 1) per row; L_G = −mean D(fake). GP = (√(Σ g² + 1e-8) − 1)² with g = ∇ₓ̂ D(x̂).
//!
//! **Reference mode** (reproduced): GP norm over the WHOLE batch (the squared gradients of all
//! rows summed before the square root, the Gretel quirk); batch min(1000, n) (or the
//! `--batch-size` override, capped at n); shuffled batches per epoch, the last batch dropped
//! only when it would hold one window; 10,000 epochs; Adam lr 1e-4, β = (0.5, 0.999) for both
//! networks; per batch: generate once, `d_steps` (1) critic steps, then one generator step that
//! re-scores the same generated batch with the updated critic. Not reproduced: the critic loss
//! runs under `torch.cuda.amp.autocast` in the reference (fp16 matmuls on GPU); dpwear is fp32
//! throughout. The random streams (ChaCha per step instead of torch's generator, DataLoader
//! shuffling) differ, so runs are not numerically identical to the reference. Refused under
//! DP: the whole-batch norm couples all rows, so no per-example gradient exists.
//!
//! **Default mode**: per-sample GP norm (standard WGAN-GP); batch 64; 1 critic step per
//! generator step (the reference's and DoppelGANger's ratio; `--d-steps` changes it); 300
//! epochs, read as D steps = ⌈epochs·n / batch⌉ and executor (generator) steps =
//! ⌈D steps / d_steps⌉, so the critic takes executor·d_steps steps (up to d_steps − 1 more
//! than ⌈epochs·n / batch⌉; `--steps` sets executor steps directly); Adam lr 2e-4, β = (0.5,
//! 0.999) for both (a common GAN setting, not tuned on data). Without DP each critic step
//! reads `batch` windows drawn uniformly without replacement; each generator step scores a
//! fresh batch of `batch` fakes.
//!
//! **DP (default mode only)** — every critic step is one DP-SGD step:
//! - real batch: Poisson with rate q (windows, or subjects for the subject unit); an empty
//!   batch still makes a counted step (fake units only);
//! - fake rows: a FIXED number, independent of the real batch;
//! - units: each real window (window unit) or each sampled subject (subject unit) is one unit
//!   with loss Σ_i w_i [−D(x_i) + λ (√(‖∇D(x̂_i)‖² + 1e-8) − 1)²], x̂_i interpolating x_i with
//!   its own partner p_i, a row generated fresh for it (w_i = 1 for windows, 1 / (the
//!   subject's windows) for subjects, so a subject weighs like a window); every fake unit has loss mean D(f_j) over its rows (window
//!   unit: `dp.fake_batch` fake rows, one unit each; subject unit: max(batch, fake_batch) fake
//!   rows grouped round-robin into `dp.fake_batch` units). Fake units are data-independent;
//!   they are clipped like the others;
//! - per-unit gradients — including the gradient penalty's double backward — come from
//!   materialised per-row copies of the critic's parameters ([`CriticCopies`]): one backward
//!   of Σ rows gives each copy's gradient; rows are summed into their unit, each unit is
//!   clipped to C, the clipped sum gets N(0, σ²C²) once
//!   ([`crate::privacy::dpsgd::dp_step_from_grads`], seed from `rng.noise_seed()`) and is
//!   divided by (expected real units + fake units) — the expected number of units per step;
//! - why real and fake rows are separate units (and not "pair i = D(f_i) − D(x_i) + GP_i"
//!   with the unpaired fakes alone): with pairs, adding one window turns an unpaired fake unit
//!   into a pair unit, changing the sum by up to 2C; with separate units adding a window adds
//!   exactly one clipped unit, the sensitivity C the accountant assumes. The partner p_i and
//!   α_i are data-independent draws of row i alone (not the fake units' rows: sharing those,
//!   e.g. partner `i mod F`, would make which windows share a partner depend on the sampled
//!   batch once |batch| ≥ F, so adding a window would change other units' terms); by
//!   exchangeability of i.i.d. draws, adding a window adds one clipped term and leaves the
//!   others' distribution unchanged;
//! - the generator step reads only the critic (post-processing);
//! - reported losses under DP are computed from the critic and fakes only (`d_fake`, `g`),
//!   never from real windows.
//!
//! May depend on: tch, rand, serde, the generator models, privacy::dpsgd, the generator
//! training traits and streams.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::models::generator_spec::{GeneratorKind, GeneratorMode};
use crate::models::generators::dgan::{
    CriticCopies, DganCritic, DganGenerator, CHANNELS, FLAT, NOISE_DIM, SEQ,
};
use crate::privacy::accounting::PrivacyUnit;
use crate::privacy::dpsgd::{
    dp_step_from_grads, poisson_sample, DpStepConfig, PerExampleGrads, SubjectIndex,
};
use crate::training::generator::adam::{Adam, AdamConfig};
use crate::training::generator::algorithm::{
    DpSettings, Family, GanAlgorithm, Overrides, PrivateUse, Sampled, StepReport, WindowSampler,
};
use crate::training::generator::data::GenData;
use crate::training::generator::rng::{self, StepPurpose, StepRng};

/// Inside the square root of every gradient-penalty norm (Gretel's `EPS`).
pub const GP_EPS: f64 = 1e-8;
/// Tag of the per-epoch shuffle streams of reference mode.
const EPOCH_SHUFFLE: u32 = 0x6467;
/// Rows per generator call when sampling (the reference's `generate_numpy` batch).
const SAMPLE_CHUNK: usize = 1000;

/// How the gradient-penalty norm is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GpNorm {
    /// One norm over the whole batch (the reference / Gretel quirk).
    WholeBatch,
    /// One norm per row (standard WGAN-GP).
    PerSample,
}

/// DoppelGANger hyper-parameters (recorded in the model card).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DganHyper {
    pub mode: GeneratorMode,
    /// Classes of the label channel (its values are label / (n_classes − 1)).
    pub n_classes: usize,
    /// Passes over the windows (ignored when `steps` is set).
    pub epochs: u64,
    /// Executor (generator) steps, overriding `epochs`.
    pub steps: Option<u64>,
    /// Windows per critic step (reference: capped at the number of windows).
    pub batch_size: usize,
    /// Critic steps per generator step.
    pub d_steps: u64,
    pub gp_coef: f64,
    pub gp_norm: GpNorm,
    pub lr_g: f64,
    pub lr_d: f64,
    pub beta1: f64,
}

impl DganHyper {
    /// The mode's values.
    pub fn for_mode(mode: GeneratorMode, n_classes: usize) -> Self {
        match mode {
            GeneratorMode::Reference => Self {
                mode,
                n_classes,
                epochs: 10_000,
                steps: None,
                batch_size: 1000,
                d_steps: 1,
                gp_coef: 10.0,
                gp_norm: GpNorm::WholeBatch,
                lr_g: 1e-4,
                lr_d: 1e-4,
                beta1: 0.5,
            },
            GeneratorMode::Default => Self {
                mode,
                n_classes,
                epochs: 300,
                steps: None,
                batch_size: 64,
                d_steps: 1,
                gp_coef: 10.0,
                gp_norm: GpNorm::PerSample,
                lr_g: 2e-4,
                lr_d: 2e-4,
                beta1: 0.5,
            },
        }
    }

    /// Windows per critic step on `n` windows.
    pub fn batch(&self, n: usize) -> usize {
        match self.mode {
            GeneratorMode::Reference => self.batch_size.min(n),
            GeneratorMode::Default => self.batch_size,
        }
    }

    /// Reference mode: batches per epoch (the last batch dropped only when it holds one).
    pub fn batches_per_epoch(&self, n: usize) -> u64 {
        let b = self.batch(n).max(1);
        if n % b == 1 {
            (n / b) as u64
        } else {
            n.div_ceil(b) as u64
        }
    }

    /// Executor steps (one generator step each) on `n` windows.
    pub fn executor_steps(&self, n: usize) -> u64 {
        if let Some(s) = self.steps {
            return s;
        }
        match self.mode {
            GeneratorMode::Reference => self.epochs * self.batches_per_epoch(n),
            GeneratorMode::Default => {
                let b = self.batch(n).max(1) as u64;
                let d = (self.epochs * n as u64).div_ceil(b);
                d.div_ceil(self.d_steps.max(1))
            }
        }
    }

    /// Critic steps in the whole schedule.
    pub fn critic_steps(&self, n: usize) -> u64 {
        self.executor_steps(n) * self.d_steps
    }
}

const WHOLE_BATCH_REFUSAL: &str = "the reference's whole-batch gradient penalty couples all \
     examples (one norm over the gradients of every row), so no per-example gradient exists to \
     clip; use --mode default";

/// The DoppelGANger family with fixed hyper-parameters.
#[derive(Clone, Debug)]
pub struct DganFamily {
    pub hyper: DganHyper,
}

/// The family for `mode` with `overrides` applied.
pub fn family(
    mode: GeneratorMode,
    n_classes: usize,
    overrides: &Overrides,
) -> Result<Box<dyn Family>, String> {
    if n_classes < 2 {
        return Err(format!(
            "DoppelGANger needs at least 2 classes for its label channel, got {n_classes}"
        ));
    }
    let mut h = DganHyper::for_mode(mode, n_classes);
    if let Some(e) = overrides.epochs {
        h.epochs = e;
    }
    if overrides.steps.is_some() {
        h.steps = overrides.steps;
    }
    if let Some(b) = overrides.batch_size {
        h.batch_size = b;
    }
    if let Some(d) = overrides.d_steps {
        h.d_steps = d;
    }
    Ok(Box::new(DganFamily { hyper: h }))
}

/// The family a model card recorded.
pub fn from_hyper(hyper: &serde_json::Value) -> Result<Box<dyn Family>, String> {
    let h: DganHyper = serde_json::from_value(hyper.clone())
        .map_err(|e| format!("DoppelGANger hyper-parameters in the model card: {e}"))?;
    if h.n_classes < 2 {
        return Err(format!(
            "DoppelGANger hyper-parameters in the model card: n_classes {} < 2",
            h.n_classes
        ));
    }
    Ok(Box::new(DganFamily { hyper: h }))
}

impl Family for DganFamily {
    fn kind(&self) -> GeneratorKind {
        GeneratorKind::Dgan
    }

    fn hyper_json(&self) -> serde_json::Value {
        serde_json::to_value(self.hyper).unwrap_or(serde_json::Value::Null)
    }

    fn validate(&self, data: &GenData) -> Result<(), String> {
        let h = &self.hyper;
        let n = data.len();
        if n < 2 {
            return Err(format!(
                "DoppelGANger needs at least 2 training windows, got {n}"
            ));
        }
        if data.n_classes != h.n_classes {
            return Err(format!(
                "the data have {} classes but the DoppelGANger label channel was set up for {}",
                data.n_classes, h.n_classes
            ));
        }
        if h.batch_size == 0 {
            return Err("--batch-size must be at least 1".into());
        }
        if h.mode == GeneratorMode::Default && h.batch_size > n {
            return Err(format!(
                "batch size {} is larger than the {n} training windows",
                h.batch_size
            ));
        }
        if h.d_steps == 0 {
            return Err("--d-steps must be at least 1".into());
        }
        if h.executor_steps(n) == 0 {
            return Err("the schedule has zero steps (epochs or steps is 0)".into());
        }
        if !(h.gp_coef.is_finite() && h.lr_g > 0.0 && h.lr_d > 0.0) {
            return Err("DoppelGANger: learning rates must be > 0 and λ finite".into());
        }
        Ok(())
    }

    fn private_use(&self, data: &GenData, _unit: PrivacyUnit) -> PrivateUse {
        match self.hyper.gp_norm {
            GpNorm::WholeBatch => PrivateUse::Impossible(WHOLE_BATCH_REFUSAL.into()),
            GpNorm::PerSample => PrivateUse::DpSgd {
                expected_batch: self.hyper.batch(data.len()) as f64,
                steps: self.hyper.critic_steps(data.len()),
            },
        }
    }

    fn notes(&self) -> Vec<String> {
        let h = &self.hyper;
        let mut v = vec![format!(
            "7 channels: the 6 signals and the per-second label as a continuous sigmoid channel \
             (label / {}); sampling thresholds it per second",
            h.n_classes - 1
        )];
        match h.mode {
            GeneratorMode::Reference => v.extend([
                "reference: gradient-penalty norm over the whole batch (Gretel quirk)".to_string(),
                format!(
                    "reference: batch min({}, windows), shuffled per epoch, last batch dropped only when it holds one window; {} critic step(s) then one generator step re-scoring the same generated batch",
                    h.batch_size, h.d_steps
                ),
                "not reproduced: the reference's critic loss runs under CUDA autocast (fp16); dpwear is fp32; random streams differ (ChaCha per step)".to_string(),
            ]),
            GeneratorMode::Default => v.extend([
                "default: per-sample gradient-penalty norm (standard WGAN-GP)".to_string(),
                format!(
                    "default: batch {}, {} critic step(s) per generator step, Adam lr {} / {} beta1 {} (not tuned on data)",
                    h.batch_size, h.d_steps, h.lr_d, h.lr_g, h.beta1
                ),
                "under DP: real windows (or subjects) and fake rows are separate clipped units; the gradient penalty is in the real unit (per-example parameter copies, double backward)".to_string(),
            ]),
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
        Ok(Box::new(DganAlgorithm::new(self.hyper, data, dp, device)?))
    }

    fn sampler(
        &self,
        tensors: &[(String, Tensor)],
        device: Device,
    ) -> Result<Box<dyn WindowSampler>, String> {
        Ok(Box::new(DganSampler {
            g: DganGenerator::from_named(tensors, device)?,
            n_classes: self.hyper.n_classes,
            device,
        }))
    }
}

/// Real windows at `idx` as flattened 7-channel rows (B, 420).
pub fn real_rows(data: &GenData, idx: &[usize], n_classes: usize) -> Tensor {
    let (x, _, steps) = data.gather(idx);
    let b = idx.len() as i64;
    let label = steps.to_kind(Kind::Float) / (n_classes.max(2) - 1) as f64;
    Tensor::cat(&[x.to_kind(Kind::Float), label.unsqueeze(2)], 2).view([b, FLAT])
}

/// The gradient penalty of gradients `g` (B, 420): one norm per row (mean of the rows'
/// penalties) or one norm over the whole batch.
pub fn gradient_penalty(g: &Tensor, norm: GpNorm) -> Tensor {
    match norm {
        GpNorm::WholeBatch => (g.square().sum(Kind::Float) + GP_EPS)
            .sqrt()
            .g_sub_scalar(1.0)
            .square(),
        GpNorm::PerSample => per_row_penalty(g).mean(Kind::Float),
    }
}

/// (√(‖g_i‖² + ε) − 1)² per row, (B,).
fn per_row_penalty(g: &Tensor) -> Tensor {
    (g.square().sum_dim_intlist(&[1i64][..], false, Kind::Float) + GP_EPS)
        .sqrt()
        .g_sub_scalar(1.0)
        .square()
}

/// ∇ₓ̂ Σ score(x̂) with the graph kept for a second backward.
fn input_grad(score: &Tensor, xhat: &Tensor) -> Tensor {
    Tensor::run_backward(&[score.sum(Kind::Float)], &[xhat], true, true)
        .pop()
        .unwrap_or_else(|| xhat.zeros_like())
}

/// x̂ = fake + α (real − fake) as a fresh leaf requiring grad (α: (B,)).
fn interpolate(real: &Tensor, fake: &Tensor, alpha: &Tensor) -> Tensor {
    (fake + alpha.unsqueeze(1) * (real - fake))
        .detach()
        .set_requires_grad(true)
}

/// The (non-private) critic loss and its parts (loss, mean D(real), mean D(fake), GP).
pub fn critic_loss(
    d: &DganCritic,
    real: &Tensor,
    fake: &Tensor,
    alpha: &Tensor,
    norm: GpNorm,
    coef: f64,
) -> (Tensor, f64, f64, f64) {
    let d_real = d.forward(real).mean(Kind::Float);
    let d_fake = d.forward(fake).mean(Kind::Float);
    let xhat = interpolate(real, fake, alpha);
    let g = input_grad(&d.forward(&xhat), &xhat);
    let gp = gradient_penalty(&g, norm);
    let loss = &d_fake - &d_real + &gp * coef;
    let v = |t: &Tensor| t.double_value(&[]);
    (loss.shallow_clone(), v(&d_real), v(&d_fake), v(&gp))
}

/// The rows of one private critic step and how they form units.
#[derive(Debug)]
pub struct UnitBatch {
    /// Real rows (R, 420).
    pub real: Tensor,
    /// Each real row's interpolation partner (R, 420): a fresh generated row, not one of the
    /// fake units' rows, so every real unit's auxiliary draws (partner, α) are its own.
    pub partner: Tensor,
    /// Fake rows (F, 420), detached from the generator.
    pub fake: Tensor,
    /// α per real row (R,).
    pub alpha: Tensor,
    /// Weight of each real row's term (R,).
    pub real_w: Tensor,
    /// Weight of each fake row's term (F,).
    pub fake_w: Tensor,
    /// Unit of each row, real rows then fake rows (R + F,) int64; `None`: one unit per row.
    pub group: Option<(Tensor, i64)>,
}

/// Per-unit critic gradients of a [`UnitBatch`]: unit u's gradient of
/// Σ_{real i in u} w_i [−D(x_i) + λ (√(‖∇D(x̂_i)‖² + ε) − 1)²] + Σ_{fake j in u} w_j D(f_j),
/// x̂_i interpolating x_i with its partner row. Per-row copies of the critic give every
/// row's gradient (the penalty differentiated twice) from one backward; rows are then summed
/// by unit.
pub fn unit_grads(d: &DganCritic, ub: &UnitBatch, coef: f64) -> PerExampleGrads {
    let r = ub.real.size()[0];
    let f = ub.fake.size()[0];
    let copies: CriticCopies = d.copies(r + f);
    let rows = Tensor::cat(&[&ub.real, &ub.fake], 0);
    let scores = copies.forward(&rows, 0);
    let fake_part = (scores.narrow(0, r, f) * &ub.fake_w).sum(Kind::Float);
    let total = if r == 0 {
        fake_part
    } else {
        let xhat = interpolate(&ub.real, &ub.partner, &ub.alpha);
        let g = input_grad(&copies.forward(&xhat, 0), &xhat);
        let real_terms = -scores.narrow(0, 0, r) + per_row_penalty(&g) * coef;
        fake_part + (real_terms * &ub.real_w).sum(Kind::Float)
    };
    total.backward();
    let pe = PerExampleGrads {
        params: d.params(),
        grads: copies.grads(),
    };
    match &ub.group {
        None => pe,
        Some((g, n)) => tch::no_grad(|| pe.sum_by_group(g, *n)),
    }
}

/// The DoppelGANger training algorithm.
pub struct DganAlgorithm {
    hyper: DganHyper,
    g: DganGenerator,
    d: DganCritic,
    opt_g: Adam,
    opt_d: Adam,
    dp: Option<DpSettings>,
    n: usize,
    subjects: SubjectIndex,
    device: Device,
}

impl DganAlgorithm {
    /// Networks from libtorch's global generator (generator first, then critic).
    pub fn new(
        hyper: DganHyper,
        data: &GenData,
        dp: Option<DpSettings>,
        device: Device,
    ) -> Result<Self, String> {
        if dp.is_some() && hyper.gp_norm == GpNorm::WholeBatch {
            return Err(format!("DoppelGANger under DP: {WHOLE_BATCH_REFUSAL}"));
        }
        if let Some(s) = &dp {
            if s.fake_batch == 0 {
                return Err(
                    "DoppelGANger under DP: the fake batch must hold at least 1 row".into(),
                );
            }
            if !(0.0..=1.0).contains(&s.sample_rate) {
                return Err(format!("sampling rate {} outside [0, 1]", s.sample_rate));
            }
        }
        let g = DganGenerator::new(device);
        let d = DganCritic::new(device);
        let cfg = |lr| AdamConfig::new(lr, hyper.beta1);
        Ok(Self {
            opt_g: Adam::new(g.params(), cfg(hyper.lr_g)),
            opt_d: Adam::new(d.params(), cfg(hyper.lr_d)),
            g,
            d,
            dp,
            n: data.len(),
            subjects: SubjectIndex::from_labels(&data.subject_of),
            hyper,
            device,
        })
    }

    fn fakes(&self, rows: usize, latent: &mut rand_chacha::ChaCha20Rng) -> Tensor {
        let z = rng::normal(&[rows as i64, 1, NOISE_DIM], latent, self.device);
        self.g.forward(&z).view([rows as i64, FLAT])
    }

    /// The generator step on `fake` (rows still attached to the generator's graph).
    fn generator_step(&mut self, fake: &Tensor) -> f64 {
        self.opt_g.zero_grad();
        let loss = -self.d.forward(fake).mean(Kind::Float);
        loss.backward();
        self.opt_g.step();
        loss.double_value(&[])
    }

    /// One non-private critic step; returns (loss, mean D(real), mean D(fake), GP).
    fn critic_step(
        &mut self,
        real: &Tensor,
        fake: &Tensor,
        alpha: &Tensor,
    ) -> (f64, f64, f64, f64) {
        self.opt_d.zero_grad();
        let (loss, dr, df, gp) = critic_loss(
            &self.d,
            real,
            &fake.detach(),
            alpha,
            self.hyper.gp_norm,
            self.hyper.gp_coef,
        );
        loss.backward();
        self.opt_d.step();
        (loss.double_value(&[]), dr, df, gp)
    }

    fn reference_step(&mut self, step: u64, data: &GenData, rng: &mut StepRng) -> StepReport {
        let n = self.n;
        let bpe = self.hyper.batches_per_epoch(n);
        let batch = self.hyper.batch(n);
        let (epoch, k) = (step / bpe, (step % bpe) as usize);
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut rng::stream(
            rng.run_seed,
            StepPurpose::Other(EPOCH_SHUFFLE),
            epoch,
        ));
        let idx = &perm[k * batch..((k + 1) * batch).min(n)];
        let real = real_rows(data, idx, self.hyper.n_classes).to_device(self.device);
        let fake = self.fakes(idx.len(), &mut rng.latent);
        let mut last = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..self.hyper.d_steps {
            let alpha = rng::uniform(&[idx.len() as i64], &mut rng.latent, self.device);
            last = self.critic_step(&real, &fake, &alpha);
        }
        let g = self.generator_step(&fake);
        StepReport {
            losses: vec![
                ("d", last.0),
                ("w", last.1 - last.2),
                ("gp", last.3),
                ("g", g),
            ],
            ..Default::default()
        }
    }

    fn default_step(&mut self, data: &GenData, rng: &mut StepRng) -> StepReport {
        let batch = self.hyper.batch(self.n);
        let mut last = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..self.hyper.d_steps {
            let idx = rand::seq::index::sample(&mut rng.batch, self.n, batch).into_vec();
            let real = real_rows(data, &idx, self.hyper.n_classes).to_device(self.device);
            let fake = self.fakes(batch, &mut rng.latent);
            let alpha = rng::uniform(&[batch as i64], &mut rng.latent, self.device);
            last = self.critic_step(&real, &fake, &alpha);
        }
        let fake = self.fakes(batch, &mut rng.latent);
        let g = self.generator_step(&fake);
        StepReport {
            losses: vec![
                ("d", last.0),
                ("w", last.1 - last.2),
                ("gp", last.3),
                ("g", g),
            ],
            ..Default::default()
        }
    }

    /// The rows and units of one private critic step: draws the Poisson batch (`rng.batch`),
    /// then the fake rows, one fresh interpolation partner per real row and α
    /// (`rng.latent`). Returns the batch and its number of real units.
    fn private_batch(
        &self,
        dp: &DpSettings,
        data: &GenData,
        rng: &mut StepRng,
    ) -> Result<(UnitBatch, usize), String> {
        let dev = self.device;
        let units_f = dp.fake_batch;
        // (windows, real row weights, fake rows, fake row weights, groups, real units)
        let (idx, real_w, f, fake_w, group, real_units) = match dp.unit {
            PrivacyUnit::Window => {
                let idx = poisson_sample(self.n, dp.sample_rate, &mut rng.batch);
                let r = idx.len();
                (
                    idx,
                    vec![1.0f32; r],
                    units_f,
                    vec![1.0f32; units_f],
                    None,
                    r,
                )
            }
            PrivacyUnit::Subject => {
                let subj =
                    poisson_sample(self.subjects.n_subjects(), dp.sample_rate, &mut rng.batch);
                let (idx, real_group) = self.subjects.expand(&subj);
                let real_w: Vec<f32> = real_group
                    .iter()
                    .map(|&g| 1.0 / self.subjects.windows_of[subj[g as usize]].len() as f32)
                    .collect();
                // Fake rows grouped round-robin into `units_f` units, each the mean of its rows.
                let f = self.hyper.batch_size.max(units_f);
                let rows_of = |u: usize| f / units_f + usize::from(u < f % units_f);
                let fake_w: Vec<f32> = (0..f).map(|j| 1.0 / rows_of(j % units_f) as f32).collect();
                let ns = subj.len() as i64;
                let mut group = real_group;
                group.extend((0..f).map(|j| ns + (j % units_f) as i64));
                let group = (
                    Tensor::from_slice(&group).to_device(dev),
                    ns + units_f as i64,
                );
                (idx, real_w, f, fake_w, Some(group), subj.len())
            }
        };
        let r = idx.len();
        let fake = tch::no_grad(|| self.fakes(f, &mut rng.latent));
        let partner = tch::no_grad(|| self.fakes(r, &mut rng.latent));
        let alpha = rng::uniform(&[r as i64], &mut rng.latent, dev);
        Ok((
            UnitBatch {
                real: real_rows(data, &idx, self.hyper.n_classes).to_device(dev),
                partner,
                fake,
                alpha,
                real_w: Tensor::from_slice(&real_w).to_device(dev),
                fake_w: Tensor::from_slice(&fake_w).to_device(dev),
                group,
            },
            real_units,
        ))
    }

    fn private_step(
        &mut self,
        dp: &DpSettings,
        data: &GenData,
        rng: &mut StepRng,
    ) -> Result<StepReport, String> {
        let batch = self.hyper.batch(self.n);
        let mut report = StepReport::default();
        let mut d_fake = 0.0;
        for _ in 0..self.hyper.d_steps {
            let (ub, real_units) = self.private_batch(dp, data, rng)?;
            let pe = unit_grads(&self.d, &ub, self.hyper.gp_coef);
            let cfg = DpStepConfig {
                clip_norm: dp.clip_norm,
                noise_multiplier: dp.sigma,
                expected_batch_size: dp.expected_batch + dp.fake_batch as f64,
            };
            let rep = dp_step_from_grads(&pe, &cfg, rng.noise_seed());
            self.opt_d.step();
            report.private_steps += 1;
            report.empty_batches += u64::from(real_units == 0);
            report.clipped_fraction_sum += rep.clipped_fraction;
            d_fake = tch::no_grad(|| self.d.forward(&ub.fake).mean(Kind::Float).double_value(&[]));
        }
        let fake = self.fakes(batch, &mut rng.latent);
        let g = self.generator_step(&fake);
        report.losses = vec![("d_fake", d_fake), ("g", g)];
        Ok(report)
    }
}

impl GanAlgorithm for DganAlgorithm {
    fn kind(&self) -> GeneratorKind {
        GeneratorKind::Dgan
    }

    fn total_steps(&self) -> u64 {
        self.hyper.executor_steps(self.n)
    }

    fn step(&mut self, step: u64, data: &GenData, rng: &mut StepRng) -> Result<StepReport, String> {
        if data.len() != self.n {
            return Err(format!(
                "the algorithm was built for {} windows, the data have {}",
                self.n,
                data.len()
            ));
        }
        let report = match (self.dp.clone(), self.hyper.mode) {
            (Some(dp), _) => self.private_step(&dp, data, rng)?,
            (None, GeneratorMode::Reference) => self.reference_step(step, data, rng),
            (None, GeneratorMode::Default) => self.default_step(data, rng),
        };
        if let Some((name, v)) = report.losses.iter().find(|(_, v)| !v.is_finite()) {
            return Err(format!("DoppelGANger loss `{name}` is not finite ({v})"));
        }
        Ok(report)
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        let mut s = self.g.named();
        s.extend(self.d.named());
        s.extend(self.opt_g.state("opt_g"));
        s.extend(self.opt_d.state("opt_d"));
        s
    }

    fn load_state(&mut self, named: &[(String, Tensor)]) -> Result<(), String> {
        self.g.load(named)?;
        self.d.load(named)?;
        self.opt_g.load_state("opt_g", named)?;
        self.opt_d.load_state("opt_d", named)
    }

    fn generator_tensors(&self) -> Vec<(String, Tensor)> {
        self.g.named()
    }
}

/// Samples windows from a released generator.
pub struct DganSampler {
    g: DganGenerator,
    n_classes: usize,
    device: Device,
}

impl WindowSampler for DganSampler {
    fn conditional(&self) -> bool {
        false
    }

    fn sample(&self, labels: &[u8], rng: &mut rand_chacha::ChaCha20Rng) -> Result<Sampled, String> {
        let n = labels.len();
        let top = (self.n_classes.max(2) - 1) as f64;
        let mut windows = Vec::new();
        let mut steps = Vec::new();
        let mut done = 0;
        while done < n {
            let m = SAMPLE_CHUNK.min(n - done) as i64;
            let z = rng::normal(&[m, 1, NOISE_DIM], rng, self.device);
            let out = tch::no_grad(|| self.g.forward(&z));
            windows.push(out.narrow(2, 0, CHANNELS - 1));
            let lab = out.select(2, CHANNELS - 1) * top;
            // v·(C − 1) ≥ k − 0.5 → at least class k; for binary labels: v ≥ 0.5 → 1.
            steps.push((lab + 0.5).floor().clamp(0.0, top).to_kind(Kind::Int64));
            done += m as usize;
        }
        if n == 0 {
            return Ok(Sampled {
                windows: Tensor::zeros([0, SEQ, CHANNELS - 1], (Kind::Float, self.device)),
                step_labels: Tensor::zeros([0, SEQ], (Kind::Int64, self.device)),
            });
        }
        Ok(Sampled {
            windows: Tensor::cat(&windows, 0),
            step_labels: Tensor::cat(&steps, 0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::simulator::{simulate, SimulatorConfig};
    use crate::features::windows::WindowScheme;
    use crate::privacy::dpsgd::{clip_factors, clipped_sum, total_norm};
    use rand::SeedableRng;

    fn sim_data() -> GenData {
        let ds = simulate(&SimulatorConfig {
            subjects: 3,
            ..Default::default()
        })
        .expect("simulate");
        GenData::from_dataset(&ds, WindowScheme::NonOverlapping, &[], Device::Cpu).expect("data")
    }

    fn tiny(mode: GeneratorMode, steps: u64, batch: usize, d_steps: u64) -> DganFamily {
        let mut hyper = DganHyper::for_mode(mode, 2);
        hyper.steps = Some(steps);
        hyper.batch_size = batch;
        hyper.d_steps = d_steps;
        DganFamily { hyper }
    }

    fn dp_settings(data: &GenData, unit: PrivacyUnit, expected: f64, sigma: f64) -> DpSettings {
        let q = expected / data.len() as f64;
        let eb = match unit {
            PrivacyUnit::Window => expected,
            PrivacyUnit::Subject => q * data.subject_ids.len() as f64,
        };
        DpSettings {
            sigma,
            clip_norm: 1.0,
            sample_rate: q,
            expected_batch: eb,
            fake_batch: eb.round().max(1.0) as usize,
            unit,
        }
    }

    fn copied(state: Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
        state
            .into_iter()
            .map(|(n, t)| (n, t.detach().copy()))
            .collect()
    }

    fn assert_same_state(a: &[(String, Tensor)], b: &[(String, Tensor)]) {
        assert_eq!(a.len(), b.len());
        for ((na, ta), (nb, tb)) in a.iter().zip(b) {
            assert_eq!(na, nb);
            assert!(ta.equal(tb), "state `{na}` differs");
        }
    }

    /// One real row's term with the shared critic: w (−D(x) + λ (√(‖∇D(x̂)‖² + ε) − 1)²).
    fn real_term(d: &DganCritic, x: &Tensor, f: &Tensor, alpha: &Tensor, w: f64) -> Tensor {
        let xhat = interpolate(x, f, alpha);
        let g = input_grad(&d.forward(&xhat), &xhat);
        ((-d.forward(x) + per_row_penalty(&g) * 10.0) * w).sum(Kind::Float)
    }

    fn fake_term(d: &DganCritic, f: &Tensor, w: f64) -> Tensor {
        (d.forward(f) * w).sum(Kind::Float)
    }

    /// Σ_u clip_C(∇ loss_u), one unit at a time with the shared critic.
    fn loop_clipped_sum(d: &DganCritic, unit_losses: Vec<Tensor>, clip: f64) -> Vec<Tensor> {
        let params = d.params();
        let mut acc: Vec<Tensor> = params.iter().map(|p| p.detach().zeros_like()).collect();
        for loss in unit_losses {
            let g = Tensor::run_backward(&[loss], &params, false, false);
            let factor = (clip / total_norm(&g)).min(1.0);
            for (a, gi) in acc.iter_mut().zip(&g) {
                *a = &*a + gi * factor;
            }
        }
        acc
    }

    fn max_diff(a: &[Tensor], b: &[Tensor]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs().max().double_value(&[]))
            .fold(0.0, f64::max)
    }

    /// Real rows, their partners, fake rows and α.
    fn random_rows(r: i64, f: i64) -> (Tensor, Tensor, Tensor, Tensor) {
        let opts = (Kind::Float, Device::Cpu);
        (
            Tensor::rand([r, FLAT], opts),
            Tensor::rand([r, FLAT], opts),
            Tensor::rand([f, FLAT], opts),
            Tensor::rand([r], opts),
        )
    }

    #[test]
    fn window_unit_clipped_sum_with_penalty_equals_a_per_example_loop() {
        tch::manual_seed(11);
        let d = DganCritic::new(Device::Cpu);
        let (real, partner, fake, alpha) = random_rows(5, 3);
        let ub = UnitBatch {
            real: real.shallow_clone(),
            partner: partner.shallow_clone(),
            fake: fake.shallow_clone(),
            alpha: alpha.shallow_clone(),
            real_w: Tensor::ones([5], (Kind::Float, Device::Cpu)),
            fake_w: Tensor::ones([3], (Kind::Float, Device::Cpu)),
            group: None,
        };
        let pe = unit_grads(&d, &ub, 10.0);
        assert_eq!(pe.batch_size(), 8);
        // A clip norm between the smallest and largest unit norm, so both cases occur.
        let norms: Vec<f64> = Vec::<f64>::try_from(pe.norms().to_kind(Kind::Double)).unwrap();
        let (lo, hi) = norms
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &x| (l.min(x), h.max(x)));
        assert!(hi > lo * 1.01, "{norms:?}");
        let clip = 0.5 * (lo + hi);
        let batched = clipped_sum(&pe, clip);
        let mut losses = Vec::new();
        for i in 0..5 {
            losses.push(real_term(
                &d,
                &real.narrow(0, i, 1),
                &partner.narrow(0, i, 1),
                &alpha.narrow(0, i, 1),
                1.0,
            ));
        }
        for j in 0..3 {
            losses.push(fake_term(&d, &fake.narrow(0, j, 1), 1.0));
        }
        let looped = loop_clipped_sum(&d, losses, clip);
        let diff = max_diff(&batched, &looped);
        assert!(diff < 1e-5, "batched vs loop: {diff}");
        // The penalty matters: without it the per-unit gradients differ.
        let no_gp = unit_grads(&d, &ub, 0.0);
        assert!(max_diff(&no_gp.grads, &pe.grads) > 1e-4);
        // The factors used by the batched path clip some units and leave others.
        let f = clip_factors(&pe.norms(), clip);
        assert!(f.lt(1.0).any().int64_value(&[]) == 1 && f.eq(1.0).any().int64_value(&[]) == 1);
    }

    #[test]
    fn subject_unit_groups_rows_before_clipping() {
        tch::manual_seed(12);
        let d = DganCritic::new(Device::Cpu);
        let (real, partner, fake, alpha) = random_rows(5, 4);
        // Real rows: subject 0 = rows 0, 1, 2; subject 1 = rows 3, 4. Fakes: 2 units of 2 rows.
        let rw = [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.5, 0.5];
        let group: Vec<i64> = vec![0, 0, 0, 1, 1, 2, 3, 2, 3];
        let ub = UnitBatch {
            real: real.shallow_clone(),
            partner: partner.shallow_clone(),
            fake: fake.shallow_clone(),
            alpha: alpha.shallow_clone(),
            real_w: Tensor::from_slice(&rw.map(|x| x as f32)),
            fake_w: Tensor::from_slice(&[0.5f32; 4]),
            group: Some((Tensor::from_slice(&group), 4)),
        };
        let pe = unit_grads(&d, &ub, 10.0);
        assert_eq!(pe.batch_size(), 4);
        let clip = 0.05;
        let batched = clipped_sum(&pe, clip);
        let row = |i: i64| {
            real_term(
                &d,
                &real.narrow(0, i, 1),
                &partner.narrow(0, i, 1),
                &alpha.narrow(0, i, 1),
                rw[i as usize],
            )
        };
        let losses = vec![
            row(0) + row(1) + row(2),
            row(3) + row(4),
            fake_term(&d, &fake.narrow(0, 0, 1), 0.5) + fake_term(&d, &fake.narrow(0, 2, 1), 0.5),
            fake_term(&d, &fake.narrow(0, 1, 1), 0.5) + fake_term(&d, &fake.narrow(0, 3, 1), 0.5),
        ];
        let looped = loop_clipped_sum(&d, losses, clip);
        let diff = max_diff(&batched, &looped);
        assert!(diff < 1e-5, "batched vs loop: {diff}");
    }

    #[test]
    fn whole_batch_and_per_sample_penalties() {
        tch::manual_seed(13);
        let g = Tensor::randn([4, FLAT], (Kind::Float, Device::Cpu)) * 0.05;
        let whole = gradient_penalty(&g, GpNorm::WholeBatch).double_value(&[]);
        let per = gradient_penalty(&g, GpNorm::PerSample).double_value(&[]);
        let v: Vec<f32> = Vec::<f32>::try_from(g.flatten(0, -1)).unwrap();
        let s: f64 = v.iter().map(|&x| (x as f64) * (x as f64)).sum();
        let hand = ((s + 1e-8).sqrt() - 1.0).powi(2);
        assert!(
            (whole - hand).abs() < 1e-5 * hand.max(1.0),
            "{whole} vs {hand}"
        );
        let rows: Vec<f64> = (0..4)
            .map(|i| {
                let s: f64 = v[i * FLAT as usize..(i + 1) * FLAT as usize]
                    .iter()
                    .map(|&x| (x as f64) * (x as f64))
                    .sum();
                ((s + 1e-8).sqrt() - 1.0).powi(2)
            })
            .collect();
        let hand_per = rows.iter().sum::<f64>() / 4.0;
        assert!((per - hand_per).abs() < 1e-5, "{per} vs {hand_per}");
        assert!((whole - per).abs() > 1e-2, "{whole} vs {per}");
    }

    #[test]
    fn schedules_and_private_use() {
        let data = sim_data();
        let n = data.len();
        let r = DganHyper::for_mode(GeneratorMode::Reference, 2);
        assert_eq!(r.batch(1083), 1000);
        assert_eq!(r.batches_per_epoch(1083), 2);
        assert_eq!(r.executor_steps(1083), 20_000);
        assert_eq!(r.batches_per_epoch(1001), 1); // the batch of one is dropped
        assert_eq!(r.batch(n), n);
        let d = DganHyper::for_mode(GeneratorMode::Default, 2);
        assert_eq!(d.executor_steps(530), 2485);
        let mut d3 = d;
        d3.d_steps = 3;
        assert_eq!(d3.executor_steps(530), 829);
        assert_eq!(d3.critic_steps(530), 829 * 3);
        let fam = family(
            GeneratorMode::Default,
            2,
            &Overrides {
                epochs: Some(10),
                batch_size: Some(16),
                d_steps: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
        let expect_steps = (10 * n as u64).div_ceil(16).div_ceil(2) * 2;
        assert_eq!(
            fam.private_use(&data, PrivacyUnit::Window),
            PrivateUse::DpSgd {
                expected_batch: 16.0,
                steps: expect_steps
            }
        );
        let built = fam.build(&data, None, Device::Cpu).unwrap();
        assert_eq!(built.total_steps() * 2, expect_steps);
        let rf = family(GeneratorMode::Reference, 2, &Overrides::default()).unwrap();
        match rf.private_use(&data, PrivacyUnit::Window) {
            PrivateUse::Impossible(why) => assert!(why.contains("--mode default"), "{why}"),
            other => panic!("{other:?}"),
        }
        let dp = dp_settings(&data, PrivacyUnit::Window, 8.0, 1.0);
        assert!(rf.build(&data, Some(dp), Device::Cpu).is_err());
        let big = family(
            GeneratorMode::Default,
            2,
            &Overrides {
                batch_size: Some(n + 1),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(big.validate(&data).unwrap_err().contains("larger than"));
        let back = from_hyper(&fam.hyper_json()).unwrap();
        assert_eq!(back.hyper_json(), fam.hyper_json());
    }

    fn run(
        algo: &mut dyn GanAlgorithm,
        data: &GenData,
        steps: std::ops::Range<u64>,
    ) -> Vec<StepReport> {
        steps
            .map(|k| algo.step(k, data, &mut StepRng::new(7, k)).expect("step"))
            .collect()
    }

    /// Runs `0..end` uninterrupted, and `0..mid` then a fresh algorithm loaded from that state
    /// for `mid..end`: both equal bit for bit, and equal to a second uninterrupted run.
    fn check_resume(fam: &DganFamily, dp: Option<DpSettings>, mid: u64, end: u64) {
        let data = sim_data();
        tch::manual_seed(5);
        let mut a = fam.build(&data, dp.clone(), Device::Cpu).unwrap();
        let mut b = fam.build(&data, dp.clone(), Device::Cpu).unwrap();
        b.load_state(&copied(a.state())).unwrap();
        run(a.as_mut(), &data, 0..mid);
        let at_mid = copied(a.state());
        run(a.as_mut(), &data, mid..end);
        // Same start, same steps → same state (determinism).
        run(b.as_mut(), &data, 0..end);
        assert_same_state(&copied(a.state()), &copied(b.state()));
        // A fresh algorithm resumed from the mid state equals the uninterrupted run.
        let mut c = fam.build(&data, dp, Device::Cpu).unwrap();
        c.load_state(&at_mid).unwrap();
        run(c.as_mut(), &data, mid..end);
        assert_same_state(&copied(a.state()), &copied(c.state()));
    }

    #[test]
    fn reference_mode_resumes_bitwise() {
        check_resume(&tiny(GeneratorMode::Reference, 8, 16, 1), None, 2, 4);
    }

    #[test]
    fn default_mode_resumes_bitwise() {
        check_resume(&tiny(GeneratorMode::Default, 8, 8, 2), None, 2, 4);
    }

    #[test]
    fn private_mode_resumes_bitwise() {
        let data = sim_data();
        let dp = dp_settings(&data, PrivacyUnit::Window, 6.0, 0.8);
        check_resume(&tiny(GeneratorMode::Default, 8, 6, 1), Some(dp), 1, 2);
    }

    #[test]
    fn tiny_trainings_are_finite_and_count_private_steps() {
        let data = sim_data();
        tch::manual_seed(6);
        for (fam, dp) in [
            (tiny(GeneratorMode::Reference, 3, 20, 1), None),
            (tiny(GeneratorMode::Default, 3, 8, 2), None),
            (
                tiny(GeneratorMode::Default, 1, 8, 2),
                Some(dp_settings(&data, PrivacyUnit::Window, 8.0, 1.0)),
            ),
            (
                tiny(GeneratorMode::Default, 2, 8, 1),
                Some(dp_settings(&data, PrivacyUnit::Subject, 40.0, 1.0)),
            ),
            (
                // A rate so small that the batch is (almost surely) empty: still counted.
                tiny(GeneratorMode::Default, 1, 8, 1),
                Some(DpSettings {
                    sample_rate: 1e-12,
                    ..dp_settings(&data, PrivacyUnit::Window, 8.0, 1.0)
                }),
            ),
        ] {
            let mut algo = fam.build(&data, dp.clone(), Device::Cpu).unwrap();
            let total = algo.total_steps();
            let reports = run(algo.as_mut(), &data, 0..total);
            for r in &reports {
                assert!(r.losses.iter().all(|(_, v)| v.is_finite()), "{r:?}");
                let expected = if dp.is_some() { fam.hyper.d_steps } else { 0 };
                assert_eq!(r.private_steps, expected);
            }
            if dp.as_ref().is_some_and(|d| d.sample_rate < 1e-6) {
                assert!(reports.iter().all(|r| r.empty_batches == 1));
            }
            for (name, t) in algo.state() {
                let finite = t.isfinite().all().int64_value(&[]) == 1;
                assert!(finite, "state `{name}` is not finite");
            }
        }
    }

    #[test]
    fn sampler_shapes_and_binary_step_labels() {
        let data = sim_data();
        tch::manual_seed(8);
        let fam = tiny(GeneratorMode::Default, 1, 8, 1);
        let mut algo = fam.build(&data, None, Device::Cpu).unwrap();
        run(algo.as_mut(), &data, 0..1);
        let s = fam.sampler(&algo.generator_tensors(), Device::Cpu).unwrap();
        assert!(!s.conditional());
        let mut r1 = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let out = s.sample(&vec![1u8; 1003], &mut r1).unwrap();
        assert_eq!(out.windows.size(), vec![1003, 60, 6]);
        assert_eq!(out.step_labels.size(), vec![1003, 60]);
        assert_eq!(out.step_labels.kind(), Kind::Int64);
        let bad = out.step_labels.ne(0).logical_and(&out.step_labels.ne(1));
        assert_eq!(bad.any().int64_value(&[]), 0);
        let w = &out.windows;
        assert!(w.min().double_value(&[]) > 0.0 && w.max().double_value(&[]) < 1.0);
        // The same stream gives the same windows; the labels asked for are ignored.
        let mut r2 = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let again = s.sample(&vec![0u8; 1003], &mut r2).unwrap();
        assert!(again.windows.equal(&out.windows));
        let none = s.sample(&[], &mut r2).unwrap();
        assert_eq!(none.windows.size(), vec![0, 60, 6]);
        // Three classes: the channel maps back to 0, 1, 2.
        let fam3 = DganFamily {
            hyper: DganHyper::for_mode(GeneratorMode::Default, 3),
        };
        let s3 = fam3
            .sampler(&algo.generator_tensors(), Device::Cpu)
            .unwrap();
        let o3 = s3.sample(&[0u8; 50], &mut r2).unwrap();
        assert!(o3.step_labels.max().int64_value(&[]) <= 2);
    }
}
