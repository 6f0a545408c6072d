//! Principal component analysis of row-major records (e.g. flattened windows), fitted on one
//! set and applied to any set: the projection behind the reference's real-vs-synthetic
//! scatter figure (§7.1), and the dimension reduction that makes the DOMIAS density
//! estimates ([`crate::evaluation::domias`]) meaningful.
//!
//! Exactly what `sklearn.decomposition.PCA(n_components=k)` (1.9, `whiten=False`) computes:
//! - mean μ of the fitting records; covariance C = Σ (x − μ)(x − μ)ᵀ / (n − 1) (ddof = 1);
//! - components = the k eigenvectors of C with the largest eigenvalues
//!   ([`super::eigen`]), each signed like sklearn's `svd_flip(u_based_decision=False)`: the
//!   entry of largest absolute value (the first such entry on a tie) is positive. With this
//!   convention projections match sklearn's sign for sign;
//! - explained variance = those eigenvalues (negative rounding noise clipped to 0);
//!   explained-variance ratio = eigenvalue / total variance, the total being the sum of all
//!   (clipped) eigenvalues, i.e. the trace of C;
//! - `transform(x)` = (x − μ) · componentsᵀ.
//!
//! sklearn obtains the same quantities from an SVD of the centred data when n < 10·d; the
//! mathematics is identical and the numbers agree to rounding (the fixture test bounds it).
//! `n_components` must be in 1..=min(n, d), as in sklearn. Cost: O(n·d²) for C and O(d³) for
//! the eigen-decomposition, a second or so at d = 400.

use super::eigen::symmetric_eigen;
use super::{check_rows, FidelityError};

const METRIC: &str = "the PCA";

/// A fitted PCA (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    /// The mean of the fitting records (length d).
    pub mean: Vec<f64>,
    /// `components[k]` is the k-th principal axis (unit length d), by decreasing variance.
    pub components: Vec<Vec<f64>>,
    /// Variance (ddof = 1) of the fitting records along each component.
    pub explained_variance: Vec<f64>,
    /// `explained_variance / total variance`.
    pub explained_variance_ratio: Vec<f64>,
    /// The number of fitting records.
    pub n_samples: usize,
}

impl Pca {
    /// Fits a PCA with `n_components` components on `records` (n ≥ 2 rows of equal length
    /// d ≥ 1).
    ///
    /// Errors: fewer than 2 records, empty or ragged rows, a non-finite value,
    /// `n_components` outside 1..=min(n, d), or zero total variance (all records equal).
    pub fn fit<R: AsRef<[f64]>>(records: &[R], n_components: usize) -> Result<Self, FidelityError> {
        let d = records.first().map_or(0, |r| r.as_ref().len());
        check_rows(METRIC, "records", records, d, 2)?;
        let n = records.len();
        if n_components == 0 || n_components > n.min(d) {
            return Err(FidelityError::InvalidParameter {
                metric: METRIC,
                parameter: "n_components",
                value: n_components.to_string(),
                reason: format!(
                    "it must be between 1 and min(records, dimensions) = min({n}, {d})"
                ),
            });
        }
        let mut mean = vec![0.0; d];
        for r in records {
            for (m, x) in mean.iter_mut().zip(r.as_ref()) {
                *m += x;
            }
        }
        for m in mean.iter_mut() {
            *m /= n as f64;
        }
        // Upper triangle of Σ (x − μ)(x − μ)ᵀ, then mirrored.
        let mut cov = vec![0.0; d * d];
        let mut centred = vec![0.0; d];
        for r in records {
            for ((c, x), m) in centred.iter_mut().zip(r.as_ref()).zip(&mean) {
                *c = x - m;
            }
            for i in 0..d {
                let ci = centred[i];
                if ci == 0.0 {
                    continue;
                }
                let row = &mut cov[i * d..(i + 1) * d];
                for j in i..d {
                    row[j] += ci * centred[j];
                }
            }
        }
        let denominator = (n - 1) as f64;
        for i in 0..d {
            for j in i..d {
                let v = cov[i * d + j] / denominator;
                cov[i * d + j] = v;
                cov[j * d + i] = v;
            }
        }
        let eig = symmetric_eigen(&cov, d)?;
        let variances: Vec<f64> = eig.values.iter().map(|&l| l.max(0.0)).collect();
        let total: f64 = variances.iter().sum();
        if total <= 0.0 {
            return Err(FidelityError::Degenerate {
                metric: METRIC,
                reason: "the records have zero total variance (all records are equal)",
            });
        }
        let components = eig
            .vectors
            .into_iter()
            .take(n_components)
            .map(flip_sign)
            .collect();
        let explained_variance: Vec<f64> = variances[..n_components].to_vec();
        Ok(Self {
            mean,
            components,
            explained_variance_ratio: explained_variance.iter().map(|v| v / total).collect(),
            explained_variance,
            n_samples: n,
        })
    }

    /// The number of components k.
    pub fn n_components(&self) -> usize {
        self.components.len()
    }

    /// The projection of each record onto the components: `n × k` rows.
    ///
    /// Errors: a row whose length is not the fitted dimension, or a non-finite value. An
    /// empty set projects to an empty set.
    pub fn transform<R: AsRef<[f64]>>(
        &self,
        records: &[R],
    ) -> Result<Vec<Vec<f64>>, FidelityError> {
        check_rows(METRIC, "records to project", records, self.mean.len(), 0)?;
        Ok(records
            .iter()
            .map(|r| {
                let centred: Vec<f64> = r
                    .as_ref()
                    .iter()
                    .zip(&self.mean)
                    .map(|(x, m)| x - m)
                    .collect();
                self.components
                    .iter()
                    .map(|c| c.iter().zip(&centred).map(|(a, b)| a * b).sum())
                    .collect()
            })
            .collect())
    }
}

/// sklearn's `svd_flip(u_based_decision=False)` on one component: make the entry of largest
/// absolute value (the first on a tie, like `argmax`) positive.
fn flip_sign(mut v: Vec<f64>) -> Vec<f64> {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if x.abs() > v[best].abs() {
            best = i;
        }
    }
    if v[best] < 0.0 {
        for x in v.iter_mut() {
            *x = -*x;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{close, load_quality};
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        n_components: usize,
        x: Vec<Vec<f64>>,
        y: Vec<Vec<f64>>,
        mean: Vec<f64>,
        components: Vec<Vec<f64>>,
        explained_variance: Vec<f64>,
        explained_variance_ratio: Vec<f64>,
        x_transformed: Vec<Vec<f64>>,
        y_transformed: Vec<Vec<f64>>,
    }

    /// sklearn uses LAPACK (an SVD of the centred data or `eigh` of C) and we use tred2/tql2,
    /// so agreement is to rounding amplified by the eigen-gaps: variances and ratios to
    /// 1e-10 relative, component entries and projections to 1e-9 (relative to the largest
    /// entry of the row). Signs must agree exactly (a flipped component would be off by 2).
    #[test]
    fn matches_sklearn_pca() {
        let cases: Vec<Case> = serde_json::from_value(load_quality()["pca"].clone()).unwrap();
        assert_eq!(cases.len(), 3);
        for c in &cases {
            let p = Pca::fit(&c.x, c.n_components).unwrap();
            assert_eq!(p.n_components(), c.n_components);
            for (a, b) in p.mean.iter().zip(&c.mean) {
                assert!(close(*a, *b, 1e-13, 1e-14), "{}: mean {a} vs {b}", c.name);
            }
            for (k, (a, b)) in p
                .explained_variance
                .iter()
                .zip(&c.explained_variance)
                .enumerate()
            {
                assert!(
                    close(*a, *b, 1e-10, 0.0),
                    "{}: variance {k}: {a} vs {b}",
                    c.name
                );
            }
            for (a, b) in p
                .explained_variance_ratio
                .iter()
                .zip(&c.explained_variance_ratio)
            {
                assert!(close(*a, *b, 1e-10, 0.0), "{}: ratio {a} vs {b}", c.name);
            }
            let rows_close = |got: &[Vec<f64>], want: &[Vec<f64>], what: &str| {
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(want) {
                    let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    for (a, b) in g.iter().zip(w) {
                        assert!(
                            (a - b).abs() <= 1e-9 * scale,
                            "{}: {what}: {a} vs sklearn {b}",
                            c.name
                        );
                    }
                }
            };
            rows_close(&p.components, &c.components, "component");
            rows_close(
                &p.transform(&c.x).unwrap(),
                &c.x_transformed,
                "transform(x)",
            );
            rows_close(
                &p.transform(&c.y).unwrap(),
                &c.y_transformed,
                "transform(y)",
            );
        }
    }

    /// Points on the line y = 2x (plus a tiny orthogonal wiggle): the first component is
    /// (1, 2)/√5 with the positive sign, it carries almost all the variance, and the
    /// projections are the signed distances along the line from the mean.
    #[test]
    fn a_line_has_one_dominant_component() {
        let x: Vec<Vec<f64>> = (0..11)
            .map(|i| {
                let t = i as f64 - 5.0;
                let wiggle = if i % 2 == 0 { 1e-3 } else { -1e-3 };
                vec![t - 2.0 * wiggle, 2.0 * t + wiggle]
            })
            .collect();
        let p = Pca::fit(&x, 2).unwrap();
        let s5 = 5f64.sqrt();
        assert!(
            (p.components[0][0] - 1.0 / s5).abs() < 1e-6,
            "{:?}",
            p.components
        );
        assert!(
            (p.components[0][1] - 2.0 / s5).abs() < 1e-6,
            "{:?}",
            p.components
        );
        assert!(p.explained_variance_ratio[0] > 0.999_999);
        let sum: f64 = p.explained_variance_ratio.iter().sum();
        assert!((sum - 1.0).abs() < 1e-12);
        let z = p.transform(&[vec![1.0, 2.0]]).unwrap();
        assert!((z[0][0] - s5).abs() < 1e-5, "{z:?}");
        // Empty input projects to nothing.
        assert!(p.transform::<Vec<f64>>(&[]).unwrap().is_empty());
    }

    #[test]
    fn bad_input_is_an_error() {
        let x = vec![vec![0.0, 1.0], vec![1.0, 0.0], vec![2.0, 2.0]];
        assert!(matches!(
            Pca::fit(&x, 3),
            Err(FidelityError::InvalidParameter { .. })
        ));
        assert!(matches!(
            Pca::fit(&x, 0),
            Err(FidelityError::InvalidParameter { .. })
        ));
        assert!(matches!(
            Pca::fit(&x[..1], 1),
            Err(FidelityError::TooFewValues { .. })
        ));
        assert!(matches!(
            Pca::fit(&[vec![1.0, 1.0], vec![1.0, 1.0]], 1),
            Err(FidelityError::Degenerate { .. })
        ));
        let p = Pca::fit(&x, 1).unwrap();
        assert!(matches!(
            p.transform(&[vec![1.0]]),
            Err(FidelityError::RaggedRows { .. })
        ));
        assert!(matches!(
            p.transform(&[vec![1.0, f64::INFINITY]]),
            Err(FidelityError::NonFinite { index: 1, .. })
        ));
    }
}
