//! The inputs of tables and figures — grid points aggregated over their replicates
//! ([`PointResult`]) and the experiment's axes in display order ([`AxisOrder`]) — and the
//! summary of one point ([`Entry`]: mean, sample sd, counts, status).
//!
//! Conventions, shared by tables and figures:
//! - A grid point with **no `PointResult`** was not planned (the combination is not in the
//!   grid, e.g. when the experiment is a union of sub-grids): status
//!   [`EntryStatus::NotPlanned`], rendered "n/a".
//! - A `PointResult` with **no values** was planned but has no finished replicate:
//!   [`EntryStatus::Missing`], rendered "— (0/expected)". Never dropped.
//! - Fewer finished replicates than expected: [`EntryStatus::Partial`].
//! - A value that is NaN or infinite is an undefined metric (e.g. an F1 with no positive
//!   prediction in a strict convention): it counts as a finished replicate (`n`) and in
//!   `n_undefined`, and is excluded from the mean and sd.
//! - mean and sd come from [`crate::evaluation::aggregate`] (sample sd with ddof = 1, `None`
//!   for fewer than two defined values), so that there is one sd implementation in the crate.
//!
//! Every point must assign a value to every axis of the experiment, and that value must be one
//! of the axis's values; violations are errors, never silently dropped results.
//!
//! May depend on: serde, the pure `evaluation::aggregate` functions, this module's error.
//! Must never use tch or mpi.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::error::ReportError;
use crate::evaluation::aggregate;

/// One grid point aggregated over its replicates: a metric value per finished replicate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Axis name → display value, e.g. "epsilon" → "1".
    pub axes: BTreeMap<String, String>,
    /// One per finished replicate (NaN allowed: an undefined metric).
    pub values: Vec<f64>,
    /// Replicates planned.
    pub expected: usize,
}

/// One axis of the experiment with its values in display order (as in the experiment file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxisOrder {
    /// The axis name as in the experiment file and in [`PointResult::axes`], e.g. "epsilon".
    pub name: String,
    /// The display label, e.g. "ε (RDP, δ=1e-5, window)".
    pub label: String,
    /// Display values in display order.
    pub values: Vec<String>,
}

/// Whether a table entry or figure point has results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// All planned replicates finished (`n ≥ expected`, `n > 0`).
    Complete,
    /// Some but not all planned replicates finished.
    Partial,
    /// Planned, but no replicate finished.
    Missing,
    /// Not a point of the grid (no `PointResult`).
    NotPlanned,
}

impl EntryStatus {
    /// The status as written in CSV files: `complete`, `partial`, `missing`, `not_planned`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Partial => "partial",
            Self::Missing => "missing",
            Self::NotPlanned => "not_planned",
        }
    }
}

/// The summary of one grid point over its replicates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub status: EntryStatus,
    /// Mean of the defined (finite) values; `None` when there is none.
    pub mean: Option<f64>,
    /// Sample sd (ddof = 1) of the defined values; `None` for fewer than two.
    pub sd: Option<f64>,
    /// Finished replicates, undefined ones included.
    pub n: usize,
    /// Finished replicates whose value is NaN or infinite.
    pub n_undefined: usize,
    /// Replicates planned (0 when not planned).
    pub expected: usize,
}

impl Entry {
    /// The entry of a grid point: `None` is a point that is not in the grid.
    pub fn of(point: Option<&PointResult>) -> Self {
        let Some(point) = point else {
            return Self {
                status: EntryStatus::NotPlanned,
                mean: None,
                sd: None,
                n: 0,
                n_undefined: 0,
                expected: 0,
            };
        };
        let defined: Vec<f64> = point
            .values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        let n = point.values.len();
        // The values are finite and, for `mean`, non-empty: the aggregate functions cannot fail.
        let (mean, sd) = if defined.is_empty() {
            (None, None)
        } else {
            (
                aggregate::mean(&defined).ok(),
                aggregate::sample_sd(&defined).ok().flatten(),
            )
        };
        let status = if n == 0 {
            EntryStatus::Missing
        } else if n < point.expected {
            EntryStatus::Partial
        } else {
            EntryStatus::Complete
        };
        Self {
            status,
            mean,
            sd,
            n,
            n_undefined: n - defined.len(),
            expected: point.expected,
        }
    }
}

/// Validated points indexed by their full axis assignment (values in the order of `axes`).
pub(crate) struct Grid<'a> {
    pub axes: &'a [AxisOrder],
    index: HashMap<Vec<&'a str>, &'a PointResult>,
    task: String,
}

/// `name=value, …` for messages.
pub(crate) fn describe(axes: &BTreeMap<String, String>) -> String {
    axes.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'a> Grid<'a> {
    /// Validates the axis order and the points. `task` prefixes error messages
    /// ("build table `…`").
    pub fn new(
        points: &'a [PointResult],
        axes: &'a [AxisOrder],
        task: String,
    ) -> Result<Self, ReportError> {
        let mut names = BTreeSet::new();
        for axis in axes {
            if !names.insert(axis.name.as_str()) {
                return Err(ReportError::BadAxisOrder {
                    task,
                    detail: format!("axis `{}` is listed twice", axis.name),
                });
            }
            let mut values = BTreeSet::new();
            for value in &axis.values {
                if !values.insert(value.as_str()) {
                    return Err(ReportError::BadAxisOrder {
                        task,
                        detail: format!("axis `{}` lists value `{value}` twice", axis.name),
                    });
                }
            }
        }
        if points.is_empty() {
            return Err(ReportError::NoPoints { task });
        }
        let mut index = HashMap::with_capacity(points.len());
        for point in points {
            let bad = |detail: String| ReportError::BadPoint {
                task: task.clone(),
                point: describe(&point.axes),
                detail,
            };
            if let Some(extra) = point.axes.keys().find(|k| !names.contains(k.as_str())) {
                return Err(bad(format!(
                    "has axis `{extra}`, which is not an axis of the experiment (axes: {})",
                    axis_names(axes)
                )));
            }
            let mut key = Vec::with_capacity(axes.len());
            for axis in axes {
                let Some(value) = point.axes.get(&axis.name) else {
                    return Err(bad(format!("has no value for axis `{}`", axis.name)));
                };
                if !axis.values.contains(value) {
                    return Err(bad(format!(
                        "has value `{value}` for axis `{}`, which is not one of its values ({})",
                        axis.name,
                        axis.values.join(", ")
                    )));
                }
                key.push(value.as_str());
            }
            if index.insert(key, point).is_some() {
                return Err(ReportError::DuplicatePoint {
                    task,
                    point: describe(&point.axes),
                });
            }
        }
        Ok(Self { axes, index, task })
    }

    pub fn task(&self) -> &str {
        &self.task
    }

    /// The indices in `axes` of the named axes; errors on an unknown or repeated name
    /// (`used` holds indices already taken by another role, e.g. the row axes).
    pub fn resolve(
        &self,
        names: &[String],
        used: &mut Vec<usize>,
    ) -> Result<Vec<usize>, ReportError> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let Some(i) = self.axes.iter().position(|a| &a.name == name) else {
                return Err(ReportError::UnknownAxis {
                    task: self.task.clone(),
                    axis: name.clone(),
                    known: axis_names(self.axes),
                });
            };
            if used.contains(&i) {
                return Err(ReportError::AxisRepeated {
                    task: self.task.clone(),
                    axis: name.clone(),
                });
            }
            used.push(i);
            out.push(i);
        }
        Ok(out)
    }

    /// The values of axis `i` that occur among the points, in display order.
    pub fn values_present(&self, i: usize) -> Vec<&'a str> {
        let present: BTreeSet<&str> = self.index.keys().map(|k| k[i]).collect();
        self.axes[i]
            .values
            .iter()
            .map(String::as_str)
            .filter(|v| present.contains(v))
            .collect()
    }

    /// The point with the given full assignment (`key[i]` is the value of axis `i`).
    pub fn get(&self, key: &[&str]) -> Option<&'a PointResult> {
        self.index.get(key).copied()
    }

    /// Whether any point matches the partial assignment `(axis index, value)*`.
    pub fn any_matches(&self, partial: &[(usize, &str)]) -> bool {
        self.index
            .keys()
            .any(|k| partial.iter().all(|&(i, v)| k[i] == v))
    }

    /// Every combination of the values of the given axes, the first axis varying slowest,
    /// each axis in display order. One empty combination for no axes.
    pub fn combinations(&self, axis_indices: &[usize]) -> Vec<Vec<&'a str>> {
        let mut out: Vec<Vec<&'a str>> = vec![Vec::new()];
        for &i in axis_indices {
            let mut next = Vec::with_capacity(out.len() * self.axes[i].values.len());
            for prefix in &out {
                for value in &self.axes[i].values {
                    let mut c = prefix.clone();
                    c.push(value.as_str());
                    next.push(c);
                }
            }
            out = next;
        }
        out
    }

    /// Errors when an axis in `hidden` takes more than one value among the points.
    pub fn check_single_valued(
        &self,
        hidden: &[usize],
        placement: &'static str,
        alternative: &'static str,
    ) -> Result<(), ReportError> {
        for &i in hidden {
            let values = self.values_present(i);
            if values.len() > 1 {
                return Err(ReportError::AxisNotShown {
                    task: self.task.clone(),
                    axis: self.axes[i].name.clone(),
                    n: values.len(),
                    values: values.join(", "),
                    placement,
                    alternative,
                });
            }
        }
        Ok(())
    }
}

fn axis_names(axes: &[AxisOrder]) -> String {
    if axes.is_empty() {
        return "none".to_string();
    }
    axes.iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(values: Vec<f64>, expected: usize) -> PointResult {
        PointResult {
            axes: BTreeMap::new(),
            values,
            expected,
        }
    }

    #[test]
    fn entry_mean_and_sample_sd_by_hand() {
        // 0.1, 0.2, 0.6: mean 0.3; deviations −0.2, −0.1, 0.3; ss = 0.14; sd = sqrt(0.07).
        let e = Entry::of(Some(&point(vec![0.1, 0.2, 0.6], 3)));
        assert_eq!(e.status, EntryStatus::Complete);
        assert!((e.mean.unwrap() - 0.3).abs() < 1e-15);
        assert!((e.sd.unwrap() - 0.07f64.sqrt()).abs() < 1e-15);
        assert_eq!((e.n, e.n_undefined, e.expected), (3, 0, 3));
    }

    #[test]
    fn entry_single_value_has_no_sd() {
        let e = Entry::of(Some(&point(vec![0.5], 4)));
        assert_eq!(e.status, EntryStatus::Partial);
        assert_eq!(e.mean, Some(0.5));
        assert_eq!(e.sd, None);
    }

    #[test]
    fn entry_nan_is_counted_but_excluded() {
        let e = Entry::of(Some(&point(vec![0.4, f64::NAN, 0.8, f64::INFINITY], 4)));
        assert_eq!(e.status, EntryStatus::Complete);
        assert_eq!((e.n, e.n_undefined), (4, 2));
        assert!((e.mean.unwrap() - 0.6).abs() < 1e-15);
        // (0.4 − 0.6)² + (0.8 − 0.6)² = 0.08, / 1 → sd = sqrt(0.08).
        assert!((e.sd.unwrap() - 0.08f64.sqrt()).abs() < 1e-15);

        let all_nan = Entry::of(Some(&point(vec![f64::NAN, f64::NAN], 2)));
        assert_eq!(all_nan.status, EntryStatus::Complete);
        assert_eq!(
            (all_nan.mean, all_nan.sd, all_nan.n_undefined),
            (None, None, 2)
        );
    }

    #[test]
    fn entry_missing_versus_not_planned() {
        let missing = Entry::of(Some(&point(vec![], 10)));
        assert_eq!(missing.status, EntryStatus::Missing);
        assert_eq!((missing.n, missing.expected), (0, 10));
        let not_planned = Entry::of(None);
        assert_eq!(not_planned.status, EntryStatus::NotPlanned);
        assert_eq!(not_planned.expected, 0);
    }

    fn axes() -> Vec<AxisOrder> {
        vec![AxisOrder {
            name: "epsilon".into(),
            label: "ε".into(),
            values: vec!["1".into(), "10".into()],
        }]
    }

    fn at(eps: &str) -> PointResult {
        PointResult {
            axes: [("epsilon".to_string(), eps.to_string())].into(),
            values: vec![0.5],
            expected: 1,
        }
    }

    #[test]
    fn grid_rejects_bad_points() {
        let axes = axes();
        let unknown_value = [at("3")];
        let err = Grid::new(&unknown_value, &axes, "t".into()).err().unwrap();
        assert!(
            err.to_string().contains("value `3` for axis `epsilon`"),
            "{err}"
        );

        let mut extra = at("1");
        extra.axes.insert("seed".into(), "1".into());
        let err = Grid::new(std::slice::from_ref(&extra), &axes, "t".into())
            .err()
            .unwrap();
        assert!(err.to_string().contains("axis `seed`"), "{err}");

        let dup = [at("1"), at("1")];
        let err = Grid::new(&dup, &axes, "t".into()).err().unwrap();
        assert!(matches!(err, ReportError::DuplicatePoint { .. }), "{err}");

        let none: [PointResult; 0] = [];
        assert!(matches!(
            Grid::new(&none, &axes, "t".into()),
            Err(ReportError::NoPoints { .. })
        ));

        let mut twice = axes.clone();
        twice.push(axes[0].clone());
        let ok = [at("1")];
        assert!(matches!(
            Grid::new(&ok, &twice, "t".into()),
            Err(ReportError::BadAxisOrder { .. })
        ));
    }
}
