//! The generator stage of a campaign through the binary: per-fold generators trained once and
//! shared by every cell that needs them, never trained on their test subject; the privacy
//! ledger's composed ε equals the accountant's own composition of the two mechanisms; an
//! interrupted generator training resumes; a second run does no work; bad combinations are
//! refused with their location.

#![cfg(feature = "torch")]

mod common;

use std::path::{Path, PathBuf};

use common::{dpwear, ok};
use dpwear::privacy::accounting::compose::{composed_epsilon, Mechanism};
use dpwear::privacy::accounting::ledger::AccountantKind;

const BASE: &str = r#"
schema_version = 1
campaign = "gen"
master_seed = 11
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
"#;

fn experiment(dir: &Path, extra: &str) -> PathBuf {
    let p = dir.join("gen.toml");
    std::fs::write(&p, format!("{BASE}{extra}")).unwrap();
    p
}

fn manifest(results: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(results.join("gen/manifest.json")).unwrap()).unwrap()
}

fn run(toml: &Path, results: &Path) -> std::process::Output {
    run_with(toml, results, &[])
}

fn run_with(toml: &Path, results: &Path, extra: &[&str]) -> std::process::Output {
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
fn plan(toml: &Path, results: &Path) -> std::process::Output {
    ok(dpwear()
        .arg("plan")
        .arg(toml)
        .arg("--results")
        .arg(results)
        .output()
        .unwrap())
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn per_fold_generators_are_trained_once_shared_by_cells_and_never_see_their_test_subject() {
    let dir = tempfile::tempdir().unwrap();
    let toml = experiment(
        dir.path(),
        r#"
[generators.dp-merf]
steps = 20

[[grid]]
strategy = ["real"]

[[grid]]
strategy = ["augment", "tstr"]
generator = ["dp-merf"]
synthetic_subjects = [1]

[[report.table]]
title = "F1"
rows = ["strategy"]
columns = ["classifier"]

[[report.table]]
title = "Leakage of the generators"
rows = ["strategy"]
columns = ["classifier"]
metric = "mia_auc"
"#,
    );
    let results = dir.path().join("results");
    let first = ok(run(&toml, &results));
    // `collect` tabulates a quality metric beside F1: defined for the generator cells only.
    let tables: String = std::fs::read_dir(results.join("gen/tables"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(tables.contains("membership-inference AUC"), "{tables}");
    assert!(
        stderr(&first).contains("generator stage: 3 training(s) to run"),
        "{}",
        stderr(&first)
    );
    let m = manifest(&results);
    let gens = m["generators"].as_array().unwrap();
    assert_eq!(gens.len(), 3, "one generator per LOSO fold");
    let subjects: Vec<u64> = m["real"]["dataset"]["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    let mut cards = Vec::new();
    for g in gens {
        // Both cells (augment and TSTR) use the one training of each fold.
        assert_eq!(g["cells"].as_array().unwrap().len(), 2, "{g}");
        let test = g["test_subject"].as_u64().unwrap();
        let folder = results
            .join("gen/generators")
            .join(g["id"].as_str().unwrap());
        let card: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("model-card.json")).unwrap())
                .unwrap();
        let trained: Vec<u64> = card["data"]["training_subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect();
        assert!(
            !trained.contains(&test),
            "fold {test} saw its test subject: {trained:?}"
        );
        assert_eq!(trained.len(), subjects.len() - 1);
        assert_eq!(card["data"]["excluded_subjects"][0].as_u64(), Some(test));
        cards.push((
            folder.join("model-card.json"),
            std::fs::metadata(folder.join("model-card.json"))
                .unwrap()
                .modified()
                .unwrap(),
        ));
    }
    // Every generator cell's record names the three trainings.
    for c in m["cells"].as_array().unwrap() {
        let rec: serde_json::Value = serde_json::from_slice(
            &std::fs::read(results.join(format!("gen/cells/{}.json", c["id"].as_str().unwrap())))
                .unwrap(),
        )
        .unwrap();
        let n = if c["config"]["generator"] == "none" {
            0
        } else {
            3
        };
        assert_eq!(
            rec["generators"].as_array().map_or(0, |a| a.len()),
            n,
            "{rec}"
        );
        // The quality of each fold's generator, measured against its own test subject.
        let q = rec["quality"].as_array().map_or(&[][..], |a| a.as_slice());
        assert_eq!(q.len(), n, "{rec}");
        for entry in q {
            let auc = entry["scalars"]["mia_auc"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&auc), "{entry}");
            assert!(entry["scalars"]["mmd2"].is_number(), "{entry}");
            assert!(entry["test_subject"].is_u64(), "{entry}");
        }
    }
    for g in gens {
        let folder = results
            .join("gen/generators")
            .join(g["id"].as_str().unwrap());
        let reports: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("quality-"))
            .collect();
        assert_eq!(reports.len(), 1, "{}", folder.display());
    }
    // A second run trains nothing and runs no cell.
    let again = ok(run(&toml, &results));
    let err = stderr(&again);
    assert!(err.contains("0 cell(s) to run"), "{err}");
    assert!(!err.contains("generator stage:"), "{err}");
    for (p, t) in cards {
        assert_eq!(
            std::fs::metadata(&p).unwrap().modified().unwrap(),
            t,
            "{} rewritten",
            p.display()
        );
    }
}

#[test]
fn the_ledger_composes_generator_and_classifier_through_the_accountant() {
    let dir = tempfile::tempdir().unwrap();
    let toml = experiment(
        dir.path(),
        r#"
[generators.dp-merf]
steps = 20

[[grid]]
strategy = ["augment"]
generator = ["dp-merf"]
gan_epsilon = [8]
epsilon = [4]
synthetic_subjects = [1]

[[grid]]
strategy = ["tstr"]
generator = ["dp-merf"]
gan_epsilon = [8]
synthetic_subjects = [1]
"#,
    );
    let results = dir.path().join("results");
    let plan = plan(&toml, &results);
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(text.contains("composed per fold"), "{text}");
    let m = manifest(&results);
    let cells = m["cells"].as_array().unwrap();
    let augment = &cells[0]["guarantee"];
    assert_eq!(augment["status"], "private");
    let folds = augment["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    let mech = |v: &serde_json::Value| Mechanism {
        sample_rate: v["sample_rate"].as_f64().unwrap(),
        steps: v["steps"].as_u64().unwrap(),
        sigma: v["sigma"].as_f64().unwrap(),
    };
    let mut worst: f64 = 0.0;
    for f in folds {
        let (g, c) = (mech(&f["generator"]), mech(&f["classifier"]));
        let delta = f["delta"].as_f64().unwrap();
        let eps = composed_epsilon(AccountantKind::Rdp, &[g, c], delta).unwrap();
        assert_eq!(
            eps,
            f["epsilon"].as_f64().unwrap(),
            "the ledger's composition differs"
        );
        // Composition, not addition: above each part, below their sum.
        let alone_g = composed_epsilon(AccountantKind::Rdp, &[g], delta).unwrap();
        let alone_c = composed_epsilon(AccountantKind::Rdp, &[c], delta).unwrap();
        assert!(
            eps >= alone_g.max(alone_c) && eps < alone_g + alone_c,
            "{eps} vs {alone_g} + {alone_c}"
        );
        worst = worst.max(eps);
    }
    assert_eq!(augment["epsilon"].as_f64().unwrap(), worst);
    // The generators' planned σ is what their training uses (one Gaussian release).
    let g0 = &m["generators"][0]["privacy_plan"];
    assert!(g0["epsilon_planned"].as_f64().unwrap() <= 8.0 + 1e-9);
    // TSTR: the classifier is post-processing; the cell's ε is the generator's.
    let tstr = &cells[1]["guarantee"];
    assert_eq!(tstr["status"], "private");
    let gen_max = m["generators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["privacy_plan"]["epsilon_planned"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(tstr["epsilon"].as_f64().unwrap(), gen_max);
    assert!(tstr["statement"].to_string().contains("post-processing"));
}

#[test]
fn an_interrupted_generator_training_resumes_and_its_cells_then_run() {
    let dir = tempfile::tempdir().unwrap();
    let toml = experiment(
        dir.path(),
        r#"
[generators.dp-merf]
steps = 400

[[grid]]
strategy = ["tstr"]
generator = ["dp-merf"]
generator_training = ["shared"]
gan_epsilon = [5]
synthetic_subjects = [1]
"#,
    );
    let results = dir.path().join("results");
    plan(&toml, &results);
    let m = manifest(&results);
    let id = m["generators"][0]["id"].as_str().unwrap().to_string();
    let folder = results.join("gen/generators").join(&id);
    let mut child = dpwear()
        .args(["run-generator", "--manifest"])
        .arg(results.join("gen/manifest.json"))
        .args(["--index", "0", "--threads", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !folder.join(".lock").exists() {
        assert!(
            t0.elapsed().as_secs() < 60,
            "the generator task did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    if status.code() == Some(75) {
        let note: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("failed.json")).unwrap()).unwrap();
        assert_eq!(note["resumable"], true);
        let plan = ok(dpwear()
            .arg("plan")
            .arg(&toml)
            .arg("--results")
            .arg(&results)
            .output()
            .unwrap());
        assert!(String::from_utf8_lossy(&plan.stdout).contains("interrupted"));
        // `--failed` retries the interrupted generator and the cell that waits for it.
        let o = ok(run_with(&toml, &results, &["--failed"]));
        assert!(stderr(&o).contains("1 cell(s) to run"), "{}", stderr(&o));
        let log = std::fs::read_to_string(results.join(format!("gen/logs/generator-{id}.log")))
            .unwrap_or_default();
        assert!(log.contains("resuming"), "{log}\n{}", stderr(&o));
        assert!(!folder.join("failed.json").exists());
    } else {
        // The signal came after the last step: the training finished normally.
        assert_eq!(status.code(), Some(0));
        ok(run(&toml, &results));
    }
    let rec_count = std::fs::read_dir(results.join("gen/cells"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(rec_count, 1);
}

#[test]
fn bad_generator_combinations_are_refused_with_their_location() {
    let dir = tempfile::tempdir().unwrap();
    let toml = experiment(
        dir.path(),
        "\n[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"timegan\"]\ngan_epsilon = [1]\n",
    );
    let o = dpwear()
        .arg("plan")
        .arg(&toml)
        .arg("--results")
        .arg(dir.path().join("results"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let text = std::fs::read_to_string(&toml).unwrap();
    let line = 1 + text
        .lines()
        .position(|l| l.starts_with("gan_epsilon"))
        .unwrap();
    assert!(
        stderr(&o).contains(&format!("gen.toml:{line}:")),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("timegan has no private mode"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("results/gen/manifest.json").exists());
    // A hyper-parameter the family refuses is caught at plan, before anything trains, for a
    // non-private generator too.
    let toml = experiment(
        dir.path(),
        "\n[generators.dp-merf]\nepochs = 3\n[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"dp-merf\"]\n",
    );
    let o = dpwear()
        .arg("plan")
        .arg(&toml)
        .arg("--results")
        .arg(dir.path().join("results"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("dp-merf has no epochs"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("results/gen/generators").exists());
}

#[cfg(feature = "mpi")]
#[test]
fn two_mpi_ranks_train_their_own_folds_generators_and_match_one_rank() {
    let mpirun = std::path::PathBuf::from("/usr/bin/mpirun");
    assert!(
        mpirun.exists(),
        "mpirun is missing: install openmpi-bin (scripts/bootstrap.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let toml = experiment(
        dir.path(),
        r#"
[generators.dp-merf]
steps = 20

[[grid]]
strategy = ["augment"]
generator = ["dp-merf"]
synthetic_subjects = [1]
"#,
    );
    let results = dir.path().join("results");
    plan(&toml, &results);
    let path = results.join("gen/manifest.json");
    let m = manifest(&results);
    let id = m["cells"][0]["id"].as_str().unwrap().to_string();
    let record = results.join(format!("gen/cells/{id}.json"));
    // No generator exists yet: the two ranks train the generators of their own folds.
    let o = ok(std::process::Command::new(&mpirun)
        .args(["-n", "2", "--oversubscribe", "--allow-run-as-root"])
        .arg(env!("CARGO_BIN_EXE_dpwear"))
        .args(["run-cell", "--manifest"])
        .arg(&path)
        .args(["--index", "0", "--threads", "1"])
        .output()
        .unwrap());
    for g in m["generators"].as_array().unwrap() {
        let card = results
            .join("gen/generators")
            .join(g["id"].as_str().unwrap())
            .join("model-card.json");
        assert!(card.is_file(), "{} missing\n{}", card.display(), stderr(&o));
    }
    let two: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    std::fs::remove_file(&record).unwrap();
    ok(dpwear()
        .args(["run-cell", "--manifest"])
        .arg(&path)
        .args(["--index", "0", "--threads", "1"])
        .output()
        .unwrap());
    let one: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(
        (one["ranks"].as_u64(), two["ranks"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(one["eval"]["replicates"], two["eval"]["replicates"]);
    assert_eq!(one["generators"], two["generators"]);
}

#[test]
fn the_planned_classifier_sigma_is_the_one_training_uses_with_trained_synthetic_data() {
    // Reference head: the reader takes every window of a generated dataset store (the
    // reference's dropped last window is a rule of its synthetic CSV only).
    let dir = tempfile::tempdir().unwrap();
    let toml = experiment(
        dir.path(),
        r#"
[generators.dp-merf]
steps = 20

[[grid]]
strategy = ["augment"]
generator = ["dp-merf"]
epsilon = [4]
synthetic_subjects = [1]
"#,
    );
    // The head is set in BASE's [model] table.
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("[model]\n", "[model]\nmode = \"reference\"\n");
    std::fs::write(&toml, text).unwrap();
    let results = dir.path().join("results");
    ok(run(&toml, &results));
    let m = manifest(&results);
    let planned = &m["cells"][0]["ledger"];
    let id = m["cells"][0]["id"].as_str().unwrap();
    let rec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(results.join(format!("gen/cells/{id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(rec["config"]["model"]["head"], "reference");
    for f in rec["eval"]["replicates"][0]["folds"].as_array().unwrap() {
        let sigma = f["privacy"]["sigma"].as_f64().unwrap();
        let q = f["privacy"]["sample_rate"].as_f64().unwrap();
        assert!(
            planned["sigma"][0].as_f64().unwrap() <= sigma
                && sigma <= planned["sigma"][1].as_f64().unwrap(),
            "planned σ {} vs trained {sigma}",
            planned["sigma"]
        );
        assert!(
            planned["sample_rate"][0].as_f64().unwrap() <= q
                && q <= planned["sample_rate"][1].as_f64().unwrap(),
            "planned q {} vs trained {q}",
            planned["sample_rate"]
        );
    }
}
