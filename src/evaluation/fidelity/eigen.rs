//! The eigen-decomposition of a real symmetric matrix: Householder reduction to tridiagonal
//! form followed by the implicit QL algorithm with Wilkinson-type shifts (the EISPACK
//! `tred2`/`tql2` pair, in the form of the public-domain JAMA library). O(d³), stable, and
//! exact to rounding for the few-hundred-dimensional covariance matrices of [`super::pca`].
//!
//! Pure f64 arithmetic; used by [`super::pca`].

use super::FidelityError;

const METRIC: &str = "the symmetric eigen-decomposition";

/// Iterations of the QL step allowed per eigenvalue (it typically needs 1 to 3).
const MAX_ITERATIONS_PER_VALUE: usize = 60;

/// Eigenvalues in descending order and their unit eigenvectors.
#[derive(Clone, Debug, PartialEq)]
pub struct SymmetricEigen {
    /// Eigenvalues, largest first.
    pub values: Vec<f64>,
    /// `vectors[k]` is the unit eigenvector of `values[k]` (its sign is whatever the
    /// algorithm produced; callers normalise it).
    pub vectors: Vec<Vec<f64>>,
}

/// The eigen-decomposition of the `n × n` symmetric matrix `a` (row-major; only symmetric
/// input is meaningful, the lower triangle is what the algorithm reads).
///
/// Errors: `a.len() != n²`, `n = 0`, a non-finite entry, or (never seen in practice) the QL
/// iteration not converging.
pub fn symmetric_eigen(a: &[f64], n: usize) -> Result<SymmetricEigen, FidelityError> {
    if n == 0 {
        return Err(FidelityError::EmptyRows { metric: METRIC });
    }
    if a.len() != n * n {
        return Err(FidelityError::InvalidParameter {
            metric: METRIC,
            parameter: "the matrix length",
            value: a.len().to_string(),
            reason: format!("a {n} × {n} matrix has {} entries", n * n),
        });
    }
    if let Some((index, &value)) = a.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(FidelityError::NonFinite {
            metric: METRIC,
            what: "matrix",
            index,
            value,
        });
    }
    let mut v = a.to_vec();
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    tred2(&mut v, &mut d, &mut e, n);
    tql2(&mut v, &mut d, &mut e, n)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| d[j].total_cmp(&d[i]));
    Ok(SymmetricEigen {
        values: order.iter().map(|&k| d[k]).collect(),
        vectors: order
            .iter()
            .map(|&k| (0..n).map(|row| v[row * n + k]).collect())
            .collect(),
    })
}

/// Householder reduction to tridiagonal form: on return `v` holds the orthogonal transform,
/// `d` the diagonal and `e[1..]` the subdiagonal.
fn tred2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    let at = |r: usize, c: usize| r * n + c;
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
    }
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
                v[at(j, i)] = 0.0;
            }
        } else {
            for x in d[..i].iter_mut() {
                *x /= scale;
                h += *x * *x;
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for x in e[..i].iter_mut() {
                *x = 0.0;
            }
            for j in 0..i {
                f = d[j];
                v[at(j, i)] = f;
                g = e[j] + v[at(j, j)] * f;
                for k in (j + 1)..i {
                    g += v[at(k, j)] * d[k];
                    e[k] += v[at(k, j)] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[at(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate the transformations.
    for i in 0..n.saturating_sub(1) {
        v[at(n - 1, i)] = v[at(i, i)];
        v[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[at(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[at(k, i + 1)] * v[at(k, j)];
                }
                for k in 0..=i {
                    v[at(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[at(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
        v[at(n - 1, j)] = 0.0;
    }
    v[at(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL iterations on the tridiagonal matrix (`d`, `e`), accumulating into `v`.
fn tql2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) -> Result<(), FidelityError> {
    let at = |r: usize, c: usize| r * n + c;
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        // Find a small subdiagonal element (e[n-1] = 0 ends the search).
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        if m > l {
            let mut iterations = 0;
            loop {
                iterations += 1;
                if iterations > MAX_ITERATIONS_PER_VALUE {
                    return Err(FidelityError::NoConvergence {
                        metric: METRIC,
                        what: "the implicit QL iteration",
                        iterations: MAX_ITERATIONS_PER_VALUE,
                    });
                }
                // The implicit shift.
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for x in d[(l + 2)..n].iter_mut() {
                    *x -= h;
                }
                f += h;
                // The implicit QL transformation.
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for k in 0..n {
                        h = v[at(k, i + 1)];
                        v[at(k, i + 1)] = s * v[at(k, i)] + c * h;
                        v[at(k, i)] = c * v[at(k, i)] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random_symmetric(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let x = rng.random::<f64>() * 2.0 - 1.0;
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        a
    }

    /// max_k |A v_k − λ_k v_k| and max_{k,l} |v_k·v_l − δ_kl|.
    fn residuals(a: &[f64], n: usize, eig: &SymmetricEigen) -> (f64, f64) {
        let mut worst_eq: f64 = 0.0;
        let mut worst_orth: f64 = 0.0;
        for (k, (lambda, vk)) in eig.values.iter().zip(&eig.vectors).enumerate() {
            for i in 0..n {
                let av: f64 = (0..n).map(|j| a[i * n + j] * vk[j]).sum();
                worst_eq = worst_eq.max((av - lambda * vk[i]).abs());
            }
            for (l, vl) in eig.vectors.iter().enumerate() {
                let dot: f64 = vk.iter().zip(vl).map(|(x, y)| x * y).sum();
                let want = if k == l { 1.0 } else { 0.0 };
                worst_orth = worst_orth.max((dot - want).abs());
            }
        }
        (worst_eq, worst_orth)
    }

    /// A random symmetric matrix of the PCA's size range: A v = λ v to 1e-11 (entries are
    /// O(1), so |A| ≈ √n·0.6; rounding of O(n³) flops leaves ~1e-13), orthonormal to 1e-12,
    /// eigenvalues descending, and their sum equal to the trace.
    #[test]
    fn random_matrices_are_decomposed() {
        for (n, seed) in [(1, 1), (2, 2), (7, 3), (60, 4), (200, 5)] {
            let a = random_symmetric(n, seed);
            let eig = symmetric_eigen(&a, n).unwrap();
            let (eq, orth) = residuals(&a, n, &eig);
            assert!(eq < 1e-11, "n = {n}: |Av - λv| = {eq}");
            assert!(orth < 1e-12, "n = {n}: orthonormality off by {orth}");
            assert!(eig.values.windows(2).all(|w| w[0] >= w[1]));
            let trace: f64 = (0..n).map(|i| a[i * n + i]).sum();
            let sum: f64 = eig.values.iter().sum();
            assert!((trace - sum).abs() < 1e-11 * n as f64, "n = {n}");
        }
    }

    /// Known spectra: a diagonal matrix, a repeated eigenvalue, the zero matrix, and the
    /// 2 × 2 matrix [[2, 1], [1, 2]] (eigenvalues 3 and 1, vectors (1, ±1)/√2).
    #[test]
    fn known_spectra() {
        let eig = symmetric_eigen(&[1.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, -2.0], 3).unwrap();
        assert_eq!(eig.values, vec![5.0, 1.0, -2.0]);
        assert_eq!(eig.vectors[0].iter().map(|x| x.abs()).sum::<f64>(), 1.0);
        let id: Vec<f64> = (0..16)
            .map(|i| if i % 5 == 0 { 4.0 } else { 0.0 })
            .collect();
        let eig = symmetric_eigen(&id, 4).unwrap();
        assert!(eig.values.iter().all(|&l| (l - 4.0).abs() < 1e-15));
        let (_, orth) = residuals(&id, 4, &eig);
        assert!(orth < 1e-15);
        let eig = symmetric_eigen(&[0.0; 9], 3).unwrap();
        assert!(eig.values.iter().all(|&l| l == 0.0));
        let eig = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2).unwrap();
        assert!((eig.values[0] - 3.0).abs() < 1e-15 && (eig.values[1] - 1.0).abs() < 1e-15);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((eig.vectors[0][0].abs() - h).abs() < 1e-15);
        assert!((eig.vectors[0][0] - eig.vectors[0][1]).abs() < 1e-15);
        assert!((eig.vectors[1][0] + eig.vectors[1][1]).abs() < 1e-15);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            symmetric_eigen(&[], 0),
            Err(FidelityError::EmptyRows { .. })
        ));
        assert!(matches!(
            symmetric_eigen(&[1.0, 2.0, 3.0], 2),
            Err(FidelityError::InvalidParameter { .. })
        ));
        assert!(matches!(
            symmetric_eigen(&[1.0, f64::NAN, f64::NAN, 1.0], 2),
            Err(FidelityError::NonFinite { index: 1, .. })
        ));
    }
}
