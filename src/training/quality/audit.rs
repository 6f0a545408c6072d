//! A canary audit of the generators' private discriminator step (dp-generators.md §4, step 1;
//! Jagielski et al. 2020, Nasr et al. 2021): the mechanism is run many times on a batch D and
//! on D ∪ {canary}, and a threshold test on its output gives an empirical ε lower bound with
//! 95 % confidence ([`crate::evaluation::audit`]), to be read next to the ε the accountant
//! states for that one step.
//!
//! **The mechanism** is the cGAN's default-mode private D step, through the training code
//! itself: [`CganAlgorithm::draw_d_batches`] with sampling rate 1 (every window of D is in the
//! batch, plus `fake_batch` fake rows from the generator at its initial weights, each its own
//! unit; the batch without the canary is that batch with the canary's row taken out) and
//! [`CganAlgorithm::private_d_grads`] (per-example clipping to C, one Gaussian
//! N(0, σ²C²) per parameter, division by the expected batch, written into D's `.grad()`). The
//! weights stay at their initial values (no optimiser step), so every trial is one application
//! of the same one-step mechanism with a fresh noise seed; trials alternate without / with the
//! canary. D is `batch` windows of uniform [0, 1) values (like the min–max scaled data; the
//! guarantee holds for every D, so the audit needs no real data).
//!
//! **The canary** is crafted from public information only (the initial weights): among
//! constant windows at levels [`CANARY_LEVELS`] (outside the data's [0, 1]) with either
//! label, the one whose own gradient (as a real row) has the largest norm. Its direction
//! u = g_c / ‖g_c‖ is taken from the same D-step code (σ = 0, no clipping, a batch of the
//! canary alone).
//!
//! **The statistic** of a trial is ⟨.grad(), u⟩, the projection of the released noisy gradient
//! on the canary's direction. Without the canary it is N(a, (σC/m)²) with m the divisor and a
//! fixed by D; with it the mean moves by min(‖g_c‖, C)/m. The test therefore faces Gaussian DP
//! with μ = min(‖g_c‖, C)/(σC) (reported as `mu`): the audit is tight only when the canary's
//! gradient reaches the clipping norm.
//!
//! **Claimed ε**: the chosen accountant for one step at sampling rate 1 with σ and δ (none
//! when σ = 0: no finite guarantee).
//!
//! May depend on: tch, the cGAN training code, privacy::accounting, evaluation::audit,
//! config::seeds.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::{apply_threads, check_threads, QualityError};
use crate::config::seeds::{self, Purpose, SeedKey};
use crate::data::LabelMap;
use crate::evaluation::audit::{audit_scores, ErrorCounts, MIN_TRIALS_PER_ARM};
use crate::evaluation::leakage::Rate;
use crate::features::windows::WindowScheme;
use crate::models::generator_spec::GeneratorMode;
use crate::privacy::accounting::ledger::AccountantKind;
use crate::privacy::accounting::{PrivacyUnit, Schedule};
use crate::privacy::dpsgd::total_norm;
use crate::training::generator::kinds::cgan::{CganAlgorithm, CganHyper, DBatch};
use crate::training::generator::privacy::accountant;
use crate::training::generator::rng::{self as gen_rng, StepRng};
use crate::training::generator::{DpSettings, GenData, N_FEATURES, SEQ_LEN};

const SCOPE: &str = "quality-audit";
/// Constant values of the candidate canary windows.
pub const CANARY_LEVELS: [f32; 6] = [-4.0, -2.0, -1.0, 1.0, 2.0, 4.0];
/// The clipping norm of the canary's own (unclipped) gradient.
const NO_CLIP: f64 = 1e12;

/// What to audit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditConfig {
    /// Mechanism runs, alternately without and with the canary (at least 4).
    pub trials: usize,
    /// Windows in D (all in the batch: sampling rate 1).
    pub batch: usize,
    /// Fake rows per D step (the default mode uses the expected real batch).
    pub fake_batch: usize,
    /// Clipping norm C.
    pub clip_norm: f64,
    /// Noise multiplier σ (0: the non-private control).
    pub noise_multiplier: f64,
    /// δ of both the bound and the claimed ε.
    pub delta: f64,
    /// The accountant of the claimed ε.
    pub accountant: AccountantKind,
    pub seed: u64,
    /// libtorch intra-op threads (process-wide); `None` leaves them.
    pub threads: Option<usize>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            trials: 1000,
            batch: 32,
            fake_batch: 32,
            clip_norm: 1.0,
            noise_multiplier: 1.0,
            delta: 1e-5,
            accountant: AccountantKind::Pld,
            seed: 0,
            threads: None,
        }
    }
}

impl AuditConfig {
    fn check(&self) -> Result<(), QualityError> {
        let bad = |field: &'static str, reason: String| Err(QualityError::Config { field, reason });
        if self.trials < 2 * MIN_TRIALS_PER_ARM {
            return bad(
                "trials",
                format!(
                    "{} is fewer than {} (two per arm: one chooses the threshold, one evaluates it)",
                    self.trials,
                    2 * MIN_TRIALS_PER_ARM
                ),
            );
        }
        if self.batch == 0 {
            return bad("batch", "must be at least 1".into());
        }
        if !(self.clip_norm.is_finite() && self.clip_norm > 0.0) {
            return bad(
                "clip_norm",
                format!("{} must be finite and > 0", self.clip_norm),
            );
        }
        if !(self.noise_multiplier.is_finite() && self.noise_multiplier >= 0.0) {
            return bad(
                "noise_multiplier",
                format!("{} must be finite and >= 0", self.noise_multiplier),
            );
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return bad("delta", format!("{} must lie in (0, 1)", self.delta));
        }
        check_threads(self.threads)
    }
}

/// The outcome of an audit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditResult {
    /// Empirical ε lower bound, valid with probability `confidence`.
    pub eps_lower: f64,
    /// The same formula on the empirical rates (no confidence; `None` where unbounded).
    pub eps_point: Option<f64>,
    /// The accountant's ε for the step (`None` for σ = 0).
    pub claimed_epsilon: Option<f64>,
    pub delta: f64,
    pub confidence: f64,
    /// The threshold on ⟨update, u⟩, chosen on the first half of each arm.
    pub threshold: f64,
    /// FPR and FNR on the second halves, with 95 % Clopper–Pearson intervals.
    pub fpr: Rate,
    pub fnr: Rate,
    pub evaluation: ErrorCounts,
    pub trials: usize,
    pub accountant: AccountantKind,
    pub noise_multiplier: f64,
    pub clip_norm: f64,
    /// The canary window's constant value, its label and its gradient norm.
    pub canary_level: f32,
    pub canary_label: u8,
    pub canary_grad_norm: f64,
    /// min(‖g_c‖, C)/(σC): the Gaussian-DP μ the test faces (`None` for σ = 0).
    pub mu: Option<f64>,
}

fn key(purpose: Purpose) -> SeedKey<'static> {
    SeedKey {
        scope: SCOPE,
        replicate: 0,
        fold: 0,
        purpose,
    }
}

/// Generator data holding windows `x` (n, 60, 6) with labels (one subject, binary).
fn gen_data(x: Tensor, labels: Vec<u8>) -> GenData {
    let n = labels.len();
    let steps: Vec<i64> = labels
        .iter()
        .flat_map(|&l| std::iter::repeat_n(l as i64, SEQ_LEN as usize))
        .collect();
    GenData {
        x,
        step_labels: Tensor::from_slice(&steps).view([n as i64, SEQ_LEN]),
        subject_of: vec![0; n],
        subject_ids: vec![0],
        n_classes: 2,
        label_map: LabelMap::Binary,
        scheme: WindowScheme::NonOverlapping,
        sliding_window_count: n,
        labels,
    }
}

/// Windows of zeros with the right shape, to build the algorithm (it reads only their number
/// and classes).
fn placeholder(n: usize) -> GenData {
    gen_data(
        Tensor::zeros([n as i64, SEQ_LEN, N_FEATURES], (Kind::Float, Device::Cpu)),
        (0..n).map(|i| (i % 2) as u8).collect(),
    )
}

/// `b` without its real row `row`, every remaining row its own unit (as
/// `CganAlgorithm::draw_d_batches` numbers them: real rows, then fakes).
fn without_row(b: &DBatch, row: usize) -> DBatch {
    let keep: Vec<i64> = (0..(b.n_real + b.n_fake) as i64)
        .filter(|&i| i != row as i64)
        .collect();
    let keep_t = Tensor::from_slice(&keep);
    let mut real_labels = b.real_labels.clone();
    real_labels.remove(row);
    DBatch {
        n_real: b.n_real - 1,
        n_fake: b.n_fake,
        x: b.x.index_select(0, &keep_t),
        y: b.y.index_select(0, &keep_t),
        target: b.target.index_select(0, &keep_t),
        unit: (0..keep.len() as i64).collect(),
        n_units: keep.len() as i64,
        real_labels,
    }
}

/// A batch of one real row: the canary alone.
fn canary_batch(x: &Tensor, label: u8) -> DBatch {
    DBatch {
        n_real: 1,
        n_fake: 0,
        x: x.shallow_clone(),
        y: Tensor::from_slice(&[label as i64]),
        target: Tensor::ones([1], (Kind::Float, Device::Cpu)),
        unit: vec![0],
        n_units: 1,
        real_labels: vec![label],
    }
}

/// D's `.grad()` after the private D step of `batch` under `dp` with noise seed `seed`.
fn d_update(algo: &CganAlgorithm, batch: &DBatch, dp: &DpSettings, seed: i64) -> Vec<Tensor> {
    let _ = algo.private_d_grads(batch, dp, seed);
    algo.discriminator()
        .parameters()
        .iter()
        .map(|p| p.grad().detach().copy())
        .collect()
}

fn dot(a: &[Tensor], b: &[Tensor]) -> f64 {
    tch::no_grad(|| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x * y).sum(Kind::Double).double_value(&[]))
            .sum()
    })
}

/// The canary: (window (1, 60, 6), level, label, its gradient as a real row).
fn craft_canary(algo: &CganAlgorithm) -> (Tensor, f32, u8, Vec<Tensor>) {
    let exact = DpSettings {
        sigma: 0.0,
        clip_norm: NO_CLIP,
        sample_rate: 1.0,
        expected_batch: 1.0,
        fake_batch: 0,
        unit: PrivacyUnit::Window,
    };
    let mut best: Option<(f64, Tensor, f32, u8, Vec<Tensor>)> = None;
    for &level in &CANARY_LEVELS {
        for label in 0..2u8 {
            let x = Tensor::full(
                [1, SEQ_LEN, N_FEATURES],
                level as f64,
                (Kind::Float, Device::Cpu),
            );
            let g = d_update(algo, &canary_batch(&x, label), &exact, 0);
            let norm = total_norm(&g);
            if best.as_ref().is_none_or(|(n, ..)| norm > *n) {
                best = Some((norm, x, level, label, g));
            }
        }
    }
    let (_, x, level, label, g) = best.expect("at least one candidate");
    (x, level, label, g)
}

/// Runs the audit (module docs).
pub fn canary_audit(cfg: &AuditConfig) -> Result<AuditResult, QualityError> {
    cfg.check()?;
    apply_threads(cfg.threads);
    let n = cfg.batch;
    let mut data_rng = seeds::rng(cfg.seed, &key(Purpose::Simulation));
    let x = gen_rng::uniform(&[n as i64, SEQ_LEN, N_FEATURES], &mut data_rng, Device::Cpu);
    let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();

    tch::manual_seed(seeds::torch_seed(seeds::derive(
        cfg.seed,
        &key(Purpose::Init),
    )));
    let hyper = CganHyper::for_mode(GeneratorMode::Default, 2);
    let dp = DpSettings {
        sigma: cfg.noise_multiplier,
        clip_norm: cfg.clip_norm,
        sample_rate: 1.0,
        expected_batch: n as f64,
        fake_batch: cfg.fake_batch,
        unit: PrivacyUnit::Window,
    };
    // The algorithm is built on D ∪ {canary} (it samples among the windows it was built for);
    // the batch without the canary is the same batch with the canary's row taken out.
    let algo = CganAlgorithm::new(hyper, &placeholder(n + 1), Some(dp.clone()), Device::Cpu)
        .map_err(QualityError::Mechanism)?;

    let (canary, canary_level, canary_label, g_canary) = craft_canary(&algo);
    let canary_grad_norm = total_norm(&g_canary);
    if !(canary_grad_norm.is_finite() && canary_grad_norm > 0.0) {
        return Err(QualityError::Mechanism(format!(
            "the canary's gradient has norm {canary_grad_norm}: it gives the test no direction"
        )));
    }
    let u: Vec<Tensor> = g_canary.iter().map(|g| g / canary_grad_norm).collect();
    let with = gen_data(
        Tensor::cat(&[x, canary.shallow_clone()], 0),
        [labels, vec![canary_label]].concat(),
    );
    let batch_seed = seeds::derive(cfg.seed, &key(Purpose::Sample));
    let b1 = algo
        .draw_d_batches(0, &with, &mut StepRng::new(batch_seed, 0))
        .remove(0);
    let canary_in_place = b1.n_real == n + 1
        && b1.n_fake == cfg.fake_batch
        && b1.x.get(n as i64).equal(&canary.get(0));
    if !canary_in_place {
        return Err(QualityError::Mechanism(format!(
            "the D batch holds {} real rows and {} fakes, expected {} with the canary last and {}",
            b1.n_real,
            b1.n_fake,
            n + 1,
            cfg.fake_batch
        )));
    }
    let b0 = without_row(&b1, n);

    let mut noise = seeds::rng(cfg.seed, &key(Purpose::Privacy));
    let (mut s0, mut s1) = (Vec::new(), Vec::new());
    for i in 0..cfg.trials {
        let seed = (noise.next_u64() >> 1) as i64;
        if i % 2 == 0 {
            s0.push(dot(&d_update(&algo, &b0, &dp, seed), &u));
        } else {
            s1.push(dot(&d_update(&algo, &b1, &dp, seed), &u));
        }
    }
    let bound = audit_scores(&s0, &s1, cfg.delta).map_err(QualityError::Audit)?;

    let claimed_epsilon = if cfg.noise_multiplier > 0.0 {
        let sched = Schedule::new(1.0, 1, cfg.delta).map_err(QualityError::Accountant)?;
        Some(
            accountant(cfg.accountant)
                .epsilon(&sched, cfg.noise_multiplier)
                .map_err(QualityError::Accountant)?,
        )
    } else {
        None
    };
    Ok(AuditResult {
        eps_lower: bound.eps_lower,
        eps_point: bound.eps_point,
        claimed_epsilon,
        delta: cfg.delta,
        confidence: bound.confidence,
        threshold: bound.threshold,
        fpr: bound.fpr,
        fnr: bound.fnr,
        evaluation: bound.evaluation,
        trials: cfg.trials,
        accountant: cfg.accountant,
        noise_multiplier: cfg.noise_multiplier,
        clip_norm: cfg.clip_norm,
        canary_level,
        canary_label,
        canary_grad_norm,
        mu: (cfg.noise_multiplier > 0.0)
            .then(|| canary_grad_norm.min(cfg.clip_norm) / (cfg.noise_multiplier * cfg.clip_norm)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 160 runs: 40 per arm evaluate the threshold, so a perfect test proves at most
    /// ln((1 − δ − h)/h) = 2.34 with h = 1 − 0.025^(1/40).
    fn cfg(sigma: f64, clip: f64) -> AuditConfig {
        AuditConfig {
            trials: 160,
            batch: 4,
            fake_batch: 4,
            clip_norm: clip,
            noise_multiplier: sigma,
            delta: 1e-5,
            accountant: AccountantKind::Pld,
            seed: 11,
            threads: Some(1),
        }
    }

    #[test]
    fn a_private_step_stays_below_its_epsilon_and_a_non_private_one_exceeds_it() {
        // σ = 3, C = 1: one step at rate 1 is (1.27, 1e-5)-DP (PLD; the exact Gaussian
        // mechanism with μ = 1/3 gives 1.271).
        let private = canary_audit(&cfg(3.0, 1.0)).unwrap();
        let claimed = private
            .claimed_epsilon
            .expect("sigma > 0 has a finite epsilon");
        assert!((claimed - 1.271).abs() < 0.01, "{private:?}");
        // The canary's gradient reaches C, so the test faces the full μ = 1/σ.
        assert!(private.canary_grad_norm >= 1.0, "{private:?}");
        assert_eq!(private.mu, Some(1.0 / 3.0));
        assert!(private.eps_lower <= claimed, "{private:?}");
        // σ = 0 and a clipping norm no gradient reaches: no noise, no clipping. The audit
        // tells the worlds apart every time and proves more than the private step's ε.
        let open = canary_audit(&cfg(0.0, 1e6)).unwrap();
        assert_eq!(open.claimed_epsilon, None);
        let e = open.evaluation;
        assert_eq!((e.false_positives, e.false_negatives), (0, 0), "{open:?}");
        assert!(open.eps_lower > 2.3 && open.eps_lower > claimed, "{open:?}");
        assert!(
            open.eps_lower > private.eps_lower,
            "{open:?} vs {private:?}"
        );
    }

    #[test]
    fn the_noisy_audit_is_reproducible_from_its_seed() {
        let short = AuditConfig {
            trials: 8,
            ..cfg(1.0, 1.0)
        };
        let a = canary_audit(&short).unwrap();
        assert_eq!(canary_audit(&short).unwrap(), a);
        let b = canary_audit(&AuditConfig { seed: 12, ..short }).unwrap();
        assert_ne!(a.threshold, b.threshold);
    }

    #[test]
    fn bad_configurations_are_errors() {
        for bad in [
            AuditConfig {
                trials: 3,
                ..cfg(1.0, 1.0)
            },
            AuditConfig {
                batch: 0,
                ..cfg(1.0, 1.0)
            },
            AuditConfig {
                delta: 0.0,
                ..cfg(1.0, 1.0)
            },
            cfg(f64::NAN, 1.0),
            cfg(1.0, -1.0),
        ] {
            assert!(
                matches!(canary_audit(&bad), Err(QualityError::Config { .. })),
                "{bad:?}"
            );
        }
    }
}
