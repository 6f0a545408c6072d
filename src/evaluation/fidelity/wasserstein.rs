//! The 1-Wasserstein (earth mover's) distance between two 1-D empirical distributions,
//! computed like `scipy.stats.wasserstein_distance(x, y)` (unweighted): with the pooled
//! values sorted, W = Σ_k |F_x(z_k) − F_y(z_k)| · (z_{k+1} − z_k), where F is the empirical CDF
//! (`searchsorted(side='right') / n`).
use super::{check_sample, count_le, sorted, FidelityError};

const METRIC: &str = "the Wasserstein distance";

/// `scipy.stats.wasserstein_distance(x, y)` for unweighted samples.
///
/// Errors: an empty sample or a non-finite value.
pub fn wasserstein_distance(x: &[f64], y: &[f64]) -> Result<f64, FidelityError> {
    check_sample(METRIC, "x", x, 1)?;
    check_sample(METRIC, "y", y, 1)?;
    let xs = sorted(x);
    let ys = sorted(y);
    let mut all: Vec<f64> = xs.iter().chain(ys.iter()).copied().collect();
    all.sort_by(f64::total_cmp);
    let (n, m) = (xs.len() as f64, ys.len() as f64);
    let mut total = 0.0;
    for w in all.windows(2) {
        let delta = w[1] - w[0];
        if delta == 0.0 {
            continue;
        }
        let fx = count_le(&xs, w[0]) as f64 / n;
        let fy = count_le(&ys, w[0]) as f64 / m;
        total += (fx - fy).abs() * delta;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{close, load};
    use super::*;

    /// scipy sums with numpy's dot product (a different summation order), so the match is to
    /// rounding, not bit for bit: 1e-12 relative (plus 1e-15 absolute for W = 0).
    #[test]
    fn matches_scipy_wasserstein_distance() {
        for case in load().one_d {
            let w = wasserstein_distance(&case.x, &case.y).unwrap();
            assert!(
                close(w, case.wasserstein, 1e-12, 1e-15),
                "{}: {w} vs scipy {}",
                case.name,
                case.wasserstein
            );
        }
    }

    #[test]
    fn identical_samples_and_shift() {
        let x = [0.3, -1.2, 2.5, 0.0, 0.7];
        assert_eq!(wasserstein_distance(&x, &x).unwrap(), 0.0);
        // Shifting every value by c moves the distribution by exactly c.
        let y: Vec<f64> = x.iter().map(|v| v + 2.0).collect();
        assert!((wasserstein_distance(&x, &y).unwrap() - 2.0).abs() < 1e-12);
        // Symmetric.
        let z = [1.0, 5.0];
        assert_eq!(
            wasserstein_distance(&x, &z).unwrap(),
            wasserstein_distance(&z, &x).unwrap()
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            wasserstein_distance(&[], &[1.0]),
            Err(FidelityError::TooFewValues { what: "x", .. })
        ));
        assert!(matches!(
            wasserstein_distance(&[1.0], &[f64::NAN]),
            Err(FidelityError::NonFinite {
                what: "y",
                index: 0,
                ..
            })
        ));
    }
}
