//! Private classifier training through the binary on small simulated data (1 epoch, batch 8):
//! DP-SGD for all three classifiers with the privacy block in every fold, spent ε within the
//! target, determinism, the effect of the noise, the reference-batch label, subject-level and
//! PLD runs, bad parameters; plus the DP-step benchmark (ignored; see bench/dp_step.sh).

#![cfg(feature = "torch")]

mod common;

use std::path::Path;

use common::{ok, read_json as record, run};
use serde_json::Value;

const FAST: [&str; 8] = [
    "--epochs",
    "1",
    "--threads",
    "1",
    "--batch-size",
    "8",
    "--replicates",
    "1",
];

/// `eval loso` on `f` with `extra` arguments, writing `out`; returns (record, stdout).
fn loso(f: &Path, out: &Path, classifier: &str, extra: &[&str]) -> (Value, String) {
    let mut args = vec![
        "eval",
        "loso",
        "--features",
        f.to_str().unwrap(),
        "--classifier",
        classifier,
        "--out",
        out.to_str().unwrap(),
        "--force",
    ];
    args.extend(FAST);
    args.extend(extra);
    let o = ok(run(&args));
    (record(out), String::from_utf8_lossy(&o.stdout).into_owned())
}

fn folds(r: &Value) -> &Vec<Value> {
    r["replicates"][0]["folds"].as_array().unwrap()
}

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The privacy block of an example-level, window-unit, RDP run at target `eps`.
fn check_example_block(fold: &Value, eps: f64) {
    let p = &fold["privacy"];
    assert_eq!(p["dp_level"], "example-level DP-SGD", "{p}");
    assert_eq!(p["mode"], "example");
    assert_eq!(p["sampling"], "poisson");
    assert_eq!(p["unit"], "window");
    assert_eq!(p["accountant"], "rdp");
    let n = fold["n_train_real"].as_u64().unwrap();
    assert_eq!(p["units"].as_u64().unwrap(), n);
    let delta = f64_of(&p["delta"]);
    // the default rule min(1e-5, 1/(100 n)), stated with its n
    let want = 1e-5f64.min(0.01 / n as f64);
    assert_eq!(delta, want, "δ {delta}");
    assert_eq!(p["delta_rule"], format!("min(1e-5, 1/(100 n)), n = {n}"));
    assert!((f64_of(&p["sample_rate"]) - 8.0 / n as f64).abs() < 1e-12);
    let planned = p["steps_planned"].as_u64().unwrap();
    assert_eq!(planned, n.div_ceil(8)); // ⌈1 epoch · n / 8⌉
    assert_eq!(p["steps_realised"].as_u64().unwrap(), planned);
    assert!(p["empty_batches"].as_u64().unwrap() <= planned);
    assert_eq!(f64_of(&p["epsilon_target"]), eps);
    let spent = f64_of(&p["epsilon_spent"]);
    assert!(spent > 0.0 && spent <= eps * (1.0 + 1e-9), "spent {spent}");
    assert!(f64_of(&p["sigma"]) > 0.0);
    assert_eq!(f64_of(&p["clip_norm"]), 1.0);
    let st = p["statement"].as_str().unwrap();
    for needle in ["per window", "rdp accountant", "δ = ", "sampling: poisson"] {
        assert!(st.contains(needle), "{st} lacks {needle}");
    }
    let ratio = f64_of(&p["noise_to_signal"]);
    assert!(ratio.is_finite() && ratio > 0.0, "noise/signal {ratio}");
    let note = p["notes"][0].as_str().unwrap();
    assert!(note.contains("public class weights"), "{note}");
    assert!(note.contains("ln(1+|x|)"), "{note}");
    // the public weights, not the fold's label counts
    assert_eq!(fold["class_weights"], serde_json::json!([1.0, 2.5]));
}

#[test]
fn dp_sgd_trains_all_three_classifiers_and_records_the_guarantee() {
    let dir = tempfile::tempdir().unwrap();
    let f = common::small_features(dir.path(), "3", "f");
    let out = dir.path().join("r.json");
    for clf in ["cnn", "cnn-lstm", "transformer"] {
        let (r, stdout) = loso(&f, &out, clf, &["--epsilon", "2"]);
        let dp = &r["config"]["hyper"]["dp"];
        assert_eq!(dp["mode"], "example", "{clf}");
        assert_eq!(f64_of(&dp["target_epsilon"]), 2.0);
        assert!(dp.get("delta").is_none(), "default δ rule: not serialised");
        for fold in folds(&r) {
            check_example_block(fold, 2.0);
            let note = &fold["privacy"]["dp_architecture_note"];
            if clf == "cnn-lstm" {
                assert!(note.as_str().unwrap().contains("LayerNorm"), "{note}");
            } else {
                assert!(note.is_null(), "{clf}: {note}");
            }
        }
        for needle in [
            "privacy: example-level DP-SGD",
            "per window",
            "δ = ",
            "rdp accountant",
            "sampling: poisson",
            "noise/signal per step",
        ] {
            assert!(
                stdout.contains(needle),
                "{clf}: table lacks {needle}:\n{stdout}"
            );
        }
    }
}

#[test]
fn dp_runs_are_deterministic_and_the_noise_matters() {
    let dir = tempfile::tempdir().unwrap();
    let f = common::small_features(dir.path(), "4", "f");
    let strip = |mut r: Value| {
        r.as_object_mut().unwrap().remove("timings");
        r
    };
    let repro = ["--epsilon", "1", "--reproducible-dp"];
    let a = strip(loso(&f, &dir.path().join("a.json"), "cnn", &repro).0);
    let b = strip(loso(&f, &dir.path().join("b.json"), "cnn", &repro).0);
    assert_eq!(
        a, b,
        "same seed + --reproducible-dp → identical private record"
    );
    assert!(a.to_string().contains("does NOT hold against them"));
    // By default the DP noise comes from a secret key: the same seed gives other noise.
    let s1 = strip(loso(&f, &dir.path().join("s1.json"), "cnn", &["--epsilon", "1"]).0);
    let s2 = strip(loso(&f, &dir.path().join("s2.json"), "cnn", &["--epsilon", "1"]).0);
    let fl =
        |r: &Value| -> Vec<f64> { folds(r).iter().map(|f| f64_of(&f["final_loss"])).collect() };
    assert_ne!(fl(&s1), fl(&s2), "secret DP noise must differ between runs");
    assert!(s1
        .to_string()
        .contains("secret key drawn from the operating system"));
    // A far weaker guarantee means far less noise: a different model.
    let weak = strip(
        loso(
            &f,
            &dir.path().join("w.json"),
            "cnn",
            &["--epsilon", "1000"],
        )
        .0,
    );
    let plain = strip(loso(&f, &dir.path().join("p.json"), "cnn", &[]).0);
    assert!(plain["config"]["hyper"].get("dp").is_none());
    assert!(folds(&plain).iter().all(|f| f.get("privacy").is_none()));
    let losses =
        |r: &Value| -> Vec<f64> { folds(r).iter().map(|f| f64_of(&f["final_loss"])).collect() };
    let sigma = |r: &Value| f64_of(&folds(r)[0]["privacy"]["sigma"]);
    assert!(
        sigma(&a) > 10.0 * sigma(&weak),
        "{} vs {}",
        sigma(&a),
        sigma(&weak)
    );
    assert_ne!(losses(&a), losses(&weak));
    assert_ne!(losses(&a), losses(&plain));
    // A different seed draws other batches and noise.
    let mut args = vec!["--epsilon", "1", "--seed", "7"];
    let c = strip(loso(&f, &dir.path().join("c.json"), "cnn", &args).0);
    assert_ne!(losses(&a), losses(&c));
    // The public class weights enter training (same σ: they do not change the privacy plan).
    let unweighted = strip(
        loso(
            &f,
            &dir.path().join("u.json"),
            "cnn",
            &["--epsilon", "1", "--dp-class-weights", "1,1"],
        )
        .0,
    );
    assert_eq!(
        folds(&unweighted)[0]["class_weights"],
        serde_json::json!([1.0, 1.0])
    );
    assert_eq!(sigma(&unweighted), sigma(&a));
    assert_ne!(losses(&a), losses(&unweighted));
    // The subject unit and the PLD accountant.
    args = vec![
        "--epsilon",
        "5",
        "--privacy-unit",
        "subject",
        "--accountant",
        "pld",
        "--delta",
        "1e-3",
    ];
    let s = strip(loso(&f, &dir.path().join("s.json"), "cnn", &args).0);
    for fold in folds(&s) {
        let p = &fold["privacy"];
        assert_eq!(p["unit"], "subject");
        assert_eq!(p["accountant"], "pld");
        assert_eq!(p["delta_rule"], "fixed (--delta)");
        assert_eq!(f64_of(&p["delta"]), 1e-3);
        assert_eq!(p["units"], 3, "4 subjects, one held out");
        assert!(f64_of(&p["epsilon_spent"]) <= 5.0 * (1.0 + 1e-9));
        assert!(p["statement"].as_str().unwrap().contains("per subject"));
        assert!(p["conversion"].as_str().unwrap().contains("pld"));
    }
}

#[test]
fn reference_batch_mode_is_labelled_not_example_level() {
    let dir = tempfile::tempdir().unwrap();
    let f = common::small_features(dir.path(), "5", "f");
    let fs = dpwear::features::read_features(&f).unwrap();
    let n = fs.len() as u64;
    let out = dir.path().join("r.json");
    let (r, stdout) = loso(
        &f,
        &out,
        "cnn-lstm",
        &[
            "--epsilon",
            "1",
            "--dp-mode",
            "reference-batch",
            "--mode",
            "reference",
        ],
    );
    for fold in folds(&r) {
        let p = &fold["privacy"];
        assert_eq!(
            p["dp_level"],
            "reference-compatible batch-level clipping (not example-level DP)"
        );
        assert_eq!(
            p["sampling"],
            "shuffle (not covered by the amplification analysis)"
        );
        assert_eq!(
            p["units"].as_u64().unwrap(),
            n,
            "the reference's n: all real windows"
        );
        let digits = n.to_string().len() as i32;
        assert!((f64_of(&p["delta"]) - 10f64.powi(-digits)).abs() < 1e-18);
        assert_eq!(p["steps_planned"].as_u64().unwrap(), n.div_ceil(8));
        let n_train = fold["n_train_real"].as_u64().unwrap();
        assert_eq!(p["steps_realised"].as_u64().unwrap(), n_train.div_ceil(8));
        assert_eq!(f64_of(&p["expected_batch_size"]), 1.0);
        assert!(
            p["dp_architecture_note"].is_null(),
            "BatchNorm kept as in the reference"
        );
        // the batch-mean gradient is clipped to C but the noise is not divided by B
        assert!(f64_of(&p["noise_to_signal"]) > 0.0);
        let notes = p["notes"].to_string();
        assert!(
            notes.contains("does NOT hold") && notes.contains("loss bug"),
            "{notes}"
        );
        assert!(p["conversion"]
            .as_str()
            .unwrap()
            .contains("tf-privacy 0.8.5"));
        // reference class weights {0: 1, 1: n0/n1} are kept
        assert_eq!(f64_of(&fold["class_weights"][0]), 1.0);
    }
    assert!(stdout.contains("NOT example-level DP"), "{stdout}");
}

/// A record written before private training existed still reads, and writes back unchanged
/// (the new fields are optional and not serialised when absent).
#[test]
fn old_records_read_and_round_trip_unchanged() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results/benchmarks/loso-cnn-reference/rep-1.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let rec: dpwear::evaluation::record::EvalRecord = serde_json::from_str(&text).unwrap();
    assert!(rec.config.hyper.dp.is_none());
    assert!(rec.replicates[0].folds.iter().all(|f| f.privacy.is_none()));
    let back = serde_json::to_value(&rec).unwrap();
    let orig: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, orig);
}

#[test]
fn bad_privacy_parameters_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = common::small_features(dir.path(), "3", "f");
    let fstr = f.to_str().unwrap();
    let base = ["eval", "loso", "--features", fstr, "--classifier", "cnn"];
    for (extra, needle) in [
        (vec!["--epsilon", "0"], "--epsilon"),
        (vec!["--epsilon", "-1"], "--epsilon"),
        (vec!["--epsilon", "1", "--delta", "1"], "--delta"),
        (vec!["--epsilon", "1", "--delta", "2.5"], "--delta"),
        (vec!["--epsilon", "1", "--delta", "0"], "--delta"),
        // 3 training subjects: δ = 0.4 is not below 1/n = 1/3
        (
            vec![
                "--epsilon",
                "1",
                "--privacy-unit",
                "subject",
                "--delta",
                "0.4",
            ],
            "not below 1/n",
        ),
        (vec!["--epsilon", "1", "--clip-norm", "0"], "--clip-norm"),
        (
            vec!["--epsilon", "1", "--dp-class-weights", "1,0"],
            "--dp-class-weights",
        ),
        (
            vec!["--epsilon", "1e-9", "--delta", "1e-10"],
            "cannot be reached",
        ),
        (
            vec![
                "--epsilon",
                "1",
                "--dp-mode",
                "reference-batch",
                "--accountant",
                "pld",
            ],
            "reference-batch",
        ),
        (
            vec![
                "--epsilon",
                "1",
                "--dp-mode",
                "reference-batch",
                "--privacy-unit",
                "subject",
            ],
            "subject",
        ),
        (
            vec!["--epsilon", "1", "--batch-size", "60000"],
            "batch size",
        ),
    ] {
        let mut args = base.to_vec();
        args.extend(&extra);
        if !extra.contains(&"--batch-size") {
            args.extend(["--batch-size", "8"]);
        }
        let o = run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(5), "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{extra:?}: one line: {err}"
        );
        assert!(err.starts_with("dpwear: failed to"), "{err}");
    }
    // TSTR with --epsilon
    let o = run(&[
        "eval",
        "tstr",
        "--train",
        fstr,
        "--test",
        fstr,
        "--classifier",
        "cnn",
        "--epsilon",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&o.stderr).contains("loso"));
    // privacy options without --epsilon: a usage error
    let mut args = base.to_vec();
    args.extend(["--delta", "1e-5"]);
    assert_eq!(run(&args).status.code(), Some(2));
}

/// The cost of one DP-SGD step against one non-private step (batch 50, reference features,
/// 1 thread) for the classifier in DPWEAR_BENCH_CLASSIFIER (default cnn). Run by
/// `bench/dp_step.sh` (set DPWEAR_BENCH_FEATURES):
/// `cargo test --release --test eval_dp bench_dp_step -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_dp_step() {
    use dpwear::models::classifiers::{build, build_dp};
    use dpwear::models::{ClassifierKind, HeadMode};
    use dpwear::privacy::dpsgd::DpStepConfig;
    use dpwear::training::classifier::{features_tensor, TrainProfile};
    use dpwear::training::dp::{example_step, tape_params};
    use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

    let path = std::env::var("DPWEAR_BENCH_FEATURES")
        .unwrap_or_else(|_| "/work/main/results/bench-data/wesad-ref-features.h5".into());
    let threads: i32 = std::env::var("DPWEAR_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    let reps: usize = std::env::var("DPWEAR_BENCH_REPS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(20);
    let kind = std::env::var("DPWEAR_BENCH_CLASSIFIER")
        .map(|k| {
            ClassifierKind::parse(&k).expect("DPWEAR_BENCH_CLASSIFIER: cnn|cnn-lstm|transformer")
        })
        .unwrap_or(ClassifierKind::Cnn);
    tch::set_num_threads(threads);
    let fs = dpwear::features::read_features(Path::new(&path)).unwrap();
    let batch = 50usize;
    let idx: Vec<usize> = (0..batch).map(|i| i * fs.len() / batch).collect();
    let all: Vec<usize> = (0..fs.len()).collect();
    let x = features_tensor(&fs.x, &all, Device::Cpu);
    let y = Tensor::from_slice(&fs.y.iter().map(|&l| l as i64).collect::<Vec<_>>());
    let idx64: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    let adam = |vs: &nn::VarStore| {
        nn::Adam {
            beta1: 0.9,
            beta2: 0.999,
            wd: 0.0,
            eps: 1e-7,
            amsgrad: false,
        }
        .build(vs, 1e-3)
        .unwrap()
    };
    // Non-private step, as in training::classifier (reference head, weighted batch mean).
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build(kind, vs.root());
    let mut opt = adam(&vs);
    let it = Tensor::from_slice(&idx64);
    // Dropout masks from a stream, as the training loops install one.
    use dpwear::models::dropout::{with_stream, DropoutStream};
    let mut plain_masks = DropoutStream::new(7);
    let mut plain_step = || {
        let xb = x.index_select(0, &it);
        let yb = y.index_select(0, &it);
        let logits = with_stream(&mut plain_masks, || model.forward_t(&xb, true));
        let target = yb.one_hot(2).to_kind(Kind::Float);
        let loss = logits
            .binary_cross_entropy_with_logits::<Tensor>(&target, None, None, tch::Reduction::None)
            .mean_dim([1i64].as_slice(), false, Kind::Float)
            .sum(Kind::Float)
            / batch as f64;
        opt.zero_grad();
        loss.backward();
        opt.step();
    };
    // DP step: the very function the training loop calls, then Adam.
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let (dp_model, _) = build_dp(kind, vs.root());
    let mut dp_opt = adam(&vs);
    let _params = tape_params(dp_model.as_ref(), &x);
    let cfg = DpStepConfig {
        clip_norm: 1.0,
        noise_multiplier: 1.0,
        expected_batch_size: batch as f64,
    };
    let mut seed = 0;
    let mut prof = TrainProfile::default();
    let mut dp_masks = DropoutStream::new(7);
    let mut dp_step = || {
        seed += 1;
        with_stream(&mut dp_masks, || {
            example_step(
                dp_model.as_ref(),
                HeadMode::Reference,
                &x,
                &y,
                &idx64,
                None,
                dpwear::models::DpTraining::DEFAULT_CLASS_WEIGHTS.map(|w| w / 2.5),
                &cfg,
                seed,
                &mut prof,
            )
        });
        dp_opt.step();
    };
    // Interleaved, so that load from other processes hits both alike.
    for _ in 0..3 {
        plain_step();
        dp_step();
    }
    let (mut plain, mut dp) = (Vec::new(), Vec::new());
    let ms = |f: &mut dyn FnMut()| {
        let t = std::time::Instant::now();
        f();
        t.elapsed().as_secs_f64() * 1e3
    };
    for _ in 0..reps {
        plain.push(ms(&mut plain_step));
        dp.push(ms(&mut dp_step));
    }
    let med = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        s[s.len() / 2]
    };
    let (p, d) = (med(&plain), med(&dp));
    let n = (reps + 3) as f64;
    println!(
        "{}, batch {batch}, {threads} thread(s), {reps} timed steps of each (interleaved) after 3 warm-up: non-private step median {p:.1} ms (min {:.1}), DP-SGD step median {d:.1} ms (min {:.1}); ratio {:.2}x",
        kind.as_str(),
        plain.iter().cloned().fold(f64::INFINITY, f64::min),
        dp.iter().cloned().fold(f64::INFINITY, f64::min),
        d / p
    );
    println!(
        "DP step split (mean over {n} steps): batching {:.1} ms, recorded forward + loss {:.1} ms, backprops + per-example grads + clipping + noise {:.1} ms",
        prof.batching / n * 1e3,
        prof.forward / n * 1e3,
        prof.backward / n * 1e3
    );
}
