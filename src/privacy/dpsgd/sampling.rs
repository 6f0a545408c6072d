//! Batch sampling for DP-SGD: Poisson sampling (what the amplification analysis assumes) and,
//! only as an explicit alternative, shuffled fixed-size batches, which the stated ε does NOT
//! cover (`Sampling::Shuffle`). Privacy units: windows (default) or subjects.
//!
//! May depend on: rand, rand_chacha, `crate::privacy::accounting` (the `Sampling` and
//! `PrivacyUnit` labels). No tch, no IO.

use crate::privacy::accounting::{PrivacyUnit, Sampling};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha20Rng;

/// Poisson sampling: each of `n` units independently with probability `q`. The returned
/// indices are increasing; the batch may be empty.
pub fn poisson_sample(n: usize, q: f64, rng: &mut ChaCha20Rng) -> Vec<usize> {
    assert!((0.0..=1.0).contains(&q), "sampling rate must be in [0, 1]");
    (0..n).filter(|_| rng.random::<f64>() < q).collect()
}

/// One epoch of shuffled fixed-size batches (the last one may be short).
/// NOT covered by the Poisson amplification analysis: statements must say
/// `Sampling::Shuffle` ("shuffle (not covered by the amplification analysis)").
pub fn shuffle_batches(n: usize, batch_size: usize, rng: &mut ChaCha20Rng) -> Vec<Vec<usize>> {
    assert!(batch_size > 0, "batch size must be positive");
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(rng);
    idx.chunks(batch_size).map(|c| c.to_vec()).collect()
}

/// How batches of privacy units are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplingPlan {
    /// Poisson (default) or shuffle (explicit, not covered by amplification).
    pub sampling: Sampling,
    /// Window (default) or subject.
    pub unit: PrivacyUnit,
    /// Sampling rate q (Poisson) or batch size / number of units (shuffle).
    pub q: f64,
}

impl SamplingPlan {
    /// Poisson sampling of windows with rate q.
    pub fn poisson_windows(q: f64) -> Self {
        Self {
            sampling: Sampling::Poisson,
            unit: PrivacyUnit::Window,
            q,
        }
    }

    /// Expected batch size q·N in units (the DP-SGD divisor).
    pub fn expected_batch_size(&self, n_units: usize) -> f64 {
        self.q * n_units as f64
    }

    /// One Poisson batch of unit indices (panics for `Sampling::Shuffle`, which draws whole
    /// epochs with [`shuffle_batches`]).
    pub fn draw(&self, n_units: usize, rng: &mut ChaCha20Rng) -> Vec<usize> {
        assert_eq!(
            self.sampling,
            Sampling::Poisson,
            "shuffle batches are drawn per epoch with shuffle_batches"
        );
        poisson_sample(n_units, self.q, rng)
    }
}

/// Windows grouped by subject, for subject-level privacy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectIndex {
    /// windows_of[s] = indices of the windows of subject s (in dataset order).
    pub windows_of: Vec<Vec<usize>>,
}

impl SubjectIndex {
    /// From each window's subject label; subjects are numbered in order of first appearance.
    pub fn from_labels<T: PartialEq + Clone>(labels: &[T]) -> Self {
        let mut keys: Vec<T> = Vec::new();
        let mut windows_of: Vec<Vec<usize>> = Vec::new();
        for (w, l) in labels.iter().enumerate() {
            match keys.iter().position(|k| k == l) {
                Some(s) => windows_of[s].push(w),
                None => {
                    keys.push(l.clone());
                    windows_of.push(vec![w]);
                }
            }
        }
        Self { windows_of }
    }

    pub fn n_subjects(&self) -> usize {
        self.windows_of.len()
    }

    /// For sampled subjects, the windows to forward and each window's group (the position of
    /// its subject in `subjects`), to pass to `PerExampleGrads::sum_by_group`.
    pub fn expand(&self, subjects: &[usize]) -> (Vec<usize>, Vec<i64>) {
        let mut windows = Vec::new();
        let mut group = Vec::new();
        for (g, &s) in subjects.iter().enumerate() {
            for &w in &self.windows_of[s] {
                windows.push(w);
                group.push(g as i64);
            }
        }
        (windows, group)
    }
}
