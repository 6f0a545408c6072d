//! Errors of the privacy accountants. Every variant says which parameter is wrong and why;
//! messages read after "failed to …". Accountants never return a silent ∞, NaN or negative ε:
//! they return one of these instead.
//!
//! May depend on: thiserror only.

/// An error of the accounting layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AccountingError {
    /// A parameter is outside its domain (q ∉ (0, 1], σ ≤ 0, δ ∉ (0, 1), steps = 0, …).
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        name: &'static str,
        value: f64,
        reason: String,
    },
    /// No finite ε exists for this (q, σ, steps, δ) under this accountant (for example the
    /// PLD mass at +∞ exceeds δ, or every RDP order gives ∞).
    #[error("no finite epsilon for {accountant} at sigma = {sigma}, q = {sample_rate}, steps = {steps}, delta = {delta}: {reason}")]
    NoFiniteEpsilon {
        accountant: &'static str,
        sigma: f64,
        sample_rate: f64,
        steps: u64,
        delta: f64,
        reason: String,
    },
    /// Calibration: no σ up to the documented maximum reaches the target ε.
    #[error("target epsilon {target_epsilon} cannot be reached by the {accountant} accountant: even sigma = {sigma_max} gives epsilon = {epsilon_at_max} (q = {sample_rate}, steps = {steps}, delta = {delta})")]
    Unreachable {
        accountant: &'static str,
        target_epsilon: f64,
        sigma_max: f64,
        epsilon_at_max: f64,
        sample_rate: f64,
        steps: u64,
        delta: f64,
    },
    /// tf-privacy `compute_noise`: the starting noise already meets the target (tf-privacy
    /// prints a message and returns σ = 0; we refuse instead).
    #[error("noise lower bound {min_noise} already gives epsilon = {epsilon} < target {target_epsilon}; lower min_noise")]
    MinNoiseTooLarge {
        min_noise: f64,
        epsilon: f64,
        target_epsilon: f64,
    },
    /// A root finder or series did not converge, or an intermediate became non-finite.
    #[error("numerical failure in {what}: {reason}")]
    Numerical { what: &'static str, reason: String },
}

/// Result alias of the accounting layer.
pub type Result<T> = std::result::Result<T, AccountingError>;

/// Helper: an [`AccountingError::InvalidParameter`].
pub(crate) fn invalid(
    name: &'static str,
    value: f64,
    reason: impl Into<String>,
) -> AccountingError {
    AccountingError::InvalidParameter {
        name,
        value,
        reason: reason.into(),
    }
}

/// `x` is finite and strictly positive (false for NaN).
pub(crate) fn is_pos_finite(x: f64) -> bool {
    x.is_finite() && x > 0.0
}
