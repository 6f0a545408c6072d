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
