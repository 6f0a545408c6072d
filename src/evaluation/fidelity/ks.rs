//! The two-sample Kolmogorov–Smirnov test, two-sided, as `scipy.stats.ks_2samp(x, y)` computes
//! it with its defaults (`alternative='two-sided'`, `method='auto'`; checked against scipy
//! 1.17.1).
//!
//! - Statistic: D = max_z |F_x(z) − F_y(z)| over the pooled values, with the empirical CDFs
//!   taken as `searchsorted(side='right') / n` (so ties are handled as scipy does).
//! - p-value, `max(n, m) <= 10000` (scipy's `MAX_AUTO_N`; ties do not change the choice in
//!   scipy 1.17): scipy's *exact* method, ported step for step. D is first snapped to the
//!   lattice, h = round_half_even(D · lcm(n, m)), D = h / lcm. For n = m the probability comes
//!   from `_compute_prob_outside_square` (Horner-like sum of binomial ratios); otherwise from
//!   `_compute_outer_prob_inside_method` (Hodges' inside method, computing 1 − p with
//!   Viehmann's recursion). When scipy's exact attempt would fail (a probability outside
//!   [0, 1]) we fall back to the asymptotic branch, as scipy does.
//! - p-value, `max(n, m) > 10000`: **not scipy's number.** scipy evaluates the finite-n
//!   one-sample distribution `kstwo.sf(D, round(n m / (n + m)))`; we use the limiting
//!   Kolmogorov distribution `Q_KS(sqrt(n m / (n + m)) · D)` instead, which agrees only
//!   asymptotically (differences of order 1/sqrt(en)). [`KsResult::method`] says which was used.
use super::{check_sample, count_le, sorted, FidelityError};

const METRIC: &str = "the Kolmogorov-Smirnov test";

/// scipy's `MAX_AUTO_N`: `method='auto'` uses the exact distribution up to this sample size.
pub const MAX_EXACT_N: usize = 10_000;

/// How the p-value of [`ks_2samp`] was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KsMethod {
    /// scipy's exact two-sided distribution (matches `ks_2samp` to rounding).
    Exact,
    /// The limiting Kolmogorov distribution at sqrt(en)·D, en = n m / (n + m); an
    /// approximation of scipy's `method='asymp'` (which uses `kstwo.sf(D, round(en))`).
    AsympKolmogorovLimit,
}

/// The result of [`ks_2samp`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct KsResult {
    /// D, the largest absolute difference of the two empirical CDFs (for the exact method,
    /// snapped to a multiple of 1 / lcm(n, m), like scipy).
    pub statistic: f64,
    /// Two-sided p-value, clipped to [0, 1].
    pub pvalue: f64,
    /// Which distribution gave `pvalue`.
    pub method: KsMethod,
}

/// Two-sided two-sample KS test; see the module docs for exactly which scipy computation it
/// reproduces.
///
/// Errors: an empty sample or a non-finite value.
pub fn ks_2samp(x: &[f64], y: &[f64]) -> Result<KsResult, FidelityError> {
    check_sample(METRIC, "x", x, 1)?;
    check_sample(METRIC, "y", y, 1)?;
    let xs = sorted(x);
    let ys = sorted(y);
    let (n1, n2) = (xs.len(), ys.len());
    let (f1, f2) = (n1 as f64, n2 as f64);
    let mut max_s = f64::NEG_INFINITY;
    let mut min_diff = f64::INFINITY;
    for &z in xs.iter().chain(ys.iter()) {
        let diff = count_le(&xs, z) as f64 / f1 - count_le(&ys, z) as f64 / f2;
        max_s = max_s.max(diff);
        min_diff = min_diff.min(diff);
    }
    let min_s = (-min_diff).clamp(0.0, 1.0);
    let mut d = if min_s > max_s { min_s } else { max_s };

    if n1.max(n2) <= MAX_EXACT_N {
        let (snapped, prob) = exact_two_sided(n1 as u64, n2 as u64, d);
        d = snapped;
        if let Some(p) = prob {
            return Ok(KsResult {
                statistic: d,
                pvalue: p.clamp(0.0, 1.0),
                method: KsMethod::Exact,
            });
        }
    }
    let en = f1 * f2 / (f1 + f2);
    Ok(KsResult {
        statistic: d,
        pvalue: kolmogorov_sf(en.sqrt() * d).clamp(0.0, 1.0),
        method: KsMethod::AsympKolmogorovLimit,
    })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `_attempt_exact_2kssamp` for the two-sided alternative: returns the snapped D and
/// the probability, or `None` where scipy would report an unsuccessful exact attempt.
fn exact_two_sided(n1: u64, n2: u64, d: f64) -> (f64, Option<f64>) {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even() as i64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return (d, Some(1.0));
    }
    let prob = if n1 == n2 {
        Some(prob_outside_square(n1 as i64, h))
    } else {
        outer_prob_inside(n1 as i64, n2 as i64, g as i64, h)
    };
    match prob {
        Some(p) if (0.0..=1.0).contains(&p) => (d, Some(p)),
        _ => (d, None),
    }
}

/// scipy `_compute_prob_outside_square(n, h)`: Pr(D_{n,n} >= h/n).
fn prob_outside_square(n: i64, h: i64) -> f64 {
    let mut p = 0.0;
    let mut k = n / h;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// scipy `_compute_outer_prob_inside_method(m, n, g, h)` (from `_stats_pythran.py`): the
/// proportion of lattice paths from (0, 0) to (m, n) that leave |x/m − y/n| < h / lcm(m, n).
/// `None` if an index would leave the working vector (scipy would raise; treated as failure).
fn outer_prob_inside(m: i64, n: i64, g: i64, h: i64) -> Option<f64> {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let mg = m / g;
    let ng = n / g;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(maxj as usize) {
        *v = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (((ng * i - h) as f64 / mg as f64).floor() as i64 + 1).max(0);
        minj = minj.min(n);
        maxj = (((ng * i + h) as f64 / mg as f64).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return Some(1.0);
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let src = usize::try_from(jj + minj - lastminj).ok()?;
            val = (*a.get(src)? * fi + val * j as f64) / (fi + j as f64);
            *a.get_mut(jj as usize)? = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = (start + (lastlen - curlen) as usize).min(a.len());
            for v in a.iter_mut().take(end).skip(start) {
                *v = 1.0;
            }
        }
    }
    a.get((maxj - minj - 1) as usize).copied()
}

/// Survival function of the limiting Kolmogorov distribution, Q(z) = Pr(K > z).
fn kolmogorov_sf(z: f64) -> f64 {
    if z <= 0.0 {
        return 1.0;
    }
    if z < 1.0 {
        // Jacobi theta form of the CDF, fast for small z.
        let c = std::f64::consts::PI.powi(2) / (8.0 * z * z);
        let mut cdf = 0.0;
        for k in 1..=50 {
            let t = (2 * k - 1) as f64;
            let term = (-t * t * c).exp();
            cdf += term;
            if term < 1e-300 {
                break;
            }
        }
        1.0 - (2.0 * std::f64::consts::PI).sqrt() / z * cdf
    } else {
        let mut sf = 0.0;
        for k in 1..=100 {
            let kf = k as f64;
            let term = (-2.0 * kf * kf * z * z).exp();
            sf += if k % 2 == 1 { term } else { -term };
            if term < 1e-300 {
                break;
            }
        }
        2.0 * sf
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{close, load};
    use super::*;

    /// D is h / lcm computed the same way as scipy: 1e-12 relative. The exact p-value is the
    /// same floating-point recursion in the same order, but scipy's inside method is compiled
    /// by pythran (possible FMA / reassociation), so the honest bound is 1e-10 relative plus
    /// 1e-15 absolute (the "very_different" case has p ~ 6e-13).
    #[test]
    fn matches_scipy_ks_2samp() {
        for case in load().one_d {
            let r = ks_2samp(&case.x, &case.y).unwrap();
            assert_eq!(r.method, KsMethod::Exact, "{}", case.name);
            assert!(
                close(r.statistic, case.ks_statistic, 1e-12, 0.0),
                "{}: D {} vs scipy {}",
                case.name,
                r.statistic,
                case.ks_statistic
            );
            assert!(
                close(r.pvalue, case.ks_pvalue, 1e-10, 1e-15),
                "{}: p {} vs scipy {}",
                case.name,
                r.pvalue,
                case.ks_pvalue
            );
        }
    }

    #[test]
    fn identical_samples_give_zero_and_one() {
        let x = [0.5, -0.1, 3.0, 3.0, 2.2];
        let r = ks_2samp(&x, &x).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.pvalue, 1.0);
    }

    #[test]
    fn symmetric_in_its_arguments() {
        let x = [0.1, 0.4, 0.9, 1.3, 2.0, 2.1];
        let y = [0.3, 0.35, 1.0, 5.0];
        assert_eq!(ks_2samp(&x, &y).unwrap(), ks_2samp(&y, &x).unwrap());
    }

    #[test]
    fn kolmogorov_limit_branches_agree_and_large_samples_use_it() {
        // The two series meet continuously at z = 1; Q(1) = 0.26999967167735456.
        assert!((kolmogorov_sf(1.0) - 0.269_999_671_677_354_56).abs() < 1e-14);
        assert!((kolmogorov_sf(1.0 - 1e-12) - kolmogorov_sf(1.0)).abs() < 1e-10);
        // scipy.special.kolmogorov(0.5), (2.0).
        assert!((kolmogorov_sf(0.5) - 0.963_945_243_664_875_1).abs() < 1e-14);
        assert!((kolmogorov_sf(2.0) - 0.000_670_925_255_779_695_3).abs() < 1e-16);
        let x: Vec<f64> = (0..10_001).map(|i| i as f64).collect();
        let y: Vec<f64> = (0..50).map(|i| i as f64 * 200.0 + 0.5).collect();
        let r = ks_2samp(&x, &y).unwrap();
        assert_eq!(r.method, KsMethod::AsympKolmogorovLimit);
        assert!((0.0..=1.0).contains(&r.pvalue));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            ks_2samp(&[1.0], &[]),
            Err(FidelityError::TooFewValues { what: "y", .. })
        ));
        assert!(matches!(
            ks_2samp(&[1.0, f64::INFINITY], &[1.0]),
            Err(FidelityError::NonFinite {
                what: "x",
                index: 1,
                ..
            })
        ));
    }
}
