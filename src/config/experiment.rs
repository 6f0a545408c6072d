//! The experiment file (TOML, `schema_version = 1`): what a campaign is, as written by its
//! author. Every table refuses unknown keys; values that serde cannot check (ranges, axis
//! combinations) are checked in `grid` with their source location kept through
//! [`toml::Spanned`].
//!
//! ```toml
//! schema_version = 1
//! campaign = "quickstart"
//! master_seed = 42
//! replicates = 2
//!
//! [dataset]
//! simulate = { subjects = 6, seed = 42, minutes_scale = 0.5 }   # or: path = "…"
//!
//! [model]                    # fixed for every cell
//! mode = "default"           # or "reference"
//! epochs = 2                 # default: the reference's per classifier
//!
//! [[grid]]                   # a product of axes; several [[grid]] blocks form a union
//! strategy = ["real"]
//! classifier = ["cnn", "cnn-lstm"]
//!
//! [[grid]]
//! strategy = ["augment", "tstr"]
//! generator = ["dp-merf", "file:synthetic.h5"]
//! gan_epsilon = ["inf", 10]  # the generator's budget (trained generators only)
//! generator_training = ["per-fold"]  # or "shared" (leaks the test subject)
//! synthetic_subjects = [2, 4]
//! classifier = ["cnn"]
//!
//! [generation]              # trained generators: windows, sampling, DP unit
//! windows_per_subject = 36
//!
//! [generators.dp-merf]       # hyper-parameters per generator kind
//! steps = 2000
//!
//! [quality]                  # fidelity and leakage of every trained generator's sample
//! permutations = 200
//!
//! [slurm]
//! partition = "debug"
//! ranks_per_cell = 2
//!
//! [[report.table]]
//! rows = ["classifier"]
//! columns = ["strategy"]
//! ```

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The experiment layout version this build reads.
pub const EXPERIMENT_SCHEMA_VERSION: u32 = 1;

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    pub schema_version: Spanned<u32>,
    /// Names the results folder `results/<campaign>`; letters, digits, `-`, `_`, `.`.
    pub campaign: Spanned<String>,
    #[serde(default = "default_master_seed")]
    pub master_seed: u64,
    /// Independent repetitions of every grid point (each a cell with its own derived seed).
    pub replicates: Spanned<i64>,
    pub dataset: DatasetSection,
    #[serde(default)]
    pub model: ModelSection,
    /// One or more products of axes; the grid is their union.
    pub grid: Spanned<Vec<GridBlock>>,
    /// How cells with a finite ε train their classifier (and, unless `[generation]` says
    /// otherwise, the accountant and unit of private generators).
    #[serde(default)]
    pub privacy: PrivacySection,
    /// The generator stage of cells whose generator is trained by dpwear.
    #[serde(default)]
    pub generation: GenerationSection,
    /// Hyper-parameters per generator kind (`[generators.cgan]`, …).
    #[serde(default)]
    pub generators: GeneratorsSection,
    /// The quality report of every trained generator's sample.
    #[serde(default)]
    pub quality: QualitySection,
    #[serde(default)]
    pub local: LocalSection,
    #[serde(default)]
    pub slurm: SlurmSection,
    #[serde(default)]
    pub report: ReportSection,
}

fn default_master_seed() -> u64 {
    42
}

/// Where the real data comes from: exactly one of `path` and `simulate`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSection {
    /// Raw WESAD folder, the reference's 1 Hz pickle or CSV, or a dataset store (`.h5`);
    /// relative paths are relative to the experiment file.
    pub path: Option<Spanned<String>>,
    /// The WESAD-shaped simulator (results are labelled SIMULATED).
    pub simulate: Option<Spanned<SimulateSection>>,
    /// Window scheme for the classifier features: `reference` (default), `non-overlapping`,
    /// `sliding`.
    pub windows: Option<Spanned<String>>,
}

/// Simulator parameters.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SimulateSection {
    pub subjects: usize,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "one")]
    pub minutes_scale: f64,
}

fn one() -> f64 {
    1.0
}

/// Classifier training parameters shared by every cell.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// `default` (softmax, balanced CE, standardised features) or `reference`.
    pub mode: Option<Spanned<String>>,
    pub epochs: Option<Spanned<i64>>,
    pub batch_size: Option<Spanned<i64>>,
    pub learning_rate: Option<Spanned<f64>>,
    /// libtorch threads per rank (default: cores / parallel cells, at least 1).
    pub threads: Option<Spanned<i64>>,
}

/// The generator stage: how trained generators see the data and what they sample.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationSection {
    /// Generator training windows: `non-overlapping` (default) or `sliding` (60/30 s, the
    /// reference's; refused with a finite `gan_epsilon` at the window unit).
    pub windows: Option<Spanned<String>>,
    /// Synthetic subjects sampled from each trained generator [the largest
    /// `synthetic_subjects` of the grid, else 15].
    pub subjects: Option<Spanned<i64>>,
    /// Windows per synthetic subject [36, the reference's 25 + 10 of 36].
    pub windows_per_subject: Option<Spanned<i64>>,
    /// Share of stress windows per synthetic subject, a public choice [0.3].
    pub stress_fraction: Option<Spanned<f64>>,
    /// Privacy unit of private generators: `window` or `subject` [privacy.unit].
    pub unit: Option<Spanned<String>>,
    /// Fixed δ of private generators [the δ rule over the generator's units].
    pub delta: Option<Spanned<f64>>,
    /// Per-unit clipping norm of the generators' DP-SGD [1.0].
    pub clip_norm: Option<Spanned<f64>>,
    /// Generator tasks run at once by the local executor [local.parallel].
    pub parallel: Option<Spanned<i64>>,
}

/// `[generators.<kind>]` tables.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorsSection {
    pub cgan: Option<Spanned<GeneratorHyperSection>>,
    pub dgan: Option<Spanned<GeneratorHyperSection>>,
    pub timegan: Option<Spanned<GeneratorHyperSection>>,
    #[serde(rename = "dp-merf")]
    pub dp_merf: Option<Spanned<GeneratorHyperSection>>,
}

/// A generator's hyper-parameters (absent: the mode's own).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorHyperSection {
    /// `default` (dpwear's corrected version) or `reference` [default].
    pub mode: Option<String>,
    pub epochs: Option<i64>,
    pub steps: Option<i64>,
    pub batch_size: Option<i64>,
    /// Discriminator (critic) steps per generator step, where the family has a ratio.
    pub d_steps: Option<i64>,
}

/// One product of axes. An absent axis takes its default (shown in brackets).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridBlock {
    /// `none`, a generator dpwear trains (`cgan`, `dgan`, `timegan`, `dp-merf`) or
    /// `file:<path>` (precomputed synthetic data: feature store, dataset store or the
    /// reference's synthetic CSV) [`none`].
    pub generator: Option<Spanned<Vec<String>>>,
    /// Privacy budget of a trained generator; `inf` is non-private [`inf`].
    pub gan_epsilon: Option<Spanned<Vec<EpsilonValue>>>,
    /// `per-fold` (each LOSO fold's generator sees only that fold's training subjects) or
    /// `shared` (one generator on all subjects, the reference's: leaks the test subject)
    /// [`per-fold`].
    pub generator_training: Option<Spanned<Vec<String>>>,
    /// Privacy budget of the classifier's training; `inf` is non-private [`inf`].
    pub epsilon: Option<Spanned<Vec<EpsilonValue>>>,
    /// `real` (LOSO on real windows), `tstr` (train on synthetic) or `augment` (LOSO with
    /// synthetic windows added to every fold's training set) [`real`].
    pub strategy: Option<Spanned<Vec<String>>>,
    /// How many synthetic subjects to use (the first K of the generator's output)
    /// [all of them].
    pub synthetic_subjects: Option<Spanned<Vec<i64>>>,
    /// `cnn`, `cnn-lstm`, `transformer` [`cnn`].
    pub classifier: Option<Spanned<Vec<String>>>,
    /// `reference` or `corrected` subwindow-FFT features [`reference`].
    pub feature_mode: Option<Spanned<Vec<String>>>,
}

/// An ε value: a number (TOML `inf` allowed) or the string `"inf"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum EpsilonValue {
    Number(f64),
    Integer(i64),
    Text(String),
}

/// DP-SGD settings for the cells with a finite ε (the ε itself is a grid axis).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySection {
    /// `example` (per-example DP-SGD, Poisson sampling; default) or `reference-batch` (the
    /// reference's batch-level clipping; not example-level DP).
    pub mode: Option<Spanned<String>>,
    /// `rdp` (default), `pld` or `prv` (example mode only).
    pub accountant: Option<Spanned<String>>,
    /// Fixed δ; default min(1e-5, 1/(100 n)) with n the fold's privacy units
    /// (reference-batch: the reference's 10^-digits(n)); a δ ≥ 1/n is refused at plan time.
    pub delta: Option<Spanned<f64>>,
    /// `window` (default) or `subject`.
    pub unit: Option<Spanned<String>>,
    /// Per-example (per-unit) clipping norm C [1.0].
    pub clip_norm: Option<Spanned<f64>>,
    /// Example mode: public class weights `[non_stress, stress]`, fixed before training
    /// [[1.0, 2.5]].
    pub class_weights: Option<Spanned<Vec<f64>>>,
    /// Derive the DP batches and noise of classifiers from the master seed (bitwise
    /// reproducible; the guarantee then does not hold against anyone who knows the seed, and
    /// the records and ledger say so) [false: a secret key per trained model].
    #[serde(default)]
    pub reproducible_noise: bool,
}

/// `[quality]`: fidelity and leakage of each trained generator's synthetic sample, measured
/// once per generator after sampling (members: its training subjects; holdout: a per-fold
/// generator's test subject) and copied into the records of the cells that use it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualitySection {
    /// Measure at all [true].
    pub enabled: Option<bool>,
    /// Permutations of the MMD² test [200].
    pub permutations: Option<Spanned<i64>>,
    /// At most this many windows per set in MMD², C2ST, DCR and the attacks [1500].
    pub max_pairwise: Option<Spanned<i64>>,
    /// Also train the post-hoc discriminative and predictive models [false].
    pub model_scores: Option<bool>,
    /// Adam steps of each post-hoc model [2000].
    pub score_iterations: Option<Spanned<i64>>,
}

/// Local executor settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSection {
    /// Cells run at once (default 1).
    pub parallel: Option<Spanned<i64>>,
}

/// The Slurm site profile.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlurmSection {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// e.g. `gpu:1`.
    pub gres: Option<String>,
    /// Per array task, Slurm syntax (`HH:MM:SS`, `D-HH:MM:SS`) [`02:00:00`].
    pub time: Option<String>,
    /// CPUs per rank [1].
    pub cpus_per_task: Option<u32>,
    /// Memory per node, Slurm syntax (`8G`).
    pub mem: Option<String>,
    /// MPI ranks per cell; they share the LOSO folds [1].
    pub ranks_per_cell: Option<u32>,
    /// At most this many array tasks at once (`--array=…%K`).
    pub array_throttle: Option<u32>,
    /// Shell lines run before each task (`module load …`, `export …`).
    #[serde(default)]
    pub setup: Vec<String>,
    /// USR1 this many seconds before the time limit; the cell stops after its current fold
    /// and exits as resumable [300].
    pub signal_seconds: Option<u32>,
    /// Extra sbatch options, e.g. `--constraint=cpu`.
    #[serde(default)]
    pub extra_sbatch: Vec<String>,
}

/// What `collect` writes.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    /// Metric of the tables and figures: `macro_f1` (default), `stress_f1`, `reference_f1`,
    /// `accuracy`, `balanced_accuracy`.
    pub metric: Option<Spanned<String>>,
    #[serde(default)]
    pub table: Vec<Spanned<TableSection>>,
    #[serde(default)]
    pub figure: Vec<Spanned<FigureSection>>,
}

/// One table: which axes form its rows and columns (the other axes split it into several).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableSection {
    pub title: Option<String>,
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub metric: Option<String>,
}

/// One line figure: `x` against the metric, one series per combination of `series`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FigureSection {
    pub title: Option<String>,
    pub x: String,
    #[serde(default)]
    pub series: Vec<String>,
    pub metric: Option<String>,
}
