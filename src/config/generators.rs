//! The generator stage of a campaign, planned before anything runs: every generator training
//! the cells need, identified by a content hash of what determines it (generator kind and
//! hyper-parameters, privacy settings, training subjects, the staged dataset's sha256, the
//! seed stream and the code version), listed once in the manifest with the cells that use it.
//! Cells that differ only in the classifier, its ε, the strategy, the number of synthetic
//! subjects or the feature mode share one training.
//!
//! Per-fold training gives each LOSO fold (test subject s) its own generator trained on the
//! other subjects; shared training gives one generator on every subject (the reference's
//! protocol, which leaks the test subject).
//!
//! May depend on: the rest of config, serde, sha2. Pure: no files, no processes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::grid::{Epsilon, GeneratorHyper, GeneratorTraining};
use crate::config::seeds::{self, Purpose, SeedKey};
use crate::config::{CellConfig, GeneratorPrivacy};
use crate::features::WindowScheme;
use crate::models::generator_spec::GeneratorKind;

/// Hex digits of a generator artifact id.
pub const GENERATOR_ID_LEN: usize = 16;

/// Everything that determines one generator training (hashed into its id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorTrainingSpec {
    pub kind: GeneratorKind,
    pub hyper: GeneratorHyper,
    pub windows: WindowScheme,
    pub gan_epsilon: Epsilon,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<GeneratorPrivacy>,
    pub training: GeneratorTraining,
    /// Subjects the generator is trained on (sorted).
    pub training_subjects: Vec<u32>,
    /// Subjects left out (the fold's test subject for per-fold training; empty when shared).
    pub excluded_subjects: Vec<u32>,
    /// sha256 of the staged dataset store the generator reads.
    pub dataset_sha256: String,
    /// The training seed (`gan train --seed`), derived from the master seed, replicate and fold.
    pub seed: u64,
}

/// What is sampled from a trained generator (the campaign's `[generation]` sampling).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleSpec {
    pub subjects: usize,
    pub windows_per_subject: usize,
    pub stress_fraction: f64,
    pub seed: u64,
}

impl SampleSpec {
    /// The name of the sample file inside the generator's folder (a hash of the request, so
    /// that another sampling never overwrites this one and a finished training is reused).
    pub fn file_name(&self) -> String {
        let json = serde_json::to_string(self).expect("sample specs serialise");
        format!(
            "synthetic-{}.h5",
            &hex(&Sha256::digest(json.as_bytes()))[..12]
        )
    }
}

/// One generator training of the campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorArtifact {
    pub index: usize,
    pub id: String,
    /// The replicate whose seed stream it uses.
    pub replicate: usize,
    /// The LOSO test subject it never saw (per-fold), `None` when shared.
    pub test_subject: Option<u32>,
    pub spec: GeneratorTrainingSpec,
    pub sample: SampleSpec,
    /// Indices of the cells that use it.
    pub cells: Vec<usize>,
    /// The privacy plan of a private generator, computed by `plan` before anything runs
    /// (σ calibrated exactly as its training will calibrate it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_plan: Option<GeneratorPrivacyPlan>,
}

/// A private generator's planned mechanism and guarantee.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorPrivacyPlan {
    pub accountant: crate::privacy::accounting::ledger::AccountantKind,
    pub unit: crate::privacy::accounting::ledger::PrivacyUnit,
    /// Privacy units of its training data.
    pub units: usize,
    pub sample_rate: f64,
    pub steps: u64,
    pub sigma: f64,
    pub delta: f64,
    pub delta_rule: String,
    pub epsilon_planned: f64,
    pub mechanism: String,
}

/// Which generator a cell uses for which fold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellGenerator {
    /// The fold's test subject (per-fold), `None` for a shared generator (every fold).
    pub test_subject: Option<u32>,
    /// Index into the manifest's `generators`.
    pub artifact: usize,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The id of a generator training: the first [`GENERATOR_ID_LEN`] hex digits of
/// sha256(`dpwear-generator-v1` ‖ JSON(spec) ‖ code version).
pub fn generator_id(spec: &GeneratorTrainingSpec, code_version: &str) -> String {
    let json = serde_json::to_string(spec).expect("generator specs serialise");
    let mut h = Sha256::new();
    h.update(b"dpwear-generator-v1\n");
    h.update(json.as_bytes());
    h.update(b"\n");
    h.update(code_version.as_bytes());
    hex(&h.finalize())[..GENERATOR_ID_LEN].to_string()
}

/// The fold key of a shared generator's seed stream.
const SHARED_FOLD: u64 = u64::MAX;

/// Plans the generator trainings of `cells` (in array order) on a dataset of `subjects`
/// (sorted ids) whose staged store has sha256 `dataset_sha256`. Returns the artifacts in
/// first-use order and, per cell, its generators (empty for cells without a trained
/// generator).
pub fn plan(
    cells: &[CellConfig],
    subjects: &[u32],
    dataset_sha256: &str,
    code_version: &str,
) -> (Vec<GeneratorArtifact>, Vec<Vec<CellGenerator>>) {
    let mut artifacts: Vec<GeneratorArtifact> = Vec::new();
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_cell = Vec::with_capacity(cells.len());
    for (ci, c) in cells.iter().enumerate() {
        let (Some(kind), Some(g), Some(gan_epsilon), Some(training)) = (
            c.point.generator.trained(),
            c.generation.as_ref(),
            c.point.gan_epsilon,
            c.point.generator_training,
        ) else {
            per_cell.push(Vec::new());
            continue;
        };
        let folds: Vec<Option<u32>> = match training {
            GeneratorTraining::PerFold => subjects.iter().map(|&s| Some(s)).collect(),
            GeneratorTraining::Shared => vec![None],
        };
        let mut mine = Vec::with_capacity(folds.len());
        for test in folds {
            let fold_key = test.map_or(SHARED_FOLD, u64::from);
            let key = |purpose| SeedKey {
                scope: "generator",
                replicate: c.replicate as u64,
                fold: fold_key,
                purpose,
            };
            let spec = GeneratorTrainingSpec {
                kind,
                hyper: g.hyper.clone(),
                windows: g.windows,
                gan_epsilon,
                privacy: g.privacy,
                training,
                training_subjects: subjects
                    .iter()
                    .copied()
                    .filter(|&s| Some(s) != test)
                    .collect(),
                excluded_subjects: test.into_iter().collect(),
                dataset_sha256: dataset_sha256.to_string(),
                seed: seeds::derive(c.replicate_seed, &key(Purpose::Generator)),
            };
            let id = generator_id(&spec, code_version);
            let index = *by_id.entry(id.clone()).or_insert_with(|| {
                artifacts.push(GeneratorArtifact {
                    index: artifacts.len(),
                    id,
                    replicate: c.replicate,
                    test_subject: test,
                    sample: SampleSpec {
                        subjects: g.subjects,
                        windows_per_subject: g.windows_per_subject,
                        stress_fraction: g.stress_fraction,
                        seed: seeds::derive(c.replicate_seed, &key(Purpose::Sample)),
                    },
                    spec,
                    cells: Vec::new(),
                    privacy_plan: None,
                });
                artifacts.len() - 1
            });
            artifacts[index].cells.push(ci);
            mine.push(CellGenerator {
                test_subject: test,
                artifact: index,
            });
        }
        per_cell.push(mine);
    }
    (artifacts, per_cell)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{expand, parse};

    fn experiment(grid: &str) -> crate::config::Experiment {
        let text = format!(
            "schema_version = 1\ncampaign = \"t\"\nreplicates = 2\n[dataset]\nsimulate = {{ subjects = 4, seed = 1 }}\n{grid}"
        );
        parse(&text, std::path::Path::new("x.toml")).unwrap()
    }

    #[test]
    fn cells_that_differ_outside_the_generator_share_its_training() {
        let e = experiment(
            "[[grid]]\nstrategy = [\"augment\", \"tstr\"]\ngenerator = [\"dp-merf\"]\ngan_epsilon = [\"inf\", 1]\nsynthetic_subjects = [1, 2]\nclassifier = [\"cnn\", \"transformer\"]\n",
        );
        let cells = expand(&e);
        let subjects = [1, 2, 3, 4];
        let (arts, per_cell) = plan(&cells, &subjects, "abc", "0.1.0");
        // 2 gan_epsilons × 2 replicates × 4 folds; strategy, K and classifier share.
        assert_eq!(arts.len(), 2 * 2 * 4);
        for a in &arts {
            assert_eq!(a.cells.len(), 2 * 2 * 2, "{a:?}");
            // Per-fold: the test subject is never a training subject.
            let t = a.test_subject.unwrap();
            assert!(!a.spec.training_subjects.contains(&t));
            assert_eq!(a.spec.training_subjects.len(), 3);
            assert_eq!(a.spec.excluded_subjects, vec![t]);
        }
        for (c, gens) in cells.iter().zip(&per_cell) {
            assert_eq!(gens.len(), 4);
            for g in gens {
                let a = &arts[g.artifact];
                assert_eq!(a.replicate, c.replicate);
                assert_eq!(a.spec.gan_epsilon, c.point.gan_epsilon.unwrap());
            }
        }
        let ids: std::collections::HashSet<_> = arts.iter().map(|a| &a.id).collect();
        assert_eq!(ids.len(), arts.len());
        // Ids depend on the data and the code version.
        let (other, _) = plan(&cells, &subjects, "abd", "0.1.0");
        assert_ne!(other[0].id, arts[0].id);
        let (other, _) = plan(&cells, &subjects, "abc", "0.1.1");
        assert_ne!(other[0].id, arts[0].id);
    }

    #[test]
    fn shared_training_is_one_generator_on_every_subject_per_replicate() {
        let e = experiment(
            "[[grid]]\nstrategy = [\"augment\"]\ngenerator = [\"cgan\"]\ngenerator_training = [\"shared\"]\n[[grid]]\nstrategy = [\"real\"]\n",
        );
        let cells = expand(&e);
        let (arts, per_cell) = plan(&cells, &[1, 2, 3, 4], "abc", "v");
        assert_eq!(arts.len(), 2);
        assert_eq!(arts[0].spec.training_subjects, vec![1, 2, 3, 4]);
        assert!(arts[0].spec.excluded_subjects.is_empty());
        assert_ne!(arts[0].spec.seed, arts[1].spec.seed);
        assert_ne!(arts[0].sample.seed, arts[1].sample.seed);
        let real: Vec<_> = cells
            .iter()
            .zip(&per_cell)
            .filter(|(c, _)| c.generation.is_none())
            .collect();
        assert!(real.iter().all(|(_, g)| g.is_empty()));
        assert!(arts[0].sample.file_name().starts_with("synthetic-"));
    }
}
