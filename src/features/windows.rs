//! 60-second windows over a subject's 1 Hz rows, as the reference cuts them.
//!
//! * [`WindowScheme::Reference`]: the classifier's windows — `create_windows` starts
//!   `range(0, n - 60, 60)` (the stop excludes `n - 60`, so a final complete window is lost when
//!   `n` is a multiple of 60) and `create_training_data_per_subject` then drops the last window of
//!   every subject. 530 windows (150 stress) on the reference data.
//! * [`WindowScheme::NonOverlapping`]: every complete non-overlapping window, `range(0, n-60+1, 60)`.
//! * [`WindowScheme::Sliding`]: 60 s windows every 30 s, `range(0, n-60+1, 30)` (1,083 windows on
//!   the reference data, the GAN training windows).
//!
//! A window's label is the most common per-second label; ties go to the smaller label, as the
//! reference's `max(set(lst), key=lst.count)` does for small integers (set iteration order).
//!
//! May depend on: the data types.

use serde::{Deserialize, Serialize};

use crate::data::Dataset;

/// Window length in 1 Hz samples.
pub const WINDOW_LEN: usize = 60;

/// How windows are cut from each subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowScheme {
    Reference,
    NonOverlapping,
    Sliding,
}

impl WindowScheme {
    /// Stable name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowScheme::Reference => "reference",
            WindowScheme::NonOverlapping => "non-overlapping",
            WindowScheme::Sliding => "sliding",
        }
    }

    /// Parses [`WindowScheme::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reference" => Some(WindowScheme::Reference),
            "non-overlapping" => Some(WindowScheme::NonOverlapping),
            "sliding" => Some(WindowScheme::Sliding),
            _ => None,
        }
    }

    /// Start rows of the windows of a subject with `n` rows.
    pub fn starts(self, n: usize) -> Vec<usize> {
        match self {
            WindowScheme::Reference => {
                let mut s: Vec<usize> = (0..n.saturating_sub(WINDOW_LEN))
                    .step_by(WINDOW_LEN)
                    .collect();
                s.pop();
                s
            }
            WindowScheme::NonOverlapping => full_windows(n, WINDOW_LEN),
            WindowScheme::Sliding => full_windows(n, WINDOW_LEN / 2),
        }
    }
}

fn full_windows(n: usize, step: usize) -> Vec<usize> {
    if n < WINDOW_LEN {
        return Vec::new();
    }
    (0..=n - WINDOW_LEN).step_by(step).collect()
}

/// One window: which subject, where it starts, its label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Index into `Dataset::subjects`.
    pub subject_index: usize,
    pub subject_id: u32,
    pub start: usize,
    pub label: u8,
}

/// The most common label; ties go to the smaller label (see the module docs).
pub fn majority_label(labels: &[u8]) -> u8 {
    let mut counts = [0usize; 256];
    for &l in labels {
        counts[l as usize] += 1;
    }
    let mut best = 0u8;
    for l in 0..256usize {
        if counts[l] > counts[best as usize] {
            best = l as u8;
        }
    }
    best
}

/// All windows of a dataset, subject by subject in dataset order.
pub fn windows(ds: &Dataset, scheme: WindowScheme) -> Vec<Window> {
    ds.subjects
        .iter()
        .enumerate()
        .flat_map(|(subject_index, s)| {
            scheme.starts(s.len()).into_iter().map(move |start| Window {
                subject_index,
                subject_id: s.id,
                start,
                label: majority_label(&s.labels[start..start + WINDOW_LEN]),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_counts_match_spec_examples() {
        // S2 has 2121 rows: 35 windows from range(0, 2061, 60), minus the last = 34.
        assert_eq!(WindowScheme::Reference.starts(2121).len(), 34);
        // n a multiple of 60: range(0, 60, 60) = [0] loses the complete window at 60.
        assert_eq!(WindowScheme::Reference.starts(120), Vec::<usize>::new());
        assert_eq!(WindowScheme::NonOverlapping.starts(120), vec![0, 60]);
        assert_eq!(WindowScheme::Sliding.starts(2121).len(), 69);
        assert!(WindowScheme::Sliding.starts(59).is_empty());
    }

    #[test]
    fn ties_go_to_the_smaller_label() {
        let mut l = vec![1u8; 30];
        l.extend(vec![0u8; 30]);
        assert_eq!(majority_label(&l), 0);
        l[0] = 0;
        assert_eq!(majority_label(&l), 0);
        let mut m = vec![2u8; 31];
        m.extend(vec![1u8; 29]);
        assert_eq!(majority_label(&m), 2);
    }
}
