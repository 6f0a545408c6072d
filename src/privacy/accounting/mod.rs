//! Privacy accounting for DP-SGD: RDP, PLD and PRV accountants of the Poisson-subsampled Gaussian
//! mechanism, σ calibration for a target (ε, δ), tf-privacy 0.8.5's `compute_noise` (the
//! reference implementation's calibration), and the privacy ledger.
//!
//! Files: `log_math` (log-space maths and special functions), `rdp` (Rényi-DP accountant and
//! conversions), `pld` (privacy-loss-distribution accountant, dp_accounting's connect-the-dots
//! variant), `prv` (privacy-random-variable accountant with certified error bounds), `roots` (scipy-compatible `bisect`/`brentq`), `calibrate` (σ search for any
//! [`Accountant`], `compute_noise`), `compose` (ε of a heterogeneous composition of several
//! mechanisms, [`composed_epsilon`], through each accountant's own composition), `ledger`
//! ([`PrivacyStatement`]), `error`.
//!
//! May depend on: f64 maths, statrs, rustfft (PLD composition), serde, thiserror. Must never
//! use tch, rand or any IO (no files, no environment, no logging side effects on results).

pub mod budget;
pub mod calibrate;
pub mod compose;
pub mod delta;
pub mod error;
#[cfg(test)]
mod fixture_tests;
pub mod fmt;
pub mod laplace;
pub mod ledger;
pub mod log_math;
pub mod pld;
pub mod prv;
pub mod rdp;
pub mod roots;

pub use calibrate::{
    calibrate_sigma, compute_noise, compute_noise_tfp085, reference_delta, Calibration,
    CalibrationOptions, SIGMA_MAX,
};
pub use compose::{composed_epsilon, Mechanism};
pub use error::{AccountingError, Result};
pub use ledger::{DpLevel, PrivacyStatement, PrivacyUnit, Sampling};
pub use pld::PldAccountant;
pub use prv::{PrvAccountant, PrvEpsilon};
pub use rdp::{FracSeries, RdpAccountant, RdpConversion};

use error::{invalid, is_pos_finite};
use serde::{Deserialize, Serialize};

/// A DP-SGD schedule: Poisson sampling rate q, number of steps, and the target δ.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Poisson sampling rate q ∈ (0, 1] (expected batch / dataset size).
    pub sample_rate: f64,
    /// Number of noisy steps (≥ 1).
    pub steps: u64,
    /// δ ∈ (0, 1).
    pub delta: f64,
}

impl Schedule {
    /// `epsilon` when finite, else [`AccountingError::NoFiniteEpsilon`] for this schedule
    /// (the one place accountants turn an infinite ε into an error).
    pub(crate) fn finite_epsilon(
        &self,
        epsilon: f64,
        accountant: &'static str,
        sigma: f64,
        reason: &str,
    ) -> Result<f64> {
        if epsilon.is_finite() {
            return Ok(epsilon);
        }
        Err(AccountingError::NoFiniteEpsilon {
            accountant,
            sigma,
            sample_rate: self.sample_rate,
            steps: self.steps,
            delta: self.delta,
            reason: reason.into(),
        })
    }

    /// A validated schedule.
    pub fn new(sample_rate: f64, steps: u64, delta: f64) -> Result<Self> {
        let s = Schedule {
            sample_rate,
            steps,
            delta,
        };
        s.validate()?;
        Ok(s)
    }

    /// The reference implementation's schedule: q = batch/n, steps = ⌈epochs·n/batch⌉.
    pub fn from_epochs(n: u64, batch: u64, epochs: f64, delta: f64) -> Result<Self> {
        if n == 0 {
            return Err(invalid("n", 0.0, "dataset size must be >= 1"));
        }
        if batch == 0 || batch > n {
            return Err(invalid(
                "batch",
                batch as f64,
                format!("batch size must lie in 1..={n} (the dataset size)"),
            ));
        }
        if !is_pos_finite(epochs) {
            return Err(invalid("epochs", epochs, "must be finite and > 0"));
        }
        let q = batch as f64 / n as f64;
        let steps = (epochs * n as f64 / batch as f64).ceil() as u64;
        Schedule::new(q, steps, delta)
    }

    /// Checks q ∈ (0, 1], steps ≥ 1, δ ∈ (0, 1).
    pub fn validate(&self) -> Result<()> {
        let q = self.sample_rate;
        if !(q > 0.0 && q <= 1.0) {
            return Err(invalid(
                "sample_rate",
                q,
                "Poisson sampling rate must lie in (0, 1]",
            ));
        }
        if self.steps == 0 {
            return Err(invalid("steps", 0.0, "need at least one step"));
        }
        let d = self.delta;
        if !(d > 0.0 && d < 1.0) {
            return Err(invalid("delta", d, "must lie in (0, 1)"));
        }
        Ok(())
    }
}

/// A privacy accountant for `steps` compositions of the Poisson-subsampled Gaussian mechanism
/// with noise multiplier σ (sensitivity 1).
pub trait Accountant {
    /// ε at `sched.delta`; finite and ≥ 0, or an error (never ∞/NaN/negative).
    fn epsilon(&self, sched: &Schedule, sigma: f64) -> Result<f64>;
    /// [`Accountant::epsilon`] and the work the evaluation did, in grid points (0 for an
    /// accountant without a grid); σ calibration sums it against its work budget.
    fn epsilon_and_work(&self, sched: &Schedule, sigma: f64) -> Result<(f64, usize)> {
        Ok((self.epsilon(sched, sigma)?, 0))
    }
    /// δ at the given ε (`sched.delta` is ignored); in [0, 1].
    fn delta(&self, sched: &Schedule, sigma: f64, epsilon: f64) -> Result<f64>;
    /// The accountant's identity, carried into statements and records as it is (so the
    /// reference RDP accountant is never reported as plain `rdp`).
    fn kind(&self) -> ledger::AccountantKind;
    /// Short name for ledgers and messages: [`ledger::AccountantKind::as_str`] of
    /// [`Accountant::kind`].
    fn name(&self) -> &'static str {
        self.kind().as_str()
    }
    /// How the accountant turns its representation into (ε, δ), for ledgers.
    fn conversion(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_validation_names_the_parameter() {
        for (q, steps, d, name) in [
            (0.0, 10, 1e-5, "sample_rate"),
            (1.5, 10, 1e-5, "sample_rate"),
            (f64::NAN, 10, 1e-5, "sample_rate"),
            (0.1, 0, 1e-5, "steps"),
            (0.1, 10, 0.0, "delta"),
            (0.1, 10, 1.0, "delta"),
        ] {
            match Schedule::new(q, steps, d) {
                Err(AccountingError::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
                other => panic!("expected error for {name}, got {other:?}"),
            }
        }
        let s = Schedule::from_epochs(530, 50, 10.0, 1e-3).unwrap();
        assert_eq!(s.steps, 106);
        assert!((s.sample_rate - 50.0 / 530.0).abs() < 1e-18);
        assert_eq!(
            Schedule::from_epochs(530, 50, 110.0, 1e-3).unwrap().steps,
            1166
        );
        assert!(Schedule::from_epochs(530, 600, 1.0, 1e-3).is_err());
    }
}
