//! dpwear: privacy-preserving synthetic wearable-sensor data research at HPC scale.
//!
//! Layers (see `ARCHITECTURE.md` in the shared folder):
//! - `config`: seed derivation (later the experiment TOML and grid);
//! - `data`: datasets and their preprocessing to 1 Hz, the HDF5 store, the simulator;
//! - `features`: windows and the subwindow-FFT classifier features;
//! - `evaluation`: metrics with an explicit positive class and averaging, the reference's micro
//!   "F1" under its own name, aggregation over subjects and replicates, LOSO/TSTR protocols;
//! - `privacy`: accountants (RDP, PLD), σ calibration, the privacy ledger;
//! - `models`: the classifiers (tch); `training`: the loops that train them (tch);
//! - `reporting`: progress, records; `serve`: the generator web page; `cli`: the command
//!   line and exit codes.
//!
//! The pure layers build and test without libtorch (`--no-default-features`).
pub mod atomic_file;
pub mod cli;
pub mod config;
pub mod data;
pub mod evaluation;
pub mod features;
pub mod file_lock;
pub mod interrupt;
pub mod models;
pub mod orchestration;
pub mod pipeline;
pub mod privacy;
pub mod reporting;
#[cfg(feature = "serve")]
pub mod serve;
pub mod shell_words;
#[cfg(feature = "torch")]
pub mod training;
