//! Precision, recall, density and coverage (Naeem et al. 2020, "Reliable fidelity and
//! diversity metrics for generative models") between real and synthetic records, with
//! Euclidean k-nearest-neighbour balls, computed as the `prdc` package's `compute_prdc` does:
//!
//! - r_i = the distance of real record i to its k-th nearest other real record (the package
//!   takes the (k+1)-th smallest distance of its row, the record itself included);
//!   likewise s_j for the synthetic records among themselves;
//! - precision = share of synthetic records inside at least one real ball, |y_j − x_i| < r_i;
//! - recall = share of real records inside at least one synthetic ball, |x_i − y_j| < s_j;
//! - density = (1/k) · mean over synthetic j of #{i : |y_j − x_i| < r_i} (can exceed 1);
//! - coverage = share of real records whose nearest synthetic record lies inside its ball.
//!
//! Comparisons are strict, as in the package. Precision and density measure fidelity,
//! recall and coverage diversity; for two samples of one distribution precision, recall and
//! coverage are close to 1 and density close to 1. Cost O((n + m)² · d).

use super::{check_rows, squared_distance, FidelityError};

const METRIC: &str = "PRDC";

/// The k of the k-nearest-neighbour balls recommended by Naeem et al.
pub const DEFAULT_PRDC_K: usize = 5;

/// The four PRDC scores.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Prdc {
    pub precision: f64,
    pub recall: f64,
    pub density: f64,
    pub coverage: f64,
}

/// The k-th nearest-neighbour distance of each record within its own set.
fn radii<R: AsRef<[f64]>>(rows: &[R], k: usize) -> Vec<f64> {
    rows.iter()
        .enumerate()
        .map(|(i, a)| {
            let mut d: Vec<f64> = rows
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, b)| squared_distance(a.as_ref(), b.as_ref()))
                .collect();
            let (_, kth, _) = d.select_nth_unstable_by(k - 1, f64::total_cmp);
            kth.sqrt()
        })
        .collect()
}

/// PRDC of `synthetic` against `real` with k-nearest-neighbour balls (see the module docs).
///
/// Errors: k = 0, fewer than k + 1 records in a set, empty or ragged rows (the rows of both
/// sets must have the length of the first real record), or a non-finite value.
pub fn prdc<R: AsRef<[f64]>>(real: &[R], synthetic: &[R], k: usize) -> Result<Prdc, FidelityError> {
    if k == 0 {
        return Err(FidelityError::InvalidParameter {
            metric: METRIC,
            parameter: "k",
            value: "0".into(),
            reason: "the balls need at least one neighbour".into(),
        });
    }
    let d = real.first().map_or(0, |r| r.as_ref().len());
    check_rows(METRIC, "real", real, d, k + 1)?;
    check_rows(METRIC, "synthetic", synthetic, d, k + 1)?;
    let real_r = radii(real, k);
    let synth_r = radii(synthetic, k);
    // dist[i][j] = |x_i − y_j|.
    let dist: Vec<Vec<f64>> = real
        .iter()
        .map(|x| {
            synthetic
                .iter()
                .map(|y| squared_distance(x.as_ref(), y.as_ref()).sqrt())
                .collect()
        })
        .collect();
    let (n, m) = (real.len(), synthetic.len());
    let mut inside_count = vec![0usize; m];
    let mut recalled = 0usize;
    let mut covered = 0usize;
    for (i, row) in dist.iter().enumerate() {
        let mut nearest = f64::INFINITY;
        let mut in_some_synthetic_ball = false;
        for (j, &dij) in row.iter().enumerate() {
            if dij < real_r[i] {
                inside_count[j] += 1;
            }
            if dij < synth_r[j] {
                in_some_synthetic_ball = true;
            }
            nearest = nearest.min(dij);
        }
        recalled += usize::from(in_some_synthetic_ball);
        covered += usize::from(nearest < real_r[i]);
    }
    let precise = inside_count.iter().filter(|&&c| c > 0).count();
    let total_inside: usize = inside_count.iter().sum();
    Ok(Prdc {
        precision: precise as f64 / m as f64,
        recall: recalled as f64 / n as f64,
        density: total_inside as f64 / (k as f64 * m as f64),
        coverage: covered as f64 / n as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture::load_quality;
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        k: usize,
        real: Vec<Vec<f64>>,
        fake: Vec<Vec<f64>>,
        precision: f64,
        recall: f64,
        density: f64,
        coverage: f64,
    }

    /// The scores are counts over finite sets; the fixture's direct numpy transcription of
    /// `prdc.compute_prdc` must be matched exactly, up to the rounding of the final divisions
    /// (1e-15 absolute).
    #[test]
    fn matches_numpy_transcription_of_prdc() {
        let cases: Vec<Case> = serde_json::from_value(load_quality()["prdc"].clone()).unwrap();
        assert_eq!(cases.len(), 3);
        for c in &cases {
            let got = prdc(&c.real, &c.fake, c.k).unwrap();
            let want = [c.precision, c.recall, c.density, c.coverage];
            let have = [got.precision, got.recall, got.density, got.coverage];
            for (name, (a, b)) in ["precision", "recall", "density", "coverage"]
                .iter()
                .zip(have.iter().zip(&want))
            {
                assert!((a - b).abs() < 1e-15, "{}: {name} {a} vs numpy {b}", c.name);
            }
        }
    }

    /// A synthetic set equal to the real one: every synthetic record lies in its own real
    /// ball (distance 0 < r), so precision = recall = coverage = 1; far-away synthetic
    /// records score 0 on all four.
    #[test]
    fn copies_score_one_and_disjoint_sets_score_zero() {
        let real: Vec<Vec<f64>> = (0..12)
            .map(|i| vec![(i as f64 * 0.7).sin(), (i as f64 * 1.3).cos()])
            .collect();
        let same = prdc(&real, &real, 3).unwrap();
        assert_eq!(
            (same.precision, same.recall, same.coverage),
            (1.0, 1.0, 1.0)
        );
        assert!(same.density >= 1.0 / 3.0, "{same:?}");
        let far: Vec<Vec<f64>> = real.iter().map(|r| vec![r[0] + 100.0, r[1]]).collect();
        let none = prdc(&real, &far, 3).unwrap();
        assert_eq!(
            none,
            Prdc {
                precision: 0.0,
                recall: 0.0,
                density: 0.0,
                coverage: 0.0
            }
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let a: Vec<Vec<f64>> = (0..6).map(|i| vec![i as f64, 0.0]).collect();
        assert!(matches!(
            prdc(&a, &a, 0),
            Err(FidelityError::InvalidParameter { .. })
        ));
        assert!(matches!(
            prdc(&a, &a, 6),
            Err(FidelityError::TooFewValues { needed: 7, .. })
        ));
        let mut b = a.clone();
        b[2] = vec![1.0];
        assert!(matches!(
            prdc(&a, &b, 2),
            Err(FidelityError::RaggedRows { row: 2, .. })
        ));
        b[2] = vec![f64::NAN, 0.0];
        assert!(matches!(
            prdc(&a, &b, 2),
            Err(FidelityError::NonFinite { .. })
        ));
    }
}
