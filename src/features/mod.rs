//! Classifier features: windows over the 1 Hz data and the reference's subwindow-FFT transform.
//!
//! May depend on: data (its types), rustfft, rayon, hdf5, ndarray. Must never use tch.
