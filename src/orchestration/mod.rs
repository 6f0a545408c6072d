//! Orchestration: turning a planned campaign (the manifest) into executions — the campaign
//! folder layout, the manifest, cell records and states, the local executor (cells as
//! `dpwear run-cell` subprocesses), the Slurm backend (pure script rendering and
//! scheduler-output parsing, one file that calls the commands, one that reads `SLURM_*`) and
//! the MPI fold split and reduction.
//!
//! May depend on: config, reporting, evaluation (records), serde, libc. Must never use tch or
//! models: cells run as subprocesses.
pub mod generator_state;
pub mod layout;
pub mod local;
pub mod manifest;
pub mod ranks;
pub mod records;
pub mod slurm;
pub mod submissions;

/// File locks (moved to the crate root: the job body uses them too).
pub use crate::file_lock as lock;
pub use layout::CampaignDir;
pub use manifest::{Manifest, ManifestCell};
pub use records::{cell_state, CellFailure, CellRecord, CellState};
