//! The Slurm backend end to end on a real single-node cluster (Debian's munge, slurmctld and
//! slurmd on localhost, started by `scripts/slurm-test-up.sh` in a temporary folder): a small
//! simulated grid is submitted with 2 MPI ranks per cell (`srun --mpi=pmix`); one array task
//! is cancelled while it runs and shows as failed in `dpwear status`; `submit --resume`
//! resubmits only it; every cell finishes, and the collect job writes the table.
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

fn status(work: &Path, conf: &Path) -> serde_json::Value {
    let o = ok(dpwear()
        .current_dir(work)
        .env("SLURM_CONF", conf)
        .args(["status", "killme", "--json"])
        .output()
        .unwrap());
    serde_json::from_slice(&o.stdout).unwrap()
}

fn states(s: &serde_json::Value) -> Vec<(String, String)> {
    s["cells"]
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
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
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
    let conf = cluster.conf.clone();
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
