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

#[test]
fn sigma_for_the_reference_cnn_schedule_and_stated_assumptions() {
    // spec §6.3: n = 530, batch 50, 10 epochs (106 steps), δ = 1e-3, ε = 1 → σ = 3.02344
    let q = format!("{}", 50.0 / 530.0);
    let o = run(&[
        "sigma",
        "--target-epsilon",
        "1",
        "--sample-rate",
        &q,
        "--steps",
        "106",
        "--delta",
        "1e-3",
        "--accountant",
        "rdp-reference",
        "--json",
    ]);
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
    let o = run(&[
        "sigma",
        "--target-epsilon",
        "1",
        "--sample-rate",
        &q,
        "--steps",
        "106",
        "--delta",
        "1e-3",
        "--accountant",
        "pld",
        "--json",
    ]);
    let pld: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(pld["sigma"].as_f64().unwrap() < sigma);
    // the text form states accountant, δ, sampling and unit
    let o = run(&[
        "epsilon",
        "--sigma",
        "3.02344",
        "--sample-rate",
        &q,
        "--steps",
        "106",
        "--delta",
        "1e-3",
        "--sampling",
        "shuffle",
    ]);
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
    let q = format!("{}", 50.0 / 530.0);
    let base = [
        "--sample-rate",
        q.as_str(),
        "--steps",
        "106",
        "--delta",
        "1e-3",
        "--accountant",
    ];
    let o = run(&[&["epsilon", "--sigma", "3.02344"], &base[..], &["prv"]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("prv accountant"), "{text}");
    assert!(text.contains("prv error bar: true epsilon in ["), "{text}");
    let o = run(&[
        &["epsilon", "--sigma", "3.02344", "--json"],
        &base[..],
        &["prv"],
    ]
    .concat());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["accountant"], "prv");
    assert!(v["conversion"].as_str().unwrap().contains("upper bound"));
    let prv = v["epsilon"].as_f64().unwrap();
    // an upper bound close to (within its 1 % error of) the pessimistic PLD, below RDP
    let o = run(&[
        &["epsilon", "--sigma", "3.02344", "--json"],
        &base[..],
        &["pld"],
    ]
    .concat());
    let pld: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
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
