//! Classifier features: windows over the 1 Hz data and the reference's subwindow-FFT transform,
//! and the files they are written to.
//!
//! May depend on: data (its types and HDF5 helpers), rustfft, rayon, hdf5, ndarray, ndarray-npy.
//! Must never use tch.
pub mod store;
pub mod subwindow_fft;
pub mod synthetic;
pub mod tabular;
pub mod windows;

pub use store::{read_features, write_features, FeatureSet};
pub use subwindow_fft::{FeatureMode, FEATURES_PER_WINDOW, FEATURE_LEN};
pub use windows::{windows, WindowScheme, WINDOW_LEN};

use crate::data::Dataset;

/// Cuts `ds` into windows with `scheme` and computes their features with `mode`.
pub fn build(ds: &Dataset, scheme: WindowScheme, mode: FeatureMode) -> FeatureSet {
    let wins = windows(ds, scheme);
    let x = subwindow_fft::compute(ds, &wins, mode);
    FeatureSet {
        x,
        y: wins.iter().map(|w| w.label).collect(),
        subject: wins.iter().map(|w| w.subject_id).collect(),
        start: wins.iter().map(|w| w.start as u32).collect(),
        subject_ids: ds.subjects.iter().map(|s| s.id).collect(),
        mode,
        scheme,
        label_map: ds.label_map,
        source_kind: ds.source.kind,
        source_path: ds.source.path.clone(),
        source_sha256: ds.source.sha256.clone(),
    }
}
