//! Synthetic-data quality and empirical privacy (issue 14), three torch-backed measurements a
//! quality report calls:
//! - [`discriminative`]: TimeGAN's post-hoc discriminative score, |accuracy − ½| of a small GRU
//!   classifier telling real from synthetic windows on held-out windows (≈ 0: indistinguishable);
//! - [`predictive`]: TimeGAN's predictive score ("train on synthetic, test on real"): the MAE of
//!   a GRU one-step-ahead predictor trained on synthetic windows, next to the same predictor
//!   trained on real windows;
//! - [`audit`]: a canary audit of the private discriminator step of the generators (the cGAN's
//!   DP-SGD D step): an empirical ε lower bound with 95 % confidence next to the accountant's ε.
//!
//! Windows are passed as flat f32 slices, window-major then time then channel (n × t × c, the
//! layout of `GenData::x`). Randomness: the 80/20 splits and the batches come from ChaCha
//! streams derived from the configured seed (`config::seeds`), network initialisation from
//! `tch::manual_seed` of a derived seed; with a fixed thread count the results are
//! reproducible.
//!
//! May depend on: tch, models (the post-hoc GRU, the cGAN discriminator through the generator
//! training code), privacy (dpsgd, accounting), evaluation (the audit statistics),
//! config::seeds. Must never use orchestration.

pub mod audit;
pub mod discriminative;
pub mod predictive;
mod windows;

pub use audit::{canary_audit, AuditConfig, AuditResult};
pub use discriminative::{discriminative_score, DiscriminativeScore};
pub use predictive::{predictive_score, PredictiveScore};

use serde::{Deserialize, Serialize};

use crate::evaluation::audit::AuditError;
use crate::privacy::accounting::AccountingError;

/// Fewest windows a set may hold: the 80 % part then has at least 4, the 20 % part at least 1.
pub const MIN_WINDOWS: usize = 5;

/// How the post-hoc networks are trained (TimeGAN's settings by default, except the
/// predictive score's 5000 iterations).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityTrainConfig {
    /// Adam steps.
    pub iterations: usize,
    /// Windows per step and per set (the classifier sees `batch` real and `batch` synthetic).
    pub batch: usize,
    /// Adam learning rate (β1 0.9, β2 0.999, as Keras' and TimeGAN's default).
    pub learning_rate: f64,
    /// GRU units; `None`: TimeGAN's ⌊c / 2⌋ (at least 1).
    pub hidden: Option<usize>,
    pub seed: u64,
    /// libtorch intra-op threads (`tch::set_num_threads`, process-wide); `None` leaves them.
    pub threads: Option<usize>,
}

impl Default for QualityTrainConfig {
    fn default() -> Self {
        Self {
            iterations: 2000,
            batch: 128,
            learning_rate: 1e-3,
            hidden: None,
            seed: 0,
            threads: None,
        }
    }
}

impl QualityTrainConfig {
    pub(crate) fn check(&self) -> Result<(), QualityError> {
        let bad = |field: &'static str, reason: String| Err(QualityError::Config { field, reason });
        if self.iterations == 0 {
            return bad("iterations", "must be at least 1".into());
        }
        if self.batch == 0 {
            return bad("batch", "must be at least 1".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                format!("{} must be finite and > 0", self.learning_rate),
            );
        }
        if self.hidden == Some(0) {
            return bad("hidden", "must be at least 1".into());
        }
        check_threads(self.threads)
    }

    /// The GRU width for `c` channels.
    pub(crate) fn hidden_for(&self, c: usize) -> i64 {
        self.hidden
            .map(|h| h as i64)
            .unwrap_or_else(|| crate::models::posthoc::timegan_hidden(c as i64))
    }
}

pub(crate) fn check_threads(threads: Option<usize>) -> Result<(), QualityError> {
    if threads == Some(0) {
        return Err(QualityError::Config {
            field: "threads",
            reason: "must be at least 1".into(),
        });
    }
    Ok(())
}

pub(crate) fn apply_threads(threads: Option<usize>) {
    if let Some(t) = threads {
        tch::set_num_threads(t as i32);
    }
}

/// An error of a quality measurement. Messages read after "failed to …".
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    #[error("configure the quality measurement: invalid {field}: {reason}")]
    Config { field: &'static str, reason: String },
    #[error("measure {what}: a window of {t} steps × {c} channels is not usable ({reason})")]
    Shape {
        what: &'static str,
        t: usize,
        c: usize,
        reason: &'static str,
    },
    #[error(
        "measure {what}: the {set} windows hold {len} values, not a multiple of one window ({t} steps × {c} channels = {window})"
    )]
    Ragged {
        what: &'static str,
        set: &'static str,
        len: usize,
        t: usize,
        c: usize,
        window: usize,
    },
    #[error("measure {what}: the {set} set has {found} windows, at least {min} are needed")]
    TooFewWindows {
        what: &'static str,
        set: &'static str,
        found: usize,
        min: usize,
    },
    #[error("measure {what}: window {window} of the {set} set holds a non-finite value ({value})")]
    NonFinite {
        what: &'static str,
        set: &'static str,
        window: usize,
        value: f32,
    },
    #[error("audit the private discriminator step: {0}")]
    Mechanism(String),
    #[error("audit the private discriminator step: account for one step")]
    Accountant(#[source] AccountingError),
    #[error("audit the private discriminator step")]
    Audit(#[source] AuditError),
}
