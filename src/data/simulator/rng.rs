//! Deterministic random streams for the simulator and the few distributions it draws from.
//!
//! Every (master seed, subject index, purpose) triple gets its own ChaCha8 stream whose 256-bit
//! seed is the sha256 of a tagged, fixed-layout encoding of the triple. Streams are therefore
//! stable across runs, platforms and crate versions of `rand`'s seeding helpers, and changing
//! how one channel is modelled never shifts the random numbers another channel sees.
//!
//! May depend on: rand, rand_chacha, rand_distr, sha2.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Exp1, StandardNormal};
use sha2::{Digest, Sha256};

/// What a stream is used for; part of the stream's seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
    /// Subject-wide traits shared by several channels (reactivity, fidgetiness).
    Subject,
    /// Protocol order and phase durations.
    Protocol,
    /// Wrist posture, movements and the accelerometer.
    Motion,
    /// Heart rate, respiration and the 1 Hz BVP.
    Cardio,
    /// Skin conductance.
    Eda,
    /// Skin temperature.
    Temp,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Subject => "subject",
            Purpose::Protocol => "protocol",
            Purpose::Motion => "motion",
            Purpose::Cardio => "cardio",
            Purpose::Eda => "eda",
            Purpose::Temp => "temp",
        }
    }
}

/// The stream for one (seed, subject index, purpose): ChaCha8 seeded with
/// `sha256("dpwear/simulator/rng/v1\0" ‖ seed as u64 LE ‖ subject index as u64 LE ‖ purpose tag)`.
pub(super) fn stream(seed: u64, subject_index: usize, purpose: Purpose) -> ChaCha8Rng {
    let mut h = Sha256::new();
    h.update(b"dpwear/simulator/rng/v1\0");
    h.update(seed.to_le_bytes());
    h.update((subject_index as u64).to_le_bytes());
    h.update(purpose.tag().as_bytes());
    ChaCha8Rng::from_seed(h.finalize().into())
}

/// A standard normal draw.
pub(super) fn std_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.sample(StandardNormal)
}

/// `N(mean, sd²)` clamped to `[lo, hi]` (subject traits must stay physiologically possible).
pub(super) fn normal_in<R: Rng + ?Sized>(rng: &mut R, mean: f64, sd: f64, lo: f64, hi: f64) -> f64 {
    (mean + sd * std_normal(rng)).clamp(lo, hi)
}

/// Log-normal with the given median and log-scale standard deviation.
pub(super) fn lognormal<R: Rng + ?Sized>(rng: &mut R, median: f64, sigma: f64) -> f64 {
    median * (sigma * std_normal(rng)).exp()
}

/// Exponential with the given mean.
pub(super) fn exponential<R: Rng + ?Sized>(rng: &mut R, mean: f64) -> f64 {
    let e: f64 = rng.sample(Exp1);
    e * mean
}

/// Whether a Poisson process with `rate_per_s` fires during one second, and if so the onset
/// offset within that second (at most one event per second is kept; rates here are far below
/// one per second).
pub(super) fn event_in_second<R: Rng + ?Sized>(rng: &mut R, rate_per_s: f64) -> Option<f64> {
    let p = 1.0 - (-rate_per_s.max(0.0)).exp();
    if rng.random::<f64>() < p {
        Some(rng.random::<f64>())
    } else {
        None
    }
}

/// Uniform draw in `[0, 1)`.
pub(super) fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.random::<f64>()
}
