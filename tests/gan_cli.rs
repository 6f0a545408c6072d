//! `dpwear gan train | generate | info` through the binary on small simulated data: a
//! finished checkpoint is never recomputed, an interrupted training resumes to the same bits
//! as an uninterrupted one, outputs feed the feature pipeline, corrupt checkpoints and
//! impossible parameters give their documented exit codes.

#![cfg(feature = "torch")]

mod common;

use std::path::{Path, PathBuf};

use common::{gan_generate, ok, read_json, run};

fn simulated(dir: &Path) -> PathBuf {
    common::simulated(dir, "0.2")
}

/// A tiny cGAN training: 4 G steps of batch 8.
fn train_args<'a>(ds: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "gan",
        "train",
        "--dataset",
        ds,
        "--generator",
        "cgan",
        "--steps",
        "4",
        "--batch-size",
        "8",
        "--threads",
        "1",
        "--checkpoint-every",
        "2",
        "--out",
        out,
    ]
}

fn sha(path: &Path) -> String {
    dpwear::data::hash::sha256_file(path).unwrap()
}

fn code(o: &std::process::Output) -> Option<i32> {
    o.status.code()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn train_info_generate_and_never_recompute() {
    let dir = tempfile::tempdir().unwrap();
    let ds = simulated(dir.path());
    let ck = dir.path().join("ck");
    ok(run(&train_args(ds.to_str().unwrap(), ck.to_str().unwrap())));
    let card = read_json(&ck.join("model-card.json"));
    assert_eq!(card["kind"], "dpwear-generator-card");
    assert_eq!(card["schema_version"], 1);
    assert_eq!(card["training"]["status"], "complete");
    assert_eq!(card["training"]["steps_done"], 4);
    assert!(card["privacy"].is_null());
    assert!(card["privacy_summary"]
        .as_str()
        .unwrap()
        .starts_with("no differential privacy"));
    let before = sha(&ck.join("generator.safetensors"));

    // A finished checkpoint is not recomputed.
    let again = ok(run(&train_args(ds.to_str().unwrap(), ck.to_str().unwrap())));
    assert!(
        stderr(&again).contains("nothing to do"),
        "{}",
        stderr(&again)
    );
    assert_eq!(sha(&ck.join("generator.safetensors")), before);

    // Another request in the same folder is refused without --force.
    let mut other = train_args(ds.to_str().unwrap(), ck.to_str().unwrap());
    other[7] = "5";
    let o = run(&other);
    assert_eq!(code(&o), Some(6), "{}", stderr(&o));

    let info = ok(run(&["gan", "info", ck.to_str().unwrap()]));
    assert!(String::from_utf8_lossy(&info.stdout).contains("cgan"));

    for ext in ["h5", "csv", "npz"] {
        let out = dir.path().join(format!("syn.{ext}"));
        ok(gan_generate(&ck, &out, &["--subjects", "2", "--seed", "3"]));
        assert!(out.exists());
    }
    let syn = dpwear::data::store::read_dataset(&dir.path().join("syn.h5")).unwrap();
    assert_eq!(syn.subjects.len(), 2);
    assert_eq!(syn.subjects[0].id, 1001);
    assert_eq!(syn.subjects[0].len(), 35 * 60);
    assert_eq!(syn.source.kind, dpwear::data::SourceKind::Generator);
    assert!(syn.source.note.contains("dpwear-generator-card"));
    // The feature pipeline takes the generated store and the CSV unchanged.
    for ext in ["h5", "csv"] {
        let f = dpwear::features::synthetic::read_synthetic(
            &dir.path().join(format!("syn.{ext}")),
            dpwear::features::subwindow_fft::FeatureMode::Reference,
            dpwear::features::synthetic::SyntheticWindows::All,
            None,
        )
        .unwrap();
        assert_eq!(f.y.len(), 70);
    }
    // Same seed, same bytes.
    let again = dir.path().join("syn2.h5");
    ok(gan_generate(
        &ck,
        &again,
        &["--subjects", "2", "--seed", "3"],
    ));
    let syn2 = dpwear::data::store::read_dataset(&again).unwrap();
    assert_eq!(syn.subjects, syn2.subjects);
    // Existing output without --force.
    let o = gan_generate(&ck, &again, &["--subjects", "2"]);
    assert_eq!(code(&o), Some(6));
}

#[test]
fn interrupted_training_resumes_to_the_same_bits() {
    let dir = tempfile::tempdir().unwrap();
    let ds = simulated(dir.path());
    let whole = dir.path().join("whole");
    let parts = dir.path().join("parts");
    ok(run(&train_args(
        ds.to_str().unwrap(),
        whole.to_str().unwrap(),
    )));
    let mut first = train_args(ds.to_str().unwrap(), parts.to_str().unwrap());
    first.extend(["--stop-after", "3"]);
    let o = run(&first);
    assert_eq!(code(&o), Some(75), "{}", stderr(&o));
    let card = read_json(&parts.join("model-card.json"));
    assert_eq!(card["training"]["status"], "in-progress");
    assert_eq!(card["training"]["steps_done"], 3);
    let o = gan_generate(&parts, &dir.path().join("x.h5"), &["--subjects", "1"]);
    assert_eq!(code(&o), Some(5), "{}", stderr(&o));
    let o = ok(run(&train_args(
        ds.to_str().unwrap(),
        parts.to_str().unwrap(),
    )));
    assert!(stderr(&o).contains("resuming"), "{}", stderr(&o));
    assert_eq!(
        sha(&whole.join("generator.safetensors")),
        sha(&parts.join("generator.safetensors"))
    );
    assert_eq!(
        sha(&whole.join("training-state.safetensors")),
        sha(&parts.join("training-state.safetensors"))
    );
}

#[test]
fn corrupt_and_missing_checkpoints_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ds = simulated(dir.path());
    let ck = dir.path().join("ck");
    ok(run(&train_args(ds.to_str().unwrap(), ck.to_str().unwrap())));
    let gen = |ck: &Path| {
        gan_generate(
            ck,
            &dir.path().join("o.h5"),
            &["--subjects", "1", "--force"],
        )
    };
    let o = gen(&dir.path().join("nope"));
    assert_eq!(code(&o), Some(3), "{}", stderr(&o));
    // Truncated weights.
    let w = ck.join("generator.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    let o = gen(&ck);
    assert_eq!(code(&o), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("generator.safetensors"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    // A foreign JSON card.
    std::fs::write(
        ck.join("model-card.json"),
        b"{\"kind\": \"something-else\"}",
    )
    .unwrap();
    let o = gen(&ck);
    assert_eq!(code(&o), Some(4), "{}", stderr(&o));
    std::fs::write(ck.join("model-card.json"), b"\x00\x01 not json").unwrap();
    let o = run(&["gan", "info", ck.to_str().unwrap()]);
    assert_eq!(code(&o), Some(4), "{}", stderr(&o));
}

#[test]
fn impossible_parameters_fail_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let ds = simulated(dir.path());
    let ds = ds.to_str().unwrap();
    let out = dir.path().join("ck");
    let out = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--generator", "timegan", "--epsilon", "1"],
            "cannot be honoured",
        ),
        (
            vec![
                "--generator",
                "cgan",
                "--epsilon",
                "1",
                "--windows",
                "sliding",
            ],
            "sliding",
        ),
        (vec!["--generator", "cgan", "--epsilon", "0"], "epsilon"),
        (
            vec![
                "--generator",
                "dgan",
                "--mode",
                "reference",
                "--epsilon",
                "1",
            ],
            "whole-batch",
        ),
        (
            vec!["--generator", "dp-merf", "--mode", "reference"],
            "no reference mode",
        ),
        (vec!["--generator", "cgan", "--epsilon", "1e-12"], "sigma"),
        (
            vec!["--generator", "cgan", "--exclude-subject", "9999"],
            "S9999",
        ),
        (
            vec!["--generator", "cgan", "--epsilon", "1", "--delta", "0.5"],
            "delta",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec![
            "gan",
            "train",
            "--dataset",
            ds,
            "--out",
            out,
            "--steps",
            "2",
            "--threads",
            "1",
            "--batch-size",
            "8",
        ];
        args.extend(extra.iter().copied());
        let o = run(&args);
        assert_eq!(code(&o), Some(5), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(
            !Path::new(out).join("model-card.json").exists(),
            "{args:?} wrote a checkpoint"
        );
    }
    let o = run(&[
        "gan",
        "train",
        "--dataset",
        "/nonexistent.h5",
        "--generator",
        "cgan",
        "--out",
        out,
    ]);
    assert_eq!(code(&o), Some(3), "{}", stderr(&o));
}

#[test]
fn private_training_states_what_it_spent() {
    let dir = tempfile::tempdir().unwrap();
    let ds = simulated(dir.path());
    let ck = dir.path().join("ck");
    let mut args = train_args(ds.to_str().unwrap(), ck.to_str().unwrap());
    args.extend(["--epsilon", "10"]);
    ok(run(&args));
    let card = read_json(&ck.join("model-card.json"));
    let p = &card["privacy"];
    assert!(p["epsilon_spent"].as_f64().unwrap() <= 10.0 + 1e-9);
    assert!(p["epsilon_spent"].as_f64().unwrap() > 0.0);
    assert_eq!(p["steps_realised"], p["steps_planned"]);
    assert_eq!(p["unit"], "window");
    assert_eq!(card["data"]["window_scheme"], "non-overlapping");
    assert!(p["not_covered"][0].as_str().unwrap().contains("min-max"));
    assert!(card["privacy_summary"].as_str().unwrap().contains("ε ="));
    assert!(card["notes"].to_string().contains("secret 256-bit key"));
    // The secret key: a second private run with the same seed trains differently; with
    // --reproducible-dp two runs are identical and the statement says whom it does not cover.
    let ck2 = dir.path().join("ck2");
    let mut args2 = train_args(ds.to_str().unwrap(), ck2.to_str().unwrap());
    args2.extend(["--epsilon", "10"]);
    ok(run(&args2));
    assert_ne!(
        sha(&ck.join("generator.safetensors")),
        sha(&ck2.join("generator.safetensors"))
    );
    let mut shas = Vec::new();
    for name in ["r1", "r2"] {
        let out = dir.path().join(name);
        let mut a = train_args(ds.to_str().unwrap(), out.to_str().unwrap());
        a.extend(["--epsilon", "10", "--reproducible-dp"]);
        ok(run(&a));
        shas.push(sha(&out.join("generator.safetensors")));
        let card = read_json(&out.join("model-card.json"));
        assert!(card["privacy_summary"]
            .as_str()
            .unwrap()
            .contains("does NOT hold"));
    }
    assert_eq!(shas[0], shas[1]);
}

#[test]
fn a_signal_checkpoints_and_exits_75() {
    let dir = tempfile::tempdir().unwrap();
    let ds = simulated(dir.path());
    let ck = dir.path().join("ck");
    let child = common::dpwear()
        .args([
            "gan",
            "train",
            "--dataset",
            ds.to_str().unwrap(),
            "--generator",
            "cgan",
            "--mode",
            "reference",
            "--steps",
            "100000000",
            "--threads",
            "1",
            "--out",
            ck.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until training runs (the first checkpoint is not needed: the signal writes one).
    std::thread::sleep(std::time::Duration::from_secs(3));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(stderr(&out).contains("resume"), "{}", stderr(&out));
    let card = read_json(&ck.join("model-card.json"));
    assert_eq!(card["training"]["status"], "in-progress");
    assert!(card["training"]["steps_done"].as_u64().unwrap() > 0);
}

#[test]
fn a_second_training_into_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ds = simulated(dir.path());
    let ck = dir.path().join("ck");
    let args = |steps: &'static str| {
        vec![
            "gan".to_string(),
            "train".into(),
            "--dataset".into(),
            ds.to_str().unwrap().into(),
            "--generator".into(),
            "cgan".into(),
            "--mode".into(),
            "reference".into(),
            "--steps".into(),
            steps.into(),
            "--threads".into(),
            "1".into(),
            "--out".into(),
            ck.to_str().unwrap().into(),
        ]
    };
    let first = common::dpwear()
        .args(args("100000000"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The first holds the folder's lock once it has started.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !dpwear::orchestration::lock::is_held(&ck.join(".lock")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first training never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = common::dpwear().args(args("100000000")).output().unwrap();
    unsafe {
        libc::kill(first.id() as i32, libc::SIGTERM);
    }
    let first = first.wait_with_output().unwrap();
    assert_eq!(code(&o), Some(6), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another `dpwear gan train`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(first.status.code(), Some(75));
}
