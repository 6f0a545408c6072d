//! Validation of an [`ExperimentFile`] into a typed [`Experiment`] and expansion of its grid
//! into cells. Every refusal names the file, line and column of the offending value.
//!
//! Rules beyond the schema:
//! - `tstr` and `augment` need a generator other than `none`; `real` takes `generator = none`
//!   and no `synthetic_subjects` (put the real baseline in its own `[[grid]]` block);
//! - ε must be positive (`inf` = non-private); a finite ε trains the classifier with DP-SGD
//!   as `[privacy]` says, and is refused with `tstr` (private TSTR training is not offered);
//! - a value may appear only once within an axis, and a grid point only once across the
//!   `[[grid]]` blocks;
//! - every count is within [`super::limits`], and the whole grid (points × replicates) has at
//!   most [`limits::MAX_CELLS`] cells, checked before it is expanded;
//! - a simulated campaign dataset has at least [`limits::MIN_CAMPAIGN_SUBJECTS`] subjects
//!   (leave-one-subject-out needs a training subject in every fold);
//! - `[slurm]` text values fit on one `#SBATCH` or shell line (no control characters).
//! - report tables and figures may only name axes, each at most once.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{line_column, ConfigError};
use super::experiment::*;
use super::limits::{self, Limit};
use crate::features::{FeatureMode, WindowScheme};
use crate::models::generator_spec::{GeneratorKind, GeneratorMode};
use crate::models::{ClassifierKind, HeadMode};
use crate::privacy::accounting::ledger::PrivacyUnit;

/// Largest number of replicates per grid point (see [`super::limits`]).
pub use super::limits::MAX_REPLICATES;

/// The axes of a grid, in table order.
pub const AXES: [&str; 8] = [
    "generator",
    "gan_epsilon",
    "generator_training",
    "epsilon",
    "strategy",
    "synthetic_subjects",
    "classifier",
    "feature_mode",
];

/// Where synthetic windows come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Generator {
    None,
    /// Precomputed synthetic data; the path as written (resolved against the experiment
    /// file's folder when relative).
    File(String),
    /// A generator dpwear trains in the cell's generator stage.
    Trained(GeneratorKind),
}

impl Generator {
    /// The value as written in the experiment file.
    pub fn label(&self) -> String {
        match self {
            Generator::None => "none".into(),
            Generator::File(p) => format!("file:{p}"),
            Generator::Trained(k) => k.as_str().into(),
        }
    }

    /// The kind of a generator dpwear trains.
    pub fn trained(&self) -> Option<GeneratorKind> {
        match self {
            Generator::Trained(k) => Some(*k),
            _ => None,
        }
    }
}

/// Which subjects a trained generator sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GeneratorTraining {
    /// One generator per LOSO fold, trained on that fold's training subjects only.
    PerFold,
    /// One generator on every subject (the reference's): the LOSO test subject is in the
    /// generator's training data, so its scores leak.
    Shared,
}

impl GeneratorTraining {
    pub fn as_str(self) -> &'static str {
        match self {
            GeneratorTraining::PerFold => "per-fold",
            GeneratorTraining::Shared => "shared",
        }
    }
    /// The label of tables and records: `shared` says that it leaks.
    pub fn label(self) -> &'static str {
        match self {
            GeneratorTraining::PerFold => "per-fold",
            GeneratorTraining::Shared => SHARED_LEAK_LABEL,
        }
    }
}

/// How every table, record and plan names a shared generator.
pub const SHARED_LEAK_LABEL: &str = "shared (leaks the test subject)";

/// The sentence every record of a cell with a shared generator carries.
pub const SHARED_LEAK_NOTE: &str = "leaks the test subject: the cell's generator was trained on every subject, each LOSO test subject included (generator_training = \"shared\", the reference's protocol); its scores are optimistic";

/// How a cell uses real and synthetic data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    Real,
    Tstr,
    Augment,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Real => "real",
            Strategy::Tstr => "tstr",
            Strategy::Augment => "augment",
        }
    }
}

/// A privacy budget; `inf` is non-private. Serialised as text (`"inf"`, `"1"`, `"0.1"`) so
/// that JSON can hold it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Epsilon(pub f64);

impl Epsilon {
    pub fn is_private(self) -> bool {
        self.0.is_finite()
    }
    pub fn label(self) -> String {
        format!("{}", self.0)
    }
}

impl Serialize for Epsilon {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.label())
    }
}

impl<'de> Deserialize<'de> for Epsilon {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<f64>()
            .ok()
            .filter(|v| *v > 0.0)
            .map(Epsilon)
            .ok_or_else(|| serde::de::Error::custom(format!("bad epsilon {s:?}")))
    }
}

/// One grid point (without the replicate).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridPoint {
    pub generator: Generator,
    /// The trained generator's budget (`None` unless the generator is trained by dpwear).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gan_epsilon: Option<Epsilon>,
    /// Per-fold or shared (`None` unless the generator is trained by dpwear).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_training: Option<GeneratorTraining>,
    pub epsilon: Epsilon,
    pub strategy: Strategy,
    /// First K synthetic subjects; `None` = all.
    pub synthetic_subjects: Option<usize>,
    pub classifier: ClassifierKind,
    pub feature_mode: FeatureMode,
}

impl GridPoint {
    /// Display value of `axis` (one of [`AXES`]).
    pub fn axis_value(&self, axis: &str) -> Option<String> {
        Some(match axis {
            "generator" => self.generator.label(),
            "gan_epsilon" => self
                .gan_epsilon
                .map(|e| e.label())
                .unwrap_or_else(|| "-".into()),
            "generator_training" => self
                .generator_training
                .map(|t| t.label().to_string())
                .unwrap_or_else(|| "-".into()),
            "epsilon" => self.epsilon.label(),
            "strategy" => self.strategy.as_str().into(),
            "synthetic_subjects" => self
                .synthetic_subjects
                .map(|k| k.to_string())
                .unwrap_or_else(|| "all".into()),
            "classifier" => self.classifier.as_str().into(),
            "feature_mode" => self.feature_mode.as_str().into(),
            _ => return None,
        })
    }

    fn key(&self) -> String {
        AXES.iter()
            .map(|a| self.axis_value(a).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\u{1f}")
    }
}

/// Where the real data comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetSpec {
    /// A file or folder (resolved path).
    Path(PathBuf),
    Simulate(SimulateSection),
}

/// Training parameters shared by every cell (`None` = the classifier's reference default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub head: HeadMode,
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub learning_rate: Option<f64>,
}

/// An axis and its values in first-appearance order (the order of tables and figures).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub name: String,
    pub values: Vec<String>,
}

/// The metric of tables and figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportMetric {
    MacroF1,
    StressF1,
    ReferenceF1,
    Accuracy,
    BalancedAccuracy,
    /// A quality metric of the cell's generators (mean over its folds' generators), by its
    /// `evaluation::quality::SCALAR_METRICS` name.
    Quality(QualityMetric),
}

/// The quality metrics a table or figure can show (see `evaluation::quality::SCALAR_METRICS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityMetric {
    Mmd2,
    MmdPvalue,
    C2stAccuracy,
    MarginalKsMean,
    CorrelationFrobenius,
    PsdDistanceMean,
    PrdcPrecision,
    PrdcRecall,
    PrdcDensity,
    PrdcCoverage,
    MiaAuc,
    DcrRatio,
    DomiasAuc,
    DiscriminativeScore,
    PredictiveMae,
    AuditEpsLower,
}

impl QualityMetric {
    pub const ALL: [QualityMetric; 16] = [
        Self::Mmd2,
        Self::MmdPvalue,
        Self::C2stAccuracy,
        Self::MarginalKsMean,
        Self::CorrelationFrobenius,
        Self::PsdDistanceMean,
        Self::PrdcPrecision,
        Self::PrdcRecall,
        Self::PrdcDensity,
        Self::PrdcCoverage,
        Self::MiaAuc,
        Self::DcrRatio,
        Self::DomiasAuc,
        Self::DiscriminativeScore,
        Self::PredictiveMae,
        Self::AuditEpsLower,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mmd2 => "mmd2",
            Self::MmdPvalue => "mmd_pvalue",
            Self::C2stAccuracy => "c2st_accuracy",
            Self::MarginalKsMean => "marginal_ks_mean",
            Self::CorrelationFrobenius => "correlation_frobenius",
            Self::PsdDistanceMean => "psd_distance_mean",
            Self::PrdcPrecision => "prdc_precision",
            Self::PrdcRecall => "prdc_recall",
            Self::PrdcDensity => "prdc_density",
            Self::PrdcCoverage => "prdc_coverage",
            Self::MiaAuc => "mia_auc",
            Self::DcrRatio => "dcr_ratio",
            Self::DomiasAuc => "domias_auc",
            Self::DiscriminativeScore => "discriminative_score",
            Self::PredictiveMae => "predictive_mae",
            Self::AuditEpsLower => "audit_eps_lower",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Mmd2 => "MMD² of the generators' samples",
            Self::MmdPvalue => "MMD permutation p-value",
            Self::C2stAccuracy => "C2ST accuracy (0.5 = indistinguishable)",
            Self::MarginalKsMean => "mean marginal KS statistic",
            Self::CorrelationFrobenius => "correlation-matrix Frobenius distance",
            Self::PsdDistanceMean => "mean spectral-shape distance",
            Self::PrdcPrecision => "PRDC precision",
            Self::PrdcRecall => "PRDC recall",
            Self::PrdcDensity => "PRDC density",
            Self::PrdcCoverage => "PRDC coverage",
            Self::MiaAuc => "membership-inference AUC (distance attack; 0.5 = none)",
            Self::DcrRatio => "DCR ratio training / holdout",
            Self::DomiasAuc => "membership-inference AUC (DOMIAS; 0.5 = none)",
            Self::DiscriminativeScore => "discriminative score |acc − 0.5|",
            Self::PredictiveMae => "predictive score (MAE, trained on synthetic)",
            Self::AuditEpsLower => "canary-audit ε lower bound of one private step",
        }
    }
}

impl ReportMetric {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "macro_f1" => Self::MacroF1,
            "stress_f1" => Self::StressF1,
            "reference_f1" => Self::ReferenceF1,
            "accuracy" => Self::Accuracy,
            "balanced_accuracy" => Self::BalancedAccuracy,
            other => {
                return QualityMetric::ALL
                    .into_iter()
                    .find(|q| q.as_str() == other)
                    .map(Self::Quality)
            }
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MacroF1 => "macro_f1",
            Self::StressF1 => "stress_f1",
            Self::ReferenceF1 => "reference_f1",
            Self::Accuracy => "accuracy",
            Self::BalancedAccuracy => "balanced_accuracy",
            Self::Quality(q) => q.as_str(),
        }
    }
    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Self::MacroF1 => "macro-F1",
            Self::StressF1 => "stress-class F1",
            Self::ReferenceF1 => "reference_f1 (the reference's micro \"F1\")",
            Self::Accuracy => "accuracy",
            Self::BalancedAccuracy => "balanced accuracy",
            Self::Quality(q) => q.label(),
        }
    }
    /// Every name [`ReportMetric::parse`] accepts, comma-separated (for messages).
    pub fn names() -> String {
        let mut v = vec![
            "macro_f1",
            "stress_f1",
            "reference_f1",
            "accuracy",
            "balanced_accuracy",
        ];
        v.extend(QualityMetric::ALL.iter().map(|q| q.as_str()));
        v.join(", ")
    }
}

/// How a private cell trains (from `[privacy]`); part of a private cell's identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrivacyPolicy {
    /// `example` or `reference-batch`.
    pub mode: String,
    pub accountant: crate::privacy::accounting::ledger::AccountantKind,
    /// Fixed δ, or `None` for the mode's rule.
    pub delta: Option<f64>,
    pub unit: crate::privacy::accounting::ledger::PrivacyUnit,
    pub clip_norm: f64,
    /// Example mode's public class weights [non-stress, stress].
    #[serde(default = "crate::models::DpTraining::default_class_weights")]
    pub class_weights: [f64; 2],
    /// DP batches and noise from the master seed (see `[privacy] reproducible_noise`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reproducible_noise: bool,
}

/// A trained generator's hyper-parameters (`None`: the mode's own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorHyper {
    pub mode: GeneratorMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d_steps: Option<u64>,
}

impl Default for GeneratorHyper {
    fn default() -> Self {
        Self {
            mode: GeneratorMode::Default,
            epochs: None,
            steps: None,
            batch_size: None,
            d_steps: None,
        }
    }
}

/// The validated `[generation]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerationSpec {
    pub windows: WindowScheme,
    pub subjects: usize,
    pub windows_per_subject: usize,
    pub stress_fraction: f64,
    pub unit: PrivacyUnit,
    pub delta: Option<f64>,
    pub clip_norm: f64,
    /// Generator tasks at once in the local executor.
    pub parallel: usize,
}

/// The validated `[quality]` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualitySpec {
    pub enabled: bool,
    pub permutations: usize,
    pub max_pairwise: usize,
    /// Also train TimeGAN's post-hoc discriminative and predictive models (libtorch; about a
    /// minute per generator on one CPU thread at the default iterations).
    pub model_scores: bool,
    /// Adam steps of each post-hoc model.
    pub score_iterations: usize,
}

impl Default for QualitySpec {
    fn default() -> Self {
        Self {
            enabled: true,
            permutations: 200,
            max_pairwise: 1500,
            model_scores: false,
            score_iterations: 2000,
        }
    }
}

/// Default windows per synthetic subject (the reference's 36).
pub const DEFAULT_WINDOWS_PER_SUBJECT: usize = 36;
/// Default number of synthetic subjects sampled per trained generator.
pub const DEFAULT_SYNTHETIC_SUBJECTS: usize = 15;

impl Default for GenerationSpec {
    fn default() -> Self {
        Self {
            windows: WindowScheme::NonOverlapping,
            subjects: DEFAULT_SYNTHETIC_SUBJECTS,
            windows_per_subject: DEFAULT_WINDOWS_PER_SUBJECT,
            stress_fraction: 0.3,
            unit: PrivacyUnit::Window,
            delta: None,
            clip_norm: 1.0,
            parallel: 1,
        }
    }
}

/// Validated report settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportSpec {
    pub metric: ReportMetric,
    pub tables: Vec<TableSection>,
    pub figures: Vec<FigureSection>,
}

/// A validated experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub campaign: String,
    pub master_seed: u64,
    pub replicates: usize,
    pub dataset: DatasetSpec,
    pub windows: WindowScheme,
    pub model: ModelSpec,
    /// libtorch threads per rank (not part of a cell's identity).
    pub threads: Option<usize>,
    /// Unique grid points in block order.
    pub points: Vec<GridPoint>,
    pub axes: Vec<Axis>,
    pub local_parallel: usize,
    /// DP-SGD settings of the private cells.
    pub privacy: PrivacyPolicy,
    /// The generator stage (used by cells whose generator dpwear trains).
    #[serde(default)]
    pub generation: GenerationSpec,
    /// The quality report of each trained generator's sample (not part of any id: a
    /// measurement of the generator, kept beside it under a name that hashes these options).
    #[serde(default)]
    pub quality: QualitySpec,
    /// Hyper-parameters of each trained generator kind used by the grid.
    #[serde(default)]
    pub generators: std::collections::BTreeMap<String, GeneratorHyper>,
    pub slurm: SlurmSection,
    pub report: ReportSpec,
}

impl Experiment {
    /// Number of cells (points × replicates).
    pub fn cell_count(&self) -> usize {
        self.points.len() * self.replicates
    }
}

/// Reads and validates an experiment file.
pub fn load(path: &Path) -> Result<Experiment, ConfigError> {
    let text = super::error::read_toml_text(path, "an experiment file")?;
    parse(&text, path)
}

/// Validates experiment text; `path` names it in errors and anchors relative paths.
pub fn parse(text: &str, path: &Path) -> Result<Experiment, ConfigError> {
    let file: ExperimentFile = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    Validator { text, path }.experiment(file)
}

struct Validator<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Validator<'_> {
    fn err(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_column(self.text, span.start);
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    fn experiment(&self, f: ExperimentFile) -> Result<Experiment, ConfigError> {
        if *f.schema_version.get_ref() != EXPERIMENT_SCHEMA_VERSION {
            return Err(self.err(
                f.schema_version.span(),
                format!(
                    "schema_version {} is not supported (this dpwear reads {EXPERIMENT_SCHEMA_VERSION})",
                    f.schema_version.get_ref()
                ),
            ));
        }
        let campaign = f.campaign.get_ref().clone();
        let ok_name = !campaign.is_empty()
            && campaign.len() <= 100
            && !campaign.starts_with('.')
            && campaign
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok_name {
            return Err(self.err(
                f.campaign.span(),
                "campaign must be 1–100 letters, digits, '-', '_' or '.' (not starting with '.'): it names the results folder",
            ));
        }
        let reps = self
            .limited(
                &Some(f.replicates.clone()),
                "replicates",
                &limits::REPLICATES,
            )?
            .expect("replicates is required");
        let (dataset, windows) = self.dataset(&f.dataset)?;
        let model = self.model(&f.model)?;
        let threads = self.limited(&f.model.threads, "model.threads", &limits::THREADS)?;
        let mut points = Vec::new();
        let mut seen = HashSet::new();
        if f.grid.get_ref().is_empty() {
            return Err(self.err(f.grid.span(), "at least one [[grid]] block is needed"));
        }
        self.cell_bound(&f.grid, &f.replicates)?;
        for block in f.grid.get_ref() {
            for p in self.block(block)? {
                if !seen.insert(p.key()) {
                    let span = block
                        .strategy
                        .as_ref()
                        .or(block.classifier.as_ref())
                        .map(|s| s.span())
                        .unwrap_or(f.grid.span());
                    return Err(self.err(
                        span,
                        format!(
                            "grid point {{{}}} appears in more than one [[grid]] block",
                            AXES.iter()
                                .map(|a| format!("{a} = {}", p.axis_value(a).unwrap_or_default()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                points.push(p);
            }
        }
        let axes = AXES
            .iter()
            .map(|&name| {
                let mut values: Vec<String> = Vec::new();
                for p in &points {
                    let v = p.axis_value(name).expect("known axis");
                    if !values.contains(&v) {
                        values.push(v);
                    }
                }
                Axis {
                    name: name.into(),
                    values,
                }
            })
            .collect();
        let local_parallel = self
            .limited(&f.local.parallel, "local.parallel", &limits::JOBS)?
            .unwrap_or(1);
        if let (Some(p), Some(t)) = (&f.local.parallel, threads) {
            limits::check_total_threads(local_parallel, t)
                .map_err(|m| self.err(p.span(), format!("local.parallel × model.threads: {m}")))?;
        }
        let privacy = self.privacy(&f.privacy)?;
        let generation = self.generation(&f, &points, &privacy, local_parallel)?;
        let generators = self.generators(&f.generators, &points)?;
        let quality = QualitySpec {
            enabled: f.quality.enabled.unwrap_or(true),
            permutations: self
                .limited(
                    &f.quality.permutations,
                    "quality.permutations",
                    &limits::QUALITY_PERMUTATIONS,
                )?
                .unwrap_or(QualitySpec::default().permutations),
            max_pairwise: self
                .limited(
                    &f.quality.max_pairwise,
                    "quality.max_pairwise",
                    &limits::QUALITY_PAIRWISE,
                )?
                .unwrap_or(QualitySpec::default().max_pairwise),
            model_scores: f.quality.model_scores.unwrap_or(false),
            score_iterations: self
                .limited(
                    &f.quality.score_iterations,
                    "quality.score_iterations",
                    &limits::GAN_STEPS,
                )?
                .unwrap_or(QualitySpec::default().score_iterations),
        };
        let slurm = self.slurm(&f.slurm, &f)?;
        let report = self.report(&f.report)?;
        Ok(Experiment {
            campaign,
            master_seed: f.master_seed,
            replicates: reps,
            dataset,
            windows,
            model,
            threads,
            points,
            axes,
            local_parallel,
            privacy,
            generation,
            quality,
            generators,
            slurm,
            report,
        })
    }

    /// The `[generation]` table, checked against the points that use it.
    fn generation(
        &self,
        f: &ExperimentFile,
        points: &[GridPoint],
        privacy: &PrivacyPolicy,
        local_parallel: usize,
    ) -> Result<GenerationSpec, ConfigError> {
        let g = &f.generation;
        let mut spec = GenerationSpec {
            unit: privacy.unit,
            parallel: local_parallel,
            ..GenerationSpec::default()
        };
        if let Some(w) = &g.windows {
            spec.windows = match w.get_ref().as_str() {
                "non-overlapping" => WindowScheme::NonOverlapping,
                "sliding" => WindowScheme::Sliding,
                other => {
                    return Err(self.err(
                        w.span(),
                        format!("unknown generation.windows {other:?} (non-overlapping, sliding)"),
                    ))
                }
            };
        }
        let trained: Vec<&GridPoint> = points
            .iter()
            .filter(|p| p.generator.trained().is_some())
            .collect();
        let largest_k = trained.iter().filter_map(|p| p.synthetic_subjects).max();
        spec.subjects = match self.limited(
            &g.subjects,
            "generation.subjects",
            &limits::SYNTHETIC_SUBJECTS,
        )? {
            Some(n) => {
                if let Some(k) = largest_k.filter(|&k| k > n) {
                    return Err(self.err(
                        g.subjects.as_ref().expect("given").span(),
                        format!(
                            "generation.subjects = {n} but the grid asks for synthetic_subjects = {k} of a trained generator: sample at least {k}"
                        ),
                    ));
                }
                n
            }
            None => largest_k.unwrap_or(DEFAULT_SYNTHETIC_SUBJECTS),
        };
        if let Some(w) = self.limited(
            &g.windows_per_subject,
            "generation.windows_per_subject",
            &limits::WINDOWS_PER_SYNTHETIC_SUBJECT,
        )? {
            spec.windows_per_subject = w;
        }
        if let Some(s) = &g.stress_fraction {
            let v = *s.get_ref();
            if !(v.is_finite() && v > 0.0 && v < 1.0) {
                return Err(self.err(
                    s.span(),
                    format!("generation.stress_fraction must lie in (0, 1), got {v}"),
                ));
            }
            spec.stress_fraction = v;
        }
        if let Some(u) = &g.unit {
            spec.unit = match u.get_ref().as_str() {
                "window" => PrivacyUnit::Window,
                "subject" => PrivacyUnit::Subject,
                other => {
                    return Err(self.err(
                        u.span(),
                        format!("unknown generation.unit {other:?} (window, subject)"),
                    ))
                }
            };
        }
        if let Some(d) = &g.delta {
            let v = *d.get_ref();
            if !(v > 0.0 && v < 1.0) {
                return Err(self.err(
                    d.span(),
                    format!("generation.delta must lie in (0, 1), got {v}"),
                ));
            }
            spec.delta = Some(v);
        }
        if let Some(c) = &g.clip_norm {
            let v = *c.get_ref();
            if !(v.is_finite() && v > 0.0) {
                return Err(self.err(
                    c.span(),
                    format!("generation.clip_norm must be positive, got {v}"),
                ));
            }
            spec.clip_norm = v;
        }
        if let Some(n) = self.limited(&g.parallel, "generation.parallel", &limits::JOBS)? {
            spec.parallel = n;
        }
        let private = trained
            .iter()
            .any(|p| p.gan_epsilon.is_some_and(|e| e.is_private()));
        if private && spec.windows == WindowScheme::Sliding && spec.unit == PrivacyUnit::Window {
            let span = g
                .windows
                .as_ref()
                .map(|w| w.span())
                .or(g.unit.as_ref().map(|u| u.span()))
                .unwrap_or(0..0);
            return Err(self.err(
                span,
                "a finite gan_epsilon at the window unit needs generation.windows = \"non-overlapping\": with sliding windows every second lies in two windows, so a window-level guarantee would really protect half a window (use non-overlapping windows or generation.unit = \"subject\")",
            ));
        }
        if private && privacy.mode == "reference-batch" {
            // The generators' DP is per-example; the accountant below must be one they use.
            return Err(self.err(
                f.privacy.mode.as_ref().map(|m| m.span()).unwrap_or(0..0),
                "privacy.mode = reference-batch is the classifier's reference mode; a private generator (finite gan_epsilon) uses per-example DP-SGD with privacy.accountant: use privacy.mode = example in this campaign",
            ));
        }
        Ok(spec)
    }

    /// The `[generators.<kind>]` tables; a table for a kind the grid does not train is refused
    /// (it would be silently ignored).
    fn generators(
        &self,
        g: &GeneratorsSection,
        points: &[GridPoint],
    ) -> Result<std::collections::BTreeMap<String, GeneratorHyper>, ConfigError> {
        let mut out = std::collections::BTreeMap::new();
        for (kind, table) in [
            (GeneratorKind::Cgan, &g.cgan),
            (GeneratorKind::Dgan, &g.dgan),
            (GeneratorKind::Timegan, &g.timegan),
            (GeneratorKind::DpMerf, &g.dp_merf),
        ] {
            let used = points.iter().any(|p| p.generator.trained() == Some(kind));
            let Some(t) = table else {
                if used {
                    out.insert(kind.as_str().to_string(), GeneratorHyper::default());
                }
                continue;
            };
            let span = t.span();
            if !used {
                return Err(self.err(
                    span,
                    format!(
                        "[generators.{kind}] is given but no [[grid]] block trains {kind}; remove it or add {kind:?} to a generator axis",
                        kind = kind.as_str()
                    ),
                ));
            }
            let v = t.get_ref();
            let name = |k: &str| format!("generators.{}.{k}", kind.as_str());
            let mode = match v.mode.as_deref() {
                None => GeneratorMode::Default,
                Some(m) => GeneratorMode::parse(m).ok_or_else(|| {
                    self.err(
                        span.clone(),
                        format!("unknown {} {m:?} (default, reference)", name("mode")),
                    )
                })?,
            };
            let count =
                |v: Option<i64>, key: &str, l: &Limit| -> Result<Option<u64>, ConfigError> {
                    match v {
                        None => Ok(None),
                        Some(x) => l.check(i128::from(x)).map(|n| Some(n as u64)).map_err(|_| {
                            self.err(
                                span.clone(),
                                format!(
                                    "{} must be between {} and {}, got {x}",
                                    name(key),
                                    l.range.start(),
                                    l.range.end()
                                ),
                            )
                        }),
                    }
                };
            let epochs = count(v.epochs, "epochs", &limits::EPOCHS)?;
            let steps = count(v.steps, "steps", &limits::GAN_STEPS)?;
            if epochs.is_some() && steps.is_some() {
                return Err(self.err(
                    span,
                    format!("give {} or {}, not both", name("epochs"), name("steps")),
                ));
            }
            out.insert(
                kind.as_str().to_string(),
                GeneratorHyper {
                    mode,
                    epochs,
                    steps,
                    batch_size: count(v.batch_size, "batch_size", &limits::BATCH_SIZE)?
                        .map(|b| b as usize),
                    d_steps: count(v.d_steps, "d_steps", &limits::GAN_STEPS)?,
                },
            );
        }
        Ok(out)
    }

    fn dataset(&self, d: &DatasetSection) -> Result<(DatasetSpec, WindowScheme), ConfigError> {
        let spec = match (&d.path, &d.simulate) {
            (Some(p), None) => {
                let raw = PathBuf::from(p.get_ref());
                let resolved = if raw.is_absolute() {
                    raw
                } else {
                    self.base_dir().join(raw)
                };
                DatasetSpec::Path(resolved)
            }
            (None, Some(s)) => {
                let v = s.get_ref();
                let range = limits::MIN_CAMPAIGN_SUBJECTS..=crate::data::simulator::MAX_SUBJECTS;
                if !range.contains(&v.subjects) {
                    return Err(self.err(
                        s.span(),
                        format!(
                            "dataset.simulate.subjects must be between {} and {} (leave-one-subject-out needs a test subject and at least one training subject), got {}",
                            range.start(),
                            range.end(),
                            v.subjects
                        ),
                    ));
                }
                let m = v.minutes_scale;
                if !(m.is_finite() && m > 0.0 && m <= crate::data::simulator::MAX_MINUTES_SCALE) {
                    return Err(self.err(
                        s.span(),
                        format!(
                            "dataset.simulate.minutes_scale must be in (0, {}]",
                            crate::data::simulator::MAX_MINUTES_SCALE
                        ),
                    ));
                }
                DatasetSpec::Simulate(v.clone())
            }
            (Some(p), Some(_)) => {
                return Err(self.err(
                    p.span(),
                    "[dataset] takes either `path` or `simulate`, not both",
                ))
            }
            (None, None) => {
                return Err(self.err(
                    0..0,
                    "[dataset] needs `path = \"…\"` or `simulate = { subjects = … }`",
                ))
            }
        };
        let windows = match &d.windows {
            None => WindowScheme::Reference,
            Some(w) => WindowScheme::parse(w.get_ref()).ok_or_else(|| {
                self.err(
                    w.span(),
                    format!(
                        "unknown window scheme {:?} (reference, non-overlapping, sliding)",
                        w.get_ref()
                    ),
                )
            })?,
        };
        Ok((spec, windows))
    }

    /// An optional count within `limit`; the message names the key `name`.
    fn limited(
        &self,
        v: &Option<Spanned<i64>>,
        name: &str,
        limit: &Limit,
    ) -> Result<Option<usize>, ConfigError> {
        match v {
            None => Ok(None),
            Some(s) => limit
                .check(i128::from(*s.get_ref()))
                .map(Some)
                .map_err(|_| {
                    self.err(
                        s.span(),
                        format!(
                            "{name} must be between {} and {}, got {}",
                            limit.range.start(),
                            limit.range.end(),
                            s.get_ref()
                        ),
                    )
                }),
        }
    }

    /// Refuses a grid of more than [`limits::MAX_CELLS`] cells from the axis lengths alone,
    /// before anything is expanded (the bound counts duplicates, which are refused later).
    fn cell_bound(
        &self,
        grid: &Spanned<Vec<GridBlock>>,
        replicates: &Spanned<i64>,
    ) -> Result<(), ConfigError> {
        fn len<T>(a: &Option<Spanned<Vec<T>>>) -> u128 {
            a.as_ref().map_or(1, |v| v.get_ref().len() as u128)
        }
        let mut points: u128 = 0;
        for b in grid.get_ref() {
            let product = len(&b.generator)
                * len(&b.gan_epsilon)
                * len(&b.generator_training)
                * len(&b.epsilon)
                * len(&b.strategy)
                * len(&b.synthetic_subjects)
                * len(&b.classifier)
                * len(&b.feature_mode);
            points = points.saturating_add(product);
        }
        let reps = (*replicates.get_ref()).max(1) as u128;
        let cells = points.saturating_mul(reps);
        if cells > limits::MAX_CELLS as u128 {
            return Err(self.err(
                grid.span(),
                format!(
                    "the grid has {cells} cells ({points} grid point(s) × {reps} replicate(s)); at most {} cells are allowed per experiment: split it into several campaigns",
                    limits::MAX_CELLS
                ),
            ));
        }
        Ok(())
    }

    /// Refuses a value that appears twice in one axis, naming the value and the axis.
    fn distinct<T>(
        &self,
        values: &[T],
        label: impl Fn(&T) -> String,
        axis: &str,
        span: &std::ops::Range<usize>,
    ) -> Result<(), ConfigError> {
        let mut seen = HashSet::new();
        for v in values {
            let l = label(v);
            if !seen.insert(l.clone()) {
                return Err(self.err(
                    span.clone(),
                    format!("duplicate value {l:?} in axis {axis}: each value may appear once"),
                ));
            }
        }
        Ok(())
    }

    fn model(&self, m: &ModelSection) -> Result<ModelSpec, ConfigError> {
        let head = match &m.mode {
            None => HeadMode::Default,
            Some(s) => match s.get_ref().as_str() {
                "default" => HeadMode::Default,
                "reference" => HeadMode::Reference,
                other => {
                    return Err(self.err(
                        s.span(),
                        format!("unknown model.mode {other:?} (default, reference)"),
                    ))
                }
            },
        };
        let learning_rate = match &m.learning_rate {
            None => None,
            Some(s) if s.get_ref().is_finite() && *s.get_ref() > 0.0 => Some(*s.get_ref()),
            Some(s) => {
                return Err(self.err(
                    s.span(),
                    format!("model.learning_rate must be positive, got {}", s.get_ref()),
                ))
            }
        };
        Ok(ModelSpec {
            head,
            epochs: self.limited(&m.epochs, "model.epochs", &limits::EPOCHS)?,
            batch_size: self.limited(&m.batch_size, "model.batch_size", &limits::BATCH_SIZE)?,
            learning_rate,
        })
    }

    fn strings<'v>(
        &self,
        axis: &'v Option<Spanned<Vec<String>>>,
        name: &str,
        default: &'v str,
    ) -> Result<(Vec<&'v str>, std::ops::Range<usize>), ConfigError> {
        match axis {
            None => Ok((vec![default], 0..0)),
            Some(s) if s.get_ref().is_empty() => {
                Err(self.err(s.span(), format!("axis {name} is empty")))
            }
            Some(s) => Ok((s.get_ref().iter().map(String::as_str).collect(), s.span())),
        }
    }

    /// An ε axis (`epsilon` or `gan_epsilon`): positive numbers or `inf` [`inf`].
    fn epsilon_axis(
        &self,
        axis: &Option<Spanned<Vec<EpsilonValue>>>,
        name: &str,
    ) -> Result<Vec<Epsilon>, ConfigError> {
        match axis {
            None => Ok(vec![Epsilon(f64::INFINITY)]),
            Some(s) if s.get_ref().is_empty() => {
                Err(self.err(s.span(), format!("axis {name} is empty")))
            }
            Some(s) => s
                .get_ref()
                .iter()
                .map(|v| {
                    let e = match v {
                        EpsilonValue::Number(x) => *x,
                        EpsilonValue::Integer(i) => *i as f64,
                        EpsilonValue::Text(t) if t == "inf" => f64::INFINITY,
                        EpsilonValue::Text(t) => {
                            return Err(self
                                .err(s.span(), format!("{name} {t:?} is not a number or \"inf\"")))
                        }
                    };
                    if e.is_nan() || e <= 0.0 {
                        return Err(self.err(
                            s.span(),
                            format!("{name} must be positive (inf = non-private), got {e}"),
                        ));
                    }
                    Ok(Epsilon(e))
                })
                .collect(),
        }
    }

    fn block(&self, b: &GridBlock) -> Result<Vec<GridPoint>, ConfigError> {
        let (gens, gen_span) = self.strings(&b.generator, "generator", "none")?;
        let generators = gens
            .iter()
            .map(|g| match *g {
                "none" => Ok(Generator::None),
                g if g.starts_with("file:") && g.len() > 5 => Ok(Generator::File(g[5..].into())),
                other => GeneratorKind::parse(other).map(Generator::Trained).ok_or_else(|| {
                    self.err(
                        gen_span.clone(),
                        format!(
                            "unknown generator {other:?} (none, cgan, dgan, timegan, dp-merf, file:<path>)"
                        ),
                    )
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let epsilons = self.epsilon_axis(&b.epsilon, "epsilon")?;
        let gan_epsilons = self.epsilon_axis(&b.gan_epsilon, "gan_epsilon")?;
        let gan_eps_span = b.gan_epsilon.as_ref().map(|x| x.span()).unwrap_or(0..0);
        let (trainings, training_span) =
            self.strings(&b.generator_training, "generator_training", "per-fold")?;
        let trainings = trainings
            .iter()
            .map(|t| match *t {
                "per-fold" => Ok(GeneratorTraining::PerFold),
                "shared" => Ok(GeneratorTraining::Shared),
                other => Err(self.err(
                    training_span.clone(),
                    format!("unknown generator_training {other:?} (per-fold, shared)"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.distinct(&gan_epsilons, |e| e.label(), "gan_epsilon", &gan_eps_span)?;
        self.distinct(
            &trainings,
            |t| t.as_str().into(),
            "generator_training",
            &training_span,
        )?;
        for g in &generators {
            match g.trained() {
                None => {
                    if b.gan_epsilon.is_some() {
                        return Err(self.err(
                            gan_eps_span.clone(),
                            format!(
                                "gan_epsilon is the budget of a generator dpwear trains (cgan, dgan, timegan, dp-merf); generator {} is not trained here: put it in its own [[grid]] block without gan_epsilon",
                                g.label()
                            ),
                        ));
                    }
                    if b.generator_training.is_some() {
                        return Err(self.err(
                            training_span.clone(),
                            format!(
                                "generator_training applies to generators dpwear trains; generator {} is not trained here: put it in its own [[grid]] block",
                                g.label()
                            ),
                        ));
                    }
                }
                Some(GeneratorKind::Timegan) if gan_epsilons.iter().any(|e| e.is_private()) => {
                    return Err(self.err(
                        gan_eps_span.clone(),
                        "timegan has no private mode (its embedder, recovery, supervisor, generator and discriminator all read the real windows; dpwear refuses rather than report a guarantee it cannot give): give timegan gan_epsilon = [\"inf\"] or use cgan, dgan or dp-merf",
                    ));
                }
                Some(_) => {}
            }
        }
        let (strats, strat_span) = self.strings(&b.strategy, "strategy", "real")?;
        let strategies = strats
            .iter()
            .map(|s| match *s {
                "real" => Ok(Strategy::Real),
                "tstr" => Ok(Strategy::Tstr),
                "augment" => Ok(Strategy::Augment),
                other => Err(self.err(
                    strat_span.clone(),
                    format!("unknown strategy {other:?} (real, tstr, augment)"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ks: Vec<Option<usize>> = match &b.synthetic_subjects {
            None => vec![None],
            Some(s) if s.get_ref().is_empty() => {
                return Err(self.err(s.span(), "axis synthetic_subjects is empty"))
            }
            Some(s) => s
                .get_ref()
                .iter()
                .map(|&k| {
                    let l = &limits::SYNTHETIC_SUBJECTS;
                    l.check(i128::from(k)).map(Some).map_err(|_| {
                        self.err(
                            s.span(),
                            format!(
                                "synthetic_subjects must be between {} and {}, got {k}",
                                l.range.start(),
                                l.range.end()
                            ),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let (clfs, clf_span) = self.strings(&b.classifier, "classifier", "cnn")?;
        let classifiers = clfs
            .iter()
            .map(|c| {
                ClassifierKind::parse(c).ok_or_else(|| {
                    self.err(
                        clf_span.clone(),
                        format!("unknown classifier {c:?} (cnn, cnn-lstm, transformer)"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (modes, mode_span) = self.strings(&b.feature_mode, "feature_mode", "reference")?;
        let feature_modes = modes
            .iter()
            .map(|m| {
                FeatureMode::parse(m).ok_or_else(|| {
                    self.err(
                        mode_span.clone(),
                        format!("unknown feature_mode {m:?} (reference, corrected)"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let eps_span = b.epsilon.as_ref().map(|x| x.span()).unwrap_or(0..0);
        let k_span = b
            .synthetic_subjects
            .as_ref()
            .map(|x| x.span())
            .unwrap_or(0..0);
        self.distinct(&generators, Generator::label, "generator", &gen_span)?;
        self.distinct(&epsilons, |e| e.label(), "epsilon", &eps_span)?;
        self.distinct(&strategies, |s| s.as_str().into(), "strategy", &strat_span)?;
        self.distinct(
            &ks,
            |k| k.map(|k| k.to_string()).unwrap_or_default(),
            "synthetic_subjects",
            &k_span,
        )?;
        self.distinct(&classifiers, |c| c.as_str().into(), "classifier", &clf_span)?;
        self.distinct(
            &feature_modes,
            |m| m.as_str().into(),
            "feature_mode",
            &mode_span,
        )?;

        // Combination rules, checked per axis value so that the error points at the axis.
        for s in &strategies {
            for g in &generators {
                match (s, g) {
                    (Strategy::Tstr | Strategy::Augment, Generator::None) => {
                        let span = if b.generator.is_some() {
                            gen_span.clone()
                        } else {
                            strat_span.clone()
                        };
                        return Err(self.err(
                            span,
                            format!(
                                "strategy {} needs synthetic data, but generator = none; give a generator (cgan, dgan, timegan, dp-merf or file:<path>) in this [[grid]] block",
                                s.as_str()
                            ),
                        ));
                    }
                    (Strategy::Real, Generator::File(_) | Generator::Trained(_)) => {
                        return Err(self.err(
                            strat_span.clone(),
                            "strategy real uses no synthetic data; put the real baseline in its own [[grid]] block with generator = none",
                        ));
                    }
                    _ => {}
                }
            }
            if *s == Strategy::Tstr && epsilons.iter().any(|e| e.is_private()) {
                return Err(self.err(
                    b.epsilon.as_ref().map(|x| x.span()).unwrap_or(strat_span.clone()),
                    "a finite epsilon trains the classifier with DP-SGD on real windows; strategy tstr trains on synthetic data only (private TSTR is not offered): put tstr in a block with epsilon = [inf]",
                ));
            }
            if *s == Strategy::Real && b.synthetic_subjects.is_some() {
                return Err(self.err(
                    b.synthetic_subjects.as_ref().map(|x| x.span()).unwrap_or(strat_span.clone()),
                    "synthetic_subjects has no meaning for strategy real; put the real baseline in its own [[grid]] block",
                ));
            }
        }

        let mut out = Vec::new();
        for g in &generators {
            // The generator stage's axes exist only for trained generators.
            let gen_axes: Vec<(Option<Epsilon>, Option<GeneratorTraining>)> = match g.trained() {
                None => vec![(None, None)],
                Some(_) => gan_epsilons
                    .iter()
                    .flat_map(|&ge| trainings.iter().map(move |&t| (Some(ge), Some(t))))
                    .collect(),
            };
            for &(gan_epsilon, generator_training) in &gen_axes {
                for &e in &epsilons {
                    for &s in &strategies {
                        for &k in &ks {
                            for &c in &classifiers {
                                for &m in &feature_modes {
                                    out.push(GridPoint {
                                        generator: g.clone(),
                                        gan_epsilon,
                                        generator_training,
                                        epsilon: e,
                                        strategy: s,
                                        synthetic_subjects: k,
                                        classifier: c,
                                        feature_mode: m,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The location of `key` inside the `[slurm]` table (the table header when the key is not
    /// found on a line of its own, e.g. written as an inline table).
    fn slurm_key_span(&self, key: &str) -> std::ops::Range<usize> {
        let Some(start) = self.text.find("[slurm]") else {
            return 0..0;
        };
        let mut offset = start;
        for (i, line) in self.text[start..].split_inclusive('\n').enumerate() {
            let trimmed = line.trim_start();
            if i > 0 && trimmed.starts_with('[') {
                break;
            }
            if let Some(rest) = trimmed.strip_prefix(key) {
                if rest.trim_start().starts_with('=') {
                    let at = offset + (line.len() - trimmed.len());
                    return at..at + key.len();
                }
            }
            offset += line.len();
        }
        start..start + "[slurm]".len()
    }

    fn slurm(&self, s: &SlurmSection, _f: &ExperimentFile) -> Result<SlurmSection, ConfigError> {
        let bad = |key: &str, what: String| self.err(self.slurm_key_span(key), what);
        for (key, v) in [
            ("ranks_per_cell", s.ranks_per_cell),
            ("cpus_per_task", s.cpus_per_task),
            ("array_throttle", s.array_throttle),
        ] {
            if v == Some(0) {
                return Err(bad(key, format!("slurm.{key} must be at least 1")));
            }
        }
        if let Some(r) = s.ranks_per_cell {
            let l = &limits::RANKS_PER_CELL;
            if l.check(i128::from(r)).is_err() {
                return Err(bad(
                    "ranks_per_cell",
                    format!(
                        "slurm.ranks_per_cell must be between {} and {}, got {r}",
                        l.range.start(),
                        l.range.end()
                    ),
                ));
            }
        }
        if let Some(t) = &s.time {
            if !is_slurm_time(t) {
                return Err(bad(
                    "time",
                    format!(
                        "slurm.time {t:?} is not a Slurm time (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS)"
                    ),
                ));
            }
        }
        for (key, value, shell_line) in s.text_fields() {
            if !is_one_line(value, shell_line) {
                return Err(bad(
                    key,
                    format!(
                        "slurm.{key} {value:?} contains a line break or control character; it must fit on one {} line",
                        if shell_line { "shell" } else { "#SBATCH" }
                    ),
                ));
            }
        }
        Ok(s.clone())
    }

    fn privacy(&self, p: &PrivacySection) -> Result<PrivacyPolicy, ConfigError> {
        use crate::privacy::accounting::ledger::{AccountantKind, PrivacyUnit};
        let mode = match &p.mode {
            None => "example".to_string(),
            Some(m) if m.get_ref() == "example" || m.get_ref() == "reference-batch" => {
                m.get_ref().clone()
            }
            Some(m) => {
                return Err(self.err(
                    m.span(),
                    format!(
                        "unknown privacy.mode {:?} (example, reference-batch)",
                        m.get_ref()
                    ),
                ))
            }
        };
        let accountant = match &p.accountant {
            None => AccountantKind::Rdp,
            Some(a) => AccountantKind::from_name(a.get_ref()).ok_or_else(|| {
                self.err(
                    a.span(),
                    format!(
                        "unknown privacy.accountant {:?} (rdp, pld, prv)",
                        a.get_ref()
                    ),
                )
            })?,
        };
        let delta = match &p.delta {
            None => None,
            Some(d) if *d.get_ref() > 0.0 && *d.get_ref() < 1.0 => Some(*d.get_ref()),
            Some(d) => {
                return Err(self.err(
                    d.span(),
                    format!("privacy.delta must lie in (0, 1), got {}", d.get_ref()),
                ))
            }
        };
        let unit = match &p.unit {
            None => PrivacyUnit::Window,
            Some(u) => match u.get_ref().as_str() {
                "window" => PrivacyUnit::Window,
                "subject" => PrivacyUnit::Subject,
                other => {
                    return Err(self.err(
                        u.span(),
                        format!("unknown privacy.unit {other:?} (window, subject)"),
                    ))
                }
            },
        };
        if mode == "reference-batch" && accountant != AccountantKind::Rdp {
            return Err(self.err(
                p.accountant.as_ref().map(|a| a.span()).unwrap_or(0..0),
                "privacy.mode = reference-batch calibrates sigma with tf-privacy 0.8.5's RDP accountant (the reference's); privacy.accountant = pld/prv needs privacy.mode = example",
            ));
        }
        if mode == "reference-batch" && unit == PrivacyUnit::Subject {
            return Err(self.err(
                p.unit.as_ref().map(|u| u.span()).unwrap_or(0..0),
                "privacy.unit = subject needs privacy.mode = example",
            ));
        }
        let clip_norm = match &p.clip_norm {
            None => 1.0,
            Some(c) if c.get_ref().is_finite() && *c.get_ref() > 0.0 => *c.get_ref(),
            Some(c) => {
                return Err(self.err(
                    c.span(),
                    format!("privacy.clip_norm must be positive, got {}", c.get_ref()),
                ))
            }
        };
        let class_weights = match &p.class_weights {
            None => crate::models::DpTraining::DEFAULT_CLASS_WEIGHTS,
            Some(w) => match w.get_ref().as_slice() {
                &[w0, w1] if [w0, w1].iter().all(|v| v.is_finite() && *v > 0.0) => [w0, w1],
                other => {
                    return Err(self.err(
                        w.span(),
                        format!(
                            "privacy.class_weights must be two positive numbers [non_stress, stress], got {other:?}"
                        ),
                    ))
                }
            },
        };
        Ok(PrivacyPolicy {
            mode,
            accountant,
            delta,
            unit,
            clip_norm,
            class_weights,
            reproducible_noise: p.reproducible_noise,
        })
    }

    fn report(&self, r: &ReportSection) -> Result<ReportSpec, ConfigError> {
        let metric = |m: Option<&str>, span: std::ops::Range<usize>| match m {
            None => Ok(None),
            Some(m) => ReportMetric::parse(m).map(Some).ok_or_else(|| {
                self.err(
                    span,
                    format!("unknown metric {m:?} ({})", ReportMetric::names()),
                )
            }),
        };
        let default_metric = metric(
            r.metric.as_ref().map(|m| m.get_ref().as_str()),
            r.metric.as_ref().map(|m| m.span()).unwrap_or(0..0),
        )?
        .unwrap_or(ReportMetric::MacroF1);
        let check_axes = |names: &[&String], span: std::ops::Range<usize>| {
            let mut seen = HashSet::new();
            for n in names {
                if !AXES.contains(&n.as_str()) {
                    return Err(self.err(
                        span.clone(),
                        format!("unknown axis {n:?} (axes: {})", AXES.join(", ")),
                    ));
                }
                if !seen.insert(n.as_str()) {
                    return Err(self.err(span.clone(), format!("axis {n:?} is named twice")));
                }
            }
            Ok(())
        };
        for t in &r.table {
            let v = t.get_ref();
            check_axes(
                &v.rows.iter().chain(&v.columns).collect::<Vec<_>>(),
                t.span(),
            )?;
            metric(v.metric.as_deref(), t.span())?;
        }
        for fig in &r.figure {
            let v = fig.get_ref();
            check_axes(
                &std::iter::once(&v.x).chain(&v.series).collect::<Vec<_>>(),
                fig.span(),
            )?;
            metric(v.metric.as_deref(), fig.span())?;
        }
        Ok(ReportSpec {
            metric: default_metric,
            tables: r.table.iter().map(|t| t.get_ref().clone()).collect(),
            figures: r.figure.iter().map(|f| f.get_ref().clone()).collect(),
        })
    }
}

/// Whether `value` can be written as one `#SBATCH` value (`shell_line` false) or one shell
/// line (`shell_line` true: a tab is allowed there) without changing its meaning: no line
/// break or other control character. The sbatch renderer applies the same rule.
pub fn is_one_line(value: &str, shell_line: bool) -> bool {
    !value
        .chars()
        .any(|c| c.is_control() && !(shell_line && c == '\t'))
}

impl SlurmSection {
    /// Every text value with its key and whether it is a shell line (`setup`) rather than an
    /// `#SBATCH` value.
    pub fn text_fields(&self) -> Vec<(&'static str, &str, bool)> {
        let mut out = Vec::new();
        for (key, v) in [
            ("partition", &self.partition),
            ("account", &self.account),
            ("qos", &self.qos),
            ("gres", &self.gres),
            ("time", &self.time),
            ("mem", &self.mem),
        ] {
            if let Some(v) = v {
                out.push((key, v.as_str(), false));
            }
        }
        out.extend(self.setup.iter().map(|l| ("setup", l.as_str(), true)));
        out.extend(
            self.extra_sbatch
                .iter()
                .map(|l| ("extra_sbatch", l.as_str(), false)),
        );
        out
    }
}

/// Slurm's time formats: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`.
pub fn is_slurm_time(t: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, t),
    };
    if let Some(d) = days {
        if !digits(d) {
            return false;
        }
    }
    let parts: Vec<&str> = rest.split(':').collect();
    let n = parts.len();
    parts.iter().all(|p| digits(p)) && (1..=3).contains(&n)
}

#[cfg(test)]
#[path = "grid_tests.rs"]
mod tests;
