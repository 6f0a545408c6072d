//! Log-space arithmetic and the special functions the accountants need: `log(e^a + e^b)`,
//! `log(e^a − e^b)`, an accurate `log erfc` (asymptotic series in the far tail), the standard
//! normal CDF and its logarithm, and log-binomial coefficients for real upper arguments.
//!
//! May depend on: `std` f64 maths and `statrs::function::{erf, gamma}`. Nothing else.

use statrs::function::erf as statrs_erf;

/// `ln 2`.
const LN_2: f64 = std::f64::consts::LN_2;

/// `log(exp(a) + exp(b))`, exact for `−∞` arguments (log-space zero).
pub fn log_add(a: f64, b: f64) -> f64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    (lo - hi).exp().ln_1p() + hi
}

/// `log(exp(a) − exp(b))` for `a ≥ b`; `None` when `a < b` (the result would be negative).
/// `log_sub(a, a) = −∞`. Mirrors tf-privacy's `_log_sub` (an overflowing `expm1` returns `a`).
pub fn log_sub(a: f64, b: f64) -> Option<f64> {
    if a < b {
        return None;
    }
    if b == f64::NEG_INFINITY {
        return Some(a);
    }
    if a == b {
        return Some(f64::NEG_INFINITY);
    }
    let d = (a - b).exp_m1();
    if d.is_infinite() {
        return Some(a);
    }
    Some(d.ln() + b)
}

// Rational approximations of erf/erfc from FreeBSD msun `s_erf.c`:
// ====================================================
// Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//
// Developed at SunPro, a Sun Microsystems, Inc. business.
// Permission to use, copy, modify, and distribute this
// software is freely granted, provided that this notice
// is preserved.
// ====================================================
// (statrs' `erfc` has relative errors up to ~4e-11, e.g. at x = 1, which is too coarse for
// the PLD hockey-stick differences; these approximations are accurate to < 1 ulp.)
#[allow(clippy::excessive_precision)] // the published constants, digit for digit
mod fdlibm {
    pub const ERX: f64 = 8.45062911510467529297e-01;
    pub const PP: [f64; 5] = [
        1.28379167095512558561e-01,
        -3.25042107247001499370e-01,
        -2.84817495755985104766e-02,
        -5.77027029648944159157e-03,
        -2.37630166566501626084e-05,
    ];
    pub const QQ: [f64; 5] = [
        3.97917223959155352819e-01,
        6.50222499887672944485e-02,
        5.08130628187576562776e-03,
        1.32494738004321644526e-04,
        -3.96022827877536812320e-06,
    ];
    pub const PA: [f64; 7] = [
        -2.36211856075265944077e-03,
        4.14856118683748331666e-01,
        -3.72207876035701323847e-01,
        3.18346619901161753674e-01,
        -1.10894694282396677476e-01,
        3.54783043256182359371e-02,
        -2.16637559486879084300e-03,
    ];
    pub const QA: [f64; 6] = [
        1.06420880400844228286e-01,
        5.40397917702171048937e-01,
        7.18286544141962662868e-02,
        1.26171219808761642112e-01,
        1.36370839120290507362e-02,
        1.19844998467991074170e-02,
    ];
    pub const RA: [f64; 8] = [
        -9.86494403484714822705e-03,
        -6.93858572707181764372e-01,
        -1.05586262253232909814e+01,
        -6.23753324503260060396e+01,
        -1.62396669462573470355e+02,
        -1.84605092906711035994e+02,
        -8.12874355063065934246e+01,
        -9.81432934416914548592e+00,
    ];
    pub const SA: [f64; 8] = [
        1.96512716674392571292e+01,
        1.37657754143519042600e+02,
        4.34565877475229228821e+02,
        6.45387271733267880336e+02,
        4.29008140027567833386e+02,
        1.08635005541779435134e+02,
        6.57024977031928170135e+00,
        -6.04244152148580987438e-02,
    ];
    pub const RB: [f64; 7] = [
        -9.86494292470009928597e-03,
        -7.99283237680523006574e-01,
        -1.77579549177547519889e+01,
        -1.60636384855821916062e+02,
        -6.37566443368389627722e+02,
        -1.02509513161107724954e+03,
        -4.83519191608651397019e+02,
    ];
    pub const SB: [f64; 7] = [
        3.03380607434824582924e+01,
        3.25792512996573918826e+02,
        1.53672958608443695994e+03,
        3.19985821950859553908e+03,
        2.55305040643316442583e+03,
        4.74528541206955367215e+02,
        -2.24409524465858183362e+01,
    ];
}
use fdlibm::*;

/// Horner evaluation of `c[0] + z c[1] + z² c[2] + …`.
fn horner(c: &[f64], z: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * z + k)
}

/// `1 + z·(c[0] + z c[1] + …)`.
fn horner1(c: &[f64], z: f64) -> f64 {
    1.0 + z * horner(c, z)
}

/// For 1.25 ≤ x < 28: `(−z² − 0.5625, (z − x)(z + x) + R/S)` where z is x with its low 32
/// bits cleared (so z² is exact), and `erfc(x) = exp(first)·exp(second)/x`.
fn erfc_tail_parts(x: f64) -> (f64, f64) {
    let s = 1.0 / (x * x);
    let (r, big_s) = if x < 1.0 / 0.35 {
        (horner(&RA, s), horner1(&SA, s))
    } else {
        (horner(&RB, s), horner1(&SB, s))
    };
    let z = f64::from_bits(x.to_bits() & 0xffff_ffff_0000_0000);
    (-z * z - 0.5625, (z - x) * (z + x) + r / big_s)
}

/// For 1.25 ≤ x < 28: `ln erfc(x)` in log space (never underflows).
fn log_erfc_tail(x: f64) -> f64 {
    let (a, b) = erfc_tail_parts(x);
    a + (b - x.ln())
}

/// Complementary error function, accurate to < 1 ulp (fdlibm's algorithm).
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax < 0.84375 {
        if ax < 1.3877787807814457e-17 {
            return 1.0 - x;
        }
        let z = x * x;
        let y = horner(&PP, z) / horner1(&QQ, z);
        if x < 0.25 {
            return 1.0 - (x + x * y);
        }
        return 0.5 - (x - 0.5 + x * y);
    }
    let pos = if ax < 1.25 {
        let s = ax - 1.0;
        1.0 - ERX - horner(&PA, s) / horner1(&QA, s)
    } else if ax < 28.0 {
        let (a, b) = erfc_tail_parts(ax);
        a.exp() * b.exp() / ax
    } else {
        0.0
    };
    if x < 0.0 {
        2.0 - pos
    } else {
        pos
    }
}

/// Where [`log_erfc`] switches to the asymptotic series.
const LOG_ERFC_ASYMPTOTIC_FROM: f64 = 28.0;

/// `ln erfc(x)` for every `x`, accurate (≲ 1e−15 relative) in the far right tail where
/// `erfc` underflows.
///
/// For `x < 1.25`, `ln(erfc(x))`; for `1.25 ≤ x < 28` the fdlibm rational approximation taken
/// directly in log space (`−x² − 0.5625 + R/S − ln x`, never underflows); for `x ≥ 28` the
/// asymptotic expansion `erfc(x) = e^{−x²}/(x√π) · Σₙ (−1)ⁿ (2n−1)!!/(2x²)ⁿ`, summed until the
/// terms drop below 1e−17. (tf-privacy's `_log_erfc` uses scipy's `log_ndtr`, and falls back
/// to the same expansion truncated after the x⁻⁸ term once `erfc` underflows.)
pub fn log_erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return f64::NEG_INFINITY;
    }
    if x < 1.25 {
        return erfc(x).ln();
    }
    if x < LOG_ERFC_ASYMPTOTIC_FROM {
        return log_erfc_tail(x);
    }
    let two_x2 = 2.0 * x * x;
    let mut sum = 1.0;
    let mut term = 1.0f64;
    let mut n = 1.0;
    loop {
        let next = -term * (2.0 * n - 1.0) / two_x2;
        if next.abs() >= term.abs() || next.abs() < 1e-17 {
            sum += next;
            break;
        }
        sum += next;
        term = next;
        n += 1.0;
    }
    -x * x - x.ln() - 0.5 * std::f64::consts::PI.ln() + sum.ln()
}

/// Standard normal CDF Φ(x) = erfc(−x/√2)/2.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// `ln Φ(x)`, accurate for very negative `x` (via [`log_erfc`]).
pub fn norm_log_cdf(x: f64) -> f64 {
    if x > 5.0 {
        // Φ(x) = 1 − Φ(−x); ln_1p keeps the tiny complement.
        return (-norm_cdf(-x)).ln_1p();
    }
    log_erfc(-x / std::f64::consts::SQRT_2) - LN_2
}

/// Inverse standard normal CDF Φ⁻¹(p) for p ∈ (0, 1) (statrs `erfc_inv`).
pub fn norm_ppf(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * statrs_erf::erfc_inv(2.0 * p)
}

/// `ln |C(n, k)|` and the sign of the generalised binomial coefficient
/// `C(n, k) = n (n−1) ⋯ (n−k+1) / k!` for real `n` and integer `k ≥ 0`, by the product
/// formula (O(k)). The sign is `0.0` when the coefficient is exactly zero (integer `n < k`).
pub fn log_binom(n: f64, k: u64) -> (f64, f64) {
    let mut log_abs = 0.0;
    let mut sign = 1.0;
    for i in 0..k {
        let num = n - i as f64;
        if num == 0.0 {
            return (f64::NEG_INFINITY, 0.0);
        }
        if num < 0.0 {
            sign = -sign;
        }
        log_abs += num.abs().ln() - ((i + 1) as f64).ln();
    }
    (log_abs, sign)
}

/// `ln C(n, k)` for integers via `ln Γ` (as dp_accounting's `_log_comb`).
pub fn log_comb_gamma(n: f64, k: f64) -> f64 {
    use statrs::function::gamma::ln_gamma;
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
}

/// `log(a·exp(b) + c)` for the combinations the PLD code needs (as dp_accounting's
/// `common.log_a_times_exp_b_plus_c`). Returns NaN when the argument of the log is negative.
pub fn log_a_times_exp_b_plus_c(a: f64, b: f64, c: f64) -> f64 {
    if a == 0.0 {
        return c.ln();
    }
    if a < 0.0 {
        if c <= 0.0 {
            return f64::NAN;
        }
        return log_sub(c.ln(), (-a).ln() + b).unwrap_or(f64::NAN);
    }
    if b == 0.0 {
        return (a + c).ln();
    }
    let d = b + a.ln();
    if c == 0.0 {
        d
    } else if c < 0.0 {
        log_sub(d, (-c).ln()).unwrap_or(f64::NAN)
    } else {
        log_add(d, c.ln())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn log_add_sub_roundtrip() {
        let a = 3.0f64.ln();
        let b = 2.0f64.ln();
        assert!(rel(log_add(a, b), 5.0f64.ln()) < 1e-15);
        assert!((log_sub(a, b).unwrap() - 0.0).abs() < 1e-15);
        assert_eq!(log_add(f64::NEG_INFINITY, a), a);
        assert_eq!(log_sub(a, f64::NEG_INFINITY), Some(a));
        assert_eq!(log_sub(a, a), Some(f64::NEG_INFINITY));
        assert_eq!(log_sub(b, a), None);
        // Overflowing difference returns the larger argument.
        assert_eq!(log_sub(1000.0, 0.0), Some(1000.0));
    }

    #[test]
    fn log_erfc_matches_known_values_and_is_continuous() {
        // Reference values from mpmath (50 digits), rounded to f64.
        let cases = [
            (-2.0, 1.9953222650189528),
            (0.1, 0.887537083981715),
            (0.5, 0.4795001221869535),
            (1.0, 0.15729920705028513),
            (2.0, 0.004677734981047266),
            (5.0, 1.537459794428035e-12),
            (10.0, 2.088487583762545e-45),
        ];
        for (x, want) in cases {
            assert!(
                rel(erfc(x), want) < 4e-16,
                "erfc({x}) = {} vs {want}",
                erfc(x)
            );
            assert!(
                (log_erfc(x) - want.ln()).abs() < 1e-15 * (1.0 + want.ln().abs()),
                "log_erfc({x})"
            );
        }
        // ln erfc(27.5) and ln erfc(30) from mpmath.
        assert!(
            rel(log_erfc(27.5), -760.1372110153482_f64) < 1e-14,
            "{}",
            log_erfc(27.5)
        );
        assert!(
            rel(log_erfc(30.0), -903.9741171106439_f64) < 1e-14,
            "{}",
            log_erfc(30.0)
        );
        // Continuity across the asymptotic switch.
        assert!((log_erfc(28.0 - 1e-12) - log_erfc(28.0)).abs() < 1e-9);
        assert_eq!(log_erfc(f64::INFINITY), f64::NEG_INFINITY);
        assert_eq!(erfc(f64::NEG_INFINITY), 2.0);
    }

    #[test]
    fn normal_helpers() {
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-16);
        // scipy.stats.norm.logcdf(-40) = -804.6084420137538
        assert!(rel(norm_log_cdf(-40.0), -804.608_442_013_753_8) < 1e-13);
        assert!((norm_log_cdf(10.0) + 7.619_853_024_160_526e-24).abs() < 1e-30);
        // scipy.stats.norm.ppf(1e-10) = -6.361340902404056
        assert!(rel(norm_ppf(1e-10), -6.361_340_902_404_056) < 1e-12);
    }

    #[test]
    fn binomials() {
        let (l, s) = log_binom(10.0, 3);
        assert!(rel(l, 120f64.ln()) < 1e-15);
        assert_eq!(s, 1.0);
        // C(1.5, 3) = 1.5*0.5*(-0.5)/6 = -0.0625
        let (l, s) = log_binom(1.5, 3);
        assert!(rel(l, 0.0625f64.ln()) < 1e-14);
        assert_eq!(s, -1.0);
        assert_eq!(log_binom(3.0, 5).1, 0.0);
        assert!(rel(log_comb_gamma(512.0, 256.0), log_binom(512.0, 256).0) < 1e-12);
        assert!(
            rel(
                log_a_times_exp_b_plus_c(2.0, 1.0, 3.0),
                (2.0 * 1f64.exp() + 3.0).ln()
            ) < 1e-15
        );
        assert!(
            rel(
                log_a_times_exp_b_plus_c(2.0, 1.0, -3.0),
                (2.0 * 1f64.exp() - 3.0).ln()
            ) < 1e-14
        );
    }
}
