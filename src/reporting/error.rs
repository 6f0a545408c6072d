//! Errors of the reporting layer (tables and figures built from aggregated grid points).
//!
//! Messages read after "failed to …": each names the axis, value, table or figure concerned,
//! and says what to change where the fix is in the caller's hands.
//!
//! May depend on: thiserror. Must never use tch or mpi.

use thiserror::Error;

/// What went wrong while building or rendering a result table or figure.
///
/// `task` fields hold what was being done, e.g. "build table `F1 by ε`" or "draw figure
/// `F1 vs ε`", so that each message reads after "failed to …".
#[derive(Debug, Error)]
pub enum ReportError {
    /// A table or figure names an axis that the experiment does not have.
    #[error("{task}: `{axis}` is not an axis of the experiment (axes: {known})")]
    UnknownAxis {
        task: String,
        axis: String,
        /// The experiment's axis names, comma-separated.
        known: String,
    },

    /// The same axis is used twice in one table or figure (e.g. both as a row and a column).
    #[error("{task}: axis `{axis}` is used more than once (rows and columns, or the x axis and the series axes, must be distinct)")]
    AxisRepeated { task: String, axis: String },

    /// The axis order lists an axis twice, or a value twice within one axis.
    #[error("{task}: inconsistent axis order: {detail}")]
    BadAxisOrder { task: String, detail: String },

    /// A result's axis assignment does not match the experiment's axes.
    #[error("{task}: the result for grid point ({point}) {detail}")]
    BadPoint {
        task: String,
        /// The point's axes as `name=value, …`.
        point: String,
        detail: String,
    },

    /// Two results for the same grid point.
    #[error("{task}: two results for the same grid point ({point}); aggregate its replicates into one result")]
    DuplicatePoint { task: String, point: String },

    /// No results at all, so there is nothing to tabulate or plot.
    #[error("{task}: no results were given")]
    NoPoints { task: String },

    /// An axis that is neither a row/column (or x/series) axis takes several values, so one
    /// table entry or figure point would mix results of different grid points.
    #[error(
        "{task}: axis `{axis}` takes {n} values among the results ({values}) but is not one of \
         its {placement}; add it there, or {alternative}"
    )]
    AxisNotShown {
        task: String,
        axis: String,
        n: usize,
        /// The values, comma-separated.
        values: String,
        /// "rows or columns" / "x or series axes".
        placement: &'static str,
        /// What else the caller can do, e.g. "use `build_tables` for one table per value".
        alternative: &'static str,
    },

    /// Tables with different axes cannot share one CSV header.
    #[error("{task}: their CSV headers differ ({first} versus {other})")]
    CsvHeaderMismatch {
        task: String,
        first: String,
        other: String,
    },

    /// The drawing library failed while rendering a figure.
    #[error("{task}: the drawing backend failed")]
    Draw {
        task: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
