//! Cells: one grid point × one replicate, in array order (replicate-major, so that a partly
//! finished campaign has every point at n ≥ 1 before any reaches 2), with a content-hash id
//! over the cell's configuration, the sha256 of its input data and the code version.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::grid::{Experiment, GeneratorHyper, GridPoint, ModelSpec, PrivacyPolicy};
use super::seeds;
use crate::features::WindowScheme;
use crate::privacy::accounting::ledger::{AccountantKind, PrivacyUnit};

/// Hex digits of a cell id (64 bits).
pub const CELL_ID_LEN: usize = 16;

/// Everything that determines a cell's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellConfig {
    #[serde(flatten)]
    pub point: GridPoint,
    pub replicate: usize,
    /// The campaign's master seed; the cell's streams derive from
    /// `seeds::replicate_seed(master_seed, replicate)` exactly as replicate `replicate` of
    /// `dpwear eval … --seed master_seed` does, so one cell can be rerun by hand.
    pub master_seed: u64,
    pub replicate_seed: u64,
    pub model: ModelSpec,
    pub windows: WindowScheme,
    /// DP-SGD settings; present only when the cell's ε is finite (so that the ids of
    /// non-private cells do not depend on `[privacy]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<PrivacyPolicy>,
    /// The generator stage; present only when dpwear trains the cell's generator (so that the
    /// ids of other cells do not depend on `[generation]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<CellGeneration>,
}

/// What a cell's generator stage trains and samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellGeneration {
    pub hyper: GeneratorHyper,
    /// Generator training windows (non-overlapping or sliding).
    pub windows: WindowScheme,
    /// Synthetic subjects sampled per trained generator (cells use the first K).
    pub subjects: usize,
    pub windows_per_subject: usize,
    pub stress_fraction: f64,
    /// DP-SGD of the generator; present only when `gan_epsilon` is finite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<GeneratorPrivacy>,
}

/// How a private generator is trained and accounted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorPrivacy {
    pub accountant: AccountantKind,
    pub unit: PrivacyUnit,
    pub delta: Option<f64>,
    pub clip_norm: f64,
}

impl CellGeneration {
    /// The generator stage of point `p` in `e` (`None` unless dpwear trains its generator).
    pub fn of(e: &Experiment, p: &GridPoint) -> Option<Self> {
        let kind = p.generator.trained()?;
        let g = &e.generation;
        Some(CellGeneration {
            hyper: e.generators.get(kind.as_str()).cloned().unwrap_or_default(),
            windows: g.windows,
            subjects: g.subjects,
            windows_per_subject: g.windows_per_subject,
            stress_fraction: g.stress_fraction,
            privacy: p
                .gan_epsilon
                .is_some_and(|x| x.is_private())
                .then_some(GeneratorPrivacy {
                    accountant: e.privacy.accountant,
                    unit: g.unit,
                    delta: g.delta,
                    clip_norm: g.clip_norm,
                }),
        })
    }
}

/// The cells of an experiment in array order.
pub fn expand(e: &Experiment) -> Vec<CellConfig> {
    let mut out = Vec::with_capacity(e.cell_count());
    for r in 0..e.replicates {
        for p in &e.points {
            out.push(CellConfig {
                point: p.clone(),
                replicate: r,
                master_seed: e.master_seed,
                replicate_seed: seeds::replicate_seed(e.master_seed, r as u64, false),
                model: e.model.clone(),
                windows: e.windows,
                privacy: p.epsilon.is_private().then(|| e.privacy.clone()),
                generation: CellGeneration::of(e, p),
            });
        }
    }
    out
}

/// The id of a cell: the first [`CELL_ID_LEN`] hex digits of
/// sha256(`dpwear-cell-v1` ‖ JSON(config) ‖ inputs sha256 ‖ code version).
pub fn cell_id(config: &CellConfig, inputs_sha256: &str, code_version: &str) -> String {
    let json = serde_json::to_string(config).expect("cell configs serialise");
    let mut h = Sha256::new();
    h.update(b"dpwear-cell-v1\n");
    h.update(json.as_bytes());
    h.update(b"\n");
    h.update(inputs_sha256.as_bytes());
    h.update(b"\n");
    h.update(code_version.as_bytes());
    let d = h.finalize();
    d.iter()
        .take(CELL_ID_LEN / 2)
        .map(|b| format!("{b:02x}"))
        .collect()
}
