//! The one check of numeric values that every reader applies (raw WESAD, the reference pickle
//! and CSV, the HDF5 dataset store, feature stores and synthetic inputs): a value must be
//! finite and within a magnitude bound. Each reader turns the index of the first bad value into
//! its own location (file, subject, channel, sample, line), so the messages differ in where but
//! never in what is accepted.
//!
//! The bounds: no sensor reading or min–max-scaled 1 Hz value comes anywhere near
//! [`MAX_ABS_SAMPLE`]; below it the whole pipeline stays finite (FFT resampling of a channel of
//! up to ~10⁶ samples, subwindow-FFT features ≤ 35·|x|, and their squares in the classifiers'
//! single-precision arithmetic, ≈ 10²⁷ ≪ 3.4·10³⁸). A value beyond it (the probe's `1e308`)
//! would yield infinite or NaN features, so it is refused where it is read. Feature values are
//! bounded by [`MAX_ABS_FEATURE`] for the same reason (a stored feature file from elsewhere).
//!
//! May depend on: std.

/// Largest magnitude accepted for a signal sample (raw or 1 Hz).
pub const MAX_ABS_SAMPLE: f64 = 1e12;
/// Largest magnitude accepted for a feature value (features of samples within
/// [`MAX_ABS_SAMPLE`] stay below 35·10¹²; squares of this bound still fit in `f32`).
pub const MAX_ABS_FEATURE: f64 = 1e15;

/// The first refused value of a slice: its index and why it is refused.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BadValue {
    /// Index of the value in the slice checked.
    pub index: usize,
    pub value: f64,
    /// The magnitude bound it was checked against.
    pub max_abs: f64,
}

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_finite() {
            write!(
                f,
                "is {:e}, beyond ±{:e} (such values overflow the features)",
                self.value, self.max_abs
            )
        } else {
            write!(f, "is {} (not a finite number)", self.value)
        }
    }
}

/// True when `v` is finite and `|v| ≤ max_abs`.
pub fn acceptable(v: f64, max_abs: f64) -> bool {
    v.is_finite() && v.abs() <= max_abs
}

/// The first value of `values` that is not finite or exceeds `max_abs` in magnitude.
pub fn check(values: &[f64], max_abs: f64) -> Result<(), BadValue> {
    match values.iter().position(|&v| !acceptable(v, max_abs)) {
        None => Ok(()),
        Some(index) => Err(BadValue {
            index,
            value: values[index],
            max_abs,
        }),
    }
}

/// [`check`] with the sample bound [`MAX_ABS_SAMPLE`].
pub fn check_samples(values: &[f64]) -> Result<(), BadValue> {
    check(values, MAX_ABS_SAMPLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_nan_inf_or_huge_value() {
        assert_eq!(check_samples(&[0.0, 1.0, -1e12]), Ok(()));
        let e = check_samples(&[0.0, f64::NAN, f64::INFINITY]).unwrap_err();
        assert_eq!(e.index, 1);
        assert!(e.to_string().contains("NaN"), "{e}");
        let e = check_samples(&[0.5, f64::NEG_INFINITY]).unwrap_err();
        assert_eq!(e.index, 1);
        assert!(e.to_string().contains("-inf"), "{e}");
        let e = check_samples(&[1e308]).unwrap_err();
        assert_eq!(e.index, 0);
        assert!(e.to_string().contains("1e308"), "{e}");
        assert!(check(&[1e14], MAX_ABS_FEATURE).is_ok());
    }
}
