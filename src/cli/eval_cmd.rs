//! `dpwear eval loso|tstr`: train and score the stress classifiers with the LOSO or TSTR
//! protocol over replicates, print a per-subject table (or the JSON record) and write the
//! versioned result record. `--epsilon` trains the LOSO classifiers with DP-SGD (see
//! `training::dp`); every ε printed names its accountant, δ, sampling and privacy unit.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use super::{check_overwrite, exit, CliError};
use crate::evaluation::protocol::Protocol;
use crate::evaluation::record::{EvalConfig, EvalRecord};
use crate::features::synthetic::same_data_warning;
use crate::features::{self, FeatureMode, FeatureSet};
use crate::models::{ClassifierKind, DpMode, DpTraining, HeadMode, TrainHyper};
use crate::privacy::accounting::fmt::sig6;
use crate::privacy::accounting::ledger::AccountantKind;
use crate::privacy::accounting::PrivacyUnit;
use crate::reporting::progress::Progress;
use crate::training::eval_runner::EvalError;

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Leave-one-subject-out on real windows (optionally augmented with synthetic windows).
    Loso(LosoArgs),
    /// Train on synthetic windows, test on each real subject.
    Tstr(TstrArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ClassifierArg {
    Cnn,
    CnnLstm,
    Transformer,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HeadArg {
    /// dpwear's default: softmax + class-balanced cross-entropy on standardised features.
    Default,
    /// The reference: two sigmoids, BCE on one-hot targets, its class weights, raw features.
    Reference,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DeviceArg {
    /// CUDA when available, else CPU.
    Auto,
    Cpu,
    Cuda,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DpAccountantArg {
    /// Rényi DP (dp_accounting's orders, improved conversion).
    Rdp,
    /// Privacy loss distributions (add/remove, pessimistic, interval 1e-4).
    Pld,
    /// Privacy random variables: upper end of a certified error bar (ε error 1 % of RDP's).
    Prv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DpModeArg {
    /// Standard DP-SGD: Poisson batches, per-example clipping, noise / expected batch size.
    Example,
    /// The reference's private rows: batch-mean gradient clipped, shuffled batches, tf-privacy
    /// 0.8.5 σ (NOT example-level DP; for reproduction only).
    ReferenceBatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DpUnitArg {
    /// One window is one record.
    Window,
    /// All windows of one subject are one record.
    Subject,
}

/// Private training (LOSO).
#[derive(Debug, Args)]
pub struct DpArgs {
    /// Train each fold's classifier with DP-SGD for this target ε (per model). Without it
    /// training is non-private.
    #[arg(long, allow_negative_numbers = true)]
    pub epsilon: Option<f64>,
    /// δ (default: min(1e-5, 1/(100 n)) with n the fold's privacy units; reference-batch:
    /// 10^-digits(n) with the reference's n); a δ ≥ 1/n is refused.
    #[arg(long, requires = "epsilon", allow_negative_numbers = true)]
    pub delta: Option<f64>,
    /// Accountant for σ calibration and the spent ε (default rdp; reference-batch always uses
    /// tf-privacy 0.8.5's RDP accountant).
    #[arg(long, value_enum, requires = "epsilon")]
    pub accountant: Option<DpAccountantArg>,
    /// DP-SGD variant (default example).
    #[arg(long, value_enum, requires = "epsilon")]
    pub dp_mode: Option<DpModeArg>,
    /// Clipping norm C (default 1).
    #[arg(long, requires = "epsilon", allow_negative_numbers = true)]
    pub clip_norm: Option<f64>,
    /// Privacy unit (default window).
    #[arg(long, value_enum, requires = "epsilon")]
    pub privacy_unit: Option<DpUnitArg>,
    /// Example mode: public class weights NONSTRESS,STRESS fixed before training (default
    /// 1,2.5, the published reference's n_nonstress/n_stress; never counted from the private
    /// labels). Each clipped per-example gradient is scaled by w[y]/max(w).
    #[arg(
        long,
        requires = "epsilon",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub dp_class_weights: Option<Vec<f64>>,
    /// Derive the DP batches and noise from --seed (bitwise reproducible) instead of a secret
    /// key: the guarantee then does not hold against anyone who knows the seed, and the
    /// record says so. For tests and reproduction only.
    #[arg(long = "reproducible-dp", requires = "epsilon")]
    pub reproducible_dp: bool,
}

impl DpArgs {
    /// The DP request, or None without --epsilon; impossible values are exit-5 errors.
    pub fn resolve(&self) -> Result<Option<DpTraining>, CliError> {
        let Some(eps) = self.epsilon else {
            return Ok(None);
        };
        let mode = match self.dp_mode.unwrap_or(DpModeArg::Example) {
            DpModeArg::Example => DpMode::Example,
            DpModeArg::ReferenceBatch => DpMode::ReferenceBatch,
        };
        let bad = |msg: String| CliError::new(exit::INVALID_PARAMETER, "evaluate", msg);
        let dp = DpTraining {
            mode,
            target_epsilon: eps,
            delta: self.delta,
            accountant: match self.accountant.unwrap_or(DpAccountantArg::Rdp) {
                DpAccountantArg::Rdp => AccountantKind::Rdp,
                DpAccountantArg::Pld => AccountantKind::Pld,
                DpAccountantArg::Prv => AccountantKind::Prv,
            },
            clip_norm: self.clip_norm.unwrap_or(1.0),
            unit: match self.privacy_unit.unwrap_or(DpUnitArg::Window) {
                DpUnitArg::Window => PrivacyUnit::Window,
                DpUnitArg::Subject => PrivacyUnit::Subject,
            },
            class_weights: match self.dp_class_weights.as_deref() {
                None => DpTraining::DEFAULT_CLASS_WEIGHTS,
                Some(&[w0, w1]) => [w0, w1],
                Some(other) => {
                    return Err(bad(format!(
                        "--dp-class-weights takes two values NONSTRESS,STRESS, got {other:?}"
                    )))
                }
            },
            reproducible_noise: self.reproducible_dp,
        };
        dp.validate().map_err(bad)?;
        Ok(Some(dp))
    }
}

/// Options shared by both protocols.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Classifier.
    #[arg(long, value_enum)]
    pub classifier: ClassifierArg,
    /// Independent repetitions (distinct derived seeds unless --same-seed).
    #[arg(long, default_value_t = 10, value_parser = crate::config::limits::replicates)]
    pub replicates: usize,
    /// Head, loss and input handling.
    #[arg(long, value_enum, default_value = "default")]
    pub mode: HeadArg,
    /// Master seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Reuse the master seed in every replicate, as the reference's "CI runs" did (their spread
    /// is then only non-determinism, not sampling variation).
    #[arg(long)]
    pub same_seed: bool,
    /// Epochs (default: the reference's per classifier: CNN 10, CNN-LSTM 20, Transformer 110).
    #[arg(long, value_parser = crate::config::limits::epochs)]
    pub epochs: Option<usize>,
    /// Batch size (default 50).
    #[arg(long, value_parser = crate::config::limits::batch_size)]
    pub batch_size: Option<usize>,
    /// Adam learning rate (default: CNN and CNN-LSTM 1e-3, Transformer 1e-4).
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Keep the first K synthetic subjects (in file order), for every synthetic input kind as
    /// a grid's synthetic_subjects does; for the reference's CSVs (sids 1001, 1002, …) this is
    /// its sid ≤ 1000 + K (syn_subj_cnt). 1 ≤ K ≤ the subjects the file holds. Default: all.
    #[arg(long, value_parser = crate::config::limits::synthetic_subjects)]
    pub synthetic_subjects: Option<usize>,
    /// libtorch intra-op threads (default: all cores; at most 256).
    #[arg(long, value_parser = crate::config::limits::threads)]
    pub threads: Option<usize>,
    /// Device.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
    /// Train M folds' CNNs as one batched model (grouped convolutions, batched matmuls; each
    /// model keeps its own data, seeds, dropout stream and Adam state; equal to training them
    /// one at a time within float tolerance). Non-private CNNs only; other requests train one
    /// model per fold. Default: 1 on the CPU (there it is slower: ≈ 0.5× the throughput of
    /// one fold at a time on a 2-core CPU, results/benchmarks/fold-batch.md; folds run
    /// concurrently instead), a replicate's folds at once on CUDA.
    #[arg(long, value_name = "M", value_parser = crate::config::limits::fold_batch)]
    pub fold_batch: Option<usize>,
    /// Write the result record (JSON) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the JSON record on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub dp: DpArgs,
}

#[derive(Debug, Args)]
pub struct LosoArgs {
    /// Real feature store (`dpwear features … --out f.h5`).
    #[arg(long)]
    pub features: PathBuf,
    /// Synthetic windows added to every fold's training set: a feature store, a dataset store
    /// (windowed non-overlapping), or a reference-format synthetic CSV.
    #[arg(long)]
    pub synthetic: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct TstrArgs {
    /// Synthetic training windows: a feature store, a dataset store or a reference CSV.
    #[arg(long)]
    pub train: PathBuf,
    /// Real feature store to test on, subject by subject.
    #[arg(long)]
    pub test: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Runs an `eval` subcommand.
pub fn run(cmd: EvalCommand) -> Result<(), CliError> {
    match cmd {
        EvalCommand::Loso(a) => evaluate(
            Protocol::Loso,
            &a.features,
            a.synthetic.as_deref(),
            &a.common,
        ),
        EvalCommand::Tstr(a) => evaluate(Protocol::Tstr, &a.test, Some(&a.train), &a.common),
    }
}

/// Reads synthetic training windows of any kind (reference CSV, dataset store, feature
/// store), keeping the first `k` subjects when given — the same rule for every kind, shared by
/// `eval` and `run-cell` (`pipeline::inputs::read_synthetic_features`).
pub fn load_synthetic(
    path: &Path,
    mode: FeatureMode,
    head: HeadMode,
    k: Option<usize>,
) -> Result<FeatureSet, CliError> {
    Ok(crate::pipeline::inputs::read_synthetic_features(
        path, mode, head, k,
    )?)
}

/// Warns (one line) when the synthetic data is the real data itself (same sha256).
pub fn warn_if_synthetic_is_real(
    real: &FeatureSet,
    real_path: &Path,
    syn: &FeatureSet,
    syn_path: &Path,
) {
    if let Some(w) = same_data_warning(
        &real_path.display().to_string(),
        &real.source_sha256,
        &syn_path.display().to_string(),
        &[syn.source_sha256.as_str()],
    ) {
        tracing::warn!("{w}");
    }
}

/// The CLI error of a failed evaluation: malformed inputs exit 4, impossible requests 5, a
/// failure to score a validated fold is a bug (1).
pub fn eval_error(action: &str, e: EvalError) -> CliError {
    let code = match e {
        EvalError::Invalid(_) => exit::INVALID_PARAMETER,
        EvalError::Input(ref d) => exit::for_data_error(d),
        EvalError::Metrics(_) => exit::INTERNAL,
    };
    CliError::new(code, action, e)
}

fn evaluate(
    protocol: Protocol,
    real_path: &Path,
    synthetic: Option<&Path>,
    a: &CommonArgs,
) -> Result<(), CliError> {
    if let Some(out) = &a.out {
        check_overwrite(out, a.force)?;
    }
    let kind = match a.classifier {
        ClassifierArg::Cnn => ClassifierKind::Cnn,
        ClassifierArg::CnnLstm => ClassifierKind::CnnLstm,
        ClassifierArg::Transformer => ClassifierKind::Transformer,
    };
    let head = match a.mode {
        HeadArg::Default => HeadMode::Default,
        HeadArg::Reference => HeadMode::Reference,
    };
    let dp = a.dp.resolve()?;
    if dp.is_some() && protocol == Protocol::Tstr {
        return Err(CliError::new(
            exit::INVALID_PARAMETER,
            "evaluate",
            "--epsilon is supported for `eval loso` only: the reference never trained a private TSTR classifier, and TSTR's privacy comes from the generator",
        ));
    }
    let mut hyper: TrainHyper = kind.reference_hyper();
    hyper.dp = dp;
    if let Some(e) = a.epochs {
        hyper.epochs = e;
    }
    if let Some(b) = a.batch_size {
        hyper.batch_size = b;
    }
    if let Some(lr) = a.learning_rate {
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(CliError::new(
                exit::INVALID_PARAMETER,
                "evaluate",
                format!("--learning-rate {lr} must be positive"),
            ));
        }
        hyper.learning_rate = lr;
    }
    let threads = a
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    tch::set_num_threads(threads as i32);
    let device = match a.device {
        DeviceArg::Auto => tch::Device::cuda_if_available(),
        DeviceArg::Cpu => tch::Device::Cpu,
        DeviceArg::Cuda => {
            if !tch::Cuda::is_available() {
                return Err(CliError::new(
                    exit::INVALID_PARAMETER,
                    "evaluate",
                    "--device cuda but no CUDA device is visible (a GPU build needs the full torch wheels and the `cuda` feature)",
                ));
            }
            tch::Device::Cuda(0)
        }
    };
    if synthetic.is_none() && a.synthetic_subjects.is_some() {
        return Err(CliError::new(
            exit::USAGE,
            "evaluate",
            "--synthetic-subjects selects synthetic subjects: it needs --synthetic",
        ));
    }
    let real = features::read_features(real_path)
        .map_err(|e| CliError::data("read the real features", e))?;
    let syn = match synthetic {
        Some(p) => {
            let syn = load_synthetic(p, real.mode, head, a.synthetic_subjects)?;
            warn_if_synthetic_is_real(&real, real_path, &syn, p);
            Some(syn)
        }
        None => None,
    };
    let fold_batch = a.fold_batch.unwrap_or(if device == tch::Device::Cpu {
        1
    } else {
        crate::config::limits::MAX_FOLD_BATCH
    });
    let config = EvalConfig {
        protocol,
        classifier: kind,
        head,
        hyper,
        replicates: a.replicates,
        master_seed: a.seed,
        same_seed: a.same_seed,
        threads,
        device: format!("{device:?}"),
        fold_batch,
    };
    let inputs = crate::training::eval_runner::EvalInputs {
        config,
        real: &real,
        real_path: real_path.display().to_string(),
        synthetic: syn
            .as_ref()
            .zip(synthetic)
            .map(|(s, p)| (s, p.display().to_string())),
        device,
    };
    let total = a.replicates as u64 * real.subject_ids.len() as u64;
    let mut progress = Progress::new(total, "folds");
    let record = crate::training::eval_runner::run(&inputs, |d| {
        tracing::debug!(
            replicate = d.replicate,
            fold = d.fold,
            subject = d.test_subject,
            reference_f1 = d.reference_f1,
            stress_f1 = d.positive_f1,
            "fold scored"
        );
        progress.inc();
    })
    .map_err(|e| eval_error("evaluate", e))?;
    progress.finish();
    if let Some(out) = &a.out {
        write_record(out, &record)?;
    }
    if a.json {
        let s = serde_json::to_string_pretty(&record)
            .map_err(|e| CliError::new(exit::INTERNAL, "serialise the record", e))?;
        println!("{s}");
    } else {
        print!("{}", render_table(&record));
    }
    Ok(())
}

/// Writes the record atomically (temporary file + rename).
pub fn write_record(path: &Path, record: &EvalRecord) -> Result<(), CliError> {
    crate::atomic_file::write_json(path, record)
        .map_err(|e| CliError::new(exit::OUTPUT_FAILED, &format!("write {}", path.display()), e))
}

/// "mean ± sd" (sample sd, ddof 1) via the evaluation layer's [`Summary`]; the mean alone for
/// one value, "-" when there is nothing finite to summarise.
fn mean_sd(v: &[f64]) -> String {
    match crate::evaluation::Summary::of(v) {
        Ok(s) => match s.sd {
            Some(sd) => format!("{:.4} ± {sd:.4}", s.mean),
            None => format!("{:.4}", s.mean),
        },
        Err(_) => "-".into(),
    }
}

/// "a" or "a–b" for the range of `v` with `fmt`.
fn range(v: &[f64], fmt: impl Fn(f64) -> String) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.is_empty() {
        "-".into()
    } else if fmt(lo) == fmt(hi) {
        fmt(lo)
    } else {
        format!("{}–{}", fmt(lo), fmt(hi))
    }
}

/// The privacy line(s) of a private run: DP level, target and spent ε with accountant, δ,
/// sampling and unit (ranges over folds, whose training sets differ).
pub fn privacy_summary(r: &EvalRecord) -> Option<String> {
    let folds: Vec<&crate::evaluation::record::FoldPrivacy> = r
        .replicates
        .iter()
        .flat_map(|rep| rep.folds.iter().filter_map(|f| f.privacy.as_ref()))
        .collect();
    let first = folds.first()?;
    let col = |g: fn(&crate::evaluation::record::FoldPrivacy) -> f64| -> Vec<f64> {
        folds.iter().map(|p| g(p)).collect()
    };
    let steps = |g: fn(&crate::evaluation::record::FoldPrivacy) -> u64| -> String {
        range(
            &folds.iter().map(|p| g(p) as f64).collect::<Vec<_>>(),
            |x| format!("{x:.0}"),
        )
    };
    let mut s = format!(
        "privacy: {}{}; target ε = {} per {}; spent ε = {} at δ = {} ({}) [{} accountant, {}; sampling: {}; σ = {}, q = {}, C = {}, steps {} planned / {} realised]",
        if first.dp_level == crate::privacy::accounting::DpLevel::ReferenceBatchLevel {
            "NOT example-level DP: "
        } else {
            ""
        },
        first.dp_level.as_str(),
        sig6(first.epsilon_target),
        first.unit.as_str(),
        range(&col(|p| p.epsilon_spent), sig6),
        range(&col(|p| p.delta), |x| format!("{x:.3e}")),
        first.delta_rule,
        first.accountant.as_str(),
        first.conversion,
        first.sampling.as_str(),
        range(&col(|p| p.sigma), sig6),
        range(&col(|p| p.sample_rate), sig6),
        first.clip_norm,
        steps(|p| p.steps_planned),
        steps(|p| p.steps_realised),
    );
    let ratios: Vec<f64> = folds.iter().filter_map(|p| p.noise_to_signal).collect();
    if !ratios.is_empty() {
        s.push_str(&format!(
            "\ntraining diagnostics (from the private data, not covered by the guarantee): \
             noise/signal per step {} (σC√d over the mean norm of the clipped sum), clipped {}",
            range(&ratios, |x| format!("{x:.1}")),
            range(&col(|p| p.mean_clipped_fraction), |x| format!(
                "{:.0} %",
                100.0 * x
            )),
        ));
    }
    if let Some(note) = &first.dp_architecture_note {
        s.push_str(&format!("\narchitecture: {note}"));
    }
    Some(s)
}

/// The per-subject table: mean ± sd over replicates of each subject's scores.
pub fn render_table(r: &EvalRecord) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let c = &r.config;
    let _ = writeln!(
        s,
        "{} {} ({} head), {} replicate(s){}, {} epochs, batch {}, lr {}; data {}{}",
        match c.protocol {
            Protocol::Loso => "LOSO",
            Protocol::Tstr => "TSTR",
        },
        c.classifier.as_str(),
        c.head.as_str(),
        c.replicates,
        if c.same_seed {
            " with the same seed"
        } else {
            ""
        },
        c.hyper.epochs,
        c.hyper.batch_size,
        c.hyper.learning_rate,
        r.data.path,
        if r.data.simulated { " [SIMULATED]" } else { "" }
    );
    if let Some(line) = privacy_summary(r) {
        let _ = writeln!(s, "{line}");
    }
    let _ = writeln!(
        s,
        "{:<8} {:>5}  {:<17} {:<17} {:<17} {:<17}",
        "subject", "n", "reference_f1", "stress F1", "macro F1", "accuracy"
    );
    let n_folds = r.replicates.first().map(|x| x.folds.len()).unwrap_or(0);
    for f in 0..n_folds {
        let col = |g: fn(&crate::evaluation::metrics::MetricSet) -> f64| {
            r.replicates
                .iter()
                .map(|rep| g(&rep.folds[f].metrics))
                .collect::<Vec<_>>()
        };
        let first = &r.replicates[0].folds[f];
        let _ = writeln!(
            s,
            "{:<8} {:>5}  {:<17} {:<17} {:<17} {:<17}",
            first.test_subject,
            first.n_test,
            mean_sd(&col(|m| m
                .reference
                .as_ref()
                .map(|x| x.f1)
                .unwrap_or(f64::NAN))),
            mean_sd(&col(|m| m.positive_f1)),
            mean_sd(&col(|m| m.macro_f1)),
            mean_sd(&col(|m| m.accuracy)),
        );
    }
    let avg = |g: fn(&crate::evaluation::aggregate::MeanMetrics) -> f64| {
        r.replicates
            .iter()
            .map(|rep| g(&rep.average))
            .collect::<Vec<_>>()
    };
    let _ = writeln!(
        s,
        "{:<8} {:>5}  {:<17} {:<17} {:<17} {:<17}",
        "average",
        "",
        mean_sd(&avg(|m| m.reference.map(|x| x.f1).unwrap_or(f64::NAN))),
        mean_sd(&avg(|m| m.positive_f1)),
        mean_sd(&avg(|m| m.macro_f1)),
        mean_sd(&avg(|m| m.accuracy)),
    );
    let _ = writeln!(
        s,
        "poor_ratio (reference_f1 ≤ {}): {}; stress-class F1 poor ratio: {}; {:.1} s total, {:.2} s per fold",
        r.summary.poor_threshold,
        r.summary.poor_ratio_reference_f1.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into()),
        format_args!("{:.2}", r.summary.poor_ratio_positive_f1),
        r.timings.total_seconds,
        r.timings.mean_fold_seconds
    );
    s
}
