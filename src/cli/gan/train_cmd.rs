//! `dpwear gan train`: parse the request and hand it to `pipeline::generator_job`, which
//! resolves it (data, family, privacy plan) before anything is trained and runs the executor
//! with checkpoints in `--out`.
//!
//! What happens with an existing `--out`:
//! - a complete checkpoint of the same request: nothing is recomputed (exit 0, says so);
//! - an interrupted checkpoint of the same request: training resumes where it stopped;
//! - a checkpoint of another request: refused (exit 6) unless `--force`;
//! - a corrupt card or weight file: exit 4 naming the file (remove it or pass `--force`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::eval_cmd::{DeviceArg, DpAccountantArg, DpUnitArg};
use crate::cli::{exit, CliError};
use crate::features::windows::WindowScheme;
use crate::models::generator_spec::{GeneratorKind, GeneratorMode};
use crate::pipeline::generator_job::{self, TrainObserver, TrainRequest};
use crate::privacy::accounting::ledger::AccountantKind;
use crate::privacy::accounting::PrivacyUnit;
use crate::reporting::progress::Progress;
use crate::training::generator::executor;
use crate::training::generator::privacy::GenDpRequest;
use crate::training::generator::Overrides;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GeneratorArg {
    Cgan,
    Dgan,
    Timegan,
    DpMerf,
}

impl GeneratorArg {
    fn kind(self) -> GeneratorKind {
        match self {
            GeneratorArg::Cgan => GeneratorKind::Cgan,
            GeneratorArg::Dgan => GeneratorKind::Dgan,
            GeneratorArg::Timegan => GeneratorKind::Timegan,
            GeneratorArg::DpMerf => GeneratorKind::DpMerf,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// dpwear's corrected version (designed for DP at small n).
    Default,
    /// The reference's hyper-parameters, schedule and quirks (named in the model card).
    Reference,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WindowsArg {
    /// 60 s windows every 30 s (the reference's 1,083 GAN windows).
    Sliding,
    /// Every complete 60 s window, no overlap.
    NonOverlapping,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Dataset store (.h5) to train on.
    #[arg(long)]
    pub dataset: PathBuf,
    #[arg(long, value_enum)]
    pub generator: GeneratorArg,
    /// Leave this subject out (e.g. a LOSO test subject); repeatable.
    #[arg(long = "exclude-subject", value_name = "ID")]
    pub exclude_subject: Vec<u32>,
    /// Window scheme (default: sliding without DP, non-overlapping with --epsilon).
    #[arg(long, value_enum)]
    pub windows: Option<WindowsArg>,
    #[arg(long, value_enum, default_value = "default")]
    pub mode: ModeArg,
    /// Target ε of the generator (omit for a non-private generator).
    #[arg(long)]
    pub epsilon: Option<f64>,
    /// δ (default min(1e-5, 1/(100 n)) over the privacy units).
    #[arg(long, requires = "epsilon")]
    pub delta: Option<f64>,
    #[arg(long, value_enum, default_value = "rdp", requires = "epsilon")]
    pub accountant: DpAccountantArg,
    #[arg(
        long = "privacy-unit",
        value_enum,
        default_value = "window",
        requires = "epsilon"
    )]
    pub privacy_unit: DpUnitArg,
    /// Per-unit clipping norm of DP-SGD.
    #[arg(long = "clip-norm", default_value_t = 1.0, requires = "epsilon")]
    pub clip_norm: f64,
    /// Epochs (passes over the windows), where the family counts in epochs.
    #[arg(long, value_parser = crate::config::limits::epochs, conflicts_with = "steps")]
    pub epochs: Option<usize>,
    /// Steps (generator steps or iterations, as the family defines them).
    #[arg(long, value_parser = crate::config::limits::gan_steps)]
    pub steps: Option<usize>,
    #[arg(long = "batch-size", value_parser = crate::config::limits::batch_size)]
    pub batch_size: Option<usize>,
    /// Discriminator steps per generator step, where the family has a ratio.
    #[arg(long = "d-steps", value_parser = crate::config::limits::gan_steps)]
    pub d_steps: Option<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// libtorch threads (default: all cores).
    #[arg(long, value_parser = crate::config::limits::threads)]
    pub threads: Option<usize>,
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
    /// Checkpoint every this many steps (also at the end and on SIGINT/SIGTERM/SIGUSR1).
    #[arg(long = "checkpoint-every", default_value_t = 500, value_parser = crate::config::limits::gan_steps)]
    pub checkpoint_every: usize,
    /// Checkpoint folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace a checkpoint of another training in --out.
    #[arg(long)]
    pub force: bool,
    /// Derive the DP batches and noise from --seed (bitwise reproducible from the model card)
    /// instead of a secret key: the guarantee then does not hold against anyone who knows the
    /// seed, and the statement says so. For tests and reproduction only.
    #[arg(long = "reproducible-dp", requires = "epsilon")]
    pub reproducible_dp: bool,
    /// Stop (checkpointed, exit 75) after this many steps in this session (testing resume).
    #[arg(long = "stop-after", hide = true)]
    pub stop_after: Option<u64>,
}

fn invalid(action: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(exit::INVALID_PARAMETER, action, e)
}

/// The command line's observer: status lines on stderr, a progress bar with the losses.
struct CliObserver {
    progress: Option<Progress>,
    every: u64,
}

impl TrainObserver for CliObserver {
    fn notice(&mut self, line: &str) {
        crate::cli::logging::notice(format_args!("{line}"));
    }
    fn start(&mut self, done: u64, total: u64) {
        self.progress = Some(Progress::resuming(total, done, "steps"));
        self.every = (total / 200).max(1);
    }
    fn step(&mut self, p: &executor::Progress<'_>) {
        let Some(progress) = self.progress.as_mut() else {
            return;
        };
        progress.inc();
        if p.step.is_multiple_of(self.every) || p.step == p.total {
            let losses = p
                .report
                .losses
                .iter()
                .map(|(n, v)| format!("{n} {v:.4}"))
                .collect::<Vec<_>>()
                .join(", ");
            progress.set_detail(losses);
        }
    }
    fn finish(&mut self) {
        if let Some(p) = self.progress.take() {
            p.finish();
        }
    }
}

pub fn run(a: TrainArgs) -> Result<(), CliError> {
    const ACTION: &str = "train the generator";
    // First, before libtorch or rayon start threads: signals go to a watcher thread only
    // (crate::interrupt), never into a compute kernel.
    crate::interrupt::install();
    let kind = a.generator.kind();
    let mode = match a.mode {
        ModeArg::Default => GeneratorMode::Default,
        ModeArg::Reference => GeneratorMode::Reference,
    };
    let scheme = match a.windows {
        Some(WindowsArg::Sliding) => WindowScheme::Sliding,
        Some(WindowsArg::NonOverlapping) => WindowScheme::NonOverlapping,
        None if a.epsilon.is_some() => WindowScheme::NonOverlapping,
        None => WindowScheme::Sliding,
    };
    let dp = a.epsilon.map(|eps| GenDpRequest {
        target_epsilon: eps,
        delta: a.delta,
        accountant: match a.accountant {
            DpAccountantArg::Rdp => AccountantKind::Rdp,
            DpAccountantArg::Pld => AccountantKind::Pld,
            DpAccountantArg::Prv => AccountantKind::Prv,
        },
        unit: match a.privacy_unit {
            DpUnitArg::Window => PrivacyUnit::Window,
            DpUnitArg::Subject => PrivacyUnit::Subject,
        },
        clip_norm: a.clip_norm,
        reproducible_noise: a.reproducible_dp,
    });
    let threads = a
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let device = match a.device {
        DeviceArg::Auto => tch::Device::cuda_if_available(),
        DeviceArg::Cpu => tch::Device::Cpu,
        DeviceArg::Cuda => {
            if !tch::Cuda::is_available() {
                return Err(invalid(
                    ACTION,
                    "--device cuda but no CUDA device is visible (a GPU build needs the full torch wheels and the `cuda` feature)",
                ));
            }
            tch::Device::Cuda(0)
        }
    };
    let mut exclude = a.exclude_subject.clone();
    exclude.sort_unstable();
    exclude.dedup();
    let req = TrainRequest {
        dataset: a.dataset.clone(),
        kind,
        mode,
        exclude,
        scheme,
        dp,
        overrides: Overrides {
            epochs: a.epochs.map(|v| v as u64),
            steps: a.steps.map(|v| v as u64),
            batch_size: a.batch_size,
            d_steps: a.d_steps.map(|v| v as u64),
        },
        seed: a.seed,
        threads,
        device,
        checkpoint_every: a.checkpoint_every as u64,
        out: a.out.clone(),
        force: a.force,
        wait_for_lock: false,
        stop_after: a.stop_after,
    };
    let mut obs = CliObserver {
        progress: None,
        every: 1,
    };
    let end = generator_job::train(&req, &mut obs)?;
    println!("{}", end.card().privacy_summary);
    Ok(())
}
