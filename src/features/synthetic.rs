//! Synthetic training windows for TSTR and augmentation, in the reference's synthetic CSV
//! format (spec §1.3 end): a leading index column, then `sid, BVP, EDA, ACC_x, ACC_y, ACC_z,
//! TEMP, Label`; one row per second and every 60 consecutive rows one window. The window label
//! is the label of its first time step and, in reference mode, only the last window of the whole
//! set is dropped (spec §2.2) — both as the reference does.
//!
//! May depend on: csv, the data types, the feature transform.

use std::path::Path;

use super::store::FeatureSet;
use super::subwindow_fft::{FeatureMode, SubwindowFft, FEATURES_PER_WINDOW};
use super::windows::{WindowScheme, WINDOW_LEN};
use crate::data::hash::sha256_file;
use crate::data::{DataError, LabelMap, SourceKind, CHANNELS, N_CHANNELS};

/// How the synthetic windows are turned into training examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyntheticWindows {
    /// The reference's `create_preprocessed_subjects_data_gen`: drop the last window of the set.
    Reference,
    /// Keep every window.
    All,
}

/// Reads a reference-format synthetic CSV, keeping subjects `sid ≤ 1000 + max_subjects` when
/// given (the reference's `syn_subj_cnt` filter), and computes the features.
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

    let max_sid = max_subjects.map(|k| 1000 + k as u64);
    let mut sids: Vec<u32> = Vec::new();
    let mut labels: Vec<f64> = Vec::new();
    let mut values: Vec<[f64; N_CHANNELS]> = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| DataError::format(path, format!("line {line}: {e}")))?;
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
        if sid < 0.0 || sid.fract() != 0.0 {
            return Err(DataError::format(
                path,
                format!("line {line}: sid {sid} is not an id"),
            ));
        }
        if max_sid.is_some_and(|m| sid as u64 > m) {
            continue;
        }
        let mut v = [0.0; N_CHANNELS];
        for (c, &col) in cols.iter().enumerate() {
            v[c] = num(col, CHANNELS[c])?;
            if !v[c].is_finite() {
                return Err(DataError::format(
                    path,
                    format!("line {line}: {} is not finite", CHANNELS[c]),
                ));
            }
        }
        sids.push(sid as u32);
        labels.push(num(label_col, "Label")?);
        values.push(v);
    }
    if values.is_empty() {
        return Err(DataError::format(
            path,
            "no synthetic rows (after the subject filter)",
        ));
    }
    if !values.len().is_multiple_of(WINDOW_LEN) {
        return Err(DataError::format(
            path,
            format!(
                "{} rows is not a whole number of 60-row windows",
                values.len()
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
    Ok(FeatureSet {
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
}
