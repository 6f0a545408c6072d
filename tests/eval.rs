//! The evaluation protocols through the binary on small simulated data (1 epoch): LOSO fold
//! membership in the record, TSTR wiring, determinism of the record, and bad input.

#![cfg(feature = "torch")]

mod common;

use common::{ok, read_json as record, run, small_features};

const FAST: [&str; 6] = ["--epochs", "1", "--threads", "1", "--batch-size", "8"];

#[test]
fn loso_record_is_deterministic_and_folds_hold_out_one_subject() {
    let dir = tempfile::tempdir().unwrap();
    let f = small_features(dir.path(), "3", "real");
    let fs = dpwear::features::read_features(&f).unwrap();
    let mut recs = Vec::new();
    for i in 0..2 {
        let out = dir.path().join(format!("r{i}.json"));
        let mut args = vec![
            "eval",
            "loso",
            "--features",
            f.to_str().unwrap(),
            "--classifier",
            "cnn",
            "--replicates",
            "2",
            "--mode",
            "reference",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(FAST);
        ok(run(&args));
        let mut r = record(&out);
        r.as_object_mut().unwrap().remove("timings");
        recs.push(r);
    }
    assert_eq!(
        recs[0], recs[1],
        "same seed → identical record (timings aside)"
    );
    let r = &recs[0];
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["data"]["simulated"], true);
    let reps = r["replicates"].as_array().unwrap();
    assert_eq!(reps.len(), 2);
    assert_ne!(
        reps[0]["seed"], reps[1]["seed"],
        "replicates use distinct seeds"
    );
    for rep in reps {
        let folds = rep["folds"].as_array().unwrap();
        assert_eq!(folds.len(), fs.subject_ids.len());
        for fold in folds {
            let id: u32 = fold["test_subject"].as_str().unwrap()[1..].parse().unwrap();
            let n_subject = fs.subject.iter().filter(|&&s| s == id).count();
            assert_eq!(fold["n_test"].as_u64().unwrap() as usize, n_subject);
            assert_eq!(
                fold["n_train_real"].as_u64().unwrap() as usize,
                fs.len() - n_subject
            );
            assert_eq!(fold["metrics"]["n"].as_u64().unwrap() as usize, n_subject);
        }
    }
    let sd = &r["summary"]["accuracy"]["sd"];
    assert!(sd.is_number() || sd.is_null());

    // --same-seed reproduces the reference's identical "CI runs"
    let out = dir.path().join("same.json");
    let mut args = vec![
        "eval",
        "loso",
        "--features",
        f.to_str().unwrap(),
        "--classifier",
        "cnn",
        "--replicates",
        "2",
        "--same-seed",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(FAST);
    ok(run(&args));
    let r = record(&out);
    assert_eq!(r["replicates"][0]["folds"], r["replicates"][1]["folds"]);
    assert_eq!(r["summary"]["accuracy"]["sd"], 0.0);
}

#[test]
fn tstr_trains_on_synthetic_and_tests_every_real_subject() {
    let dir = tempfile::tempdir().unwrap();
    let real = small_features(dir.path(), "5", "real");
    let syn = small_features(dir.path(), "6", "syn");
    let out = dir.path().join("t.json");
    for clf in ["cnn-lstm", "transformer"] {
        let mut args = vec![
            "eval",
            "tstr",
            "--train",
            syn.to_str().unwrap(),
            "--test",
            real.to_str().unwrap(),
            "--classifier",
            clf,
            "--replicates",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--force",
        ];
        args.extend(FAST);
        let o = ok(run(&args));
        assert!(String::from_utf8_lossy(&o.stdout).contains("average"));
        let r = record(&out);
        let syn_fs = dpwear::features::read_features(&syn).unwrap();
        let real_fs = dpwear::features::read_features(&real).unwrap();
        assert_eq!(
            r["synthetic"]["windows"].as_u64().unwrap() as usize,
            syn_fs.len()
        );
        let folds = r["replicates"][0]["folds"].as_array().unwrap();
        assert_eq!(folds.len(), real_fs.subject_ids.len());
        let tested: usize = folds
            .iter()
            .map(|f| f["n_test"].as_u64().unwrap() as usize)
            .sum();
        assert_eq!(tested, real_fs.len());
        assert!(folds.iter().all(|f| f["n_train_real"] == 0
            && f["n_train_synthetic"].as_u64().unwrap() as usize == syn_fs.len()));
    }
}

#[test]
fn bad_evaluation_input_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let f = small_features(dir.path(), "3", "real");
    let fstr = f.to_str().unwrap();
    // unknown classifier and --replicates 0: usage errors naming the value
    let o = run(&["eval", "loso", "--features", fstr, "--classifier", "resnet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("resnet"));
    let o = run(&[
        "eval",
        "loso",
        "--features",
        fstr,
        "--classifier",
        "cnn",
        "--replicates",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("replicates"));
    // a features file without labels: /y removed
    let nolabels = dir.path().join("nolabels.h5");
    std::fs::copy(&f, &nolabels).unwrap();
    {
        let h = hdf5::File::open_rw(&nolabels).unwrap();
        h.unlink("y").unwrap();
    }
    let o = run(&[
        "eval",
        "loso",
        "--features",
        nolabels.to_str().unwrap(),
        "--classifier",
        "cnn",
    ]);
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nolabels.h5") && err.contains("/y"), "{err}");
    // a dataset store where features are expected
    let ds = dir.path().join("real-ds.h5");
    let o = run(&[
        "eval",
        "loso",
        "--features",
        ds.to_str().unwrap(),
        "--classifier",
        "cnn",
    ]);
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("dpwear-features"));
    // TSTR without usable synthetic data
    let o = run(&[
        "eval",
        "tstr",
        "--train",
        dir.path().join("none.csv").to_str().unwrap(),
        "--test",
        fstr,
        "--classifier",
        "cnn",
    ]);
    assert_eq!(o.status.code(), Some(3));
}
