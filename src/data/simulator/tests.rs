//! Tests of the simulator: determinism, shape, scaling, WESAD-like sizes and physiological
//! plausibility checks that a bad simulator would fail.

use std::sync::OnceLock;

use rand::RngCore;

use super::rng::{stream, Purpose};
use super::*;

const BVP: usize = 0;
const EDA: usize = 1;
const ACC: [usize; 3] = [2, 3, 4];
const TEMP: usize = 5;

fn cfg(subjects: usize, seed: u64, label_map: LabelMap, minutes_scale: f64) -> SimulatorConfig {
    SimulatorConfig {
        subjects,
        seed,
        label_map,
        minutes_scale,
    }
}

/// 15 full-length subjects with three classes (0 baseline, 1 stress, 2 amusement), shared by
/// the plausibility tests.
fn wesad_like() -> &'static Dataset {
    static DS: OnceLock<Dataset> = OnceLock::new();
    DS.get_or_init(|| simulate(&cfg(15, 7, LabelMap::ThreeClass, 1.0)).unwrap())
}

fn mean(x: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = x.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    s / n as f64
}

fn sd(x: &[f64]) -> f64 {
    let m = mean(x.iter().copied());
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64).sqrt()
}

fn lag1_autocorrelation(x: &[f64]) -> f64 {
    let m = mean(x.iter().copied());
    let var: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    let cov: f64 = x.windows(2).map(|w| (w[0] - m) * (w[1] - m)).sum();
    cov / var
}

/// Mean of channel `c` over the rows labelled `label`.
fn class_mean(s: &Subject, c: usize, label: u8) -> f64 {
    mean(
        s.labels
            .iter()
            .zip(&s.channels[c])
            .filter(|(l, _)| **l == label)
            .map(|(_, v)| *v),
    )
}

fn bits(ds: &Dataset) -> Vec<u64> {
    ds.subjects
        .iter()
        .flat_map(|s| s.channels.iter().flatten().map(|v| v.to_bits()))
        .collect()
}

#[test]
fn same_config_gives_bitwise_identical_data() {
    let c = cfg(4, 42, LabelMap::ThreeClass, 0.2);
    let (a, b) = (simulate(&c).unwrap(), simulate(&c).unwrap());
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(a, b);
}

#[test]
fn distinct_seeds_give_different_data_and_digests() {
    let a = simulate(&cfg(3, 1, LabelMap::Binary, 0.2)).unwrap();
    let b = simulate(&cfg(3, 2, LabelMap::Binary, 0.2)).unwrap();
    assert_ne!(a.source.sha256, b.source.sha256);
    for (sa, sb) in a.subjects.iter().zip(&b.subjects) {
        for c in 0..N_CHANNELS {
            assert_ne!(sa.channels[c], sb.channels[c], "{} channel {c}", sa.name());
        }
    }
}

#[test]
fn a_subject_does_not_depend_on_how_many_are_requested() {
    let few = simulate(&cfg(2, 9, LabelMap::Binary, 0.1)).unwrap();
    let more = simulate(&cfg(5, 9, LabelMap::Binary, 0.1)).unwrap();
    assert_eq!(few.subjects[..], more.subjects[..2]);
}

#[test]
fn label_map_changes_only_the_labels() {
    let three = simulate(&cfg(3, 5, LabelMap::ThreeClass, 0.3)).unwrap();
    let binary = simulate(&cfg(3, 5, LabelMap::Binary, 0.3)).unwrap();
    for (t, b) in three.subjects.iter().zip(&binary.subjects) {
        assert_eq!(t.channels, b.channels);
        let merged: Vec<u8> = t.labels.iter().map(|&l| u8::from(l == 1)).collect();
        assert_eq!(merged, b.labels);
    }
}

#[test]
fn provenance_says_simulated() {
    let c = cfg(3, 11, LabelMap::Binary, 0.1);
    let ds = simulate(&c).unwrap();
    assert_eq!(ds.source.kind, SourceKind::Simulator);
    assert!(ds.source.kind.is_simulated());
    assert!(ds.summary().simulated);
    assert!(ds.source.note.contains("simulated data, not measurements"));
    assert!(ds.source.note.contains("seed=11"), "{}", ds.source.note);
    assert_eq!(
        ds.source.sha256,
        sha256_hex(c.canonical_description().as_bytes())
    );
    assert_eq!(ds.source.sha256.len(), 64);
    assert_eq!(ds.sampling_rate_hz, 1.0);
    let names: Vec<String> = ds.subjects.iter().map(Subject::name).collect();
    assert_eq!(names, ["S101", "S102", "S103"]);
    ds.validate().unwrap();
}

#[test]
fn canonical_description_is_pinned() {
    let c = cfg(15, 42, LabelMap::ThreeClass, 0.5);
    assert_eq!(
        c.canonical_description(),
        "dpwear simulator v1\nsubjects=15\nseed=42\nlabel_map=three-class\n\
         minutes_scale=0.5 (0x3fe0000000000000)\n"
    );
}

#[test]
fn rng_streams_are_stable_and_distinct() {
    // Pins the stream derivation: changing it silently would change every dataset.
    let first = stream(42, 0, Purpose::Subject).next_u64();
    assert_eq!(first, stream(42, 0, Purpose::Subject).next_u64());
    assert_ne!(first, stream(42, 1, Purpose::Subject).next_u64());
    assert_ne!(first, stream(43, 0, Purpose::Subject).next_u64());
    assert_ne!(first, stream(42, 0, Purpose::Eda).next_u64());
    assert_eq!(first, RNG_PIN);
}

/// First u64 of `stream(42, 0, Purpose::Subject)`.
const RNG_PIN: u64 = 136_747_416_555_105_234;

#[test]
fn every_subject_is_valid_and_scaled_to_the_unit_interval() {
    for ds in [
        wesad_like(),
        &simulate(&cfg(4, 3, LabelMap::Binary, 0.05)).unwrap(),
    ] {
        ds.validate().unwrap();
        for s in &ds.subjects {
            s.validate(ds.label_map.n_classes()).unwrap();
            for (c, ch) in s.channels.iter().enumerate() {
                let lo = ch.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = ch.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                assert_eq!((lo, hi), (0.0, 1.0), "{} {}", s.name(), CHANNELS[c]);
            }
        }
    }
}

#[test]
fn sizes_and_stress_fraction_are_wesad_like_at_full_scale() {
    for s in &wesad_like().subjects {
        let stress = s.labels.iter().filter(|&&l| l == 1).count() as f64 / s.len() as f64;
        assert!(
            (2000..=2600).contains(&s.len()),
            "{}: {} rows",
            s.name(),
            s.len()
        );
        assert!(
            (0.25..=0.35).contains(&stress),
            "{}: stress {stress}",
            s.name()
        );
        for class in 0..3u8 {
            assert!(
                s.labels.contains(&class),
                "{} lacks class {class}",
                s.name()
            );
        }
    }
}

#[test]
fn both_protocol_orders_occur() {
    // Whether amusement (2) comes before stress (1) in the kept rows.
    let amusement_first: Vec<bool> = wesad_like()
        .subjects
        .iter()
        .map(|s| s.labels.iter().position(|&l| l == 2) < s.labels.iter().position(|&l| l == 1))
        .collect();
    assert!(amusement_first.contains(&true) && amusement_first.contains(&false));
}

#[test]
fn tiny_scale_still_has_every_class() {
    let ds = simulate(&cfg(3, 8, LabelMap::ThreeClass, 0.001)).unwrap();
    ds.validate().unwrap();
    for s in &ds.subjects {
        for class in 0..3u8 {
            assert!(s.labels.iter().filter(|&&l| l == class).count() >= 2);
        }
    }
}

#[test]
fn eda_is_higher_in_stress_than_at_baseline_for_every_subject() {
    for s in &wesad_like().subjects {
        let (stress, base) = (class_mean(s, EDA, 1), class_mean(s, EDA, 0));
        assert!(
            stress > base,
            "{}: stress {stress} <= baseline {base}",
            s.name()
        );
    }
}

#[test]
fn eda_and_temp_are_slow_signals() {
    for s in &wesad_like().subjects {
        let eda = lag1_autocorrelation(&s.channels[EDA]);
        let temp = lag1_autocorrelation(&s.channels[TEMP]);
        assert!(eda > 0.9, "{}: EDA lag-1 autocorrelation {eda}", s.name());
        assert!(
            temp > 0.95,
            "{}: TEMP lag-1 autocorrelation {temp}",
            s.name()
        );
    }
}

#[test]
fn bvp_at_1hz_looks_like_the_resampled_e4_signal() {
    // The reference's 1 Hz BVP has lag-1 autocorrelation −0.35…−0.6 and a standard deviation
    // of 0.05–0.09 of its min–max range (the extremes are motion artefacts). A smooth or
    // white-noise BVP would fail this.
    let mut acs = Vec::new();
    for s in &wesad_like().subjects {
        let ac = lag1_autocorrelation(&s.channels[BVP]);
        let spread = sd(&s.channels[BVP]);
        assert!(ac < 0.0, "{}: BVP lag-1 {ac}", s.name());
        assert!(
            (0.02..=0.2).contains(&spread),
            "{}: BVP sd {spread}",
            s.name()
        );
        acs.push(ac);
    }
    acs.sort_by(f64::total_cmp);
    let median = acs[acs.len() / 2];
    assert!(
        (-0.6..=-0.25).contains(&median),
        "median BVP lag-1 {median}"
    );
}

/// Standard deviation of the (scaled) ACC magnitude within non-overlapping 60-row windows
/// that lie inside one label run, averaged over the windows of class `label`.
fn acc_magnitude_window_sd(s: &Subject, label: u8) -> f64 {
    let magnitude: Vec<f64> = (0..s.len())
        .map(|t| {
            ACC.iter()
                .map(|&c| s.channels[c][t].powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let sds: Vec<f64> = (0..s.len() / 60)
        .map(|w| w * 60..(w + 1) * 60)
        .filter(|r| s.labels[r.clone()].iter().all(|&l| l == label))
        .map(|r| sd(&magnitude[r]))
        .collect();
    mean(sds.into_iter())
}

#[test]
fn wrist_moves_more_in_stress_than_at_baseline() {
    let subjects = &wesad_like().subjects;
    let stress = mean(subjects.iter().map(|s| acc_magnitude_window_sd(s, 1)));
    let base = mean(subjects.iter().map(|s| acc_magnitude_window_sd(s, 0)));
    assert!(stress > 1.5 * base, "stress {stress} vs baseline {base}");
}

#[test]
fn skin_temperature_is_lower_in_stress() {
    let subjects = &wesad_like().subjects;
    let diffs: Vec<f64> = subjects
        .iter()
        .map(|s| class_mean(s, TEMP, 0) - class_mean(s, TEMP, 1))
        .collect();
    let lower = diffs.iter().filter(|&&d| d > 0.0).count();
    assert!(mean(diffs.iter().copied()) > 0.1, "{diffs:?}");
    assert!(lower * 5 >= subjects.len() * 4, "{diffs:?}");
}

#[test]
fn parameter_errors_name_the_field() {
    let cases = [
        (cfg(0, 1, LabelMap::Binary, 1.0), "subjects"),
        (cfg(MAX_SUBJECTS + 1, 1, LabelMap::Binary, 1.0), "subjects"),
        (cfg(1, 1, LabelMap::Binary, 0.0), "minutes_scale"),
        (cfg(1, 1, LabelMap::Binary, -1.0), "minutes_scale"),
        (cfg(1, 1, LabelMap::Binary, 10.5), "minutes_scale"),
        (cfg(1, 1, LabelMap::Binary, f64::NAN), "minutes_scale"),
        (cfg(1, 1, LabelMap::Binary, f64::INFINITY), "minutes_scale"),
    ];
    for (c, field) in cases {
        match simulate(&c) {
            Err(e @ DataError::Parameter { .. }) => {
                assert_eq!(e.class(), crate::data::ErrorClass::InvalidParameter);
                let DataError::Parameter { name, .. } = &e else {
                    unreachable!()
                };
                assert_eq!(name, field);
                assert!(e.to_string().contains(field), "{e}");
            }
            other => panic!("{c:?}: expected a parameter error, got {other:?}"),
        }
    }
    assert!(cfg(1, 1, LabelMap::Binary, 10.0).validate().is_ok());
    assert!(cfg(MAX_SUBJECTS, 1, LabelMap::Binary, 1e-3)
        .validate()
        .is_ok());
}

/// Prints per-subject statistics for tuning (`cargo test -- --ignored --nocapture stats`).
#[test]
#[ignore]
fn print_stats() {
    for s in &wesad_like().subjects {
        let mut line = format!("{} rows={}", s.name(), s.len());
        for (c, name) in CHANNELS.iter().enumerate() {
            line += &format!(
                " {name}:b={:.2} s={:.2} a={:.2} sd={:.2} ac={:.2}",
                class_mean(s, c, 0),
                class_mean(s, c, 1),
                class_mean(s, c, 2),
                sd(&s.channels[c]),
                lag1_autocorrelation(&s.channels[c])
            );
        }
        println!("{line}");
        println!(
            "   acc window sd b={:.3} s={:.3} a={:.3}",
            acc_magnitude_window_sd(s, 0),
            acc_magnitude_window_sd(s, 1),
            acc_magnitude_window_sd(s, 2)
        );
    }
}
