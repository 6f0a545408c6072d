//! Heart rate, respiration and what the E4's BVP looks like after the reference's resampling
//! to 1 Hz.
//!
//! The E4 BVP is a band-passed photoplethysmogram at 64 Hz: one zero-mean pulse wave per heart
//! beat. The reference resamples it to 1 Hz with `scipy.signal.resample` (an FFT brick-wall
//! low-pass at 0.5 Hz), which removes the cardiac fundamental (1–2 Hz) and its harmonics.
//! What remains is (a) the sub-0.5 Hz part of the *irregularity* of the pulse train: with
//! beat-to-beat interval variability the train has a continuous spectrum that, because each
//! pulse is zero-mean, grows towards the Nyquist frequency (hence the strongly negative lag-1
//! autocorrelation of real 1 Hz BVP, about −0.35 to −0.6); (b) respiratory baseline and
//! amplitude modulation; (c) motion artefacts, which dominate the extremes and hence the
//! min–max range; (d) sensor noise.
//!
//! So the model simulates the pulse train in continuous time and low-passes it exactly:
//! - heart rate = subject resting rate + phase offset (stress ≫ amusement > baseline >
//!   meditation; first-order lag τ = 15 s up, 30 s down) + slow AR(1) fluctuation (τ = 60 s)
//!   + movement coupling + respiratory sinus arrhythmia (smaller in stress: vagal withdrawal);
//! - respiration frequency per phase (≈ 0.25 Hz at rest, faster in stress, slow in meditation);
//! - beats at successive intervals `60 / HR(t)` plus independent jitter (HRV, reduced in
//!   stress); beat amplitude with beat-to-beat variability, modulated by respiration and
//!   reduced in stress (vasoconstriction). The remnant's variance grows with the beat rate,
//!   so it depends on heart rate as well as on HRV and amplitude variability;
//! - each pulse `g(τ)` is a zero-area difference of Gaussians (systolic peak, diastolic
//!   trough); its 1 Hz contribution is `H(n − t_k)` with `H = g ∗ h`, `h` a Hann-windowed sinc
//!   with a 0.5 Hz cut-off (±20 s), tabulated once;
//! - plus a little respiratory baseline wander, white noise, and motion artefacts: sporadic
//!   large deviations in seconds of movement bursts (probability proportional to the
//!   movement intensity from the motion model), which set the extremes of the min–max range.
//!
//! Relative sizes (per subject): the low-passed pulse remnant is ≈ 1–2 % of the pulse
//! amplitude (beat-to-beat amplitude variability 8–35 %, timing jitter 10–60 ms); artefacts
//! ≈ 3–10 %; noise 0.2 %. This gives, after scaling, a lag-1 autocorrelation of about −0.25
//! to −0.55 and a standard deviation of 0.04–0.12 of the range, close to the reference data.
//!
//! May depend on: rand (through `super::rng`).

use std::f64::consts::PI;

use rand::Rng;

use super::dynamics::{ar1, lag};
use super::protocol::Phase;
use super::rng::{lognormal, normal_in, std_normal, uniform};

/// Half-width (s) of the windowed-sinc low-pass.
const LP_HALF_WIDTH: f64 = 20.0;
/// Pulse duration (s) over which `g` is integrated.
const PULSE_LEN: f64 = 0.9;
/// Probability that a second of a typical (0.08 g) movement burst carries a BVP motion
/// artefact; proportional to the movement intensity, at most ½.
const ARTEFACT_PROBABILITY: f64 = 0.1;
/// Table step (s) of the low-passed pulse `H`.
const TABLE_STEP: f64 = 1.0 / 64.0;

/// One pulse wave: a systolic Gaussian peak and a diastolic trough of equal area, so the
/// pulse has zero mean like the E4's band-passed BVP.
fn pulse(tau: f64) -> f64 {
    let g = |mu: f64, sd: f64| (-(tau - mu) * (tau - mu) / (2.0 * sd * sd)).exp();
    g(0.15, 0.06) - (0.06 / 0.12) * g(0.40, 0.12)
}

/// The ideal 1 Hz low-pass (cut-off 0.5 Hz) impulse response, Hann-windowed to ±20 s.
fn lowpass(v: f64) -> f64 {
    if v.abs() >= LP_HALF_WIDTH {
        return 0.0;
    }
    let sinc = if v == 0.0 {
        1.0
    } else {
        (PI * v).sin() / (PI * v)
    };
    sinc * 0.5 * (1.0 + (PI * v / LP_HALF_WIDTH).cos())
}

/// The low-passed pulse `H(u) = ∫ g(τ) h(u − τ) dτ`, tabulated on `[−W, W + PULSE_LEN]`.
pub(super) struct PulseKernel {
    values: Vec<f64>,
}

impl PulseKernel {
    pub(super) fn new() -> Self {
        let n = ((2.0 * LP_HALF_WIDTH + PULSE_LEN) / TABLE_STEP).ceil() as usize + 1;
        let dtau = 1.0 / 512.0;
        let m = (PULSE_LEN / dtau) as usize;
        let values = (0..n)
            .map(|i| {
                let u = -LP_HALF_WIDTH + i as f64 * TABLE_STEP;
                (0..m)
                    .map(|j| {
                        let tau = (j as f64 + 0.5) * dtau;
                        pulse(tau) * lowpass(u - tau)
                    })
                    .sum::<f64>()
                    * dtau
            })
            .collect();
        PulseKernel { values }
    }

    /// `H(u)` by linear interpolation; zero outside the table.
    fn eval(&self, u: f64) -> f64 {
        let x = (u + LP_HALF_WIDTH) / TABLE_STEP;
        if x < 0.0 {
            return 0.0;
        }
        let i = x.floor() as usize;
        match (self.values.get(i), self.values.get(i + 1)) {
            (Some(&a), Some(&b)) => a + (b - a) * (x - i as f64),
            _ => 0.0,
        }
    }
}

/// Per-phase cardiorespiratory modifiers.
struct PhaseCardio {
    /// Heart-rate offset (bpm) as a multiple of the subject's stress/amusement gains.
    hr_offset: f64,
    /// Respiration-rate multiplier.
    resp: f64,
    /// RSA amplitude multiplier.
    rsa: f64,
    /// Beat-jitter multiplier.
    jitter: f64,
    /// Pulse-amplitude multiplier (vasoconstriction).
    vaso: f64,
}

/// Linear interpolation of a per-second series at time `t` (clamped to the ends).
fn interp(x: &[f64], t: f64) -> f64 {
    let last = x.len() - 1;
    if t <= 0.0 {
        return x[0];
    }
    let i = t.floor() as usize;
    if i >= last {
        return x[last];
    }
    x[i] + (x[i + 1] - x[i]) * (t - i as f64)
}

/// Simulates the 1 Hz BVP of one subject. `reactivity` scales the stress responses;
/// `intensity` is the per-second movement intensity (g) from the motion model.
pub(super) fn simulate<R: Rng + ?Sized>(
    rng: &mut R,
    phases: &[Phase],
    reactivity: f64,
    intensity: &[f64],
    kernel: &PulseKernel,
) -> Vec<f64> {
    let n = phases.len();
    // Subject traits.
    let hr_rest = normal_in(rng, 72.0, 8.0, 55.0, 95.0);
    let hr_stress = normal_in(rng, 15.0, 5.0, 6.0, 30.0) * reactivity;
    let hr_amuse = normal_in(rng, 3.0, 2.0, 0.0, 8.0);
    let resp_hz = normal_in(rng, 0.25, 0.03, 0.17, 0.33);
    let rsa_bpm = normal_in(rng, 4.0, 1.5, 1.0, 8.0);
    let jitter_s = normal_in(rng, 0.03, 0.01, 0.01, 0.06);
    let amp = lognormal(rng, 60.0, 0.3);
    let vaso_stress = normal_in(rng, 0.75, 0.1, 0.5, 0.95);
    let amp_var = normal_in(rng, 0.2, 0.05, 0.08, 0.35);
    let riiv = normal_in(rng, 0.002, 0.001, 0.0, 0.005);
    let artefact_size = normal_in(rng, 0.06, 0.015, 0.03, 0.1);

    let modifiers = |p: Phase| match p {
        Phase::Rest => PhaseCardio {
            hr_offset: 3.0,
            resp: 1.1,
            rsa: 1.0,
            jitter: 1.0,
            vaso: 1.0,
        },
        Phase::Baseline => PhaseCardio {
            hr_offset: 0.0,
            resp: 1.0,
            rsa: 1.0,
            jitter: 1.0,
            vaso: 1.0,
        },
        Phase::Amusement => PhaseCardio {
            hr_offset: hr_amuse,
            resp: 1.1,
            rsa: 1.0,
            jitter: 1.1,
            vaso: 0.95,
        },
        Phase::Stress => PhaseCardio {
            hr_offset: hr_stress,
            resp: 1.3,
            rsa: 0.5,
            jitter: 0.6,
            vaso: vaso_stress,
        },
        Phase::Meditation => PhaseCardio {
            hr_offset: -3.0,
            resp: 0.5,
            rsa: 1.6,
            jitter: 1.3,
            vaso: 1.05,
        },
    };
    let mods: Vec<PhaseCardio> = phases.iter().map(|&p| modifiers(p)).collect();
    let per_second = |f: fn(&PhaseCardio) -> f64| -> Vec<f64> { mods.iter().map(f).collect() };

    // Slow heart rate (bpm), without RSA.
    let hr_target: Vec<f64> = mods.iter().map(|m| hr_rest + m.hr_offset).collect();
    let hr_drift = ar1(rng, n, 60.0, 2.5);
    let hr_slow: Vec<f64> = lag(&hr_target, 15.0, 30.0)
        .iter()
        .zip(&hr_drift)
        .zip(intensity)
        .map(|((h, d), m)| h + d + 30.0 * m)
        .collect();
    // Respiration: frequency with lag and 5 % fluctuation; phase integrated per second.
    let resp_drift = ar1(rng, n, 20.0, 0.05);
    let resp_f: Vec<f64> = lag(&per_second(|m| m.resp), 10.0, 10.0)
        .iter()
        .zip(&resp_drift)
        .map(|(f, d)| resp_hz * f * (1.0 + d))
        .collect();
    let mut resp_phase = Vec::with_capacity(n + 1);
    let mut phi = 2.0 * PI * uniform(rng);
    for f in &resp_f {
        resp_phase.push(phi);
        phi += 2.0 * PI * f;
    }
    resp_phase.push(phi);
    let rsa: Vec<f64> = lag(&per_second(|m| m.rsa), 30.0, 30.0)
        .iter()
        .map(|r| rsa_bpm * r)
        .collect();
    let jitter = per_second(|m| m.jitter);
    let vaso = lag(&per_second(|m| m.vaso), 60.0, 60.0);

    // Pulse train, low-passed to 1 Hz.
    let mut bvp = vec![0.0; n];
    let mut t = uniform(rng);
    while t < n as f64 {
        let resp = interp(&resp_phase, t).sin();
        let hr = interp(&hr_slow, t) + interp(&rsa, t) * resp;
        let a = amp * interp(&vaso, t) * (1.0 + 0.05 * resp) * (1.0 + amp_var * std_normal(rng));
        let lo = (t - LP_HALF_WIDTH).ceil().max(0.0) as usize;
        let hi = ((t + LP_HALF_WIDTH + PULSE_LEN).floor() as usize).min(n - 1);
        for (k, v) in bvp.iter_mut().enumerate().take(hi + 1).skip(lo) {
            *v += a * kernel.eval(k as f64 - t);
        }
        let ibi =
            60.0 / hr.max(35.0) + jitter_s * jitter[(t as usize).min(n - 1)] * std_normal(rng);
        t += ibi.max(0.3);
    }
    // Respiratory baseline wander, motion artefacts, sensor noise.
    for (k, v) in bvp.iter_mut().enumerate() {
        *v += amp * riiv * vaso[k] * resp_phase[k].sin();
        if uniform(rng) < (ARTEFACT_PROBABILITY * intensity[k] / 0.08).min(0.5) {
            *v += amp * artefact_size * std_normal(rng);
        }
        *v += amp * 0.002 * std_normal(rng);
    }
    bvp
}
