//! Feature files: the HDF5 feature store (`.h5`) and NumPy arrays (`.npz`) for users who continue
//! in Python.
//!
//! HDF5 layout (`schema_version` 1):
//! ```text
//! /          attrs: schema_version, kind = "dpwear-features", dpwear_version, feature_mode,
//!                   window_scheme, label_map, class_names, source_kind, source_path,
//!                   source_sha256, simulated (0/1), subject_ids (dataset order)
//! /X         (N, 6, 210) float64
//! /y         (N,) int64   window label
//! /subject   (N,) int64   subject id
//! /start     (N,) int64   first 1 Hz row of the window within its subject
//! ```
//! The `.npz` holds `X` (N, 6, 210) float64, `y` (N,) int64 and `subject` (N,) int64.
//! Both are written atomically (temporary file + rename).
//!
//! May depend on: hdf5, ndarray, ndarray-npy, the data types.

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::{Array1, Array3};

use super::subwindow_fft::{FeatureMode, FEATURES_PER_WINDOW, FEATURE_LEN};
use super::windows::{WindowScheme, WINDOW_LEN};
use crate::data::h5util::{self, h5err, AtomicH5};
use crate::data::store::{check_kind, Header};
use crate::data::values::{self, MAX_ABS_FEATURE};
use crate::data::{DataError, LabelMap, SourceKind, CHANNELS, N_CHANNELS};

/// Value of the root `kind` attribute of a feature store.
pub const KIND: &str = "dpwear-features";

/// Features of a set of windows plus what they were computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureSet {
    /// Row-major (N, 6, 210).
    pub x: Vec<f64>,
    pub y: Vec<u8>,
    pub subject: Vec<u32>,
    pub start: Vec<u32>,
    /// Subject ids in dataset order (the LOSO fold order).
    pub subject_ids: Vec<u32>,
    pub mode: FeatureMode,
    pub scheme: WindowScheme,
    pub label_map: LabelMap,
    pub source_kind: SourceKind,
    pub source_path: String,
    pub source_sha256: String,
}

impl FeatureSet {
    /// The windows of the first `k` subjects (in subject order): how `--synthetic-subjects K`
    /// (and a grid's `synthetic_subjects`) selects synthetic subjects from any synthetic input.
    /// `k` must be between 1 and the number of subjects held (an error naming `path`, the file
    /// the set was read from, and that number otherwise).
    pub fn first_subjects(&self, k: usize, path: &Path) -> Result<FeatureSet, DataError> {
        check_subject_count(k, self.subject_ids.len(), path)?;
        let keep: Vec<u32> = self.subject_ids[..k].to_vec();
        let idx: Vec<usize> = (0..self.len())
            .filter(|&i| keep.contains(&self.subject[i]))
            .collect();
        let per = self.x.len() / self.len().max(1);
        let mut out = self.clone();
        out.x = idx
            .iter()
            .flat_map(|&i| self.x[i * per..(i + 1) * per].iter().copied())
            .collect();
        out.y = idx.iter().map(|&i| self.y[i]).collect();
        out.subject = idx.iter().map(|&i| self.subject[i]).collect();
        out.start = idx.iter().map(|&i| self.start[i]).collect();
        out.subject_ids = keep;
        Ok(out)
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// True when there are no windows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The (6, 210) features of window `i`, row-major.
    pub fn window(&self, i: usize) -> &[f64] {
        &self.x[i * FEATURES_PER_WINDOW..(i + 1) * FEATURES_PER_WINDOW]
    }

    /// Windows per class label.
    pub fn label_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.label_map.n_classes()];
        for &l in &self.y {
            if let Some(v) = c.get_mut(l as usize) {
                *v += 1;
            }
        }
        c
    }

    /// The one validation of a feature set, read or computed, before anything uses it:
    /// consistent array lengths ([`FeatureSet::check`]), labels within the label map, every
    /// value finite and within ±[`MAX_ABS_FEATURE`] (the shared check of [`crate::data::values`]),
    /// unique subject ids, every window's subject listed, and every listed subject holding at
    /// least one window. `path` is the file the set came from (named in the error).
    pub fn validate(&self, path: &Path) -> Result<(), DataError> {
        self.check(path)?;
        let invalid = |reason: String| DataError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(&l) = self
            .y
            .iter()
            .find(|&&l| l as usize >= self.label_map.n_classes())
        {
            return Err(DataError::format(
                path,
                format!(
                    "/y holds label {l} outside the {} label map",
                    self.label_map.as_str()
                ),
            ));
        }
        if let Err(b) = values::check(&self.x, MAX_ABS_FEATURE) {
            let w = b.index / FEATURES_PER_WINDOW;
            let c = (b.index % FEATURES_PER_WINDOW) / FEATURE_LEN;
            let k = b.index % FEATURE_LEN;
            return Err(invalid(format!(
                "feature of window {w} (subject S{}, start {}), channel {}, bin {k} {b}",
                self.subject[w], self.start[w], CHANNELS[c]
            )));
        }
        let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
        for &id in &self.subject_ids {
            if counts.insert(id, 0).is_some() {
                return Err(DataError::format(
                    path,
                    format!("subject S{id} is listed twice in subject_ids"),
                ));
            }
        }
        for (i, s) in self.subject.iter().enumerate() {
            match counts.get_mut(s) {
                Some(n) => *n += 1,
                None => {
                    return Err(DataError::format(
                        path,
                        format!(
                            "window {i} belongs to subject S{s}, which subject_ids does not list"
                        ),
                    ))
                }
            }
        }
        if let Some(id) = self.subject_ids.iter().find(|id| counts[*id] == 0) {
            return Err(invalid(format!(
                "subject S{id} has no windows (too few rows for one {WINDOW_LEN} s window under the {} window scheme); every subject needs at least one", self.scheme.as_str()
            )));
        }
        Ok(())
    }

    /// Array lengths agree with the number of windows.
    fn check(&self, path: &Path) -> Result<(), DataError> {
        let n = self.y.len();
        if self.x.len() != n * FEATURES_PER_WINDOW
            || self.subject.len() != n
            || self.start.len() != n
        {
            return Err(DataError::format(
                path,
                format!(
                    "inconsistent feature arrays: X has {} values for {n} windows, subject {}, start {}",
                    self.x.len(),
                    self.subject.len(),
                    self.start.len()
                ),
            ));
        }
        Ok(())
    }
}

/// Output format, chosen by the file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureFormat {
    Hdf5,
    Npz,
}

impl FeatureFormat {
    /// `.h5`/`.hdf5` → HDF5, `.npz` → NumPy; anything else is refused.
    pub fn from_path(path: &Path) -> Result<Self, DataError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("h5") | Some("hdf5") => Ok(FeatureFormat::Hdf5),
            Some("npz") => Ok(FeatureFormat::Npz),
            _ => Err(DataError::Parameter {
                name: "--out".into(),
                reason: format!(
                    "{}: unknown output format; use a file name ending in .h5 (HDF5 store) or .npz (NumPy)",
                    path.display()
                ),
            }),
        }
    }
}

/// Writes a feature set in the format given by the extension of `path`.
pub fn write_features(path: &Path, fs: &FeatureSet) -> Result<(), DataError> {
    fs.check(path)?;
    match FeatureFormat::from_path(path)? {
        FeatureFormat::Hdf5 => write_h5(path, fs),
        FeatureFormat::Npz => write_npz(path, fs),
    }
}

fn x_array(fs: &FeatureSet) -> Array3<f64> {
    Array3::from_shape_vec((fs.len(), N_CHANNELS, FEATURE_LEN), fs.x.clone())
        .expect("checked shape")
}

fn write_h5(path: &Path, fs: &FeatureSet) -> Result<(), DataError> {
    let out = AtomicH5::create(path)?;
    let e = out.err();
    let f = out.file();
    Header {
        kind: KIND,
        label_map: fs.label_map,
        source_kind: fs.source_kind,
        source_path: &fs.source_path,
        source_sha256: &fs.source_sha256,
        subject_ids: &fs.subject_ids,
    }
    .write(f)
    .map_err(&e)?;
    h5util::set_str(f, "feature_mode", fs.mode.as_str()).map_err(&e)?;
    h5util::set_str(f, "window_scheme", fs.scheme.as_str()).map_err(&e)?;
    f.new_dataset_builder()
        .with_data(&x_array(fs))
        .create("X")
        .map_err(&e)?;
    let as_i64 = |v: &mut dyn Iterator<Item = i64>| v.collect::<Vec<i64>>();
    f.new_dataset_builder()
        .with_data(&as_i64(&mut fs.y.iter().map(|&v| v as i64)))
        .create("y")
        .map_err(&e)?;
    f.new_dataset_builder()
        .with_data(&as_i64(&mut fs.subject.iter().map(|&v| v as i64)))
        .create("subject")
        .map_err(&e)?;
    f.new_dataset_builder()
        .with_data(&as_i64(&mut fs.start.iter().map(|&v| v as i64)))
        .create("start")
        .map_err(&e)?;
    out.commit()
}

fn write_npz(path: &Path, fs: &FeatureSet) -> Result<(), DataError> {
    let werr = |reason: String| DataError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let tmp = crate::atomic_file::temp_path(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| werr(e.to_string()))?;
    }
    let result = (|| -> Result<(), String> {
        let file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        let mut npz = ndarray_npy::NpzWriter::new(file);
        npz.add_array("X", &x_array(fs))
            .map_err(|e| e.to_string())?;
        let y: Array1<i64> = fs.y.iter().map(|&v| v as i64).collect();
        let s: Array1<i64> = fs.subject.iter().map(|&v| v as i64).collect();
        npz.add_array("y", &y).map_err(|e| e.to_string())?;
        npz.add_array("subject", &s).map_err(|e| e.to_string())?;
        npz.finish().map_err(|e| e.to_string())?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            crate::atomic_file::rename_into_place(&tmp, path).map_err(|e| werr(e.to_string()))
        }
        Err(reason) => {
            let _ = std::fs::remove_file(&tmp);
            Err(werr(reason))
        }
    }
}

/// Reads an HDF5 feature store written by [`write_features`].
pub fn read_features(path: &Path) -> Result<FeatureSet, DataError> {
    if FeatureFormat::from_path(path).ok() == Some(FeatureFormat::Npz) {
        return Err(DataError::format(
            path,
            "dpwear reads features from its HDF5 store (.h5); the .npz form is an export for Python",
        ));
    }
    let f = h5util::open_read(path)?;
    check_kind(&f, path, KIND)?;
    let parse_err = |what: &str, v: &str| DataError::format(path, format!("unknown {what} `{v}`"));
    let mode_s = h5util::get_str(&f, path, "feature_mode")?;
    let scheme_s = h5util::get_str(&f, path, "window_scheme")?;
    let lm_s = h5util::get_str(&f, path, "label_map")?;
    let sk_s = h5util::get_str(&f, path, "source_kind")?;
    let x: Array3<f64> = f
        .dataset("X")
        .map_err(|_| DataError::format(path, "dataset `/X` missing"))?
        .read_dyn::<f64>()
        .map_err(h5err(path))?
        .into_dimensionality()
        .map_err(|e| DataError::format(path, format!("/X is not 3-D: {e}")))?;
    if x.shape()[1..] != [N_CHANNELS, FEATURE_LEN] {
        return Err(DataError::format(
            path,
            format!("/X has shape {:?}, expected (N, 6, 210)", x.shape()),
        ));
    }
    let read_i64 = |name: &str| -> Result<Vec<i64>, DataError> {
        f.dataset(name)
            .map_err(|_| {
                DataError::format(
                    path,
                    format!(
                        "dataset `/{name}` missing (a feature file needs X, y, subject and start)"
                    ),
                )
            })?
            .read_raw()
            .map_err(h5err(path))
    };
    let y = read_i64("y")?
        .into_iter()
        .map(|v| u8::try_from(v).map_err(|_| DataError::format(path, format!("/y holds {v}"))))
        .collect::<Result<Vec<u8>, _>>()?;
    let to_u32 = |name: &str, v: Vec<i64>| {
        v.into_iter()
            .map(|x| {
                u32::try_from(x).map_err(|_| DataError::format(path, format!("/{name} holds {x}")))
            })
            .collect::<Result<Vec<u32>, _>>()
    };
    let subject = to_u32("subject", read_i64("subject")?)?;
    let start = to_u32("start", read_i64("start")?)?;
    let subject_ids = to_u32(
        "subject_ids",
        h5util::get_i64_array(&f, path, "subject_ids")?,
    )?;
    let fs = FeatureSet {
        x: x.as_standard_layout().iter().copied().collect(),
        y,
        subject,
        start,
        subject_ids,
        mode: FeatureMode::parse(&mode_s).ok_or_else(|| parse_err("feature_mode", &mode_s))?,
        scheme: WindowScheme::parse(&scheme_s)
            .ok_or_else(|| parse_err("window_scheme", &scheme_s))?,
        label_map: LabelMap::parse(&lm_s).ok_or_else(|| parse_err("label_map", &lm_s))?,
        source_kind: SourceKind::parse(&sk_s).ok_or_else(|| parse_err("source_kind", &sk_s))?,
        source_path: h5util::get_str(&f, path, "source_path")?,
        source_sha256: h5util::get_str(&f, path, "source_sha256")?,
    };
    fs.validate(path)?;
    Ok(fs)
}

/// `k` subjects asked for out of `available` in `path`: 1 ≤ k ≤ available, else a parameter
/// error naming the file and how many it holds.
pub fn check_subject_count(k: usize, available: usize, path: &Path) -> Result<(), DataError> {
    if k == 0 || k > available {
        return Err(DataError::Parameter {
            name: "--synthetic-subjects (synthetic_subjects)".into(),
            reason: format!(
                "{k} asked for but {} holds {available} synthetic subject{}; choose 1 to {available}",
                path.display(),
                if available == 1 { "" } else { "s" }
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(windows_per_subject: &[(u32, usize)]) -> FeatureSet {
        let mut fs = FeatureSet {
            x: Vec::new(),
            y: Vec::new(),
            subject: Vec::new(),
            start: Vec::new(),
            subject_ids: windows_per_subject.iter().map(|(s, _)| *s).collect(),
            mode: FeatureMode::Reference,
            scheme: WindowScheme::Reference,
            label_map: LabelMap::Binary,
            source_kind: SourceKind::Simulator,
            source_path: "mem".into(),
            source_sha256: "00".into(),
        };
        for &(s, n) in windows_per_subject {
            for w in 0..n {
                fs.x.extend((0..FEATURES_PER_WINDOW).map(|i| (i % 7) as f64 * 0.1));
                fs.y.push((w % 2) as u8);
                fs.subject.push(s);
                fs.start.push((w * WINDOW_LEN) as u32);
            }
        }
        fs
    }

    #[test]
    fn validate_refuses_non_finite_features_and_names_the_window() {
        let p = Path::new("feat.h5");
        let mut fs = set(&[(2, 2), (3, 2)]);
        assert!(fs.validate(p).is_ok());
        // window 3 (second of S3), channel EDA (row 1), bin 5
        fs.x[3 * FEATURES_PER_WINDOW + FEATURE_LEN + 5] = f64::NAN;
        let e = fs.validate(p).unwrap_err();
        assert_eq!(e.class(), crate::data::ErrorClass::InputMalformed);
        let msg = e.to_string();
        assert!(
            msg.contains("feat.h5")
                && msg.contains("window 3")
                && msg.contains("S3")
                && msg.contains("EDA")
                && msg.contains("bin 5")
                && msg.contains("NaN"),
            "{msg}"
        );
        fs.x[3 * FEATURES_PER_WINDOW + FEATURE_LEN + 5] = f64::INFINITY;
        assert!(fs.validate(p).unwrap_err().to_string().contains("inf"));
        fs.x[3 * FEATURES_PER_WINDOW + FEATURE_LEN + 5] = 1e300;
        assert!(fs.validate(p).is_err());
    }

    #[test]
    fn validate_refuses_subjects_without_windows_and_unlisted_subjects() {
        let p = Path::new("feat.h5");
        let mut fs = set(&[(2, 2), (3, 2)]);
        fs.subject_ids.push(9);
        let e = fs.validate(p).unwrap_err();
        assert_eq!(e.class(), crate::data::ErrorClass::InputMalformed);
        assert!(e.to_string().contains("S9 has no windows"), "{e}");
        let mut fs = set(&[(2, 2), (3, 2)]);
        fs.subject_ids = vec![2];
        assert!(fs.validate(p).unwrap_err().to_string().contains("S3"));
        let mut fs = set(&[(2, 2), (3, 2)]);
        fs.subject_ids = vec![2, 3, 2];
        assert!(fs.validate(p).unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn first_subjects_refuses_zero_and_more_than_held() {
        let fs = set(&[(1001, 1), (1002, 2), (1003, 1)]);
        let p = Path::new("syn.h5");
        assert_eq!(fs.first_subjects(2, p).unwrap().len(), 3);
        for k in [0, 4] {
            let e = fs.first_subjects(k, p).unwrap_err();
            assert_eq!(e.class(), crate::data::ErrorClass::InvalidParameter);
            assert!(e.to_string().contains("syn.h5 holds 3"), "{e}");
        }
    }
}
