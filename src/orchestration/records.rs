//! What a cell leaves on disk: its record when finished (`cells/<id>.json`), a failure note
//! when its last attempt failed or was interrupted (`cells/<id>.failed.json`), and fold
//! checkpoints while unfinished. [`cell_state`] reads a cell's state from them alone, so the
//! local executor, `status` and `collect` agree without a scheduler.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::layout::CampaignDir;
use crate::config::CellConfig;
use crate::evaluation::record::EvalRecord;

/// Version of the cell record layout.
pub const CELL_RECORD_SCHEMA_VERSION: u32 = 1;

/// A finished cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    pub schema_version: u32,
    pub kind: String,
    pub campaign: String,
    pub index: usize,
    pub cell_id: String,
    pub config: CellConfig,
    /// MPI ranks that shared the folds.
    pub ranks: usize,
    pub host: String,
    pub finished_unix: u64,
    pub eval: EvalRecord,
}

/// Why a cell's last attempt did not finish.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellFailure {
    pub schema_version: u32,
    pub kind: String,
    pub cell_id: String,
    pub index: usize,
    pub exit_code: i32,
    pub message: String,
    /// Interrupted (signal, time limit): the fold checkpoints are kept and a rerun resumes.
    pub resumable: bool,
    pub at_unix: u64,
}

impl CellFailure {
    pub fn new(
        cell_id: &str,
        index: usize,
        exit_code: i32,
        message: String,
        resumable: bool,
    ) -> Self {
        Self {
            schema_version: CELL_RECORD_SCHEMA_VERSION,
            kind: "dpwear-cell-failure".into(),
            cell_id: cell_id.into(),
            index,
            exit_code,
            message,
            resumable,
            at_unix: now_unix(),
        }
    }
}

/// Seconds since the epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A cell's state as the files show it.
#[derive(Clone, Debug, PartialEq)]
pub enum CellState {
    Done,
    /// The last attempt failed (not resumable).
    Failed {
        exit_code: i32,
        message: String,
    },
    /// The last attempt was interrupted; `folds` checkpoints are kept.
    Interrupted {
        folds: usize,
    },
    /// Never finished, no failure note; `folds` checkpoints exist (0 = not started).
    Pending {
        folds: usize,
    },
}

impl CellState {
    pub fn label(&self) -> &'static str {
        match self {
            CellState::Done => "done",
            CellState::Failed { .. } => "failed",
            CellState::Interrupted { .. } => "interrupted",
            CellState::Pending { folds: 0 } => "pending",
            CellState::Pending { .. } => "partial",
        }
    }
}

fn count_checkpoints(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0)
}

/// The state of cell `id` in `dir`.
pub fn cell_state(dir: &CampaignDir, id: &str) -> CellState {
    if dir.cell_record(id).is_file() {
        return CellState::Done;
    }
    let folds = count_checkpoints(&dir.cell_checkpoints(id));
    match std::fs::read(dir.cell_failure(id))
        .ok()
        .and_then(|t| serde_json::from_slice::<CellFailure>(&t).ok())
    {
        Some(f) if f.resumable => CellState::Interrupted { folds },
        Some(f) => CellState::Failed {
            exit_code: f.exit_code,
            message: f.message,
        },
        None => CellState::Pending { folds },
    }
}

/// Reads a finished cell's record.
pub fn read_cell_record(path: &Path) -> Result<CellRecord, String> {
    // bytes, then JSON: non-UTF-8 content is "not a cell record", not a read failure
    let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a cell record: {e}", path.display()))
}
