//! The file formats synthetic subjects are written in, shared by `dpwear gan generate` (files)
//! and `dpwear serve` (streamed downloads):
//!
//! - **CSV**, the reference's synthetic format: `,sid,BVP,EDA,ACC_x,ACC_y,ACC_z,TEMP,Label`,
//!   one row per second, the index counting from 1 within each subject; optionally preceded
//!   by `#` comment lines (provenance), which dpwear's CSV reader and
//!   `pandas.read_csv(…, comment="#")` skip;
//! - **NPZ**: `windows` (n, 60, 6) f32, `labels` (n,) by majority of the window's seconds,
//!   `step_labels` (n, 60), `subject` (n,), and optionally `manifest` (JSON as uint8 bytes).
//!
//! The dataset store (`.h5`) is written by `data::store`.
//!
//! May depend on: data, features::windows, ndarray-npy.

use std::io::{Seek, Write};

use ndarray::{Array1, Array2, Array3};

use crate::data::{Dataset, CHANNELS, N_CHANNELS};
use crate::features::windows::majority_label;

/// Writes `ds` as the reference's synthetic CSV, each of `comments` first as a `# ` line
/// (line breaks inside a comment become spaces, so a comment never ends the block early).
pub fn write_csv<W: Write>(w: &mut W, ds: &Dataset, comments: &[String]) -> std::io::Result<()> {
    for c in comments {
        writeln!(w, "# {}", c.replace(['\n', '\r'], " "))?;
    }
    writeln!(w, ",sid,{},Label", CHANNELS.join(","))?;
    for s in &ds.subjects {
        for r in 0..s.len() {
            write!(w, "{},{}", r + 1, s.id)?;
            for c in 0..N_CHANNELS {
                write!(w, ",{}", s.channels[c][r])?;
            }
            writeln!(w, ",{}", s.labels[r])?;
        }
    }
    Ok(())
}

/// Rows of the CSV body (one per second of every subject).
pub fn csv_rows(ds: &Dataset) -> usize {
    ds.subjects.iter().map(|s| s.len()).sum()
}

/// Writes `ds` as NumPy arrays (see the module docs), with `manifest` bytes when given.
pub fn write_npz<W: Write + Seek>(
    w: W,
    ds: &Dataset,
    manifest: Option<&[u8]>,
) -> Result<(), String> {
    let n: usize = ds.subjects.iter().map(|s| s.len() / 60).sum();
    let mut windows = Array3::<f32>::zeros((n, 60, N_CHANNELS));
    let mut step_labels = Array2::<i64>::zeros((n, 60));
    let mut labels = Array1::<i64>::zeros(n);
    let mut subject = Array1::<i64>::zeros(n);
    let mut i = 0;
    for s in &ds.subjects {
        for win in 0..s.len() / 60 {
            for t in 0..60 {
                for c in 0..N_CHANNELS {
                    windows[[i, t, c]] = s.channels[c][win * 60 + t] as f32;
                }
                step_labels[[i, t]] = s.labels[win * 60 + t] as i64;
            }
            labels[i] = majority_label(&s.labels[win * 60..win * 60 + 60]) as i64;
            subject[i] = s.id as i64;
            i += 1;
        }
    }
    let mut npz = ndarray_npy::NpzWriter::new(w);
    let err = |e: ndarray_npy::WriteNpzError| e.to_string();
    npz.add_array("windows", &windows).map_err(err)?;
    npz.add_array("labels", &labels).map_err(err)?;
    npz.add_array("step_labels", &step_labels).map_err(err)?;
    npz.add_array("subject", &subject).map_err(err)?;
    if let Some(bytes) = manifest {
        npz.add_array("manifest", &Array1::from(bytes.to_vec()))
            .map_err(err)?;
    }
    npz.finish().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{LabelMap, Provenance, SourceKind, Subject};

    fn ds() -> Dataset {
        let subject = |id: u32, v: f64| Subject {
            id,
            channels: std::array::from_fn(|c| {
                (0..120).map(|r| v + c as f64 + r as f64 * 1e-3).collect()
            }),
            labels: (0..120).map(|r| (r >= 60) as u8).collect(),
        };
        Dataset {
            subjects: vec![subject(1001, 0.0), subject(1002, 0.5)],
            label_map: LabelMap::Binary,
            sampling_rate_hz: 1.0,
            source: Provenance {
                kind: SourceKind::Generator,
                path: "ck".into(),
                sha256: "00".into(),
                note: String::new(),
            },
        }
    }

    #[test]
    fn csv_has_the_comments_the_reference_header_and_one_row_per_second() {
        let mut out = Vec::new();
        write_csv(&mut out, &ds(), &["epsilon: 1\nforged".into()]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# epsilon: 1 forged");
        assert_eq!(lines[1], ",sid,BVP,EDA,ACC_x,ACC_y,ACC_z,TEMP,Label");
        assert_eq!(lines.len(), 2 + csv_rows(&ds()));
        assert!(lines[2].starts_with("1,1001,0,1,2,"), "{}", lines[2]);
        assert!(lines[2 + 120].starts_with("1,1002,0.5,"), "{}", lines[122]);
        assert!(lines[2 + 60].ends_with(",1"));
    }

    #[test]
    fn npz_holds_the_windows_and_the_manifest() {
        let mut buf = std::io::Cursor::new(Vec::new());
        write_npz(&mut buf, &ds(), Some(b"{\"seed\":7}")).unwrap();
        buf.set_position(0);
        let mut npz = ndarray_npy::NpzReader::new(buf).unwrap();
        let windows: Array3<f32> = npz.by_name("windows").unwrap();
        assert_eq!(windows.shape(), &[4, 60, 6]);
        assert_eq!(windows[[2, 0, 0]], 0.5);
        let labels: Array1<i64> = npz.by_name("labels").unwrap();
        assert_eq!(labels.to_vec(), vec![0, 1, 0, 1]);
        let manifest: Array1<u8> = npz.by_name("manifest").unwrap();
        assert_eq!(manifest.to_vec(), b"{\"seed\":7}".to_vec());
    }
}
