//! Number formatting for human-readable privacy output (statements, error messages): six
//! significant digits, plain notation for magnitudes in [1e-4, 1e6), scientific otherwise, so
//! that a tiny σ never prints as `0.000000` and a huge ε never prints with 309 digits.
//! Machine-readable output (JSON) keeps full precision.
//!
//! May depend on: std only.

/// `x` with six significant digits: `1.23457`, `1234.57`, `0.000123457`, `1.23457e-7`,
/// `3.00000e12`, `0`, `inf`, `-inf`, `NaN`.
pub fn sig6(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-4..1e6).contains(&a) {
        // Round to six significant digits first, then choose the decimals of the rounded value
        // (9.999996 → 10.0000, not 9.999996 with one digit too many).
        let rounded: f64 = format!("{x:.5e}").parse().unwrap_or(x);
        if rounded.abs() >= 1e6 {
            return format!("{x:.5e}");
        }
        let exp = rounded.abs().log10().floor() as i32;
        let decimals = (5 - exp).max(0) as usize;
        format!("{rounded:.decimals$}")
    } else {
        format!("{x:.5e}")
    }
}

/// `x` exactly (the shortest representation that reads back as `x`), in plain notation for
/// magnitudes in [1e-4, 1e6) and scientific otherwise: for values a user may copy back into a
/// command (a calibrated σ), where rounding could break the guarantee.
pub fn exact(x: f64) -> String {
    let a = x.abs();
    if x == 0.0 || !x.is_finite() || (1e-4..1e6).contains(&a) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::{exact, sig6};

    #[test]
    fn exact_reads_back_and_stays_short() {
        for x in [
            3.0234391503,
            1e-10,
            1.2345678901234e-7,
            5e300,
            0.5,
            123456.789,
        ] {
            let s = exact(x);
            assert_eq!(s.parse::<f64>().unwrap(), x, "{s}");
            assert!(s.len() <= 24, "{s}");
        }
        assert_eq!(exact(1e-10), "1e-10");
        assert_eq!(exact(0.25), "0.25");
    }

    #[test]
    fn six_significant_digits_in_sane_notation() {
        for (x, want) in [
            (1.0, "1.00000"),
            (0.8540123456, "0.854012"),
            (3.0234391503, "3.02344"),
            (1234.5678, "1234.57"),
            (999999.7, "1.00000e6"),
            (9.999996, "10.0000"),
            (1.234567e-4, "0.000123457"),
            (1e-10, "1.00000e-10"),
            (1e-3, "0.00100000"),
            (1.7976931348623157e308, "1.79769e308"),
            (-2.5, "-2.50000"),
            (0.0, "0"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(sig6(x), want, "{x}");
        }
    }
}
