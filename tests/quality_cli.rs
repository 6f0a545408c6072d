//! `dpwear quality` through the binary on small simulated data: a DP-MERF generator trained
//! without one subject is measured against the real store (members: its training subjects;
//! holdout: the left-out subject), the report folder holds JSON, Markdown and SVG figures, and
//! bad input gets its documented exit code.

#![cfg(feature = "torch")]

mod common;

use std::path::{Path, PathBuf};

use common::{gan_generate, gan_train, ok, read_json, run};

fn simulated(dir: &Path) -> PathBuf {
    common::simulated(dir, "0.3")
}

/// A small DP-MERF trained on all subjects but the first of the simulated store (S101), and
/// 3 synthetic subjects sampled from it.
fn generator(dir: &Path, ds: &Path) -> (PathBuf, PathBuf) {
    let ck = dir.join("ck");
    ok(common::small_dp_merf(
        ds,
        &ck,
        &["--exclude-subject", "101"],
    ));
    let syn = dir.join("syn.h5");
    ok(gan_generate(
        &ck,
        &syn,
        &[
            "--subjects",
            "3",
            "--windows-per-subject",
            "10",
            "--stress-fraction",
            "0.3",
            "--seed",
            "3",
        ],
    ));
    (ck, syn)
}

#[test]
fn a_report_with_leakage_against_the_left_out_subject() {
    let dir = tempfile::tempdir().unwrap();
    let ds = simulated(dir.path());
    let (ck, syn) = generator(dir.path(), &ds);
    let out = dir.path().join("report");
    let args = [
        "quality",
        "--real",
        ds.to_str().unwrap(),
        "--synthetic",
        syn.to_str().unwrap(),
        "--checkpoint",
        ck.to_str().unwrap(),
        "--permutations",
        "20",
        "--out",
        out.to_str().unwrap(),
    ];
    let o = ok(run(&args));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("mmd2 = ") && stdout.contains("mia_auc = "),
        "{stdout}"
    );
    let j = read_json(&out.join("quality.json"));
    assert_eq!(j["kind"], "dpwear-quality-report");
    let r = &j["report"];
    let leak = &r["leakage"];
    assert!(leak.is_object(), "{r}");
    // The holdout is the left-out subject's windows only, the members the other two's.
    let real_windows = r["fidelity"]["real_windows"].as_u64().unwrap();
    let (m, h) = (
        leak["members"].as_u64().unwrap(),
        leak["holdout"].as_u64().unwrap(),
    );
    assert!(
        m > 0 && h > 0 && m + h == real_windows,
        "{m} + {h} vs {real_windows}"
    );
    assert_eq!(r["fidelity"]["synthetic_windows"], 30);
    let auc = leak["distance_attack"]["auc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&auc));
    for f in [
        "histograms.svg",
        "correlation.svg",
        "spectra.svg",
        "pca.svg",
        "tsne.svg",
    ] {
        let svg = std::fs::read_to_string(out.join("figures").join(f)).unwrap();
        let label = if f.starts_with("pca") || f.starts_with("tsne") {
            "real ("
        } else {
            "BVP"
        };
        assert!(svg.starts_with("<svg") && svg.contains(label), "{f}");
    }
    let md = std::fs::read_to_string(out.join("quality.md")).unwrap();
    assert!(md.contains("## Leakage") && md.contains("figures/correlation.svg"));

    // An existing report is not replaced without --force.
    let o = run(&args);
    assert_eq!(
        o.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Too few synthetic windows for a test: a located error, not a panic.
    let tiny = dir.path().join("tiny.h5");
    ok(gan_generate(
        &ck,
        &tiny,
        &["--subjects", "1", "--windows-per-subject", "2"],
    ));
    let o = run(&[
        "quality",
        "--real",
        ds.to_str().unwrap(),
        "--synthetic",
        tiny.to_str().unwrap(),
        "--out",
        dir.path().join("tiny-report").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(
        err.contains("synthetic") && err.contains("at least"),
        "{err}"
    );
}

#[test]
fn bad_inputs_get_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let ds = simulated(dir.path());
    let out = dir.path().join("r");
    let missing = dir.path().join("missing.h5");
    let o = run(&[
        "quality",
        "--real",
        ds.to_str().unwrap(),
        "--synthetic",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.h5"));
    let junk = dir.path().join("junk.h5");
    std::fs::write(&junk, b"not an hdf5 file").unwrap();
    let o = run(&[
        "quality",
        "--real",
        ds.to_str().unwrap(),
        "--synthetic",
        junk.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(4));
    // Without a checkpoint or holdout: fidelity only, the store against itself.
    let o = ok(run(&[
        "quality",
        "--real",
        ds.to_str().unwrap(),
        "--synthetic",
        ds.to_str().unwrap(),
        "--permutations",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("mia_auc"));
    let j = read_json(&out.join("quality.json"));
    assert!(j["report"]["leakage"].is_null());
    // The same windows on both sides: nothing to tell apart.
    assert!(j["report"]["fidelity"]["mmd"]["mmd2"].as_f64().unwrap() <= 0.0);
    assert!(
        j["report"]["fidelity"]["c2st"]["accuracy"]
            .as_f64()
            .unwrap()
            <= 0.6
    );
    let o = run(&[
        "quality",
        "--real",
        ds.to_str().unwrap(),
        "--synthetic",
        ds.to_str().unwrap(),
        "--max-pairwise",
        "3",
        "--out",
        dir.path().join("r2").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(5));
}

#[test]
fn post_hoc_scores_and_the_canary_audit_of_a_private_cgan() {
    let dir = tempfile::tempdir().unwrap();
    let ds = simulated(dir.path());
    let ck = dir.path().join("ck");
    ok(gan_train(
        &ds,
        &ck,
        &[
            "--generator",
            "cgan",
            "--steps",
            "2",
            "--batch-size",
            "8",
            "--epsilon",
            "10",
            "--delta",
            "1e-5",
            "--windows",
            "non-overlapping",
            "--threads",
            "1",
            "--exclude-subject",
            "101",
        ],
    ));
    let syn = dir.path().join("syn.h5");
    ok(gan_generate(
        &ck,
        &syn,
        &[
            "--subjects",
            "2",
            "--windows-per-subject",
            "10",
            "--seed",
            "1",
        ],
    ));
    let out = dir.path().join("report");
    ok(run(&[
        "quality",
        "--real",
        ds.to_str().unwrap(),
        "--synthetic",
        syn.to_str().unwrap(),
        "--checkpoint",
        ck.to_str().unwrap(),
        "--permutations",
        "10",
        "--model-scores",
        "--score-iterations",
        "20",
        "--audit",
        "--audit-trials",
        "40",
        "--no-tsne",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]));
    let r = read_json(&out.join("quality.json"))["report"].clone();
    let m = &r["model_scores"];
    let score = m["discriminative_score"].as_f64().unwrap();
    assert!((0.0..=0.5).contains(&score), "{m}");
    assert!(m["predictive_mae"].as_f64().unwrap() > 0.0, "{m}");
    let a = &r["audit"];
    let (lower, claimed) = (
        a["eps_lower"].as_f64().unwrap(),
        a["claimed_epsilon"].as_f64().unwrap(),
    );
    assert!(lower >= 0.0 && lower <= claimed, "{a}");
    assert_eq!(a["trials"], 40);
    let md = std::fs::read_to_string(out.join("quality.md")).unwrap();
    assert!(md.contains("## Canary audit") && md.contains("Post-hoc models"));
    assert!(!out.join("figures/tsne.svg").exists());
    assert!(out.join("figures/pca.svg").exists());

    // A non-private checkpoint has no claim to audit.
    let plain = dir.path().join("plain");
    ok(gan_train(
        &ds,
        &plain,
        &["--generator", "dp-merf", "--steps", "5", "--threads", "1"],
    ));
    let o = run(&[
        "quality",
        "--real",
        ds.to_str().unwrap(),
        "--synthetic",
        syn.to_str().unwrap(),
        "--checkpoint",
        plain.to_str().unwrap(),
        "--audit",
        "--out",
        dir.path().join("r2").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("without differential privacy"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
