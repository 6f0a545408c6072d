//! Reader for the reference implementation's `subject_data_1hz.pickle` (spec §1.3): a dict
//! `{subject id (int): DataFrame[BVP, EDA, ACC_x, ACC_y, ACC_z, TEMP, label]}` of 1 Hz rows,
//! features already min–max scaled per subject, labels 0/1 (or 0/1/2 for the 3-class files,
//! read with [`LabelMap::ThreeClass`]). Values pass the shared check ([`super::values`]) in
//! [`Dataset::validate`].
//!
//! May depend on: [`super::pickle`], [`super::dataset`], [`super::hash`], [`super::error`].

use std::path::Path;

use super::dataset::{Dataset, LabelMap, Provenance, SourceKind, Subject, CHANNELS, N_CHANNELS};
use super::error::DataError;
use super::hash::sha256_hex;
use super::pickle::{self, pandas::is_dataframe, to_dataframe, Value};

/// Reads the reference's 1 Hz pickle. Subjects keep the dict's order. The file holds class
/// labels already: they must belong to `label_map` (the reference's file is binary; a label 2
/// under [`LabelMap::Binary`] is refused with its subject and row, never taken as a reason to
/// switch to three classes).
pub fn read_reference_pickle(path: &Path, label_map: LabelMap) -> Result<Dataset, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let sha256 = sha256_hex(&bytes);
    let root = pickle::load_bytes(path, bytes)?;
    let bad = |reason: String| DataError::format(path, reason);

    let pairs = root.dict_pairs().ok_or_else(|| {
        bad(format!(
            "expected the reference's dict {{subject id: DataFrame}}, found a {} ({})",
            root.kind_name(),
            root.describe(1)
        ))
    })?;
    if pairs.is_empty() {
        return Err(bad("the subject dict is empty".into()));
    }
    let mut subjects = Vec::with_capacity(pairs.len());
    for (k, v) in &pairs {
        let id = subject_id(k).ok_or_else(|| {
            bad(format!(
                "expected integer subject ids as dict keys, found {}",
                k.describe(0)
            ))
        })?;
        let subject = subject_from_frame(id, v, label_map)
            .map_err(|reason| bad(format!("subject S{id}: {reason}")))?;
        subjects.push(subject);
    }
    let ds = Dataset {
        subjects,
        label_map,
        sampling_rate_hz: 1.0,
        source: Provenance {
            kind: SourceKind::ReferencePickle,
            path: path.display().to_string(),
            sha256,
            note: String::new(),
        },
    };
    ds.validate()?;
    ds.warn_if_three_class_without_amusement();
    Ok(ds)
}

fn subject_id(k: &Value) -> Option<u32> {
    k.as_i64().and_then(|i| u32::try_from(i).ok())
}

fn subject_from_frame(id: u32, v: &Value, label_map: LabelMap) -> Result<Subject, String> {
    if !is_dataframe(v) {
        return Err(format!(
            "expected a pandas DataFrame, found {}",
            v.describe(1)
        ));
    }
    let df = to_dataframe(v)?;
    let col = |name: &str| {
        df.column(name).ok_or_else(|| {
            format!(
                "column {name:?} missing (columns are {:?}; expected {:?} + \"label\")",
                df.columns, CHANNELS
            )
        })
    };
    let mut channels: [Vec<f64>; N_CHANNELS] = Default::default();
    for (c, name) in CHANNELS.iter().enumerate() {
        channels[c] = col(name)?.to_vec();
    }
    let raw_labels = col("label")?;
    let labels = raw_labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            label_map
                .stored_class(l)
                .map_err(|why| format!("row {i}: {why}"))
        })
        .collect::<Result<Vec<u8>, String>>()?;
    Ok(Subject {
        id,
        channels,
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn shared_data() -> PathBuf {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
        if p.exists() {
            p
        } else {
            PathBuf::from("/work/shared/data")
        }
    }

    fn reference_path() -> PathBuf {
        shared_data().join("wesad/subject_data_1hz.pickle")
    }

    const ROWS: [(u32, usize); 15] = [
        (2, 2121),
        (3, 2155),
        (4, 2165),
        (5, 2217),
        (6, 2202),
        (7, 2198),
        (8, 2209),
        (9, 2197),
        (10, 2277),
        (11, 2228),
        (13, 2226),
        (14, 2227),
        (15, 2233),
        (16, 2221),
        (17, 2276),
    ];

    #[test]
    fn reads_the_reference_pickle() {
        let ds = read_reference_pickle(&reference_path(), LabelMap::Binary)
            .expect("reference pickle reads");
        assert_eq!(ds.label_map, LabelMap::Binary);
        assert_eq!(ds.source.kind, SourceKind::ReferencePickle);
        assert_eq!(
            ds.source.sha256,
            "7fbcdbf02cfeafbdca34d544eb5b24d6643af0a0c3a82e750f68ea8367ecd00f"
        );
        let got: Vec<(u32, usize)> = ds.subjects.iter().map(|s| (s.id, s.len())).collect();
        assert_eq!(got, ROWS.to_vec());
        assert_eq!(ds.rows(), 33152);
        let sum = ds.summary();
        assert_eq!(sum.stress_rows, 9966);
        assert_eq!(sum.label_counts, vec![23186, 9966]);
        // Spec §1.3 per-subject binary counts, e.g. S2 1506/615, S17 1553/723.
        assert_eq!(sum.subjects[0].label_counts, vec![1506, 615]);
        assert_eq!(sum.subjects[14].label_counts, vec![1553, 723]);
        for s in &ds.subjects {
            for (c, ch) in s.channels.iter().enumerate() {
                let lo = ch.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = ch.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                assert!(lo.abs() < 1e-12, "S{} {} min {lo}", s.id, CHANNELS[c]);
                assert!(
                    (hi - 1.0).abs() < 1e-12,
                    "S{} {} max {hi}",
                    s.id,
                    CHANNELS[c]
                );
            }
        }
    }

    #[test]
    fn truncated_copies_are_errors_not_panics() {
        let bytes = std::fs::read(reference_path()).expect("reference pickle present");
        let dir = tempfile::tempdir().unwrap();
        let n = bytes.len();
        for cut in [
            0,
            1,
            2,
            11,
            12,
            100,
            231,
            290,
            5000,
            n / 3,
            n / 2,
            n - 2,
            n - 1,
        ] {
            let p = dir.path().join(format!("cut_{cut}.pickle"));
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let e =
                read_reference_pickle(&p, LabelMap::Binary).expect_err("truncated file must fail");
            let msg = e.to_string();
            assert!(msg.contains(&format!("cut_{cut}.pickle")), "{msg}");
            assert!(!msg.contains('\n'), "one line: {msg}");
        }
    }

    #[test]
    fn wrong_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // The reference CSV handed in by mistake.
        let csv = shared_data().join("wesad/wesad_preprocessed_1hz.csv");
        let e = read_reference_pickle(&csv, LabelMap::Binary)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("wesad_preprocessed_1hz.csv") && e.contains("not a pickle"),
            "{e}"
        );
        // An HDF5 file.
        let h5 = dir.path().join("x.h5");
        std::fs::write(&h5, b"\x89HDF\r\n\x1a\n\0\0\0\0").unwrap();
        let e = read_reference_pickle(&h5, LabelMap::Binary)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.h5") && e.contains("HDF5"), "{e}");
        // A pickle of something else: {2: [1, 2]} and [1].
        let p = dir.path().join("other.pickle");
        std::fs::write(&p, b"\x80\x04}\x94K\x02]\x94(K\x01K\x02es.").unwrap();
        let e = read_reference_pickle(&p, LabelMap::Binary)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("other.pickle") && e.contains("S2") && e.contains("DataFrame"),
            "{e}"
        );
        std::fs::write(&p, b"\x80\x04]\x94K\x01a.").unwrap();
        let e = read_reference_pickle(&p, LabelMap::Binary)
            .unwrap_err()
            .to_string();
        assert!(e.contains("found a list"), "{e}");
        // Missing file.
        let e =
            read_reference_pickle(&dir.path().join("nope.pickle"), LabelMap::Binary).unwrap_err();
        assert_eq!(e.class(), crate::data::ErrorClass::InputUnreadable);
    }

    /// The reference pickle with one value of subject S2's column `c` (a channel index, or
    /// `N_CHANNELS` for the label) at row `row` replaced by `v`: the column's float64 bytes
    /// are found in the file (pandas stores each column of a block contiguously) and patched.
    fn patched(dir: &Path, c: usize, row: usize, v: f64) -> PathBuf {
        let path = reference_path();
        let ds = read_reference_pickle(&path, LabelMap::Binary).unwrap();
        let s2 = &ds.subjects[0];
        let col: Vec<f64> = if c < N_CHANNELS {
            s2.channels[c].clone()
        } else {
            s2.labels.iter().map(|&l| l as f64).collect()
        };
        let needle: Vec<u8> = col.iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle.as_slice())
            .expect("S2's column is stored contiguously in the pickle");
        bytes[at + 8 * row..at + 8 * row + 8].copy_from_slice(&v.to_le_bytes());
        let out = dir.join(format!("patched-{c}-{row}.pickle"));
        std::fs::write(&out, bytes).unwrap();
        out
    }

    #[test]
    fn a_stray_label_2_follows_the_label_map_and_bad_values_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let p = patched(dir.path(), N_CHANNELS, 700, 2.0);
        let e = read_reference_pickle(&p, LabelMap::Binary).unwrap_err();
        assert_eq!(e.class(), crate::data::ErrorClass::InputMalformed);
        let msg = e.to_string();
        assert!(
            msg.contains("patched-6-700.pickle")
                && msg.contains("S2")
                && msg.contains("row 700")
                && msg.contains("label 2"),
            "{msg}"
        );
        let ds = read_reference_pickle(&p, LabelMap::ThreeClass).unwrap();
        assert_eq!(ds.label_map, LabelMap::ThreeClass);
        assert_eq!(ds.subjects[0].labels[700], 2);
        // A NaN in a channel names subject, channel and row.
        let p = patched(dir.path(), 0, 42, f64::NAN);
        let msg = read_reference_pickle(&p, LabelMap::Binary)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("S2")
                && msg.contains("BVP")
                && msg.contains("row 42")
                && msg.contains("NaN"),
            "{msg}"
        );
    }
}
