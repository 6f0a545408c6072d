//! `dpwear privacy epsilon|sigma` through the binary: the reference's §6.3 vector and clear
//! errors for impossible parameters.

mod common;

use common::dpwear;

fn run(args: &[&str]) -> std::process::Output {
    dpwear()
        .arg("privacy")
        .args(args)
        .output()
        .expect("run dpwear")
}

/// `dpwear privacy <head…>` on the reference CNN schedule (spec §6.3: n = 530, batch 50,
/// 10 epochs = 106 steps, δ = 1e-3), then `tail`.
fn on_reference_schedule(head: &[&str], tail: &[&str]) -> std::process::Output {
    let q = format!("{}", 50.0 / 530.0);
    let schedule = ["--sample-rate", &q, "--steps", "106", "--delta", "1e-3"];
    run(&[head, &schedule[..], tail].concat())
}

#[test]
fn sigma_for_the_reference_cnn_schedule_and_stated_assumptions() {
    // spec §6.3: ε = 1 → σ = 3.02344
    let sigma_json = |accountant: &str| {
        on_reference_schedule(
            &["sigma", "--target-epsilon", "1"],
            &["--accountant", accountant, "--json"],
        )
    };
    let o = sigma_json("rdp-reference");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let sigma = v["sigma"].as_f64().unwrap();
    assert!(
        (sigma - 3.023440150150832).abs() / 3.02344 < 1e-5,
        "{sigma}"
    );
    assert!(v["epsilon"].as_f64().unwrap() <= 1.0);
    for key in ["accountant", "delta", "sampling", "unit", "conversion"] {
        assert!(!v[key].is_null(), "statement lacks {key}");
    }
    // PLD needs less noise than RDP for the same ε
    let o = sigma_json("pld");
    let pld: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(pld["sigma"].as_f64().unwrap() < sigma);
    // the text form states accountant, δ, sampling and unit
    let o = on_reference_schedule(
        &["epsilon", "--sigma", "3.02344"],
        &["--sampling", "shuffle"],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("rdp accountant")
            && text.contains("δ = 1e-3")
            && text.contains("not covered")
            && text.contains("per window"),
        "{text}"
    );
}

#[test]
fn prv_accountant_states_its_error_bar() {
    // ε of the reference CNN schedule at σ = 3.02344 with one accountant, text or JSON
    let q = format!("{}", 50.0 / 530.0);
    let epsilon = |accountant: &str, json: bool| {
        let mut args = vec![
            "epsilon",
            "--sigma",
            "3.02344",
            "--sample-rate",
            &q,
            "--steps",
            "106",
            "--delta",
            "1e-3",
            "--accountant",
            accountant,
        ];
        if json {
            args.push("--json");
        }
        let o = run(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let text = epsilon("prv", false);
    assert!(text.contains("prv accountant"), "{text}");
    assert!(text.contains("prv error bar: true epsilon in ["), "{text}");
    let v: serde_json::Value = serde_json::from_str(&epsilon("prv", true)).unwrap();
    assert_eq!(v["accountant"], "prv");
    assert!(v["conversion"].as_str().unwrap().contains("upper bound"));
    let prv = v["epsilon"].as_f64().unwrap();
    // an upper bound close to (within its 1 % error of) the pessimistic PLD, below RDP
    let pld: serde_json::Value = serde_json::from_str(&epsilon("pld", true)).unwrap();
    let pld = pld["epsilon"].as_f64().unwrap();
    assert!((prv - pld).abs() < 0.03 * pld, "prv {prv} pld {pld}");
    assert!(prv < 0.99, "rdp gives 1.0 here; prv {prv}");
}

#[test]
fn impossible_parameters_are_refused_with_code_5() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "epsilon",
                "--sigma",
                "1",
                "--sample-rate",
                "1.5",
                "--steps",
                "10",
                "--delta",
                "1e-5",
            ],
            "sample_rate",
        ),
        (
            &[
                "epsilon",
                "--sigma",
                "0",
                "--sample-rate",
                "0.1",
                "--steps",
                "10",
                "--delta",
                "1e-5",
            ],
            "sigma",
        ),
        (
            &[
                "epsilon",
                "--sigma",
                "1",
                "--sample-rate",
                "0.1",
                "--steps",
                "10",
                "--delta",
                "1",
            ],
            "delta",
        ),
        (
            &[
                "sigma",
                "--target-epsilon",
                "0",
                "--sample-rate",
                "0.1",
                "--steps",
                "10",
                "--delta",
                "1e-5",
            ],
            "epsilon",
        ),
        (
            &[
                "sigma",
                "--target-epsilon",
                "1e-9",
                "--sample-rate",
                "1",
                "--steps",
                "100000",
                "--delta",
                "1e-5",
            ],
            "cannot be reached",
        ),
    ];
    for (args, needle) in cases {
        let o = run(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(5), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// `dpwear privacy <args>` with q = 0.01, 100 steps, δ = 1e-5 appended.
fn small_schedule(args: &[&str]) -> std::process::Output {
    let schedule = ["--sample-rate", "0.01", "--steps", "100", "--delta", "1e-5"];
    run(&[args, &schedule[..]].concat())
}

/// Hostile inputs of the issue: a tiny σ used to make the PLD allocate 40 GB (σ = 1e-3) or
/// panic with a capacity overflow (σ = 1e-10). Now the grid is sized before allocation and
/// refused with exit 5, a one-line message naming an option that exists.
#[test]
fn grid_accountants_refuse_work_beyond_their_limit_before_allocating() {
    for (sigma, accountant, steps) in [
        ("1e-3", "pld", "100"),
        ("1e-10", "pld", "100"),
        ("1", "prv", "10000000000"),
    ] {
        let t = std::time::Instant::now();
        let o = run(&[
            "epsilon",
            "--sigma",
            sigma,
            "--sample-rate",
            "0.01",
            "--steps",
            steps,
            "--delta",
            "1e-5",
            "--accountant",
            accountant,
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(5), "σ {sigma}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("grid points") && err.contains("--accountant rdp"),
            "{err}"
        );
        for missing in ["value_discretization_interval", "eps_error", "panicked"] {
            assert!(!err.contains(missing), "{err}");
        }
        assert!(t.elapsed().as_secs() < 10, "took {:?}", t.elapsed());
    }
}

/// `privacy sigma --target-epsilon 1000 --accountant pld` ran for minutes: now the search
/// stops at the accountant's work limit with a verified σ and says so.
#[test]
fn calibration_for_a_huge_target_finishes_quickly_and_says_why_it_stopped() {
    let t = std::time::Instant::now();
    let o = small_schedule(&[
        "sigma",
        "--target-epsilon",
        "1000",
        "--accountant",
        "pld",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["epsilon"].as_f64().unwrap() <= 1000.0);
    let note = v["note"].as_str().unwrap();
    assert!(note.contains("work limit"), "{note}");
    // RDP and PRV reach the target itself.
    for accountant in ["rdp", "prv"] {
        let o = small_schedule(&[
            "sigma",
            "--target-epsilon",
            "1000",
            "--accountant",
            accountant,
            "--json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let eps = v["epsilon"].as_f64().unwrap();
        assert!(eps <= 1000.0 && eps > 990.0, "{accountant}: {eps}");
        assert!(v.get("note").is_none(), "{v}");
    }
}

/// `--accountant rdp-reference` was reported as plain `rdp`.
#[test]
fn the_reference_accountant_keeps_its_name() {
    let o = on_reference_schedule(
        &["epsilon", "--sigma", "3.02344"],
        &["--accountant", "rdp-reference", "--json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["accountant"], "rdp-reference", "{v}");
    let o = on_reference_schedule(
        &["epsilon", "--sigma", "3.02344"],
        &["--accountant", "rdp-reference"],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("[rdp-reference accountant"), "{text}");
    // the default RDP accountant is still `rdp`
    let o = on_reference_schedule(&["epsilon", "--sigma", "3.02344"], &["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["accountant"], "rdp", "{v}");
}

/// σ printed as `0.000000` and ε with 309 digits: text output uses significant digits.
#[test]
fn tiny_sigma_and_huge_epsilon_print_sanely() {
    let o = run(&[
        "epsilon",
        "--sigma",
        "1e-150",
        "--sample-rate",
        "0.5",
        "--steps",
        "100",
        "--delta",
        "1e-5",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("sigma = 1e-150"), "{text}");
    assert!(text.contains("σ = 1.00000e-150"), "{text}");
    assert!(text.contains("ε = 5.50000e301"), "{text}");
    assert!(!text.contains("0.000000"), "{text}");
    assert!(text.lines().all(|l| l.len() < 400), "{text}");
}
