//! `dpwear gan train`: resolve the request (data, family, privacy plan) before anything is
//! trained, then run the executor with checkpoints in `--out`.
//!
//! What happens with an existing `--out`:
//! - a complete checkpoint of the same request: nothing is recomputed (exit 0, says so);
//! - an interrupted checkpoint of the same request: training resumes where it stopped;
//! - a checkpoint of another request: refused (exit 6) unless `--force`;
//! - a corrupt card or weight file: exit 4 naming the file (remove it or pass `--force`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};

use super::checkpoint_error;
use crate::cli::eval_cmd::{DeviceArg, DpAccountantArg, DpUnitArg};
use crate::cli::{exit, CliError};
use crate::data::hash::sha256_file;
use crate::data::store;
use crate::features::windows::WindowScheme;
use crate::models::generator_spec::{GeneratorKind, GeneratorMode};
use crate::privacy::accounting::ledger::AccountantKind;
use crate::privacy::accounting::PrivacyUnit;
use crate::reporting::progress::Progress;
use crate::training::generator::checkpoint::{
    self, CardData, CardTraining, ModelCard, CARD_KIND, CARD_SCHEMA_VERSION,
};
use crate::training::generator::executor::{self, LoopConfig, RunEnd};
use crate::training::generator::privacy::{self as gen_privacy, GenDpRequest};
use crate::training::generator::rng::SecretKey;
use crate::training::generator::{registry, GenData, Overrides};

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

/// sha256 of everything that defines the training.
fn request_digest(value: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(value).expect("request serialises"));
    format!("{:x}", h.finalize())
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
    let dp_request = a.epsilon.map(|eps| GenDpRequest {
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

    // Inputs and the whole plan, before anything is trained.
    let ds = store::read_dataset(&a.dataset).map_err(|e| CliError::data("read the dataset", e))?;
    let dataset_sha256 =
        sha256_file(&a.dataset).map_err(|e| CliError::data("read the dataset", e))?;
    let mut exclude = a.exclude_subject.clone();
    exclude.sort_unstable();
    exclude.dedup();
    let data = GenData::from_dataset(&ds, scheme, &exclude, device)
        .map_err(|e| invalid(ACTION, format!("{}: {e}", a.dataset.display())))?;
    let overrides = Overrides {
        epochs: a.epochs.map(|v| v as u64),
        steps: a.steps.map(|v| v as u64),
        batch_size: a.batch_size,
        d_steps: a.d_steps.map(|v| v as u64),
    };
    let family = registry::family(kind, mode, data.n_classes, &overrides)
        .map_err(|e| invalid(ACTION, format!("{kind}: {e}")))?;
    family
        .validate(&data)
        .map_err(|e| invalid(ACTION, format!("{kind}: {e}")))?;
    let plan = match &dp_request {
        Some(req) => {
            Some(gen_privacy::plan(req, family.as_ref(), &data).map_err(|e| invalid(ACTION, e))?)
        }
        None => None,
    };
    let hyper = family.hyper_json();
    let request = serde_json::json!({
        "generator": kind,
        "mode": mode,
        "hyper": hyper,
        "dataset_sha256": dataset_sha256,
        "exclude": exclude,
        "window_scheme": scheme,
        "dp": dp_request,
        "reproducible_dp": a.reproducible_dp,
        "seed": a.seed,
    });
    let digest = request_digest(&request);

    // One training per folder at a time (an flock that vanishes with its holder).
    if a.out.exists() && !a.out.is_dir() {
        return Err(CliError::new(
            exit::OUTPUT_FAILED,
            ACTION,
            format!("--out {} exists and is not a folder", a.out.display()),
        ));
    }
    std::fs::create_dir_all(&a.out).map_err(|e| {
        CliError::new(
            exit::OUTPUT_FAILED,
            ACTION,
            format!("{}: {e}", a.out.display()),
        )
    })?;
    let _lock = crate::orchestration::lock::try_lock(&a.out.join(".lock"), "dpwear gan train")
        .map_err(|e| {
            CliError::new(
                exit::OUTPUT_FAILED,
                ACTION,
                format!("another `dpwear gan train` is using --out: {e}"),
            )
        })?;

    // An existing checkpoint: done, resume, or refuse.
    let card_path = a.out.join(checkpoint::CARD_FILE);
    let mut resume: Option<ModelCard> = None;
    if card_path.exists() && !a.force {
        let card = checkpoint::read_card(&a.out).map_err(|e| {
            let mut err = checkpoint_error("read the existing checkpoint in --out", e);
            err.message.push_str(" (pass --force to replace it)");
            err
        })?;
        if card.request_sha256 != digest {
            return Err(CliError::new(
                exit::OUTPUT_FAILED,
                ACTION,
                format!(
                    "{} holds a checkpoint of another training (its request digest differs: generator, mode, hyper-parameters, data, privacy or seed); pass --force to replace it or choose another --out",
                    a.out.display()
                ),
            ));
        }
        if card.is_complete() {
            crate::cli::logging::notice(format_args!(
                "{} already holds this generator, trained to the end ({} steps); nothing to do",
                a.out.display(),
                card.training.steps_done
            ));
            println!("{}", card.privacy_summary);
            return Ok(());
        }
        resume = Some(card);
    }

    tch::set_num_threads(threads as i32);
    tch::manual_seed(crate::training::generator::rng::stream_seed(
        a.seed,
        crate::training::generator::rng::StepPurpose::Other(0),
        0,
    ) as i64);
    let mut algo = family
        .build(&data, plan.as_ref().map(|p| p.settings()), device)
        .map_err(|e| invalid(ACTION, format!("{kind}: {e}")))?;
    // The key of the batch and noise streams: secret for private runs (module docs of
    // training::generator::rng), from the seed otherwise; a resumed run reads its own back.
    let mut key = match (&plan, a.reproducible_dp) {
        (Some(_), false) => {
            SecretKey::fresh().map_err(|e| CliError::new(exit::INTERNAL, ACTION, e))?
        }
        _ => SecretKey::from_seed(a.seed),
    };
    let mut card = match resume {
        Some(card) => {
            let file = card.state_file.clone().ok_or_else(|| {
                CliError::new(
                    exit::INPUT_MALFORMED,
                    ACTION,
                    format!("{}: the card names no training state", card_path.display()),
                )
            })?;
            let state = checkpoint::read_tensors(&a.out, &file)
                .map_err(|e| checkpoint_error("read the training state", e))?;
            let (state, saved_key) = executor::split_state(state).map_err(|e| {
                CliError::new(
                    exit::INPUT_MALFORMED,
                    "resume the training",
                    format!("{}: {e}", a.out.join(&file.name).display()),
                )
            })?;
            key = saved_key;
            algo.load_state(&state).map_err(|e| {
                CliError::new(
                    exit::INPUT_MALFORMED,
                    "resume the training",
                    format!("{}: {e}", a.out.join(&file.name).display()),
                )
            })?;
            crate::cli::logging::notice(format_args!(
                "resuming {} at step {} of {}",
                a.out.display(),
                card.training.steps_done,
                card.training.steps_total
            ));
            card
        }
        None => {
            let mut notes = family.notes();
            match (&plan, a.reproducible_dp) {
                (Some(_), false) => notes.push("DP randomness (which windows each Poisson batch holds, the Gaussian noise) comes from a secret 256-bit key drawn from the operating system and kept only in training-state.safetensors: publish generator.safetensors and this card, never the training state".into()),
                (Some(_), true) => notes.push("--reproducible-dp: the DP batches and noise are derived from the recorded seed, so anyone who knows the seed can recompute them and the stated guarantee does NOT hold against them (tests and reproduction only)".into()),
                (None, _) => {}
            }
            if ds.source.kind.is_simulated() {
                notes.push(
                    "trained on SIMULATED data (dpwear's simulator), not on measurements".into(),
                );
            }
            ModelCard {
                schema_version: CARD_SCHEMA_VERSION,
                kind: CARD_KIND.into(),
                generator: kind,
                mode,
                hyper,
                generator_parameters: 0,
                data: CardData {
                    dataset: a.dataset.display().to_string(),
                    dataset_sha256,
                    source_kind: ds.source.kind.as_str().into(),
                    source_sha256: ds.source.sha256.clone(),
                    simulated: ds.source.kind.is_simulated(),
                    label_map: ds.label_map,
                    class_names: ds.label_map.class_names().iter().map(|s| s.to_string()).collect(),
                    window_scheme: scheme,
                    windows: data.len(),
                    training_subjects: data.subject_ids.clone(),
                    excluded_subjects: exclude.clone(),
                    preprocessing: "per-subject min-max scaling of each channel to [0, 1] over the kept 1 Hz rows (done when the store was made; not covered by any privacy statement)".into(),
                },
                training: CardTraining {
                    status: "in-progress".into(),
                    steps_total: algo.total_steps(),
                    steps_done: 0,
                    private_steps: 0,
                    empty_batches: 0,
                    clipped_fraction_sum: 0.0,
                    seed: a.seed,
                    threads,
                    device: format!("{device:?}"),
                    wall_seconds: 0.0,
                    last_losses: Vec::new(),
                },
                privacy_plan: plan.clone(),
                privacy: None,
                privacy_summary: match &plan {
                    Some(_) => String::new(),
                    None => "no differential privacy: trained without a privacy mechanism; the generator may memorise training windows".into(),
                },
                request_sha256: digest,
                generator_file: None,
                state_file: None,
                code_version: format!(
                    "dpwear {} (git {})",
                    env!("CARGO_PKG_VERSION"),
                    env!("DPWEAR_GIT_COMMIT")
                ),
                notes,
            }
        }
    };
    if let Some(p) = &plan {
        crate::cli::logging::notice(format_args!(
            "privacy plan: sigma = {} for {} private steps at q = {} (target epsilon {}, delta {:e}, {} unit)",
            crate::privacy::accounting::fmt::sig6(p.sigma),
            p.steps_planned,
            crate::privacy::accounting::fmt::sig6(p.sample_rate),
            p.request.target_epsilon,
            p.delta,
            p.request.unit.as_str()
        ));
    }

    let total = algo.total_steps();
    let mut progress = Progress::resuming(total, card.training.steps_done, "steps");
    let every = (total / 200).max(1);
    let mut observer = |p: &executor::Progress<'_>| {
        progress.inc();
        if p.step.is_multiple_of(every) || p.step == p.total {
            let losses = p
                .report
                .losses
                .iter()
                .map(|(n, v)| format!("{n} {v:.4}"))
                .collect::<Vec<_>>()
                .join(", ");
            progress.set_detail(losses);
        }
    };
    let end = executor::run(
        algo.as_mut(),
        &data,
        &mut card,
        plan.as_ref(),
        &key,
        &a.out,
        LoopConfig {
            checkpoint_every: a.checkpoint_every as u64,
            stop_after: a.stop_after,
        },
        &mut observer,
    );
    progress.finish();
    match end {
        Ok(RunEnd::Complete) => {
            println!("{}", card.privacy_summary);
            crate::cli::logging::notice(format_args!(
                "trained {kind} ({} steps, {:.1} s); checkpoint in {}",
                card.training.steps_done,
                card.training.wall_seconds,
                a.out.display()
            ));
            Ok(())
        }
        Ok(RunEnd::Interrupted { steps_done, signal }) => Err(CliError::new(
            exit::RESUMABLE,
            ACTION,
            format!(
                "interrupted{} after {steps_done} of {total} steps; the checkpoint in {} is saved: run the same command again to resume",
                if signal != 0 { format!(" by signal {signal}") } else { String::new() },
                a.out.display()
            ),
        )),
        Err(executor::ExecutorError::Checkpoint(e)) => {
            Err(checkpoint_error("save the checkpoint", e))
        }
        Err(e) => Err(CliError::new(exit::INTERNAL, ACTION, e)),
    }
}
