//! Errors of the privacy accountants. Every variant says which parameter is wrong and why;
//! messages read after "failed to …". Accountants never return a silent ∞, NaN or negative ε:
//! they return one of these instead.
//!
//! May depend on: thiserror, `fmt`.

/// An error of the accounting layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AccountingError {
    /// A parameter is outside its domain (q ∉ (0, 1], σ ≤ 0, δ ∉ (0, 1), steps = 0, …).
    #[error("invalid parameter {name} = {}: {reason}", s(.value))]
    InvalidParameter {
        name: &'static str,
        value: f64,
        reason: String,
    },
    /// No finite ε exists for this (q, σ, steps, δ) under this accountant (for example the
    /// PLD mass at +∞ exceeds δ, or every RDP order gives ∞).
    #[error("no finite epsilon for {accountant} at sigma = {}, q = {}, steps = {steps}, delta = {}: {reason}", s(.sigma), s(.sample_rate), s(.delta))]
    NoFiniteEpsilon {
        accountant: &'static str,
        sigma: f64,
        sample_rate: f64,
        steps: u64,
        delta: f64,
        reason: String,
    },
    /// No finite ε exists for a heterogeneous composition (`compose`) of several mechanisms
    /// under this accountant.
    #[error("no finite epsilon for {accountant} for the composition of {parts} mechanisms at delta = {}: {reason}", s(.delta))]
    NoFiniteComposedEpsilon {
        accountant: &'static str,
        parts: usize,
        delta: f64,
        reason: String,
    },
    /// A parameter of one mechanism of a composition (`compose`) is outside its domain;
    /// `index` is the mechanism's 0-based position in the list given.
    #[error("invalid parameter parts[{index}].{name} = {}: {reason}", s(.value))]
    InvalidPart {
        index: usize,
        name: &'static str,
        value: f64,
        reason: String,
    },
    /// Calibration: no σ up to the documented maximum reaches the target ε.
    #[error("target epsilon {} cannot be reached by the {accountant} accountant: even sigma = {} gives epsilon = {} (q = {}, steps = {steps}, delta = {})", s(.target_epsilon), s(.sigma_max), s(.epsilon_at_max), s(.sample_rate), s(.delta))]
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
    /// prints a message and returns σ = 0; we refuse instead). The starting noise is not a
    /// user option (reference-batch mode fixes it at 1e−5), so the message names the target.
    #[error("the calibration starts at sigma = {}, which already gives epsilon = {} below the target {}: the target is too large to calibrate (choose a smaller target epsilon)", s(.min_noise), s(.epsilon), s(.target_epsilon))]
    MinNoiseTooLarge {
        min_noise: f64,
        epsilon: f64,
        target_epsilon: f64,
    },
    /// The accountant would exceed its work/memory limit ([`super::budget::MAX_GRID_POINTS`]);
    /// checked before anything is allocated.
    #[error("the {accountant} accountant would need {needed:.3e} grid points for {what}, more than its limit of {limit}; {hint}")]
    WorkLimit {
        accountant: &'static str,
        what: &'static str,
        needed: f64,
        limit: usize,
        hint: &'static str,
    },
    /// δ ≥ 1/n: publishing one random unit in the clear meets it, so the guarantee is void.
    #[error("delta = {} is not below 1/n = {} for n = {n} {unit}: a mechanism that publishes one random unit's data in the clear meets this delta, so the guarantee would be void; set a smaller --delta (or delta in the grid's [privacy] table), e.g. 1e-5, or leave it unset for the default min(1e-5, 1/(100 n))", s(.delta), s(&(1.0 / *.n as f64)))]
    VoidDelta { delta: f64, n: u64, unit: String },
    /// Fewer than two privacy units: no meaningful (ε, δ) statement.
    #[error("only n = {n} privacy unit ({unit}) in the fold: a differential-privacy statement needs at least 2 privacy units (with one, the neighbouring data set is the empty one and delta has no meaningful scale); use --privacy-unit window (unit = \"window\" in the grid's [privacy] table) or more training subjects")]
    TooFewUnits { n: u64, unit: String },
    /// A root finder or series did not converge, or an intermediate became non-finite.
    #[error("numerical failure in {what}: {reason}")]
    Numerical { what: &'static str, reason: String },
}

/// Six significant digits (see [`super::fmt::sig6`]).
fn s(x: &f64) -> String {
    super::fmt::sig6(*x)
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
