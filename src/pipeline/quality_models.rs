//! The quality measurements that train models (libtorch): TimeGAN's post-hoc discriminative
//! and predictive scores of a synthetic sample, and the canary audit of a private cGAN
//! checkpoint's discriminator step — as the pure summaries of `evaluation::quality`.
//!
//! May depend on: training::quality, training::generator::checkpoint (the model card),
//! evaluation::quality, pipeline::error.

use crate::evaluation::quality::{AuditSummary, ModelScores};
use crate::training::generator::checkpoint::ModelCard;
use crate::training::quality::audit::{canary_audit, AuditConfig};
use crate::training::quality::{
    discriminative::discriminative_score, predictive::predictive_score, QualityTrainConfig,
};

use super::error::JobError;

/// Window values (row-major window, step, channel) as f32.
fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// TimeGAN's post-hoc scores of `synthetic` against `real` (both `n × t × c` row-major).
pub fn model_scores(
    real: &[f64],
    synthetic: &[f64],
    t: usize,
    c: usize,
    iterations: usize,
    seed: u64,
    threads: Option<usize>,
) -> Result<ModelScores, JobError> {
    const ACTION: &str = "train the post-hoc quality models";
    let cfg = QualityTrainConfig {
        iterations,
        seed,
        threads,
        ..QualityTrainConfig::default()
    };
    let (r, s) = (f32s(real), f32s(synthetic));
    let d = discriminative_score(&r, &s, t, c, &cfg).map_err(|e| JobError::invalid(ACTION, e))?;
    let p = predictive_score(&r, &s, t, c, &cfg).map_err(|e| JobError::invalid(ACTION, e))?;
    Ok(ModelScores {
        discriminative_accuracy: d.accuracy,
        discriminative_score: d.score,
        predictive_mae: p.mae_synthetic_trained,
        predictive_mae_real_trained: p.mae_real_trained,
        iterations,
    })
}

/// Audits one private discriminator step of the mechanism `card` was trained with (σ, C, δ,
/// accountant and batch sizes of its privacy plan) with a crafted canary window.
///
/// Errors: a card without a privacy plan, or of a generator whose private step is not the
/// cGAN's per-example-clipped discriminator step (DP-MERF releases its embedding once;
/// DoppelGANger's critic step is not audited yet).
pub fn audit_checkpoint(
    card: &ModelCard,
    trials: usize,
    seed: u64,
    threads: Option<usize>,
) -> Result<AuditSummary, JobError> {
    const ACTION: &str = "audit the checkpoint's private step";
    let plan = card.privacy_plan.as_ref().ok_or_else(|| {
        JobError::invalid(
            ACTION,
            "the generator was trained without differential privacy: there is no claim to audit",
        )
    })?;
    if card.generator.as_str() != "cgan" {
        return Err(JobError::invalid(
            ACTION,
            format!(
                "only the cGAN's private discriminator step is audited; this checkpoint is a {} generator",
                card.generator.as_str()
            ),
        ));
    }
    let cfg = AuditConfig {
        trials,
        batch: (plan.expected_batch.round() as usize).max(1),
        fake_batch: plan.fake_batch.max(1),
        clip_norm: plan.request.clip_norm,
        noise_multiplier: plan.sigma,
        delta: plan.delta,
        accountant: plan.request.accountant,
        seed,
        threads,
    };
    let r = canary_audit(&cfg).map_err(|e| JobError::invalid(ACTION, e))?;
    Ok(AuditSummary {
        mechanism: format!(
            "one cGAN discriminator step at sampling rate 1 (batch {}, {} fake rows), per-example clipping C = {}, Gaussian noise σ = {:.4}, at the initial weights; the canary is a constant window (level {}, label {}, gradient norm {:.3}); ε lower bound at 95 % confidence from FPR/FNR Clopper–Pearson bounds on held-out runs",
            cfg.batch,
            cfg.fake_batch,
            cfg.clip_norm,
            cfg.noise_multiplier,
            r.canary_level,
            r.canary_label,
            r.canary_grad_norm
        ),
        eps_lower: r.eps_lower,
        claimed_epsilon: r.claimed_epsilon,
        delta: r.delta,
        confidence: r.confidence,
        trials: r.trials,
        noise_multiplier: r.noise_multiplier,
        clip_norm: r.clip_norm,
    })
}
