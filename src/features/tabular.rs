//! Tabular records made ready for the BGAN, by public rules only: each user's first K records
//! kept (K the domains file's public `max_records_per_user`, which bounds a user's
//! contribution), every value clipped into its column's public domain, then scaled to
//! [−1, 1] by that domain (and back after generation, clipped and rounded for whole-number
//! columns). Nothing here reads a statistic of the private data.
//!
//! May depend on: data::tabular, config::tabular_domains.

use crate::config::tabular_domains::ColumnDomain;
use crate::data::tabular::TabularData;

/// `data` with at most `k` records per user (each user's first k in file order); returns the
/// kept data and the number of records dropped.
pub fn bound_contributions(data: &TabularData, k: usize) -> (TabularData, usize) {
    let mut seen: std::collections::HashMap<u64, usize> = Default::default();
    let keep: Vec<bool> = data
        .users
        .iter()
        .map(|u| {
            let n = seen.entry(*u).or_insert(0);
            *n += 1;
            *n <= k
        })
        .collect();
    let dropped = keep.iter().filter(|k| !**k).count();
    let rows: Vec<usize> = (0..data.len()).filter(|&r| keep[r]).collect();
    let kept = data.rows(&rows);
    (kept, dropped)
}

/// A value of the domain mapped to [−1, 1] (clipped first).
pub fn to_unit(d: &ColumnDomain, v: f64) -> f64 {
    let v = v.clamp(d.min, d.max);
    2.0 * (v - d.min) / d.width() - 1.0
}

/// A value in [−1, 1] mapped back into the domain (clipped, rounded for whole numbers).
pub fn from_unit(d: &ColumnDomain, u: f64) -> f64 {
    d.clip(d.min + (u.clamp(-1.0, 1.0) + 1.0) * 0.5 * d.width())
}

/// Every record scaled to [−1, 1] by the column domains (in the data's column order).
pub fn scale_records(values: &[Vec<f64>], domains: &[ColumnDomain]) -> Vec<Vec<f32>> {
    values
        .iter()
        .map(|r| {
            r.iter()
                .zip(domains)
                .map(|(v, d)| to_unit(d, *v) as f32)
                .collect()
        })
        .collect()
}

/// Generated records in [−1, 1] mapped back into the domains.
pub fn unscale_records(values: &[Vec<f32>], domains: &[ColumnDomain]) -> Vec<Vec<f64>> {
    values
        .iter()
        .map(|r| {
            r.iter()
                .zip(domains)
                .map(|(u, d)| from_unit(d, *u as f64))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tabular_domains::ColumnClass;

    fn dom(min: f64, max: f64, integer: bool) -> ColumnDomain {
        ColumnDomain {
            name: "c".into(),
            class: ColumnClass::Behavioural,
            min,
            max,
            integer,
        }
    }

    #[test]
    fn scaling_round_trips_inside_the_domain_and_clips_outside() {
        let d = dom(0.0, 1440.0, true);
        assert_eq!(to_unit(&d, 0.0), -1.0);
        assert_eq!(to_unit(&d, 1440.0), 1.0);
        assert_eq!(to_unit(&d, 2000.0), 1.0);
        assert_eq!(from_unit(&d, to_unit(&d, 728.0)), 728.0);
        assert_eq!(from_unit(&d, 0.00001), 720.0);
        assert_eq!(from_unit(&d, -3.0), 0.0);
        let c = dom(-5.0, 5.0, false);
        assert!((from_unit(&c, to_unit(&c, 1.2345)) - 1.2345).abs() < 1e-12);
    }

    #[test]
    fn each_user_keeps_its_first_k_records() {
        let data = TabularData {
            columns: vec!["a".into()],
            users: vec![1, 2, 1, 1, 2],
            dates: None,
            values: (0..5).map(|i| vec![i as f64]).collect(),
            path: String::new(),
            sha256: String::new(),
            kind: "numeric-csv".into(),
        };
        let (kept, dropped) = bound_contributions(&data, 2);
        assert_eq!(dropped, 1);
        assert_eq!(kept.users, vec![1, 2, 1, 2]);
        assert_eq!(
            kept.values,
            vec![vec![0.0], vec![1.0], vec![2.0], vec![4.0]]
        );
    }
}
