//! Reader for the reference implementation's `wesad_preprocessed_1hz.csv`: the 15 per-subject
//! 1 Hz DataFrames concatenated in subject order, with an unnamed running index and the columns
//! `BVP, EDA, ACC_x, ACC_y, ACC_z, TEMP, label`. The file has no subject column, so subject
//! boundaries come from the reference's per-subject row counts (spec §1.3). A CSV that does carry
//! a `subject` (or `sid`) column is split by that column instead.
//!
//! May depend on: csv, the data types.

use std::path::Path;

use super::dataset::{
    Dataset, LabelMap, Provenance, SourceKind, Subject, CHANNELS, N_CHANNELS, WESAD_SUBJECT_IDS,
};
use super::error::DataError;
use super::hash::sha256_file;
use super::values::check_samples;

/// Rows per subject of the reference 1 Hz data, in [`WESAD_SUBJECT_IDS`] order (spec §1.3,
/// verified there by loading the reference pickle; their sum is 33,152).
pub const REFERENCE_ROWS_PER_SUBJECT: [usize; 15] = [
    2121, 2155, 2165, 2217, 2202, 2198, 2209, 2197, 2277, 2228, 2226, 2227, 2233, 2221, 2276,
];

/// Reads the reference CSV (or a CSV of the same columns with a subject column). The file
/// holds class labels already: each must belong to `label_map` (the reference CSV is binary,
/// so under [`LabelMap::Binary`] a stray `2` is refused with its line; it never turns the store
/// into a three-class one). Every value passes the shared check ([`super::values`]) with its
/// line and column named.
pub fn read_reference_csv(path: &Path, label_map: LabelMap) -> Result<Dataset, DataError> {
    let sha256 = sha256_file(path)?;
    // `#` lines are comments (the provenance block of `dpwear serve`'s CSV downloads).
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .comment(Some(b'#'))
        .from_path(path)
        .map_err(|e| csv_err(path, e))?;
    let headers = reader.headers().map_err(|e| csv_err(path, e))?.clone();
    let find = |name: &str| headers.iter().position(|h| h.trim() == name);
    let mut cols = [0usize; N_CHANNELS];
    for (c, name) in CHANNELS.iter().enumerate() {
        cols[c] = find(name).ok_or_else(|| {
            DataError::format(
                path,
                format!(
                    "CSV header has no `{name}` column (expected BVP, EDA, ACC_x, ACC_y, ACC_z, TEMP, label; found: {})",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
    }
    let label_col = find("label")
        .or_else(|| find("Label"))
        .ok_or_else(|| DataError::format(path, "CSV header has no `label` column"))?;
    let subject_col = find("subject").or_else(|| find("sid"));

    let mut rows: Vec<([f64; N_CHANNELS], u8, Option<u32>)> = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_err(path, e))?;
        // The record's own line (the header is line 1; quoted fields may span lines).
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let field = |col: usize, what: &str| -> Result<&str, DataError> {
            rec.get(col).ok_or_else(|| {
                DataError::format(path, format!("line {line}: missing field `{what}`"))
            })
        };
        let mut values = [0f64; N_CHANNELS];
        for c in 0..N_CHANNELS {
            let s = field(cols[c], CHANNELS[c])?;
            values[c] = s.trim().parse().map_err(|_| {
                DataError::format(
                    path,
                    format!("line {line}: `{}` is not a number: {s:?}", CHANNELS[c]),
                )
            })?;
        }
        if let Err(b) = check_samples(&values) {
            return Err(DataError::Invalid {
                path: path.to_path_buf(),
                reason: format!("line {line}: `{}` {b}", CHANNELS[b.index]),
            });
        }
        let ls = field(label_col, "label")?;
        let label = parse_label(ls)
            .ok_or_else(|| format!("label {ls:?} is not an integer class"))
            .and_then(|l| label_map.stored_class(l as f64))
            .map_err(|why| DataError::format(path, format!("line {line}: {why}")))?;
        let subject = match subject_col {
            Some(col) => {
                let s = field(col, "subject")?;
                Some(parse_subject(s).ok_or_else(|| {
                    DataError::format(
                        path,
                        format!("line {line}: subject {s:?} is not a subject id"),
                    )
                })?)
            }
            None => None,
        };
        rows.push((values, label, subject));
    }
    if rows.is_empty() {
        return Err(DataError::format(path, "CSV has a header but no rows"));
    }

    let groups: Vec<(u32, std::ops::Range<usize>)> = if subject_col.is_some() {
        group_by_subject(&rows)
    } else {
        let total: usize = REFERENCE_ROWS_PER_SUBJECT.iter().sum();
        if rows.len() != total {
            return Err(DataError::format(
                path,
                format!(
                    "CSV has no subject column and {} rows; subject boundaries are only known for the reference layout ({total} rows, spec §1.3). Add a `subject` column to import other CSVs",
                    rows.len()
                ),
            ));
        }
        let mut start = 0;
        WESAD_SUBJECT_IDS
            .iter()
            .zip(REFERENCE_ROWS_PER_SUBJECT)
            .map(|(&id, n)| {
                let r = start..start + n;
                start += n;
                (id, r)
            })
            .collect()
    };

    let subjects = groups
        .into_iter()
        .map(|(id, range)| Subject {
            id,
            channels: std::array::from_fn(|c| rows[range.clone()].iter().map(|r| r.0[c]).collect()),
            labels: rows[range].iter().map(|r| r.1).collect(),
        })
        .collect();
    let ds = Dataset {
        subjects,
        label_map,
        sampling_rate_hz: 1.0,
        source: Provenance {
            kind: SourceKind::ReferenceCsv,
            path: path.display().to_string(),
            sha256,
            note: "reference implementation's preprocessed 1 Hz WESAD wrist data".into(),
        },
    };
    ds.validate()?;
    ds.warn_if_three_class_without_amusement();
    Ok(ds)
}

/// Contiguous runs of equal subject ids; a subject that reappears later is an error caught by
/// `Dataset::validate` (duplicate subject).
fn group_by_subject(
    rows: &[([f64; N_CHANNELS], u8, Option<u32>)],
) -> Vec<(u32, std::ops::Range<usize>)> {
    let mut groups: Vec<(u32, std::ops::Range<usize>)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let id = r.2.unwrap_or(0);
        match groups.last_mut() {
            Some((last, range)) if *last == id => range.end = i + 1,
            _ => groups.push((id, i..i + 1)),
        }
    }
    groups
}

fn parse_label(s: &str) -> Option<i64> {
    let s = s.trim();
    s.parse::<i64>().ok().or_else(|| {
        let f: f64 = s.parse().ok()?;
        (f.fract() == 0.0 && f.is_finite()).then_some(f as i64)
    })
}

fn parse_subject(s: &str) -> Option<u32> {
    let s = s.trim();
    let s = s.strip_prefix('S').unwrap_or(s);
    s.parse::<u32>().ok().or_else(|| {
        s.parse::<f64>()
            .ok()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
            .map(|f| f as u32)
    })
}

fn csv_err(path: &Path, e: csv::Error) -> DataError {
    match e.kind() {
        csv::ErrorKind::Io(_) => {
            let msg = e.to_string();
            match e.into_kind() {
                csv::ErrorKind::Io(io) => DataError::io(path, io),
                _ => DataError::format(path, msg),
            }
        }
        _ => DataError::format(path, format!("not a readable CSV: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_row_counts_sum_to_33152() {
        assert_eq!(REFERENCE_ROWS_PER_SUBJECT.iter().sum::<usize>(), 33_152);
    }

    #[test]
    fn csv_with_subject_column_is_split_by_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(
            &p,
            "subject,BVP,EDA,ACC_x,ACC_y,ACC_z,TEMP,label\nS3,0,0,0,0,0,0,0\nS3,1,1,1,1,1,1,1\n7,0.5,0.5,0.5,0.5,0.5,0.5,0\n",
        )
        .unwrap();
        let ds = read_reference_csv(&p, LabelMap::Binary).unwrap();
        assert_eq!(ds.subjects.len(), 2);
        assert_eq!(ds.subjects[0].id, 3);
        assert_eq!(ds.subjects[0].labels, vec![0, 1]);
        assert_eq!(ds.subjects[1].channels[5], vec![0.5]);
    }

    #[test]
    fn bad_value_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.csv");
        std::fs::write(
            &p,
            ",BVP,EDA,ACC_x,ACC_y,ACC_z,TEMP,label\n0,1,x,0,0,0,0,0\n",
        )
        .unwrap();
        let err = read_reference_csv(&p, LabelMap::Binary)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.csv") && err.contains("line 2") && err.contains("EDA"),
            "{err}"
        );
    }

    const HEADER: &str = "subject,BVP,EDA,ACC_x,ACC_y,ACC_z,TEMP,label\n";

    #[test]
    fn a_stray_label_2_is_refused_under_binary_and_named_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("stray.csv");
        let mut s = String::from(HEADER);
        for i in 0..10 {
            let l = if i == 6 { 2 } else { i % 2 };
            s += &format!("S3,0.{i},0.{i},0,0,0,0,{l}\n");
        }
        std::fs::write(&p, &s).unwrap();
        let e = read_reference_csv(&p, LabelMap::Binary).unwrap_err();
        assert_eq!(e.class(), crate::data::ErrorClass::InputMalformed);
        let msg = e.to_string();
        // header = line 1, row i on line i + 2
        assert!(
            msg.contains("stray.csv") && msg.contains("line 8") && msg.contains("label 2"),
            "{msg}"
        );
        // The three-class map takes it, and says it is three-class.
        let ds = read_reference_csv(&p, LabelMap::ThreeClass).unwrap();
        assert_eq!(ds.label_map, LabelMap::ThreeClass);
        assert_eq!(ds.subjects[0].labels[6], 2);
        // Labels outside every map are refused under both.
        std::fs::write(&p, format!("{HEADER}S3,0,0,0,0,0,0,3\n")).unwrap();
        for map in [LabelMap::Binary, LabelMap::ThreeClass] {
            let msg = read_reference_csv(&p, map).unwrap_err().to_string();
            assert!(msg.contains("line 2") && msg.contains("label 3"), "{msg}");
        }
    }

    #[test]
    fn non_finite_and_overflowing_values_are_refused_by_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.csv");
        for (v, needle) in [
            ("NaN", "NaN"),
            ("inf", "inf"),
            ("-inf", "-inf"),
            ("1e308", "1e308"),
        ] {
            std::fs::write(
                &p,
                format!("{HEADER}S3,0,0,0,0,0,0,0\nS3,0,0,0,{v},0,0,1\n"),
            )
            .unwrap();
            let e = read_reference_csv(&p, LabelMap::Binary).unwrap_err();
            assert_eq!(e.class(), crate::data::ErrorClass::InputMalformed);
            let msg = e.to_string();
            assert!(
                msg.contains("v.csv")
                    && msg.contains("line 3")
                    && msg.contains("ACC_y")
                    && msg.contains(needle),
                "{v}: {msg}"
            );
        }
    }
}
