//! Privacy: accounting (pure f64 maths, always built) and, behind the `torch` feature, the
//! tch-based `dpsgd` module (per-sample clipping, Gaussian noise, Poisson sampling).
//!
//! `accounting` may depend on: f64 maths, statrs, rustfft, serde, thiserror; never tch or IO.
//! `dpsgd` may additionally use tch, rand and `crate::models::layers` (see its docs).
pub mod accounting;
#[cfg(feature = "torch")]
pub mod dpsgd;
