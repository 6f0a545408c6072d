//! Power spectral density by Welch's method, equal to `scipy.signal.welch(x, fs, nperseg)` with
//! scipy's other defaults: a periodic Hann window of `nperseg` samples, `noverlap = nperseg /
//! 2`, each segment's mean removed (`detrend='constant'`), the one-sided spectrum (every bin
//! but DC — and Nyquist for even `nperseg` — doubled), `scaling='density'`
//! (|FFT|² / (fs · Σ w²)) and the mean over segments; and, for two sets of windows, the
//! per-channel distance between their mean spectra.

use rustfft::{num_complex::Complex, FftPlanner};

use super::windows::Windows;
use super::FidelityError;

/// Frequencies (cycles per sample × `fs`) and the one-sided PSD.
#[derive(Clone, Debug, PartialEq)]
pub struct Psd {
    pub freqs: Vec<f64>,
    pub psd: Vec<f64>,
}

/// Welch's PSD of `x` with segments of `nperseg` samples (`2 ≤ nperseg ≤ x.len()`).
pub fn welch(x: &[f64], fs: f64, nperseg: usize) -> Result<Psd, FidelityError> {
    const METRIC: &str = "the Welch PSD";
    super::check_sample(METRIC, "x", x, nperseg.max(2))?;
    if nperseg < 2 {
        return Err(FidelityError::TooFewValues {
            metric: METRIC,
            what: "nperseg",
            found: nperseg,
            needed: 2,
        });
    }
    let noverlap = nperseg / 2;
    let step = nperseg - noverlap;
    let segments = (x.len() - noverlap) / step;
    let window: Vec<f64> = (0..nperseg)
        .map(|k| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * k as f64 / nperseg as f64).cos())
        .collect();
    let scale = 1.0 / (fs * window.iter().map(|w| w * w).sum::<f64>());
    let fft = FftPlanner::<f64>::new().plan_fft_forward(nperseg);
    let bins = nperseg / 2 + 1;
    let mut acc = vec![0.0; bins];
    let mut buf = vec![Complex::new(0.0, 0.0); nperseg];
    for s in 0..segments {
        let seg = &x[s * step..s * step + nperseg];
        let mean = seg.iter().sum::<f64>() / nperseg as f64;
        for (b, (v, w)) in buf.iter_mut().zip(seg.iter().zip(&window)) {
            *b = Complex::new((v - mean) * w, 0.0);
        }
        fft.process(&mut buf);
        for (a, z) in acc.iter_mut().zip(&buf[..bins]) {
            *a += z.norm_sqr() * scale;
        }
    }
    let last_doubled = if nperseg.is_multiple_of(2) {
        bins - 1
    } else {
        bins
    };
    for (k, a) in acc.iter_mut().enumerate() {
        if k > 0 && k < last_doubled {
            *a *= 2.0;
        }
        *a /= segments as f64;
    }
    Ok(Psd {
        freqs: (0..bins).map(|k| k as f64 * fs / nperseg as f64).collect(),
        psd: acc,
    })
}

/// The mean over windows of each channel's Welch PSD (one segment per window when `nperseg`
/// is the window length): `out[ch]`.
pub fn mean_psd(w: &Windows<'_>, nperseg: usize) -> Result<Vec<Vec<f64>>, FidelityError> {
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(w.c);
    for ch in 0..w.c {
        let mut mean: Vec<f64> = Vec::new();
        for i in 0..w.n {
            let x: Vec<f64> = (0..w.t).map(|s| w.value(i, s, ch)).collect();
            let p = welch(&x, 1.0, nperseg)?.psd;
            if mean.is_empty() {
                mean = vec![0.0; p.len()];
            }
            mean.iter_mut()
                .zip(&p)
                .for_each(|(m, v)| *m += v / w.n as f64);
        }
        out.push(mean);
    }
    Ok(out)
}

/// Per channel, the L1 distance between the two sets' mean spectra, each normalised to sum 1
/// (a distance between spectral shapes in [0, 2], blind to overall power; 0 for a channel
/// whose spectra are both flat zero).
pub fn psd_distance(
    real: &Windows<'_>,
    synthetic: &Windows<'_>,
    nperseg: usize,
) -> Result<Vec<f64>, FidelityError> {
    let (a, b) = (mean_psd(real, nperseg)?, mean_psd(synthetic, nperseg)?);
    let normalise = |v: &[f64]| -> Vec<f64> {
        let s: f64 = v.iter().sum();
        if s > 0.0 {
            v.iter().map(|x| x / s).collect()
        } else {
            vec![0.0; v.len()]
        }
    };
    Ok(a.iter()
        .zip(&b)
        .map(|(x, y)| {
            normalise(x)
                .iter()
                .zip(normalise(y))
                .map(|(p, q)| (p - q).abs())
                .sum()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        x: Vec<f64>,
        nperseg: usize,
        freqs: Vec<f64>,
        psd: Vec<f64>,
    }

    #[derive(serde::Deserialize)]
    struct Fixture {
        cases: Vec<Case>,
    }

    #[test]
    fn matches_scipy_welch() {
        let f: Fixture =
            serde_json::from_str(include_str!("../../../tests/fixtures/welch_vectors.json"))
                .unwrap();
        assert_eq!(f.cases.len(), 4);
        for c in &f.cases {
            let got = welch(&c.x, 1.0, c.nperseg).unwrap();
            assert_eq!(got.freqs.len(), c.freqs.len(), "{}", c.name);
            for (g, w) in got.freqs.iter().zip(&c.freqs) {
                assert!((g - w).abs() < 1e-15, "{}: freq {g} vs {w}", c.name);
            }
            // FFT round-off only: 1e-10 relative, 1e-14 absolute.
            for (k, (g, w)) in got.psd.iter().zip(&c.psd).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-10 * w.abs() + 1e-14,
                    "{} bin {k}: {g} vs {w}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn spectral_distance_separates_a_slow_from_a_fast_signal() {
        let t = 32;
        let slow: Vec<f64> = (0..4 * t)
            .map(|i| (2.0 * std::f64::consts::PI * (i % t) as f64 / 16.0).sin())
            .collect();
        let fast: Vec<f64> = (0..4 * t)
            .map(|i| (2.0 * std::f64::consts::PI * (i % t) as f64 / 4.0).sin())
            .collect();
        let (a, b) = (
            Windows::new(&slow, 4, t, 1).unwrap(),
            Windows::new(&fast, 4, t, 1).unwrap(),
        );
        assert!(psd_distance(&a, &a, t).unwrap()[0] < 1e-12);
        assert!(psd_distance(&a, &b, t).unwrap()[0] > 1.5);
        assert!(welch(&slow[..3], 1.0, 4).is_err());
    }
}
