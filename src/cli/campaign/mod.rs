//! The campaign commands: `plan`, `run` (local executor), `run-cell` (the job body),
//! `collect` (tables and figures), `submit` and `status` (Slurm).
pub mod collect_cmd;
pub mod ledger;
pub mod plan_cmd;
#[cfg(feature = "torch")]
pub mod run_cell_cmd;
pub mod run_cmd;
pub mod stage;
pub mod status_cmd;
pub mod submit_cmd;
