//! The campaign commands: `plan`, `run` (local executor), `run-cell` (one cell),
//! `run-generator` (one generator training of the generator stage), `collect` (tables and
//! figures), `submit` and `status` (Slurm); and what they share: `planning` (lock, validate,
//! stage, expand, ledger, write the manifest: used by plan, run and submit), `stage` (staged
//! inputs), `ledger` (the privacy of every generator and cell before anything runs),
//! `cell_inputs` (a cell's or generator task's inputs from the manifest, checked).
//!
//! No import cycles among these files: commands use the shared files; of the commands, the
//! shared files use only `collect_cmd`'s report check (it uses none of them), and `plan
//! --dry-run` prints `submit`'s scripts (`plan_cmd` → `submit_cmd`, never back).
#[cfg(feature = "torch")]
pub mod cell_inputs;
pub mod collect_cmd;
pub mod ledger;
pub mod plan_cmd;
pub mod planning;
#[cfg(feature = "torch")]
pub mod run_cell_cmd;
pub mod run_cmd;
#[cfg(feature = "torch")]
pub mod run_generator_cmd;
pub mod stage;
pub mod status_cmd;
pub mod submit_cmd;
