//! Generator training data: 60 s × 6-channel 1 Hz windows with their class label, cut from a
//! dataset store's subjects (optionally leaving some out) by a window scheme.
//!
//! No statistic of the windows is computed here: values are used as the data pipeline left
//! them (per-subject min–max to [0, 1], which the privacy statement names as not covered).
//! Label counts are reported for information only; nothing in training reads them.
//!
//! May depend on: tch, data, features::windows.

use tch::{Device, Kind, Tensor};

use crate::data::{Dataset, LabelMap, N_CHANNELS};
use crate::features::windows::{windows, WindowScheme, WINDOW_LEN};

/// Sequence length of a generator window (1 Hz samples).
pub const SEQ_LEN: i64 = WINDOW_LEN as i64;
/// Signal channels per window (BVP, EDA, ACC_x, ACC_y, ACC_z, TEMP).
pub const N_FEATURES: i64 = N_CHANNELS as i64;

/// The windows a generator trains on.
#[derive(Debug)]
pub struct GenData {
    /// (N, 60, 6) float32.
    pub x: Tensor,
    /// Class label of each window (majority of its seconds).
    pub labels: Vec<u8>,
    /// Per-second labels (N, 60) int64 (DoppelGANger learns the label as a channel).
    pub step_labels: Tensor,
    /// Index (0-based, among `subject_ids`) of each window's subject.
    pub subject_of: Vec<usize>,
    /// The training subjects' ids, in dataset order.
    pub subject_ids: Vec<u32>,
    pub n_classes: usize,
    pub label_map: LabelMap,
    pub scheme: WindowScheme,
    /// Sliding (60/30 s) windows the training subjects have, whatever `scheme` is (the
    /// reference's σ calibration counts n from them).
    pub sliding_window_count: usize,
}

impl GenData {
    /// Windows of `ds` by `scheme`, leaving out the subjects in `exclude`. Errors name what is
    /// wrong: an excluded subject the dataset does not have, no subject left, no window, or a
    /// class without windows.
    pub fn from_dataset(
        ds: &Dataset,
        scheme: WindowScheme,
        exclude: &[u32],
        device: Device,
    ) -> Result<Self, String> {
        for id in exclude {
            if ds.subject(*id).is_none() {
                return Err(format!(
                    "--exclude-subject {id}: the dataset has no subject S{id} (it has {})",
                    ds.subjects
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let kept = Dataset {
            subjects: ds
                .subjects
                .iter()
                .filter(|s| !exclude.contains(&s.id))
                .cloned()
                .collect(),
            label_map: ds.label_map,
            sampling_rate_hz: ds.sampling_rate_hz,
            source: ds.source.clone(),
        };
        if kept.subjects.is_empty() {
            return Err("no training subject is left after --exclude-subject".into());
        }
        let ws = windows(&kept, scheme);
        if ws.is_empty() {
            return Err(format!(
                "the training subjects have no complete {}-second window",
                WINDOW_LEN
            ));
        }
        let n_classes = ds.label_map.n_classes();
        let mut counts = vec![0usize; n_classes];
        let mut values = Vec::with_capacity(ws.len() * WINDOW_LEN * N_CHANNELS);
        let mut step_labels = Vec::with_capacity(ws.len() * WINDOW_LEN);
        for w in &ws {
            let s = &kept.subjects[w.subject_index];
            for t in w.start..w.start + WINDOW_LEN {
                for ch in &s.channels {
                    values.push(ch[t] as f32);
                }
                step_labels.push(s.labels[t] as i64);
            }
            counts[w.label as usize] += 1;
        }
        if let Some(c) = counts.iter().position(|&n| n == 0) {
            return Err(format!(
                "class {c} ({}) has no {} window among the training subjects: a conditional \
                 generator cannot learn it",
                ds.label_map.class_names()[c],
                scheme.as_str()
            ));
        }
        let n = ws.len() as i64;
        Ok(Self {
            x: Tensor::from_slice(&values)
                .view([n, SEQ_LEN, N_FEATURES])
                .to_kind(Kind::Float)
                .to_device(device),
            labels: ws.iter().map(|w| w.label).collect(),
            step_labels: Tensor::from_slice(&step_labels)
                .view([n, SEQ_LEN])
                .to_device(device),
            subject_of: ws.iter().map(|w| w.subject_index).collect(),
            subject_ids: kept.subjects.iter().map(|s| s.id).collect(),
            n_classes,
            label_map: ds.label_map,
            scheme,
            sliding_window_count: kept
                .subjects
                .iter()
                .map(|s| WindowScheme::Sliding.starts(s.len()).len())
                .sum(),
        })
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True without windows (never, for data built by [`GenData::from_dataset`]).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Windows per class (information only).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0usize; self.n_classes];
        for &l in &self.labels {
            c[l as usize] += 1;
        }
        c
    }

    /// The windows at `idx`: (B, 60, 6), their labels (B,) int64 and per-second labels (B, 60).
    pub fn gather(&self, idx: &[usize]) -> (Tensor, Tensor, Tensor) {
        let device = self.x.device();
        let i: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
        let it = Tensor::from_slice(&i).to_device(device);
        let labels: Vec<i64> = idx.iter().map(|&i| self.labels[i] as i64).collect();
        (
            self.x.index_select(0, &it),
            Tensor::from_slice(&labels).to_device(device),
            self.step_labels.index_select(0, &it),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::simulator;

    fn sim(subjects: usize) -> Dataset {
        simulator::simulate(&simulator::SimulatorConfig {
            subjects,
            ..simulator::SimulatorConfig::default()
        })
        .expect("simulate")
    }

    #[test]
    fn windows_shapes_and_exclusion() {
        let ds = sim(3);
        let all =
            GenData::from_dataset(&ds, WindowScheme::NonOverlapping, &[], Device::Cpu).unwrap();
        assert_eq!(all.x.size(), vec![all.len() as i64, 60, 6]);
        let first = ds.subjects[0].id;
        let some = GenData::from_dataset(&ds, WindowScheme::NonOverlapping, &[first], Device::Cpu)
            .unwrap();
        assert!(some.len() < all.len());
        assert!(!some.subject_ids.contains(&first));
        let err =
            GenData::from_dataset(&ds, WindowScheme::Sliding, &[4242], Device::Cpu).unwrap_err();
        assert!(err.contains("S4242"), "{err}");
        let ids: Vec<u32> = ds.subjects.iter().map(|s| s.id).collect();
        let err = GenData::from_dataset(&ds, WindowScheme::Sliding, &ids, Device::Cpu).unwrap_err();
        assert!(err.contains("no training subject"), "{err}");
    }

    #[test]
    fn values_are_the_subjects_seconds() {
        let ds = sim(2);
        let d = GenData::from_dataset(&ds, WindowScheme::Sliding, &[], Device::Cpu).unwrap();
        // Second window of the first subject starts at row 30.
        let s = &ds.subjects[0];
        for c in 0..6 {
            let v = d.x.double_value(&[1, 5, c as i64]);
            assert!((v - s.channels[c][35] as f32 as f64).abs() < 1e-9);
        }
    }
}
