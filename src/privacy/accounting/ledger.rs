//! The privacy ledger: a serialisable statement of what guarantee a run has, under which
//! accountant, conversion, sampling assumption, privacy unit and DP level. Its `Display`
//! always names the accountant, δ, the sampling assumption and the privacy unit.
//!
//! May depend on: serde, `mod` (the `Accountant` trait and `Schedule`), `error`.

use super::error::Result;
use super::fmt::sig6;
use super::{Accountant, Schedule};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which accountant produced ε.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountantKind {
    /// Rényi DP.
    Rdp,
    /// Rényi DP with the reference implementation's (tf-privacy 0.8.5) orders and signed
    /// fractional series (`RdpAccountant::reference`; reference-batch mode,
    /// `--accountant rdp-reference`).
    #[serde(rename = "rdp-reference")]
    RdpReference,
    /// Privacy loss distributions.
    Pld,
    /// Privacy random variables (upper bound with certified error).
    Prv,
}

impl AccountantKind {
    /// From [`Accountant::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "rdp" => Some(AccountantKind::Rdp),
            "rdp-reference" => Some(AccountantKind::RdpReference),
            "pld" => Some(AccountantKind::Pld),
            "prv" => Some(AccountantKind::Prv),
            _ => None,
        }
    }

    /// `"rdp"`, `"rdp-reference"`, `"pld"` or `"prv"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountantKind::Rdp => "rdp",
            AccountantKind::RdpReference => "rdp-reference",
            AccountantKind::Pld => "pld",
            AccountantKind::Prv => "prv",
        }
    }
}

/// How batches were drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sampling {
    /// Poisson sampling with rate q: what the amplification analysis assumes.
    #[serde(rename = "poisson")]
    Poisson,
    /// Shuffled fixed-size batches (the reference implementation): the stated ε comes from a
    /// Poisson analysis that does not cover it.
    #[serde(rename = "shuffle (not covered by the amplification analysis)")]
    Shuffle,
}

impl Sampling {
    /// The serialised label.
    pub fn as_str(self) -> &'static str {
        match self {
            Sampling::Poisson => "poisson",
            Sampling::Shuffle => "shuffle (not covered by the amplification analysis)",
        }
    }
}

/// What one "record" of the guarantee is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivacyUnit {
    /// One sensor window.
    Window,
    /// All windows of one subject.
    Subject,
}

impl PrivacyUnit {
    /// The serialised label.
    pub fn as_str(self) -> &'static str {
        match self {
            PrivacyUnit::Window => "window",
            PrivacyUnit::Subject => "subject",
        }
    }
}

/// Which clipping the optimiser does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DpLevel {
    /// Per-example clipping and noise (standard DP-SGD).
    #[serde(rename = "example-level DP-SGD")]
    ExampleLevel,
    /// The reference's `num_microbatches = 1`: the batch-mean gradient is clipped.
    #[serde(rename = "reference-compatible batch-level clipping (not example-level DP)")]
    ReferenceBatchLevel,
}

impl DpLevel {
    /// The serialised label.
    pub fn as_str(self) -> &'static str {
        match self {
            DpLevel::ExampleLevel => "example-level DP-SGD",
            DpLevel::ReferenceBatchLevel => {
                "reference-compatible batch-level clipping (not example-level DP)"
            }
        }
    }
}

/// A privacy statement for one trained model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrivacyStatement {
    /// The accountant's identity ([`Accountant::kind`]).
    pub accountant: AccountantKind,
    /// How ε was obtained from the accountant's representation.
    pub conversion: String,
    /// ε at `delta`.
    pub epsilon: f64,
    /// δ.
    pub delta: f64,
    /// Where δ came from (`given` by the caller, or the run's rule, e.g.
    /// `min(1e-5, 1/(100 n)), n = 14`).
    #[serde(default = "given")]
    pub delta_source: String,
    /// Noise multiplier.
    pub sigma: f64,
    /// Sampling rate q.
    pub sample_rate: f64,
    /// Number of steps.
    pub steps: u64,
    /// Sampling assumption.
    pub sampling: Sampling,
    /// Privacy unit.
    pub unit: PrivacyUnit,
    /// DP level.
    pub dp_level: DpLevel,
}

impl PrivacyStatement {
    /// Computes ε with `acc` and records everything.
    pub fn compute<A: Accountant + ?Sized>(
        acc: &A,
        sched: &Schedule,
        sigma: f64,
        sampling: Sampling,
        unit: PrivacyUnit,
        dp_level: DpLevel,
    ) -> Result<Self> {
        let epsilon = acc.epsilon(sched, sigma)?;
        Ok(PrivacyStatement {
            accountant: acc.kind(),
            conversion: acc.conversion(),
            epsilon,
            delta: sched.delta,
            delta_source: given(),
            sigma,
            sample_rate: sched.sample_rate,
            steps: sched.steps,
            sampling,
            unit,
            dp_level,
        })
    }
}

/// The default [`PrivacyStatement::delta_source`].
fn given() -> String {
    "given".into()
}

impl PrivacyStatement {
    /// The statement with `source` as its δ source.
    pub fn with_delta_source(self, source: impl Into<String>) -> Self {
        PrivacyStatement {
            delta_source: source.into(),
            ..self
        }
    }
}

impl fmt::Display for PrivacyStatement {
    /// Numbers with six significant digits ([`sig6`]): a tiny σ or a huge ε stays readable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(ε = {}, δ = {:e} ({}))-DP per {} [{} accountant, {}; σ = {}, q = {}, {} steps; sampling: {}; {}]",
            sig6(self.epsilon),
            self.delta,
            self.delta_source,
            self.unit.as_str(),
            self.accountant.as_str(),
            self.conversion,
            sig6(self.sigma),
            sig6(self.sample_rate),
            self.steps,
            self.sampling.as_str(),
            self.dp_level.as_str(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::accounting::RdpAccountant;

    #[test]
    fn statement_roundtrips_and_displays_the_essentials() {
        let sched = Schedule::new(50.0 / 530.0, 106, 1e-3).unwrap();
        let s = PrivacyStatement::compute(
            &RdpAccountant::reference(),
            &sched,
            3.0234391503,
            Sampling::Shuffle,
            PrivacyUnit::Window,
            DpLevel::ReferenceBatchLevel,
        )
        .unwrap();
        assert!((s.epsilon - 1.0).abs() < 1e-6);
        let json = serde_json::to_string(&s).unwrap();
        // the reference accountant keeps its identity (it was reported as plain "rdp")
        assert!(json.contains("\"accountant\":\"rdp-reference\""), "{json}");
        assert!(json.contains("\"delta_source\":\"given\""), "{json}");
        assert!(json.contains("shuffle (not covered by the amplification analysis)"));
        assert!(json.contains("\"unit\":\"window\""));
        assert!(json.contains("reference-compatible batch-level clipping (not example-level DP)"));
        let back: PrivacyStatement = serde_json::from_str(&json).unwrap();
        // serde_json (without `float_roundtrip`) may differ in the last bit.
        assert!((back.epsilon - s.epsilon).abs() <= 1e-15 * s.epsilon);
        assert_eq!(
            PrivacyStatement {
                epsilon: s.epsilon,
                ..back
            },
            s
        );
        let text = s.to_string();
        for needle in [
            "rdp-reference accountant",
            "δ = 1e-3 (given)",
            "σ = 3.02344,",
            "ε = 1.00000,",
            "per window",
            "sampling: shuffle",
        ] {
            assert!(text.contains(needle), "{text} lacks {needle}");
        }
    }
}
