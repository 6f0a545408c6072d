//! The reference's subwindow-FFT feature transform (spec §2.1): for each 60 s window and each
//! channel, slide a subwindow of `L` samples by one sample (`s = 0 ..= 60 − L`), take the
//! magnitudes `|FFT(x[s..s+L])[0 .. L/2]|` (no detrending, scaling or window function; the DC bin
//! is kept), sort them in descending order, zero-pad to 210 and average over the subwindows.
//! Each window becomes a (6, 210) matrix; only the first `L/2` entries of a row are non-zero.
//!
//! [`FeatureMode::Reference`] keeps the reference's name/column mismatch (its subwindow lengths
//! dict is iterated in key order but indexed by column): BVP, EDA, ACC_x use 7 s, ACC_y and ACC_z
//! 30 s, TEMP 35 s. [`FeatureMode::Corrected`] assigns lengths by signal name as the reference
//! intended: ACC_x/y/z 7 s, BVP and EDA 30 s, TEMP 35 s.
//!
//! May depend on: rustfft, rayon, the data types.

use std::sync::Arc;

use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};

use super::windows::{Window, WINDOW_LEN};
use crate::data::{Dataset, N_CHANNELS};

/// Length of a feature row (a leftover of the reference's 64 Hz design).
pub const FEATURE_LEN: usize = 210;
/// Values per window: 6 channels × 210.
pub const FEATURES_PER_WINDOW: usize = N_CHANNELS * FEATURE_LEN;

/// Which subwindow lengths the channels get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeatureMode {
    /// Bit-compatible with the reference, including its length/column mismatch.
    Reference,
    /// Lengths assigned by signal name.
    Corrected,
}

impl FeatureMode {
    /// Subwindow length in samples (1 Hz) per channel, in `CHANNELS` order.
    pub fn subwindow_lengths(self) -> [usize; N_CHANNELS] {
        match self {
            // BVP, EDA, ACC_x, ACC_y, ACC_z, TEMP
            FeatureMode::Reference => [7, 7, 7, 30, 30, 35],
            FeatureMode::Corrected => [30, 30, 7, 7, 7, 35],
        }
    }

    /// Stable name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureMode::Reference => "reference",
            FeatureMode::Corrected => "corrected",
        }
    }

    /// Parses [`FeatureMode::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reference" => Some(FeatureMode::Reference),
            "corrected" => Some(FeatureMode::Corrected),
            _ => None,
        }
    }
}

/// Reusable FFT plans and buffers for one thread.
pub struct SubwindowFft {
    lengths: [usize; N_CHANNELS],
    plans: [Arc<dyn Fft<f64>>; N_CHANNELS],
    buf: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    mags: Vec<f64>,
}

impl SubwindowFft {
    /// Plans the FFTs for a feature mode.
    pub fn new(mode: FeatureMode) -> Self {
        let lengths = mode.subwindow_lengths();
        let mut planner = FftPlanner::new();
        let plans = std::array::from_fn(|c| planner.plan_fft_forward(lengths[c]));
        let scratch_len = plans
            .iter()
            .map(|p| p.get_inplace_scratch_len())
            .max()
            .unwrap_or(0);
        Self {
            lengths,
            plans,
            buf: Vec::new(),
            scratch: vec![Complex::default(); scratch_len],
            mags: Vec::new(),
        }
    }

    /// Features of one 60-sample window; `channels[c]` must hold exactly 60 samples.
    /// Writes `FEATURES_PER_WINDOW` values (row-major (6, 210)) into `out`.
    pub fn window_features(&mut self, channels: [&[f64]; N_CHANNELS], out: &mut [f64]) {
        assert_eq!(out.len(), FEATURES_PER_WINDOW);
        out.iter_mut().for_each(|v| *v = 0.0);
        for (c, x) in channels.iter().enumerate() {
            assert_eq!(x.len(), WINDOW_LEN, "window channel must have 60 samples");
            let l = self.lengths[c];
            let half = l / 2;
            let n_sub = WINDOW_LEN - l + 1;
            let row = &mut out[c * FEATURE_LEN..(c + 1) * FEATURE_LEN];
            for s in 0..n_sub {
                self.buf.clear();
                self.buf
                    .extend(x[s..s + l].iter().map(|&v| Complex::new(v, 0.0)));
                self.plans[c].process_with_scratch(&mut self.buf, &mut self.scratch);
                self.mags.clear();
                self.mags.extend(self.buf[..half].iter().map(|z| z.norm()));
                self.mags.sort_by(|a, b| b.total_cmp(a));
                for (acc, m) in row.iter_mut().zip(&self.mags) {
                    *acc += m;
                }
            }
            for v in row[..half.min(FEATURE_LEN)].iter_mut() {
                *v /= n_sub as f64;
            }
        }
    }
}

/// Computes the features of `windows` in parallel (rayon), row-major (N, 6, 210).
pub fn compute(ds: &Dataset, windows: &[Window], mode: FeatureMode) -> Vec<f64> {
    let mut out = vec![0f64; windows.len() * FEATURES_PER_WINDOW];
    out.par_chunks_mut(FEATURES_PER_WINDOW)
        .zip(windows.par_iter())
        .for_each_init(
            || SubwindowFft::new(mode),
            |fft, (chunk, w)| {
                let s = &ds.subjects[w.subject_index];
                let channels: [&[f64]; N_CHANNELS] =
                    std::array::from_fn(|c| &s.channels[c][w.start..w.start + WINDOW_LEN]);
                fft.window_features(channels, chunk);
            },
        );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct DFT, for cross-checking rustfft and the sort/average logic.
    fn naive(x: &[f64], l: usize) -> Vec<f64> {
        let n_sub = x.len() - l + 1;
        let mut acc = vec![0.0; l / 2];
        for s in 0..n_sub {
            let mut mags: Vec<f64> = (0..l / 2)
                .map(|k| {
                    let (mut re, mut im) = (0.0, 0.0);
                    for (t, v) in x[s..s + l].iter().enumerate() {
                        let ang = -2.0 * std::f64::consts::PI * (k * t) as f64 / l as f64;
                        re += v * ang.cos();
                        im += v * ang.sin();
                    }
                    (re * re + im * im).sqrt()
                })
                .collect();
            mags.sort_by(|a, b| b.partial_cmp(a).unwrap());
            for (a, m) in acc.iter_mut().zip(mags) {
                *a += m;
            }
        }
        acc.iter().map(|a| a / n_sub as f64).collect()
    }

    #[test]
    fn matches_a_direct_dft_and_pads_with_zeros() {
        let x: Vec<f64> = (0..60)
            .map(|i| ((i * 37 % 11) as f64 / 11.0).sin().abs())
            .collect();
        let channels = [&x[..]; N_CHANNELS];
        for mode in [FeatureMode::Reference, FeatureMode::Corrected] {
            let mut out = vec![0.0; FEATURES_PER_WINDOW];
            SubwindowFft::new(mode).window_features(channels, &mut out);
            for (c, &l) in mode.subwindow_lengths().iter().enumerate() {
                let row = &out[c * FEATURE_LEN..(c + 1) * FEATURE_LEN];
                let want = naive(&x, l);
                for (g, w) in row.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-12, "{g} vs {w}");
                }
                assert!(row[l / 2..].iter().all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn dc_bin_of_a_constant_is_length_times_value() {
        let x = vec![0.5; 60];
        let mut out = vec![0.0; FEATURES_PER_WINDOW];
        SubwindowFft::new(FeatureMode::Reference).window_features([&x[..]; N_CHANNELS], &mut out);
        assert!((out[0] - 3.5).abs() < 1e-12); // L = 7
        assert!(out[1].abs() < 1e-12);
        assert!((out[5 * FEATURE_LEN] - 17.5).abs() < 1e-12); // TEMP, L = 35
    }
}
