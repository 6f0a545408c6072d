//! End-to-end tests of the `dpwear` binary: the reference data through `data import`, `data
//! info --json` and `features`, the simulator through the same commands, and bad input (a
//! missing path, a file of the wrong kind, a truncated pickle) giving a one-line error that
//! names the file, a documented exit code and no panic.

mod common;

use std::path::Path;
use std::process::Output;

use common::{features, import, run, wesad_ref};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failure: the documented code, one `dpwear: failed to …` line naming `name`, no panic.
fn assert_clean_failure(o: &Output, code: i32, name: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "exit code; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("dpwear: failed to "), "{err}");
    assert!(lines[0].contains(name), "error should name {name}: {err}");
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

#[test]
fn reference_pickle_import_info_and_features() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.h5");
    let f = dir.path().join("f.h5");
    let pickle = wesad_ref("subject_data_1hz.pickle");
    let o = run(&[
        "data",
        "import",
        pickle.to_str().unwrap(),
        "--out",
        w.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let info = json(&run(&["data", "info", w.to_str().unwrap(), "--json"]));
    assert_eq!(info["n_subjects"], 15);
    assert_eq!(info["rows"], 33_152);
    assert_eq!(info["stress_rows"], 9_966);
    assert_eq!(info["simulated"], false);
    assert_eq!(
        info["source_sha256"],
        "7fbcdbf02cfeafbdca34d544eb5b24d6643af0a0c3a82e750f68ea8367ecd00f"
    );

    let o = run(&[
        "features",
        "--dataset",
        w.to_str().unwrap(),
        "--mode",
        "reference",
        "--out",
        f.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let finfo = json(&run(&["data", "info", f.to_str().unwrap(), "--json"]));
    assert_eq!(finfo["shape"], serde_json::json!([530, 6, 210]));
    assert_eq!(finfo["stress_windows"], 150);

    // the same features from the CSV form, bit for bit
    let csv_h5 = dir.path().join("c.h5");
    let csv_f = dir.path().join("cf.h5");
    let csv = wesad_ref("wesad_preprocessed_1hz.csv");
    import(&csv, &csv_h5);
    features(&csv_h5, &csv_f);
    let a = dpwear::features::read_features(&f).unwrap();
    let b = dpwear::features::read_features(&csv_f).unwrap();
    assert_eq!(a.x, b.x);
    assert_eq!(a.y, b.y);

    // a second import onto the same file is refused without --force (nothing is lost)
    let o = run(&[
        "data",
        "import",
        pickle.to_str().unwrap(),
        "--out",
        w.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 6, "w.h5");
}

#[test]
fn npz_export_has_the_documented_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.h5");
    let npz = dir.path().join("f.npz");
    let csv = wesad_ref("wesad_preprocessed_1hz.csv");
    import(&csv, &w);
    let o = run(&[
        "features",
        "--dataset",
        w.to_str().unwrap(),
        "--mode",
        "corrected",
        "--out",
        npz.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut r = ndarray_npy::NpzReader::new(std::fs::File::open(&npz).unwrap()).unwrap();
    let x: ndarray::Array3<f64> = r.by_name("X").unwrap();
    let y: ndarray::Array1<i64> = r.by_name("y").unwrap();
    let s: ndarray::Array1<i64> = r.by_name("subject").unwrap();
    assert_eq!(x.shape(), &[530, 6, 210]);
    assert_eq!(y.iter().filter(|&&v| v == 1).count(), 150);
    assert_eq!(s[0], 2);
    // corrected mode: BVP uses 30 s subwindows → 15 non-zero bins
    assert!(x[[0, 0, 14]] > 0.0 && x[[0, 0, 15]] == 0.0);
}

#[test]
fn simulator_data_goes_through_the_same_commands_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim.h5");
    let f = dir.path().join("f.h5");
    let o = run(&[
        "data",
        "simulate",
        "--subjects",
        "3",
        "--seed",
        "7",
        "--out",
        sim.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("SIMULATED"));
    let info = json(&run(&["data", "info", sim.to_str().unwrap(), "--json"]));
    assert_eq!(info["simulated"], true);
    assert_eq!(info["source_kind"], "simulator");
    assert_eq!(info["n_subjects"], 3);
    let text = run(&["data", "info", sim.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("SIMULATED"));
    let ds = dpwear::data::store::read_dataset(&sim).unwrap();
    for s in &ds.subjects {
        for ch in &s.channels {
            let (lo, hi) = ch
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            assert_eq!((lo, hi), (0.0, 1.0), "per-subject min–max scaling");
        }
        assert!(s.labels.contains(&1) && s.labels.contains(&0));
    }
    let o = run(&[
        "features",
        "--dataset",
        sim.to_str().unwrap(),
        "--out",
        f.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let finfo = json(&run(&["data", "info", f.to_str().unwrap(), "--json"]));
    assert_eq!(finfo["simulated"], true);
    // the same seed gives the same file content
    let sim2 = dir.path().join("sim2.h5");
    assert!(run(&[
        "data",
        "simulate",
        "--subjects",
        "3",
        "--seed",
        "7",
        "--out",
        sim2.to_str().unwrap()
    ])
    .status
    .success());
    assert_eq!(ds, dpwear::data::store::read_dataset(&sim2).unwrap());
}

#[test]
fn bad_input_gets_one_line_a_named_file_and_a_documented_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let out = d("out.h5");

    // missing path → 3
    let o = run(&["data", "import", &d("nope.pickle"), "--out", &out]);
    assert_clean_failure(&o, 3, "nope.pickle");
    let o = run(&["data", "info", &d("missing.h5")]);
    assert_clean_failure(&o, 3, "missing.h5");
    let o = run(&[
        "features",
        "--dataset",
        &d("missing.h5"),
        "--out",
        &d("f.h5"),
    ]);
    assert_clean_failure(&o, 3, "missing.h5");

    // a file of the wrong kind → 4
    let csv = wesad_ref("wesad_preprocessed_1hz.csv");
    let o = run(&["data", "info", csv.to_str().unwrap()]);
    assert_clean_failure(&o, 4, "wesad_preprocessed_1hz.csv");
    let o = run(&[
        "data",
        "import",
        csv.to_str().unwrap(),
        "--format",
        "reference-pickle",
        "--out",
        &out,
    ]);
    assert_clean_failure(&o, 4, "wesad_preprocessed_1hz.csv");
    let o = run(&[
        "features",
        "--dataset",
        csv.to_str().unwrap(),
        "--out",
        &d("f.h5"),
    ]);
    assert_clean_failure(&o, 4, "wesad_preprocessed_1hz.csv");

    // a truncated pickle → 4
    let bytes = std::fs::read(wesad_ref("subject_data_1hz.pickle")).unwrap();
    let cut = d("cut.pickle");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let o = run(&["data", "import", &cut, "--out", &out]);
    assert_clean_failure(&o, 4, "cut.pickle");
    assert!(!Path::new(&out).exists(), "no output on failure");

    // an unknown output format → 5; usage errors → 2
    let o = run(&["features", "--dataset", &out, "--out", &d("f.txt")]);
    assert_clean_failure(&o, 5, "f.txt");
    let o = run(&["data", "simulate", "--subjects", "0", "--out", &d("s.h5")]);
    assert_clean_failure(&o, 5, "subjects");
    let o = run(&["data", "import"]);
    assert_eq!(o.status.code(), Some(2));
}

// ---- limits, late checks and log hygiene (reliability issue) ----

/// Writes an executable shell script `name` into `dir` (see `common::fake_command`).
fn fake_command(dir: &Path, name: &str, body: &str) {
    common::fake_command::write_fake_command(dir, name, body);
}

/// A folder of fake Slurm commands that fail as Slurm 22.05 does without a reachable
/// controller (the captured stderr of a machine with Slurm installed but no slurmctld).
fn unreachable_slurm(dir: &Path) -> std::ffi::OsString {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in ["sbatch", "scontrol", "squeue", "sacct", "scancel"] {
        fake_command(
            &bin,
            name,
            &format!(
                "echo '{name}: error: resolve_ctls_from_dns_srv: res_nsearch error: Unknown host' >&2\n\
                 echo '{name}: error: fetch_config: DNS SRV lookup failed' >&2\n\
                 echo '{name}: error: _establish_config_source: failed to fetch config' >&2\n\
                 echo '{name}: fatal: Could not establish a configuration source' >&2\nexit 1"
            ),
        );
    }
    let mut path = std::ffi::OsString::from(&bin);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    path
}

const SMALL_EXPERIMENT: &str = "schema_version = 1\ncampaign = \"c\"\nreplicates = 1\n\
[dataset]\nsimulate = { subjects = 2, minutes_scale = 0.2 }\n[[grid]]\n";

#[test]
fn cli_counts_share_the_documented_limits() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.toml");
    std::fs::write(&x, SMALL_EXPERIMENT).unwrap();
    let x = x.to_str().unwrap();
    let results = dir.path().join("results");
    let results = results.to_str().unwrap();
    for (flag, value, needle) in [
        ("-j", "0", "between 1 and 1024"),
        ("-j", "100000", "between 1 and 1024"),
        ("--threads", "0", "between 1 and 256"),
        ("--threads", "100000", "between 1 and 256"),
    ] {
        let o = run(&["run", x, "--results", results, flag, value]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(
            err.contains(value) && err.contains(needle),
            "{flag} {value}: {err}"
        );
    }
    assert!(!Path::new(results).exists(), "nothing planned");
    let o = run(&[
        "run",
        x,
        "--results",
        results,
        "-j",
        "1024",
        "--threads",
        "256",
    ]);
    assert_clean_failure(&o, 5, "1024 cells at once × 256 threads");
    #[cfg(feature = "torch")]
    for (flag, value) in [
        ("--replicates", "4294967295"),
        ("--replicates", "10001"),
        ("--threads", "100000"),
        ("--epochs", "4000000000"),
        ("--batch-size", "0"),
        ("--synthetic-subjects", "0"),
    ] {
        let t = std::time::Instant::now();
        let o = run(&[
            "eval",
            "loso",
            "--features",
            "absent.h5",
            "--classifier",
            "cnn",
            flag,
            value,
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(
            err.contains(flag) && err.contains(value),
            "{flag} {value}: {err}"
        );
        assert!(t.elapsed().as_secs() < 30, "refused before any work");
    }
}

#[test]
fn data_info_says_npz_is_export_only() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.npz");
    std::fs::write(&p, b"PK\x03\x04 not really").unwrap();
    let o = run(&["data", "info", p.to_str().unwrap()]);
    assert_clean_failure(&o, 4, "f.npz");
    assert!(stderr(&o).contains("export"), "{}", stderr(&o));
}

#[test]
fn random_bytes_manifests_are_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let camp = dir.path().join("c");
    std::fs::create_dir_all(&camp).unwrap();
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(camp.join("manifest.json"), &bytes).unwrap();
    let c = camp.to_str().unwrap();
    assert_clean_failure(&run(&["status", c]), 4, "manifest.json");
    assert_clean_failure(&run(&["collect", c]), 4, "manifest.json");
    #[cfg(feature = "torch")]
    {
        let m = camp.join("manifest.json");
        let o = run(&[
            "run-cell",
            "--manifest",
            m.to_str().unwrap(),
            "--index",
            "0",
        ]);
        assert_clean_failure(&o, 4, "manifest.json");
    }
    // a missing manifest is unreadable
    let o = run(&["status", dir.path().join("absent").to_str().unwrap()]);
    assert_clean_failure(&o, 3, "manifest.json");
}

#[test]
fn unreachable_slurm_is_one_line_and_dry_run_names_submit_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let path = unreachable_slurm(dir.path());
    let x = dir.path().join("x.toml");
    std::fs::write(&x, SMALL_EXPERIMENT).unwrap();
    let results = dir.path().join("results");
    let o = common::dpwear()
        .env("PATH", &path)
        .arg("submit")
        .arg(&x)
        .arg("--results")
        .arg(&results)
        .output()
        .unwrap();
    assert_clean_failure(&o, 69, "Slurm is not reachable");
    assert!(
        stderr(&o).contains("Could not establish a configuration source"),
        "{}",
        stderr(&o)
    );
    assert!(!results.exists(), "refused before staging anything");

    let o = common::dpwear()
        .env("PATH", &path)
        .env_remove("RUST_LOG")
        .arg("plan")
        .arg(&x)
        .arg("--results")
        .arg(&results)
        .arg("--dry-run")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let warns: Vec<&str> = err.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warns.len(), 1, "{err}");
    assert!(warns[0].contains("Slurm is not reachable"), "{err}");
    assert!(
        !err.contains("resolve_ctls_from_dns_srv"),
        "raw output at debug only: {err}"
    );
    assert!(
        !err.contains('\x1b'),
        "no colours when stderr is not a terminal: {err:?}"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("slurm/array-1-1.sbatch"), "{out}");
    assert!(out.contains("slurm/collect-1.sbatch"), "{out}");

    // status of a submitted campaign: the same one line, exit 5 (a setting, not a bug)
    std::fs::create_dir_all(results.join("c/slurm")).unwrap();
    std::fs::write(
        results.join("c/slurm/submissions.json"),
        r#"{"schema_version":1,"submissions":[{"at_unix":0,"arrays":[{"job_id":5,"offset":0,"task_ids":[0],"script":"s"}],"collect_job_id":null,"resume":false}]}"#,
    )
    .unwrap();
    let o = common::dpwear()
        .env("PATH", &path)
        .arg("status")
        .arg(results.join("c"))
        .output()
        .unwrap();
    assert_clean_failure(&o, 69, "Slurm is not reachable");
}

#[test]
fn json_logging_keeps_stderr_json_only() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.toml");
    std::fs::write(&x, SMALL_EXPERIMENT).unwrap();
    let results = dir.path().join("results");
    for args in [
        vec!["plan".to_string(), x.display().to_string()],
        vec!["plan".to_string(), "absent.toml".to_string()],
    ] {
        let o = common::dpwear()
            .arg("--log-format")
            .arg("json")
            .args(&args)
            .arg("--results")
            .arg(&results)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(!err.trim().is_empty(), "{args:?}: something is said");
        for line in err.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {line}"));
            assert!(v["fields"]["message"].is_string(), "{line}");
        }
    }
}

#[test]
fn help_claims_only_what_is_built() {
    let o = run(&["--help"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    // Generators are built (`dpwear gan`); grid cells do not train them yet, and the help must
    // not say they do.
    assert_eq!(out.contains("\n  gan "), cfg!(feature = "torch"), "{out}");
    assert!(
        !out.contains("GAN per cell") && !out.contains("cells train"),
        "{out}"
    );
}

#[test]
fn repeated_unexpected_labels_are_one_warning_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let gen = dir.path().join("gen");
    let st = std::process::Command::new(common::python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make_wesad_fixture.py"))
        .arg(&gen)
        .status()
        .expect("run make_wesad_fixture.py (needs numpy)");
    assert!(st.success());
    // seconds 0..150 of S5 get the label 9 (WESAD has 0-7)
    let s5 = gen.join("S5/S5.pkl");
    let code = "import pickle,sys\nd=pickle.load(open(sys.argv[1],'rb'),encoding='latin1')\n\
                d['label'][:150*700]=9\npickle.dump(d,open(sys.argv[1],'wb'),protocol=4)";
    let st = std::process::Command::new(common::python())
        .args(["-c", code])
        .arg(&s5)
        .status()
        .unwrap();
    assert!(st.success());
    let out = dir.path().join("ds.h5");
    let o = common::dpwear()
        .env_remove("RUST_LOG")
        .args(["data", "import"])
        .arg(&gen)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let label_lines: Vec<&str> = err.lines().filter(|l| l.contains("label")).collect();
    assert_eq!(label_lines.len(), 1, "{err}");
    assert!(
        label_lines[0].contains("150 second(s)") && label_lines[0].contains("9 ×150"),
        "{err}"
    );
}

#[cfg(feature = "torch")]
#[test]
fn failed_cells_are_logged_with_plain_exit_codes() {
    // a generator file that plan can hash but the cell cannot read: the cell fails (exit 4)
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.csv"), "a,b\n").unwrap();
    let x = dir.path().join("x.toml");
    std::fs::write(
        &x,
        format!("{SMALL_EXPERIMENT}strategy = [\"augment\"]\ngenerator = [\"file:junk.csv\"]\n"),
    )
    .unwrap();
    let o = common::dpwear()
        .env_remove("RUST_LOG")
        .arg("run")
        .arg(&x)
        .arg("--results")
        .arg(dir.path().join("results"))
        .args(["--threads", "1", "--no-collect"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(8), "{err}");
    assert!(err.contains("code=4") && err.contains("exit 4;"), "{err}");
    assert!(
        !err.contains("Some("),
        "Debug formatting in a log line: {err}"
    );
}

/// A CSV of the reference's columns plus `subject`: `subjects` × `rows` rows, label 1 in the
/// second half of each subject, values varying in [0, 1].
fn subject_csv(subjects: &[u32], rows: usize) -> String {
    let mut s = String::from("subject,BVP,EDA,ACC_x,ACC_y,ACC_z,TEMP,label\n");
    for &id in subjects {
        for r in 0..rows {
            let v = ((r * 7 + id as usize) % 11) as f64 / 10.0;
            s += &format!("S{id},{v},{v},{v},{v},{v},{v},{}\n", (2 * r >= rows) as u8);
        }
    }
    s
}

#[test]
fn reference_csv_honours_the_label_map_and_locates_bad_labels() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("stray.csv");
    let mut text = subject_csv(&[2, 3], 130);
    // One stray `2` on line 1 + 150 (row 150 of the file, S3's 20th row).
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let l = &mut lines[150];
    l.replace_range(l.len() - 1.., "2");
    text = lines.join("\n") + "\n";
    std::fs::write(&csv, &text).unwrap();
    let out = dir.path().join("w.h5");
    let o = run(&[
        "data",
        "import",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 4, "stray.csv");
    let err = stderr(&o);
    assert!(err.contains("line 151") && err.contains("label 2"), "{err}");
    assert!(!out.exists());
    // Asked for explicitly, the three-class map takes it.
    let o = run(&[
        "data",
        "import",
        csv.to_str().unwrap(),
        "--label-map",
        "three-class",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let info = json(&run(&["data", "info", out.to_str().unwrap(), "--json"]));
    assert_eq!(info["label_map"], "three-class");
    // The reference CSV itself stays binary, and reading it three-class warns.
    let w3 = dir.path().join("w3.h5");
    let reference = wesad_ref("wesad_preprocessed_1hz.csv");
    let o = run(&[
        "data",
        "import",
        reference.to_str().unwrap(),
        "--label-map",
        "three-class",
        "--out",
        w3.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("no row has label 2"), "{}", stderr(&o));
}

#[test]
fn overflowing_or_non_finite_csv_values_are_refused_at_import() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("huge.csv");
    let text = subject_csv(&[2, 3], 130).replacen("S2,0.2,", "S2,1e308,", 1);
    let line = text
        .lines()
        .position(|l| l.starts_with("S2,1e308,"))
        .unwrap()
        + 1;
    std::fs::write(&csv, &text).unwrap();
    let out = dir.path().join("w.h5");
    let o = run(&[
        "data",
        "import",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 4, "huge.csv");
    let err = stderr(&o);
    assert!(
        err.contains(&format!("line {line}")) && err.contains("BVP") && err.contains("1e308"),
        "{err}"
    );
    std::fs::write(&csv, text.replace("1e308", "nan")).unwrap();
    let o = run(&[
        "data",
        "import",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 4, "huge.csv");
    assert!(stderr(&o).contains("NaN"), "{}", stderr(&o));
}

#[test]
fn features_refuse_a_subject_without_windows_naming_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("short.csv");
    // S3 has 50 rows: less than one 60 s window.
    let mut text = subject_csv(&[2], 200);
    text += subject_csv(&[3], 50).split_once('\n').unwrap().1;
    std::fs::write(&csv, &text).unwrap();
    let ds = dir.path().join("short.h5");
    import(&csv, &ds);
    let f = dir.path().join("f.h5");
    let o = run(&[
        "features",
        "--dataset",
        ds.to_str().unwrap(),
        "--out",
        f.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 4, "short.h5");
    assert!(stderr(&o).contains("S3 has no windows"), "{}", stderr(&o));
    assert!(!f.exists());
}

#[test]
fn plan_warns_when_the_synthetic_file_is_the_real_data() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("real.h5");
    let other = dir.path().join("other.h5");
    for (out, seed) in [(&ds, "5"), (&other, "6")] {
        common::ok(run(&[
            "data",
            "simulate",
            "--subjects",
            "3",
            "--seed",
            seed,
            "--minutes-scale",
            "0.3",
            "--out",
            out.to_str().unwrap(),
        ]));
    }
    let f = dir.path().join("real-features.h5");
    features(&ds, &f);
    for (generator, leaks) in [
        ("real.h5", true),
        ("real-features.h5", true),
        ("other.h5", false),
    ] {
        let toml = dir.path().join("x.toml");
        std::fs::write(
            &toml,
            format!(
                "schema_version = 1\ncampaign = \"c\"\nmaster_seed = 7\nreplicates = 1\n\n\
                 [dataset]\npath = \"real.h5\"\n\n[model]\nepochs = 1\n\n\
                 [[grid]]\nstrategy = [\"augment\"]\ngenerator = [\"file:{generator}\"]\n\n\
                 [[report.table]]\nrows = [\"strategy\"]\ncolumns = [\"classifier\"]\n"
            ),
        )
        .unwrap();
        let o = common::ok(
            common::dpwear()
                .arg("plan")
                .arg(&toml)
                .arg("--results")
                .arg(dir.path().join("results"))
                .output()
                .unwrap(),
        );
        let err = stderr(&o);
        let warnings: Vec<&str> = err.lines().filter(|l| l.contains("leak into")).collect();
        if leaks {
            assert_eq!(warnings.len(), 1, "{generator}: {err}");
            assert!(warnings[0].contains(generator), "{err}");
        } else {
            assert!(warnings.is_empty(), "{generator}: {err}");
        }
    }
}

#[test]
fn plan_refuses_a_subject_without_windows_naming_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("short.csv");
    // S2, S4 have 200 rows; S3 has 50: less than one 60 s window.
    let mut text = subject_csv(&[2], 200);
    text += subject_csv(&[3], 50).split_once('\n').unwrap().1;
    text += subject_csv(&[4], 200).split_once('\n').unwrap().1;
    std::fs::write(&csv, &text).unwrap();
    let ds = dir.path().join("short.h5");
    import(&csv, &ds);
    let toml = dir.path().join("x.toml");
    std::fs::write(
        &toml,
        "schema_version = 1\ncampaign = \"c\"\nreplicates = 1\n[dataset]\npath = \"short.h5\"\n\
         [[grid]]\nstrategy = [\"real\"]\n",
    )
    .unwrap();
    let results = dir.path().join("results");
    let o = run(&[
        "plan",
        toml.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 4, "short.h5");
    assert!(stderr(&o).contains("S3 has no windows"), "{}", stderr(&o));
    assert!(!results.join("c/manifest.json").exists());
}
