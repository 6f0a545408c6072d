//! Reporting: progress display, result tables (Markdown, CSV, LaTeX) and figures (SVG).
//!
//! Files:
//! - [`progress`]: indicatif bars on a terminal, summary lines otherwise.
//! - [`points`]: the inputs of tables and figures ([`PointResult`], [`AxisOrder`]) and the
//!   summary of one grid point ([`Entry`]); the missing / not-planned / undefined conventions.
//! - [`table`]: [`build_table`] / [`build_tables`] lay grid points out as rows × columns.
//! - [`render`]: [`render_markdown`], [`render_csv`], [`render_latex`] of a built table.
//! - [`figure`]: [`render_line_figure`], an SVG line chart with error bars and a legend.
//! - [`quality_figures`]: histograms, correlation heatmaps, spectra and projection scatter
//!   plots of a synthetic sample against a real one.
//! - [`quality_report`]: the Markdown page of a synthetic sample's quality report.
//! - [`error`]: the error type, [`ReportError`].
//!
//! Tables and figures are pure functions from results to text; `collect` writes the files.
//!
//! May depend on: indicatif, tracing, serde, csv, plotters (SVG only), and the pure
//! `evaluation::aggregate` mean/sd and the `evaluation::quality` report types. Must never use tch or mpi.
pub mod error;
pub mod figure;
pub mod points;
pub mod progress;
pub mod quality_figures;
pub mod quality_report;
pub mod render;
pub mod table;

pub use error::ReportError;
pub use figure::render_line_figure;
pub use points::{AxisOrder, Entry, EntryStatus, PointResult};
pub use render::{render_csv, render_csv_tables, render_latex, render_markdown};
pub use table::{build_table, build_tables, Table, TableSpec};
