//! Reporting: progress display, result tables (Markdown, CSV, LaTeX) and figures (SVG).
//!
//! May depend on: indicatif, tracing, serde, csv, plotters. Must never use tch or mpi.
pub mod progress;
