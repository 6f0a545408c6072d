//! The reference implementation's classifier two-sample test (C2ST, spec §3.1.6, its
//! `GANMonitor`): real windows labelled 0 and synthetic ones labelled 1, each flattened in
//! Fortran order (`reshape(n, t·c, order="F")`: feature `j = step + t·channel`); the first
//! 80 % of each class (`int(0.8·n)`) train a 2-nearest-neighbour classifier (Euclidean,
//! uniform vote; a 1–1 tie goes to class 0, as scikit-learn's `mode` picks the smaller
//! label), the rest test it; the score is the test accuracy. 0.5 means indistinguishable;
//! with k = 2 a tie between one real and one synthetic neighbour counts as "real", so two
//! samples of one distribution score below 0.5. Matches `KNeighborsClassifier(n_neighbors=2)`
//! of scikit-learn 1.9 on the fixtures (`scripts/gen_c2st_vectors.py`).

use super::windows::Windows;
use super::FidelityError;

/// The C2ST score and its split.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct C2st {
    /// Test accuracy of the 2-NN classifier real vs synthetic.
    pub accuracy: f64,
    pub n_train: usize,
    pub n_test: usize,
}

fn flatten_fortran(w: &Windows<'_>, i: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(w.t * w.c);
    for ch in 0..w.c {
        for s in 0..w.t {
            v.push(w.value(i, s, ch));
        }
    }
    v
}

/// The C2ST of `real` against `synthetic` (same window shape; at least 5 windows each, so
/// that both the training and the test part of each class are non-empty).
pub fn c2st_knn2(real: &Windows<'_>, synthetic: &Windows<'_>) -> Result<C2st, FidelityError> {
    const METRIC: &str = "the C2ST";
    for (what, w) in [("real", real), ("synthetic", synthetic)] {
        if w.n < 5 {
            return Err(FidelityError::TooFewValues {
                metric: METRIC,
                what,
                found: w.n,
                needed: 5,
            });
        }
    }
    if (real.t, real.c) != (synthetic.t, synthetic.c) {
        return Err(FidelityError::RaggedRows {
            metric: METRIC,
            what: "synthetic",
            row: 0,
            expected: real.t * real.c,
            found: synthetic.t * synthetic.c,
        });
    }
    let split = |n: usize| (4 * n) / 5;
    let (kr, ks) = (split(real.n), split(synthetic.n));
    let mut train: Vec<(Vec<f64>, u8)> = Vec::with_capacity(kr + ks);
    let mut test: Vec<(Vec<f64>, u8)> = Vec::new();
    for (w, label, k) in [(real, 0u8, kr), (synthetic, 1u8, ks)] {
        for i in 0..w.n {
            let x = flatten_fortran(w, i);
            if i < k {
                train.push((x, label));
            } else {
                test.push((x, label));
            }
        }
    }
    let mut correct = 0usize;
    for (x, y) in &test {
        // The two nearest training points (first index wins an exact distance tie).
        let mut best = [(f64::INFINITY, 0u8); 2];
        for (xt, yt) in &train {
            let d = super::squared_distance(x, xt);
            if d < best[0].0 {
                best[1] = best[0];
                best[0] = (d, *yt);
            } else if d < best[1].0 {
                best[1] = (d, *yt);
            }
        }
        let predicted = if best[0].1 == 1 && best[1].1 == 1 {
            1
        } else {
            0
        };
        if predicted == *y {
            correct += 1;
        }
    }
    Ok(C2st {
        accuracy: correct as f64 / test.len() as f64,
        n_train: train.len(),
        n_test: test.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        t: usize,
        c: usize,
        real: Vec<f64>,
        n_real: usize,
        synthetic: Vec<f64>,
        n_synthetic: usize,
        accuracy: f64,
    }

    #[derive(serde::Deserialize)]
    struct Fixture {
        cases: Vec<Case>,
    }

    #[test]
    fn matches_scikit_learn() {
        let f: Fixture =
            serde_json::from_str(include_str!("../../../tests/fixtures/c2st_vectors.json"))
                .unwrap();
        assert_eq!(f.cases.len(), 3);
        for c in &f.cases {
            let r = Windows::new(&c.real, c.n_real, c.t, c.c).unwrap();
            let s = Windows::new(&c.synthetic, c.n_synthetic, c.t, c.c).unwrap();
            let got = c2st_knn2(&r, &s).unwrap();
            // Accuracy is a count over the test set: exact.
            assert_eq!(got.accuracy, c.accuracy, "{}", c.name);
            assert_eq!(
                got.n_test,
                c.n_real - (4 * c.n_real) / 5 + c.n_synthetic - (4 * c.n_synthetic) / 5
            );
        }
    }

    #[test]
    fn separable_sets_score_one_and_bad_input_is_an_error() {
        let a: Vec<f64> = (0..10 * 4 * 2).map(|i| (i % 7) as f64 * 0.01).collect();
        let b: Vec<f64> = a.iter().map(|v| v + 100.0).collect();
        let (ra, rb) = (
            Windows::new(&a, 10, 4, 2).unwrap(),
            Windows::new(&b, 10, 4, 2).unwrap(),
        );
        assert_eq!(c2st_knn2(&ra, &rb).unwrap().accuracy, 1.0);
        let small = Windows::new(&a[..4 * 4 * 2], 4, 4, 2).unwrap();
        assert!(c2st_knn2(&small, &rb).is_err());
        let other = Windows::new(&a[..10 * 8], 10, 8, 1).unwrap();
        assert!(c2st_knn2(&ra, &other).is_err());
    }
}
