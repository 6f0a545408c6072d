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
use crate::models::{ClassifierKind, HeadMode};

/// Largest number of replicates per grid point (see [`super::limits`]).
pub use super::limits::MAX_REPLICATES;

/// The axes of a grid, in table order.
pub const AXES: [&str; 6] = [
    "generator",
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
}

impl Generator {
    /// The value as written in the experiment file.
    pub fn label(&self) -> String {
        match self {
            Generator::None => "none".into(),
            Generator::File(p) => format!("file:{p}"),
        }
    }
}

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
}

impl ReportMetric {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "macro_f1" => Self::MacroF1,
            "stress_f1" => Self::StressF1,
            "reference_f1" => Self::ReferenceF1,
            "accuracy" => Self::Accuracy,
            "balanced_accuracy" => Self::BalancedAccuracy,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MacroF1 => "macro_f1",
            Self::StressF1 => "stress_f1",
            Self::ReferenceF1 => "reference_f1",
            Self::Accuracy => "accuracy",
            Self::BalancedAccuracy => "balanced_accuracy",
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
        }
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
    // Read bytes, then decode: a file that exists but is not UTF-8 is malformed, not unreadable.
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: format!(
            "not UTF-8 text (invalid byte at offset {}); an experiment file is TOML",
            e.utf8_error().valid_up_to()
        ),
    })?;
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
            slurm,
            report,
        })
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

    fn block(&self, b: &GridBlock) -> Result<Vec<GridPoint>, ConfigError> {
        let (gens, gen_span) = self.strings(&b.generator, "generator", "none")?;
        let generators = gens
            .iter()
            .map(|g| match *g {
                "none" => Ok(Generator::None),
                g if g.starts_with("file:") && g.len() > 5 => Ok(Generator::File(g[5..].into())),
                other => Err(self.err(
                    gen_span.clone(),
                    format!("unknown generator {other:?} (none, file:<path>)"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let epsilons = match &b.epsilon {
            None => vec![Epsilon(f64::INFINITY)],
            Some(s) if s.get_ref().is_empty() => {
                return Err(self.err(s.span(), "axis epsilon is empty"))
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
                            return Err(self.err(
                                s.span(),
                                format!("epsilon {t:?} is not a number or \"inf\""),
                            ))
                        }
                    };
                    if e.is_nan() || e <= 0.0 {
                        return Err(self.err(
                            s.span(),
                            format!("epsilon must be positive (inf = non-private), got {e}"),
                        ));
                    }
                    Ok(Epsilon(e))
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
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
                                "strategy {} needs synthetic data, but generator = none; give a generator (file:<path>) in this [[grid]] block",
                                s.as_str()
                            ),
                        ));
                    }
                    (Strategy::Real, Generator::File(_)) => {
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
            for &e in &epsilons {
                for &s in &strategies {
                    for &k in &ks {
                        for &c in &classifiers {
                            for &m in &feature_modes {
                                out.push(GridPoint {
                                    generator: g.clone(),
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
        })
    }

    fn report(&self, r: &ReportSection) -> Result<ReportSpec, ConfigError> {
        let metric = |m: Option<&str>, span: std::ops::Range<usize>| {
            match m {
            None => Ok(None),
            Some(m) => ReportMetric::parse(m).map(Some).ok_or_else(|| {
                self.err(
                    span,
                    format!(
                        "unknown metric {m:?} (macro_f1, stress_f1, reference_f1, accuracy, balanced_accuracy)"
                    ),
                )
            }),
        }
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
