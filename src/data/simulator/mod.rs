//! The embedded default dataset: simulated WESAD-shaped 1 Hz wrist data.
//!
//! [`simulate`] produces a [`Dataset`] that looks like the reference implementation's 1 Hz
//! WESAD data (§1.2–1.3 of the reference spec): per subject about 2,100–2,350 rows of
//! `[BVP, EDA, ACC_x, ACC_y, ACC_z, TEMP]`, about 30 % of them stress, every channel min–max
//! scaled to [0, 1] per subject. It is **simulated data, not measurements**: the provenance
//! kind is [`SourceKind::Simulator`], the provenance note says so, and subjects are numbered
//! from 101 (`S101`, `S102`, …) so that they can never be mistaken for WESAD's S2–S17.
//!
//! How a subject is made:
//! 1. [`protocol`]: a WESAD-like session (baseline, amusement and stress in one of WESAD's two
//!    orders, with rest and meditation between them), durations jittered per subject.
//! 2. Subject traits: a shared *reactivity* (scales stress responses of heart rate, EDA and
//!    skin temperature) and *fidget* factor (movement), then per-channel traits.
//! 3. Channel models, one second at a time over the whole session: [`motion`] (posture,
//!    movements, ACC), [`cardio`] (heart rate, respiration, the 1 Hz BVP, with motion
//!    artefacts from the motion model), [`eda`] (tonic level and SCRs), [`temp`].
//! 4. Rows of rest and meditation are dropped (as the reference drops WESAD labels 0 and 4),
//!    labels are mapped with the [`LabelMap`], and each channel is min–max scaled on the kept
//!    rows exactly as the reference does.
//!
//! Determinism: every (seed, subject index, purpose) has its own ChaCha8 stream seeded by a
//! sha256 of the triple ([`rng`]), so the same config gives a bitwise-identical dataset and
//! subject *k* does not depend on how many subjects are requested.
//!
//! May depend on: the data types of this crate (`dataset`, `error`, `hash`), rand,
//! rand_chacha, rand_distr, sha2. Never tch, never IO.

mod cardio;
mod dynamics;
mod eda;
mod motion;
mod protocol;
mod rng;
mod temp;

#[cfg(test)]
mod tests;

use super::dataset::{
    min_max_scale, Dataset, LabelMap, Provenance, SourceKind, Subject, CHANNELS, N_CHANNELS,
};
use super::error::DataError;
use super::hash::sha256_hex;
use protocol::Phase;
use rng::{normal_in, stream, Purpose};

/// Version of the simulation model; part of the provenance hash, bumped whenever the model
/// changes what a config produces.
pub const SIMULATOR_VERSION: u32 = 1;
/// Id of the first simulated subject (`S101`).
pub const FIRST_SUBJECT_ID: u32 = 101;
/// Largest number of subjects [`simulate`] accepts.
pub const MAX_SUBJECTS: usize = 899;
/// Largest [`SimulatorConfig::minutes_scale`].
pub const MAX_MINUTES_SCALE: f64 = 10.0;
/// The provenance path of simulated datasets.
pub const SIMULATOR_PATH: &str = "simulator";

/// Parameters of the simulator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimulatorConfig {
    /// Number of subjects, 1 to [`MAX_SUBJECTS`].
    pub subjects: usize,
    /// Master seed.
    pub seed: u64,
    /// How protocol phases become class labels.
    pub label_map: LabelMap,
    /// Multiplies every phase duration: 1.0 gives WESAD-like sessions, smaller values give
    /// short sessions for tests. In (0, [`MAX_MINUTES_SCALE`]].
    pub minutes_scale: f64,
}

impl Default for SimulatorConfig {
    /// WESAD-like: 15 subjects, seed 0, binary labels (as the reference's 1 Hz files), full
    /// durations.
    fn default() -> Self {
        SimulatorConfig {
            subjects: 15,
            seed: 0,
            label_map: LabelMap::Binary,
            minutes_scale: 1.0,
        }
    }
}

impl SimulatorConfig {
    /// Checks the parameters; the error names the offending field.
    pub fn validate(&self) -> Result<(), DataError> {
        if !(1..=MAX_SUBJECTS).contains(&self.subjects) {
            return Err(DataError::Parameter {
                name: "subjects".into(),
                reason: format!(
                    "must be between 1 and {MAX_SUBJECTS}, got {}",
                    self.subjects
                ),
            });
        }
        let s = self.minutes_scale;
        if !(s.is_finite() && s > 0.0 && s <= MAX_MINUTES_SCALE) {
            return Err(DataError::Parameter {
                name: "minutes_scale".into(),
                reason: format!("must be in (0, {MAX_MINUTES_SCALE}], got {s}"),
            });
        }
        Ok(())
    }

    /// A canonical text description of the config and model version; its sha256 is the
    /// dataset's provenance digest. `minutes_scale` is written with its exact bit pattern.
    pub fn canonical_description(&self) -> String {
        format!(
            "dpwear simulator v{SIMULATOR_VERSION}\nsubjects={}\nseed={}\nlabel_map={}\n\
             minutes_scale={} (0x{:016x})\n",
            self.subjects,
            self.seed,
            self.label_map.as_str(),
            self.minutes_scale,
            self.minutes_scale.to_bits()
        )
    }
}

/// Simulates a WESAD-shaped 1 Hz wrist dataset (see the module docs).
pub fn simulate(cfg: &SimulatorConfig) -> Result<Dataset, DataError> {
    cfg.validate()?;
    let kernel = cardio::PulseKernel::new();
    let subjects = (0..cfg.subjects)
        .map(|i| simulate_subject(cfg, i, &kernel))
        .collect::<Result<Vec<_>, _>>()?;
    let last = FIRST_SUBJECT_ID as usize + cfg.subjects - 1;
    let note = format!(
        "simulated data, not measurements: dpwear WESAD-like wrist simulator v{SIMULATOR_VERSION} \
         (subjects={} as S{FIRST_SUBJECT_ID}–S{last}, seed={}, label map {}, minutes scale {}); \
         1 Hz BVP, EDA, ACC_x/y/z and TEMP from a parametric physiology model, \
         min–max scaled per subject",
        cfg.subjects,
        cfg.seed,
        cfg.label_map.as_str(),
        cfg.minutes_scale
    );
    Ok(Dataset {
        subjects,
        label_map: cfg.label_map,
        sampling_rate_hz: 1.0,
        source: Provenance {
            kind: SourceKind::Simulator,
            path: SIMULATOR_PATH.to_string(),
            sha256: sha256_hex(cfg.canonical_description().as_bytes()),
            note,
        },
    })
}

/// Unscaled channels of one simulated session plus the phase of each second.
struct Session {
    phases: Vec<Phase>,
    channels: [Vec<f64>; N_CHANNELS],
}

/// Simulates the whole session of subject `index` (all phases, physical units).
fn simulate_session(cfg: &SimulatorConfig, index: usize, kernel: &cardio::PulseKernel) -> Session {
    let mut subject_rng = stream(cfg.seed, index, Purpose::Subject);
    let reactivity = normal_in(&mut subject_rng, 1.0, 0.25, 0.5, 1.6);
    let fidget = normal_in(&mut subject_rng, 1.0, 0.3, 0.4, 2.0);

    let phases = protocol::draw(
        &mut stream(cfg.seed, index, Purpose::Protocol),
        cfg.minutes_scale,
    );
    let motion = motion::simulate(
        &mut stream(cfg.seed, index, Purpose::Motion),
        &phases,
        fidget,
    );
    let bvp = cardio::simulate(
        &mut stream(cfg.seed, index, Purpose::Cardio),
        &phases,
        reactivity,
        &motion.intensity,
        kernel,
    );
    let eda = eda::simulate(
        &mut stream(cfg.seed, index, Purpose::Eda),
        &phases,
        reactivity,
    );
    let temp = temp::simulate(
        &mut stream(cfg.seed, index, Purpose::Temp),
        &phases,
        reactivity,
    );
    let [ax, ay, az] = motion.acc;
    Session {
        phases,
        channels: [bvp, eda, ax, ay, az, temp],
    }
}

/// Simulates subject `index`, keeps the labelled rows and scales them.
fn simulate_subject(
    cfg: &SimulatorConfig,
    index: usize,
    kernel: &cardio::PulseKernel,
) -> Result<Subject, DataError> {
    let session = simulate_session(cfg, index, kernel);
    // Keep the rows whose WESAD label has a class, as the reference drops labels 0 and 4–7.
    let (keep, labels): (Vec<usize>, Vec<u8>) = session
        .phases
        .iter()
        .enumerate()
        .filter_map(|(t, p)| cfg.label_map.map_wesad(p.wesad_label()).map(|l| (t, l)))
        .unzip();
    let id = FIRST_SUBJECT_ID + index as u32;
    let mut channels: [Vec<f64>; N_CHANNELS] = Default::default();
    for (c, (out, full)) in channels.iter_mut().zip(&session.channels).enumerate() {
        *out = keep.iter().map(|&t| full[t]).collect();
        if !min_max_scale(out) {
            return Err(DataError::Invalid {
                path: SIMULATOR_PATH.into(),
                reason: format!(
                    "simulated subject S{id}: channel {} is constant",
                    CHANNELS[c]
                ),
            });
        }
    }
    Ok(Subject {
        id,
        channels,
        labels,
    })
}
