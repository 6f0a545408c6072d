//! Synthetic training windows for TSTR and augmentation, in the reference's synthetic CSV
//! format (spec §1.3 end): a leading index column, then `sid, BVP, EDA, ACC_x, ACC_y, ACC_z,
//! TEMP, Label`; one row per second and every 60 consecutive rows one window. The window label
//! is the label of its first time step and, in reference mode, only the last window of the whole
//! set is dropped (spec §2.2) — both as the reference does.
//!
//! [`read_synthetic`] reads every synthetic input kind (this CSV, a dataset store, a feature
//! store) with one subject-selection rule; [`same_data_warning`] spots real data passed off as
//! synthetic.
//!
//! May depend on: csv, the data types and stores, the feature transform.

use std::path::Path;

use super::store::{check_subject_count, FeatureSet};
use super::subwindow_fft::{FeatureMode, SubwindowFft, FEATURES_PER_WINDOW};
use super::windows::{WindowScheme, WINDOW_LEN};
use crate::data::hash::sha256_file;
use crate::data::store;
use crate::data::values::check_samples;
use crate::data::{DataError, LabelMap, SourceKind, CHANNELS, N_CHANNELS};

/// How the synthetic windows are turned into training examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyntheticWindows {
    /// The reference's `create_preprocessed_subjects_data_gen`: drop the last window of the set.
    Reference,
    /// Keep every window.
    All,
}

/// Reads a reference-format synthetic CSV, keeping its first `max_subjects` subjects (in file
/// order) when given, and computes the features. For the reference's files (sids 1001, 1002, …
/// in order) this is the reference's `sid ≤ 1000 + syn_subj_cnt` filter; it is also what
/// [`FeatureSet::first_subjects`] does for the other synthetic inputs, so `K` means the same
/// for every kind. `K` = 0 or more subjects than the file holds is refused (naming the file and
/// its count). Values pass the shared check ([`crate::data::values`]) with their line named.
pub fn read_reference_synthetic_csv(
    path: &Path,
    mode: FeatureMode,
    windows: SyntheticWindows,
    max_subjects: Option<usize>,
) -> Result<FeatureSet, DataError> {
    let sha256 = sha256_file(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| DataError::format(path, format!("not a readable CSV: {e}")))?;
    let headers = reader
        .headers()
        .map_err(|e| DataError::format(path, format!("not a readable CSV: {e}")))?
        .clone();
    let find = |name: &str| headers.iter().position(|h| h.trim() == name);
    let missing = |name: &str| {
        DataError::format(
            path,
            format!(
                "synthetic CSV has no `{name}` column (expected sid, BVP, EDA, ACC_x, ACC_y, ACC_z, TEMP, Label)"
            ),
        )
    };
    let sid_col = find("sid").ok_or_else(|| missing("sid"))?;
    let label_col = find("Label")
        .or_else(|| find("label"))
        .ok_or_else(|| missing("Label"))?;
    let cols: Vec<usize> = CHANNELS
        .iter()
        .map(|c| find(c).ok_or_else(|| missing(c)))
        .collect::<Result<_, _>>()?;

    let mut sids: Vec<u32> = Vec::new();
    let mut labels: Vec<f64> = Vec::new();
    let mut values: Vec<[f64; N_CHANNELS]> = Vec::new();
    // Subjects in order of first appearance.
    let mut order: Vec<u32> = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| DataError::format(path, format!("not a readable CSV: {e}")))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let num = |col: usize, what: &str| -> Result<f64, DataError> {
            let s = rec
                .get(col)
                .ok_or_else(|| DataError::format(path, format!("line {line}: missing `{what}`")))?;
            s.trim().parse::<f64>().map_err(|_| {
                DataError::format(
                    path,
                    format!("line {line}: `{what}` is not a number: {s:?}"),
                )
            })
        };
        let sid = num(sid_col, "sid")?;
        if !(0.0..=u32::MAX as f64).contains(&sid) || sid.fract() != 0.0 {
            return Err(DataError::format(
                path,
                format!("line {line}: sid {sid} is not an id"),
            ));
        }
        let sid = sid as u32;
        if order.last() != Some(&sid) && !order.contains(&sid) {
            order.push(sid);
        }
        let mut v = [0.0; N_CHANNELS];
        for (c, &col) in cols.iter().enumerate() {
            v[c] = num(col, CHANNELS[c])?;
        }
        if let Err(b) = check_samples(&v) {
            return Err(DataError::Invalid {
                path: path.to_path_buf(),
                reason: format!("line {line}: `{}` {b}", CHANNELS[b.index]),
            });
        }
        sids.push(sid);
        labels.push(num(label_col, "Label")?);
        values.push(v);
    }
    if let Some(k) = max_subjects {
        check_subject_count(k, order.len(), path)?;
        let keep = &order[..k];
        let kept: Vec<usize> = (0..sids.len())
            .filter(|&i| keep.contains(&sids[i]))
            .collect();
        sids = kept.iter().map(|&i| sids[i]).collect();
        labels = kept.iter().map(|&i| labels[i]).collect();
        values = kept.iter().map(|&i| values[i]).collect();
    }
    if values.is_empty() {
        return Err(DataError::format(path, "no synthetic rows"));
    }
    if !values.len().is_multiple_of(WINDOW_LEN) {
        return Err(DataError::format(
            path,
            format!(
                "{} rows{} is not a whole number of 60-row windows",
                values.len(),
                match max_subjects {
                    Some(k) => format!(" (of the first {k} subjects)"),
                    None => String::new(),
                }
            ),
        ));
    }
    let mut n_windows = values.len() / WINDOW_LEN;
    if windows == SyntheticWindows::Reference {
        n_windows -= 1;
    }
    let mut fft = SubwindowFft::new(mode);
    let mut x = vec![0.0; n_windows * FEATURES_PER_WINDOW];
    let mut y = Vec::with_capacity(n_windows);
    let mut subject = Vec::with_capacity(n_windows);
    let mut buf: [Vec<f64>; N_CHANNELS] = std::array::from_fn(|_| vec![0.0; WINDOW_LEN]);
    for w in 0..n_windows {
        let rows = &values[w * WINDOW_LEN..(w + 1) * WINDOW_LEN];
        for (t, r) in rows.iter().enumerate() {
            for c in 0..N_CHANNELS {
                buf[c][t] = r[c];
            }
        }
        let label = labels[w * WINDOW_LEN];
        if label != 0.0 && label != 1.0 {
            return Err(DataError::format(
                path,
                format!(
                    "window {w} (line {}): label {label} is not binary 0/1",
                    w * WINDOW_LEN + 2
                ),
            ));
        }
        let channels: [&[f64]; N_CHANNELS] = std::array::from_fn(|c| &buf[c][..]);
        fft.window_features(
            channels,
            &mut x[w * FEATURES_PER_WINDOW..(w + 1) * FEATURES_PER_WINDOW],
        );
        y.push(label as u8);
        subject.push(sids[w * WINDOW_LEN]);
    }
    let mut subject_ids: Vec<u32> = Vec::new();
    for &s in &subject {
        if subject_ids.last() != Some(&s) && !subject_ids.contains(&s) {
            subject_ids.push(s);
        }
    }
    let fs = FeatureSet {
        x,
        start: vec![0; y.len()],
        y,
        subject,
        subject_ids,
        mode,
        scheme: WindowScheme::NonOverlapping,
        label_map: LabelMap::Binary,
        source_kind: SourceKind::ReferenceCsv,
        source_path: path.display().to_string(),
        source_sha256: sha256,
    };
    fs.validate(path)?;
    Ok(fs)
}

/// Reads synthetic training windows of any kind dpwear accepts — a reference-format synthetic
/// CSV (`.csv`), a dataset store (windowed non-overlapping) or a feature store — keeping the
/// first `k` subjects when given (the same rule for every kind; see
/// [`read_reference_synthetic_csv`] and [`FeatureSet::first_subjects`]). `windows` applies to
/// the CSV only. The result has passed [`FeatureSet::validate`].
pub fn read_synthetic(
    path: &Path,
    mode: FeatureMode,
    windows: SyntheticWindows,
    k: Option<usize>,
) -> Result<FeatureSet, DataError> {
    if path.extension().and_then(|e| e.to_str()) == Some("csv") {
        return read_reference_synthetic_csv(path, mode, windows, k);
    }
    let fs = if store::file_kind(path)? == store::KIND {
        let ds = store::read_dataset(path)?;
        let fs = super::build(&ds, WindowScheme::NonOverlapping, mode);
        fs.validate(path)?;
        fs
    } else {
        super::read_features(path)?
    };
    match k {
        Some(k) => fs.first_subjects(k, path),
        None => Ok(fs),
    }
}

/// The warning to give when synthetic training data is the real data itself: one of its
/// digests (file sha256, or the source digest a dpwear store records) equals the real data's
/// source digest. `None` when they differ.
pub fn same_data_warning(
    real_path: &str,
    real_sha256: &str,
    synthetic_path: &str,
    synthetic_digests: &[&str],
) -> Option<String> {
    synthetic_digests.contains(&real_sha256).then(|| {
        format!(
            "synthetic data {synthetic_path} is the real data (source {real_path}, same sha256 {}…): the test subjects leak into training, so the scores do not measure unseen subjects",
            &real_sha256[..real_sha256.len().min(12)]
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_csv(dir: &Path, subjects: u32, windows_per_subject: usize) -> std::path::PathBuf {
        let p = dir.join("syn.csv");
        let mut s = String::from(",sid,BVP,EDA,ACC_x,ACC_y,ACC_z,TEMP,Label\n");
        for k in 1..=subjects {
            for w in 0..windows_per_subject {
                for t in 0..WINDOW_LEN {
                    let v = ((t * 7 + w) % 13) as f64 / 13.0;
                    let label = (w % 2 == 1) as u8;
                    s += &format!("{},{},{v},{v},{v},{v},{v},{v},{label}\n", t + 1, 1000 + k);
                }
            }
        }
        std::fs::write(&p, s).unwrap();
        p
    }

    #[test]
    fn reference_mode_drops_only_the_last_window_and_filters_subjects() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_csv(dir.path(), 3, 4);
        let all = read_reference_synthetic_csv(
            &p,
            FeatureMode::Reference,
            SyntheticWindows::Reference,
            None,
        )
        .unwrap();
        assert_eq!(all.len(), 11);
        assert_eq!(all.y[..4], [0, 1, 0, 1]);
        assert_eq!(all.subject_ids, vec![1001, 1002, 1003]);
        let two = read_reference_synthetic_csv(
            &p,
            FeatureMode::Reference,
            SyntheticWindows::All,
            Some(2),
        )
        .unwrap();
        assert_eq!(two.len(), 8);
        assert_eq!(two.subject_ids, vec![1001, 1002]);
    }

    #[test]
    fn partial_windows_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.csv");
        std::fs::write(
            &p,
            ",sid,BVP,EDA,ACC_x,ACC_y,ACC_z,TEMP,Label\n1,1001,0,0,0,0,0,0,0\n",
        )
        .unwrap();
        let e =
            read_reference_synthetic_csv(&p, FeatureMode::Reference, SyntheticWindows::All, None)
                .unwrap_err()
                .to_string();
        assert!(e.contains("bad.csv") && e.contains("60-row"), "{e}");
    }

    #[test]
    fn subject_count_outside_1_to_available_is_refused_for_every_kind() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_csv(dir.path(), 3, 2);
        for k in [0, 4, 999] {
            let e = read_synthetic(&p, FeatureMode::Reference, SyntheticWindows::All, Some(k))
                .unwrap_err();
            assert_eq!(e.class(), crate::data::ErrorClass::InvalidParameter);
            let msg = e.to_string();
            assert!(
                msg.contains("syn.csv") && msg.contains("holds 3") && msg.contains(&k.to_string()),
                "{k}: {msg}"
            );
        }
        // A feature store of the same windows: the same rule.
        let all = read_synthetic(&p, FeatureMode::Reference, SyntheticWindows::All, None).unwrap();
        let h5 = dir.path().join("syn.h5");
        super::super::write_features(&h5, &all).unwrap();
        let two =
            read_synthetic(&h5, FeatureMode::Reference, SyntheticWindows::All, Some(2)).unwrap();
        assert_eq!(two.subject_ids, vec![1001, 1002]);
        assert_eq!(two.len(), 4);
        let csv_two =
            read_synthetic(&p, FeatureMode::Reference, SyntheticWindows::All, Some(2)).unwrap();
        assert_eq!(csv_two.x, two.x);
        for k in [0, 4] {
            let msg = read_synthetic(&h5, FeatureMode::Reference, SyntheticWindows::All, Some(k))
                .unwrap_err()
                .to_string();
            assert!(msg.contains("syn.h5") && msg.contains("holds 3"), "{msg}");
        }
    }

    #[test]
    fn first_subjects_follow_file_order_not_sid_arithmetic() {
        // sids 1005, 1002 in that order: K = 1 keeps 1005 (the first), as for a store.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("odd.csv");
        let mut s = String::from(",sid,BVP,EDA,ACC_x,ACC_y,ACC_z,TEMP,Label\n");
        for sid in [1005, 1002] {
            for t in 0..WINDOW_LEN {
                s += &format!("{t},{sid},0.{t},0.5,0.5,0.5,0.5,0.5,0\n");
            }
        }
        std::fs::write(&p, s).unwrap();
        let one =
            read_synthetic(&p, FeatureMode::Reference, SyntheticWindows::All, Some(1)).unwrap();
        assert_eq!(one.subject_ids, vec![1005]);
    }

    #[test]
    fn non_finite_synthetic_values_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nan.csv");
        let mut s = String::from(",sid,BVP,EDA,ACC_x,ACC_y,ACC_z,TEMP,Label\n");
        for t in 0..WINDOW_LEN {
            let v = if t == 7 { "1e308" } else { "0.5" };
            s += &format!("{t},1001,0.1,0.2,0.3,0.4,{v},0.6,0\n");
        }
        std::fs::write(&p, s).unwrap();
        let e =
            read_synthetic(&p, FeatureMode::Reference, SyntheticWindows::All, None).unwrap_err();
        assert_eq!(e.class(), crate::data::ErrorClass::InputMalformed);
        let msg = e.to_string();
        assert!(msg.contains("line 9") && msg.contains("ACC_z"), "{msg}");
    }

    #[test]
    fn same_data_is_spotted_by_any_digest() {
        assert!(same_data_warning("f.h5", "abc", "s.h5", &["xyz", "abc"])
            .is_some_and(|w| w.contains("leak") && w.contains("s.h5") && w.contains("f.h5")));
        assert!(same_data_warning("f.h5", "abc", "s.h5", &["xyz"]).is_none());
    }
}
