//! The reference data read through every path gives the reference's counts, and the reference
//! feature transform reproduces the spec's §2.1 test vector (S2, window 0) within 1e-5.

mod common;

use dpwear::data::reference_csv::read_reference_csv;
use dpwear::features::{self, FeatureMode, WindowScheme, FEATURE_LEN};

/// §2.1 test vector, computed with the reference code (non-zero entries per channel).
const S2_WINDOW0: [&[f64]; 6] = [
    &[3.742261, 0.28332, 0.156013],
    &[5.501277, 0.156664, 0.079193],
    &[3.747559, 0.620858, 0.3257],
    &[
        17.273102, 1.463096, 0.881965, 0.742148, 0.652864, 0.594751, 0.564183, 0.506122, 0.468075,
        0.42153, 0.389014, 0.340648, 0.293519, 0.241846, 0.138956,
    ],
    &[
        21.195931, 2.190583, 1.76575, 1.462953, 1.195724, 1.099313, 0.922388, 0.835131, 0.722243,
        0.644901, 0.587312, 0.502888, 0.439249, 0.372983, 0.25769,
    ],
    &[
        33.417111, 0.100963, 0.049885, 0.042015, 0.036689, 0.033627, 0.029475, 0.027064, 0.024418,
        0.022232, 0.019274, 0.01685, 0.01508, 0.012907, 0.011104, 0.008827, 0.006138,
    ],
];

/// Non-overlapping classifier windows per subject and stress windows among them (spec §1.3).
const WINDOWS_PER_SUBJECT: [(u32, usize, usize); 15] = [
    (2, 34, 10),
    (3, 34, 11),
    (4, 35, 9),
    (5, 35, 9),
    (6, 35, 10),
    (7, 35, 9),
    (8, 35, 9),
    (9, 35, 10),
    (10, 36, 10),
    (11, 36, 11),
    (13, 36, 10),
    (14, 36, 11),
    (15, 36, 10),
    (16, 36, 11),
    (17, 36, 10),
];

#[test]
fn reference_csv_gives_the_reference_counts_and_features() {
    let ds = read_reference_csv(
        &common::wesad_ref("wesad_preprocessed_1hz.csv"),
        dpwear::data::LabelMap::Binary,
    )
    .unwrap();
    let s = ds.summary();
    assert_eq!(s.n_subjects, 15);
    assert_eq!(s.rows, 33_152);
    assert_eq!(s.stress_rows, 9_966);

    let fs = features::build(&ds, WindowScheme::Reference, FeatureMode::Reference);
    assert_eq!(fs.len(), 530);
    assert_eq!(fs.label_counts(), vec![380, 150]);
    for (id, n, stress) in WINDOWS_PER_SUBJECT {
        let idx: Vec<usize> = (0..fs.len()).filter(|&i| fs.subject[i] == id).collect();
        assert_eq!(idx.len(), n, "windows of S{id}");
        assert_eq!(
            idx.iter().filter(|&&i| fs.y[i] == 1).count(),
            stress,
            "stress windows of S{id}"
        );
    }
    // S2 window 0
    let w = fs.window(0);
    for (c, want) in S2_WINDOW0.iter().enumerate() {
        let row = &w[c * FEATURE_LEN..(c + 1) * FEATURE_LEN];
        for (k, v) in want.iter().enumerate() {
            assert!(
                (row[k] - v).abs() < 1e-5,
                "channel {c} bin {k}: {} vs {v}",
                row[k]
            );
        }
        assert!(
            row[want.len()..].iter().all(|&v| v == 0.0),
            "channel {c} padding"
        );
    }

    let sliding = features::windows(&ds, WindowScheme::Sliding);
    assert_eq!(sliding.len(), 1083);
    // the reference's binary sliding-window labels (most_common): 763 / 320
    assert_eq!(sliding.iter().filter(|w| w.label == 1).count(), 320);
}
