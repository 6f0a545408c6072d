//! Real against synthetic tabular records (the Imtiaz et al. evaluation and more): per column
//! the two-sample Kolmogorov–Smirnov statistic and p-value (scipy's `ks_2samp`, the paper's
//! metric), means and standard deviations; the largest and the root-mean-square difference of
//! the Pearson correlation matrices; and, given a holdout of users the generator never saw,
//! the distance to closest record on records scaled to [−1, 1] by the public domains.
//!
//! May depend on: evaluation::fidelity (KS, correlation), evaluation::aggregate (mean, sd),
//! evaluation::leakage (DCR).

use serde::Serialize;

use super::aggregate::{mean, sample_sd};
use super::fidelity::correlation_matrix;
use super::fidelity::ks::{ks_2samp, KsResult};
use super::leakage::{dcr_summary, DcrSummary};

/// One column, real against synthetic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ColumnComparison {
    pub column: String,
    pub real_mean: f64,
    pub real_sd: f64,
    pub synthetic_mean: f64,
    pub synthetic_sd: f64,
    pub ks: KsResult,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TabularComparison {
    pub real_records: usize,
    pub synthetic_records: usize,
    pub columns: Vec<ColumnComparison>,
    /// max |r_real − r_synthetic| over column pairs (a constant column has r = 0 with the others).
    pub correlation_max_abs_diff: f64,
    /// Root mean square of r_real − r_synthetic over the pairs above the diagonal.
    pub correlation_rms_diff: f64,
    /// Columns whose KS p-value is above 0.05 (same distribution not rejected).
    pub columns_not_rejected: usize,
}

/// Mean and sample standard deviation (the project's [`super::aggregate`] rules).
fn mean_sd(v: &[f64]) -> Result<(f64, f64), String> {
    let m = mean(v).map_err(|e| e.to_string())?;
    let sd = sample_sd(v).map_err(|e| e.to_string())?.unwrap_or(0.0);
    Ok((m, sd))
}

fn column(records: &[Vec<f64>], c: usize) -> Vec<f64> {
    records.iter().map(|r| r[c]).collect()
}

/// Compares `synthetic` with `real` (records × columns, the same column order).
pub fn compare(
    real: &[Vec<f64>],
    synthetic: &[Vec<f64>],
    names: &[String],
) -> Result<TabularComparison, String> {
    let width = names.len();
    if real.len() < 2 || synthetic.len() < 2 {
        return Err(format!(
            "need at least 2 real and 2 synthetic records (have {} and {})",
            real.len(),
            synthetic.len()
        ));
    }
    if let Some(r) = real.iter().chain(synthetic).find(|r| r.len() != width) {
        return Err(format!("a record has {} values, not {width}", r.len()));
    }
    let columns_of = |records: &[Vec<f64>]| -> Vec<Vec<f64>> {
        (0..width).map(|c| column(records, c)).collect()
    };
    let (real_cols, syn_cols) = (columns_of(real), columns_of(synthetic));
    let mut columns = Vec::with_capacity(width);
    for ((name, x), y) in names.iter().zip(&real_cols).zip(&syn_cols) {
        let ks = ks_2samp(x, y).map_err(|e| format!("column {name}: {e}"))?;
        let (rm, rs) = mean_sd(x).map_err(|e| format!("column {name}: {e}"))?;
        let (sm, ss) = mean_sd(y).map_err(|e| format!("column {name}: {e}"))?;
        columns.push(ColumnComparison {
            column: name.clone(),
            real_mean: rm,
            real_sd: rs,
            synthetic_mean: sm,
            synthetic_sd: ss,
            ks,
        });
    }
    let (cr, cs) = (
        correlation_matrix(&real_cols),
        correlation_matrix(&syn_cols),
    );
    let mut max_abs: f64 = 0.0;
    let (mut sq, mut pairs) = (0.0, 0usize);
    for a in 0..width {
        for b in a + 1..width {
            let d = cr[a][b] - cs[a][b];
            max_abs = max_abs.max(d.abs());
            sq += d * d;
            pairs += 1;
        }
    }
    Ok(TabularComparison {
        real_records: real.len(),
        synthetic_records: synthetic.len(),
        columns_not_rejected: columns.iter().filter(|c| c.ks.pvalue > 0.05).count(),
        columns,
        correlation_max_abs_diff: max_abs,
        correlation_rms_diff: if pairs > 0 {
            (sq / pairs as f64).sqrt()
        } else {
            0.0
        },
    })
}

/// Distance to closest record of synthetic records to the training users' records and to a
/// holdout of users, all scaled to [−1, 1] by the public domains beforehand.
pub fn user_holdout_dcr(
    synthetic_scaled: &[Vec<f64>],
    train_scaled: &[Vec<f64>],
    holdout_scaled: &[Vec<f64>],
) -> Result<DcrSummary, String> {
    dcr_summary(synthetic_scaled, train_scaled, holdout_scaled).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn identical_samples_agree_and_shifted_ones_do_not() {
        let real: Vec<Vec<f64>> = (0..200)
            .map(|i| vec![i as f64, 2.0 * i as f64 + 1.0])
            .collect();
        let same = compare(&real, &real, &names(2)).unwrap();
        assert_eq!(same.columns[0].ks.statistic, 0.0);
        assert_eq!(same.columns_not_rejected, 2);
        assert!(same.correlation_max_abs_diff < 1e-12);
        let shifted: Vec<Vec<f64>> = real.iter().map(|r| vec![r[0] + 100.0, -r[1]]).collect();
        let c = compare(&real, &shifted, &names(2)).unwrap();
        assert!((c.columns[0].ks.statistic - 0.5).abs() < 1e-12);
        assert!(c.columns[0].ks.pvalue < 1e-6);
        assert!(
            (c.correlation_max_abs_diff - 2.0).abs() < 1e-12,
            "r = 1 against r = −1"
        );
        assert!((c.columns[0].synthetic_mean - c.columns[0].real_mean - 100.0).abs() < 1e-9);
        assert!(compare(&real[..1], &real, &names(2)).is_err());
        assert!(compare(&real, &real, &names(3)).is_err());
    }

    #[test]
    fn the_ks_statistic_is_scipys() {
        // scipy.stats.ks_2samp([1, 2, 3, 4], [3, 4, 5, 6, 7]): statistic 0.6, exact p ≈ 0.2857.
        let real: Vec<Vec<f64>> = [1.0, 2.0, 3.0, 4.0].iter().map(|&v| vec![v]).collect();
        let syn: Vec<Vec<f64>> = [3.0, 4.0, 5.0, 6.0, 7.0].iter().map(|&v| vec![v]).collect();
        let c = compare(&real, &syn, &names(1)).unwrap();
        assert!((c.columns[0].ks.statistic - 0.6).abs() < 1e-12);
        assert!(
            (c.columns[0].ks.pvalue - 0.285_714_285_714_285_7).abs() < 1e-9,
            "{}",
            c.columns[0].ks.pvalue
        );
    }
}
