//! Statistics of sets of multichannel windows for fidelity comparisons: per-window summary
//! statistics (mean, standard deviation, minimum, maximum and least-squares slope of each
//! channel), the cross-channel Pearson correlation matrix over all time points, its Frobenius
//! distance between two sets, and the mean autocorrelation function per channel with its
//! mean absolute distance between two sets.
//!
//! Windows are `n × t × c` values in row-major order (window, time step, channel), the layout
//! of the generators' (n, 60, 6) tensors.

use super::FidelityError;

/// A borrowed set of `n` windows of `t` time steps and `c` channels.
#[derive(Clone, Copy, Debug)]
pub struct Windows<'a> {
    data: &'a [f64],
    pub n: usize,
    pub t: usize,
    pub c: usize,
}

/// The per-window statistics, in [`WINDOW_STATS`] order.
pub const WINDOW_STATS: [&str; 5] = ["mean", "sd", "min", "max", "slope"];

impl<'a> Windows<'a> {
    /// Checks the shape (`data.len() = n·t·c`, `t ≥ 2`, `c ≥ 1`, `n ≥ 1`) and that every value
    /// is finite.
    pub fn new(data: &'a [f64], n: usize, t: usize, c: usize) -> Result<Self, FidelityError> {
        const METRIC: &str = "window statistics";
        if n == 0 || t < 2 || c == 0 || data.len() != n * t * c {
            return Err(FidelityError::TooFewValues {
                metric: METRIC,
                what: "windows (n × t × c with n ≥ 1, t ≥ 2, c ≥ 1)",
                found: data.len(),
                needed: (n.max(1)) * t.max(2) * c.max(1),
            });
        }
        if let Some((index, &value)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(FidelityError::NonFinite {
                metric: METRIC,
                what: "windows",
                index,
                value,
            });
        }
        Ok(Self { data, n, t, c })
    }

    fn at(&self, w: usize, s: usize, ch: usize) -> f64 {
        self.data[(w * self.t + s) * self.c + ch]
    }

    /// The value of window `w` at step `s`, channel `ch`.
    pub fn value(&self, w: usize, s: usize, ch: usize) -> f64 {
        self.at(w, s, ch)
    }

    /// The statistics of every window and channel: `out[stat][ch]` is the sample of that
    /// statistic over the windows (length `n`), stats in [`WINDOW_STATS`] order; the standard
    /// deviation has ddof 0, the slope is the least-squares slope against the time index.
    pub fn window_stats(&self) -> Vec<Vec<Vec<f64>>> {
        let (t, tf) = (self.t, self.t as f64);
        let t_mean = (tf - 1.0) / 2.0;
        let t_var: f64 = (0..t).map(|s| (s as f64 - t_mean).powi(2)).sum();
        // by_channel[ch][stat]: filled window by window, then transposed.
        let mut by_channel = vec![vec![Vec::with_capacity(self.n); WINDOW_STATS.len()]; self.c];
        for w in 0..self.n {
            for (ch, stats) in by_channel.iter_mut().enumerate() {
                let xs = (0..t).map(|s| self.at(w, s, ch));
                let mean = xs.clone().sum::<f64>() / tf;
                let var = xs.clone().map(|x| (x - mean).powi(2)).sum::<f64>() / tf;
                let min = xs.clone().fold(f64::INFINITY, f64::min);
                let max = xs.clone().fold(f64::NEG_INFINITY, f64::max);
                let cov: f64 = xs
                    .enumerate()
                    .map(|(s, x)| (s as f64 - t_mean) * (x - mean))
                    .sum();
                for (k, v) in [mean, var.sqrt(), min, max, cov / t_var]
                    .into_iter()
                    .enumerate()
                {
                    stats[k].push(v);
                }
            }
        }
        (0..WINDOW_STATS.len())
            .map(|k| by_channel.iter().map(|stats| stats[k].clone()).collect())
            .collect()
    }

    /// The `c × c` Pearson correlation matrix of the channels over every time step of every
    /// window (row-major); see [`correlation_matrix`].
    pub fn channel_correlation(&self) -> Vec<f64> {
        let columns: Vec<Vec<f64>> = (0..self.c)
            .map(|ch| {
                (0..self.n)
                    .flat_map(|w| (0..self.t).map(move |s| (w, s)))
                    .map(|(w, s)| self.at(w, s, ch))
                    .collect()
            })
            .collect();
        correlation_matrix(&columns).concat()
    }

    /// The mean over windows of each channel's autocorrelation at lags `1..=max_lag`
    /// (`out[ch][lag - 1]`; biased estimator: sum over the overlap divided by the window's
    /// total squared deviation; a constant window contributes 0).
    pub fn mean_autocorrelation(&self, max_lag: usize) -> Vec<Vec<f64>> {
        let lags = max_lag.min(self.t - 1);
        let mut out = vec![vec![0.0; lags]; self.c];
        for w in 0..self.n {
            for (ch, acf) in out.iter_mut().enumerate() {
                let xs: Vec<f64> = (0..self.t).map(|s| self.at(w, s, ch)).collect();
                let mean = xs.iter().sum::<f64>() / self.t as f64;
                let denom: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
                if denom <= 0.0 {
                    continue;
                }
                for (k, a) in acf.iter_mut().enumerate() {
                    let lag = k + 1;
                    let num: f64 = (0..self.t - lag)
                        .map(|s| (xs[s] - mean) * (xs[s + lag] - mean))
                        .sum();
                    *a += num / denom;
                }
            }
        }
        for acf in &mut out {
            acf.iter_mut().for_each(|a| *a /= self.n as f64);
        }
        out
    }
}

/// The Frobenius norm of `a − b` (matrices of equal size, row-major).
pub fn frobenius_distance(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The Pearson correlation matrix of `columns` (each one variable's values, all of one
/// length). A constant column has correlation 0 with every other column and 1 with itself.
pub fn correlation_matrix(columns: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let c = columns.len();
    let m = columns.first().map_or(0, |col| col.len()).max(1) as f64;
    let mean: Vec<f64> = columns
        .iter()
        .map(|col| col.iter().sum::<f64>() / m)
        .collect();
    let rows = columns.first().map_or(0, |col| col.len());
    let mut cov = vec![vec![0.0; c]; c];
    // Row-major over the columns: `r` indexes every column at once.
    #[allow(clippy::needless_range_loop)]
    for r in 0..rows {
        for a in 0..c {
            let da = columns[a][r] - mean[a];
            for b in a..c {
                cov[a][b] += da * (columns[b][r] - mean[b]);
            }
        }
    }
    let mut corr = vec![vec![0.0; c]; c];
    for a in 0..c {
        for b in a..c {
            let denom = (cov[a][a] * cov[b][b]).sqrt();
            let r = if a == b {
                1.0
            } else if denom > 0.0 {
                (cov[a][b] / denom).clamp(-1.0, 1.0)
            } else {
                0.0
            };
            corr[a][b] = r;
            corr[b][a] = r;
        }
    }
    corr
}

/// The mean absolute difference of two sets' mean autocorrelation functions, per channel.
pub fn autocorrelation_distance(
    real: &Windows<'_>,
    synthetic: &Windows<'_>,
    max_lag: usize,
) -> Vec<f64> {
    let (a, b) = (
        real.mean_autocorrelation(max_lag),
        synthetic.mean_autocorrelation(max_lag),
    );
    a.iter()
        .zip(&b)
        .map(|(x, y)| {
            let n = x.len().min(y.len()).max(1) as f64;
            x.iter().zip(y).map(|(p, q)| (p - q).abs()).sum::<f64>() / n
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two windows of 4 steps and 2 channels: channel 0 a ramp, channel 1 its negative + 1.
    fn ramps() -> Vec<f64> {
        let mut v = Vec::new();
        for w in 0..2 {
            for s in 0..4 {
                let x = (w * 10 + s) as f64;
                v.extend([x, 1.0 - x]);
            }
        }
        v
    }

    #[test]
    fn window_statistics_of_ramps_are_exact() {
        let data = ramps();
        let w = Windows::new(&data, 2, 4, 2).unwrap();
        let st = w.window_stats();
        assert_eq!(st[0][0], vec![1.5, 11.5]); // mean
        let sd = (1.25f64).sqrt(); // population sd of 0, 1, 2, 3
        assert!((st[1][0][0] - sd).abs() < 1e-15 && (st[1][1][1] - sd).abs() < 1e-15);
        assert_eq!(st[2][0], vec![0.0, 10.0]); // min
        assert_eq!(st[3][1], vec![1.0, -9.0]); // max of 1 - x
        assert!((st[4][0][0] - 1.0).abs() < 1e-15 && (st[4][1][1] + 1.0).abs() < 1e-15);
    }

    #[test]
    fn correlation_matrix_and_frobenius_distance() {
        let data = ramps();
        let w = Windows::new(&data, 2, 4, 2).unwrap();
        let r = w.channel_correlation();
        assert!((r[0] - 1.0).abs() < 1e-15 && (r[3] - 1.0).abs() < 1e-15);
        assert!((r[1] + 1.0).abs() < 1e-12 && r[1] == r[2]);
        assert_eq!(frobenius_distance(&r, &r), 0.0);
        let id = [1.0, 0.0, 0.0, 1.0];
        assert!((frobenius_distance(&r, &id) - 2f64.sqrt()).abs() < 1e-12);
        // A constant channel correlates with nothing.
        let flat: Vec<f64> = (0..8).flat_map(|s| [s as f64, 3.0]).collect();
        let r = Windows::new(&flat, 1, 8, 2).unwrap().channel_correlation();
        assert_eq!(r, vec![1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn autocorrelation_of_an_alternating_signal_and_its_distance() {
        // +1, -1, +1, … : lag-1 autocorrelation (biased) = -(t-1)/t.
        let t = 10;
        let alt: Vec<f64> = (0..t)
            .map(|s| if s % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let w = Windows::new(&alt, 1, t, 1).unwrap();
        let acf = w.mean_autocorrelation(2);
        assert!((acf[0][0] + 0.9).abs() < 1e-15, "{acf:?}");
        assert!((acf[0][1] - 0.8).abs() < 1e-15, "{acf:?}");
        assert_eq!(autocorrelation_distance(&w, &w, 2), vec![0.0]);
        let ramp: Vec<f64> = (0..t).map(|s| s as f64).collect();
        let r = Windows::new(&ramp, 1, t, 1).unwrap();
        assert!(autocorrelation_distance(&w, &r, 2)[0] > 0.9);
    }

    #[test]
    fn bad_shapes_and_values_are_errors() {
        assert!(Windows::new(&[1.0; 5], 1, 3, 2).is_err());
        assert!(Windows::new(&[1.0; 2], 1, 1, 2).is_err());
        let mut v = vec![0.0; 12];
        v[7] = f64::NAN;
        let e = Windows::new(&v, 2, 3, 2).unwrap_err().to_string();
        assert!(e.contains("index 7"), "{e}");
    }
}
