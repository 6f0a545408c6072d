//! The Gaussian kernel density estimate with `scipy.stats.gaussian_kde` semantics (unweighted,
//! the default bandwidth): kernel covariance H = f² · C, C the sample covariance of the
//! fitted records (ddof = 1, full matrix), f = Scott's factor n^(−1/(d+4)); the density at x is
//! (1/n) Σ_i N(x; x_i, H). It is evaluated in log space, like scipy's `logpdf`:
//! log p(x) = logsumexp_i(−½ |L⁻¹(x − x_i)|²) − ln n − (d/2) ln 2π − Σ_k ln L_kk, with
//! H = L Lᵀ (Cholesky), so that far-away points give a finite log-density instead of an
//! underflowed 0. It is the density model of the DOMIAS attack ([`super::domias`]).
//!
//! A singular C (a constant or collinear dimension, or no more records than dimensions) has no
//! Gaussian kernel: that is an error ([`LeakageError::SingularCovariance`]), not a silently
//! regularised estimate; a Cholesky pivot below 1e-12 × the largest variance counts as
//! singular. KDE in many dimensions is meaningless: reduce the records first (PCA).
//!
//! May depend on: thiserror (through [`LeakageError`]), fidelity's squared distance. Pure f64
//! maths.

use super::fidelity::squared_distance;
use super::leakage::{check, LeakageError};

/// A pivot of the covariance's Cholesky factorisation at or below this share of the largest
/// variance makes the covariance singular.
const SINGULAR_PIVOT: f64 = 1e-12;

/// A fitted Gaussian KDE (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianKde {
    /// The fitted records, whitened: L⁻¹ x_i.
    whitened: Vec<Vec<f64>>,
    /// The lower Cholesky factor L of the kernel covariance H (row-major d × d).
    chol: Vec<f64>,
    d: usize,
    /// Scott's factor n^(−1/(d+4)).
    factor: f64,
    /// ln n + (d/2) ln 2π + Σ ln L_kk.
    log_norm: f64,
}

/// The lower Cholesky factor of the row-major `d × d` symmetric matrix `a`, or `None` when a
/// pivot is at or below `SINGULAR_PIVOT` × the largest diagonal entry.
fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let largest = (0..d).map(|i| a[i * d + i]).fold(0.0f64, f64::max);
    let mut l = vec![0.0; d * d];
    for j in 0..d {
        let mut pivot = a[j * d + j];
        for k in 0..j {
            pivot -= l[j * d + k] * l[j * d + k];
        }
        if pivot.is_nan() || pivot <= SINGULAR_PIVOT * largest {
            return None;
        }
        let ljj = pivot.sqrt();
        l[j * d + j] = ljj;
        for i in (j + 1)..d {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            l[i * d + j] = s / ljj;
        }
    }
    Some(l)
}

/// Solves L z = x by forward substitution.
fn forward(l: &[f64], d: usize, x: &[f64]) -> Vec<f64> {
    let mut z = vec![0.0; d];
    for i in 0..d {
        let mut s = x[i];
        for k in 0..i {
            s -= l[i * d + k] * z[k];
        }
        z[i] = s / l[i * d + i];
    }
    z
}

impl GaussianKde {
    /// Fits the KDE on `records` (rows of equal length d ≥ 1) in the role `set` (named in
    /// errors, e.g. "the synthetic set").
    ///
    /// Errors: no records, ragged rows, a non-finite value, no more records than dimensions,
    /// or a singular covariance.
    pub fn fit(records: &[Vec<f64>], set: &'static str) -> Result<Self, LeakageError> {
        const WHAT: &str = "the Gaussian KDE";
        check(WHAT, &[(set, records)])?;
        let (n, d) = (records.len(), records[0].len());
        if d == 0 {
            return Err(LeakageError::Ragged {
                what: WHAT,
                set,
                row: 0,
                expected: 1,
                found: 0,
            });
        }
        if n <= d {
            return Err(LeakageError::TooFew {
                what: WHAT,
                set,
                found: n,
                needed: d + 1,
            });
        }
        let mut mean = vec![0.0; d];
        for r in records {
            for (m, x) in mean.iter_mut().zip(r) {
                *m += x / n as f64;
            }
        }
        let mut cov = vec![0.0; d * d];
        for r in records {
            for i in 0..d {
                for j in 0..=i {
                    cov[i * d + j] += (r[i] - mean[i]) * (r[j] - mean[j]);
                }
            }
        }
        let factor = (n as f64).powf(-1.0 / (d as f64 + 4.0));
        for i in 0..d {
            for j in 0..=i {
                let v = cov[i * d + j] / (n - 1) as f64;
                cov[i * d + j] = v;
                cov[j * d + i] = v;
            }
        }
        let data_chol =
            cholesky(&cov, d).ok_or(LeakageError::SingularCovariance { what: WHAT, set })?;
        let chol: Vec<f64> = data_chol.iter().map(|v| v * factor).collect();
        let log_det: f64 = (0..d).map(|k| chol[k * d + k].ln()).sum();
        Ok(Self {
            whitened: records.iter().map(|r| forward(&chol, d, r)).collect(),
            log_norm: (n as f64).ln()
                + 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln()
                + log_det,
            chol,
            d,
            factor,
        })
    }

    /// Scott's factor n^(−1/(d+4)) (scipy's `kde.factor`).
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// The dimension d of the fitted records.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// ln p(x) for each point (scipy's `logpdf`).
    ///
    /// Errors: a point whose length is not d, or a non-finite value (named as `set`).
    pub fn log_density(
        &self,
        points: &[Vec<f64>],
        set: &'static str,
    ) -> Result<Vec<f64>, LeakageError> {
        const WHAT: &str = "the Gaussian KDE";
        for (row, p) in points.iter().enumerate() {
            if p.len() != self.d {
                return Err(LeakageError::Ragged {
                    what: WHAT,
                    set,
                    row,
                    expected: self.d,
                    found: p.len(),
                });
            }
            if p.iter().any(|v| !v.is_finite()) {
                return Err(LeakageError::NonFinite {
                    what: WHAT,
                    set,
                    row,
                });
            }
        }
        let mut exponents = vec![0.0; self.whitened.len()];
        Ok(points
            .iter()
            .map(|p| {
                let z = forward(&self.chol, self.d, p);
                for (e, w) in exponents.iter_mut().zip(&self.whitened) {
                    *e = -0.5 * squared_distance(&z, w);
                }
                log_sum_exp(&exponents) - self.log_norm
            })
            .collect())
    }
}

/// ln Σ exp(v_i), shifted by the maximum so that nothing under- or overflows.
fn log_sum_exp(v: &[f64]) -> f64 {
    let top = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if top == f64::NEG_INFINITY {
        return top;
    }
    top + v.iter().map(|x| (x - top).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct KdeCase {
        synthetic: Vec<Vec<f64>>,
        reference: Vec<Vec<f64>>,
        points: Vec<Vec<f64>>,
        synthetic_factor: f64,
        synthetic_logpdf: Vec<f64>,
        reference_logpdf: Vec<f64>,
    }

    fn load() -> KdeCase {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/quality_vectors.json"))
                .unwrap();
        serde_json::from_value(v["kde"].clone()).unwrap()
    }

    /// scipy whitens with LAPACK's Cholesky and sums in another order: log-densities to 1e-9
    /// relative (the brief's bound; rounding leaves ~1e-14), including a point 6σ out whose
    /// density underflows in linear space. Scott's factor to 1e-15.
    #[test]
    fn matches_scipy_gaussian_kde_logpdf() {
        let c = load();
        let s = GaussianKde::fit(&c.synthetic, "the synthetic set").unwrap();
        let r = GaussianKde::fit(&c.reference, "the reference set").unwrap();
        assert!((s.factor() - c.synthetic_factor).abs() < 1e-15);
        assert_eq!(s.dim(), 3);
        for (kde, want) in [(&s, &c.synthetic_logpdf), (&r, &c.reference_logpdf)] {
            let got = kde.log_density(&c.points, "the points").unwrap();
            for (a, b) in got.iter().zip(want.iter()) {
                assert!((a - b).abs() <= 1e-9 * b.abs(), "{a} vs scipy {b}");
            }
        }
        let far = s.log_density(&c.points[8..], "the points").unwrap()[0];
        assert!(far < -40.0 && far.is_finite(), "{far}");
    }

    /// A constant coordinate or two collinear ones make C singular; n ≤ d records are
    /// refused before that.
    #[test]
    fn singular_or_bad_input_is_an_error() {
        let flat = vec![
            vec![0.0, 1.0],
            vec![1.0, 1.0],
            vec![2.0, 1.0],
            vec![3.0, 1.0],
        ];
        assert!(matches!(
            GaussianKde::fit(&flat, "s"),
            Err(LeakageError::SingularCovariance { .. })
        ));
        let collinear: Vec<Vec<f64>> = (0..5).map(|i| vec![i as f64, 2.0 * i as f64]).collect();
        assert!(matches!(
            GaussianKde::fit(&collinear, "s"),
            Err(LeakageError::SingularCovariance { .. })
        ));
        assert!(matches!(
            GaussianKde::fit(&[vec![0.0, 1.0], vec![1.0, 0.0]], "s"),
            Err(LeakageError::TooFew { needed: 3, .. })
        ));
        assert!(matches!(
            GaussianKde::fit(&[], "s"),
            Err(LeakageError::Empty { .. })
        ));
        let ok = vec![
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            vec![2.0, 2.5],
            vec![0.5, 0.1],
        ];
        let kde = GaussianKde::fit(&ok, "s").unwrap();
        assert!(matches!(
            kde.log_density(&[vec![0.0]], "p"),
            Err(LeakageError::Ragged { .. })
        ));
        assert!(matches!(
            kde.log_density(&[vec![0.0, f64::NAN]], "p"),
            Err(LeakageError::NonFinite { .. })
        ));
    }
}
