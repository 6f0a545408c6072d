//! Wrist skin temperature (°C).
//!
//! TEMP = subject level (≈ 33 °C) − sensor warm-up at the start of the session (decays with
//! τ = 5 min) + phase offset through a first-order lag + slow AR(1) drift (τ = 15 min,
//! 0.12 °C) + white noise. Stress causes peripheral vasoconstriction: the skin cools by
//! 0.25–1.5 °C (subject-specific, scaled by reactivity; τ = 2 min cooling, 5 min rewarming);
//! amusement cools slightly (15 % of the stress drop), meditation warms by 0.15 °C.
//!
//! May depend on: rand (through `super::rng`).

use rand::Rng;

use super::dynamics::{ar1, lag};
use super::protocol::Phase;
use super::rng::{normal_in, std_normal};

/// Simulates one subject's skin temperature. `reactivity` scales the stress response.
pub(super) fn simulate<R: Rng + ?Sized>(
    rng: &mut R,
    phases: &[Phase],
    reactivity: f64,
) -> Vec<f64> {
    let n = phases.len();
    let temp0 = normal_in(rng, 33.0, 0.8, 30.5, 35.5);
    let warmup = normal_in(rng, 0.4, 0.3, 0.0, 1.2);
    let drop = (normal_in(rng, 0.7, 0.25, 0.25, 1.5) * reactivity).clamp(0.25, 1.5);
    let target: Vec<f64> = phases
        .iter()
        .map(|p| match p {
            Phase::Rest | Phase::Baseline => 0.0,
            Phase::Amusement => -0.15 * drop,
            Phase::Stress => -drop,
            Phase::Meditation => 0.15,
        })
        .collect();
    let drift = ar1(rng, n, 900.0, 0.12);
    lag(&target, 300.0, 120.0)
        .iter()
        .zip(&drift)
        .enumerate()
        .map(|(t, (off, d))| {
            temp0 - warmup * (-(t as f64) / 300.0).exp() + off + d + 0.01 * std_normal(rng)
        })
        .collect()
}
