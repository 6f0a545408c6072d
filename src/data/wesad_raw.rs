//! Reader for raw WESAD (`<root>/S{n}/S{n}.pkl`, Python-2 pickles), preprocessed to 1 Hz
//! exactly as the reference does (spec §1.2): `num = len(label) // 700` seconds; each wrist
//! channel (BVP 64 Hz, EDA 4 Hz, ACC 32 Hz ×3, TEMP 4 Hz) resampled as a whole to `num`
//! points with [`fft_resample`] (= `scipy.signal.resample`); second k takes the raw label at
//! sample 700·k; rows with raw label 0, 4, 5, 6, 7 dropped; labels mapped by [`LabelMap`];
//! per-subject min–max scaling of each channel over the kept rows. Every wrist sample passes
//! the shared value check ([`super::values`]) before resampling; a constant channel becomes
//! exactly 0 (see [`min_max_scale`]) with one warning naming subject and channel.
//!
//! May depend on: [`super::pickle`], [`super::resample`], [`super::dataset`], [`super::hash`],
//! [`super::error`], tracing.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::dataset::{
    min_max_scale, Dataset, LabelMap, Provenance, SourceKind, Subject, CHANNELS, N_CHANNELS,
};
use super::error::DataError;
use super::hash::{sha256_hex, sha256_of_digests};
use super::pickle::{self, array_info, to_ndarray, ArrayInfo, Value};
use super::resample::fft_resample;
use super::values::check_samples;

/// WESAD's label (and chest) sampling rate.
pub const LABEL_HZ: usize = 700;
/// Relative disagreement between a wrist signal's duration and the label track's above which
/// a warning is logged.
pub const DURATION_TOLERANCE: f64 = 0.05;

/// Wrist signals: (key, native rate in Hz, number of columns).
const WRIST: [(&str, f64, usize); 4] = [
    ("BVP", 64.0, 1),
    ("EDA", 4.0, 1),
    ("ACC", 32.0, 3),
    ("TEMP", 4.0, 1),
];
const CHEST: [(&str, usize); 6] = [
    ("ACC", 3),
    ("ECG", 1),
    ("EMG", 1),
    ("EDA", 1),
    ("Temp", 1),
    ("Resp", 1),
];

/// Reads raw WESAD: `path` is the WESAD root (every `S*/S*.pkl`, subjects sorted by number)
/// or a single `.pkl` file.
pub fn read_wesad(path: &Path, label_map: LabelMap) -> Result<Dataset, DataError> {
    read_wesad_with_progress(path, label_map, |_, _| {})
}

/// [`read_wesad`], calling `on_subject(0, total)` before the first subject file and
/// `on_subject(done, total)` after each one (for progress).
pub fn read_wesad_with_progress(
    path: &Path,
    label_map: LabelMap,
    mut on_subject: impl FnMut(usize, usize),
) -> Result<Dataset, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    let files: Vec<(u32, PathBuf, String)> = if meta.is_dir() {
        subject_files(path)?
    } else {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = subject_number(path.file_stem().and_then(|s| s.to_str()).unwrap_or(""));
        vec![(id.unwrap_or(0), path.to_path_buf(), name)]
    };
    on_subject(0, files.len());
    let mut subjects = Vec::with_capacity(files.len());
    let mut digests = Vec::with_capacity(files.len());
    for (id, file, rel) in &files {
        let (subject, sha) = read_subject(file, (*id != 0).then_some(*id), label_map)?;
        digests.push((rel.clone(), sha));
        subjects.push(subject);
        on_subject(subjects.len(), files.len());
    }
    let ds = Dataset {
        subjects,
        label_map,
        sampling_rate_hz: 1.0,
        source: Provenance {
            kind: SourceKind::WesadRaw,
            path: path.display().to_string(),
            sha256: sha256_of_digests(&digests),
            note: format!(
                "raw WESAD preprocessed to 1 Hz ({} labels)",
                label_map.as_str()
            ),
        },
    };
    ds.validate()?;
    Ok(ds)
}

/// `S12` → 12.
fn subject_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix('S')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `(number, file, path relative to root)` of every `S{n}/S{n}.pkl`, sorted by number.
fn subject_files(root: &Path) -> Result<Vec<(u32, PathBuf, String)>, DataError> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(root).map_err(|e| DataError::io(root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| DataError::io(root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(n) = subject_number(&name) else {
            continue;
        };
        if !entry.path().is_dir() {
            continue;
        }
        let file = entry.path().join(format!("{name}.pkl"));
        if file.is_file() {
            out.push((n, file, format!("{name}/{name}.pkl")));
        } else {
            tracing::warn!(dir = %entry.path().display(), "WESAD subject folder without {name}.pkl; skipped");
        }
    }
    if out.is_empty() {
        return Err(DataError::format(
            root,
            "no WESAD subject files (S*/S*.pkl) in this directory",
        ));
    }
    out.sort_by_key(|(n, _, _)| *n);
    Ok(out)
}

/// Reads and preprocesses one subject file; returns the subject and the file's sha256.
fn read_subject(
    path: &Path,
    id_from_name: Option<u32>,
    label_map: LabelMap,
) -> Result<(Subject, String), DataError> {
    let bytes = Rc::new(std::fs::read(path).map_err(|e| DataError::io(path, e))?);
    let root = pickle::load_shared(path, bytes.clone())?;
    let subject = preprocess(path, &root, id_from_name, label_map)?;
    // Hashed last, so that a broken file fails fast.
    let sha = sha256_hex(&bytes);
    Ok((subject, sha))
}

fn key(d: &Value, k: &str, ctx: &str) -> Result<Value, String> {
    if !matches!(d, Value::Dict(_)) {
        return Err(format!("{ctx} is a {}, expected a dict", d.kind_name()));
    }
    d.dict_get(k).ok_or_else(|| {
        let keys: Vec<String> = d
            .dict_pairs()
            .unwrap_or_default()
            .iter()
            .map(|(k, _)| {
                k.as_text()
                    .map(|t| t.into_owned())
                    .unwrap_or_else(|| k.describe(0))
            })
            .collect();
        format!("missing key {ctx}[{k:?}] (keys: {keys:?})")
    })
}

/// Shape and dtype of a numeric array (elements not decoded yet).
fn numeric_array(v: &Value, what: &str) -> Result<ArrayInfo, String> {
    let a = array_info(v).map_err(|e| format!("{what}: {e}"))?;
    if !matches!(a.dtype.kind, 'f' | 'i' | 'u' | 'b') {
        return Err(format!("{what}: dtype {} is not numeric", a.dtype_name()));
    }
    Ok(a)
}

/// The elements of a numeric array as f64, in C order.
fn decode_f64(v: &Value, what: &str) -> Result<Vec<f64>, String> {
    to_ndarray(v)
        .and_then(|a| a.as_f64_vec())
        .map_err(|e| format!("{what}: {e}"))
}

/// Rows of an `(n, cols)` array (or `(n,)` when `cols == 1`).
fn rows_of(a: &ArrayInfo, cols: usize, what: &str) -> Result<usize, String> {
    match a.shape.as_slice() {
        [n, c] if *c == cols => Ok(*n),
        [n] if cols == 1 => Ok(*n),
        s => Err(format!("{what} has shape {s:?}, expected (N, {cols})")),
    }
}

fn preprocess(
    path: &Path,
    root: &Value,
    id_from_name: Option<u32>,
    label_map: LabelMap,
) -> Result<Subject, DataError> {
    let bad = |reason: String| DataError::format(path, reason);
    let file = path.display().to_string();

    if root.dict_get("signal").is_none() || root.dict_get("label").is_none() {
        return Err(bad(format!(
            "not a WESAD subject file: expected a dict with 'signal', 'label' and 'subject', \
             found {}",
            root.describe(1)
        )));
    }
    // Subject id: the file name and the dict's 'subject' must agree.
    let id_from_dict = match root.dict_get("subject") {
        Some(v) => {
            let t = v
                .as_text()
                .ok_or_else(|| bad(format!("'subject' is a {}, expected a str", v.kind_name())))?;
            Some(
                subject_number(&t)
                    .ok_or_else(|| bad(format!("'subject' is {t:?}, expected S<number>")))?,
            )
        }
        None => None,
    };
    let id = match (id_from_name, id_from_dict) {
        (Some(a), Some(b)) if a != b => {
            return Err(bad(format!(
                "the file is named for subject S{a} but its 'subject' entry says S{b}"
            )))
        }
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => return Err(bad(
            "cannot tell the subject: the file is not named S<n>.pkl and has no 'subject' entry"
                .into(),
        )),
    };
    if id_from_dict.is_none() {
        tracing::warn!(file, "no 'subject' entry; using S{id} from the file name");
    }

    // Labels.
    let label_v = key(root, "label", "top level").map_err(&bad)?;
    let label = numeric_array(&label_v, "label").map_err(&bad)?;
    let n_label = rows_of(&label, 1, "label").map_err(&bad)?;
    let label = decode_f64(&label_v, "label").map_err(&bad)?;
    let num = n_label / LABEL_HZ;
    if num == 0 {
        return Err(bad(format!(
            "the label track has {n_label} samples, less than one second at {LABEL_HZ} Hz"
        )));
    }

    let signal = key(root, "signal", "top level").map_err(&bad)?;
    let wrist = key(&signal, "wrist", "signal").map_err(&bad)?;

    // Chest: never used by the reference; checked for shape only.
    match signal.dict_get("chest") {
        Some(chest) => {
            for (k, cols) in CHEST {
                let Some(v) = chest.dict_get(k) else {
                    tracing::warn!(
                        file,
                        "signal['chest'] has no {k:?} (chest signals are not used)"
                    );
                    continue;
                };
                let a = numeric_array(&v, &format!("signal['chest'][{k:?}]")).map_err(&bad)?;
                let n = rows_of(&a, cols, &format!("signal['chest'][{k:?}]")).map_err(&bad)?;
                if n != n_label {
                    tracing::warn!(
                        file,
                        "signal['chest'][{k:?}] has {n} samples but the label track has {n_label}"
                    );
                }
            }
        }
        None => tracing::warn!(file, "no chest signals (they are not used)"),
    }

    // Wrist channels, resampled as a whole to `num` points, in CHANNELS order.
    let mut resampled: Vec<Vec<f64>> = Vec::with_capacity(N_CHANNELS);
    let mut by_key: Vec<(&str, Vec<Vec<f64>>)> = Vec::new();
    for (k, hz, cols) in WRIST {
        let what = format!("signal['wrist'][{k:?}]");
        let v = key(&wrist, k, "signal['wrist']").map_err(&bad)?;
        let a = numeric_array(&v, &what).map_err(&bad)?;
        let n = rows_of(&a, cols, &what).map_err(&bad)?;
        if n == 0 {
            return Err(bad(format!("{what} is empty")));
        }
        let label_s = n_label as f64 / LABEL_HZ as f64;
        let wrist_s = n as f64 / hz;
        if ((wrist_s - label_s) / label_s).abs() > DURATION_TOLERANCE {
            tracing::warn!(
                file,
                "{what} lasts {wrist_s:.1} s at {hz} Hz but the label track lasts {label_s:.1} s"
            );
        }
        let flat = decode_f64(&v, &what).map_err(&bad)?;
        let mut columns = Vec::with_capacity(cols);
        for c in 0..cols {
            let col: Vec<f64> = (0..n).map(|i| flat[i * cols + c]).collect();
            // One NaN would spread over the whole channel through the FFT.
            if let Err(b) = check_samples(&col) {
                let channel = if cols == 1 {
                    k.to_string()
                } else {
                    format!("{k}_{}", ["x", "y", "z"][c])
                };
                return Err(DataError::Invalid {
                    path: path.to_path_buf(),
                    reason: format!("S{id}: channel {channel}: sample {} of {what} {b}", b.index),
                });
            }
            columns.push(fft_resample(&col, num));
        }
        by_key.push((k, columns));
    }
    for name in CHANNELS {
        let (k, c) = match name {
            "ACC_x" => ("ACC", 0),
            "ACC_y" => ("ACC", 1),
            "ACC_z" => ("ACC", 2),
            other => (other, 0),
        };
        let col = by_key
            .iter()
            .find(|(kk, _)| *kk == k)
            .and_then(|(_, cols)| cols.get(c))
            .cloned()
            .unwrap_or_default();
        resampled.push(col);
    }

    // Label per second, drop and map.
    let mut keep = Vec::with_capacity(num);
    let mut labels = Vec::with_capacity(num);
    // unexpected label values: one warning per file with a count, not one per second
    let mut unexpected: std::collections::BTreeMap<i64, (usize, usize)> = Default::default();
    for k in 0..num {
        let raw = label[k * LABEL_HZ];
        if raw.fract() != 0.0 || !raw.is_finite() {
            return Err(bad(format!(
                "label sample {} is {raw}, not an integer",
                k * LABEL_HZ
            )));
        }
        let raw = raw as i64;
        if !(0..=7).contains(&raw) {
            unexpected.entry(raw).or_insert((0, k)).0 += 1;
        }
        if let Some(l) = label_map.map_wesad(raw) {
            keep.push(k);
            labels.push(l);
        }
    }
    if !unexpected.is_empty() {
        let seconds: usize = unexpected.values().map(|(n, _)| n).sum();
        let detail = unexpected
            .iter()
            .map(|(l, (n, first))| format!("{l} ×{n} (first at second {first})"))
            .collect::<Vec<_>>()
            .join(", ");
        tracing::warn!(
            file,
            "{seconds} second(s) with unexpected WESAD labels outside 0-7 dropped: {detail}"
        );
    }
    if keep.is_empty() {
        return Err(DataError::Invalid {
            path: path.to_path_buf(),
            reason: format!("S{id}: no rows left after dropping labels 0 and 4-7"),
        });
    }
    let mut channels: [Vec<f64>; N_CHANNELS] = Default::default();
    for (c, full) in resampled.iter().enumerate() {
        let mut x: Vec<f64> = keep.iter().map(|&k| full[k]).collect();
        if !min_max_scale(&mut x) {
            tracing::warn!(
                file,
                "S{id}: channel {} is constant over the kept rows (spread within {:e} of its magnitude after resampling); scaled to exactly 0",
                CHANNELS[c],
                super::dataset::CONSTANT_RELATIVE_TOLERANCE
            );
        }
        channels[c] = x;
    }
    Ok(Subject {
        id,
        channels,
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_numbers() {
        assert_eq!(subject_number("S2"), Some(2));
        assert_eq!(subject_number("S17"), Some(17));
        assert_eq!(subject_number("S"), None);
        assert_eq!(subject_number("S2_readme"), None);
        assert_eq!(subject_number("x2"), None);
    }
}
