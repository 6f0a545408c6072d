//! Integration test of the raw WESAD reader on a made-up WESAD-like dataset written by
//! `scripts/make_wesad_fixture.py` (Python-2-style protocol 2 and protocol 4), compared with
//! the reference preprocessing committed in `tests/fixtures/wesad_raw_expected.json`.
//!
//! Python: `$DPWEAR_PYTHON`, else `<manifest>/.venv/bin/python`, else `python3`; numpy is
//! required (the test fails, it does not skip, when it is missing).

mod common;

use std::path::Path;
use std::process::Command;

use dpwear::data::wesad_raw::read_wesad;
use dpwear::data::{DataError, Dataset, ErrorClass, LabelMap, SourceKind, CHANNELS};

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn generate(out: &Path, protocol: u32) {
    let py = common::python();
    let probe = Command::new(&py).args(["-c", "import numpy"]).output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "{} cannot import numpy, which the WESAD fixture generator needs; set DPWEAR_PYTHON \
             to a Python with numpy (stderr: {})",
            py.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!("cannot run {} ({e}); set DPWEAR_PYTHON", py.display()),
    }
    let st = Command::new(&py)
        .arg(manifest().join("scripts/make_wesad_fixture.py"))
        .arg(out)
        .args(["--protocol", &protocol.to_string()])
        .status()
        .expect("run make_wesad_fixture.py");
    assert!(st.success(), "make_wesad_fixture.py failed");
}

#[derive(serde::Deserialize)]
struct Expected {
    provenance: serde_json::Value,
    channels: Vec<String>,
    subjects: Vec<ExpectedSubject>,
}

#[derive(serde::Deserialize)]
struct ExpectedSubject {
    subject: String,
    label_samples: usize,
    seconds: usize,
    rows: usize,
    raw_label_counts: std::collections::BTreeMap<String, usize>,
    first_raw_labels: Vec<i64>,
    first_rows: Vec<Vec<f64>>,
    channel_sums: Vec<f64>,
}

fn expected() -> Expected {
    let p = manifest().join("tests/fixtures/wesad_raw_expected.json");
    serde_json::from_str(&std::fs::read_to_string(p).expect("expected JSON")).expect("parses")
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: dpwear {a} vs reference {b}"
    );
}

fn check_against_expected(ds: &Dataset, exp: &Expected, map: LabelMap) {
    assert!(exp.provenance.get("script").is_some());
    assert_eq!(exp.channels, CHANNELS.to_vec());
    assert_eq!(ds.subjects.len(), exp.subjects.len());
    assert_eq!(ds.label_map, map);
    for (s, e) in ds.subjects.iter().zip(&exp.subjects) {
        assert_eq!(s.name(), e.subject);
        // Rates: one row per whole second of the label track, minus dropped rows.
        assert_eq!(e.seconds, e.label_samples / 700);
        assert_eq!(s.len(), e.rows, "{}", e.subject);
        let count = |raw: &str| e.raw_label_counts.get(raw).copied().unwrap_or(0);
        let (n1, n2, n3) = (count("1"), count("2"), count("3"));
        assert_eq!(n1 + n2 + n3, e.rows);
        let sum = ds.summary();
        let got = &sum
            .subjects
            .iter()
            .find(|x| x.subject == e.subject)
            .unwrap()
            .label_counts;
        match map {
            LabelMap::Binary => assert_eq!(got, &vec![n1 + n3, n2]),
            LabelMap::ThreeClass => assert_eq!(got, &vec![n1, n2, n3]),
        }
        for (i, &raw) in e.first_raw_labels.iter().enumerate() {
            assert_eq!(
                Some(s.labels[i]),
                map.map_wesad(raw),
                "{} row {i}",
                e.subject
            );
        }
        for (i, row) in e.first_rows.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                close(
                    s.channels[c][i],
                    v,
                    &format!("{} row {i} {}", e.subject, CHANNELS[c]),
                );
            }
        }
        for (c, &v) in e.channel_sums.iter().enumerate() {
            let got: f64 = s.channels[c].iter().sum();
            close(got, v, &format!("{} sum of {}", e.subject, CHANNELS[c]));
        }
        // Per-subject min-max scaling.
        for (c, ch) in s.channels.iter().enumerate() {
            assert!(
                ch.iter().all(|v| (0.0..=1.0).contains(v)),
                "{} {}",
                e.subject,
                CHANNELS[c]
            );
            let lo = ch.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = ch.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!((lo, hi), (0.0, 1.0), "{} {}", e.subject, CHANNELS[c]);
        }
        // Label alignment: the fixture's EDA steps up during stress.
        let mean = |f: &dyn Fn(u8) -> bool| {
            let v: Vec<f64> = s
                .labels
                .iter()
                .zip(&s.channels[1])
                .filter(|(l, _)| f(**l))
                .map(|(_, x)| *x)
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let stress = mean(&|l| l == 1);
        let other = mean(&|l| l != 1);
        assert!(
            stress > other + 0.3,
            "{}: EDA stress {stress} vs other {other}",
            e.subject
        );
    }
}

#[test]
fn reads_generated_wesad_protocol2_and_4_like_the_reference() {
    let exp = expected();
    let dir = tempfile::tempdir().unwrap();
    let mut hashes = Vec::new();
    for protocol in [2, 4] {
        let root = dir.path().join(format!("p{protocol}"));
        generate(&root, protocol);
        // Both label maps are covered, one per protocol (each read hashes ~36 MB, which is
        // slow in an unoptimised test build).
        let map = if protocol == 2 {
            LabelMap::Binary
        } else {
            LabelMap::ThreeClass
        };
        let ds = read_wesad(&root, map).unwrap_or_else(|e| panic!("protocol {protocol}: {e}"));
        assert_eq!(ds.source.kind, SourceKind::WesadRaw);
        assert_eq!(ds.source.sha256.len(), 64);
        check_against_expected(&ds, &exp, map);
        hashes.push(ds.source.sha256.clone());
        // A single .pkl file.
        let one = read_wesad(&root.join("S3/S3.pkl"), LabelMap::Binary).unwrap();
        assert_eq!(one.subjects.len(), 1);
        assert_eq!(one.subjects[0].id, 3);
    }
    // Different bytes (protocol 2 vs 4) give different provenance hashes.
    assert_ne!(hashes[0], hashes[1]);
}

fn assert_names(e: &DataError, needle: &str) {
    let msg = e.to_string();
    assert!(msg.contains(needle), "error should name {needle}: {msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn errors_name_the_file_and_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    // Missing path.
    let missing = dir.path().join("no-such-wesad");
    let e = read_wesad(&missing, LabelMap::Binary).unwrap_err();
    assert_eq!(e.class(), ErrorClass::InputUnreadable);
    assert_names(&e, "no-such-wesad");
    // A directory without S*/S*.pkl.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(empty.join("S2")).unwrap();
    std::fs::write(empty.join("S2/readme.txt"), "x").unwrap();
    let e = read_wesad(&empty, LabelMap::Binary).unwrap_err();
    assert_names(&e, "empty");
    assert!(e.to_string().contains("S*/S*.pkl"), "{e}");
    // A non-pickle file.
    let csv = dir.path().join("S4.pkl");
    std::fs::write(&csv, "BVP,EDA\n1,2\n").unwrap();
    let e = read_wesad(&csv, LabelMap::Binary).unwrap_err();
    assert_eq!(e.class(), ErrorClass::InputMalformed);
    assert_names(&e, "S4.pkl");
    // Truncated pickles (a real generated one, cut at several places).
    let gen = dir.path().join("gen");
    generate(&gen, 2);
    let full = std::fs::read(gen.join("S5/S5.pkl")).unwrap();
    for cut in [1, 40, 200, full.len() / 2, full.len() - 1] {
        let d = dir.path().join(format!("trunc{cut}/S5"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("S5.pkl"), &full[..cut]).unwrap();
        let e = read_wesad(d.parent().unwrap(), LabelMap::Binary).unwrap_err();
        assert_eq!(e.class(), ErrorClass::InputMalformed);
        assert_names(&e, "S5.pkl");
    }
    // A file named for one subject holding another.
    let d = dir.path().join("swapped/S7");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("S7.pkl"), &full).unwrap();
    let e = read_wesad(d.parent().unwrap(), LabelMap::Binary).unwrap_err();
    assert_names(&e, "S7.pkl");
    assert!(e.to_string().contains("S5"), "{e}");
    // Missing keys and wrong shapes, written by Python from the generated file.
    for (name, edit, needle) in [
        (
            "nobvp",
            "del d['signal']['wrist']['BVP']",
            "missing key signal['wrist'][\"BVP\"]",
        ),
        (
            "accshape",
            "w=d['signal']['wrist']; w['ACC']=w['ACC'].reshape(-1, 1)",
            "expected (N, 3)",
        ),
        (
            "objdtype",
            "d['label']=d['label'].astype(object)",
            "not numeric",
        ),
    ] {
        let root = edited_s5(dir.path(), &gen, name, edit);
        let e = read_wesad(&root, LabelMap::Binary).unwrap_err();
        assert_names(&e, "S5.pkl");
        assert!(e.to_string().contains(needle), "{name}: {e}");
    }
    // The reference's 1 Hz pickle is a pickle, but not a WESAD subject file.
    let reference = common::wesad_ref("subject_data_1hz.pickle");
    let e = read_wesad(&reference, LabelMap::Binary).unwrap_err();
    assert_names(&e, "subject_data_1hz.pickle");
    assert!(e.to_string().contains("not a WESAD subject file"), "{e}");
    // A pickle of the wrong structure.
    let p = dir.path().join("S9.pkl");
    std::fs::write(&p, b"\x80\x02}q\x00U\x05labelq\x01]q\x02s.").unwrap();
    let e = read_wesad(&p, LabelMap::Binary).unwrap_err();
    assert_names(&e, "S9.pkl");
}

/// `gen/S5/S5.pkl` edited by Python (`d` is the loaded dict) into `dir/NAME/S5/S5.pkl`;
/// returns `dir/NAME` (a WESAD root holding S5 only).
fn edited_s5(dir: &Path, gen: &Path, name: &str, edit: &str) -> std::path::PathBuf {
    let d = dir.join(name).join("S5");
    std::fs::create_dir_all(&d).unwrap();
    let code = format!(
        "import pickle,sys\nd=pickle.load(open(sys.argv[1],'rb'),encoding='latin1')\n{edit}\n\
         pickle.dump(d,open(sys.argv[2],'wb'),protocol=4)"
    );
    let st = Command::new(common::python())
        .args(["-c", &code])
        .arg(gen.join("S5/S5.pkl"))
        .arg(d.join("S5.pkl"))
        .status()
        .unwrap();
    assert!(st.success(), "python edit {name} failed");
    d.parent().unwrap().to_path_buf()
}

#[test]
fn one_non_finite_wrist_sample_is_refused_with_file_subject_channel_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let gen = dir.path().join("gen");
    generate(&gen, 4);
    for (name, edit, needles) in [
        (
            "nan",
            "d['signal']['wrist']['BVP'][1234,0]=float('nan')",
            ["BVP", "sample 1234", "NaN"],
        ),
        (
            "inf",
            "d['signal']['wrist']['ACC'][77,1]=float('inf')",
            ["ACC_y", "sample 77", "inf"],
        ),
        (
            "huge",
            "d['signal']['wrist']['TEMP'][5,0]=1e308",
            ["TEMP", "sample 5", "1e308"],
        ),
    ] {
        let root = edited_s5(dir.path(), &gen, name, edit);
        let e = read_wesad(&root, LabelMap::Binary).unwrap_err();
        assert_eq!(e.class(), ErrorClass::InputMalformed, "{name}: {e}");
        assert_names(&e, "S5.pkl");
        assert_names(&e, "S5:");
        for n in needles {
            assert_names(&e, n);
        }
        // Through the binary: exit 4, one line, no output file.
        let out = dir.path().join(format!("{name}.h5"));
        let o = common::run(&[
            "data",
            "import",
            root.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(4), "{name}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.lines().count() == 1 && err.contains("S5.pkl") && err.contains(needles[1]),
            "{name}: {err}"
        );
        assert!(!out.exists());
    }
}

#[test]
fn a_constant_raw_channel_becomes_exact_zero_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let gen = dir.path().join("gen");
    generate(&gen, 4);
    let root = edited_s5(
        dir.path(),
        &gen,
        "const",
        "d['signal']['wrist']['TEMP'][:]=33.17",
    );
    let ds = read_wesad(&root, LabelMap::Binary).unwrap();
    let s = &ds.subjects[0];
    let temp = CHANNELS.iter().position(|&c| c == "TEMP").unwrap();
    assert!(
        s.channels[temp].iter().all(|&v| v == 0.0),
        "constant TEMP must be exactly 0, not scaled round-off: {:?}",
        &s.channels[temp][..5]
    );
    // The other channels are untouched (still scaled to [0, 1]).
    let eda = &s.channels[1];
    assert_eq!(eda.iter().cloned().fold(f64::NEG_INFINITY, f64::max), 1.0);
    // The binary says so once, naming subject and channel.
    let out = dir.path().join("c.h5");
    let o = common::ok(common::run(&[
        "data",
        "import",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let err = String::from_utf8_lossy(&o.stderr);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("constant")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("S5") && warnings[0].contains("TEMP"),
        "{err}"
    );
}
