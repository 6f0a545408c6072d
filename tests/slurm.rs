//! The Slurm backend end to end on a real single-node cluster (Debian's munge, slurmctld and
//! slurmd on localhost, started by `scripts/slurm-test-up.sh` in a temporary folder), in two
//! scenarios on one cluster:
//! 1. cells: a small simulated grid is submitted with 2 MPI ranks per cell (`srun
//!    --mpi=pmix`); one array task is cancelled while it runs and shows as failed in `dpwear
//!    status`; `submit --resume` resubmits only it; every cell finishes, and the collect job
//!    writes the table;
//! 2. the generator stage: per-fold `dp-merf` generators go out as one generator array and the
//!    cells as an array that waits for it (`afterok`); one generator task is cancelled while it
//!    trains, so the cell array can never start and is removed; `status` shows that generator
//!    cancelled; `submit --resume` resubmits only that generator and the unfinished cells
//!    (waiting for it); everything finishes and the second collect job writes the table.
//!
//! Needs root (the daemons run as root) and the Slurm packages (`scripts/bootstrap.sh`
//! installs them). One test function: the cluster's ports allow one cluster at a time.

#![cfg(all(feature = "torch", feature = "mpi"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{dpwear, ok};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
}

impl Cluster {
    fn up(dir: &Path) -> Cluster {
        let out = Command::new("bash")
            .arg(repo().join("scripts/slurm-test-up.sh"))
            .arg(dir)
            .output()
            .expect("run slurm-test-up.sh");
        assert!(
            out.status.success(),
            "the test cluster did not start (root and the slurm packages are needed: scripts/bootstrap.sh):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Cluster {
            dir: dir.to_path_buf(),
            conf: dir.join("slurm.conf"),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo().join("scripts/slurm-test-down.sh"))
            .arg(&self.dir)
            .output();
    }
}

fn status_of(work: &Path, conf: &Path, campaign: &str) -> serde_json::Value {
    let o = ok(dpwear()
        .current_dir(work)
        .env("SLURM_CONF", conf)
        .args(["status", campaign, "--json"])
        .output()
        .unwrap());
    serde_json::from_slice(&o.stdout).unwrap()
}

fn status(work: &Path, conf: &Path) -> serde_json::Value {
    status_of(work, conf, "killme")
}

/// `(state, job)` of each entry of `what` (`cells` or `generators`) of a `status --json`.
fn entries(s: &serde_json::Value, what: &str) -> Vec<(String, String)> {
    s[what]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["state"].as_str().unwrap().to_string(),
                c["job"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn states(s: &serde_json::Value) -> Vec<(String, String)> {
    entries(s, "cells")
}

/// The campaign's `slurm/submissions.json`.
fn ledger(work: &Path, campaign: &str) -> serde_json::Value {
    let p = work.join(format!("results/{campaign}/slurm/submissions.json"));
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// `JobState` of a job as slurmctld reports it (`scontrol -o show job`).
fn job_state(conf: &Path, id: u64) -> String {
    let o = Command::new("scontrol")
        .env("SLURM_CONF", conf)
        .args(["-o", "show", "job", &id.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .find_map(|w| w.strip_prefix("JobState="))
        .unwrap_or("")
        .to_string()
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed().as_secs() < secs,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn submit_kill_one_task_resume_and_collect_on_a_real_slurm() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = Cluster::up(&tmp.path().join("cluster"));
    let t0 = Instant::now();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    cells_scenario(&work, &cluster.conf);
    eprintln!("cells scenario: {:.0} s", t0.elapsed().as_secs_f64());
    let t1 = Instant::now();
    let work = tmp.path().join("work-generators");
    std::fs::create_dir_all(&work).unwrap();
    generator_stage_scenario(&work, &cluster.conf);
    eprintln!(
        "generator stage scenario: {:.0} s",
        t1.elapsed().as_secs_f64()
    );
}

/// Scenario 1: a cell task cancelled while it runs, resumed alone.
fn cells_scenario(work: &Path, conf: &Path) {
    let work = work.to_path_buf();
    ok(dpwear()
        .current_dir(&work)
        .args(["data", "simulate", "--subjects", "2", "--seed", "77"])
        .args(["--minutes-scale", "0.3", "--out", "syn.h5"])
        .output()
        .unwrap());
    std::fs::write(
        work.join("killme.toml"),
        r#"
schema_version = 1
campaign = "killme"
master_seed = 3
replicates = 1

[dataset]
simulate = { subjects = 3, seed = 5, minutes_scale = 0.3 }

[model]
epochs = 20
batch_size = 8
threads = 1

[[grid]]
strategy = ["real"]

[[grid]]
strategy = ["augment", "tstr"]
generator = ["file:syn.h5"]
synthetic_subjects = [2]

[slurm]
partition = "debug"
time = "00:10:00"
ranks_per_cell = 2
cpus_per_task = 1
signal_seconds = 60
"#,
    )
    .unwrap();
    let conf = conf.to_path_buf();
    let first = ok(dpwear()
        .current_dir(&work)
        .env("SLURM_CONF", &conf)
        .args(["submit", "killme.toml"])
        .output()
        .unwrap());
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(text.contains("submitted 3 cell(s)"), "{text}");

    // a second submit while cells are queued is refused
    let again = dpwear()
        .current_dir(&work)
        .env("SLURM_CONF", &conf)
        .args(["submit", "killme.toml"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(5));

    // cancel the first task that runs (2 ranks on a 2-CPU node: one cell at a time)
    let mut victim = (usize::MAX, String::new());
    wait_for("a running cell", 120, || {
        let s = states(&status(&work, &conf));
        if let Some(i) = s.iter().position(|(st, _)| st == "running") {
            victim = (i, s[i].1.clone());
            true
        } else {
            false
        }
    });
    ok(Command::new("scancel")
        .env("SLURM_CONF", &conf)
        .arg(&victim.1)
        .output()
        .unwrap());
    wait_for("the other cells to finish", 300, || {
        states(&status(&work, &conf))
            .iter()
            .all(|(st, _)| st == "done" || st.starts_with("failed"))
    });
    let s = states(&status(&work, &conf));
    for (i, (st, _)) in s.iter().enumerate() {
        if i == victim.0 {
            assert!(st.starts_with("failed"), "cancelled cell shows {st}");
        } else {
            assert_eq!(st, "done", "cell {i}");
        }
    }

    let resumed = ok(dpwear()
        .current_dir(&work)
        .env("SLURM_CONF", &conf)
        .args(["submit", "killme.toml", "--resume"])
        .output()
        .unwrap());
    let text = String::from_utf8_lossy(&resumed.stdout);
    assert!(text.contains("submitted 1 cell(s)"), "{text}");
    wait_for("every cell done", 300, || {
        states(&status(&work, &conf))
            .iter()
            .all(|(st, _)| st == "done")
    });
    let md = work.join("results/killme/tables/table-1-macro_f1.md");
    wait_for("the collect job's table", 120, || md.is_file());
    let table = std::fs::read_to_string(&md).unwrap();
    assert!(
        table.contains("augment") && table.contains("tstr"),
        "{table}"
    );
    // every cell ran on 2 MPI ranks
    for entry in std::fs::read_dir(work.join("results/killme/cells")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) == Some("json") {
            let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            if r["kind"] == "dpwear-cell" {
                assert_eq!(r["ranks"], 2, "{}", p.display());
            }
        }
    }
}

/// Scenario 2: the generator stage. 3 subjects give 3 per-fold dp-merf generators (400 steps:
/// a few seconds each), shared by an augment and a TSTR cell; a real-data cell shares the cell
/// array. One generator task is cancelled while it trains.
fn generator_stage_scenario(work: &Path, conf: &Path) {
    std::fs::write(
        work.join("gens.toml"),
        r#"
schema_version = 1
campaign = "gens"
master_seed = 3
replicates = 1

[dataset]
simulate = { subjects = 3, seed = 5, minutes_scale = 0.3 }
windows = "non-overlapping"

[model]
epochs = 1
batch_size = 8
threads = 1

[generation]
windows_per_subject = 10

[generators.dp-merf]
steps = 400

[[grid]]
strategy = ["real"]

[[grid]]
strategy = ["augment", "tstr"]
generator = ["dp-merf"]
synthetic_subjects = [1]

[slurm]
partition = "debug"
time = "00:10:00"
ranks_per_cell = 1
cpus_per_task = 1
signal_seconds = 60
"#,
    )
    .unwrap();
    let submit = |extra: &[&str]| {
        ok(dpwear()
            .current_dir(work)
            .env("SLURM_CONF", conf)
            .args(["submit", "gens.toml"])
            .args(extra)
            .output()
            .unwrap())
    };
    let st = || status_of(work, conf, "gens");
    let first = submit(&[]);
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(
        text.contains("submitted 3 cell(s)") && text.contains("after 3 generator training(s)"),
        "{text}"
    );
    let l = ledger(work, "gens");
    let sub = &l["submissions"][0];
    let gen_job = sub["generator_arrays"][0]["job_id"].as_u64().unwrap();
    assert_eq!(
        sub["generator_arrays"][0]["task_ids"],
        serde_json::json!([0, 1, 2])
    );
    assert_eq!(
        sub["arrays"][0]["depends_on"],
        serde_json::json!([gen_job.to_string()]),
        "the cell array waits for the generator array"
    );
    let script =
        std::fs::read_to_string(work.join("results/gens/slurm/generators-1-1.sbatch")).unwrap();
    for want in [
        "#SBATCH --ntasks=1",
        "#SBATCH --signal=B:USR1@60",
        "generator-%A_%a.out",
        "run-generator --manifest",
        "--threads 1 --index $((0 + SLURM_ARRAY_TASK_ID))",
    ] {
        assert!(script.contains(want), "missing {want:?} in\n{script}");
    }

    // cancel the first generator task seen running; meanwhile no cell may start
    let mut victim = (usize::MAX, String::new());
    wait_for("a running generator", 120, || {
        let s = st();
        let gens = entries(&s, "generators");
        assert_eq!(gens.len(), 3, "{s}");
        let Some(i) = gens
            .iter()
            .position(|(st, job)| st == "running" && job != "-")
        else {
            return false;
        };
        for (state, _) in states(&s) {
            assert_eq!(state, "pending", "cells wait for the generators: {s}");
        }
        victim = (
            s["generators"][i]["index"].as_u64().unwrap() as usize,
            gens[i].1.clone(),
        );
        true
    });
    ok(Command::new("scancel")
        .env("SLURM_CONF", conf)
        .arg(&victim.1)
        .output()
        .unwrap());
    // the other generators finish; the cell array can never start and is removed
    wait_for(
        "the generators to end and the cells to be removed",
        180,
        || {
            let s = st();
            entries(&s, "generators")
                .iter()
                .all(|(st, _)| st == "done" || st.starts_with("failed"))
                && states(&s).iter().all(|(st, _)| st.starts_with("failed"))
        },
    );
    let s = st();
    eprintln!(
        "after the cancel of generator task {}: cells {:?}",
        victim.1,
        states(&s)
    );
    for g in s["generators"].as_array().unwrap() {
        let state = g["state"].as_str().unwrap();
        if g["index"].as_u64() == Some(victim.0 as u64) {
            assert_eq!(state, "failed (cancelled)", "{s}");
            assert_eq!(g["key"], "failed");
        } else {
            assert_eq!(state, "done", "{s}");
        }
    }
    assert_eq!(s["generator_counts"]["done"], 2, "{s}");
    assert_eq!(s["generator_counts"]["failed"], 1, "{s}");
    assert_eq!(s["counts"]["failed"], 3, "no cell ran: {s}");
    for c in s["cells"].as_array().unwrap() {
        let record = work.join(format!(
            "results/gens/cells/{}.json",
            c["id"].as_str().unwrap()
        ));
        assert!(!record.exists(), "no cell ran: {}", record.display());
    }
    let text_status = ok(dpwear()
        .current_dir(work)
        .env("SLURM_CONF", conf)
        .args(["status", "gens"])
        .output()
        .unwrap());
    let text = String::from_utf8_lossy(&text_status.stdout);
    assert!(
        text.contains("3 generator training(s): 2 done, 1 failed")
            && text.contains("failed (cancelled)"),
        "{text}"
    );

    // resume: only the cancelled generator and the cells, which wait for it
    let resumed = submit(&["--resume"]);
    let text = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        text.contains("submitted 3 cell(s)") && text.contains("after 1 generator training(s)"),
        "{text}"
    );
    let l = ledger(work, "gens");
    let sub = &l["submissions"][1];
    assert_eq!(sub["resume"], true);
    let gen_job = sub["generator_arrays"][0]["job_id"].as_u64().unwrap();
    assert_eq!(
        sub["generator_arrays"][0]["task_ids"],
        serde_json::json!([victim.0]),
        "only the cancelled generator is sent again"
    );
    assert_eq!(
        sub["arrays"][0]["depends_on"],
        serde_json::json!([gen_job.to_string()])
    );
    let collect = sub["collect_job_id"].as_u64().unwrap();
    wait_for("every generator and cell done", 300, || {
        let s = st();
        entries(&s, "generators")
            .iter()
            .chain(states(&s).iter())
            .all(|(st, _)| st == "done")
    });
    wait_for("the second collect job", 120, || {
        job_state(conf, collect) == "COMPLETED"
    });
    let md = work.join("results/gens/tables/table-1-macro_f1.md");
    let table = std::fs::read_to_string(&md).unwrap();
    assert!(
        table.contains("augment") && table.contains("tstr") && table.contains("real"),
        "{table}"
    );
    // the generators' logs say generator
    let logs: Vec<String> = std::fs::read_dir(work.join("results/gens/slurm/logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        logs.iter().filter(|n| n.starts_with("generator-")).count(),
        4,
        "3 + 1 generator task logs: {logs:?}"
    );
}
