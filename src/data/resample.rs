//! Fourier resampling, faithful to `scipy.signal.resample(x, num)` for real input (the
//! reference's wrist-signal preprocessing, spec §1.2): rfft, keep the first
//! `min(num, len)//2 + 1` bins, fix the unpaired bin at `m/2` for even `m = min(num, len)`
//! (doubled when downsampling, halved when upsampling), scale by `num/len`, irfft of length
//! `num`. The signal is treated as periodic (a hard low-pass when downsampling).
//!
//! May depend on: rustfft.

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

/// `scipy.signal.resample(x, num)` for a real signal. An empty `x` gives `num` zeros (scipy
/// would raise).
pub fn fft_resample(x: &[f64], num: usize) -> Vec<f64> {
    let n_x = x.len();
    if num == 0 {
        return Vec::new();
    }
    if n_x == 0 {
        return vec![0.0; num];
    }
    let mut planner = FftPlanner::<f64>::new();

    // Forward real FFT (via a complex FFT): X[k], k = 0..=n_x/2.
    let mut buf: Vec<Complex<f64>> = x.iter().map(|&v| Complex::new(v, 0.0)).collect();
    planner.plan_fft_forward(n_x).process(&mut buf);

    let m = num.min(n_x);
    let m2 = m / 2 + 1;
    let s_fac = n_x as f64 / num as f64;
    let mut y_half: Vec<Complex<f64>> = buf[..m2].to_vec();
    if m.is_multiple_of(2) && num != n_x {
        let f = if num < n_x { 2.0 } else { 0.5 };
        y_half[m / 2] *= f;
    }
    for v in y_half.iter_mut() {
        *v /= s_fac;
    }

    // irfft(y_half, n=num): Hermitian spectrum of length num (missing bins are zero), the
    // imaginary parts of DC and (even num) Nyquist ignored, 1/num normalisation.
    let mut spec = vec![Complex::new(0.0, 0.0); num];
    let half = num / 2;
    for (k, v) in y_half.iter().enumerate().take(half + 1) {
        spec[k] = *v;
    }
    spec[0].im = 0.0;
    if num.is_multiple_of(2) && y_half.len() > half {
        spec[half].im = 0.0;
    }
    for k in 1..num.div_ceil(2) {
        spec[num - k] = spec[k].conj();
    }
    planner.plan_fft_inverse(num).process(&mut spec);
    let inv = 1.0 / num as f64;
    spec.iter().map(|c| c.re * inv).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Gen {
        n: usize,
        fs: f64,
        seed: u32,
    }

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        x: Option<Vec<f64>>,
        gen: Option<Gen>,
        num: usize,
        y: Vec<f64>,
    }

    #[derive(serde::Deserialize)]
    struct Fixture {
        provenance: serde_json::Value,
        cases: Vec<Case>,
    }

    /// Mirror of `signal()` in scripts/gen_resample_vectors.py.
    fn signal(g: &Gen) -> Vec<f64> {
        let mut u = g.seed;
        (0..g.n)
            .map(|i| {
                u = u.wrapping_mul(1664525).wrapping_add(1013904223);
                let r = u as f64 / 4294967296.0;
                let t = i as f64 / g.fs;
                let tau = 2.0 * std::f64::consts::PI;
                (tau * 1.3 * t).sin()
                    + 0.5 * (tau * 0.07 * t + 0.4).cos()
                    + 0.3 * (r - 0.5)
                    + 0.001 * t
            })
            .collect()
    }

    /// Tolerance: 1e-9 relative to the largest magnitude of scipy's output (element-wise
    /// relative error is meaningless where the output crosses zero).
    #[test]
    fn matches_scipy_vectors() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/resample_vectors.json"
        );
        let text = std::fs::read_to_string(path).expect("fixture present");
        let fx: Fixture = serde_json::from_str(&text).expect("fixture parses");
        assert!(fx.provenance.get("scipy").is_some());
        assert!(fx.cases.len() >= 15);
        for c in &fx.cases {
            let x = match (&c.x, &c.gen) {
                (Some(x), _) => x.clone(),
                (None, Some(g)) => signal(g),
                (None, None) => panic!("case {} has neither x nor gen", c.name),
            };
            let y = fft_resample(&x, c.num);
            assert_eq!(y.len(), c.y.len(), "{}", c.name);
            let scale = c.y.iter().fold(1.0f64, |a, v| a.max(v.abs()));
            for (i, (a, b)) in y.iter().zip(&c.y).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-9 * scale,
                    "{} [{i}]: {a} vs scipy {b}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn identity_and_constant() {
        let x = [1.0, -2.0, 3.5, 0.25, 7.0];
        let y = fft_resample(&x, 5);
        for (a, b) in y.iter().zip(&x) {
            assert!((a - b).abs() < 1e-12);
        }
        let y = fft_resample(&[2.0; 64], 7);
        assert!(y.iter().all(|v| (v - 2.0).abs() < 1e-12), "{y:?}");
        assert_eq!(fft_resample(&[], 3), vec![0.0; 3]);
        assert!(fft_resample(&x, 0).is_empty());
    }
}
