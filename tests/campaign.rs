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

/// `dpwear run-cell --manifest M --index I` (not waited for).
fn run_cell(results: &Path, index: usize, extra: &[&str]) -> std::process::Command {
    let mut c = dpwear();
    c.args(["run-cell", "--manifest"])
        .arg(results.join("tiny/manifest.json"))
        .args(["--index", &index.to_string(), "--threads", "1"])
        .args(extra);
    c
}

/// `dpwear status` as JSON.
fn status_json(results: &Path) -> serde_json::Value {
    let o = ok(dpwear()
        .arg("status")
        .arg(results.join("tiny"))
        .arg("--json")
        .output()
        .unwrap());
    serde_json::from_slice(&o.stdout).unwrap()
}

fn code_and_stderr(o: &Output) -> (Option<i32>, String) {
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Takes an exclusive flock on `path` in this process (what another dpwear would hold).
fn hold_flock(path: &Path, holder: &str) -> std::fs::File {
    use std::os::fd::AsRawFd;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, holder).unwrap();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    assert_eq!(
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    f
}

#[test]
fn corrupt_records_are_reported_moved_aside_and_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let toml = tiny_experiment(dir.path());
    let results = dir.path().join("results");
    ok(run_campaign(&toml, &results, &[]));
    let ids = cell_ids(&manifest(&results));
    let cells = results.join("tiny/cells");
    let rec = |i: usize| cells.join(format!("{}.json", ids[i]));
    let good = std::fs::read_to_string(rec(0)).unwrap();
    std::fs::write(rec(0), &good[..good.len() / 2]).unwrap(); // truncated
    std::fs::write(rec(1), b"\x00garbage\xff").unwrap();
    std::fs::write(rec(2), b"{}").unwrap();
    // another cell's (valid) record under this cell's name
    std::fs::copy(rec(4), rec(3)).unwrap();

    let s = status_json(&results);
    assert_eq!(s["counts"]["corrupt"], 4, "{s}");
    assert_eq!(s["counts"]["done"], 2, "{s}");
    assert!(s["counts"].get("not").is_none(), "{s}");
    assert_eq!(s["cells"][3]["state"], "corrupt");
    assert!(s["cells"][3]["detail"]
        .as_str()
        .unwrap()
        .contains("record of cell"));

    let collected = dpwear()
        .arg("collect")
        .arg(results.join("tiny"))
        .output()
        .unwrap();
    let (code, err) = code_and_stderr(&collected);
    assert_eq!(code, Some(4), "{err}");
    for id in &ids[..4] {
        assert!(err.contains(id.as_str()), "{id} not named: {err}");
    }
    assert!(err.contains("4 cell record(s) do not verify"), "{err}");

    let rerun = ok(run_campaign(&toml, &results, &[]));
    let err = String::from_utf8_lossy(&rerun.stderr);
    assert!(
        err.contains("4 cell(s) to run, 2 already finished"),
        "{err}"
    );
    for (i, id) in ids.iter().enumerate().take(4) {
        let aside = cells.join(format!("{id}.corrupt-1.json"));
        assert!(aside.is_file(), "{} not moved aside", rec(i).display());
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(rec(i)).unwrap()).unwrap();
        assert_eq!(r["cell_id"], id.as_str());
    }
    assert_eq!(
        std::fs::read(cells.join(format!("{}.corrupt-1.json", ids[1]))).unwrap(),
        b"\x00garbage\xff"
    );
    ok(dpwear()
        .arg("collect")
        .arg(results.join("tiny"))
        .output()
        .unwrap());
}

#[test]
fn a_locked_campaign_refuses_a_second_plan_or_run_and_stale_temporaries_go() {
    let dir = tempfile::tempdir().unwrap();
    let toml = tiny_experiment(dir.path());
    let results = dir.path().join("results");
    // a plan killed with -9 left a temporary manifest; its pid no longer runs
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let dead = c.id();
    c.wait().unwrap();
    std::fs::create_dir_all(results.join("tiny")).unwrap();
    let stale = results.join(format!("tiny/.manifest.json.tmp-{dead}"));
    std::fs::write(&stale, b"{\"half").unwrap();
    plan(&toml, &results);
    assert!(!stale.exists(), "stale temporary left behind");

    let held = hold_flock(
        &results.join("tiny/.lock"),
        "pid 4242 on host elsewhere (dpwear run)",
    );
    for cmd in ["plan", "run"] {
        let o = dpwear()
            .arg(cmd)
            .arg(&toml)
            .arg("--results")
            .arg(&results)
            .output()
            .unwrap();
        let (code, err) = code_and_stderr(&o);
        assert_eq!(code, Some(6), "{cmd}: {err}");
        assert!(
            err.contains("lock the campaign") && err.contains("pid 4242 on host elsewhere"),
            "{cmd}: {err}"
        );
    }
    assert!(
        !results.join("tiny/logs").exists(),
        "the refused run started cells"
    );
    drop(held);
    plan(&toml, &results);
}

#[test]
fn one_cell_is_computed_once_and_a_run_is_pinned_to_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let toml = tiny_experiment(dir.path());
    let results = dir.path().join("results");
    plan(&toml, &results);
    let ids = cell_ids(&manifest(&results));

    // a run-cell waits while another process holds the cell's lock; status says running
    let held = hold_flock(
        &results.join(format!("tiny/cells/{}.lock", ids[0])),
        "pid 4242 on host elsewhere (dpwear run-cell)",
    );
    let s = status_json(&results);
    assert_eq!(s["cells"][0]["key"], "running", "{s}");
    assert_eq!(s["counts"]["not_run"], 5, "{s}");
    let waiting = run_cell(&results, 0, &[])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        !results.join(format!("tiny/cells/{}", ids[0])).exists(),
        "it computed while the lock was held"
    );
    drop(held);
    let o = ok(waiting.wait_with_output().unwrap());
    assert!(String::from_utf8_lossy(&o.stderr).contains("being computed by pid 4242"));
    assert!(String::from_utf8_lossy(&o.stdout).contains("done in"));

    // two run-cell of one cell at once: one computes it, the other finds it finished
    let spawn = || {
        run_cell(&results, 1, &[])
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        ok(a.wait_with_output().unwrap()),
        ok(b.wait_with_output().unwrap()),
    );
    let computed = [&a, &b]
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stdout).contains("done in"))
        .count();
    assert_eq!(computed, 1, "the cell was computed {computed} times");

    // a manifest that changed under a pinned run-cell is refused
    let path = results.join("tiny/manifest.json");
    let pinned = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(std::fs::read(&path).unwrap());
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    let o = run_cell(&results, 2, &["--manifest-sha256", &pinned])
        .output()
        .unwrap();
    let (code, err) = code_and_stderr(&o);
    assert_eq!(code, Some(7), "{err}");
    assert!(
        err.contains("the manifest changed since the run started"),
        "{err}"
    );
    assert!(!results.join(format!("tiny/cells/{}.json", ids[2])).exists());
}

#[test]
fn tampered_staged_inputs_and_forged_fold_checkpoints_are_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let toml = tiny_experiment(dir.path());
    let results = dir.path().join("results");
    plan(&toml, &results);
    let m = manifest(&results);
    let id = cell_ids(&m)[0].clone();
    let rel = m["real"]["features"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    let store = results.join("tiny").join(&rel);
    // flipped labels, same source digest: a valid store that is not the staged one
    let mut fs = dpwear::features::read_features(&store).unwrap();
    let original_y = fs.y.clone();
    for y in fs.y.iter_mut() {
        *y = 1 - *y;
    }
    std::fs::remove_file(&store).unwrap();
    dpwear::features::write_features(&store, &fs).unwrap();
    let o = run_cell(&results, 0, &[]).output().unwrap();
    let (code, err) = code_and_stderr(&o);
    assert_eq!(code, Some(7), "{err}");
    assert!(
        err.contains("the staged store changed since `dpwear plan`"),
        "{err}"
    );
    // plan restages it (it no longer has the digest the manifest recorded)
    plan(&toml, &results);
    assert_eq!(
        dpwear::features::read_features(&store).unwrap().y,
        original_y
    );
    ok(run_cell(&results, 0, &[]).output().unwrap());
    let record = results.join(format!("tiny/cells/{id}.json"));
    let honest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    let fold0 = honest["eval"]["replicates"][0]["folds"][0].clone();

    // a forged checkpoint of fold 0 (the unsealed form older versions wrote, or another
    // cell's sealed one) is recomputed, never used
    let mut forged_record = fold0.clone();
    forged_record["metrics"]["macro_f1"] = serde_json::json!(0.123456);
    let outcome = serde_json::json!({
        "replicate": 0, "record": forged_record, "train_seconds": 1.0,
        "predict_seconds": 1.0, "profile": null
    });
    let folds = results.join(format!("tiny/cells/{id}/folds"));
    for forged in [
        outcome.clone(),
        serde_json::json!({
            "schema_version": 1, "kind": "dpwear-fold-checkpoint", "cell_id": "0123456789abcdef",
            "fold": 0, "sha256": "00", "outcome": outcome
        }),
    ] {
        std::fs::remove_file(&record).unwrap();
        std::fs::create_dir_all(&folds).unwrap();
        std::fs::write(folds.join("fold-000.json"), forged.to_string()).unwrap();
        let o = ok(run_cell(&results, 0, &[]).output().unwrap());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("not a valid checkpoint of fold 0"), "{err}");
        let again: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
        assert_eq!(
            again["eval"]["replicates"][0]["folds"][0]["metrics"],
            fold0["metrics"]
        );
    }
}

#[test]
fn collect_takes_the_experiment_file_and_rereads_its_report_section() {
    let dir = tempfile::tempdir().unwrap();
    let toml = tiny_experiment(dir.path());
    let results = dir.path().join("results");
    ok(run_campaign(&toml, &results, &[]));
    // a figure that cannot be drawn (strategy and generator take several values)
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        format!("{text}\n[[report.figure]]\nx = \"synthetic_subjects\"\nseries = []\n"),
    )
    .unwrap();
    let collect = || {
        dpwear()
            .arg("collect")
            .arg(&toml)
            .arg("--results")
            .arg(&results)
            .output()
            .unwrap()
    };
    let o = collect();
    let (code, err) = code_and_stderr(&o);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("[[report.figure]] 1"), "{err}");
    assert!(results.join("tiny/tables/table-1-macro_f1.md").is_file());
    // fixed in the experiment file: collected without a new plan
    std::fs::write(
        &toml,
        format!(
            "{text}\n[[report.figure]]\nx = \"synthetic_subjects\"\nseries = [\"strategy\", \"generator\"]\n"
        ),
    )
    .unwrap();
    let o = ok(collect());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("using the [report] section"), "{err}");
    assert!(results
        .join("tiny/figures/figure-1-macro_f1-vs-synthetic_subjects.svg")
        .is_file());
    // a path that is neither a campaign folder nor an experiment says what collect takes
    let o = dpwear()
        .arg("collect")
        .arg(dir.path().join("nothing-here"))
        .output()
        .unwrap();
    let (code, err) = code_and_stderr(&o);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("collect takes a campaign folder"), "{err}");
}
