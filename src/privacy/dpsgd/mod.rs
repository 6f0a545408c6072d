//! DP-SGD (behind the `torch` feature): exact batched per-example gradients
//! ([`per_example`]), per-example clipping + Gaussian noise written into `.grad()`
//! ([`clip_noise`]), Poisson / shuffle sampling and privacy units ([`sampling`]), and the
//! refusal of layers that mix examples (BatchNorm).
//!
//! Typical step (window-level, Poisson):
//! 1. `batch = plan.draw(n, &mut rng)`; if empty, `pure_noise_step(&params, &cfg, seed)`.
//! 2. Forward the batch through a [`Tape`] (`tape.dense`, `tape.conv_row`, ...), build the SUM
//!    of per-example losses, then `dp_step(&tape, &loss_sum, &cfg, seed)`.
//! 3. `optimizer.step()`.
//!
//! For subject-level privacy: `dp_step_grouped(&tape, &loss_sum, &group, n_units, ..)` (per-unit
//! gradients contracted directly for Linear/LSTM weights), or, for small models,
//! `tape.per_example_grads(..).sum_by_group(..)` then `dp_step_from_grads`.
//!
//! May depend on: tch, rand, rand_chacha, rand_distr, thiserror, `crate::models::layers`,
//! `crate::privacy::accounting`. Must not depend on orchestration, training or IO.

pub mod clip_noise;
pub mod per_example;
pub mod sampling;
#[cfg(test)]
mod tests;

pub use clip_noise::{
    clip_factors, clipped_sum, dp_step, dp_step_from_grads, dp_step_grouped, dp_step_scaled,
    noisy_mean, pure_noise_step, total_norm, write_grads, DpStepConfig, DpStepReport,
};
pub use per_example::{PerExampleGrads, Tape};
pub use sampling::{poisson_sample, shuffle_batches, SamplingPlan, SubjectIndex};

/// Layer kinds a DP model may contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    Dense,
    ConvRow,
    LayerNorm,
    Embedding,
    Lstm,
    Gru,
    MultiHeadAttention,
    /// Parameter-free layers (activations, pooling, dropout, reshape).
    ParameterFree,
    /// Batch normalisation: mixes examples, so per-example gradients are undefined.
    BatchNorm,
}

/// Errors of the DP-SGD layer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DpsgdError {
    #[error(
        "BatchNorm is not allowed under DP-SGD: it normalises with batch statistics, so one \
         example's gradient depends on the others and per-example clipping does not bound its \
         contribution; use LayerNorm (or GroupNorm) instead"
    )]
    BatchNormUnderDp,
}

/// Refuses models that contain BatchNorm (or anything else that mixes examples).
pub fn check_dp_compatible(layers: &[LayerKind]) -> Result<(), DpsgdError> {
    if layers.contains(&LayerKind::BatchNorm) {
        return Err(DpsgdError::BatchNormUnderDp);
    }
    Ok(())
}
