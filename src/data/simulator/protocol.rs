//! The simulated study protocol: which phase each second of a session belongs to.
//!
//! Modelled on WESAD's protocol (Schmidt et al. 2018): a seated baseline (~20 min), an
//! amusement phase (funny video clips, ~6.5 min) and a stress phase (Trier Social Stress Test,
//! public speaking and mental arithmetic while standing, ~10–12 min), each followed by rest
//! (questionnaires) and guided meditation. WESAD used two orders, amusement before stress and
//! stress before amusement; each simulated subject gets one of them with probability ½.
//! Durations are jittered per subject around the values seen in the reference's 1 Hz data
//! (baseline ≈ 1,140–1,180 rows, amusement ≈ 360–375, stress ≈ 615–725).
//!
//! Only baseline, amusement and stress seconds are emitted (rest and meditation would carry
//! WESAD labels 0 and 4, which the reference drops); they are simulated anyway so that every
//! signal evolves continuously through them and the kept segments join with realistic jumps.
//!
//! May depend on: rand (through `super::rng`).

use rand::Rng;

use super::rng::{normal_in, uniform};

/// A phase of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Transient seconds: arrival, questionnaires, walking between rooms (WESAD label 0).
    Rest,
    Baseline,
    Amusement,
    Stress,
    /// Guided breathing meditation (WESAD label 4, dropped like rest).
    Meditation,
}

impl Phase {
    /// WESAD's study-protocol label id of this phase.
    pub(super) fn wesad_label(self) -> i64 {
        match self {
            Phase::Rest => 0,
            Phase::Baseline => 1,
            Phase::Stress => 2,
            Phase::Amusement => 3,
            Phase::Meditation => 4,
        }
    }
}

/// The two protocol orders WESAD used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    AmusementFirst,
    StressFirst,
}

/// Nominal duration in seconds (mean, sd, min, max) of one segment at `minutes_scale = 1`.
fn nominal(phase: Phase, lead_in: bool) -> (f64, f64, f64, f64) {
    match phase {
        Phase::Rest if lead_in => (90.0, 30.0, 30.0, 180.0),
        Phase::Rest => (150.0, 40.0, 60.0, 300.0),
        Phase::Baseline => (1170.0, 20.0, 1110.0, 1230.0),
        Phase::Amusement => (370.0, 6.0, 355.0, 390.0),
        Phase::Stress => (665.0, 35.0, 600.0, 740.0),
        Phase::Meditation => (420.0, 10.0, 400.0, 440.0),
    }
}

/// True for the phases whose rows are emitted.
fn is_emitted(phase: Phase) -> bool {
    matches!(phase, Phase::Baseline | Phase::Amusement | Phase::Stress)
}

/// Draws a subject's protocol order and segment durations and returns the phase of every
/// second of the session. Every segment lasts at least one second and every emitted one at
/// least two, whatever `minutes_scale` is.
pub(super) fn draw<R: Rng + ?Sized>(rng: &mut R, minutes_scale: f64) -> Vec<Phase> {
    let order = if uniform(rng) < 0.5 {
        Order::AmusementFirst
    } else {
        Order::StressFirst
    };
    let (first, second) = match order {
        Order::AmusementFirst => (Phase::Amusement, Phase::Stress),
        Order::StressFirst => (Phase::Stress, Phase::Amusement),
    };
    let plan = [
        Phase::Rest, // lead-in: sensors settling, instructions
        Phase::Baseline,
        Phase::Rest,
        first,
        Phase::Rest,
        Phase::Meditation,
        Phase::Rest,
        second,
        Phase::Rest,
        Phase::Meditation,
    ];
    let mut phases = Vec::new();
    for (i, &phase) in plan.iter().enumerate() {
        let (mean, sd, lo, hi) = nominal(phase, i == 0);
        let seconds = normal_in(rng, mean, sd, lo, hi) * minutes_scale;
        let min = if is_emitted(phase) { 2 } else { 1 };
        let n = (seconds.round() as usize).max(min);
        phases.extend(std::iter::repeat_n(phase, n));
    }
    phases
}
