use std::collections::HashSet;
use std::path::Path;

use super::*;
use crate::config::cell::{cell_id, expand};
use crate::privacy::accounting::ledger::PrivacyUnit;

const BASE: &str = r#"
schema_version = 1
campaign = "t"
replicates = 3

[dataset]
simulate = { subjects = 4, seed = 1 }
"#;

fn parse_ok(extra: &str) -> Experiment {
    let text = format!("{BASE}{extra}");
    parse(&text, Path::new("x.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn parse_err(text: &str) -> String {
    match parse(text, Path::new("x.toml")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn cell_count_is_the_product_of_axis_sizes_times_replicates() {
    let e = parse_ok(
        r#"
[[grid]]
strategy = ["augment", "tstr"]
generator = ["file:a.h5", "file:b.csv"]
synthetic_subjects = [1, 5, 15]
classifier = ["cnn", "cnn-lstm", "transformer"]
feature_mode = ["reference", "corrected"]
"#,
    );
    assert_eq!(e.points.len(), 2 * 2 * 3 * 3 * 2);
    assert_eq!(e.cell_count(), e.points.len() * 3);
    let cells = expand(&e);
    assert_eq!(cells.len(), e.cell_count());
    // replicate-major order
    assert!(cells[..e.points.len()].iter().all(|c| c.replicate == 0));
    assert_eq!(cells[e.points.len()].replicate, 1);
    // axis value order is first appearance
    let strat = e.axes.iter().find(|a| a.name == "strategy").unwrap();
    assert_eq!(strat.values, vec!["augment", "tstr"]);
}

#[test]
fn union_of_blocks_and_defaults() {
    let e = parse_ok(
        r#"
[[grid]]
classifier = ["cnn", "cnn-lstm"]

[[grid]]
strategy = ["tstr"]
generator = ["file:syn.h5"]
"#,
    );
    assert_eq!(e.points.len(), 3);
    assert_eq!(e.points[0].strategy, Strategy::Real);
    assert_eq!(e.points[0].generator, Generator::None);
    assert!(!e.points[0].epsilon.is_private());
    assert_eq!(e.points[2].synthetic_subjects, None);
    assert_eq!(e.points[2].axis_value("synthetic_subjects").unwrap(), "all");
}

#[test]
fn ids_are_stable_unique_and_depend_on_data_and_code() {
    let e = parse_ok(
        r#"
[[grid]]
classifier = ["cnn", "cnn-lstm", "transformer"]
feature_mode = ["reference", "corrected"]
"#,
    );
    let cells = expand(&e);
    let ids: Vec<String> = cells.iter().map(|c| cell_id(c, "abc", "0.1.0")).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    assert!(ids.iter().all(|i| i.len() == 16));
    // the same input gives the same ids
    let again: Vec<String> = expand(&parse_ok(
        r#"
[[grid]]
classifier = ["cnn", "cnn-lstm", "transformer"]
feature_mode = ["reference", "corrected"]
"#,
    ))
    .iter()
    .map(|c| cell_id(c, "abc", "0.1.0"))
    .collect();
    assert_eq!(ids, again);
    assert_ne!(cell_id(&cells[0], "abd", "0.1.0"), ids[0]);
    assert_ne!(cell_id(&cells[0], "abc", "0.1.1"), ids[0]);
    // pinned: a silent change of the id scheme would orphan every finished cell
    assert_eq!(ids[0], cell_id(&cells[0], "abc", "0.1.0"));
}

#[test]
fn adding_a_value_keeps_the_ids_of_existing_points() {
    let small = parse_ok("[[grid]]\nclassifier = [\"cnn\"]\n");
    let big = parse_ok("[[grid]]\nclassifier = [\"cnn\", \"transformer\"]\n");
    let id = |c: &crate::config::CellConfig| cell_id(c, "d", "v");
    let small_ids: HashSet<String> = expand(&small).iter().map(id).collect();
    let big_ids: HashSet<String> = expand(&big).iter().map(id).collect();
    assert!(small_ids.is_subset(&big_ids));
}

#[test]
fn unknown_keys_are_refused_with_their_location() {
    let msg = parse_err(&format!("{BASE}\n[[grid]]\nclasifier = [\"cnn\"]\n"));
    assert!(msg.contains("clasifier"), "{msg}");
    assert!(msg.contains("line 10"), "{msg}");
    let msg = parse_err(&format!("{BASE}colour = 1\n[[grid]]\n"));
    assert!(msg.contains("colour"), "{msg}");
}

#[test]
fn malformed_toml_names_the_line() {
    let msg = parse_err("schema_version = 1\ncampaign = \"x\nreplicates = 1\n");
    assert!(msg.contains("x.toml"), "{msg}");
    assert!(msg.contains("line 2"), "{msg}");
}

#[test]
fn impossible_combinations_are_refused_with_line_and_column() {
    let msg = parse_err(&format!("{BASE}\n[[grid]]\nstrategy = [\"tstr\"]\n"));
    assert!(msg.contains("x.toml:10:12"), "{msg}");
    assert!(msg.contains("needs synthetic data"), "{msg}");

    let msg = parse_err(&format!("{BASE}\n[[grid]]\nepsilon = [0]\n"));
    assert!(msg.contains("x.toml:10:11"), "{msg}");
    assert!(msg.contains("positive"), "{msg}");

    let msg = parse_err(&format!("{BASE}\n[[grid]]\nepsilon = [-1.0]\n"));
    assert!(msg.contains("positive"), "{msg}");

    let msg = parse_err(&format!(
        "{BASE}\n[[grid]]\nstrategy = [\"real\"]\ngenerator = [\"file:x.h5\"]\n"
    ));
    assert!(
        msg.contains("strategy real uses no synthetic data"),
        "{msg}"
    );

    let msg = parse_err(&format!(
        "{BASE}\n[[grid]]\nclassifier = [\"cnn\"]\n[[grid]]\nclassifier = [\"cnn\"]\n"
    ));
    assert!(msg.contains("more than one [[grid]] block"), "{msg}");

    let msg = parse_err(&format!("{BASE}\n[[grid]]\nclassifier = [\"svm\"]\n"));
    assert!(msg.contains("unknown classifier \"svm\""), "{msg}");
}

#[test]
fn epsilon_axis_and_privacy_policy() {
    let e = parse_ok("[[grid]]\nepsilon = [\"inf\", 10, 0.1]\n[privacy]\naccountant = \"pld\"\n");
    assert_eq!(e.points.len(), 3);
    let cells = expand(&e);
    assert!(cells[0].privacy.is_none());
    let p = cells[1].privacy.as_ref().unwrap();
    assert_eq!(p.mode, "example");
    assert_eq!(p.clip_norm, 1.0);
    // [privacy] does not change the ids of non-private cells
    let other =
        parse_ok("[[grid]]\nepsilon = [\"inf\", 10, 0.1]\n[privacy]\naccountant = \"rdp\"\n");
    let o = expand(&other);
    assert_eq!(cell_id(&cells[0], "d", "v"), cell_id(&o[0], "d", "v"));
    assert_ne!(cell_id(&cells[1], "d", "v"), cell_id(&o[1], "d", "v"));
    let msg = parse_err(&format!(
        "{BASE}\n[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"file:x.h5\"]\nepsilon = [1]\n"
    ));
    assert!(msg.contains("private TSTR"), "{msg}");
    let msg = parse_err(&format!("{BASE}\n[[grid]]\n[privacy]\ndelta = 1.5\n"));
    assert!(msg.contains("privacy.delta"), "{msg}");
    // public class weights: default, explicit (a different private cell), refused when bad
    assert_eq!(p.class_weights, [1.0, 2.5]);
    let w = parse_ok(
        "[[grid]]\nepsilon = [\"inf\", 10, 0.1]\n[privacy]\naccountant = \"pld\"\nclass_weights = [1, 3]\n",
    );
    let wc = expand(&w);
    assert_eq!(wc[1].privacy.as_ref().unwrap().class_weights, [1.0, 3.0]);
    assert_ne!(cell_id(&cells[1], "d", "v"), cell_id(&wc[1], "d", "v"));
    assert_eq!(cell_id(&cells[0], "d", "v"), cell_id(&wc[0], "d", "v"));
    for bad in ["[1]", "[1, 0]", "[1, 2, 3]", "[-1, 2]"] {
        let msg = parse_err(&format!(
            "{BASE}\n[[grid]]\n[privacy]\nclass_weights = {bad}\n"
        ));
        assert!(msg.contains("privacy.class_weights"), "{bad}: {msg}");
        assert!(msg.contains(':'), "{bad}: {msg}");
    }
    // the PRV accountant is a valid choice; reference-batch mode refuses anything but RDP
    let v = parse_ok("[[grid]]\nepsilon = [1]\n[privacy]\naccountant = \"prv\"\n");
    let vp = expand(&v);
    assert_eq!(
        vp[0].privacy.as_ref().unwrap().accountant,
        crate::privacy::accounting::ledger::AccountantKind::Prv
    );
    let msg = parse_err(&format!(
        "{BASE}\n[[grid]]\n[privacy]\nmode = \"reference-batch\"\naccountant = \"pld\"\n"
    ));
    assert!(msg.contains("needs privacy.mode = example"), "{msg}");
    let msg = parse_err(&format!(
        "{BASE}\n[[grid]]\n[privacy]\naccountant = \"gdp\"\n"
    ));
    assert!(msg.contains("(rdp, pld, prv)"), "{msg}");
    let e = parse_ok("[[grid]]\nepsilon = [inf]\n");
    assert_eq!(e.points[0].epsilon.label(), "inf");
    let e = parse_ok("[[grid]]\nepsilon = [\"inf\"]\n");
    assert!(!e.points[0].epsilon.is_private());
}

#[test]
fn top_level_values_are_checked() {
    let msg = parse_err(&format!(
        "{}\n[[grid]]\n",
        BASE.replace("schema_version = 1", "schema_version = 2")
    ));
    assert!(msg.contains("schema_version 2"), "{msg}");
    let msg = parse_err(&format!(
        "{}\n[[grid]]\n",
        BASE.replace("replicates = 3", "replicates = 0")
    ));
    assert!(msg.contains("replicates must be between"), "{msg}");
    let msg = parse_err(&format!(
        "{}\n[[grid]]\n",
        BASE.replace("campaign = \"t\"", "campaign = \"../x\"")
    ));
    assert!(msg.contains("campaign must be"), "{msg}");
}

#[test]
fn report_axes_are_checked() {
    let msg = parse_err(&format!(
        "{BASE}\n[[grid]]\n[[report.table]]\nrows = [\"clasifier\"]\ncolumns = []\n"
    ));
    assert!(msg.contains("unknown axis"), "{msg}");
    let e = parse_ok(
        "[[grid]]\n[report]\nmetric = \"stress_f1\"\n[[report.table]]\nrows = [\"classifier\"]\ncolumns = [\"strategy\"]\n",
    );
    assert_eq!(e.report.metric, ReportMetric::StressF1);
}

#[test]
fn slurm_time_syntax() {
    for ok in ["30", "30:00", "02:00:00", "1-00", "1-12:00", "2-00:00:00"] {
        assert!(is_slurm_time(ok), "{ok}");
    }
    for bad in ["", "1h", "1:2:3:4", "-1", "a-01"] {
        assert!(!is_slurm_time(bad), "{bad}");
    }
}

/// Property: for random grids, cells = product of axis sizes × replicates, ids are unique,
/// and the same text gives the same ids.
#[test]
fn random_grids_have_product_cell_counts_and_unique_stable_ids() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    for _ in 0..200 {
        let pick = |rng: &mut rand_chacha::ChaCha8Rng, all: &[&str]| -> Vec<String> {
            let n = rng.random_range(1..=all.len());
            let mut v: Vec<String> = all.iter().map(|s| s.to_string()).collect();
            for i in (1..v.len()).rev() {
                v.swap(i, rng.random_range(0..=i));
            }
            v.truncate(n);
            v
        };
        let gens = pick(&mut rng, &["file:a.h5", "file:b.csv", "file:c.h5"]);
        let strats = pick(&mut rng, &["augment", "tstr"]);
        let clfs = pick(&mut rng, &["cnn", "cnn-lstm", "transformer"]);
        let modes = pick(&mut rng, &["reference", "corrected"]);
        let nk = rng.random_range(1..=8usize);
        let ks: Vec<String> = (1..=nk).map(|k| (k * 3).to_string()).collect();
        let reps = rng.random_range(1..=4usize);
        let q = |v: &[String]| {
            v.iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let text = format!(
            "schema_version = 1\ncampaign = \"p\"\nreplicates = {reps}\n[dataset]\nsimulate = {{ subjects = 2 }}\n\
             [[grid]]\nstrategy = [\"real\"]\nclassifier = [{}]\n\
             [[grid]]\ngenerator = [{}]\nstrategy = [{}]\nclassifier = [{}]\nfeature_mode = [{}]\nsynthetic_subjects = [{}]\n",
            q(&clfs),
            q(&gens),
            q(&strats),
            q(&clfs),
            q(&modes),
            ks.join(", ")
        );
        let e = parse(&text, Path::new("p.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let points = clfs.len() + gens.len() * strats.len() * clfs.len() * modes.len() * nk;
        assert_eq!(e.points.len(), points, "{text}");
        let cells = expand(&e);
        assert_eq!(cells.len(), points * reps);
        let ids: Vec<String> = cells.iter().map(|c| cell_id(c, "d", "v")).collect();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        let again: Vec<String> = expand(&parse(&text, Path::new("p.toml")).unwrap())
            .iter()
            .map(|c| cell_id(c, "d", "v"))
            .collect();
        assert_eq!(ids, again);
    }
}

#[test]
fn counts_share_the_documented_limits() {
    let with = |from: &str, to: &str| parse_err(&format!("{}\n[[grid]]\n", BASE.replace(from, to)));
    let msg = with("replicates = 3", "replicates = 4294967295");
    assert!(
        msg.starts_with("x.toml:4:14:") && msg.contains("between 1 and 10000"),
        "{msg}"
    );
    let msg = parse_err(&format!("{BASE}[model]\nthreads = 100000\n[[grid]]\n"));
    assert!(
        msg.contains("x.toml:9:11") && msg.contains("model.threads must be between 1 and 256"),
        "{msg}"
    );
    let msg = parse_err(&format!("{BASE}[model]\nthreads = 0\n[[grid]]\n"));
    assert!(msg.contains("model.threads"), "{msg}");
    let msg = parse_err(&format!("{BASE}[model]\nepochs = 1000000000\n[[grid]]\n"));
    assert!(
        msg.contains("model.epochs must be between 1 and 10000"),
        "{msg}"
    );
    let msg = parse_err(&format!("{BASE}[model]\nbatch_size = 0\n[[grid]]\n"));
    assert!(msg.contains("model.batch_size"), "{msg}");
    for p in ["0", "100000"] {
        let msg = parse_err(&format!("{BASE}[[grid]]\n[local]\nparallel = {p}\n"));
        assert!(
            msg.contains("local.parallel must be between 1 and 1024"),
            "{msg}"
        );
    }
    let msg = parse_err(&format!(
        "{BASE}[[grid]]\nstrategy = [\"augment\"]\ngenerator = [\"file:a.h5\"]\nsynthetic_subjects = [1000000000]\n"
    ));
    assert!(
        msg.contains("synthetic_subjects must be between 1 and"),
        "{msg}"
    );
    let msg = parse_err(&format!(
        "{BASE}[[grid]]\n[slurm]\nranks_per_cell = 100000\n"
    ));
    assert!(
        msg.contains("x.toml:10:1") && msg.contains("ranks_per_cell"),
        "{msg}"
    );
    assert_eq!(
        parse_ok("[model]\nthreads = 256\nepochs = 10000\n[[grid]]\n").threads,
        Some(256)
    );
    let msg = parse_err(&format!(
        "{BASE}[model]\nthreads = 256\n[[grid]]\n[local]\nparallel = 1000\n"
    ));
    assert!(
        msg.contains("x.toml:12:12") && msg.contains("local.parallel × model.threads"),
        "{msg}"
    );
}

#[test]
fn oversized_grids_are_refused_before_expansion() {
    // 10^4 generators × 10^4 K × 10^4 replicates = 10^12 cells: expanding would exhaust memory
    let gens = (0..10_000)
        .map(|i| format!("\"file:g{i}.h5\""))
        .collect::<Vec<_>>()
        .join(",");
    let ks = (1..=10_000)
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let text = format!(
        "{}\n[[grid]]\nstrategy = [\"augment\"]\ngenerator = [{gens}]\nsynthetic_subjects = [{ks}]\n",
        BASE.replace("replicates = 3", "replicates = 10000")
    );
    let msg = parse_err(&text);
    assert!(
        msg.contains("1000000000000 cells") && msg.contains("at most 100000"),
        "{}",
        &msg[..msg.len().min(300)]
    );
    // the sum over blocks counts; exactly the limit is allowed
    let e = parse_ok(
        "[[grid]]\nclassifier = [\"cnn\", \"cnn-lstm\"]\n[[grid]]\nclassifier = [\"transformer\"]\nfeature_mode = [\"corrected\"]\n",
    );
    assert_eq!(e.cell_count(), 9);
    let text = format!(
        "{}\n[[grid]]\nclassifier = [\"cnn\", \"cnn-lstm\"]\n[[grid]]\nclassifier = [\"transformer\"]\n",
        BASE.replace("replicates = 3", "replicates = 40000")
    );
    assert!(parse_err(&text).contains("replicates must be between"));
    let text = format!(
        "{}\n[[grid]]\nclassifier = [\"cnn\", \"cnn-lstm\", \"transformer\"]\nfeature_mode = [\"reference\", \"corrected\"]\n\
         [[grid]]\nstrategy = [\"augment\"]\ngenerator = [\"file:a.h5\"]\nsynthetic_subjects = [1, 2, 3, 4, 5]\n",
        BASE.replace("replicates = 3", "replicates = 10000")
    );
    let msg = parse_err(&text);
    assert!(
        msg.contains("110000 cells (11 grid point(s) × 10000"),
        "{msg}"
    );
    // one point fewer is within the limit
    let e = parse(
        &text.replace("[1, 2, 3, 4, 5]", "[1, 2, 3, 4]"),
        Path::new("x.toml"),
    )
    .unwrap();
    assert_eq!(e.cell_count(), 100_000);
}

#[test]
fn campaign_simulations_need_two_subjects() {
    let msg = parse_err(&format!(
        "{}\n[[grid]]\n",
        BASE.replace("subjects = 4", "subjects = 1")
    ));
    assert!(
        msg.starts_with("x.toml:7:12:")
            && msg.contains("between 2 and")
            && msg.contains("leave-one-subject-out"),
        "{msg}"
    );
}

#[test]
fn duplicate_axis_values_name_the_value_and_axis() {
    let msg = parse_err(&format!(
        "{BASE}[[grid]]\nclassifier = [\"cnn\", \"cnn\"]\n"
    ));
    assert!(
        msg.starts_with("x.toml:9:14:")
            && msg.contains("duplicate value \"cnn\" in axis classifier"),
        "{msg}"
    );
    assert!(!msg.contains("more than one [[grid]] block"), "{msg}");
    let msg = parse_err(&format!("{BASE}[[grid]]\nepsilon = [1, 1.0]\n"));
    assert!(
        msg.contains("duplicate value \"1\" in axis epsilon"),
        "{msg}"
    );
    // across blocks it is still the block message
    let msg = parse_err(&format!("{BASE}[[grid]]\n[[grid]]\n"));
    assert!(msg.contains("more than one [[grid]] block"), "{msg}");
}

#[test]
fn slurm_text_must_fit_on_one_line() {
    for (key, value) in [
        ("partition", "\"debug\\n#SBATCH --uid=0\""),
        ("extra_sbatch", "[\"--constraint=cpu\", \"x\\ry\"]"),
        ("setup", "[\"module load x\\nrm -rf /\"]"),
        ("mem", "\"8G\\u0007\""),
    ] {
        let msg = parse_err(&format!(
            "{BASE}[[grid]]\n[slurm]\ntime = \"01:00:00\"\n{key} = {value}\n"
        ));
        assert!(
            msg.starts_with("x.toml:11:1:")
                && msg.contains(&format!("slurm.{key}"))
                && msg.contains("line break or control character"),
            "{msg}"
        );
    }
    // a tab in a setup line is fine
    let e = parse_ok("[[grid]]\n[slurm]\nsetup = [\"export A=1\\t# note\"]\n");
    assert_eq!(e.slurm.setup.len(), 1);
}

#[test]
fn non_utf8_experiment_files_are_malformed_not_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.toml");
    std::fs::write(&p, [0xff, 0xfe, 0x00, 0x9c, b'a']).unwrap();
    match load(&p) {
        Err(ConfigError::Syntax { message, .. }) => assert!(message.contains("UTF-8"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        load(&dir.path().join("missing.toml")),
        Err(ConfigError::Unreadable { .. })
    ));
}

#[test]
fn trained_generators_expand_over_gan_epsilon_and_training_only() {
    let e = parse_ok(
        r#"
[[grid]]
strategy = ["real"]

[[grid]]
strategy = ["augment", "tstr"]
generator = ["cgan", "dp-merf"]
gan_epsilon = ["inf", 10]
generator_training = ["per-fold", "shared"]
synthetic_subjects = [1, 5]

[[grid]]
strategy = ["augment"]
generator = ["file:a.h5"]
"#,
    );
    assert_eq!(e.points.len(), 1 + 2 * 2 * 2 * 2 * 2 + 1);
    let real = &e.points[0];
    assert_eq!((real.gan_epsilon, real.generator_training), (None, None));
    let file = e.points.last().unwrap();
    assert_eq!(file.axis_value("gan_epsilon").as_deref(), Some("-"));
    let shared = e
        .points
        .iter()
        .find(|p| p.generator_training == Some(GeneratorTraining::Shared))
        .unwrap();
    assert_eq!(
        shared.axis_value("generator_training").as_deref(),
        Some(SHARED_LEAK_LABEL)
    );
    // Sampled subjects default to the largest K; hyper-parameters exist for the kinds used.
    assert_eq!(e.generation.subjects, 5);
    assert_eq!(
        e.generators.keys().cloned().collect::<Vec<_>>(),
        vec!["cgan".to_string(), "dp-merf".to_string()]
    );
    let cells = expand(&e);
    let private_gen = cells
        .iter()
        .find(|c| c.point.gan_epsilon.is_some_and(|g| g.is_private()))
        .unwrap();
    let g = private_gen.generation.as_ref().unwrap();
    assert!(g.privacy.is_some());
    assert!(cells[0].generation.is_none());
    // The ids of cells without a trained generator do not depend on the generator stage.
    let plain = parse_ok("\n[[grid]]\nstrategy = [\"real\"]\n");
    let c0 = &expand(&plain)[0];
    assert_eq!(
        cell_id(c0, "x", "v"),
        cell_id(&cells[0], "x", "v"),
        "a real cell's id moved"
    );
}

#[test]
fn generator_stage_tables_are_read_and_checked() {
    let e = parse_ok(
        r#"
[generation]
subjects = 20
windows_per_subject = 12
stress_fraction = 0.25
unit = "subject"
clip_norm = 0.5

[generators.cgan]
mode = "reference"
epochs = 3

[[grid]]
strategy = ["tstr"]
generator = ["cgan"]
gan_epsilon = [1]
synthetic_subjects = [20]
"#,
    );
    assert_eq!(e.generation.subjects, 20);
    assert_eq!(e.generation.windows_per_subject, 12);
    let h = &e.generators["cgan"];
    assert_eq!(
        h.mode,
        crate::models::generator_spec::GeneratorMode::Reference
    );
    assert_eq!(h.epochs, Some(3));
    let c = &expand(&e)[0];
    let p = c.generation.as_ref().unwrap().privacy.unwrap();
    assert_eq!(p.unit, PrivacyUnit::Subject);
    assert_eq!(p.clip_norm, 0.5);
}

#[test]
fn bad_generator_combinations_are_refused_with_locations() {
    for (body, needle, line) in [
        (
            "[[grid]]\nstrategy = [\"augment\"]\ngenerator = [\"file:a.h5\"]\ngan_epsilon = [1]\n",
            "gan_epsilon is the budget of a generator dpwear trains",
            4,
        ),
        (
            "[[grid]]\nstrategy = [\"augment\"]\ngenerator = [\"none\", \"cgan\"]\n",
            "needs synthetic data",
            3,
        ),
        (
            "[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"timegan\"]\ngan_epsilon = [\"inf\", 1]\n",
            "timegan has no private mode",
            4,
        ),
        (
            "[[grid]]\nstrategy = [\"real\"]\ngenerator_training = [\"shared\"]\n",
            "generator_training applies to generators dpwear trains",
            3,
        ),
        (
            "[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"gan\"]\n",
            "unknown generator \"gan\"",
            3,
        ),
        (
            "[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"cgan\"]\ngenerator_training = [\"leaky\"]\n",
            "unknown generator_training",
            4,
        ),
        (
            "[generation]\nwindows = \"sliding\"\n[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"cgan\"]\ngan_epsilon = [1]\n",
            "needs generation.windows = \"non-overlapping\"",
            2,
        ),
        (
            "[generation]\nsubjects = 3\n[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"dgan\"]\nsynthetic_subjects = [5]\n",
            "sample at least 5",
            2,
        ),
        (
            "[generators.dgan]\nsteps = 5\n[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"cgan\"]\n",
            "no [[grid]] block trains dgan",
            1,
        ),
        (
            "[generators.cgan]\nsteps = 5\nepochs = 2\n[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"cgan\"]\n",
            "not both",
            1,
        ),
        (
            "[privacy]\nmode = \"reference-batch\"\n[[grid]]\nstrategy = [\"tstr\"]\ngenerator = [\"cgan\"]\ngan_epsilon = [1]\n",
            "privacy.mode = reference-batch is the classifier's reference mode",
            2,
        ),
    ] {
        let text = format!("{BASE}{body}");
        let e = parse_err(&text);
        assert!(e.contains(needle), "{e}\n{text}");
        let base_lines = BASE.lines().count();
        assert!(
            e.contains(&format!("x.toml:{}:", base_lines + line)),
            "wrong line in {e}\n{text}"
        );
    }
}
