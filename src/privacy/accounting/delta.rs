//! The one δ rule of every private run (the `eval` folds, the ledger of `dpwear plan`, the
//! cells): the default δ when none is set, and the refusal of a δ that makes the guarantee
//! void. [`choose_delta`] is the only place either is decided.
//!
//! - **Default**: δ = min(1e−5, 1/(100·n)) with n the fold's privacy units (training windows
//!   or training subjects): 1e−5 up to n = 1000, then 1/(100·n), so n·δ ≤ 0.01 whatever the
//!   unit (the previous 1/n^1.1 gave δ = 0.47 for two subjects).
//! - **δ ≥ 1/n is refused**, set or not: the mechanism that publishes each unit's data in the
//!   clear with probability δ meets (0, δ)-DP and leaks n·δ ≥ 1 units in expectation, so no
//!   (ε, δ) statement with such a δ protects anyone. A user who wants that statement anyway
//!   has no use for dpwear's ε. **δ ≥ 1/(10·n)** (that mechanism leaks ≥ 0.1 units) is
//!   accepted with a warning, which the run records as a note.
//! - **n < 2 is refused**: with one privacy unit the neighbouring data set is the empty one,
//!   the "population" the statement protects a unit within is that unit alone, and δ has no
//!   meaningful scale; use the window unit or more training subjects.
//!
//! May depend on: `error`, `fmt`. f64 maths only.

use super::error::{AccountingError, Result};
use super::fmt::sig6;

/// The cap of the default δ.
pub const DEFAULT_DELTA_CAP: f64 = 1e-5;

/// How the default δ is stated in records, ledgers and tables.
pub const DEFAULT_DELTA_RULE: &str = "min(1e-5, 1/(100 n))";

/// The default δ for `n ≥ 2` privacy units: min(1e−5, 1/(100·n)).
pub fn default_delta(n: u64) -> f64 {
    DEFAULT_DELTA_CAP.min(0.01 / n.max(1) as f64)
}

/// A chosen δ: its value, the rule as stated in records, and a warning when δ ≥ 1/(10·n).
#[derive(Clone, Debug, PartialEq)]
pub struct ChosenDelta {
    pub delta: f64,
    pub rule: String,
    pub warning: Option<String>,
}

/// δ for a run over `n` privacy units (`unit` names them in messages, e.g. "training
/// subjects"): `set` (from `--delta` or the grid's `delta`, labelled `set_label`), else the
/// default rule; refused by [`check_delta`] when void.
pub fn choose_delta(set: Option<f64>, set_label: &str, n: u64, unit: &str) -> Result<ChosenDelta> {
    if n < 2 {
        return Err(AccountingError::TooFewUnits {
            n,
            unit: unit.to_string(),
        });
    }
    let (delta, rule) = match set {
        Some(d) => (d, set_label.to_string()),
        None => (default_delta(n), format!("{DEFAULT_DELTA_RULE}, n = {n}")),
    };
    let warning = check_delta(delta, n, unit)?;
    Ok(ChosenDelta {
        delta,
        rule,
        warning,
    })
}

/// The rule alone, for a δ chosen by another rule (reference-batch mode's 10^−digits(n)):
/// refuses unless δ ∈ (0, 1), n ≥ 2 and δ < 1/n; returns a warning when δ ≥ 1/(10·n).
pub fn check_delta(delta: f64, n: u64, unit: &str) -> Result<Option<String>> {
    if n < 2 {
        return Err(AccountingError::TooFewUnits {
            n,
            unit: unit.to_string(),
        });
    }
    if !(delta > 0.0 && delta < 1.0) {
        return Err(super::error::invalid("delta", delta, "must lie in (0, 1)"));
    }
    if delta >= 1.0 / n as f64 {
        return Err(AccountingError::VoidDelta {
            delta,
            n,
            unit: unit.to_string(),
        });
    }
    let leaked = delta * n as f64;
    Ok((leaked >= 0.1).then(|| {
        format!(
            "delta = {} is not far below 1/n = {} (n = {n} {unit}): a mechanism that publishes \
             each unit's data in the clear with probability delta meets it and leaks {} units \
             in expectation; prefer delta << 1/n (the default is min(1e-5, 1/(100 n)))",
            sig6(delta),
            sig6(1.0 / n as f64),
            sig6(leaked)
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_delta_stays_far_below_one_over_n() {
        assert_eq!(default_delta(2), 1e-5);
        assert_eq!(default_delta(14), 1e-5);
        assert_eq!(default_delta(70), 1e-5);
        assert!((default_delta(1000) - 1e-5).abs() < 1e-20);
        assert!((default_delta(1_000_000) - 1e-8).abs() < 1e-22);
        for n in [2u64, 3, 14, 70, 530, 10_000, 50_000, 10_000_000] {
            let c = choose_delta(None, "fixed", n, "units").unwrap();
            assert!(
                c.delta * n as f64 <= 0.01 + 1e-15,
                "n {n}: delta {}",
                c.delta
            );
            assert!(c.warning.is_none(), "{c:?}");
            assert!(c.rule.starts_with(DEFAULT_DELTA_RULE) && c.rule.contains(&format!("n = {n}")));
        }
    }

    #[test]
    fn void_delta_and_a_single_unit_are_refused() {
        // two training subjects: any set delta >= 1/2 is refused
        match choose_delta(Some(0.5), "fixed (--delta)", 2, "training subjects") {
            Err(e @ AccountingError::VoidDelta { .. }) => {
                let m = e.to_string();
                assert!(
                    m.contains("0.500000") && m.contains("1/n = 0.500000"),
                    "{m}"
                );
                assert!(
                    m.contains("2 training subjects") && m.contains("--delta"),
                    "{m}"
                );
            }
            other => panic!("{other:?}"),
        }
        // the old default 1/n^1.1 = 0.47 for two subjects: accepted only with a warning
        let c = choose_delta(Some(0.47), "fixed (--delta)", 2, "training subjects").unwrap();
        assert!(c.warning.unwrap().contains("0.940000 units"));
        assert!(matches!(
            choose_delta(Some(0.01), "fixed", 100, "training windows"),
            Err(AccountingError::VoidDelta { .. })
        ));
        let c = choose_delta(Some(0.0009), "fixed", 100, "training windows").unwrap();
        assert_eq!(
            (c.delta, c.rule.as_str(), c.warning),
            (0.0009, "fixed", None)
        );
        match choose_delta(None, "fixed", 1, "training subjects") {
            Err(e @ AccountingError::TooFewUnits { .. }) => {
                let m = e.to_string();
                assert!(
                    m.contains("n = 1 privacy unit (training subjects)")
                        && m.contains("--privacy-unit window"),
                    "{m}"
                );
                assert!(!m.contains("delta = 1"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(choose_delta(Some(1.0), "fixed", 1000, "units").is_err());
        assert!(choose_delta(Some(0.0), "fixed", 1000, "units").is_err());
    }
}
