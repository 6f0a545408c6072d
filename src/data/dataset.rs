//! The in-memory 1 Hz wrist dataset every reader produces and every later stage consumes:
//! subjects in a fixed order, six channels `[BVP, EDA, ACC_x, ACC_y, ACC_z, TEMP]` (per-subject
//! min–max scaled to [0, 1]) and one label per second.
//!
//! May depend on: std, serde, tracing. Nothing here does IO.

use serde::{Deserialize, Serialize};

use super::error::DataError;

/// Channel names in column order (the reference's DataFrame order).
pub const CHANNELS: [&str; N_CHANNELS] = ["BVP", "EDA", "ACC_x", "ACC_y", "ACC_z", "TEMP"];
/// Number of wrist channels.
pub const N_CHANNELS: usize = 6;
/// The WESAD subject ids (there is no S1 or S12), in the order used for LOSO folds.
pub const WESAD_SUBJECT_IDS: [u32; 15] = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17];

/// How WESAD's study-protocol labels become class labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelMap {
    /// 0 = non-stress (baseline and amusement), 1 = stress. The reference's binary files.
    Binary,
    /// 0 = baseline, 1 = stress, 2 = amusement. The reference's HEAD 3-class files.
    ThreeClass,
}

impl LabelMap {
    /// Maps a raw WESAD label (0 transient, 1 baseline, 2 stress, 3 amusement, 4 meditation,
    /// 5–7 ignore) to a class, or `None` for the rows that are dropped (0 and 4–7).
    pub fn map_wesad(self, raw: i64) -> Option<u8> {
        match (self, raw) {
            (_, 1) => Some(0),
            (_, 2) => Some(1),
            (LabelMap::Binary, 3) => Some(0),
            (LabelMap::ThreeClass, 3) => Some(2),
            _ => None,
        }
    }

    /// Number of classes.
    pub fn n_classes(self) -> usize {
        match self {
            LabelMap::Binary => 2,
            LabelMap::ThreeClass => 3,
        }
    }

    /// Class names, indexed by class label.
    pub fn class_names(self) -> &'static [&'static str] {
        match self {
            LabelMap::Binary => &["non-stress", "stress"],
            LabelMap::ThreeClass => &["baseline", "stress", "amusement"],
        }
    }

    /// Stable name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelMap::Binary => "binary",
            LabelMap::ThreeClass => "three-class",
        }
    }

    /// Parses [`LabelMap::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "binary" => Some(LabelMap::Binary),
            "three-class" => Some(LabelMap::ThreeClass),
            _ => None,
        }
    }

    /// A class label read from a file that stores class labels (the reference's 1 Hz pickle
    /// and CSV), or why it does not belong to this map.
    pub fn stored_class(self, l: f64) -> Result<u8, String> {
        if l.fract() == 0.0 && l >= 0.0 && (l as usize) < self.n_classes() {
            return Ok(l as u8);
        }
        let classes = self
            .class_names()
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{i} {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let hint = match self {
            LabelMap::Binary if l == 2.0 => {
                "; the reference's 1 Hz files are binary (pass --label-map three-class only for a file whose labels are 0 baseline, 1 stress, 2 amusement)"
            }
            _ => "",
        };
        Err(format!(
            "label {l} is not a {} class ({classes}){hint}",
            self.as_str()
        ))
    }
}

/// Where a dataset came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// Raw WESAD `S*/S*.pkl` files, preprocessed by dpwear.
    WesadRaw,
    /// The reference implementation's `subject_data_1hz.pickle`.
    ReferencePickle,
    /// The reference implementation's `wesad_preprocessed_1hz.csv`.
    ReferenceCsv,
    /// dpwear's simulator: made-up data, never real measurements.
    Simulator,
    /// Sampled from a dpwear generator (`dpwear gan generate`): synthetic subjects 1001, …;
    /// the provenance names the checkpoint and its note holds the model card.
    Generator,
}

impl SourceKind {
    /// Stable name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::WesadRaw => "wesad-raw",
            SourceKind::ReferencePickle => "reference-pickle",
            SourceKind::ReferenceCsv => "reference-csv",
            SourceKind::Simulator => "simulator",
            SourceKind::Generator => "generator",
        }
    }

    /// Parses [`SourceKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wesad-raw" => Some(SourceKind::WesadRaw),
            "reference-pickle" => Some(SourceKind::ReferencePickle),
            "reference-csv" => Some(SourceKind::ReferenceCsv),
            "simulator" => Some(SourceKind::Simulator),
            "generator" => Some(SourceKind::Generator),
            _ => None,
        }
    }

    /// True for data that was made up rather than measured.
    pub fn is_simulated(self) -> bool {
        matches!(self, SourceKind::Simulator)
    }

    /// True for synthetic data sampled from a generator (never real measurements either).
    pub fn is_generated(self) -> bool {
        matches!(self, SourceKind::Generator)
    }
}

/// Provenance of a dataset: what it was read from and the sha256 of those bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub kind: SourceKind,
    /// The path the user gave (a file or the WESAD directory).
    pub path: String,
    /// sha256 of the source bytes (for a directory: of the sorted per-file digests).
    pub sha256: String,
    /// Free text, e.g. the simulator's parameters.
    pub note: String,
}

/// One subject's 1 Hz data.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    /// Numeric id: WESAD's `S{id}`; the simulator numbers its subjects from 101 (at most 899
    /// of them, so they never reach the reference's synthetic ids 1001–1100).
    pub id: u32,
    /// Channels in [`CHANNELS`] order, each `len()` samples long.
    pub channels: [Vec<f64>; N_CHANNELS],
    /// Class label per second (see [`LabelMap`]).
    pub labels: Vec<u8>,
}

impl Subject {
    /// `S{id}`, the name used as the HDF5 group and in tables.
    pub fn name(&self) -> String {
        format!("S{}", self.id)
    }

    /// Number of 1 Hz rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the subject has no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Checks that every channel has one value per label and that values pass the shared value
    /// check ([`super::values::check_samples`]: finite, within ±1e12).
    pub fn validate(&self, n_classes: usize) -> Result<(), String> {
        for (c, ch) in self.channels.iter().enumerate() {
            if ch.len() != self.labels.len() {
                return Err(format!(
                    "subject {}: channel {} has {} rows but there are {} labels",
                    self.name(),
                    CHANNELS[c],
                    ch.len(),
                    self.labels.len()
                ));
            }
            if let Err(bad) = super::values::check_samples(ch) {
                return Err(format!(
                    "subject {}: channel {} row {} {bad}",
                    self.name(),
                    CHANNELS[c],
                    bad.index
                ));
            }
        }
        if let Some(i) = self.labels.iter().position(|&l| l as usize >= n_classes) {
            return Err(format!(
                "subject {}: label {} at row {} is outside 0..{}",
                self.name(),
                self.labels[i],
                i,
                n_classes
            ));
        }
        Ok(())
    }
}

/// A whole 1 Hz dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub subjects: Vec<Subject>,
    pub label_map: LabelMap,
    /// Always 1.0 today; stored so that files say what they hold.
    pub sampling_rate_hz: f64,
    pub source: Provenance,
}

/// Per-subject line of a [`DatasetSummary`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubjectSummary {
    pub subject: String,
    pub rows: usize,
    /// Rows per class label.
    pub label_counts: Vec<usize>,
}

/// What `dpwear data info` prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub source_kind: SourceKind,
    pub simulated: bool,
    pub source_path: String,
    pub source_sha256: String,
    pub label_map: LabelMap,
    pub class_names: Vec<String>,
    pub sampling_rate_hz: f64,
    pub channels: Vec<String>,
    pub n_subjects: usize,
    pub rows: usize,
    /// Rows per class label over all subjects.
    pub label_counts: Vec<usize>,
    /// Rows with the stress label (class 1).
    pub stress_rows: usize,
    pub subjects: Vec<SubjectSummary>,
}

impl Dataset {
    /// Total number of 1 Hz rows.
    pub fn rows(&self) -> usize {
        self.subjects.iter().map(Subject::len).sum()
    }

    /// Checks every subject (see [`Subject::validate`]) and that subject ids are unique;
    /// errors name the source path.
    pub fn validate(&self) -> Result<(), DataError> {
        self.validate_at(std::path::Path::new(&self.source.path))
    }

    /// [`Dataset::validate`] for a dataset read from `path` (a store), which errors name.
    pub fn validate_at(&self, path: &std::path::Path) -> Result<(), DataError> {
        let n_classes = self.label_map.n_classes();
        let mut seen = std::collections::HashSet::new();
        for s in &self.subjects {
            if !seen.insert(s.id) {
                return Err(DataError::Invalid {
                    path: path.to_path_buf(),
                    reason: format!("subject {} appears twice", s.name()),
                });
            }
            s.validate(n_classes).map_err(|reason| DataError::Invalid {
                path: path.to_path_buf(),
                reason,
            })?;
        }
        Ok(())
    }

    /// A three-class dataset without any label 2 is most likely a binary file read with the
    /// wrong map (its 0 means non-stress, not baseline): says so once.
    pub fn warn_if_three_class_without_amusement(&self) {
        if self.label_map == LabelMap::ThreeClass
            && !self.subjects.iter().any(|s| s.labels.contains(&2))
        {
            tracing::warn!(
                file = %self.source.path,
                "three-class labels requested but no row has label 2 (amusement): this looks like a binary file, whose 0 means non-stress (baseline and amusement), not baseline"
            );
        }
    }

    /// Looks a subject up by id.
    pub fn subject(&self, id: u32) -> Option<&Subject> {
        self.subjects.iter().find(|s| s.id == id)
    }

    /// Summary with per-subject row and label counts.
    pub fn summary(&self) -> DatasetSummary {
        let n_classes = self.label_map.n_classes();
        let mut total = vec![0usize; n_classes];
        let subjects = self
            .subjects
            .iter()
            .map(|s| {
                let mut counts = vec![0usize; n_classes];
                for &l in &s.labels {
                    if let Some(c) = counts.get_mut(l as usize) {
                        *c += 1;
                    }
                }
                for (t, c) in total.iter_mut().zip(&counts) {
                    *t += c;
                }
                SubjectSummary {
                    subject: s.name(),
                    rows: s.len(),
                    label_counts: counts,
                }
            })
            .collect();
        DatasetSummary {
            source_kind: self.source.kind,
            simulated: self.source.kind.is_simulated(),
            source_path: self.source.path.clone(),
            source_sha256: self.source.sha256.clone(),
            label_map: self.label_map,
            class_names: self
                .label_map
                .class_names()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            sampling_rate_hz: self.sampling_rate_hz,
            channels: CHANNELS.iter().map(|s| s.to_string()).collect(),
            n_subjects: self.subjects.len(),
            rows: self.rows(),
            stress_rows: total.get(1).copied().unwrap_or(0),
            label_counts: total,
            subjects,
        }
    }
}

/// Relative spread at or below which a channel counts as constant: `max − min ≤
/// CONSTANT_RELATIVE_TOLERANCE · max(|min|, |max|)`. FFT resampling of a constant signal
/// leaves round-off of order 1e-15 of its magnitude; the resampler itself is exact only to
/// 1e-9 (against scipy), so a spread below that is not signal.
pub const CONSTANT_RELATIVE_TOLERANCE: f64 = 1e-9;

/// Min–max scales `x` to [0, 1] in place, as the reference does per subject and channel.
/// A constant channel (spread at or below [`CONSTANT_RELATIVE_TOLERANCE`] of its magnitude,
/// e.g. a constant raw signal after resampling) becomes exactly 0 everywhere instead of
/// amplified round-off (the reference would produce NaN or noise); returns `false` in that
/// case so callers can warn. Callers check the values first ([`super::values`]); a
/// non-finite value also gives `false` and zeros.
pub fn min_max_scale(x: &mut [f64]) -> bool {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in x.iter() {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let range = hi - lo;
    let magnitude = lo.abs().max(hi.abs());
    if !range.is_finite() || range <= CONSTANT_RELATIVE_TOLERANCE * magnitude {
        x.iter_mut().for_each(|v| *v = 0.0);
        return false;
    }
    x.iter_mut().for_each(|v| *v = (*v - lo) / range);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_map_merges_amusement_and_drops_others() {
        let m = LabelMap::Binary;
        let got: Vec<_> = (0..8).map(|r| m.map_wesad(r)).collect();
        assert_eq!(
            got,
            vec![None, Some(0), Some(1), Some(0), None, None, None, None]
        );
        assert_eq!(LabelMap::ThreeClass.map_wesad(3), Some(2));
    }

    #[test]
    fn min_max_scales_to_unit_interval_and_flags_constant() {
        let mut x = vec![2.0, 4.0, 3.0];
        assert!(min_max_scale(&mut x));
        assert_eq!(x, vec![0.0, 1.0, 0.5]);
        let mut c = vec![5.0; 3];
        assert!(!min_max_scale(&mut c));
        assert_eq!(c, vec![0.0; 3]);
        let mut z = vec![0.0; 4];
        assert!(!min_max_scale(&mut z));
        assert_eq!(z, vec![0.0; 4]);
    }

    #[test]
    fn resampled_constant_channel_scales_to_exact_zero_not_round_off() {
        // A constant raw channel through the FFT resampler: round-off of ~1e-13 remains.
        let raw = vec![31.7; 64 * 300];
        let mut x = crate::data::resample::fft_resample(&raw, 300);
        let lo = x.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert!(
            hi > lo,
            "the resampler leaves round-off (else this test proves nothing)"
        );
        assert!(!min_max_scale(&mut x));
        assert!(x.iter().all(|&v| v == 0.0), "{x:?}");
        // A small but real variation on a large offset is signal, not round-off.
        let mut t: Vec<f64> = (0..10).map(|i| 33.0 + 0.001 * i as f64).collect();
        assert!(min_max_scale(&mut t));
        assert_eq!(t[0], 0.0);
        assert!((t[9] - 1.0).abs() < 1e-12);
    }
}
