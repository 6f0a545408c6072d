//! `dpwear submit` of a campaign with a generator stage against fake Slurm commands (a folder
//! of shell scripts first on PATH that log their arguments and answer from files): the order of
//! the sbatch calls and their dependency options, the scripts, the ledger, `status`, and a
//! `--resume` that finds one generator task running, one cancelled and one pending, and the
//! cell array pending on a dependency that can never be satisfied. The real-Slurm run of the
//! same flow is in `tests/slurm.rs`.
//!
//! Needs the torch build: a dpwear without libtorch refuses to plan generator trainings.

#![cfg(feature = "torch")]

mod common;

use std::path::{Path, PathBuf};

use common::{dpwear, ok};

const GENS: &str = r#"
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
time = "00:10:00"
cpus_per_task = 2
ranks_per_cell = 2
array_throttle = 4
"#;

/// A folder of fake Slurm commands: sbatch hands out job ids from 100 and logs each call's
/// arguments (one line per call) to `sbatch.log`; squeue prints `squeue.txt`; scontrol prints
/// the captured configuration and knows no job; sacct has no accounting; scancel logs to
/// `scancel.log`.
fn fake_slurm(dir: &Path) -> std::ffi::OsString {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let d = dir.display();
    let config = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/slurm/captured/scontrol_show_config.txt");
    let fake =
        |name: &str, body: String| common::fake_command::write_fake_command(&bin, name, &body);
    fake(
        "sbatch",
        format!(
            "n=$(cat '{d}/next' 2>/dev/null || echo 100); echo $((n + 1)) > '{d}/next'\n\
             echo \"$*\" >> '{d}/sbatch.log'; echo \"$n\""
        ),
    );
    fake(
        "squeue",
        format!("cat '{d}/squeue.txt' 2>/dev/null || true"),
    );
    fake(
        "scontrol",
        format!(
            "if [ \"$1\" = show ] && [ \"$2\" = config ]; then cat '{}'; exit 0; fi\n\
             echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1",
            config.display()
        ),
    );
    fake(
        "sacct",
        "echo 'Slurm accounting storage is disabled' >&2; exit 1".into(),
    );
    fake("scancel", format!("echo \"$*\" >> '{d}/scancel.log'"));
    let mut path = std::ffi::OsString::from(&bin);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    path
}

fn sbatch_calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("sbatch.log"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn json(p: PathBuf) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

#[test]
fn generator_array_first_cells_wait_for_it_and_resume_sends_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = fake_slurm(d);
    std::fs::write(d.join("gens.toml"), GENS).unwrap();
    let dpw = |args: &[&str]| {
        let mut c = dpwear();
        c.current_dir(d).env("PATH", &path).args(args);
        c
    };
    let camp = d.join("results/gens");
    let slurm = camp.join("slurm");

    // the dry run prints the generator script and the cell array's dependency
    let o = ok(dpw(&["plan", "gens.toml", "--dry-run"]).output().unwrap());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("3 generator training(s) → 1 generator array job(s)"),
        "{out}"
    );
    assert!(out.contains("slurm/generators-1-1.sbatch"), "{out}");
    assert!(
        out.contains("--dependency=afterok:<generator array job 1> --kill-on-invalid-dep=yes"),
        "{out}"
    );
    assert!(out.contains(" run-generator --manifest "), "{out}");
    assert!(sbatch_calls(d).is_empty(), "a dry run submits nothing");

    // submit: generator array, then the cell array after it, then collect after both
    let o = ok(dpw(&["submit", "gens.toml"]).output().unwrap());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("submitted 3 cell(s) of campaign gens as 1 array job(s) (101) after 3 generator training(s) in 1 generator array job(s) (100), and collect job 102"),
        "{out}"
    );
    // script paths as the campaign folder was named (relative to the working folder)
    let s = |p: &str| format!("results/gens/slurm/{p}");
    assert_eq!(
        sbatch_calls(d),
        vec![
            format!("--parsable {}", s("generators-1-1.sbatch")),
            format!(
                "--parsable --dependency=afterok:100 --kill-on-invalid-dep=yes {}",
                s("array-1-1.sbatch")
            ),
            format!(
                "--parsable --dependency=afterany:100:101 --kill-on-invalid-dep=yes {}",
                s("collect-1.sbatch")
            ),
        ]
    );
    let script = std::fs::read_to_string(slurm.join("generators-1-1.sbatch")).unwrap();
    for want in [
        "#SBATCH --array=0-2%4",
        "#SBATCH --ntasks=1",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --time=00:10:00",
        "#SBATCH --signal=B:USR1@300",
        "/generator-%A_%a.out",
        " run-generator --manifest ",
        " --threads 2 --index $((0 + SLURM_ARRAY_TASK_ID))",
    ] {
        assert!(script.contains(want), "missing {want:?} in\n{script}");
    }
    let cells = std::fs::read_to_string(slurm.join("array-1-1.sbatch")).unwrap();
    assert!(cells.contains("#SBATCH --ntasks=2"), "{cells}");
    let l = json(slurm.join("submissions.json"));
    assert_eq!(l["schema_version"], 2);
    let sub = &l["submissions"][0];
    assert_eq!(sub["generator_arrays"][0]["job_id"], 100);
    assert_eq!(
        sub["generator_arrays"][0]["task_ids"],
        serde_json::json!([0, 1, 2])
    );
    assert_eq!(sub["arrays"][0]["job_id"], 101);
    assert_eq!(sub["arrays"][0]["depends_on"], serde_json::json!(["100"]));
    assert_eq!(sub["collect_job_id"], 102);

    // generator 0 trains, 1 was cancelled, 2 waits; the cell array can never start
    std::fs::write(
        d.join("squeue.txt"),
        "100_0|103|100|0|RUNNING|None\n\
         100_1|104|100|1|CANCELLED|None\n\
         100_2|100|100|2|PENDING|JobArrayTaskLimit\n\
         101_0|101|101|0|PENDING|DependencyNeverSatisfied\n\
         101_1|101|101|1|PENDING|DependencyNeverSatisfied\n\
         101_2|101|101|2|PENDING|DependencyNeverSatisfied\n",
    )
    .unwrap();
    let o = ok(dpw(&["status", "gens", "--json"]).output().unwrap());
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let gens: Vec<(String, String)> = st["generators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["state"].as_str().unwrap().to_string(),
                g["job"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        gens,
        vec![
            pair("running", "100_0"),
            pair("failed (cancelled)", "100_1"),
            pair("pending", "100_2")
        ],
        "{st}"
    );
    assert_eq!(st["generator_counts"]["failed"], 1);
    for c in st["cells"].as_array().unwrap() {
        assert_eq!(c["state"], "failed (generator failed)", "{st}");
    }
    let text = ok(dpw(&["status", "gens"]).output().unwrap());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("3 generator training(s): 1 failed, 1 pending, 1 running"),
        "{text}"
    );

    // a plain submit is refused while generator tasks are queued
    let o = dpw(&["submit", "gens.toml"]).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("2 generator training(s)"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(sbatch_calls(d).len(), 3);

    // resume: the dead cell array is cancelled; only generator 1 goes out again; the cells
    // wait for it and for the two generator tasks still queued
    let o = ok(dpw(&["submit", "gens.toml", "--resume"]).output().unwrap());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("submitted 3 cell(s) of campaign gens as 1 array job(s) (104) after 1 generator training(s) in 1 generator array job(s) (103), and collect job 105"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("scancel.log")).unwrap(),
        "101\n"
    );
    let calls = sbatch_calls(d);
    assert_eq!(
        calls[3..],
        [
            format!("--parsable {}", s("generators-2-1.sbatch")),
            format!(
                "--parsable --dependency=afterok:103:100_0:100_2 --kill-on-invalid-dep=yes {}",
                s("array-2-1.sbatch")
            ),
            format!(
                "--parsable --dependency=afterany:103:104 --kill-on-invalid-dep=yes {}",
                s("collect-2.sbatch")
            ),
        ]
    );
    let script = std::fs::read_to_string(slurm.join("generators-2-1.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=1%4\n"), "{script}");
    let l = json(slurm.join("submissions.json"));
    let sub = &l["submissions"][1];
    assert_eq!(sub["resume"], true);
    assert_eq!(
        sub["generator_arrays"][0]["task_ids"],
        serde_json::json!([1])
    );
    assert_eq!(
        sub["arrays"][0]["depends_on"],
        serde_json::json!(["100_0", "100_2", "103"])
    );
}
