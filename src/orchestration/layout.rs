//! Where a campaign's files live, under `results/<campaign>/`:
//!
//! ```text
//! .lock                    the campaign lock (plan, run, submit; holder's pid and host inside)
//! manifest.json            the plan: cells in array order with their ids
//! inputs/                  staged inputs (features per feature mode)
//! generators/<id>/         one generator training: model-card.json, generator.safetensors,
//!                          training-state.safetensors (secret DP key: never publish it),
//!                          synthetic-<hash>.h5 (sampled subjects), failed.json, .lock
//! cells/<id>.json          a finished cell's record (written once, atomically)
//! cells/<id>.failed.json   why a cell's last attempt failed (removed when it succeeds)
//! cells/<id>.corrupt-<n>.json  a record that did not verify, moved aside before the rerun
//! cells/<id>.lock          held by the run-cell computing the cell
//! cells/<id>/folds/*.json  fold checkpoints of an unfinished cell (removed when it finishes)
//! logs/<id>.log            local executor: the cell's stdout and stderr
//! slurm/                   rendered sbatch scripts, submissions.json, task logs
//! tables/, figures/        written by `collect`
//! ```

use std::path::{Path, PathBuf};

/// The folder of one campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignDir {
    pub root: PathBuf,
}

impl CampaignDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// The campaign folder of a manifest path.
    pub fn of_manifest(manifest: &Path) -> Self {
        Self::new(
            manifest
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
        )
    }
    pub fn manifest(&self) -> PathBuf {
        self.root.join("manifest.json")
    }
    pub fn inputs(&self) -> PathBuf {
        self.root.join("inputs")
    }
    pub fn generators(&self) -> PathBuf {
        self.root.join("generators")
    }
    /// The folder of generator training `id` (its checkpoint and samples).
    pub fn generator(&self, id: &str) -> PathBuf {
        self.generators().join(id)
    }
    /// Why generator training `id` last failed (removed when it succeeds).
    pub fn generator_failure(&self, id: &str) -> PathBuf {
        self.generator(id).join("failed.json")
    }
    pub fn generator_log(&self, id: &str) -> PathBuf {
        self.logs().join(format!("generator-{id}.log"))
    }
    pub fn cells(&self) -> PathBuf {
        self.root.join("cells")
    }
    pub fn cell_record(&self, id: &str) -> PathBuf {
        self.cells().join(format!("{id}.json"))
    }
    /// The `n`-th place a record that did not verify is moved to.
    pub fn cell_corrupt(&self, id: &str, n: usize) -> PathBuf {
        self.cells().join(format!("{id}.corrupt-{n}.json"))
    }
    /// The lock held while cell `id` is computed.
    pub fn cell_lock(&self, id: &str) -> PathBuf {
        self.cells().join(format!("{id}.lock"))
    }
    /// The campaign lock.
    pub fn lock(&self) -> PathBuf {
        self.root.join(".lock")
    }
    pub fn cell_failure(&self, id: &str) -> PathBuf {
        self.cells().join(format!("{id}.failed.json"))
    }
    pub fn cell_checkpoints(&self, id: &str) -> PathBuf {
        self.cells().join(id).join("folds")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn cell_log(&self, id: &str) -> PathBuf {
        self.logs().join(format!("{id}.log"))
    }
    pub fn slurm(&self) -> PathBuf {
        self.root.join("slurm")
    }
    pub fn submissions(&self) -> PathBuf {
        self.slurm().join("submissions.json")
    }
    pub fn tables(&self) -> PathBuf {
        self.root.join("tables")
    }
    pub fn figures(&self) -> PathBuf {
        self.root.join("figures")
    }
}
