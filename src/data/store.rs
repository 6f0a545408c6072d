//! The HDF5 dataset store (`dpwear data import|simulate --out x.h5`).
//!
//! Layout (`schema_version` 1):
//! ```text
//! /                      attrs: schema_version, kind = "dpwear-dataset", dpwear_version,
//!                               label_map, class_names, sampling_rate_hz, channels,
//!                               source_kind, source_path, source_sha256, source_note,
//!                               simulated (0/1), subject_ids (order of the subjects)
//! /subjects/S{id}/signals  (rows, 6) float64, columns BVP, EDA, ACC_x, ACC_y, ACC_z, TEMP
//! /subjects/S{id}/labels   (rows,)  int64 class labels
//!                        attrs: subject_id
//! ```
//! Files are written atomically (temporary file + rename).
//!
//! May depend on: hdf5, ndarray, the data types.

use std::path::Path;

use ndarray::Array2;

use super::dataset::{Dataset, LabelMap, Provenance, SourceKind, Subject, CHANNELS, N_CHANNELS};
use super::error::DataError;
use super::h5util::{self, h5err, AtomicH5};

/// Version of the layout above.
pub const SCHEMA_VERSION: i64 = 1;
/// Value of the root `kind` attribute.
pub const KIND: &str = "dpwear-dataset";

/// The root attributes every dpwear HDF5 file carries (dataset and feature stores alike).
pub struct Header<'a> {
    pub kind: &'a str,
    pub label_map: LabelMap,
    pub source_kind: SourceKind,
    pub source_path: &'a str,
    pub source_sha256: &'a str,
    /// Subject order (the LOSO fold order).
    pub subject_ids: &'a [u32],
}

impl Header<'_> {
    /// Writes `schema_version`, `kind`, `dpwear_version`, `label_map`, `class_names`,
    /// `source_kind`, `source_path`, `source_sha256`, `simulated` and `subject_ids`.
    pub fn write(&self, f: &hdf5::File) -> hdf5::Result<()> {
        h5util::set_i64(f, "schema_version", SCHEMA_VERSION)?;
        h5util::set_str(f, "kind", self.kind)?;
        h5util::set_str(f, "dpwear_version", env!("CARGO_PKG_VERSION"))?;
        h5util::set_str(f, "label_map", self.label_map.as_str())?;
        h5util::set_str_array(f, "class_names", self.label_map.class_names())?;
        h5util::set_str(f, "source_kind", self.source_kind.as_str())?;
        h5util::set_str(f, "source_path", self.source_path)?;
        h5util::set_str(f, "source_sha256", self.source_sha256)?;
        h5util::set_i64(f, "simulated", self.source_kind.is_simulated() as i64)?;
        let ids: Vec<i64> = self.subject_ids.iter().map(|&s| s as i64).collect();
        h5util::set_i64_array(f, "subject_ids", &ids)
    }
}

/// Writes `ds` to `path` atomically.
pub fn write_dataset(path: &Path, ds: &Dataset) -> Result<(), DataError> {
    ds.validate()?;
    let out = AtomicH5::create(path)?;
    let e = out.err();
    let f = out.file();
    let ids: Vec<u32> = ds.subjects.iter().map(|s| s.id).collect();
    let header = Header {
        kind: KIND,
        label_map: ds.label_map,
        source_kind: ds.source.kind,
        source_path: &ds.source.path,
        source_sha256: &ds.source.sha256,
        subject_ids: &ids,
    };
    header.write(f).map_err(&e)?;
    h5util::set_f64(f, "sampling_rate_hz", ds.sampling_rate_hz).map_err(&e)?;
    h5util::set_str_array(f, "channels", &CHANNELS).map_err(&e)?;
    h5util::set_str(f, "source_note", &ds.source.note).map_err(&e)?;
    let group = f.create_group("subjects").map_err(&e)?;
    for s in &ds.subjects {
        let g = group.create_group(&s.name()).map_err(&e)?;
        h5util::set_i64(&g, "subject_id", s.id as i64).map_err(&e)?;
        let mut signals = Array2::<f64>::zeros((s.len(), N_CHANNELS));
        for (c, ch) in s.channels.iter().enumerate() {
            for (r, v) in ch.iter().enumerate() {
                signals[[r, c]] = *v;
            }
        }
        let sig = g
            .new_dataset_builder()
            .with_data(&signals)
            .create("signals")
            .map_err(&e)?;
        h5util::set_str_array(&sig, "columns", &CHANNELS).map_err(&e)?;
        let labels: Vec<i64> = s.labels.iter().map(|&l| l as i64).collect();
        g.new_dataset_builder()
            .with_data(&labels)
            .create("labels")
            .map_err(&e)?;
    }
    drop(group);
    out.commit()
}

/// Reads a dataset store written by [`write_dataset`], checking its kind and schema version.
pub fn read_dataset(path: &Path) -> Result<Dataset, DataError> {
    let f = h5util::open_read(path)?;
    check_kind(&f, path, KIND)?;
    let label_map_s = h5util::get_str(&f, path, "label_map")?;
    let label_map = LabelMap::parse(&label_map_s)
        .ok_or_else(|| DataError::format(path, format!("unknown label_map `{label_map_s}`")))?;
    let kind_s = h5util::get_str(&f, path, "source_kind")?;
    let kind = SourceKind::parse(&kind_s)
        .ok_or_else(|| DataError::format(path, format!("unknown source_kind `{kind_s}`")))?;
    let source = Provenance {
        kind,
        path: h5util::get_str(&f, path, "source_path")?,
        sha256: h5util::get_str(&f, path, "source_sha256")?,
        note: h5util::get_str(&f, path, "source_note")?,
    };
    let sampling_rate_hz = h5util::get_f64(&f, path, "sampling_rate_hz")?;
    let ids = h5util::get_i64_array(&f, path, "subject_ids")?;
    let group = f
        .group("subjects")
        .map_err(|_| DataError::format(path, "group `/subjects` missing"))?;
    let mut subjects = Vec::with_capacity(ids.len());
    for id in ids {
        let id = u32::try_from(id)
            .map_err(|_| DataError::format(path, format!("bad subject id {id}")))?;
        let name = format!("S{id}");
        let g = group
            .group(&name)
            .map_err(|_| DataError::format(path, format!("group `/subjects/{name}` missing")))?;
        let signals: Array2<f64> = g
            .dataset("signals")
            .and_then(|d| d.read_2d())
            .map_err(h5err(path))?;
        if signals.ncols() != N_CHANNELS {
            return Err(DataError::format(
                path,
                format!(
                    "/subjects/{name}/signals has {} columns, expected {N_CHANNELS}",
                    signals.ncols()
                ),
            ));
        }
        let labels: Vec<i64> = g
            .dataset("labels")
            .and_then(|d| d.read_raw())
            .map_err(h5err(path))?;
        let labels = labels
            .into_iter()
            .map(|l| {
                u8::try_from(l).map_err(|_| {
                    DataError::format(path, format!("/subjects/{name}/labels holds {l}"))
                })
            })
            .collect::<Result<Vec<u8>, _>>()?;
        let channels: [Vec<f64>; N_CHANNELS] = std::array::from_fn(|c| signals.column(c).to_vec());
        subjects.push(Subject {
            id,
            channels,
            labels,
        });
    }
    let ds = Dataset {
        subjects,
        label_map,
        sampling_rate_hz,
        source,
    };
    ds.validate_at(path)?;
    Ok(ds)
}

/// Checks the root `kind` attribute and the schema version of a dpwear HDF5 file.
pub fn check_kind(f: &hdf5::File, path: &Path, expected: &str) -> Result<(), DataError> {
    let kind = h5util::get_str(f, path, "kind").map_err(|_| {
        DataError::format(
            path,
            format!(
                "an HDF5 file but not a dpwear file (no `kind` attribute; expected `{expected}`)"
            ),
        )
    })?;
    if kind != expected {
        return Err(DataError::format(
            path,
            format!("holds `{kind}`, expected `{expected}`"),
        ));
    }
    let version = h5util::get_i64(f, path, "schema_version")?;
    if version != SCHEMA_VERSION {
        return Err(DataError::format(
            path,
            format!(
                "schema_version {version} is not supported (this dpwear reads {SCHEMA_VERSION})"
            ),
        ));
    }
    Ok(())
}

/// Reads only the root `source_sha256` attribute of a dpwear HDF5 file (dataset or feature
/// store): the digest of the data it was made from.
pub fn source_sha256(path: &Path) -> Result<String, DataError> {
    let f = h5util::open_read(path)?;
    h5util::get_str(&f, path, "source_sha256")
}

/// Reads only the root `kind` attribute (to dispatch `data info` on any dpwear file).
pub fn file_kind(path: &Path) -> Result<String, DataError> {
    let f = h5util::open_read(path)?;
    h5util::get_str(&f, path, "kind")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        let subject = |id: u32, n: usize| Subject {
            id,
            channels: std::array::from_fn(|c| {
                (0..n).map(|i| (i * (c + 1)) as f64 / n as f64).collect()
            }),
            labels: (0..n).map(|i| (i % 3 == 0) as u8).collect(),
        };
        Dataset {
            subjects: vec![subject(10, 7), subject(2, 5)],
            label_map: LabelMap::Binary,
            sampling_rate_hz: 1.0,
            source: Provenance {
                kind: SourceKind::Simulator,
                path: "mem".into(),
                sha256: "00".into(),
                note: "test".into(),
            },
        }
    }

    #[test]
    fn round_trip_keeps_order_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.h5");
        let ds = tiny();
        write_dataset(&p, &ds).unwrap();
        let back = read_dataset(&p).unwrap();
        assert_eq!(back, ds);
        // no temporary file left behind
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn non_hdf5_and_missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("not.h5");
        std::fs::write(&p, b"BVP,EDA\n1,2\n").unwrap();
        let err = read_dataset(&p).unwrap_err().to_string();
        assert!(
            err.contains("not.h5") && err.contains("not an HDF5 file"),
            "{err}"
        );
        let err = read_dataset(&dir.path().join("missing.h5")).unwrap_err();
        assert_eq!(err.class(), crate::data::ErrorClass::InputUnreadable);
        assert!(err.to_string().contains("missing.h5"));
    }

    #[test]
    fn non_finite_stored_samples_are_refused_with_subject_channel_and_row() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.h5");
        write_dataset(&p, &tiny()).unwrap();
        {
            let f = hdf5::File::open_rw(&p).unwrap();
            let d = f.dataset("subjects/S2/signals").unwrap();
            let mut a: Array2<f64> = d.read_2d().unwrap();
            a[[3, 1]] = f64::NAN;
            d.write(&a).unwrap();
        }
        let e = read_dataset(&p).unwrap_err();
        assert_eq!(e.class(), crate::data::ErrorClass::InputMalformed);
        let msg = e.to_string();
        assert!(
            msg.contains("x.h5")
                && msg.contains("S2")
                && msg.contains("EDA")
                && msg.contains("row 3")
                && msg.contains("NaN"),
            "{msg}"
        );
    }
}
