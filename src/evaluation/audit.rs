//! Empirical privacy auditing (dp-generators.md §4; Jagielski, Ullman & Oprea 2020, arXiv
//! 2006.07709; Nasr et al. 2021, arXiv 2101.04535): from the scores of a distinguishing test
//! applied to many runs of a mechanism without and with a canary, a lower bound on ε that holds
//! with 95 % confidence. The runs themselves live in `training::quality::audit` (tch); this file
//! is the statistics, a pure function of the scores.
//!
//! **The test.** "The canary was present" when score > τ. False positive rate
//! FPR = P(score > τ | without), false negative rate FNR = P(score ≤ τ | with). Every
//! (ε, δ)-DP mechanism satisfies FPR + e^ε·FNR ≥ 1 − δ and FNR + e^ε·FPR ≥ 1 − δ (Kairouz,
//! Oh & Viswanath 2015), hence
//! ε ≥ max(ln((1 − δ − FNR) / FPR), ln((1 − δ − FPR) / FNR)).
//!
//! **The bound.** With the Clopper–Pearson upper bounds FPR_hi and FNR_hi (each a one-sided
//! 97.5 % bound, so both hold together with probability ≥ 95 % by the union bound), which can
//! only lower both terms:
//! ε_lb = max(0, ln((1 − δ − FNR_hi) / FPR_hi), ln((1 − δ − FPR_hi) / FNR_hi)),
//! a term whose numerator is ≤ 0 counting as 0.
//!
//! **The threshold.** Choosing τ on the trials that also evaluate it would make the bound
//! optimistic (a maximum over many tests). Each arm's trials are split in order: the first
//! ⌊n/2⌋ choose τ (the candidate that maximises the same bound computed on them; candidates
//! are the midpoints between consecutive distinct scores and one value beyond each end), the
//! rest evaluate that single τ. This needs the trials of an arm to be independent and
//! identically distributed (a fresh noise draw per run), not their order to be random.
//!
//! May depend on: serde, thiserror, statrs (through `leakage`'s Clopper–Pearson). Pure.

use serde::Serialize;

use super::leakage::{clopper_pearson, Rate};

/// The confidence of [`AuditBound::eps_lower`].
pub const CONFIDENCE: f64 = 0.95;
/// Trials needed per arm: one to choose the threshold, one to evaluate it.
pub const MIN_TRIALS_PER_ARM: usize = 2;

/// Why an audit cannot be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuditError {
    #[error(
        "bound epsilon from the audit: the {arm} arm has {found} trials, at least {min} are needed (half choose the threshold, half evaluate it)"
    )]
    TooFewTrials {
        arm: &'static str,
        found: usize,
        min: usize,
    },
    #[error("bound epsilon from the audit: trial {index} of the {arm} arm has a non-finite score ({value})")]
    NonFinite {
        arm: &'static str,
        index: usize,
        value: f64,
    },
    #[error("bound epsilon from the audit: delta {delta} must lie in [0, 1)")]
    InvalidDelta { delta: f64 },
}

/// The ε a test with false positive rate `fpr` and false negative rate `fnr` proves:
/// max(0, ln((1 − δ − fnr)/fpr), ln((1 − δ − fpr)/fnr)); +∞ when a rate is 0 and its
/// numerator positive (a perfect test proves nothing finite).
pub fn epsilon_from_rates(fpr: f64, fnr: f64, delta: f64) -> f64 {
    let term = |num: f64, den: f64| {
        if num <= 0.0 {
            0.0
        } else if den <= 0.0 {
            f64::INFINITY
        } else {
            (num / den).ln()
        }
    };
    term(1.0 - delta - fnr, fpr)
        .max(term(1.0 - delta - fpr, fnr))
        .max(0.0)
}

/// The errors of one threshold on one set of trials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorCounts {
    /// Trials without the canary scored above the threshold.
    pub false_positives: usize,
    /// Trials without the canary.
    pub negatives: usize,
    /// Trials with the canary scored at or below the threshold.
    pub false_negatives: usize,
    /// Trials with the canary.
    pub positives: usize,
}

impl ErrorCounts {
    /// The errors of "canary present when score > `threshold`".
    pub fn at(threshold: f64, without: &[f64], with: &[f64]) -> Self {
        Self {
            false_positives: without.iter().filter(|&&s| s > threshold).count(),
            negatives: without.len(),
            false_negatives: with.iter().filter(|&&s| s <= threshold).count(),
            positives: with.len(),
        }
    }

    /// FPR with its Clopper–Pearson interval (needs `negatives > 0`).
    pub fn fpr(&self) -> Rate {
        clopper_pearson(self.false_positives, self.negatives)
    }

    /// FNR with its Clopper–Pearson interval (needs `positives > 0`).
    pub fn fnr(&self) -> Rate {
        clopper_pearson(self.false_negatives, self.positives)
    }

    /// ε_lb from the two upper bounds (see the module docs), valid with 95 % confidence.
    pub fn epsilon_lower(&self, delta: f64) -> f64 {
        epsilon_from_rates(self.fpr().high, self.fnr().high, delta)
    }

    /// The point estimate from the empirical rates; `None` where it is unbounded.
    pub fn epsilon_point(&self, delta: f64) -> Option<f64> {
        let e = epsilon_from_rates(self.fpr().value, self.fnr().value, delta);
        e.is_finite().then_some(e)
    }
}

/// The outcome of an audit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditBound {
    /// ε lower bound with confidence [`CONFIDENCE`] (evaluation half).
    pub eps_lower: f64,
    /// The same formula on the evaluation half's empirical rates (no confidence attached);
    /// `None` where an error count is 0 and the estimate unbounded.
    pub eps_point: Option<f64>,
    /// The threshold τ chosen on the selection half.
    pub threshold: f64,
    /// FPR and FNR of τ on the evaluation half, with 95 % Clopper–Pearson intervals.
    pub fpr: Rate,
    pub fnr: Rate,
    /// The errors of τ on the selection half (what chose it) and on the evaluation half.
    pub selection: ErrorCounts,
    pub evaluation: ErrorCounts,
    pub delta: f64,
    pub confidence: f64,
}

fn check_arm(arm: &'static str, scores: &[f64]) -> Result<(), AuditError> {
    if scores.len() < MIN_TRIALS_PER_ARM {
        return Err(AuditError::TooFewTrials {
            arm,
            found: scores.len(),
            min: MIN_TRIALS_PER_ARM,
        });
    }
    match scores.iter().position(|s| !s.is_finite()) {
        Some(index) => Err(AuditError::NonFinite {
            arm,
            index,
            value: scores[index],
        }),
        None => Ok(()),
    }
}

/// Threshold candidates: one below the smallest score, the midpoints between consecutive
/// distinct scores, one above the largest.
fn candidates(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut s: Vec<f64> = a.iter().chain(b).copied().collect();
    s.sort_by(f64::total_cmp);
    s.dedup();
    let (lo, hi) = (s[0], s[s.len() - 1]);
    let mut c = vec![lo - 1.0 - lo.abs()];
    c.extend(s.windows(2).map(|w| w[0] + (w[1] - w[0]) / 2.0));
    c.push(hi + 1.0 + hi.abs());
    c
}

/// Audits the scores of runs `without` and `with` the canary (higher = "canary present"):
/// the threshold is chosen on the first half of each arm, ε_lb evaluated on the second half
/// (module docs).
pub fn audit_scores(without: &[f64], with: &[f64], delta: f64) -> Result<AuditBound, AuditError> {
    if !(delta.is_finite() && (0.0..1.0).contains(&delta)) {
        return Err(AuditError::InvalidDelta { delta });
    }
    check_arm("without-canary", without)?;
    check_arm("with-canary", with)?;
    let (sel_without, eval_without) = without.split_at(without.len() / 2);
    let (sel_with, eval_with) = with.split_at(with.len() / 2);
    let mut best: Option<(f64, f64, ErrorCounts)> = None;
    for t in candidates(sel_without, sel_with) {
        let counts = ErrorCounts::at(t, sel_without, sel_with);
        let eps = counts.epsilon_lower(delta);
        if best.as_ref().is_none_or(|(e, _, _)| eps > *e) {
            best = Some((eps, t, counts));
        }
    }
    let (_, threshold, selection) = best.expect("at least two candidates");
    let evaluation = ErrorCounts::at(threshold, eval_without, eval_with);
    Ok(AuditBound {
        eps_lower: evaluation.epsilon_lower(delta),
        eps_point: evaluation.epsilon_point(delta),
        threshold,
        fpr: evaluation.fpr(),
        fnr: evaluation.fnr(),
        selection,
        evaluation,
        delta,
        confidence: CONFIDENCE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn gaussian(n: usize, mean: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                mean + z
            })
            .collect()
    }

    #[test]
    fn epsilon_from_rates_follows_the_hypothesis_testing_region() {
        assert!((epsilon_from_rates(0.01, 0.5, 0.0) - 50f64.ln()).abs() < 1e-12);
        // Symmetric in the two error kinds.
        assert_eq!(
            epsilon_from_rates(0.5, 0.01, 1e-5),
            epsilon_from_rates(0.01, 0.5, 1e-5)
        );
        // δ lowers the bound.
        assert!(epsilon_from_rates(0.01, 0.5, 0.1) < epsilon_from_rates(0.01, 0.5, 0.0));
        // Random guessing (FPR + FNR = 1) proves nothing; worse than guessing neither.
        assert!(epsilon_from_rates(0.3, 0.7, 0.0) < 1e-12);
        assert_eq!(epsilon_from_rates(0.9, 0.9, 0.0), 0.0);
        assert_eq!(epsilon_from_rates(0.0, 0.2, 0.0), f64::INFINITY);
    }

    #[test]
    fn a_perfect_test_is_limited_by_the_number_of_trials() {
        let without = vec![0.0; 200];
        let with = vec![1.0; 200];
        let b = audit_scores(&without, &with, 1e-5).unwrap();
        assert!(b.threshold > 0.0 && b.threshold < 1.0, "{b:?}");
        assert_eq!(
            b.evaluation.false_positives + b.evaluation.false_negatives,
            0
        );
        assert_eq!((b.evaluation.negatives, b.evaluation.positives), (100, 100));
        // 0 errors in 100: FPR_hi = FNR_hi = 1 − 0.025^(1/100).
        let h = 1.0 - 0.025f64.powf(0.01);
        let want = ((1.0 - 1e-5 - h) / h).ln();
        assert!(
            (b.eps_lower - want).abs() < 1e-9,
            "{} vs {want}",
            b.eps_lower
        );
        assert_eq!(b.eps_point, None);
    }

    #[test]
    fn identical_distributions_give_a_bound_near_zero() {
        let b = audit_scores(&gaussian(2000, 0.0, 1), &gaussian(2000, 0.0, 2), 1e-5).unwrap();
        assert!(b.eps_lower < 0.2, "{b:?}");
    }

    /// The exact ε of a Gaussian mechanism with sensitivity/σ = μ at `delta` (Balle & Wang
    /// 2018): δ(ε) = Φ(μ/2 − ε/μ) − e^ε Φ(−μ/2 − ε/μ), solved by bisection.
    fn gaussian_epsilon(mu: f64, delta: f64) -> f64 {
        use statrs::distribution::{ContinuousCDF, Normal};
        let phi = |x: f64| Normal::standard().cdf(x);
        let d = |e: f64| phi(mu / 2.0 - e / mu) - e.exp() * phi(-mu / 2.0 - e / mu);
        let (mut lo, mut hi) = (0.0, 50.0);
        for _ in 0..200 {
            let mid = (lo + hi) / 2.0;
            if d(mid) > delta {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    #[test]
    fn a_gaussian_mechanism_is_bounded_below_its_true_epsilon() {
        // Scores of a Gaussian mechanism with sensitivity 1 and σ = 1 (μ = 1): exact ε 4.38 at
        // δ = 1e-5. The audit finds a positive bound below it.
        let exact = gaussian_epsilon(1.0, 1e-5);
        assert!((exact - 4.377).abs() < 0.01, "{exact}");
        let b = audit_scores(&gaussian(4000, 0.0, 3), &gaussian(4000, 1.0, 4), 1e-5).unwrap();
        assert!(b.eps_lower > 0.5 && b.eps_lower < exact, "{b:?}");
        assert!(b.eps_point.unwrap() >= b.eps_lower);
        assert!(b.fpr.high >= b.fpr.value && b.fnr.high >= b.fnr.value);
    }

    #[test]
    fn the_threshold_is_evaluated_on_trials_that_did_not_choose_it() {
        // The selection halves separate perfectly, the evaluation halves are swapped: a
        // threshold chosen and evaluated on the same trials would claim a large ε.
        let without = [vec![0.0; 50], vec![1.0; 50]].concat();
        let with = [vec![1.0; 50], vec![0.0; 50]].concat();
        let b = audit_scores(&without, &with, 1e-5).unwrap();
        assert_eq!(b.selection.false_positives + b.selection.false_negatives, 0);
        assert_eq!(b.eps_lower, 0.0, "{b:?}");
    }

    #[test]
    fn bad_input_is_an_error() {
        let ok = [0.0, 1.0, 2.0];
        assert!(matches!(
            audit_scores(&[0.0], &ok, 1e-5),
            Err(AuditError::TooFewTrials { found: 1, .. })
        ));
        assert!(matches!(
            audit_scores(&ok, &[0.0, f64::NAN], 1e-5),
            Err(AuditError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            audit_scores(&ok, &ok, 1.0),
            Err(AuditError::InvalidDelta { .. })
        ));
        assert!(audit_scores(&ok, &ok, f64::NAN).is_err());
    }
}
