//! Aggregation of fold scores: per replicate over test subjects, then across replicates.
//!
//! - Per replicate, two variants: [`subject_average`] is the **unweighted mean over test
//!   subjects** of each metric (the reference implementation's `results["average"]`: a subject
//!   with 20 windows counts as much as one with 60), and [`pooled`] sums the confusion matrices
//!   (and the reference counts) and scores the pooled matrix once.
//! - Across replicates: [`Summary`] (n, mean, sample sd, min, max) and [`poor_ratio`].
//!
//! Conventions: the standard deviation is the sample one (ddof = 1, like pandas `std`, which
//! the reference used). With a single value it is undefined and is `None`, serialised as JSON
//! `null` (never NaN, which JSON cannot hold). Empty input and NaN/infinite values are errors,
//! not NaN results. `poor_ratio` counts values `≤ threshold`; the reference applied it to the
//! per-run average of its "F1" ([`crate::evaluation::reference_f1`]) with threshold 0.3
//! ([`DEFAULT_POOR_THRESHOLD`]).
//!
//! May depend on: serde, thiserror, the metric types of this module. Never tch,
//! orchestration or IO.

use serde::{Deserialize, Serialize};

use super::metrics::{ConfusionMatrix, MetricSet, ReferenceMetrics};
use super::EvaluationError;

/// The reference implementation's `poor_ratio` threshold on the per-run average F1.
pub const DEFAULT_POOR_THRESHOLD: f64 = 0.3;

fn check_values(values: &[f64]) -> Result<(), EvaluationError> {
    if values.is_empty() {
        return Err(EvaluationError::Empty {
            what: "list of values",
        });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(EvaluationError::NonFinite {
            what: "value",
            index,
            value,
        });
    }
    Ok(())
}

/// All values bit-for-bit equal (then the mean is that value and the sd exactly 0).
fn all_equal(values: &[f64]) -> bool {
    values.windows(2).all(|w| w[0] == w[1])
}

/// Arithmetic mean. Errors on empty input or a non-finite value.
///
/// When all values are equal the mean is that value exactly (numpy's summation would give,
/// e.g., 0.5999999999999999 for ten copies of 0.6).
pub fn mean(values: &[f64]) -> Result<f64, EvaluationError> {
    check_values(values)?;
    if all_equal(values) {
        return Ok(values[0]);
    }
    Ok(values.iter().sum::<f64>() / values.len() as f64)
}

/// Sample standard deviation (ddof = 1, two-pass like numpy/pandas). `Ok(None)` for a single
/// value. Identical values give exactly 0 (numpy gives ~1e-16 from rounding of the mean):
/// identical replicates, as the reference's seed-42 "CI runs" often were, are then visible as
/// such. Errors on empty input or a non-finite value.
pub fn sample_sd(values: &[f64]) -> Result<Option<f64>, EvaluationError> {
    let m = mean(values)?;
    if values.len() < 2 {
        return Ok(None);
    }
    if all_equal(values) {
        return Ok(Some(0.0));
    }
    let ss: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    Ok(Some((ss / (values.len() - 1) as f64).sqrt()))
}

/// Fraction of values `≤ threshold` (the reference's `poor_ratio`, there with threshold 0.3 on
/// each run's average F1). Errors on empty input, a non-finite value or threshold.
pub fn poor_ratio(values: &[f64], threshold: f64) -> Result<f64, EvaluationError> {
    check_values(values)?;
    if !threshold.is_finite() {
        return Err(EvaluationError::NonFinite {
            what: "poor-ratio threshold",
            index: 0,
            value: threshold,
        });
    }
    let poor = values.iter().filter(|&&v| v <= threshold).count();
    Ok(poor as f64 / values.len() as f64)
}

/// n, mean, sample sd (`None` when n = 1), min and max of a list of values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub sd: Option<f64>,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// Summarises `values`. Errors on empty input or a non-finite value.
    pub fn of(values: &[f64]) -> Result<Self, EvaluationError> {
        let mean = mean(values)?;
        Ok(Self {
            n: values.len(),
            mean,
            sd: sample_sd(values)?,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// Unweighted means of the reference metrics over subjects.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceMean {
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// One replicate's metrics averaged over test subjects without weights (each field is the
/// mean of that field over the folds).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanMetrics {
    pub n_subjects: usize,
    pub n_classes: usize,
    pub positive_class: usize,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    pub positive_precision: f64,
    pub positive_recall: f64,
    pub positive_f1: f64,
    pub macro_f1: f64,
    pub micro_f1: f64,
    /// Present only when every fold carries reference metrics.
    #[serde(default)]
    pub reference: Option<ReferenceMean>,
}

fn check_compatible(folds: &[MetricSet]) -> Result<(), EvaluationError> {
    let first = folds.first().ok_or(EvaluationError::Empty {
        what: "list of fold metrics",
    })?;
    for (index, f) in folds.iter().enumerate().skip(1) {
        if f.n_classes != first.n_classes {
            return Err(EvaluationError::Incompatible {
                index,
                field: "number of classes",
                expected: first.n_classes,
                got: f.n_classes,
            });
        }
        if f.positive_class != first.positive_class {
            return Err(EvaluationError::Incompatible {
                index,
                field: "positive class",
                expected: first.positive_class,
                got: f.positive_class,
            });
        }
    }
    Ok(())
}

/// Unweighted mean over test subjects (folds) of every metric, like the reference's
/// `results["average"]`. Errors on an empty list or folds that disagree on the number of
/// classes or the positive class.
pub fn subject_average(folds: &[MetricSet]) -> Result<MeanMetrics, EvaluationError> {
    check_compatible(folds)?;
    let avg = |f: fn(&MetricSet) -> f64| -> Result<f64, EvaluationError> {
        mean(&folds.iter().map(f).collect::<Vec<_>>())
    };
    let refs: Option<Vec<&ReferenceMetrics>> = folds.iter().map(|f| f.reference.as_ref()).collect();
    let reference = match refs {
        Some(r) => {
            let avg_r = |f: fn(&ReferenceMetrics) -> f64| -> Result<f64, EvaluationError> {
                mean(&r.iter().map(|x| f(x)).collect::<Vec<_>>())
            };
            Some(ReferenceMean {
                accuracy: avg_r(|x| x.accuracy)?,
                precision: avg_r(|x| x.precision)?,
                recall: avg_r(|x| x.recall)?,
                f1: avg_r(|x| x.f1)?,
            })
        }
        None => None,
    };
    Ok(MeanMetrics {
        n_subjects: folds.len(),
        n_classes: folds[0].n_classes,
        positive_class: folds[0].positive_class,
        accuracy: avg(|f| f.accuracy)?,
        balanced_accuracy: avg(|f| f.balanced_accuracy)?,
        positive_precision: avg(|f| f.positive_precision)?,
        positive_recall: avg(|f| f.positive_recall)?,
        positive_f1: avg(|f| f.positive_f1)?,
        macro_f1: avg(|f| f.macro_f1)?,
        micro_f1: avg(|f| f.micro_f1)?,
        reference,
    })
}

/// Pools the folds: confusion matrices summed and scored once; reference metrics recomputed
/// from the summed counts when every fold has them. Errors as [`subject_average`].
pub fn pooled(folds: &[MetricSet]) -> Result<MetricSet, EvaluationError> {
    check_compatible(folds)?;
    let confusion = ConfusionMatrix::sum(folds.iter().map(|f| &f.confusion))?;
    let mut set = MetricSet::from_confusion(confusion, folds[0].positive_class)?;
    let refs: Option<Vec<&ReferenceMetrics>> = folds.iter().map(|f| f.reference.as_ref()).collect();
    if let Some(r) = refs {
        set.reference = Some(ReferenceMetrics::pooled(r)?);
    }
    Ok(set)
}

/// Across-replicate summary of per-replicate subject averages (the reference's `mean`,
/// `std` and `poor_ratio` over its 10 "CI runs", with sd of ddof = 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicateSummary {
    pub n_replicates: usize,
    pub accuracy: Summary,
    pub balanced_accuracy: Summary,
    pub positive_precision: Summary,
    pub positive_recall: Summary,
    pub positive_f1: Summary,
    pub macro_f1: Summary,
    pub micro_f1: Summary,
    /// Present only when every replicate has reference metrics.
    #[serde(default)]
    pub reference_accuracy: Option<Summary>,
    #[serde(default)]
    pub reference_precision: Option<Summary>,
    #[serde(default)]
    pub reference_recall: Option<Summary>,
    #[serde(default)]
    pub reference_f1: Option<Summary>,
    /// The threshold both poor ratios use.
    pub poor_threshold: f64,
    /// Fraction of replicates whose average reference F1 is ≤ `poor_threshold` (the
    /// reference's `poor_ratio`); present with the reference metrics.
    #[serde(default)]
    pub poor_ratio_reference_f1: Option<f64>,
    /// Fraction of replicates whose average positive-class F1 is ≤ `poor_threshold`.
    pub poor_ratio_positive_f1: f64,
}

impl ReplicateSummary {
    /// Summarises replicates. Errors on an empty list, replicates that disagree on the number
    /// of classes or positive class, or non-finite values.
    pub fn from_replicates(
        replicates: &[MeanMetrics],
        poor_threshold: f64,
    ) -> Result<Self, EvaluationError> {
        let first = replicates.first().ok_or(EvaluationError::Empty {
            what: "list of replicates",
        })?;
        for (index, r) in replicates.iter().enumerate().skip(1) {
            for (field, expected, got) in [
                ("number of classes", first.n_classes, r.n_classes),
                ("positive class", first.positive_class, r.positive_class),
            ] {
                if expected != got {
                    return Err(EvaluationError::Incompatible {
                        index,
                        field,
                        expected,
                        got,
                    });
                }
            }
        }
        let col = |f: fn(&MeanMetrics) -> f64| -> Vec<f64> { replicates.iter().map(f).collect() };
        let s = |f: fn(&MeanMetrics) -> f64| Summary::of(&col(f));
        let refs: Option<Vec<ReferenceMean>> = replicates.iter().map(|r| r.reference).collect();
        let rs = |f: fn(&ReferenceMean) -> f64| -> Result<Option<Summary>, EvaluationError> {
            refs.as_ref()
                .map(|r| Summary::of(&r.iter().map(f).collect::<Vec<_>>()))
                .transpose()
        };
        let poor_ratio_reference_f1 = refs
            .as_ref()
            .map(|r| poor_ratio(&r.iter().map(|x| x.f1).collect::<Vec<_>>(), poor_threshold))
            .transpose()?;
        Ok(Self {
            n_replicates: replicates.len(),
            accuracy: s(|r| r.accuracy)?,
            balanced_accuracy: s(|r| r.balanced_accuracy)?,
            positive_precision: s(|r| r.positive_precision)?,
            positive_recall: s(|r| r.positive_recall)?,
            positive_f1: s(|r| r.positive_f1)?,
            macro_f1: s(|r| r.macro_f1)?,
            micro_f1: s(|r| r.micro_f1)?,
            reference_accuracy: rs(|r| r.accuracy)?,
            reference_precision: rs(|r| r.precision)?,
            reference_recall: rs(|r| r.recall)?,
            reference_f1: rs(|r| r.f1)?,
            poor_threshold,
            poor_ratio_reference_f1,
            poor_ratio_positive_f1: poor_ratio(&col(|r| r.positive_f1), poor_threshold)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sd_of_one_value_is_none_and_serialises_as_null() {
        let s = Summary::of(&[0.5]).unwrap();
        assert_eq!(s.sd, None);
        let json = serde_json::to_value(s).unwrap();
        assert!(json["sd"].is_null());
        let back: Summary = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn sample_sd_uses_ddof_one() {
        let sd = sample_sd(&[1.0, 2.0, 3.0, 4.0]).unwrap().unwrap();
        assert!((sd - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        // Identical runs (the reference's seed-42 replicates) have sd exactly 0.
        assert_eq!(sample_sd(&[0.7; 10]).unwrap(), Some(0.0));
    }

    #[test]
    fn empty_and_non_finite_are_errors() {
        assert!(mean(&[]).is_err());
        assert!(sample_sd(&[]).is_err());
        assert!(Summary::of(&[1.0, f64::NAN]).is_err());
        assert!(poor_ratio(&[], 0.3).is_err());
        assert!(poor_ratio(&[0.1], f64::NAN).is_err());
        assert!(subject_average(&[]).is_err());
        assert!(pooled(&[]).is_err());
        assert!(ReplicateSummary::from_replicates(&[], 0.3).is_err());
    }

    #[test]
    fn poor_ratio_counts_values_at_or_below_threshold() {
        assert_eq!(poor_ratio(&[0.3, 0.29, 0.31, 0.8], 0.3).unwrap(), 0.5);
    }

    #[test]
    fn subject_average_is_unweighted_and_pooled_sums_counts() {
        // Subject A: 2 windows, both right. Subject B: 8 windows, 4 right.
        let a = MetricSet::from_binary_probabilities(&[[0.9, 0.1], [0.1, 0.9]], &[0, 1]).unwrap();
        let b = MetricSet::from_binary_probabilities(&[[0.9, 0.2]; 8], &[0, 0, 0, 0, 1, 1, 1, 1])
            .unwrap();
        let avg = subject_average(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(avg.n_subjects, 2);
        assert_eq!(avg.accuracy, 0.75);
        let r = avg.reference.unwrap();
        assert_eq!(r.accuracy, 0.75);
        assert!((r.f1 - 0.75).abs() < 1e-15);
        let pool = pooled(&[a.clone(), b]).unwrap();
        assert_eq!(pool.n, 10);
        assert_eq!(pool.accuracy, 0.6);
        assert_eq!(pool.confusion.rows(), vec![vec![5, 0], vec![4, 1]]);
        let pr = pool.reference.unwrap();
        assert_eq!(pr.n, 10);
        assert_eq!(pr.accuracy, 0.6);
        // A fold without probabilities drops the reference metrics.
        let c = MetricSet::from_labels(&[0, 1], &[0, 0], 2, 1).unwrap();
        assert!(subject_average(&[a.clone(), c.clone()])
            .unwrap()
            .reference
            .is_none());
        // Disagreeing positive class is an error.
        let d = MetricSet::from_labels(&[0, 1], &[0, 0], 2, 0).unwrap();
        assert!(matches!(
            pooled(&[c, d]),
            Err(EvaluationError::Incompatible { index: 1, .. })
        ));

        let summary = ReplicateSummary::from_replicates(&[avg, avg], 0.3).unwrap();
        assert_eq!(summary.n_replicates, 2);
        assert_eq!(summary.accuracy.sd, Some(0.0));
        assert_eq!(summary.poor_ratio_reference_f1, Some(0.0));
        let json = serde_json::to_string(&summary).unwrap();
        let back: ReplicateSummary = serde_json::from_str(&json).unwrap();
        assert_eq!(back, summary);
    }
}
