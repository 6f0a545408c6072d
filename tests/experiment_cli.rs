//! `dpwear plan` on bad experiment files: each gives one clear line naming the file and the
//! location, with the documented exit code, and writes nothing.

mod common;

use common::dpwear;

fn plan(text: &str) -> (Option<i32>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.toml");
    std::fs::write(&p, text).unwrap();
    let o = dpwear()
        .arg("plan")
        .arg(&p)
        .arg("--results")
        .arg(dir.path().join("results"))
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        dir,
    )
}

const HEAD: &str = "schema_version = 1\ncampaign = \"c\"\nreplicates = 1\n[dataset]\nsimulate = { subjects = 2, minutes_scale = 0.2 }\n";

#[test]
fn malformed_toml_is_refused_with_its_line() {
    let (code, err, dir) = plan("schema_version = 1\ncampaign = \"c\nreplicates = 1\n");
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("x.toml") && err.contains("line 2"), "{err}");
    assert!(!dir.path().join("results").exists());
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let (code, err, _d) = plan(&format!("{HEAD}[[grid]]\nclassifer = [\"cnn\"]\n"));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("classifer") && err.contains("line 7"), "{err}");
}

#[test]
fn impossible_combinations_are_refused_with_line_and_column() {
    let (code, err, dir) = plan(&format!("{HEAD}[[grid]]\nstrategy = [\"tstr\"]\n"));
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("x.toml:7:12"), "{err}");
    assert!(err.contains("needs synthetic data"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!dir.path().join("results").exists());

    let (code, err, _d) = plan(&format!("{HEAD}[[grid]]\nepsilon = [0]\n"));
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("x.toml:7:11") && err.contains("positive"),
        "{err}"
    );
}

#[test]
fn a_missing_generator_file_is_named() {
    let (code, err, _d) = plan(&format!(
        "{HEAD}[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"file:nope.csv\"]\n"
    ));
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("nope.csv") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn plan_writes_a_manifest_with_stable_ids() {
    let text = format!("{HEAD}[[grid]]\nclassifier = [\"cnn\", \"transformer\"]\n");
    let (code, err, dir) = plan(&text);
    assert_eq!(code, Some(0), "{err}");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("results/c/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["kind"], "dpwear-manifest");
    assert_eq!(m["cells"].as_array().unwrap().len(), 2);
    assert_eq!(m["real"]["simulated"], true);
    let (_, _, dir2) = plan(&text);
    let m2: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir2.path().join("results/c/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["cells"], m2["cells"]);
}

#[test]
fn the_shipped_experiments_are_valid() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let q = dpwear::config::load(&root.join("quickstart.toml")).unwrap();
    // real baseline + DP-MERF per fold × gan_epsilon {inf, 10} × {augment, tstr} × K {2, 4}; × 2
    assert_eq!(q.cell_count(), 2 * (1 + 2 * 2 * 2));
    assert!(q
        .points
        .iter()
        .any(|p| p.gan_epsilon.is_some_and(|e| e.is_private())));
    let r = dpwear::config::load(&root.join("reference-s1-s2-s4.toml")).unwrap();
    // scenario 1: 3 classifiers; scenario 2: 3 GANs × 3; scenario 4: 7 K × 3; × 10 replicates
    assert_eq!(r.points.len(), 3 + 9 + 21);
    assert_eq!(r.cell_count(), 330);
    for name in [
        "scenario1-private-reference-batch",
        "scenario1-private-example-rdp",
        "scenario1-private-example-pld",
        "scenario1-private-example-prv",
    ] {
        let e = dpwear::config::load(&root.join(format!("{name}.toml"))).unwrap();
        assert_eq!(e.cell_count(), 27, "{name}");
        assert!(e.points.iter().all(|p| p.epsilon.is_private()), "{name}");
    }
}

// ---- checked at plan, said clearly (reliability issue) ----

#[test]
fn one_simulated_subject_is_refused_at_plan() {
    let (code, err, dir) = plan(&format!(
        "{}[[grid]]\n",
        HEAD.replace("subjects = 2", "subjects = 1")
    ));
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("x.toml:5:12") && err.contains("between 2 and"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!dir.path().join("results").exists());
}

#[test]
fn slurm_newlines_are_refused_by_plain_plan() {
    let (code, err, dir) = plan(&format!(
        "{HEAD}[[grid]]\n[slurm]\npartition = \"debug\\n#SBATCH --qos=high\"\n"
    ));
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("x.toml:8:1") && err.contains("slurm.partition"),
        "{err}"
    );
    assert!(!dir.path().join("results").exists());
}

#[test]
fn duplicate_axis_values_are_named_as_such() {
    let (code, err, _d) = plan(&format!(
        "{HEAD}[[grid]]\nclassifier = [\"cnn\", \"cnn\"]\n"
    ));
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("x.toml:7:14") && err.contains("duplicate value \"cnn\" in axis classifier"),
        "{err}"
    );
}

#[test]
fn huge_grids_are_refused_before_expansion() {
    // 10 axes-worth of values: 10^3 K × 10^2 generators × 10^2 replicates = 10^7 cells
    let gens = (0..100)
        .map(|i| format!("\"file:g{i}.h5\""))
        .collect::<Vec<_>>()
        .join(", ");
    let ks = (1..=1000)
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let t = std::time::Instant::now();
    let (code, err, dir) = plan(&format!(
        "{}[[grid]]\nstrategy = [\"augment\"]\ngenerator = [{gens}]\nsynthetic_subjects = [{ks}]\n",
        HEAD.replace("replicates = 1", "replicates = 100")
    ));
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("10000000 cells") && err.contains("at most 100000"),
        "{err}"
    );
    assert!(t.elapsed().as_secs() < 20);
    assert!(!dir.path().join("results").exists());
}

#[test]
fn every_missing_input_is_named_at_once() {
    let (code, err, dir) = plan(
        "schema_version = 1\ncampaign = \"c\"\nreplicates = 1\n[dataset]\npath = \"no-data.csv\"\n\
         [[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"file:a.csv\", \"file:b.h5\"]\n",
    );
    assert_eq!(code, Some(3), "{err}");
    for name in ["no-data.csv", "a.csv", "b.h5", "3 missing input(s)"] {
        assert!(err.contains(name), "{name}: {err}");
    }
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!dir.path().join("results").exists());
}

#[test]
fn a_one_subject_dataset_file_is_refused_at_plan() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("one.h5");
    let o = dpwear()
        .args([
            "data",
            "simulate",
            "--subjects",
            "1",
            "--minutes-scale",
            "0.2",
            "--out",
        ])
        .arg(&ds)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, err, _d) = plan(&format!(
        "schema_version = 1\ncampaign = \"c\"\nreplicates = 1\n[dataset]\npath = {:?}\n[[grid]]\n",
        ds.display().to_string()
    ));
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("1 subject(s)") && err.contains("at least 2"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_report_figure_that_cannot_be_drawn_is_refused_at_plan() {
    // classifier has two values but is neither the x axis nor a series: the figure would
    // fail only after every cell had run.
    let (code, err, dir) = plan(&format!(
        "{HEAD}[[grid]]\nstrategy = [\"real\"]\nclassifier = [\"cnn\", \"cnn-lstm\"]\n\
         [[report.figure]]\nx = \"strategy\"\nseries = []\n"
    ));
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("x.toml") && err.contains("[[report.figure]] 1") && err.contains("classifier"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!dir.path().join("results").exists());
}
