//! The evaluation protocols as pure plans over window indices:
//! - LOSO (spec §5.1): one fold per real subject, in the dataset's subject order; train on the
//!   other subjects' windows (plus, optionally, every synthetic window), test on the held-out
//!   subject. At least 2 subjects are required.
//! - TSTR (spec §5.2): train once on synthetic windows only, test on each real subject.
//!
//! Execution (training the classifiers) lives in `training`; this file only decides which
//! windows go where, so that fold membership can be tested without libtorch.

use serde::{Deserialize, Serialize};

use super::EvaluationError;

/// Which protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// Leave one subject out, real (+ synthetic) training data.
    Loso,
    /// Train on synthetic, test on each real subject.
    Tstr,
}

/// One test subject's split. Indices refer to the real feature set; `use_synthetic` says
/// whether the synthetic windows are added to the training set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fold {
    pub index: usize,
    pub test_subject: u32,
    pub train_real: Vec<usize>,
    pub test: Vec<usize>,
    pub use_synthetic: bool,
}

/// LOSO folds over `subject_ids` (fold order) given each window's subject.
pub fn loso_folds(
    subject_ids: &[u32],
    window_subject: &[u32],
    use_synthetic: bool,
) -> Result<Vec<Fold>, EvaluationError> {
    if subject_ids.len() < 2 {
        return Err(EvaluationError::InvalidClassCount {
            n_classes: subject_ids.len(),
            reason: "LOSO needs at least 2 subjects",
        });
    }
    Ok(subject_ids
        .iter()
        .enumerate()
        .map(|(index, &s)| Fold {
            index,
            test_subject: s,
            train_real: (0..window_subject.len())
                .filter(|&i| window_subject[i] != s)
                .collect(),
            test: (0..window_subject.len())
                .filter(|&i| window_subject[i] == s)
                .collect(),
            use_synthetic,
        })
        .collect())
}

/// TSTR "folds": one test split per real subject, no real training windows. The model is
/// trained once (fold index 0's training set is the synthetic data) and scored on each.
pub fn tstr_splits(subject_ids: &[u32], window_subject: &[u32]) -> Vec<Fold> {
    subject_ids
        .iter()
        .enumerate()
        .map(|(index, &s)| Fold {
            index,
            test_subject: s,
            train_real: Vec::new(),
            test: (0..window_subject.len())
                .filter(|&i| window_subject[i] == s)
                .collect(),
            use_synthetic: true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loso_never_puts_a_subject_in_train_and_test() {
        let ids = [2, 3, 5];
        let win = [2, 2, 3, 5, 5, 5, 3];
        let folds = loso_folds(&ids, &win, false).unwrap();
        assert_eq!(folds.len(), 3);
        for f in &folds {
            assert!(f.test.iter().all(|&i| win[i] == f.test_subject));
            assert!(f.train_real.iter().all(|&i| win[i] != f.test_subject));
            assert_eq!(f.test.len() + f.train_real.len(), win.len());
        }
        assert_eq!(folds[1].test, vec![2, 6]);
        assert!(loso_folds(&[2], &[2, 2], false).is_err());
    }

    #[test]
    fn tstr_tests_every_real_window_once() {
        let ids = [2, 3];
        let win = [2, 3, 3];
        let s = tstr_splits(&ids, &win);
        let mut all: Vec<usize> = s.iter().flat_map(|f| f.test.clone()).collect();
        all.sort();
        assert_eq!(all, vec![0, 1, 2]);
        assert!(s.iter().all(|f| f.train_real.is_empty() && f.use_synthetic));
    }
}
