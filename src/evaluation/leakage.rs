//! Empirical privacy of synthetic data: distance to closest record (DCR) and a distance-based
//! membership-inference attack (GAN-Leaks' "full black-box" score: the closer a record lies to
//! the synthetic data, the likelier it was a training member), with its AUC and its true
//! positive rate at small false positive rates, each with a 95 % confidence interval.
//!
//! Records are rows of equal length (e.g. flattened windows); distances are Euclidean.
//! These are measurements of what an attacker learns, not guarantees: a low AUC bounds
//! nothing (the guarantee is the accountant's ε); a high one shows leakage.
//!
//! May depend on: statrs (beta quantiles), thiserror, fidelity's squared distance. Pure.

use statrs::distribution::{Beta, ContinuousCDF};

/// Why a leakage measurement cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LeakageError {
    #[error("measure {what}: {set} has no records")]
    Empty {
        what: &'static str,
        set: &'static str,
    },
    #[error("measure {what}: record {row} of {set} has {found} values but {expected} are expected (the length of the first record)")]
    Ragged {
        what: &'static str,
        set: &'static str,
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error("measure {what}: record {row} of {set} holds a non-finite value")]
    NonFinite {
        what: &'static str,
        set: &'static str,
        row: usize,
    },
    #[error("measure {what}: {set} has {found} records but at least {needed} are needed")]
    TooFew {
        what: &'static str,
        set: &'static str,
        found: usize,
        needed: usize,
    },
    /// The sample covariance of a set is (numerically) singular, so it has no Gaussian KDE.
    #[error("measure {what}: the covariance of {set} is singular (a constant or collinear dimension); reduce the records to fewer dimensions first")]
    SingularCovariance {
        what: &'static str,
        set: &'static str,
    },
    /// The dimension reduction before an attack failed.
    #[error(transparent)]
    Projection(#[from] super::fidelity::FidelityError),
}

/// Checks that every set is non-empty, with finite rows of the first set's length.
pub(crate) fn check(
    what: &'static str,
    sets: &[(&'static str, &[Vec<f64>])],
) -> Result<(), LeakageError> {
    let width = sets
        .iter()
        .find_map(|(_, s)| s.first().map(Vec::len))
        .unwrap_or(0);
    for (set, rows) in sets {
        if rows.is_empty() {
            return Err(LeakageError::Empty { what, set });
        }
        for (row, r) in rows.iter().enumerate() {
            if r.len() != width {
                return Err(LeakageError::Ragged {
                    what,
                    set,
                    row,
                    expected: width,
                    found: r.len(),
                });
            }
            if r.iter().any(|v| !v.is_finite()) {
                return Err(LeakageError::NonFinite { what, set, row });
            }
        }
    }
    Ok(())
}

/// For each record of `from`, the Euclidean distance to its closest record in `to`.
pub fn closest_distances(from: &[Vec<f64>], to: &[Vec<f64>]) -> Vec<f64> {
    from.iter()
        .map(|a| {
            to.iter()
                .map(|b| super::fidelity::squared_distance(a, b))
                .fold(f64::INFINITY, f64::min)
                .sqrt()
        })
        .collect()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// The q-quantile with linear interpolation (numpy's default).
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

/// DCR of synthetic records to the generator's training records against to held-out real
/// records.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct DcrSummary {
    /// Median distance from a synthetic record to its closest training record.
    pub median_to_train: f64,
    /// Median distance from a synthetic record to its closest holdout record.
    pub median_to_holdout: f64,
    /// `median_to_train / median_to_holdout` (< 1: synthetic records sit closer to the
    /// training data than to unseen real data).
    pub ratio: f64,
    /// The 5th percentile of the holdout records' distances to their closest training record.
    pub holdout_p5: f64,
    /// Share of synthetic records closer to the training data than `holdout_p5`: copies or
    /// near-copies of training records (about 0.05 or less when nothing is memorised).
    pub share_closer_than_holdout_p5: f64,
}

/// Distances to closest record of `synthetic` to `train` and to `holdout`.
pub fn dcr_summary(
    synthetic: &[Vec<f64>],
    train: &[Vec<f64>],
    holdout: &[Vec<f64>],
) -> Result<DcrSummary, LeakageError> {
    check(
        "the distance to closest record",
        &[
            ("the training set", train),
            ("the synthetic set", synthetic),
            ("the holdout set", holdout),
        ],
    )?;
    let to_train = closest_distances(synthetic, train);
    let to_holdout = closest_distances(synthetic, holdout);
    let holdout_to_train = closest_distances(holdout, train);
    let p5 = quantile(&holdout_to_train, 0.05);
    let (mt, mh) = (median(&to_train), median(&to_holdout));
    Ok(DcrSummary {
        median_to_train: mt,
        median_to_holdout: mh,
        ratio: if mh > 0.0 { mt / mh } else { f64::INFINITY },
        holdout_p5: p5,
        share_closer_than_holdout_p5: to_train.iter().filter(|&&d| d < p5).count() as f64
            / to_train.len() as f64,
    })
}

/// A rate with its 95 % Clopper–Pearson interval (each end a one-sided 97.5 % bound).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Rate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// `successes / trials` with its two-sided 95 % Clopper–Pearson interval: `low` is the one-sided
/// 97.5 % lower bound, `high` the one-sided 97.5 % upper bound. `trials` must be > 0 (the
/// value is NaN otherwise).
pub fn clopper_pearson(successes: usize, trials: usize) -> Rate {
    let (k, n) = (successes as f64, trials as f64);
    let low = if successes == 0 {
        0.0
    } else {
        Beta::new(k, n - k + 1.0)
            .map(|b| b.inverse_cdf(0.025))
            .unwrap_or(0.0)
    };
    let high = if successes == trials {
        1.0
    } else {
        Beta::new(k + 1.0, n - k)
            .map(|b| b.inverse_cdf(0.975))
            .unwrap_or(1.0)
    };
    Rate {
        value: k / n,
        low,
        high,
    }
}

/// The result of a membership-inference attack.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct AttackResult {
    /// Area under the ROC curve (ties count one half), members against non-members.
    pub auc: f64,
    /// Hanley–McNeil 95 % interval of the AUC (clipped to [0, 1]).
    pub auc_low: f64,
    pub auc_high: f64,
    /// True positive rate at the largest threshold whose false positive rate is ≤ 1 %.
    pub tpr_at_1pct_fpr: Rate,
    /// … ≤ 0.1 %.
    pub tpr_at_01pct_fpr: Rate,
    pub members: usize,
    pub non_members: usize,
}

/// AUC, its interval and TPR at low FPR of `scores` (higher = "member").
pub fn attack_metrics(member_scores: &[f64], non_member_scores: &[f64]) -> AttackResult {
    let (m, n) = (member_scores.len() as f64, non_member_scores.len() as f64);
    let mut wins = 0.0;
    for &a in member_scores {
        for &b in non_member_scores {
            wins += if a > b {
                1.0
            } else if a == b {
                0.5
            } else {
                0.0
            };
        }
    }
    let auc = wins / (m * n);
    // Hanley & McNeil (1982).
    let q1 = auc / (2.0 - auc);
    let q2 = 2.0 * auc * auc / (1.0 + auc);
    let var =
        (auc * (1.0 - auc) + (m - 1.0) * (q1 - auc * auc) + (n - 1.0) * (q2 - auc * auc)) / (m * n);
    let half = 1.959_963_984_540_054 * var.max(0.0).sqrt();
    let mut neg = non_member_scores.to_vec();
    neg.sort_by(|a, b| b.total_cmp(a));
    let tpr_at = |fpr: f64| {
        // Flag a record when its score is strictly above the threshold; the threshold is the
        // (k+1)-th highest non-member score with k = ⌊fpr·n⌋ false positives allowed.
        let k = (fpr * n).floor() as usize;
        let threshold = neg.get(k).copied().unwrap_or(f64::NEG_INFINITY);
        let hits = member_scores.iter().filter(|&&s| s > threshold).count();
        clopper_pearson(hits, member_scores.len())
    };
    AttackResult {
        auc,
        auc_low: (auc - half).max(0.0),
        auc_high: (auc + half).min(1.0),
        tpr_at_1pct_fpr: tpr_at(0.01),
        tpr_at_01pct_fpr: tpr_at(0.001),
        members: member_scores.len(),
        non_members: non_member_scores.len(),
    }
}

/// The distance attack (GAN-Leaks): a record's score is minus its distance to the closest
/// synthetic record; members are the generator's training records, non-members held-out ones.
pub fn distance_attack(
    synthetic: &[Vec<f64>],
    members: &[Vec<f64>],
    non_members: &[Vec<f64>],
) -> Result<AttackResult, LeakageError> {
    check(
        "the distance attack",
        &[
            ("the members", members),
            ("the synthetic set", synthetic),
            ("the non-members", non_members),
        ],
    )?;
    let score = |rows: &[Vec<f64>]| -> Vec<f64> {
        closest_distances(rows, synthetic)
            .into_iter()
            .map(|d| -d)
            .collect()
    };
    Ok(attack_metrics(&score(members), &score(non_members)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn cloud(rng: &mut rand_chacha::ChaCha20Rng, n: usize, d: usize, shift: f64) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| (0..d).map(|_| rng.random::<f64>() + shift).collect())
            .collect()
    }

    #[test]
    fn copies_of_the_training_data_leak_and_fresh_samples_do_not() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let train = cloud(&mut rng, 200, 4, 0.0);
        let holdout = cloud(&mut rng, 200, 4, 0.0);
        // Memorised: the synthetic set is the training set.
        let leak = distance_attack(&train, &train, &holdout).unwrap();
        assert_eq!(leak.auc, 1.0);
        assert_eq!(leak.tpr_at_1pct_fpr.value, 1.0);
        let d = dcr_summary(&train, &train, &holdout).unwrap();
        assert_eq!(d.median_to_train, 0.0);
        assert_eq!(d.share_closer_than_holdout_p5, 1.0);
        // A fresh sample of the same distribution: no advantage.
        let fresh = cloud(&mut rng, 400, 4, 0.0);
        let none = distance_attack(&fresh, &train, &holdout).unwrap();
        assert!(none.auc_low < 0.5 && 0.5 < none.auc_high, "{none:?}");
        assert!(none.tpr_at_1pct_fpr.value < 0.1, "{none:?}");
        let d = dcr_summary(&fresh, &train, &holdout).unwrap();
        assert!((0.8..1.25).contains(&d.ratio), "{d:?}");
        assert!(d.share_closer_than_holdout_p5 < 0.15, "{d:?}");
    }

    #[test]
    fn auc_counts_ties_as_half_and_intervals_are_valid() {
        let r = attack_metrics(&[1.0, 2.0], &[1.0, 0.0]);
        assert_eq!(r.auc, (1.0 + 0.5 + 1.0 + 1.0) / 4.0);
        assert!(r.auc_low <= r.auc && r.auc <= r.auc_high);
        let c = clopper_pearson(0, 10);
        assert_eq!((c.value, c.low), (0.0, 0.0));
        // Clopper–Pearson for 0 of 10: upper = 1 - 0.025^(1/10).
        assert!((c.high - (1.0 - 0.025f64.powf(0.1))).abs() < 1e-9, "{c:?}");
        let c = clopper_pearson(10, 10);
        assert_eq!(c.high, 1.0);
        assert!((c.low - 0.025f64.powf(0.1)).abs() < 1e-9, "{c:?}");
    }

    #[test]
    fn bad_input_is_an_error() {
        let a = vec![vec![0.0, 1.0]];
        assert!(distance_attack(&[], &a, &a).is_err());
        assert!(dcr_summary(&a, &[vec![0.0]], &a).is_err());
        assert!(distance_attack(&a, &[vec![f64::NAN, 0.0]], &a).is_err());
    }
}
