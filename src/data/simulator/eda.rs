//! Electrodermal activity (skin conductance, µS) at the wrist.
//!
//! EDA = tonic level × slow drift + phasic skin-conductance responses + noise:
//! - tonic level: the subject's baseline conductance (log-normal, median 2 µS) times a phase
//!   factor (stress: 1.4–3.5 × baseline, scaled by the subject's reactivity; amusement 1.15;
//!   meditation 0.9), reached through a first-order lag (τ = 45 s rising, 150 s falling:
//!   conductance recovers slowly), times a decaying "settling" excess at the start of the
//!   session and a log-AR(1) drift (τ = 5 min, 6 %);
//! - phasic SCRs: Poisson onsets, about 1.5 per minute at baseline (subject-specific), 2–6
//!   times more often in stress and 1.8 times in amusement; each a Bateman-shaped response
//!   (fast rise, τ_rise = 0.75 s; slow exponential recovery, τ_decay ≈ 2–8 s per subject)
//!   with a log-normal amplitude proportional to the tonic baseline, larger in stress;
//! - small white noise; the result is kept above 0.01 µS.
//!
//! May depend on: rand (through `super::rng`).

use rand::Rng;

use super::dynamics::{ar1, lag};
use super::protocol::Phase;
use super::rng::{event_in_second, lognormal, normal_in, std_normal};

/// SCR rise time constant (s).
const TAU_RISE: f64 = 0.75;

/// Simulates one subject's EDA. `reactivity` scales the stress response.
pub(super) fn simulate<R: Rng + ?Sized>(
    rng: &mut R,
    phases: &[Phase],
    reactivity: f64,
) -> Vec<f64> {
    let n = phases.len();
    let scl0 = lognormal(rng, 2.0, 0.6).clamp(0.2, 15.0);
    let stress_factor = (1.0 + normal_in(rng, 1.0, 0.35, 0.45, 2.2) * reactivity).clamp(1.4, 3.5);
    let settle = normal_in(rng, 0.25, 0.15, 0.0, 0.6);
    let scr_per_min = normal_in(rng, 1.5, 0.6, 0.3, 3.5);
    let scr_stress = normal_in(rng, 3.5, 0.8, 2.0, 6.0);
    let scr_amp = normal_in(rng, 0.06, 0.02, 0.02, 0.12) * scl0;
    let tau_decay = normal_in(rng, 4.0, 1.0, 2.0, 8.0);

    let (tonic_factor, scr_factor, amp_factor): (Vec<f64>, Vec<f64>, Vec<f64>) = {
        let mut t = Vec::with_capacity(n);
        let mut s = Vec::with_capacity(n);
        let mut a = Vec::with_capacity(n);
        for &p in phases {
            let (tf, sf, af) = match p {
                Phase::Rest => (1.05, 1.5, 1.0),
                Phase::Baseline => (1.0, 1.0, 1.0),
                Phase::Amusement => (1.15, 1.8, 1.1),
                Phase::Stress => (stress_factor, scr_stress, 1.5),
                Phase::Meditation => (0.9, 0.6, 0.9),
            };
            t.push(tf);
            s.push(sf);
            a.push(af);
        }
        (t, s, a)
    };
    let drift = ar1(rng, n, 300.0, 0.06);
    let mut eda: Vec<f64> = lag(&tonic_factor, 45.0, 150.0)
        .iter()
        .zip(&drift)
        .enumerate()
        .map(|(t, (f, d))| scl0 * f * (1.0 + settle * (-(t as f64) / 300.0).exp()) * d.exp())
        .collect();

    // Phasic responses, Bateman-shaped and normalised to a peak of 1.
    let t_peak = TAU_RISE * tau_decay / (tau_decay - TAU_RISE) * (tau_decay / TAU_RISE).ln();
    let peak = (-t_peak / tau_decay).exp() - (-t_peak / TAU_RISE).exp();
    let span = (8.0 * tau_decay).ceil() as usize;
    for t in 0..n {
        let Some(offset) = event_in_second(rng, scr_per_min / 60.0 * scr_factor[t]) else {
            continue;
        };
        let onset = t as f64 + offset;
        let a = scr_amp * amp_factor[t] * lognormal(rng, 1.0, 0.5);
        for (k, v) in eda
            .iter_mut()
            .enumerate()
            .take((t + 1 + span).min(n))
            .skip(t + 1)
        {
            let tau = k as f64 - onset;
            *v += a * ((-tau / tau_decay).exp() - (-tau / TAU_RISE).exp()) / peak;
        }
    }
    for v in &mut eda {
        *v = (*v + 0.003 * std_normal(rng)).max(0.01);
    }
    eda
}
