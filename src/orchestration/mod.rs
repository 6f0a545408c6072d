//! Orchestration: turning a planned campaign (the manifest) into executions — the local
//! executor (cells as `dpwear run-cell` subprocesses), the Slurm backend (pure script rendering
//! and scheduler-output parsing, one file that calls the commands, one that reads `SLURM_*`)
//! and the MPI fold split and reduction.
//!
//! May depend on: config, reporting, evaluation (records), serde. Must never use tch or models:
//! cells run as subprocesses.
pub mod slurm;
