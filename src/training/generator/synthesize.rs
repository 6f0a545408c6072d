//! Synthetic subjects from a trained generator, built as the reference builds them
//! (spec §3.1.7, §3.2.5), with every parameter explicit and validated:
//!
//! - **conditional generators** (cGAN, TimeGAN, DP-MERF): per subject, ⌊(1 − f)·n⌋ non-stress
//!   windows then ⌊f·n⌋ stress windows (n = windows per subject, f = stress fraction; the
//!   reference's n = 36, f = 0.3 gives 25 + 10 = 35 windows);
//! - **DoppelGANger** (makes its own label channel): whole subjects of n windows are drawn
//!   until the fraction of stress seconds lies in the accepted range (the reference's
//!   [0.29, 0.32], WESAD's per-subject min and max), at most `max_tries` draws per subject.
//!
//! Subjects are numbered 1001, 1002, … (the reference's sids), one row per second, 60 rows a
//! window, so the non-overlapping windows of a generated subject are exactly the generated
//! windows. Randomness: one ChaCha stream per subject ([`super::rng::StepPurpose::Generate`],
//! keyed by the seed and the subject's index), so subject k is the same whatever the count.
//!
//! May depend on: tch, the sampler trait, data types.

use super::algorithm::WindowSampler;
use super::rng::{stream, StepPurpose};
use crate::data::{Dataset, LabelMap, Provenance, Subject, N_CHANNELS};

/// The first synthetic subject id (the reference's sid 1001).
pub const FIRST_SYNTHETIC_ID: u32 = 1001;

/// Draws per subject before DoppelGANger's rejection sampling gives up (`gan generate`'s
/// default).
pub const DEFAULT_MAX_TRIES: usize = 10_000;

/// How many subjects, windows and stress to generate.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SubjectsRequest {
    pub subjects: usize,
    pub windows_per_subject: usize,
    /// Fraction of stress windows (conditional generators).
    pub stress_fraction: f64,
    /// Accepted fraction of stress seconds per subject (DoppelGANger's rejection sampling).
    pub stress_ratio_range: (f64, f64),
    /// Draws per subject before DoppelGANger's rejection sampling gives up.
    pub max_tries: usize,
    pub seed: u64,
}

/// Upper bound on subjects × windows (memory of one generation: 60 × 6 f64 per window).
pub const MAX_WINDOWS: usize = 2_000_000;

impl SubjectsRequest {
    /// Checks the request; messages name the option.
    /// (Class 1 is stress in both label maps; the non-stress windows of a three-class
    /// generator are drawn as class 0, baseline, none as amusement.)
    pub fn validate(&self, _label_map: LabelMap) -> Result<(), String> {
        if self.subjects == 0 || self.subjects > 100_000 {
            return Err(format!(
                "--subjects {} must lie in 1..=100000",
                self.subjects
            ));
        }
        if self.windows_per_subject == 0 || self.windows_per_subject > 10_000 {
            return Err(format!(
                "--windows-per-subject {} must lie in 1..=10000",
                self.windows_per_subject
            ));
        }
        if self.subjects * self.windows_per_subject > MAX_WINDOWS {
            return Err(format!(
                "--subjects × --windows-per-subject = {} windows is above the limit of {MAX_WINDOWS}",
                self.subjects * self.windows_per_subject
            ));
        }
        if !(self.stress_fraction >= 0.0 && self.stress_fraction <= 1.0) {
            return Err(format!(
                "--stress-fraction {} must lie in [0, 1]",
                self.stress_fraction
            ));
        }
        let (lo, hi) = self.stress_ratio_range;
        if !(0.0 <= lo && lo <= hi && hi <= 1.0) {
            return Err(format!(
                "--stress-ratio-range {lo},{hi} must satisfy 0 <= low <= high <= 1"
            ));
        }
        if self.max_tries == 0 {
            return Err("--max-tries must be at least 1".into());
        }
        let (non, stress) = self.split();
        if non + stress == 0 {
            return Err(format!(
                "--windows-per-subject {} with --stress-fraction {} gives no window per subject (⌊(1-f)·n⌋ + ⌊f·n⌋ = 0)",
                self.windows_per_subject, self.stress_fraction
            ));
        }
        Ok(())
    }

    /// DoppelGANger's accepted range of stress seconds around a requested stress fraction
    /// `f`: [f − 0.01, f + 0.02] within [0, 1] (the reference's [0.29, 0.32] for 0.3).
    pub fn ratio_range_around(f: f64) -> (f64, f64) {
        ((f - 0.01).max(0.0), (f + 0.02).min(1.0))
    }

    /// (non-stress, stress) windows per subject for conditional generators.
    pub fn split(&self) -> (usize, usize) {
        let n = self.windows_per_subject as f64;
        let stress = (self.stress_fraction * n + 1e-9).floor() as usize;
        let non = ((1.0 - self.stress_fraction) * n + 1e-9).floor() as usize;
        (non, stress)
    }
}

fn subject_from(
    id: u32,
    windows: &tch::Tensor,
    step_labels: &tch::Tensor,
) -> Result<Subject, String> {
    let n = windows.size()[0];
    let rows = (n * 60) as usize;
    let flat: Vec<f32> = Vec::<f32>::try_from(
        windows
            .to_device(tch::Device::Cpu)
            .to_kind(tch::Kind::Float)
            .contiguous()
            .view([-1]),
    )
    .map_err(|e| format!("read generated windows: {e}"))?;
    let labels: Vec<i64> = Vec::<i64>::try_from(
        step_labels
            .to_device(tch::Device::Cpu)
            .to_kind(tch::Kind::Int64)
            .contiguous()
            .view([-1]),
    )
    .map_err(|e| format!("read generated labels: {e}"))?;
    let mut channels: [Vec<f64>; N_CHANNELS] = Default::default();
    for (c, ch) in channels.iter_mut().enumerate() {
        *ch = (0..rows).map(|r| flat[r * N_CHANNELS + c] as f64).collect();
    }
    if let Some(bad) = channels.iter().flatten().find(|v| !v.is_finite()) {
        return Err(format!(
            "the generator produced a non-finite value ({bad}) for subject S{id}: the checkpoint is unusable"
        ));
    }
    Ok(Subject {
        id,
        channels,
        labels: labels.iter().map(|&l| l.clamp(0, 255) as u8).collect(),
    })
}

/// Generates the requested subjects.
pub fn generate_subjects(
    sampler: &dyn WindowSampler,
    req: &SubjectsRequest,
    label_map: LabelMap,
    source: Provenance,
) -> Result<Dataset, String> {
    let all = generate_subjects_observed(sampler, req, label_map, source, &mut |_| true)?;
    Ok(all.expect("generation without an observer is never stopped"))
}

/// Generates the requested subjects, calling `keep_going(done)` after each subject; when it
/// answers false, generation stops and `None` is returned (subject k is the same whether or
/// not an observer looked: the observer draws nothing).
pub fn generate_subjects_observed(
    sampler: &dyn WindowSampler,
    req: &SubjectsRequest,
    label_map: LabelMap,
    source: Provenance,
    keep_going: &mut dyn FnMut(usize) -> bool,
) -> Result<Option<Dataset>, String> {
    req.validate(label_map)?;
    let mut subjects = Vec::with_capacity(req.subjects);
    for k in 0..req.subjects {
        let id = FIRST_SYNTHETIC_ID + k as u32;
        let mut rng = stream(req.seed, StepPurpose::Generate, k as u64);
        let subject = if sampler.conditional() {
            let (non, stress) = req.split();
            let mut labels = vec![0u8; non];
            labels.extend(std::iter::repeat_n(1u8, stress));
            let s = sampler.sample(&labels, &mut rng)?;
            subject_from(id, &s.windows, &s.step_labels)?
        } else {
            let labels = vec![0u8; req.windows_per_subject];
            let (lo, hi) = req.stress_ratio_range;
            let mut accepted = None;
            let mut last_ratio = f64::NAN;
            for _ in 0..req.max_tries {
                let s = sampler.sample(&labels, &mut rng)?;
                let ratio = s
                    .step_labels
                    .to_kind(tch::Kind::Double)
                    .mean(tch::Kind::Double)
                    .double_value(&[]);
                last_ratio = ratio;
                if ratio >= lo && ratio <= hi {
                    accepted = Some(s);
                    break;
                }
            }
            let s = accepted.ok_or_else(|| {
                format!(
                    "no draw of subject S{id} had a stress-second fraction in [{lo}, {hi}] after {} tries (last {last_ratio:.3}); widen --stress-ratio-range or raise --max-tries",
                    req.max_tries
                )
            })?;
            subject_from(id, &s.windows, &s.step_labels)?
        };
        subjects.push(subject);
        if !keep_going(k + 1) {
            return Ok(None);
        }
    }
    Ok(Some(Dataset {
        subjects,
        label_map,
        sampling_rate_hz: 1.0,
        source,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::generator::algorithm::Sampled;
    use rand::Rng;
    use tch::{Device, Kind, Tensor};

    struct Fake {
        conditional: bool,
    }

    impl WindowSampler for Fake {
        fn conditional(&self) -> bool {
            self.conditional
        }
        fn sample(
            &self,
            labels: &[u8],
            rng: &mut rand_chacha::ChaCha20Rng,
        ) -> Result<Sampled, String> {
            let n = labels.len() as i64;
            let v: f32 = rng.random();
            let windows = Tensor::full([n, 60, 6], v as f64, (Kind::Float, Device::Cpu));
            let step_labels = if self.conditional {
                crate::training::generator::rng::label_tensor(labels, Device::Cpu)
                    .unsqueeze(1)
                    .expand([n, 60], false)
                    .contiguous()
            } else {
                // 30 % stress seconds only when v < 0.5.
                let stress = if v < 0.5 { 18 } else { 0 };
                let row: Vec<i64> = (0..60).map(|t| (t < stress) as i64).collect();
                Tensor::from_slice(&row)
                    .unsqueeze(0)
                    .expand([n, 60], false)
                    .contiguous()
            };
            Ok(Sampled {
                windows,
                step_labels,
            })
        }
    }

    fn req() -> SubjectsRequest {
        SubjectsRequest {
            subjects: 3,
            windows_per_subject: 36,
            stress_fraction: 0.3,
            stress_ratio_range: (0.29, 0.32),
            max_tries: 100,
            seed: 5,
        }
    }

    fn prov() -> Provenance {
        Provenance {
            kind: crate::data::SourceKind::Generator,
            path: "ck".into(),
            sha256: "00".into(),
            note: "test".into(),
        }
    }

    #[test]
    fn conditional_subjects_follow_the_reference_split() {
        let ds = generate_subjects(
            &Fake { conditional: true },
            &req(),
            LabelMap::Binary,
            prov(),
        )
        .unwrap();
        assert_eq!(ds.subjects.len(), 3);
        assert_eq!(ds.subjects[0].id, 1001);
        let s = &ds.subjects[1];
        assert_eq!(s.len(), 35 * 60);
        assert_eq!(s.labels.iter().filter(|&&l| l == 1).count(), 10 * 60);
        assert_eq!(s.labels[0], 0);
        assert_eq!(*s.labels.last().unwrap(), 1);
    }

    #[test]
    fn unconditional_subjects_are_rejection_sampled() {
        let ds = generate_subjects(
            &Fake { conditional: false },
            &req(),
            LabelMap::Binary,
            prov(),
        )
        .unwrap();
        for s in &ds.subjects {
            let r = s.labels.iter().filter(|&&l| l == 1).count() as f64 / s.len() as f64;
            assert!((0.29..=0.32).contains(&r), "{r}");
        }
        let mut r = req();
        r.stress_ratio_range = (0.9, 1.0);
        let e = generate_subjects(&Fake { conditional: false }, &r, LabelMap::Binary, prov())
            .unwrap_err();
        assert!(e.contains("stress-ratio-range"), "{e}");
    }

    #[test]
    fn an_observer_sees_each_subject_and_can_stop_without_changing_them() {
        let all = generate_subjects(
            &Fake { conditional: true },
            &req(),
            LabelMap::Binary,
            prov(),
        )
        .unwrap();
        let mut seen = Vec::new();
        let observed = generate_subjects_observed(
            &Fake { conditional: true },
            &req(),
            LabelMap::Binary,
            prov(),
            &mut |done| {
                seen.push(done);
                true
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(seen, vec![1, 2, 3]);
        assert_eq!(observed.subjects[2].channels, all.subjects[2].channels);
        let stopped = generate_subjects_observed(
            &Fake { conditional: true },
            &req(),
            LabelMap::Binary,
            prov(),
            &mut |done| done < 2,
        )
        .unwrap();
        assert!(stopped.is_none());
    }

    #[test]
    fn bad_requests_name_the_option() {
        let mut r = req();
        r.subjects = 0;
        assert!(r
            .validate(LabelMap::Binary)
            .unwrap_err()
            .contains("--subjects"));
        let mut r = req();
        r.stress_fraction = 1.5;
        assert!(r
            .validate(LabelMap::Binary)
            .unwrap_err()
            .contains("--stress-fraction"));
        let mut r = req();
        r.windows_per_subject = 1;
        r.stress_fraction = 0.5;
        assert!(r
            .validate(LabelMap::Binary)
            .unwrap_err()
            .contains("no window"));
    }
}
