//! Aggregate statistics of a real dataset store the user owns (`--real`), compared with a
//! job's synthetic subjects: per-channel histograms on bins fixed by the real data's range,
//! and the 6 × 6 correlation matrices of the channels over all seconds. No real window, row
//! or subject-level value leaves the server; only these aggregates.
//!
//! May depend on: data, evaluation::fidelity (the correlation matrix).

use serde_json::{json, Value};

use crate::data::{Dataset, CHANNELS, N_CHANNELS};
use crate::evaluation::fidelity::correlation_matrix;

/// Histogram bins per channel.
pub const BINS: usize = 40;

/// The real store's aggregates, computed once at start-up.
pub struct RealStats {
    pub name: String,
    pub subjects: usize,
    pub windows: usize,
    /// Per channel: BINS + 1 edges.
    edges: Vec<Vec<f64>>,
    /// Per channel: densities (fractions of all seconds) per bin.
    real: Vec<Vec<f64>>,
    correlation: Vec<Vec<f64>>,
}

fn columns(ds: &Dataset, c: usize) -> impl Iterator<Item = f64> + '_ {
    ds.subjects
        .iter()
        .flat_map(move |s| s.channels[c].iter().copied())
}

/// (fractions per bin, fraction below, fraction above) of `values` on `edges`.
fn histogram(values: impl Iterator<Item = f64>, edges: &[f64]) -> (Vec<f64>, f64, f64) {
    let bins = edges.len() - 1;
    let (lo, hi) = (edges[0], edges[bins]);
    let mut counts = vec![0usize; bins];
    let (mut below, mut above, mut n) = (0usize, 0usize, 0usize);
    for v in values {
        n += 1;
        if v < lo {
            below += 1;
        } else if v > hi {
            above += 1;
        } else {
            let width = (hi - lo).max(f64::MIN_POSITIVE);
            let b = (((v - lo) / width) * bins as f64).floor() as usize;
            counts[b.min(bins - 1)] += 1;
        }
    }
    let n = n.max(1) as f64;
    (
        counts.iter().map(|&c| c as f64 / n).collect(),
        below as f64 / n,
        above as f64 / n,
    )
}

/// Pearson correlations of the channels over all seconds (a constant channel: 0 with the
/// others, 1 with itself).
fn correlation(ds: &Dataset) -> Vec<Vec<f64>> {
    let channels: Vec<Vec<f64>> = (0..N_CHANNELS).map(|c| columns(ds, c).collect()).collect();
    correlation_matrix(&channels)
}

impl RealStats {
    pub fn new(name: &str, ds: &Dataset) -> RealStats {
        let edges: Vec<Vec<f64>> = (0..N_CHANNELS)
            .map(|c| {
                let lo = columns(ds, c).fold(f64::INFINITY, f64::min);
                let hi = columns(ds, c).fold(f64::NEG_INFINITY, f64::max);
                let (lo, hi) = if lo.is_finite() && hi > lo {
                    (lo, hi)
                } else {
                    (0.0, 1.0)
                };
                (0..=BINS)
                    .map(|i| lo + (hi - lo) * i as f64 / BINS as f64)
                    .collect()
            })
            .collect();
        let real = (0..N_CHANNELS)
            .map(|c| histogram(columns(ds, c), &edges[c]).0)
            .collect();
        RealStats {
            name: name.to_string(),
            subjects: ds.subjects.len(),
            windows: ds.subjects.iter().map(|s| s.len() / 60).sum(),
            edges,
            real,
            correlation: correlation(ds),
        }
    }

    /// `{name, subjects, windows}`.
    pub fn describe(&self) -> Value {
        json!({"name": self.name, "subjects": self.subjects, "windows": self.windows})
    }

    /// The comparison of `synthetic` with these aggregates.
    pub fn compare(&self, synthetic: &Dataset) -> Value {
        let channels: Vec<Value> = (0..N_CHANNELS)
            .map(|c| {
                let (syn, below, above) = histogram(columns(synthetic, c), &self.edges[c]);
                json!({
                    "channel": CHANNELS[c],
                    "edges": self.edges[c],
                    "real": self.real[c],
                    "synthetic": syn,
                    "synthetic_below": below,
                    "synthetic_above": above,
                })
            })
            .collect();
        json!({
            "real": self.describe(),
            "channels": channels,
            "correlation": {
                "channels": CHANNELS,
                "real": self.correlation,
                "synthetic": correlation(synthetic),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{LabelMap, Provenance, SourceKind, Subject};

    fn ds(scale: f64) -> Dataset {
        Dataset {
            subjects: vec![Subject {
                id: 1,
                channels: std::array::from_fn(|c| {
                    (0..120)
                        .map(|r| {
                            let x = r as f64 / 119.0;
                            if c == 1 {
                                1.0 - x * scale
                            } else {
                                x * scale
                            }
                        })
                        .collect()
                }),
                labels: vec![0; 120],
            }],
            label_map: LabelMap::Binary,
            sampling_rate_hz: 1.0,
            source: Provenance {
                kind: SourceKind::Generator,
                path: String::new(),
                sha256: String::new(),
                note: String::new(),
            },
        }
    }

    #[test]
    fn histograms_share_the_real_bins_and_count_what_falls_outside() {
        let stats = RealStats::new("real.h5", &ds(1.0));
        let same = stats.compare(&ds(1.0));
        let ch = &same["channels"][0];
        assert_eq!(ch["edges"].as_array().unwrap().len(), BINS + 1);
        let real: f64 = ch["real"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((real - 1.0).abs() < 1e-12);
        assert_eq!(ch["real"], ch["synthetic"]);
        let wider = stats.compare(&ds(2.0));
        let above = wider["channels"][0]["synthetic_above"].as_f64().unwrap();
        assert!((above - 60.0 / 120.0).abs() < 1e-12, "{above}");
    }

    #[test]
    fn correlations_are_pearson() {
        let stats = RealStats::new("real.h5", &ds(1.0));
        let v = stats.compare(&ds(1.0));
        let r = &v["correlation"]["real"];
        assert!((r[0][0].as_f64().unwrap() - 1.0).abs() < 1e-12);
        assert!((r[0][2].as_f64().unwrap() - 1.0).abs() < 1e-12);
        assert!((r[0][1].as_f64().unwrap() + 1.0).abs() < 1e-12);
    }
}
