//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod fake_command;

use std::path::{Path, PathBuf};
use std::process::Output;

/// The shared reference data folder (`../shared/data` beside the repository; CI has it there).
pub fn shared_data() -> PathBuf {
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if beside.exists() {
        return beside;
    }
    PathBuf::from("/work/shared/data")
}

/// The reference's WESAD files.
pub fn wesad_ref(name: &str) -> PathBuf {
    let p = shared_data().join("wesad").join(name);
    assert!(
        p.exists(),
        "reference data {} is missing: the tests read it from ../shared/data",
        p.display()
    );
    p
}

/// The built `dpwear` binary.
pub fn dpwear() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_dpwear"))
}

/// Python with numpy for the fixture generators: `DPWEAR_PYTHON`, the project's `.venv`, or
/// `python3`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("DPWEAR_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    "python3".into()
}

/// Runs `dpwear ARGS` to completion.
pub fn run(args: &[&str]) -> Output {
    dpwear().args(args).output().expect("run dpwear")
}

/// Runs `dpwear gan train --dataset DATASET --out OUT EXTRA…` to completion (unchecked).
pub fn gan_train(dataset: &Path, out: &Path, extra: &[&str]) -> Output {
    let (d, o) = (dataset.to_str().unwrap(), out.to_str().unwrap());
    let mut args = vec!["gan", "train", "--dataset", d, "--out", o];
    args.extend_from_slice(extra);
    run(&args)
}

/// Trains a small DP-MERF (20 steps, one thread, non-overlapping windows) with `extra`
/// arguments (e.g. an ε, excluded subjects) to completion (unchecked).
pub fn small_dp_merf(dataset: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--generator",
        "dp-merf",
        "--steps",
        "20",
        "--threads",
        "1",
        "--windows",
        "non-overlapping",
    ];
    args.extend_from_slice(extra);
    gan_train(dataset, out, &args)
}

/// Runs `dpwear gan generate --checkpoint CHECKPOINT --out OUT EXTRA…` to completion
/// (unchecked).
pub fn gan_generate(checkpoint: &Path, out: &Path, extra: &[&str]) -> Output {
    let (c, o) = (checkpoint.to_str().unwrap(), out.to_str().unwrap());
    let mut args = vec!["gan", "generate", "--checkpoint", c, "--out", o];
    args.extend_from_slice(extra);
    run(&args)
}

/// Asserts success, showing the exit code, stdout and stderr otherwise.
pub fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// A JSON file (a result record, a manifest).
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A simulated dataset and its reference features in `dir` (4 subjects, short sessions):
/// `NAME-ds.h5` and the returned `NAME.h5`.
pub fn small_features(dir: &Path, seed: &str, name: &str) -> PathBuf {
    let ds = dir.join(format!("{name}-ds.h5"));
    let f = dir.join(format!("{name}.h5"));
    ok(run(&[
        "data",
        "simulate",
        "--subjects",
        "4",
        "--seed",
        seed,
        "--minutes-scale",
        "0.2",
        "--out",
        ds.to_str().unwrap(),
    ]));
    features(&ds, &f);
    f
}

/// `dpwear data import SRC --out OUT`, which must succeed.
pub fn import(src: &Path, out: &Path) {
    ok(run(&[
        "data",
        "import",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
}

/// `dpwear features --dataset DS --out OUT` (reference mode), which must succeed.
pub fn features(ds: &Path, out: &Path) {
    ok(run(&[
        "features",
        "--dataset",
        ds.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
}

/// `dpwear data simulate` of 3 subjects (seed 4) at `minutes_scale` into `dir/sim.h5`.
pub fn simulated(dir: &Path, minutes_scale: &str) -> PathBuf {
    let ds = dir.join("sim.h5");
    ok(run(&[
        "data",
        "simulate",
        "--subjects",
        "3",
        "--seed",
        "4",
        "--minutes-scale",
        minutes_scale,
        "--out",
        ds.to_str().unwrap(),
    ]));
    ds
}
