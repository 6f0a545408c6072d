//! Maximum mean discrepancy between two multivariate samples (rows of equal length).
//!
//! Exactly:
//! - Bandwidth (median heuristic): h = the median of the Euclidean distances |z_i − z_j| over
//!   all pairs i < j of the pooled sample Z = [X; Y] (mean of the two middle values for an
//!   even number of pairs, like `numpy.median`). A median of 0 is an error
//!   ([`FidelityError::ZeroBandwidth`]), not a silently degenerate kernel.
//! - Kernel: k(a, b) = exp(−|a − b|² / (2 h²)).
//! - Unbiased MMD² (Gretton et al. 2012, eq. 3), m = |X| ≥ 2, n = |Y| ≥ 2:
//!   Σ_{i≠j} k(x_i, x_j) / (m(m−1)) + Σ_{i≠j} k(y_i, y_j) / (n(n−1)) − 2 Σ_{i,j} k(x_i, y_j) / (mn).
//!   It can be slightly negative when the distributions agree.
//! - Permutation test: the bandwidth and kernel matrix of the pooled sample are fixed (the
//!   median of the pooled sample does not depend on the split); each of B permutations
//!   shuffles the pooled indices with the given [`ChaCha20Rng`] (Fisher–Yates,
//!   `rand::seq::SliceRandom::shuffle`), takes the first m as X, and recomputes MMD².
//!   p = (1 + #{permuted MMD² ≥ observed}) / (1 + B).
//!
//! Cost: the pooled (m+n)² kernel matrix is held in memory, and each permutation is
//! O((m+n)²); meant for the few hundred to few thousand windows of a fidelity check.
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;

use super::FidelityError;

const METRIC: &str = "the MMD";

/// The result of [`mmd2_permutation_test`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MmdTest {
    /// The observed unbiased MMD².
    pub mmd2: f64,
    /// The median-heuristic bandwidth h used by the kernel.
    pub bandwidth: f64,
    /// (1 + #{permuted MMD² ≥ observed}) / (1 + permutations).
    pub pvalue: f64,
    /// The number of permutations B.
    pub permutations: usize,
}

/// The median-heuristic bandwidth of the pooled sample (see the module docs).
///
/// Errors: fewer than 2 rows in a sample, rows of length 0 or of unequal length, a non-finite
/// value, or a median distance of 0.
pub fn median_bandwidth<R: AsRef<[f64]>>(x: &[R], y: &[R]) -> Result<f64, FidelityError> {
    Ok(Pooled::new(x, y)?.bandwidth)
}

/// The unbiased MMD² with the median-heuristic RBF kernel (see the module docs).
///
/// Errors: as [`median_bandwidth`].
pub fn mmd2_unbiased<R: AsRef<[f64]>>(x: &[R], y: &[R]) -> Result<f64, FidelityError> {
    let pooled = Pooled::new(x, y)?;
    let order: Vec<usize> = (0..pooled.size).collect();
    Ok(pooled.mmd2(&order, x.len()))
}

/// The unbiased MMD² and its permutation p-value with `permutations` shuffles drawn from
/// `rng` (see the module docs). `permutations = 0` gives p = 1.
///
/// Errors: as [`median_bandwidth`].
pub fn mmd2_permutation_test<R: AsRef<[f64]>>(
    x: &[R],
    y: &[R],
    permutations: usize,
    rng: &mut ChaCha20Rng,
) -> Result<MmdTest, FidelityError> {
    let pooled = Pooled::new(x, y)?;
    let m = x.len();
    let mut order: Vec<usize> = (0..pooled.size).collect();
    let observed = pooled.mmd2(&order, m);
    let mut at_least = 0usize;
    for _ in 0..permutations {
        order.shuffle(rng);
        if pooled.mmd2(&order, m) >= observed {
            at_least += 1;
        }
    }
    Ok(MmdTest {
        mmd2: observed,
        bandwidth: pooled.bandwidth,
        pvalue: (1 + at_least) as f64 / (1 + permutations) as f64,
        permutations,
    })
}

/// The pooled kernel matrix.
struct Pooled {
    size: usize,
    bandwidth: f64,
    /// Row-major `size × size` kernel values.
    kernel: Vec<f64>,
}

impl Pooled {
    fn new<R: AsRef<[f64]>>(x: &[R], y: &[R]) -> Result<Self, FidelityError> {
        let dim = x.first().map_or(0, |r| r.as_ref().len());
        super::check_rows(METRIC, "x", x, dim, 2)?;
        super::check_rows(METRIC, "y", y, dim, 2)?;
        if dim == 0 {
            return Err(FidelityError::EmptyRows { metric: METRIC });
        }
        let rows: Vec<&[f64]> = x.iter().chain(y.iter()).map(|r| r.as_ref()).collect();
        let size = rows.len();
        let mut sq = vec![0.0; size * size];
        let mut dists = Vec::with_capacity(size * (size - 1) / 2);
        for i in 0..size {
            for j in (i + 1)..size {
                let d2 = super::squared_distance(rows[i], rows[j]);
                sq[i * size + j] = d2;
                sq[j * size + i] = d2;
                dists.push(d2.sqrt());
            }
        }
        dists.sort_by(f64::total_cmp);
        let mid = dists.len() / 2;
        let bandwidth = if dists.len() % 2 == 1 {
            dists[mid]
        } else {
            (dists[mid - 1] + dists[mid]) / 2.0
        };
        if bandwidth <= 0.0 || !bandwidth.is_finite() {
            return Err(FidelityError::ZeroBandwidth { metric: METRIC });
        }
        let scale = 2.0 * bandwidth * bandwidth;
        let kernel = sq.into_iter().map(|d2| (-d2 / scale).exp()).collect();
        Ok(Self {
            size,
            bandwidth,
            kernel,
        })
    }

    /// Unbiased MMD² with `order[..m]` as X and `order[m..]` as Y.
    fn mmd2(&self, order: &[usize], m: usize) -> f64 {
        let n = self.size - m;
        let k = |a: usize, b: usize| self.kernel[a * self.size + b];
        let (xs, ys) = order.split_at(m);
        let within = |idx: &[usize]| -> f64 {
            let mut s = 0.0;
            for (p, &a) in idx.iter().enumerate() {
                for (q, &b) in idx.iter().enumerate() {
                    if p != q {
                        s += k(a, b);
                    }
                }
            }
            s
        };
        let mut sxy = 0.0;
        for &a in xs {
            for &b in ys {
                sxy += k(a, b);
            }
        }
        let (mf, nf) = (m as f64, n as f64);
        within(xs) / (mf * (mf - 1.0)) + within(ys) / (nf * (nf - 1.0)) - 2.0 * sxy / (mf * nf)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{close, load};
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The fixture is a direct numpy evaluation of the same formula; only the summation order
    /// differs. The three terms are O(1) and MMD² can be small, so the bound is absolute:
    /// 1e-13 (plus 1e-12 relative). The bandwidth is a sqrt of the same sums: 1e-14 relative.
    #[test]
    fn matches_numpy_reference() {
        for case in load().mmd {
            let h = median_bandwidth(&case.x, &case.y).unwrap();
            assert!(
                close(h, case.bandwidth, 1e-14, 0.0),
                "{}: h {h} vs {}",
                case.name,
                case.bandwidth
            );
            let v = mmd2_unbiased(&case.x, &case.y).unwrap();
            assert!(
                close(v, case.mmd2, 1e-12, 1e-13),
                "{}: MMD² {v} vs numpy {}",
                case.name,
                case.mmd2
            );
        }
    }

    fn normal_rows(rng: &mut ChaCha20Rng, n: usize, d: usize, shift: f64) -> Vec<Vec<f64>> {
        // Box–Muller from the explicit ChaCha stream.
        (0..n)
            .map(|_| {
                (0..d)
                    .map(|_| {
                        let u1: f64 = 1.0 - rng.random::<f64>();
                        let u2: f64 = rng.random();
                        shift + (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn identical_samples_give_mmd2_near_zero() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let x = normal_rows(&mut rng, 30, 2, 0.0);
        let v = mmd2_unbiased(&x, &x).unwrap();
        // With X = Y (m rows) and S = Σ_{i≠j} k(x_i, x_j) ≤ m(m−1), the estimate is
        // 2/m · (S/(m(m−1)) − 1): never positive and at least −2/m.
        let m = x.len() as f64;
        assert!(v <= 0.0 && v >= -2.0 / m, "{v}");
    }

    #[test]
    fn permutation_pvalue_same_vs_shifted() {
        let mut data = ChaCha20Rng::seed_from_u64(11);
        let x = normal_rows(&mut data, 40, 3, 0.0);
        let y_same = normal_rows(&mut data, 35, 3, 0.0);
        let y_shift = normal_rows(&mut data, 35, 3, 2.0);
        let b = 199;
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        let same = mmd2_permutation_test(&x, &y_same, b, &mut rng).unwrap();
        assert!(same.pvalue > 0.05, "same distribution: p = {}", same.pvalue);
        let shifted = mmd2_permutation_test(&x, &y_shift, b, &mut rng).unwrap();
        assert_eq!(shifted.pvalue, 1.0 / (1.0 + b as f64));
        assert!(shifted.mmd2 > 0.1);
    }

    #[test]
    fn permutation_test_is_deterministic_for_a_seed() {
        let mut data = ChaCha20Rng::seed_from_u64(3);
        let x = normal_rows(&mut data, 12, 2, 0.0);
        let y = normal_rows(&mut data, 9, 2, 0.3);
        let a = mmd2_permutation_test(&x, &y, 99, &mut ChaCha20Rng::seed_from_u64(5)).unwrap();
        let b = mmd2_permutation_test(&x, &y, 99, &mut ChaCha20Rng::seed_from_u64(5)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.mmd2, mmd2_unbiased(&x, &y).unwrap());
        let none = mmd2_permutation_test(&x, &y, 0, &mut ChaCha20Rng::seed_from_u64(5)).unwrap();
        assert_eq!(none.pvalue, 1.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        let ok = vec![vec![0.0, 1.0], vec![1.0, 0.0]];
        assert!(matches!(
            mmd2_unbiased(&ok, &[vec![0.0, 1.0]]),
            Err(FidelityError::TooFewValues {
                what: "y",
                found: 1,
                needed: 2,
                ..
            })
        ));
        assert!(matches!(
            mmd2_unbiased(&ok, &[vec![0.0, 1.0], vec![2.0]]),
            Err(FidelityError::RaggedRows {
                what: "y",
                row: 1,
                expected: 2,
                found: 1,
                ..
            })
        ));
        assert!(matches!(
            mmd2_unbiased(&ok, &[vec![0.0, 1.0], vec![f64::NAN, 0.0]]),
            Err(FidelityError::NonFinite {
                what: "y",
                index: 2,
                ..
            })
        ));
        let empty: Vec<Vec<f64>> = vec![vec![], vec![]];
        assert!(matches!(
            mmd2_unbiased(&empty, &empty),
            Err(FidelityError::EmptyRows { .. })
        ));
        let same = vec![vec![1.0], vec![1.0]];
        assert!(matches!(
            mmd2_unbiased(&same, &same),
            Err(FidelityError::ZeroBandwidth { .. })
        ));
    }
}
