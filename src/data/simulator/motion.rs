//! Wrist posture, movements and the three accelerometer axes (E4 units, 1/64 g).
//!
//! Model, per second: the accelerometer reads gravity rotated into the sensor frame plus the
//! part of the wrist's own (dynamic) acceleration that survives the 1 Hz low-pass.
//! - Axes: z is perpendicular to the watch face, x runs along the forearm. With the forearm
//!   resting on a desk (seated phases) gravity lies mostly on z; with the arm hanging or
//!   gesturing while standing (the TSST stress phase) it lies mostly on x.
//! - Orientation = posture (pitch, roll) held for exponentially distributed stretches, then
//!   moved to a new draw around the posture's subject-specific mean over 2–6 s; posture changes
//!   are rare at baseline and meditation, frequent in stress and amusement.
//! - Small movements: AR(1) orientation jitter (τ = 3 s) whose size depends on the phase.
//! - Movement bursts (gesturing, laughing, writing): Poisson onsets, 3–30 s long, with a
//!   log-normal intensity in g that adds dynamic acceleration on every axis and extra jitter.
//!   The burst intensity per second is returned for the BVP motion-artefact model.
//! - A subject-level "fidget" factor scales movement rates and sizes.
//!
//! May depend on: rand (through `super::rng`).

use rand::Rng;

use super::protocol::Phase;
use super::rng::{exponential, lognormal, normal_in, std_normal, uniform};

/// The accelerometer axes and the movement intensity (g) of each second.
pub(super) struct Motion {
    /// ACC_x, ACC_y, ACC_z in 1/64 g.
    pub(super) acc: [Vec<f64>; 3],
    /// Dynamic-acceleration intensity in g (0 outside movement bursts).
    pub(super) intensity: Vec<f64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Posture {
    Seated,
    Standing,
}

/// Per-phase movement parameters.
struct PhaseMotion {
    posture: Posture,
    /// Posture changes per second.
    change_rate: f64,
    /// Movement-burst onsets per second.
    burst_rate: f64,
    /// Orientation jitter, degrees.
    jitter_deg: f64,
}

fn phase_motion(phase: Phase) -> PhaseMotion {
    let (posture, change_rate, burst_rate, jitter_deg) = match phase {
        Phase::Rest => (Posture::Seated, 1.0 / 90.0, 1.0 / 60.0, 2.5),
        Phase::Baseline => (Posture::Seated, 1.0 / 300.0, 1.0 / 200.0, 1.2),
        Phase::Amusement => (Posture::Seated, 1.0 / 150.0, 1.0 / 45.0, 2.5),
        Phase::Stress => (Posture::Standing, 1.0 / 45.0, 1.0 / 15.0, 4.0),
        Phase::Meditation => (Posture::Seated, 1.0 / 900.0, 1.0 / 900.0, 0.6),
    };
    PhaseMotion {
        posture,
        change_rate,
        burst_rate,
        jitter_deg,
    }
}

/// Gravity (unit vector) in the sensor frame for pitch θ about y and roll ψ about x, starting
/// from gravity on +z: `(sin θ, −cos θ sin ψ, cos θ cos ψ)`.
fn gravity(pitch_deg: f64, roll_deg: f64) -> [f64; 3] {
    let (t, r) = (pitch_deg.to_radians(), roll_deg.to_radians());
    [t.sin(), -t.cos() * r.sin(), t.cos() * r.cos()]
}

/// Simulates the accelerometer for one subject. `fidget` scales movement rates and sizes.
pub(super) fn simulate<R: Rng + ?Sized>(rng: &mut R, phases: &[Phase], fidget: f64) -> Motion {
    // Subject-specific posture means (degrees) and spreads.
    let seated = (
        normal_in(rng, 10.0, 12.0, -30.0, 45.0),
        normal_in(rng, 0.0, 15.0, -40.0, 40.0),
    );
    let standing = (
        normal_in(rng, 80.0, 8.0, 60.0, 100.0),
        normal_in(rng, 0.0, 20.0, -50.0, 50.0),
    );
    let spread = |p: Posture| if p == Posture::Seated { 10.0 } else { 20.0 };
    let mean = |p: Posture| {
        if p == Posture::Seated {
            seated
        } else {
            standing
        }
    };
    let draw_orientation = |rng: &mut R, p: Posture| {
        let (m, s) = (mean(p), spread(p));
        (m.0 + s * std_normal(rng), m.1 + s * std_normal(rng))
    };

    let n = phases.len();
    let mut acc = [
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    ];
    let mut intensity = Vec::with_capacity(n);

    let first = phases
        .first()
        .map_or(Posture::Seated, |&p| phase_motion(p).posture);
    let mut posture = first;
    let mut current = draw_orientation(rng, posture);
    let (mut from, mut to) = (current, current);
    let (mut move_len, mut move_t) = (1.0, 1.0);
    let (mut jitter_p, mut jitter_r) = (0.0, 0.0);
    let jitter_phi: f64 = (-1.0f64 / 3.0).exp();
    let (mut burst_left, mut burst_amp) = (0usize, 0.0);

    for &phase in phases {
        let pm = phase_motion(phase);
        // Posture changes: forced when the phase's posture differs, otherwise Poisson.
        let forced = pm.posture != posture;
        if forced || uniform(rng) < pm.change_rate * fidget {
            posture = pm.posture;
            from = current;
            to = draw_orientation(rng, posture);
            move_len = 2.0 + 4.0 * uniform(rng);
            move_t = 0.0;
        }
        if move_t < move_len {
            move_t += 1.0;
            let f = (move_t / move_len).min(1.0);
            current = (from.0 + (to.0 - from.0) * f, from.1 + (to.1 - from.1) * f);
        }
        // Movement bursts.
        if burst_left == 0 && uniform(rng) < pm.burst_rate * fidget {
            burst_left = (3.0 + exponential(rng, 6.0)).min(30.0).round() as usize;
            burst_amp = lognormal(rng, 0.08 * fidget.sqrt(), 0.5).min(0.6);
        }
        let amp = if burst_left > 0 {
            burst_left -= 1;
            burst_amp
        } else {
            0.0
        };
        // Orientation jitter: AR(1) whose stationary size follows phase and burst.
        let sd = pm.jitter_deg * fidget + 15.0 * amp;
        let innov = sd * (1.0 - jitter_phi * jitter_phi).sqrt();
        jitter_p = jitter_phi * jitter_p + innov * std_normal(rng);
        jitter_r = jitter_phi * jitter_r + innov * std_normal(rng);

        let g = gravity(current.0 + jitter_p, current.1 + jitter_r);
        for (axis, ch) in acc.iter_mut().enumerate() {
            // Residual dynamic acceleration after the 1 Hz low-pass, plus sensor noise.
            let dynamic = (0.5 * amp + 0.003) * std_normal(rng);
            ch.push(64.0 * (g[axis] + dynamic) + 0.3 * std_normal(rng));
        }
        intensity.push(amp);
    }
    Motion { acc, intensity }
}
