//! Reporting: progress display (and, later, cell records, tables and figures).
//!
//! May depend on: indicatif, tracing, serde. Must never use tch or mpi.
pub mod progress;
