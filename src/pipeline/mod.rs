//! The job body of one cell and of its generator stage, used by `eval`, `gan`, `run-cell`,
//! `run-generator` and the privacy ledger and the web page (`serve`):
//!
//! - [`generator_job`]: train one generator into a checkpoint folder (resumable, locked);
//! - [`sample_job`]: sample synthetic subjects from a trained generator into a dataset store;
//! - [`generator_stage`]: a campaign's generator artifact → trained checkpoint → sampled
//!   subjects, each done once;
//! - [`inputs`]: a cell's inputs (staged real features, synthetic data) checked against the
//!   digests the plan recorded, and its evaluation configuration;
//! - [`generator_quality`]: the generator stage's quality step (`quality-<hash>.json` beside
//!   the checkpoint);
//! - [`quality_job`]: the quality report (fidelity, leakage) of a synthetic store against
//!   real data, cut into windows;
//! - [`quality_models`]: the quality measurements that train models (post-hoc scores, the
//!   canary audit of a private checkpoint);
//! - [`cell_folds`]: the per-fold pipeline (split → the fold's synthetic subjects → features
//!   → classifier → score);
//! - [`synthetic_output`]: the CSV and NPZ formats of synthetic subjects (files and downloads);
//! - [`error`]: the one error type, whose class `cli` maps to an exit code.
//!
//! May depend on: config, data, features, models, training, privacy, evaluation, file locks.
//! Must never use: clap, orchestration, processes (cli and orchestration call in, never the
//! other way).

#[cfg(feature = "torch")]
pub mod cell_folds;
pub mod error;
#[cfg(feature = "torch")]
pub mod generator_job;
#[cfg(feature = "torch")]
pub mod generator_quality;
#[cfg(feature = "torch")]
pub mod generator_stage;
#[cfg(feature = "torch")]
pub mod inputs;
pub mod quality_job;
#[cfg(feature = "torch")]
pub mod quality_models;
#[cfg(feature = "torch")]
pub mod sample_job;
pub mod synthetic_output;

pub use error::{Fault, JobError};
