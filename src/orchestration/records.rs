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
    /// Warnings every reader must see (e.g. a shared generator that leaks the test subject).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The generator trainings the cell used (ids under `generators/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generators: Vec<String>,
    /// The cell's planned end-to-end privacy (as in the manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guarantee: Option<crate::orchestration::manifest::CellGuarantee>,
    /// The quality reports of its generators (one per fold for per-fold generators), copied
    /// from `generators/<id>/quality-*.json` when the cell finished.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quality: Vec<CellQuality>,
}

/// The headline quality numbers of one generator a cell used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellQuality {
    pub generator: String,
    /// The fold's test subject (the holdout of its leakage numbers), `None` when shared.
    pub test_subject: Option<u32>,
    /// By `evaluation::quality::SCALAR_METRICS` name.
    pub scalars: std::collections::BTreeMap<String, f64>,
}

impl CellRecord {
    /// The mean of quality metric `name` over the cell's generators that measured it (`None`
    /// when none did).
    pub fn quality_mean(&self, name: &str) -> Option<f64> {
        let v: Vec<f64> = self
            .quality
            .iter()
            .filter_map(|q| q.scalars.get(name).copied())
            .filter(|x| x.is_finite())
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    }
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
    /// `cells/<id>.json` exists but is not a valid record of this cell (truncated, garbage,
    /// another cell's, another schema): not finished; `run` moves it aside and reruns.
    Corrupt {
        reason: String,
    },
    /// A `run-cell` holds the cell's lock; `folds` checkpoints so far.
    Running {
        folds: usize,
    },
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
            CellState::Corrupt { .. } => "corrupt",
            CellState::Running { .. } => "running",
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

/// The state of cell `id` in `dir`: its files, and whether a `run-cell` holds its lock.
pub fn cell_state(dir: &CampaignDir, id: &str) -> CellState {
    match cell_state_from_files(dir, id) {
        s @ (CellState::Done | CellState::Corrupt { .. }) => s,
        s if super::lock::is_held(&dir.cell_lock(id)) => CellState::Running {
            folds: match s {
                CellState::Interrupted { folds } | CellState::Pending { folds } => folds,
                _ => count_checkpoints(&dir.cell_checkpoints(id)),
            },
        },
        s => s,
    }
}

/// The state of cell `id` from its files alone (never [`CellState::Running`]): what the
/// holder of the cell's lock uses.
pub fn cell_state_from_files(dir: &CampaignDir, id: &str) -> CellState {
    let record = dir.cell_record(id);
    if record.exists() {
        return match verify_cell_record(&record, id) {
            Ok(_) => CellState::Done,
            Err(reason) => CellState::Corrupt { reason },
        };
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

/// Reads a finished cell's record (any cell's; see [`verify_cell_record`]).
pub fn read_cell_record(path: &Path) -> Result<CellRecord, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a cell record: {e}", path.display()))
}

/// Reads the record at `path` and checks that it is a complete record of cell `id`: it
/// parses, has this schema and kind, names `id`, and holds one scored replicate.
pub fn verify_cell_record(path: &Path, id: &str) -> Result<CellRecord, String> {
    let r = read_cell_record(path)?;
    let bad = |what: String| Err(format!("{}: {what}", path.display()));
    if r.schema_version != CELL_RECORD_SCHEMA_VERSION || r.kind != "dpwear-cell" {
        return bad(format!(
            "kind {:?}, schema_version {} (expected \"dpwear-cell\", {CELL_RECORD_SCHEMA_VERSION})",
            r.kind, r.schema_version
        ));
    }
    if r.cell_id != id {
        return bad(format!("it is the record of cell {:?}", r.cell_id));
    }
    if r.eval.replicates.len() != 1 || r.eval.replicates[0].folds.is_empty() {
        return bad(format!(
            "{} replicate(s), {} fold(s): a cell record has one replicate with its folds",
            r.eval.replicates.len(),
            r.eval.replicates.first().map_or(0, |x| x.folds.len())
        ));
    }
    Ok(r)
}

/// Moves a record that did not verify to the first free `cells/<id>.corrupt-<n>.json`
/// (never deleting it); returns where it went.
pub fn move_corrupt_aside(dir: &CampaignDir, id: &str) -> std::io::Result<std::path::PathBuf> {
    let from = dir.cell_record(id);
    for n in 1..10_000 {
        let to = dir.cell_corrupt(id, n);
        if to.exists() {
            continue;
        }
        // A hard link fails when `to` appeared meanwhile: never overwrite an older copy.
        std::fs::hard_link(&from, &to)?;
        std::fs::remove_file(&from)?;
        return Ok(to);
    }
    Err(std::io::Error::other(format!(
        "{}: too many corrupt copies beside it",
        from.display()
    )))
}

/// Kind of a fold checkpoint.
pub const FOLD_CHECKPOINT_KIND: &str = "dpwear-fold-checkpoint";

/// A scored fold of an unfinished cell (`cells/<id>/folds/fold-NNN.json`), sealed with the
/// cell id, the fold and a sha256 over them and the outcome, so that a resume never uses a
/// checkpoint of another cell or fold, nor one that was truncated or edited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoldCheckpoint {
    pub schema_version: u32,
    pub kind: String,
    pub cell_id: String,
    pub fold: usize,
    pub sha256: String,
    pub outcome: serde_json::Value,
}

fn fold_digest(cell_id: &str, fold: usize, outcome: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(format!("{FOLD_CHECKPOINT_KIND}\n{cell_id}\n{fold}\n").as_bytes());
    h.update(outcome.to_string().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl FoldCheckpoint {
    /// Seals the outcome of fold `fold` of cell `cell_id`.
    pub fn seal(cell_id: &str, fold: usize, outcome: serde_json::Value) -> Self {
        Self {
            schema_version: CELL_RECORD_SCHEMA_VERSION,
            kind: FOLD_CHECKPOINT_KIND.into(),
            cell_id: cell_id.into(),
            fold,
            sha256: fold_digest(cell_id, fold, &outcome),
            outcome,
        }
    }

    /// Reads the checkpoint in `text` and returns its outcome when it is fold `fold` of cell
    /// `cell_id` and its digest matches; otherwise says why not.
    pub fn open(text: &str, cell_id: &str, fold: usize) -> Result<serde_json::Value, String> {
        let c: FoldCheckpoint =
            serde_json::from_str(text).map_err(|e| format!("not a fold checkpoint: {e}"))?;
        if c.kind != FOLD_CHECKPOINT_KIND || c.schema_version != CELL_RECORD_SCHEMA_VERSION {
            return Err(format!(
                "kind {:?}, schema_version {}",
                c.kind, c.schema_version
            ));
        }
        if c.cell_id != cell_id || c.fold != fold {
            return Err(format!(
                "it is fold {} of cell {}, not fold {fold} of cell {cell_id}",
                c.fold, c.cell_id
            ));
        }
        if fold_digest(cell_id, fold, &c.outcome) != c.sha256 {
            return Err("its sha256 does not match its content (edited or corrupt)".into());
        }
        Ok(c.outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, CampaignDir) {
        let t = tempfile::tempdir().unwrap();
        let d = CampaignDir::new(t.path());
        std::fs::create_dir_all(d.cells()).unwrap();
        (t, d)
    }

    #[test]
    fn a_record_that_does_not_verify_is_corrupt_not_done() {
        let (_t, d) = dir();
        for (content, needle) in [
            (
                &b"{\"schema_version\": 1, \"kind\": \"dpwear-ce"[..],
                "not a cell record",
            ),
            (&b"\x00\xffgarbage"[..], "not a cell record"),
            (&b"{}"[..], "not a cell record"),
            (&b""[..], "not a cell record"),
        ] {
            std::fs::write(d.cell_record("abc"), content).unwrap();
            match cell_state(&d, "abc") {
                CellState::Corrupt { reason } => assert!(reason.contains(needle), "{reason}"),
                other => panic!("{content:?}: {other:?}"),
            }
            assert_eq!(cell_state(&d, "abc").label(), "corrupt");
        }
    }

    #[test]
    fn corrupt_records_are_moved_aside_never_overwritten() {
        let (_t, d) = dir();
        std::fs::write(d.cell_record("abc"), b"one").unwrap();
        let first = move_corrupt_aside(&d, "abc").unwrap();
        assert_eq!(first, d.cell_corrupt("abc", 1));
        std::fs::write(d.cell_record("abc"), b"two").unwrap();
        let second = move_corrupt_aside(&d, "abc").unwrap();
        assert_eq!(second, d.cell_corrupt("abc", 2));
        assert_eq!(std::fs::read(first).unwrap(), b"one");
        assert_eq!(std::fs::read(second).unwrap(), b"two");
        assert!(!d.cell_record("abc").exists());
        assert_eq!(cell_state(&d, "abc"), CellState::Pending { folds: 0 });
    }

    #[test]
    fn a_locked_cell_is_running_and_an_unlocked_one_partial() {
        let (_t, d) = dir();
        std::fs::create_dir_all(d.cell_checkpoints("abc")).unwrap();
        std::fs::write(d.cell_checkpoints("abc").join("fold-000.json"), b"{}").unwrap();
        assert_eq!(cell_state(&d, "abc").label(), "partial");
        let l = super::super::lock::try_lock(&d.cell_lock("abc"), "run-cell").unwrap();
        assert_eq!(cell_state(&d, "abc"), CellState::Running { folds: 1 });
        assert_eq!(
            cell_state_from_files(&d, "abc"),
            CellState::Pending { folds: 1 }
        );
        drop(l);
        assert_eq!(cell_state(&d, "abc").label(), "partial");
    }

    /// A checkpoint written and read back opens: its digest is over the outcome's JSON text,
    /// so every float must read back to the same bits (serde_json's `float_roundtrip`; the
    /// default parser is off by one ulp for some values, e.g. 0.4117647058823529 = 7/17, and a
    /// resumed cell then recomputed every fold).
    #[test]
    fn sealed_fold_checkpoints_survive_their_own_round_trip() {
        let values: Vec<f64> = (1..2000)
            .map(|i| i as f64 / 17.0 / (1 + i % 13) as f64)
            .chain([7.0 / 17.0, 0.4117647058823529, 1.0 / 3.0, 2.0 / 9.0])
            .collect();
        let v = serde_json::json!({"replicate": 0, "record": {"fold": 1, "values": values}});
        let text =
            serde_json::to_string_pretty(&FoldCheckpoint::seal("cell", 1, v.clone())).unwrap();
        assert_eq!(FoldCheckpoint::open(&text, "cell", 1).unwrap(), v);
    }

    #[test]
    fn fold_checkpoints_open_only_for_their_cell_and_fold_and_untouched() {
        let v = serde_json::json!({"replicate": 0, "record": {"fold": 3, "f1": 0.5}});
        let text =
            serde_json::to_string_pretty(&FoldCheckpoint::seal("cell", 3, v.clone())).unwrap();
        assert_eq!(FoldCheckpoint::open(&text, "cell", 3).unwrap(), v);
        assert!(FoldCheckpoint::open(&text, "other", 3)
            .unwrap_err()
            .contains("not fold 3 of cell other"));
        assert!(FoldCheckpoint::open(&text, "cell", 4).is_err());
        let forged = text.replace("0.5", "0.9");
        assert!(FoldCheckpoint::open(&forged, "cell", 3)
            .unwrap_err()
            .contains("sha256"));
        // an old, unsealed checkpoint (a bare outcome) is refused
        assert!(FoldCheckpoint::open(&v.to_string(), "cell", 3).is_err());
        assert!(FoldCheckpoint::open(&text[..text.len() / 2], "cell", 3).is_err());
    }
}
