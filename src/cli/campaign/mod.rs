//! The campaign commands: `plan`, `run` (local executor), `run-cell` (the job body),
//! `run-generator` (one generator training of the generator stage), `collect` (tables and
//! figures), `submit` and `status` (Slurm), and the privacy `ledger` of `plan`.
pub mod collect_cmd;
pub mod ledger;
pub mod plan_cmd;
#[cfg(feature = "torch")]
pub mod run_cell_cmd;
pub mod run_cmd;
#[cfg(feature = "torch")]
pub mod run_generator_cmd;
pub mod stage;
pub mod status_cmd;
pub mod submit_cmd;
