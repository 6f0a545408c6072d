//! Privacy: accounting (pure f64 maths, always built). A tch-based `dpsgd` module (per-sample
//! clipping, Gaussian noise, Poisson sampling) will be added behind the `torch` feature.
//!
//! May depend on: f64 maths, statrs, rustfft, serde, thiserror. Must never use tch or IO here.
pub mod accounting;
