//! Classification metrics for k classes with an explicit positive class and explicit averaging.
//!
//! Semantics follow scikit-learn (`confusion_matrix`, `accuracy_score`,
//! `balanced_accuracy_score`, `precision_recall_fscore_support`, `f1_score`) called with
//! `labels=range(k)` and **`zero_division=0`**: a precision, recall or F1 whose denominator is
//! zero (a class never predicted, a class absent from the true labels, or both) is 0, not NaN,
//! and that 0 takes part in the macro and weighted averages. Macro averages run over all k
//! classes, including classes that occur in neither the true nor the predicted labels.
//! Per-class F1 is computed as sklearn does, `2·tp / (support + predicted)`, which equals
//! `2PR/(P+R)` whenever that is defined. The reference vectors in
//! `tests/fixtures/metric_vectors.json` (made by `scripts/gen_metric_vectors.py`) pin all of
//! this to 1e-12.
//!
//! [`reference_f1`] reproduces what the reference implementation reported as "F1": Keras
//! `Precision()` and `Recall()` at threshold 0.5 over **both** one-hot columns of a two-unit
//! sigmoid output, flattened (a micro average over the two classes), combined as `2PR/(P+R)`.
//! It is ≈ accuracy, not the stress-class F1 (a constant "non-stress" predictor scores its
//! accuracy). It is kept under its own name so that it is never mistaken for an F1 of the
//! stress class.
//!
//! May depend on: serde, thiserror. Never tch, orchestration or IO.

use serde::{Deserialize, Serialize};

use super::EvaluationError;

/// The stress class in the binary WESAD labelling (0 = non-stress, 1 = stress).
pub const STRESS_CLASS: usize = 1;

/// A k × k confusion matrix: rows are true classes, columns are predicted classes.
///
/// Invariants (checked by every constructor, including deserialisation): k ≥ 1 and at least
/// one counted sample, so accuracy and balanced accuracy are always defined. Serialised as the
/// list of rows, like `sklearn.metrics.confusion_matrix(..., labels=range(k))`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Vec<u64>>", into = "Vec<Vec<u64>>")]
pub struct ConfusionMatrix {
    n_classes: usize,
    /// Row-major counts, `counts[t * k + p]`.
    counts: Vec<u64>,
}

/// Precision, recall and F1 of one class (one-vs-rest), with its support (number of true
/// samples of that class).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

/// How per-class scores are combined, as in scikit-learn's `average=` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Average {
    /// Unweighted mean of the per-class scores over all k classes.
    Macro,
    /// Scores of the summed counts over all classes; with all k classes included, precision =
    /// recall = F1 = accuracy.
    Micro,
    /// Mean of the per-class scores weighted by support.
    Weighted,
}

/// Averaged precision, recall and F1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AveragedScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// `num / den`, or 0 when `den` is 0 (sklearn's `zero_division=0`).
fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

impl ConfusionMatrix {
    /// Counts `(true, predicted)` pairs for `n_classes` classes.
    ///
    /// Errors: `n_classes == 0`, different lengths, empty input, or a label ≥ `n_classes`.
    pub fn from_labels(
        true_labels: &[usize],
        predicted: &[usize],
        n_classes: usize,
    ) -> Result<Self, EvaluationError> {
        if n_classes == 0 {
            return Err(EvaluationError::InvalidClassCount {
                n_classes,
                reason: "at least one class is needed",
            });
        }
        if true_labels.len() != predicted.len() {
            return Err(EvaluationError::LengthMismatch {
                left: "predicted labels",
                left_len: predicted.len(),
                right: "true labels",
                right_len: true_labels.len(),
            });
        }
        if true_labels.is_empty() {
            return Err(EvaluationError::Empty {
                what: "true labels",
            });
        }
        let mut counts = vec![0u64; n_classes * n_classes];
        for (index, (&t, &p)) in true_labels.iter().zip(predicted).enumerate() {
            for (which, label) in [("true", t), ("predicted", p)] {
                if label >= n_classes {
                    return Err(EvaluationError::LabelOutOfRange {
                        which,
                        index,
                        label,
                        n_classes,
                    });
                }
            }
            counts[t * n_classes + p] += 1;
        }
        Ok(Self { n_classes, counts })
    }

    /// Builds a matrix from its rows (true classes) of predicted-class counts.
    ///
    /// Errors: no rows, a row whose length is not the number of rows, or all counts zero.
    pub fn from_rows(rows: Vec<Vec<u64>>) -> Result<Self, EvaluationError> {
        let k = rows.len();
        if k == 0 {
            return Err(EvaluationError::InvalidConfusionMatrix {
                reason: "no rows (at least one class is needed)".into(),
            });
        }
        let mut counts = Vec::with_capacity(k * k);
        for (i, row) in rows.into_iter().enumerate() {
            if row.len() != k {
                return Err(EvaluationError::InvalidConfusionMatrix {
                    reason: format!(
                        "row {i} has {} entries but the matrix has {k} rows",
                        row.len()
                    ),
                });
            }
            counts.extend(row);
        }
        let m = Self {
            n_classes: k,
            counts,
        };
        if m.total() == 0 {
            return Err(EvaluationError::InvalidConfusionMatrix {
                reason: "all counts are zero (at least one sample is needed)".into(),
            });
        }
        Ok(m)
    }

    /// Sums matrices of the same size (pooling folds or subjects).
    ///
    /// Errors: no matrices, or matrices of different sizes.
    pub fn sum<'a, I>(matrices: I) -> Result<Self, EvaluationError>
    where
        I: IntoIterator<Item = &'a ConfusionMatrix>,
    {
        let mut iter = matrices.into_iter();
        let mut acc = iter
            .next()
            .ok_or(EvaluationError::Empty {
                what: "list of confusion matrices",
            })?
            .clone();
        for (i, m) in iter.enumerate() {
            if m.n_classes != acc.n_classes {
                return Err(EvaluationError::Incompatible {
                    index: i + 1,
                    field: "number of classes",
                    expected: acc.n_classes,
                    got: m.n_classes,
                });
            }
            for (a, b) in acc.counts.iter_mut().zip(&m.counts) {
                *a += b;
            }
        }
        Ok(acc)
    }

    /// Number of classes k.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Number of samples counted (always ≥ 1).
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Count of samples of true class `t` predicted as `p`; `None` when out of range.
    pub fn get(&self, t: usize, p: usize) -> Option<u64> {
        (t < self.n_classes && p < self.n_classes).then(|| self.counts[t * self.n_classes + p])
    }

    /// The rows (true classes) of predicted-class counts.
    pub fn rows(&self) -> Vec<Vec<u64>> {
        self.counts
            .chunks(self.n_classes)
            .map(<[u64]>::to_vec)
            .collect()
    }

    fn at(&self, t: usize, p: usize) -> u64 {
        self.counts[t * self.n_classes + p]
    }

    /// Number of true samples of class `c` (row sum).
    fn support(&self, c: usize) -> u64 {
        (0..self.n_classes).map(|p| self.at(c, p)).sum()
    }

    /// Number of samples predicted as class `c` (column sum).
    fn predicted_count(&self, c: usize) -> u64 {
        (0..self.n_classes).map(|t| self.at(t, c)).sum()
    }

    /// Number of correctly classified samples (trace).
    pub fn correct(&self) -> u64 {
        (0..self.n_classes).map(|c| self.at(c, c)).sum()
    }

    /// Fraction of correctly classified samples (`accuracy_score`).
    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total() as f64
    }

    /// Mean recall over the classes that occur in the true labels
    /// (`balanced_accuracy_score(adjusted=False)`; classes absent from the true labels are
    /// left out, as sklearn does).
    pub fn balanced_accuracy(&self) -> f64 {
        let recalls: Vec<f64> = (0..self.n_classes)
            .filter_map(|c| {
                let support = self.support(c);
                (support > 0).then(|| self.at(c, c) as f64 / support as f64)
            })
            .collect();
        // At least one class has support because total() ≥ 1.
        recalls.iter().sum::<f64>() / recalls.len() as f64
    }

    fn scores_unchecked(&self, c: usize) -> ClassScores {
        let tp = self.at(c, c) as f64;
        let support = self.support(c);
        let predicted = self.predicted_count(c) as f64;
        ClassScores {
            precision: ratio(tp, predicted),
            recall: ratio(tp, support as f64),
            f1: ratio(2.0 * tp, support as f64 + predicted),
            support,
        }
    }

    /// One-vs-rest precision, recall and F1 of class `positive` (sklearn `average=None`,
    /// `zero_division=0`). Errors when `positive ≥ k`.
    pub fn class_scores(&self, positive: usize) -> Result<ClassScores, EvaluationError> {
        if positive >= self.n_classes {
            return Err(EvaluationError::ClassOutOfRange {
                class: positive,
                n_classes: self.n_classes,
            });
        }
        Ok(self.scores_unchecked(positive))
    }

    /// Scores of every class, in class order.
    pub fn per_class(&self) -> Vec<ClassScores> {
        (0..self.n_classes)
            .map(|c| self.scores_unchecked(c))
            .collect()
    }

    /// Precision, recall and F1 averaged over all k classes (`zero_division=0`).
    pub fn averaged(&self, average: Average) -> AveragedScores {
        let per_class = self.per_class();
        match average {
            Average::Macro => {
                let k = self.n_classes as f64;
                AveragedScores {
                    precision: per_class.iter().map(|s| s.precision).sum::<f64>() / k,
                    recall: per_class.iter().map(|s| s.recall).sum::<f64>() / k,
                    f1: per_class.iter().map(|s| s.f1).sum::<f64>() / k,
                }
            }
            Average::Micro => {
                let tp = self.correct() as f64;
                // Summed over all classes, predicted and true counts both equal the total.
                let total = self.total() as f64;
                AveragedScores {
                    precision: ratio(tp, total),
                    recall: ratio(tp, total),
                    f1: ratio(2.0 * tp, 2.0 * total),
                }
            }
            Average::Weighted => {
                let w: f64 = per_class.iter().map(|s| s.support as f64).sum();
                let avg = |f: fn(&ClassScores) -> f64| -> f64 {
                    per_class
                        .iter()
                        .map(|s| f(s) * s.support as f64)
                        .sum::<f64>()
                        / w
                };
                AveragedScores {
                    precision: avg(|s| s.precision),
                    recall: avg(|s| s.recall),
                    f1: avg(|s| s.f1),
                }
            }
        }
    }

    /// F1 under the given averaging (`f1_score(average=…, labels=range(k), zero_division=0)`).
    pub fn f1(&self, average: Average) -> f64 {
        self.averaged(average).f1
    }
}

impl TryFrom<Vec<Vec<u64>>> for ConfusionMatrix {
    type Error = EvaluationError;
    fn try_from(rows: Vec<Vec<u64>>) -> Result<Self, Self::Error> {
        Self::from_rows(rows)
    }
}

impl From<ConfusionMatrix> for Vec<Vec<u64>> {
    fn from(m: ConfusionMatrix) -> Self {
        m.rows()
    }
}

/// The reference implementation's metrics for a two-unit sigmoid output (§4.4 of the
/// reference specification), with the counts they were computed from so that they can be
/// pooled.
///
/// - `accuracy`: Keras categorical accuracy, `argmax(probs) == label` (ties go to column 0,
///   as `tf.argmax` does).
/// - `precision`, `recall`: Keras `Precision()`/`Recall()` with threshold 0.5 over both
///   one-hot columns flattened: a column counts as predicted positive when its probability is
///   strictly greater than 0.5. `tp`, `fp`, `fn` are summed over the 2n (sample, column)
///   cells; a zero denominator gives 0 (Keras `divide_no_nan`).
/// - `f1 = 2PR/(P+R)`, or 0 when `P + R = 0`.
///
/// Keras accumulates in float32; these values are float64, so they agree with numbers in the
/// reference's result files to about 1e-7, and a probability within float32 rounding of 0.5
/// may fall on the other side of the threshold there.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceMetrics {
    /// Number of samples.
    pub n: u64,
    /// Samples whose arg-max column is the true class.
    pub correct: u64,
    /// One-hot cells equal to 1 whose probability is > 0.5.
    pub true_positives: u64,
    /// One-hot cells equal to 0 whose probability is > 0.5.
    pub false_positives: u64,
    /// One-hot cells equal to 1 whose probability is ≤ 0.5.
    pub false_negatives: u64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl ReferenceMetrics {
    fn from_counts(n: u64, correct: u64, tp: u64, fp: u64, fn_: u64) -> Self {
        let precision = ratio(tp as f64, (tp + fp) as f64);
        let recall = ratio(tp as f64, (tp + fn_) as f64);
        let f1 = ratio(2.0 * precision * recall, precision + recall);
        Self {
            n,
            correct,
            true_positives: tp,
            false_positives: fp,
            false_negatives: fn_,
            accuracy: correct as f64 / n as f64,
            precision,
            recall,
            f1,
        }
    }

    /// The metrics of the concatenated samples (what one Keras `evaluate` over all of them
    /// would report). Errors when `parts` is empty.
    pub fn pooled<'a, I>(parts: I) -> Result<Self, EvaluationError>
    where
        I: IntoIterator<Item = &'a ReferenceMetrics>,
    {
        let mut any = false;
        let (mut n, mut c, mut tp, mut fp, mut fn_) = (0, 0, 0, 0, 0);
        for p in parts {
            any = true;
            n += p.n;
            c += p.correct;
            tp += p.true_positives;
            fp += p.false_positives;
            fn_ += p.false_negatives;
        }
        if !any {
            return Err(EvaluationError::Empty {
                what: "list of reference metrics",
            });
        }
        Ok(Self::from_counts(n, c, tp, fp, fn_))
    }
}

fn check_binary_inputs(probs: &[[f64; 2]], true_labels: &[usize]) -> Result<(), EvaluationError> {
    if probs.len() != true_labels.len() {
        return Err(EvaluationError::LengthMismatch {
            left: "probabilities",
            left_len: probs.len(),
            right: "true labels",
            right_len: true_labels.len(),
        });
    }
    if probs.is_empty() {
        return Err(EvaluationError::Empty {
            what: "probabilities",
        });
    }
    for (index, (row, &label)) in probs.iter().zip(true_labels).enumerate() {
        if label >= 2 {
            return Err(EvaluationError::LabelOutOfRange {
                which: "true",
                index,
                label,
                n_classes: 2,
            });
        }
        for &value in row {
            if !value.is_finite() {
                return Err(EvaluationError::NonFinite {
                    what: "probability",
                    index,
                    value,
                });
            }
        }
    }
    Ok(())
}

/// Arg-max of a two-column row; ties go to column 0 (like `tf.argmax` and `np.argmax`).
pub fn argmax2(row: &[f64; 2]) -> usize {
    usize::from(row[1] > row[0])
}

/// The reference implementation's accuracy, micro precision, micro recall and "F1" for
/// two-column sigmoid outputs and binary true labels (see [`ReferenceMetrics`]).
///
/// Errors: different lengths, empty input, a label ≥ 2, or a non-finite probability.
pub fn reference_f1(
    probs: &[[f64; 2]],
    true_labels: &[usize],
) -> Result<ReferenceMetrics, EvaluationError> {
    check_binary_inputs(probs, true_labels)?;
    let (mut correct, mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64, 0u64);
    for (row, &label) in probs.iter().zip(true_labels) {
        if argmax2(row) == label {
            correct += 1;
        }
        for (col, &p) in row.iter().enumerate() {
            let positive = p > 0.5;
            match (col == label, positive) {
                (true, true) => tp += 1,
                (true, false) => fn_ += 1,
                (false, true) => fp += 1,
                (false, false) => {}
            }
        }
    }
    Ok(ReferenceMetrics::from_counts(
        probs.len() as u64,
        correct,
        tp,
        fp,
        fn_,
    ))
}

/// Everything one fold (one test subject) reports.
///
/// `positive_*` are the one-vs-rest scores of `positive_class` (the stress class,
/// [`STRESS_CLASS`], in the binary WESAD setting); `macro_f1` and `micro_f1` average over all
/// k classes with `zero_division=0`; `reference` holds the reference implementation's metrics
/// when class probabilities were available (serialised as `null` otherwise).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricSet {
    pub n: u64,
    pub n_classes: usize,
    pub positive_class: usize,
    pub confusion: ConfusionMatrix,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    pub positive_precision: f64,
    pub positive_recall: f64,
    pub positive_f1: f64,
    pub macro_f1: f64,
    pub micro_f1: f64,
    #[serde(default)]
    pub reference: Option<ReferenceMetrics>,
}

impl MetricSet {
    /// Metrics of a confusion matrix, with no reference metrics. Errors when
    /// `positive_class ≥ k`.
    pub fn from_confusion(
        confusion: ConfusionMatrix,
        positive_class: usize,
    ) -> Result<Self, EvaluationError> {
        let positive = confusion.class_scores(positive_class)?;
        Ok(Self {
            n: confusion.total(),
            n_classes: confusion.n_classes(),
            positive_class,
            accuracy: confusion.accuracy(),
            balanced_accuracy: confusion.balanced_accuracy(),
            positive_precision: positive.precision,
            positive_recall: positive.recall,
            positive_f1: positive.f1,
            macro_f1: confusion.f1(Average::Macro),
            micro_f1: confusion.f1(Average::Micro),
            confusion,
            reference: None,
        })
    }

    /// Metrics of predicted labels against true labels for `n_classes` classes.
    pub fn from_labels(
        true_labels: &[usize],
        predicted: &[usize],
        n_classes: usize,
        positive_class: usize,
    ) -> Result<Self, EvaluationError> {
        let confusion = ConfusionMatrix::from_labels(true_labels, predicted, n_classes)?;
        Self::from_confusion(confusion, positive_class)
    }

    /// Metrics of a binary classifier's two-column outputs: labels are predicted by arg-max
    /// (ties to class 0, as the reference's categorical accuracy does) and the reference
    /// metrics are included. The positive class is [`STRESS_CLASS`].
    pub fn from_binary_probabilities(
        probs: &[[f64; 2]],
        true_labels: &[usize],
    ) -> Result<Self, EvaluationError> {
        let reference = reference_f1(probs, true_labels)?;
        let predicted: Vec<usize> = probs.iter().map(argmax2).collect();
        let mut set = Self::from_labels(true_labels, &predicted, 2, STRESS_CLASS)?;
        set.reference = Some(reference);
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_input_without_panicking() {
        assert!(matches!(
            ConfusionMatrix::from_labels(&[0, 1], &[0], 2),
            Err(EvaluationError::LengthMismatch { .. })
        ));
        assert!(matches!(
            ConfusionMatrix::from_labels(&[], &[], 2),
            Err(EvaluationError::Empty { .. })
        ));
        assert!(matches!(
            ConfusionMatrix::from_labels(&[0], &[0], 0),
            Err(EvaluationError::InvalidClassCount { .. })
        ));
        let err = ConfusionMatrix::from_labels(&[0, 1, 2], &[0, 1, 1], 2).unwrap_err();
        assert_eq!(
            err,
            EvaluationError::LabelOutOfRange {
                which: "true",
                index: 2,
                label: 2,
                n_classes: 2
            }
        );
        assert!(err.to_string().contains("index 2"));
        let err = ConfusionMatrix::from_labels(&[0, 1], &[0, 5], 2).unwrap_err();
        assert!(matches!(
            err,
            EvaluationError::LabelOutOfRange {
                which: "predicted",
                label: 5,
                ..
            }
        ));
        let m = ConfusionMatrix::from_labels(&[0, 1], &[0, 1], 2).unwrap();
        assert!(matches!(
            m.class_scores(2),
            Err(EvaluationError::ClassOutOfRange { .. })
        ));
        assert!(reference_f1(&[[0.2, f64::NAN]], &[0]).is_err());
        assert!(reference_f1(&[[0.2, 0.8]], &[2]).is_err());
        assert!(reference_f1(&[], &[]).is_err());
        assert!(reference_f1(&[[0.2, 0.8]], &[0, 1]).is_err());
    }

    #[test]
    fn constant_non_stress_reference_f1_is_accuracy() {
        // 7 non-stress, 3 stress, always "non-stress".
        let labels = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1];
        let probs = vec![[0.9, 0.1]; labels.len()];
        let r = reference_f1(&probs, &labels).unwrap();
        assert_eq!(r.accuracy, 0.7);
        assert!((r.f1 - 0.7).abs() < 1e-15);
        let set = MetricSet::from_binary_probabilities(&probs, &labels).unwrap();
        assert_eq!(set.positive_f1, 0.0);
        assert_eq!(set.positive_precision, 0.0);
        assert_eq!(set.balanced_accuracy, 0.5);
    }

    #[test]
    fn confusion_matrix_serialises_as_rows_and_validates() {
        let m = ConfusionMatrix::from_labels(&[0, 1, 1, 2], &[0, 2, 1, 2], 3).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "[[1,0,0],[0,1,1],[0,0,1]]");
        let back: ConfusionMatrix = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert!(serde_json::from_str::<ConfusionMatrix>("[[1,0],[0]]").is_err());
        assert!(serde_json::from_str::<ConfusionMatrix>("[[0,0],[0,0]]").is_err());
        assert!(serde_json::from_str::<ConfusionMatrix>("[]").is_err());
        let sum = ConfusionMatrix::sum([&m, &m]).unwrap();
        assert_eq!(sum.get(1, 2), Some(2));
        assert_eq!(sum.get(3, 0), None);
        let other = ConfusionMatrix::from_labels(&[0], &[0], 2).unwrap();
        assert!(ConfusionMatrix::sum([&m, &other]).is_err());
    }

    #[test]
    fn metric_set_round_trips_through_json() {
        let set =
            MetricSet::from_binary_probabilities(&[[0.7, 0.6], [0.2, 0.9], [0.5, 0.5]], &[0, 1, 1])
                .unwrap();
        let json = serde_json::to_string(&set).unwrap();
        let back: MetricSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
        let plain = MetricSet::from_labels(&[0, 1], &[1, 1], 2, STRESS_CLASS).unwrap();
        let json = serde_json::to_value(&plain).unwrap();
        assert!(json["reference"].is_null());
    }
}
