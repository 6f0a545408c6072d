//! Result tables: grid points laid out as rows × columns of axis-value combinations, each entry
//! the summary of one grid point over its replicates ([`Entry`]). Rendering to Markdown, CSV
//! and LaTeX is in [`super::render`].
//!
//! Layout:
//! - rows are every combination of the row axes' values, columns every combination of the
//!   column axes' values, in [`AxisOrder`] order, the first axis varying slowest. Every
//!   combination is kept, including those with no result (rendered "n/a" when not planned,
//!   "— (0/n)" when planned but not finished: see [`super::points`]).
//! - The other axes ("hidden" axes) must be fixed for an entry to be one grid point:
//!   - [`build_tables`] makes one table per combination of the hidden axes' values that has at
//!     least one planned point, with a subtitle such as "strategy = augment";
//!   - [`build_table`] requires each hidden axis to take a single value among the points
//!     (otherwise an error names the axis and suggests adding it to rows or columns, or using
//!     `build_tables`); the single values are shown in the subtitle.
//! - No row axes gives one row labelled with the metric; no column axes gives one column
//!   headed by the metric.
//!
//! May depend on: serde, this module's points and error. Must never use tch or mpi.

use serde::Serialize;

use super::error::ReportError;
use super::points::{AxisOrder, Entry, EntryStatus, Grid, PointResult};

/// What a table shows: rows and columns are axis names; the remaining axes are fixed per table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableSpec {
    pub title: String,
    /// Axis names whose value combinations make the rows.
    pub rows: Vec<String>,
    /// Axis names whose value combinations make the columns.
    pub columns: Vec<String>,
    /// The metric's display name, e.g. "macro-F1".
    pub metric: String,
}

/// An axis as shown in a table: its name (as in CSV headers) and display label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AxisRef {
    pub name: String,
    pub label: String,
}

/// An axis that is not a row or column axis, with its single value in this table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FixedAxis {
    pub name: String,
    pub label: String,
    pub value: String,
}

/// A built table. Constructed only by [`build_table`] / [`build_tables`], which guarantee its
/// shape: `entries` has one vector per row key and each of those one entry per column key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    title: String,
    metric: String,
    row_axes: Vec<AxisRef>,
    column_axes: Vec<AxisRef>,
    fixed: Vec<FixedAxis>,
    row_keys: Vec<Vec<String>>,
    column_keys: Vec<Vec<String>>,
    entries: Vec<Vec<Entry>>,
}

impl Table {
    pub fn title(&self) -> &str {
        &self.title
    }

    /// "label = value, …" of the fixed (non-row, non-column) axes; `None` when there are none.
    pub fn subtitle(&self) -> Option<String> {
        if self.fixed.is_empty() {
            return None;
        }
        Some(
            self.fixed
                .iter()
                .map(|f| format!("{} = {}", f.label, f.value))
                .collect::<Vec<_>>()
                .join(", "),
        )
    }

    pub fn metric(&self) -> &str {
        &self.metric
    }

    pub fn row_axes(&self) -> &[AxisRef] {
        &self.row_axes
    }

    pub fn column_axes(&self) -> &[AxisRef] {
        &self.column_axes
    }

    /// The axes fixed in this table, in axis order.
    pub fn fixed_axes(&self) -> &[FixedAxis] {
        &self.fixed
    }

    /// Row keys: the row axes' values of each row (empty vectors when there are no row axes).
    pub fn rows(&self) -> &[Vec<String>] {
        &self.row_keys
    }

    /// Column keys: the column axes' values of each column.
    pub fn columns(&self) -> &[Vec<String>] {
        &self.column_keys
    }

    /// `entries()[row][column]`.
    pub fn entries(&self) -> &[Vec<Entry>] {
        &self.entries
    }

    /// The table without the rows and columns whose every entry is "not planned" (the
    /// combinations outside every block of a grid that is a union of products); entries
    /// that are planned but missing stay. A table with nothing planned is returned as is.
    pub fn without_unplanned(mut self) -> Table {
        let planned = |e: &Entry| e.status != EntryStatus::NotPlanned;
        let keep_rows: Vec<bool> = self.entries.iter().map(|l| l.iter().any(planned)).collect();
        let keep_cols: Vec<bool> = (0..self.column_keys.len())
            .map(|c| self.entries.iter().any(|l| planned(&l[c])))
            .collect();
        if !keep_rows.iter().any(|&k| k) {
            return self;
        }
        let mut it = keep_rows.iter();
        self.row_keys
            .retain(|_| *it.next().expect("one flag per row"));
        let mut it = keep_rows.iter();
        self.entries
            .retain(|_| *it.next().expect("one flag per row"));
        let mut it = keep_cols.iter();
        self.column_keys
            .retain(|_| *it.next().expect("one flag per column"));
        for line in &mut self.entries {
            let mut it = keep_cols.iter();
            line.retain(|_| *it.next().expect("one flag per column"));
        }
        self
    }

    /// The entry at (row, column), `None` out of range.
    pub fn entry(&self, row: usize, column: usize) -> Option<&Entry> {
        self.entries.get(row)?.get(column)
    }
}

/// Builds one table; every axis that is neither a row nor a column axis must take a single
/// value among `points` (see the module docs).
pub fn build_table(
    points: &[PointResult],
    axes: &[AxisOrder],
    spec: &TableSpec,
) -> Result<Table, ReportError> {
    let grid = Grid::new(points, axes, format!("build table `{}`", spec.title))?;
    let (rows, columns, hidden) = resolve(&grid, spec)?;
    grid.check_single_valued(
        &hidden,
        "rows or columns",
        "use `build_tables` for one table per value",
    )?;
    let fixed = hidden
        .iter()
        .map(|&i| grid.values_present(i)[0])
        .collect::<Vec<_>>();
    Ok(assemble(&grid, spec, &rows, &columns, &hidden, &fixed))
}

/// Builds one table per combination of the values of the axes that are neither rows nor
/// columns, in axis order, skipping combinations with no planned point. A single table when
/// all axes are rows or columns.
pub fn build_tables(
    points: &[PointResult],
    axes: &[AxisOrder],
    spec: &TableSpec,
) -> Result<Vec<Table>, ReportError> {
    let grid = Grid::new(points, axes, format!("build tables `{}`", spec.title))?;
    let (rows, columns, hidden) = resolve(&grid, spec)?;
    Ok(grid
        .combinations(&hidden)
        .into_iter()
        .filter(|combo| {
            let partial: Vec<(usize, &str)> =
                hidden.iter().copied().zip(combo.iter().copied()).collect();
            grid.any_matches(&partial)
        })
        .map(|combo| assemble(&grid, spec, &rows, &columns, &hidden, &combo))
        .collect())
}

type Roles = (Vec<usize>, Vec<usize>, Vec<usize>);

fn resolve(grid: &Grid<'_>, spec: &TableSpec) -> Result<Roles, ReportError> {
    let mut used = Vec::new();
    let rows = grid.resolve(&spec.rows, &mut used)?;
    let columns = grid.resolve(&spec.columns, &mut used)?;
    let hidden = (0..grid.axes.len()).filter(|i| !used.contains(i)).collect();
    Ok((rows, columns, hidden))
}

fn axis_ref(axis: &AxisOrder) -> AxisRef {
    AxisRef {
        name: axis.name.clone(),
        label: axis.label.clone(),
    }
}

fn assemble(
    grid: &Grid<'_>,
    spec: &TableSpec,
    rows: &[usize],
    columns: &[usize],
    hidden: &[usize],
    fixed_values: &[&str],
) -> Table {
    let row_keys = grid.combinations(rows);
    let column_keys = grid.combinations(columns);
    let mut key = vec![""; grid.axes.len()];
    for (&i, &v) in hidden.iter().zip(fixed_values) {
        key[i] = v;
    }
    let mut entries = Vec::with_capacity(row_keys.len());
    for row in &row_keys {
        for (&i, &v) in rows.iter().zip(row) {
            key[i] = v;
        }
        let mut line = Vec::with_capacity(column_keys.len());
        for column in &column_keys {
            for (&i, &v) in columns.iter().zip(column) {
                key[i] = v;
            }
            line.push(Entry::of(grid.get(&key)));
        }
        entries.push(line);
    }
    let owned = |keys: Vec<Vec<&str>>| -> Vec<Vec<String>> {
        keys.into_iter()
            .map(|k| k.into_iter().map(str::to_string).collect())
            .collect()
    };
    Table {
        title: spec.title.clone(),
        metric: spec.metric.clone(),
        row_axes: rows.iter().map(|&i| axis_ref(&grid.axes[i])).collect(),
        column_axes: columns.iter().map(|&i| axis_ref(&grid.axes[i])).collect(),
        fixed: hidden
            .iter()
            .zip(fixed_values)
            .map(|(&i, &v)| FixedAxis {
                name: grid.axes[i].name.clone(),
                label: grid.axes[i].label.clone(),
                value: v.to_string(),
            })
            .collect(),
        row_keys: owned(row_keys),
        column_keys: owned(column_keys),
        entries,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::reporting::points::EntryStatus;

    pub(crate) fn axis(name: &str, label: &str, values: &[&str]) -> AxisOrder {
        AxisOrder {
            name: name.into(),
            label: label.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    pub(crate) fn pt(assign: &[(&str, &str)], values: &[f64], expected: usize) -> PointResult {
        PointResult {
            axes: assign
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            values: values.to_vec(),
            expected,
        }
    }

    /// classifier × ε × strategy, strategy fixed to "augment" except one "replace" point.
    pub(crate) fn campaign() -> (Vec<AxisOrder>, Vec<PointResult>) {
        let axes = vec![
            axis("classifier", "Classifier", &["cnn", "transformer"]),
            axis("epsilon", "ε (RDP, δ=1e-5, window)", &["0.1", "1", "inf"]),
            axis("strategy", "Strategy", &["augment", "replace"]),
        ];
        let p =
            |c, e, s, v: &[f64], n| pt(&[("classifier", c), ("epsilon", e), ("strategy", s)], v, n);
        let points = vec![
            p("cnn", "0.1", "augment", &[0.70, 0.72, 0.74], 3),
            p("cnn", "1", "augment", &[0.80, 0.81], 3),
            p("cnn", "inf", "augment", &[0.88], 3),
            p("transformer", "0.1", "augment", &[], 3),
            p("transformer", "1", "augment", &[0.6, f64::NAN, 0.7], 3),
            // transformer × inf × augment: not planned.
            p("cnn", "1", "replace", &[0.5, 0.6, 0.7], 3),
        ];
        (axes, points)
    }

    fn spec(rows: &[&str], columns: &[&str]) -> TableSpec {
        TableSpec {
            title: "Macro-F1 by ε".into(),
            rows: rows.iter().map(|s| s.to_string()).collect(),
            columns: columns.iter().map(|s| s.to_string()).collect(),
            metric: "macro-F1".into(),
        }
    }

    #[test]
    fn one_table_per_fixed_combination_in_axis_order() {
        let (axes, points) = campaign();
        let tables = build_tables(&points, &axes, &spec(&["classifier"], &["epsilon"])).unwrap();
        assert_eq!(tables.len(), 2);
        assert_eq!(tables[0].subtitle().as_deref(), Some("Strategy = augment"));
        assert_eq!(tables[1].subtitle().as_deref(), Some("Strategy = replace"));

        let t = &tables[0];
        assert_eq!(
            t.rows(),
            &[vec!["cnn".to_string()], vec!["transformer".to_string()]]
        );
        let cols: Vec<&str> = t.columns().iter().map(|c| c[0].as_str()).collect();
        assert_eq!(cols, ["0.1", "1", "inf"]);
        assert_eq!(t.entries().len(), 2);
        assert!(t.entries().iter().all(|r| r.len() == 3));

        let e = t.entry(0, 0).unwrap();
        assert!((e.mean.unwrap() - 0.72).abs() < 1e-12);
        assert!((e.sd.unwrap() - 0.02).abs() < 1e-12);
        assert_eq!((e.status, e.n, e.expected), (EntryStatus::Complete, 3, 3));
        let e = t.entry(0, 1).unwrap();
        assert!((e.mean.unwrap() - 0.805).abs() < 1e-12);
        // sd of 0.80, 0.81 = 0.01/√2.
        assert!((e.sd.unwrap() - 0.01 / 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(e.status, EntryStatus::Partial);
        assert_eq!(t.entry(0, 2).unwrap().sd, None);
        assert_eq!(t.entry(1, 0).unwrap().status, EntryStatus::Missing);
        let nan = t.entry(1, 1).unwrap();
        assert_eq!((nan.n, nan.n_undefined), (3, 1));
        assert!((nan.mean.unwrap() - 0.65).abs() < 1e-12);
        assert_eq!(t.entry(1, 2).unwrap().status, EntryStatus::NotPlanned);

        // In the "replace" table every combination is still present; only one is planned.
        let r = &tables[1];
        let statuses: Vec<EntryStatus> = r.entries().iter().flatten().map(|e| e.status).collect();
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == EntryStatus::NotPlanned)
                .count(),
            5
        );
        assert_eq!(r.entry(0, 1).unwrap().status, EntryStatus::Complete);
    }

    #[test]
    fn multi_axis_rows_vary_first_axis_slowest() {
        let (axes, points) = campaign();
        let t = build_table(
            &points,
            &axes,
            &spec(&["strategy", "classifier"], &["epsilon"]),
        )
        .unwrap();
        let rows: Vec<String> = t.rows().iter().map(|r| r.join("/")).collect();
        assert_eq!(
            rows,
            [
                "augment/cnn",
                "augment/transformer",
                "replace/cnn",
                "replace/transformer"
            ]
        );
        assert_eq!(t.subtitle(), None);
        // replace/cnn at ε = 1.
        assert!((t.entry(2, 1).unwrap().mean.unwrap() - 0.6).abs() < 1e-12);
    }

    #[test]
    fn build_table_rejects_a_hidden_axis_with_several_values() {
        let (axes, points) = campaign();
        let err = build_table(&points, &axes, &spec(&["classifier"], &["epsilon"])).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("axis `strategy` takes 2 values"), "{msg}");
        assert!(msg.contains("augment, replace"), "{msg}");
        assert!(msg.contains("rows or columns"), "{msg}");
    }

    #[test]
    fn build_table_shows_a_single_valued_hidden_axis_in_the_subtitle() {
        let (axes, mut points) = campaign();
        points.retain(|p| p.axes["strategy"] == "augment");
        let t = build_table(&points, &axes, &spec(&["classifier"], &["epsilon"])).unwrap();
        assert_eq!(t.subtitle().as_deref(), Some("Strategy = augment"));
        assert_eq!(t.fixed_axes()[0].name, "strategy");
    }

    #[test]
    fn spec_errors_name_the_axis() {
        let (axes, points) = campaign();
        let err = build_tables(&points, &axes, &spec(&["model"], &["epsilon"])).unwrap_err();
        assert!(err.to_string().contains("`model` is not an axis"), "{err}");
        let err = build_tables(&points, &axes, &spec(&["epsilon"], &["epsilon"])).unwrap_err();
        assert!(matches!(err, ReportError::AxisRepeated { .. }), "{err}");
    }

    #[test]
    fn no_row_or_column_axes_give_a_single_row_or_column() {
        let (axes, points) = campaign();
        let t = build_tables(&points, &axes, &spec(&[], &["epsilon"])).unwrap();
        assert_eq!(t.len(), 3); // (cnn, augment), (cnn, replace), (transformer, augment)
        assert_eq!(t[0].rows(), &[Vec::<String>::new()]);
        assert_eq!(t[0].entries()[0].len(), 3);
        let t = build_table(
            &points,
            &axes,
            &spec(&["classifier", "epsilon", "strategy"], &[]),
        )
        .unwrap();
        assert_eq!(t.columns(), &[Vec::<String>::new()]);
        assert_eq!(t.rows().len(), 12);
    }
}

#[cfg(test)]
mod prune_tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn unplanned_rows_are_dropped_and_missing_ones_kept() {
        let axes = vec![
            AxisOrder {
                name: "s".into(),
                label: "s".into(),
                values: vec!["real".into(), "tstr".into()],
            },
            AxisOrder {
                name: "k".into(),
                label: "k".into(),
                values: vec!["all".into(), "2".into()],
            },
        ];
        let p = |s: &str, k: &str, v: Vec<f64>| PointResult {
            axes: BTreeMap::from([("s".into(), s.into()), ("k".into(), k.into())]),
            values: v,
            expected: 2,
        };
        let pts = vec![p("real", "all", vec![0.5, 0.7]), p("tstr", "2", vec![])];
        let spec = TableSpec {
            title: "t".into(),
            rows: vec!["s".into(), "k".into()],
            columns: vec![],
            metric: "m".into(),
        };
        let t = build_table(&pts, &axes, &spec).unwrap();
        assert_eq!(t.rows().len(), 4);
        let t = t.without_unplanned();
        assert_eq!(
            t.rows(),
            &[
                vec!["real".to_string(), "all".into()],
                vec!["tstr".into(), "2".into()]
            ]
        );
        assert_eq!(t.entries()[1][0].status, EntryStatus::Missing);
    }
}
