//! Campaigns through the binary: plan → local run → collect on a tiny simulated grid; a second
//! run does no work; `--only` and `--failed`; a tampered manifest is refused; Ctrl-C keeps
//! finished cells; and MPI ranks (`mpirun -n 2`) give the same cell record as one rank.

#![cfg(feature = "torch")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{dpwear, ok};

/// A tiny experiment in `dir`: 3 simulated subjects (short sessions), 1 epoch, the real
/// baseline plus augment and TSTR with a simulated "synthetic" store; 2 replicates → 6 cells.
fn tiny_experiment(dir: &Path) -> PathBuf {
    let syn = dir.join("syn.h5");
    ok(dpwear()
        .args(["data", "simulate", "--subjects", "2", "--seed", "77"])
        .args(["--minutes-scale", "0.3", "--out"])
        .arg(&syn)
        .output()
        .unwrap());
    let toml = dir.join("tiny.toml");
    std::fs::write(
        &toml,
        r#"
schema_version = 1
campaign = "tiny"
master_seed = 7
replicates = 2

[dataset]
simulate = { subjects = 3, seed = 5, minutes_scale = 0.3 }

[model]
epochs = 1
batch_size = 8
threads = 1

[local]
parallel = 2

[[grid]]
strategy = ["real"]

[[grid]]
strategy = ["augment", "tstr"]
generator = ["file:syn.h5"]
synthetic_subjects = [2]

[[report.table]]
rows = ["strategy"]
columns = ["classifier"]
"#,
    )
    .unwrap();
    toml
}

fn run_campaign(toml: &Path, results: &Path, extra: &[&str]) -> Output {
    dpwear()
        .arg("run")
        .arg(toml)
        .arg("--results")
        .arg(results)
        .args(extra)
        .output()
        .unwrap()
}

/// `dpwear plan TOML --results RESULTS`, which must succeed.
fn plan(toml: &Path, results: &Path) -> Output {
    ok(dpwear()
        .arg("plan")
        .arg(toml)
        .arg("--results")
        .arg(results)
        .output()
        .unwrap())
}

fn manifest(results: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(results.join("tiny/manifest.json")).unwrap()).unwrap()
}

fn cell_ids(m: &serde_json::Value) -> Vec<String> {
    m["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn plan_run_collect_and_a_second_run_does_no_work() {
    let dir = tempfile::tempdir().unwrap();
    let toml = tiny_experiment(dir.path());
    let results = dir.path().join("results");

    let planned = plan(&toml, &results);
    let text = String::from_utf8_lossy(&planned.stdout);
    assert!(
        text.contains("3 grid point(s) × 2 replicate(s) = 6 cell(s)"),
        "{text}"
    );
    assert!(text.contains("[SIMULATED]"), "{text}");
    let m = manifest(&results);
    let ids = cell_ids(&m);
    assert_eq!(ids.len(), 6);

    let first = ok(run_campaign(&toml, &results, &[]));
    let table = String::from_utf8_lossy(&first.stdout);
    assert!(table.contains("real"), "{table}");
    assert!(
        table.contains("augment") && table.contains("tstr"),
        "{table}"
    );
    for id in &ids {
        let rec: serde_json::Value = serde_json::from_slice(
            &std::fs::read(results.join(format!("tiny/cells/{id}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(rec["kind"], "dpwear-cell");
        assert_eq!(rec["cell_id"], id.as_str());
        assert!(
            !results.join(format!("tiny/cells/{id}")).exists(),
            "checkpoints removed"
        );
    }
    for f in [
        "table-1-macro_f1.md",
        "table-1-macro_f1.csv",
        "table-1-macro_f1.tex",
    ] {
        assert!(results.join("tiny/tables").join(f).is_file(), "{f}");
    }
    // the same plan: same ids
    assert_eq!(cell_ids(&manifest(&results)), ids);

    // a second run recomputes nothing
    let rec0 = results.join(format!("tiny/cells/{}.json", ids[0]));
    let before = mtime(&rec0);
    let second = ok(run_campaign(&toml, &results, &[]));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("0 cell(s) to run, 6 already finished"),
        "{err}"
    );
    assert_eq!(mtime(&rec0), before);

    // --only reruns exactly that cell
    let third = ok(run_campaign(&toml, &results, &["--only", &ids[1]]));
    let err = String::from_utf8_lossy(&third.stderr);
    assert!(err.contains("1 cell(s) to run"), "{err}");
    assert_eq!(mtime(&rec0), before);

    // a failed cell is retried by --failed and only it
    let failure = results.join(format!("tiny/cells/{}.failed.json", ids[2]));
    std::fs::remove_file(results.join(format!("tiny/cells/{}.json", ids[2]))).unwrap();
    std::fs::write(
        &failure,
        format!(
            r#"{{"schema_version":1,"kind":"dpwear-cell-failure","cell_id":"{}","index":2,"exit_code":1,"message":"test","resumable":false,"at_unix":0}}"#,
            ids[2]
        ),
    )
    .unwrap();
    let fourth = ok(run_campaign(&toml, &results, &["--failed"]));
    let err = String::from_utf8_lossy(&fourth.stderr);
    assert!(err.contains("1 cell(s) to run"), "{err}");
    assert!(!failure.exists());
    assert!(results
        .join(format!("tiny/cells/{}.json", ids[2]))
        .is_file());
}

#[test]
fn run_cell_refuses_a_cell_whose_hash_does_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let toml = tiny_experiment(dir.path());
    let results = dir.path().join("results");
    plan(&toml, &results);
    let path = results.join("tiny/manifest.json");
    let mut m = manifest(&results);
    m["cells"][0]["config"]["replicate"] = serde_json::json!(5);
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let o = dpwear()
        .args(["run-cell", "--manifest"])
        .arg(&path)
        .args(["--index", "0"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("hash does not match"), "{err}");
    // an index outside the manifest
    let o = dpwear()
        .args(["run-cell", "--manifest"])
        .arg(&path)
        .args(["--index", "99"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5));
}

#[test]
fn an_interrupted_cell_keeps_its_folds_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let toml = tiny_experiment(dir.path());
    let results = dir.path().join("results");
    plan(&toml, &results);
    let m = manifest(&results);
    let id = cell_ids(&m)[0].clone();
    let path = results.join("tiny/manifest.json");
    let mut child = dpwear()
        .args(["run-cell", "--manifest"])
        .arg(&path)
        .args(["--index", "0", "--threads", "1"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // wait for the first fold checkpoint, then send SIGTERM (what scancel/Ctrl-C deliver)
    let folds = results.join(format!("tiny/cells/{id}/folds"));
    let t0 = std::time::Instant::now();
    while std::fs::read_dir(&folds).map(|d| d.count()).unwrap_or(0) == 0 {
        assert!(t0.elapsed().as_secs() < 120, "no fold checkpoint appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    let record = results.join(format!("tiny/cells/{id}.json"));
    if status.code() == Some(75) {
        assert!(!record.exists());
        let state = plan(&toml, &results);
        assert!(String::from_utf8_lossy(&state.stdout).contains("interrupted"));
        let resumed = ok(dpwear()
            .args(["run-cell", "--manifest"])
            .arg(&path)
            .args(["--index", "0", "--threads", "1", "-v"])
            .output()
            .unwrap());
        let err = String::from_utf8_lossy(&resumed.stderr);
        assert!(err.contains("fold checkpoints reused"), "{err}");
    } else {
        // the signal arrived after the last fold: the cell finished normally
        assert_eq!(status.code(), Some(0));
    }
    assert!(record.is_file());
}

fn mpirun() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/mpirun");
    p.exists().then_some(p)
}

#[cfg(feature = "mpi")]
#[test]
fn two_mpi_ranks_give_the_same_cell_record_as_one() {
    let Some(mpirun) = mpirun() else {
        panic!("mpirun is missing: install openmpi-bin (scripts/bootstrap.sh does)");
    };
    let dir = tempfile::tempdir().unwrap();
    let toml = tiny_experiment(dir.path());
    let results = dir.path().join("results");
    plan(&toml, &results);
    let path = results.join("tiny/manifest.json");
    let id = cell_ids(&manifest(&results))[0].clone();
    let record = results.join(format!("tiny/cells/{id}.json"));
    ok(dpwear()
        .args(["run-cell", "--manifest"])
        .arg(&path)
        .args(["--index", "0", "--threads", "1"])
        .output()
        .unwrap());
    let one: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    std::fs::remove_file(&record).unwrap();
    ok(std::process::Command::new(mpirun)
        .args(["-n", "2", "--oversubscribe", "--allow-run-as-root"])
        .arg(env!("CARGO_BIN_EXE_dpwear"))
        .args(["run-cell", "--manifest"])
        .arg(&path)
        .args(["--index", "0", "--threads", "1"])
        .output()
        .unwrap());
    let two: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(one["ranks"], 1);
    assert_eq!(two["ranks"], 2);
    // every fold's metrics identical: the folds' seeds do not depend on which rank ran them
    assert_eq!(one["eval"]["replicates"], two["eval"]["replicates"]);
}

#[test]
fn a_private_cell_has_a_ledger_before_it_runs_and_a_privacy_block_after() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("p.toml");
    std::fs::write(
        &toml,
        r#"
schema_version = 1
campaign = "tiny"
replicates = 1
[dataset]
simulate = { subjects = 3, seed = 5, minutes_scale = 0.3 }
[model]
epochs = 1
batch_size = 8
threads = 1
[[grid]]
epsilon = ["inf", 2]
[privacy]
accountant = "rdp"
delta = 1e-3
"#,
    )
    .unwrap();
    let results = dir.path().join("results");
    let planned = plan(&toml, &results);
    let text = String::from_utf8_lossy(&planned.stdout);
    assert!(text.contains("privacy ledger"), "{text}");
    assert!(
        text.contains("rdp accountant") && text.contains("poisson sampling"),
        "{text}"
    );
    assert!(text.contains("unit window"), "{text}");
    let m = manifest(&results);
    assert!(m["cells"][0]["ledger"].is_null());
    let l = &m["cells"][1]["ledger"];
    assert_eq!(l["epsilon_target"], 2.0);
    assert!(l["epsilon_planned_max"].as_f64().unwrap() <= 2.0 + 1e-9);
    assert_eq!(l["delta"][0], 1e-3);
    let (s_lo, s_hi) = (
        l["sigma"][0].as_f64().unwrap(),
        l["sigma"][1].as_f64().unwrap(),
    );
    assert!(s_lo > 0.0 && s_lo <= s_hi);

    ok(run_campaign(&toml, &results, &[]));
    let id = cell_ids(&m)[1].clone();
    let rec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(results.join(format!("tiny/cells/{id}.json"))).unwrap(),
    )
    .unwrap();
    for fold in rec["eval"]["replicates"][0]["folds"].as_array().unwrap() {
        let p = &fold["privacy"];
        assert_eq!(p["accountant"], "rdp");
        assert_eq!(p["unit"], "window");
        assert!(p["epsilon_spent"].as_f64().unwrap() <= 2.0 * (1.0 + 1e-6));
        let sigma = p["sigma"].as_f64().unwrap();
        assert!(
            (s_lo..=s_hi).contains(&sigma),
            "σ {sigma} outside the ledger's [{s_lo}, {s_hi}]"
        );
        assert!(p["steps_realised"].as_u64().unwrap() > 0);
    }
    // the non-private cell has no privacy block
    let id0 = cell_ids(&m)[0].clone();
    let rec0: serde_json::Value = serde_json::from_slice(
        &std::fs::read(results.join(format!("tiny/cells/{id0}.json"))).unwrap(),
    )
    .unwrap();
    assert!(rec0["eval"]["replicates"][0]["folds"][0]["privacy"].is_null());
}
