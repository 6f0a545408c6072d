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

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn synthetic_subjects_applies_to_every_synthetic_kind_and_is_bounded() {
    use dpwear::features::{self, FeatureMode, WindowScheme};
    let dir = tempfile::tempdir().unwrap();
    let real = small_features(dir.path(), "5", "real");
    let syn = small_features(dir.path(), "6", "syn");
    let syn_ds = dir.path().join("syn-ds.h5");
    let tstr = |train: &std::path::Path, k: &str, out: &std::path::Path| {
        let mut args = vec![
            "eval",
            "tstr",
            "--train",
            train.to_str().unwrap(),
            "--test",
            real.to_str().unwrap(),
            "--classifier",
            "cnn",
            "--replicates",
            "1",
            "--synthetic-subjects",
            k,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(FAST);
        run(&args)
    };
    // 0 is outside the documented limits: a usage error (exit 2) from the option parser.
    let o = tstr(&syn, "0", &dir.path().join("never.json"));
    assert_eq!(o.status.code(), Some(2), "K=0: {}", stderr(&o));
    assert!(stderr(&o).contains("between 1 and"), "K=0: {}", stderr(&o));
    // More than held: exit 5 before training, naming the file and its count.
    for train in [&syn, &syn_ds] {
        for k in ["5", "999"] {
            let o = tstr(train, k, &dir.path().join("never.json"));
            assert_eq!(o.status.code(), Some(5), "K={k}: {}", stderr(&o));
            let name = train.file_name().unwrap().to_str().unwrap();
            assert!(
                stderr(&o).contains(name) && stderr(&o).contains("holds 4"),
                "K={k}: {}",
                stderr(&o)
            );
        }
    }
    // K = 2 keeps the windows of the first two subjects, for a feature store and a dataset
    // store alike (counted here independently of the reader).
    let first_two = |fs: &features::FeatureSet| {
        let keep = &fs.subject_ids[..2];
        fs.subject.iter().filter(|s| keep.contains(s)).count()
    };
    let from_store = features::read_features(&syn).unwrap();
    let from_ds = features::build(
        &dpwear::data::store::read_dataset(&syn_ds).unwrap(),
        WindowScheme::NonOverlapping,
        FeatureMode::Reference,
    );
    for (train, fs) in [(&syn, &from_store), (&syn_ds, &from_ds)] {
        let want = first_two(fs);
        assert!(want < fs.len(), "K = 2 must select fewer windows than all");
        let out = dir.path().join("k2.json");
        let _ = std::fs::remove_file(&out);
        ok(tstr(train, "2", &out));
        let r = record(&out);
        assert_eq!(r["synthetic"]["windows"].as_u64().unwrap() as usize, want);
        let folds = r["replicates"][0]["folds"].as_array().unwrap();
        assert!(folds
            .iter()
            .all(|f| f["n_train_synthetic"].as_u64().unwrap() as usize == want));
    }
    // Without synthetic data the option has nothing to select.
    let o = run(&[
        "eval",
        "loso",
        "--features",
        real.to_str().unwrap(),
        "--classifier",
        "cnn",
        "--synthetic-subjects",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--synthetic"), "{}", stderr(&o));
}

#[test]
fn malformed_or_unusable_feature_sets_are_refused_before_training() {
    use dpwear::features::{read_features, write_features};
    let dir = tempfile::tempdir().unwrap();
    let real = small_features(dir.path(), "3", "real");
    let fs = read_features(&real).unwrap();
    let variant = |name: &str, edit: &dyn Fn(&mut dpwear::features::FeatureSet)| {
        let mut v = fs.clone();
        edit(&mut v);
        let p = dir.path().join(name);
        write_features(&p, &v).unwrap();
        p
    };
    let loso = |features: &std::path::Path, synthetic: Option<&std::path::Path>| {
        let mut args = vec![
            "eval".to_string(),
            "loso".into(),
            "--features".into(),
            features.to_str().unwrap().into(),
            "--classifier".into(),
            "cnn".into(),
            "--replicates".into(),
            "1".into(),
        ];
        if let Some(s) = synthetic {
            args.extend(["--synthetic".into(), s.to_str().unwrap().into()]);
        }
        args.extend(FAST.iter().map(|s| s.to_string()));
        dpwear_cmd(&args)
    };
    let nan = variant("nan.h5", &|v| v.x[5 * 1260 + 3] = f64::NAN);
    let inf = variant("inf.h5", &|v| v.x[7] = f64::INFINITY);
    let empty = variant("empty-subject.h5", &|v| v.subject_ids.push(999));
    let first = fs.subject_ids[0];
    let one = variant("one-subject.h5", &|v| {
        let keep: Vec<usize> = (0..v.len()).filter(|&i| v.subject[i] == first).collect();
        v.x = keep.iter().flat_map(|&i| fs.window(i).to_vec()).collect();
        v.y = keep.iter().map(|&i| fs.y[i]).collect();
        v.subject = keep.iter().map(|&i| fs.subject[i]).collect();
        v.start = keep.iter().map(|&i| fs.start[i]).collect();
        v.subject_ids = vec![first];
    });
    let no_stress = variant("no-stress.h5", &|v| v.y.iter_mut().for_each(|y| *y = 0));
    for (file, code, needle) in [
        (&nan, 4, "NaN"),
        (&inf, 4, "inf"),
        (&empty, 4, "S999 has no windows"),
        (&one, 5, "at least 2 subjects"),
        (&no_stress, 5, "no stress windows"),
    ] {
        let o = loso(file, None);
        let name = file.file_name().unwrap().to_str().unwrap();
        assert_eq!(o.status.code(), Some(code), "{name}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.lines().count() == 1 && err.contains(name) && err.contains(needle),
            "{name}: {err}"
        );
    }
    // Broken synthetic data is named too (augmentation and TSTR).
    let o = loso(&real, Some(&nan));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("nan.h5"), "{}", stderr(&o));
    let o = run(&[
        "eval",
        "tstr",
        "--train",
        no_stress.to_str().unwrap(),
        "--test",
        real.to_str().unwrap(),
        "--classifier",
        "cnn",
    ]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no-stress.h5") && stderr(&o).contains("no stress windows"),
        "{}",
        stderr(&o)
    );
}

fn dpwear_cmd(args: &[String]) -> std::process::Output {
    common::dpwear().args(args).output().unwrap()
}

#[test]
fn real_features_passed_as_synthetic_warn_that_test_subjects_leak() {
    let dir = tempfile::tempdir().unwrap();
    let f = small_features(dir.path(), "3", "real");
    let mut args = vec![
        "eval",
        "loso",
        "--features",
        f.to_str().unwrap(),
        "--synthetic",
        f.to_str().unwrap(),
        "--classifier",
        "cnn",
        "--replicates",
        "1",
    ];
    args.extend(FAST);
    let o = ok(run(&args));
    let err = stderr(&o);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("leak into")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].contains("real.h5"), "{err}");
}
