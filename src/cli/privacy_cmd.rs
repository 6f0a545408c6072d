//! `dpwear privacy epsilon|sigma`: the accountants on the command line. Every ε printed states
//! its accountant and conversion, δ, the sampling assumption and the privacy unit.

use clap::{Args, Subcommand, ValueEnum};

use super::{exit, CliError};
use crate::privacy::accounting::fmt::{exact, sig6};
use crate::privacy::accounting::{
    calibrate_sigma, Accountant, AccountingError, CalibrationOptions, DpLevel, PldAccountant,
    PrivacyStatement, PrivacyUnit, PrvAccountant, RdpAccountant, Sampling, Schedule,
};

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// ε of the Poisson-subsampled Gaussian mechanism for a noise multiplier σ.
    Epsilon(EpsilonArgs),
    /// The smallest σ (to 1e-6 relative) whose ε is at most the target.
    Sigma(SigmaArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AccountantArg {
    /// Rényi DP (dp_accounting's orders, improved RDP→(ε, δ) conversion).
    Rdp,
    /// Rényi DP with the reference implementation's (tf-privacy 0.8.5) order list.
    RdpReference,
    /// Privacy loss distributions (add/remove adjacency, pessimistic, interval 1e-4).
    Pld,
    /// Privacy random variables (Gopi et al. 2021): the upper end of a certified error bar
    /// (ε error 1 % of the RDP ε, δ error δ/1000, add/remove adjacency).
    Prv,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SamplingArg {
    /// Poisson sampling: what the amplification analysis assumes.
    Poisson,
    /// Shuffled fixed-size batches: ε is then NOT covered by the amplification analysis.
    Shuffle,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UnitArg {
    Window,
    Subject,
}

/// The schedule and statement options shared by both commands.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Sampling rate q ∈ (0, 1] (expected batch size / number of privacy units).
    #[arg(long)]
    pub sample_rate: f64,
    /// Number of noisy steps.
    #[arg(long)]
    pub steps: u64,
    /// δ ∈ (0, 1).
    #[arg(long)]
    pub delta: f64,
    /// Accountant.
    #[arg(long, value_enum, default_value = "rdp")]
    pub accountant: AccountantArg,
    /// Sampling assumption stated with the result.
    #[arg(long, value_enum, default_value = "poisson")]
    pub sampling: SamplingArg,
    /// Privacy unit stated with the result.
    #[arg(long, value_enum, default_value = "window")]
    pub unit: UnitArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EpsilonArgs {
    /// Noise multiplier σ (> 0).
    #[arg(long)]
    pub sigma: f64,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
}

#[derive(Debug, Args)]
pub struct SigmaArgs {
    /// Target ε (> 0).
    #[arg(long)]
    pub target_epsilon: f64,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
}

fn accountant(a: AccountantArg) -> Result<Box<dyn Accountant>, AccountingError> {
    Ok(match a {
        AccountantArg::Rdp => Box::new(RdpAccountant::default()),
        AccountantArg::RdpReference => Box::new(RdpAccountant::reference()),
        AccountantArg::Pld => Box::new(PldAccountant::default()),
        AccountantArg::Prv => Box::new(PrvAccountant::default()),
    })
}

fn fail(e: AccountingError) -> CliError {
    let code = match e {
        AccountingError::InvalidParameter { .. }
        | AccountingError::Unreachable { .. }
        | AccountingError::MinNoiseTooLarge { .. }
        | AccountingError::NoFiniteEpsilon { .. }
        | AccountingError::WorkLimit { .. }
        | AccountingError::VoidDelta { .. }
        | AccountingError::TooFewUnits { .. }
        | AccountingError::InvalidPart { .. }
        | AccountingError::NoFiniteComposedEpsilon { .. } => exit::INVALID_PARAMETER,
        _ => exit::INTERNAL,
    };
    CliError::new(code, "account for privacy", e)
}

/// Runs a `privacy` subcommand.
pub fn run(cmd: PrivacyCommand) -> Result<(), CliError> {
    let (s, sigma) = match cmd {
        PrivacyCommand::Epsilon(a) => (a.schedule, Ok(a.sigma)),
        PrivacyCommand::Sigma(a) => (a.schedule, Err(a.target_epsilon)),
    };
    let sched = Schedule::new(s.sample_rate, s.steps, s.delta).map_err(fail)?;
    let acc = accountant(s.accountant).map_err(fail)?;
    let (sigma, note) = match sigma {
        Ok(sigma) => (sigma, None),
        Err(target) => {
            let c = calibrate_sigma(acc.as_ref(), &sched, target, &CalibrationOptions::default())
                .map_err(fail)?;
            (c.sigma, c.note())
        }
    };
    if let Some(note) = &note {
        tracing::warn!("{note}");
    }
    let sampling = match s.sampling {
        SamplingArg::Poisson => Sampling::Poisson,
        SamplingArg::Shuffle => Sampling::Shuffle,
    };
    let unit = match s.unit {
        UnitArg::Window => PrivacyUnit::Window,
        UnitArg::Subject => PrivacyUnit::Subject,
    };
    let st = PrivacyStatement::compute(
        acc.as_ref(),
        &sched,
        sigma,
        sampling,
        unit,
        DpLevel::ExampleLevel,
    )
    .map_err(fail)?;
    if s.json {
        let mut v = serde_json::to_value(&st)
            .map_err(|e| CliError::new(exit::INTERNAL, "serialise JSON", e))?;
        if let (Some(note), Some(obj)) = (&note, v.as_object_mut()) {
            obj.insert("note".into(), note.clone().into());
        }
        let j = serde_json::to_string_pretty(&v)
            .map_err(|e| CliError::new(exit::INTERNAL, "serialise JSON", e))?;
        println!("{j}");
    } else {
        println!("sigma = {}", exact(st.sigma));
        println!("{st}");
        if let Some(note) = &note {
            println!("note: {note}");
        }
        if let AccountantArg::Prv = s.accountant {
            let b = PrvAccountant::default()
                .epsilon_bounds(&sched, sigma)
                .map_err(fail)?;
            println!(
                "prv error bar: true epsilon in [{}, {}] (estimate {}; epsilon error {:.3e}, delta error {:.3e}, {} grid points)",
                sig6(b.lower.max(0.0)),
                sig6(b.upper),
                sig6(b.estimate),
                b.eps_error,
                b.delta_error,
                b.grid
            );
        }
    }
    Ok(())
}
