//! Command-line interface: clap types, resolution of raw arguments into typed plans, and the
//! mapping of errors to documented exit codes (`exit`). The only place that uses anyhow-style
//! catch-all handling; everything below reports typed errors.
//!
//! May depend on: everything in the crate.

pub mod campaign;
pub mod data_cmd;
#[cfg(feature = "torch")]
pub mod eval_cmd;
pub mod exit;
pub mod features_cmd;
#[cfg(feature = "torch")]
pub mod gan;
pub mod logging;
pub mod privacy_cmd;
#[cfg(feature = "torch")]
pub mod quality_cmd;
#[cfg(feature = "serve")]
pub mod serve_cmd;

use clap::{Parser, Subcommand};

use crate::data::DataError;

/// The one-line description in `--help`: what this build does, nothing it does not (generators
/// are trained with `dpwear gan` and in a campaign's generator stage, which need libtorch).
#[cfg(feature = "torch")]
pub const ABOUT: &str = "dpwear: generators of synthetic wearable-sensor data (cGAN, DoppelGANger, TimeGAN, DP-MERF; optional DP-SGD) and WESAD stress classifiers (LOSO / TSTR, optional DP-SGD), from a laptop to a Slurm cluster";
/// The description of a build without libtorch (no training commands).
#[cfg(not(feature = "torch"))]
pub const ABOUT: &str = "dpwear (built without libtorch): WESAD data, features, privacy accounting and experiment grids for synthetic wearable-sensor data research; the training commands (gan, eval, run-cell, run-generator) need the `torch` feature";

/// dpwear command line.
#[derive(Debug, Parser)]
#[command(name = "dpwear", version, about = ABOUT, long_about = None, after_help = exit::TABLE)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log format: text, or json (the default inside Slurm jobs).
    #[arg(long, global = true, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import, simulate and inspect datasets (HDF5 store).
    #[command(subcommand)]
    Data(data_cmd::DataCommand),
    /// Compute the stress classifier's subwindow-FFT features from a dataset store.
    Features(features_cmd::FeaturesArgs),
    /// Privacy accounting: ε for a noise multiplier, or σ for a target ε.
    #[command(subcommand)]
    Privacy(privacy_cmd::PrivacyCommand),
    /// Train and score the stress classifiers (LOSO or TSTR) over replicates.
    #[cfg(feature = "torch")]
    #[command(subcommand)]
    Eval(eval_cmd::EvalCommand),
    /// Train generators (cGAN, DoppelGANger, TimeGAN, DP-MERF; optional DP-SGD), sample
    /// synthetic subjects from them, inspect their model cards.
    #[cfg(feature = "torch")]
    #[command(subcommand)]
    Gan(gan::GanCommand),
    /// Validate an experiment grid, stage its inputs and write results/<campaign>/manifest.json.
    Plan(campaign::plan_cmd::PlanArgs),
    /// Plan, run the unfinished cells locally, collect and print the table.
    Run(campaign::run_cmd::RunArgs),
    /// Run one cell of a manifest (what `run` and every Slurm array task execute).
    #[cfg(feature = "torch")]
    RunCell(campaign::run_cell_cmd::RunCellArgs),
    /// Train and sample one generator of a manifest's generator stage (what `run` and the
    /// Slurm generator array execute).
    #[cfg(feature = "torch")]
    RunGenerator(campaign::run_generator_cmd::RunGeneratorArgs),
    /// Write a campaign's tables (Markdown, CSV, LaTeX) and figures (SVG).
    Collect(campaign::collect_cmd::CollectArgs),
    /// Fidelity and leakage of a synthetic dataset store against real data (a report folder
    /// with Markdown, JSON and SVG figures).
    #[cfg(feature = "torch")]
    Quality(quality_cmd::QualityArgs),
    /// Plan, then send the unfinished cells to Slurm as array jobs plus a collect job.
    Submit(campaign::submit_cmd::SubmitArgs),
    /// Each cell's state, from its files and the scheduler.
    Status(campaign::status_cmd::StatusArgs),
    /// Serve the generator web page: pick a checkpoint, generate synthetic subjects, plot,
    /// compare and download them (localhost by default).
    #[cfg(feature = "serve")]
    Serve(serve_cmd::ServeArgs),
}

/// A failure with the exit code it maps to; printed as one line `dpwear: failed to …: …`.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    /// A failure of `action` (read after "failed to").
    pub fn new(code: i32, action: &str, cause: impl std::fmt::Display) -> Self {
        Self {
            code,
            message: format!("failed to {action}: {cause}"),
        }
    }

    /// Wraps a manifest read error: 3 when the file cannot be read, 4 when it is not a
    /// manifest (random bytes, truncated JSON, another kind or version).
    pub fn manifest(action: &str, e: crate::orchestration::manifest::ManifestError) -> Self {
        let code = if e.is_unreadable() {
            exit::INPUT_UNREADABLE
        } else {
            exit::INPUT_MALFORMED
        };
        Self::new(code, action, e)
    }

    /// Wraps an experiment-file error: unreadable 3, not TOML 4, invalid values 5.
    pub fn config(action: &str, e: crate::config::ConfigError) -> Self {
        let code = match e {
            crate::config::ConfigError::Unreadable { .. } => exit::INPUT_UNREADABLE,
            crate::config::ConfigError::Syntax { .. } => exit::INPUT_MALFORMED,
            crate::config::ConfigError::Invalid { .. } => exit::INVALID_PARAMETER,
        };
        Self::new(code, action, e)
    }

    /// Wraps a data-layer error raised while doing `action`.
    pub fn data(action: &str, e: DataError) -> Self {
        Self::new(exit::for_data_error(&e), action, e)
    }
}

impl From<crate::pipeline::JobError> for CliError {
    fn from(e: crate::pipeline::JobError) -> Self {
        CliError::new(exit::for_fault(e.fault), &e.action, &e.cause)
    }
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    logging::init(cli.verbose, cli.log_format.as_deref());
    let result = match cli.command {
        Command::Data(cmd) => data_cmd::run(cmd),
        Command::Features(args) => features_cmd::run(args),
        Command::Privacy(cmd) => privacy_cmd::run(cmd),
        #[cfg(feature = "torch")]
        Command::Eval(cmd) => eval_cmd::run(cmd),
        #[cfg(feature = "torch")]
        Command::Gan(cmd) => gan::run(cmd),
        Command::Plan(a) => campaign::plan_cmd::run(a),
        Command::Run(a) => campaign::run_cmd::run(a),
        #[cfg(feature = "torch")]
        Command::RunCell(a) => campaign::run_cell_cmd::run(a),
        #[cfg(feature = "torch")]
        Command::RunGenerator(a) => campaign::run_generator_cmd::run(a),
        Command::Collect(a) => campaign::collect_cmd::run(a),
        #[cfg(feature = "torch")]
        Command::Quality(a) => quality_cmd::run(a),
        Command::Submit(a) => campaign::submit_cmd::run(a),
        Command::Status(a) => campaign::status_cmd::run(a),
        #[cfg(feature = "serve")]
        Command::Serve(a) => serve_cmd::run(a),
    };
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            logging::error_line(&e.message, e.code);
            e.code
        }
    }
}

/// Refuses to overwrite an existing output unless `force`.
pub fn check_overwrite(path: &std::path::Path, force: bool) -> Result<(), CliError> {
    if path.exists() && !force {
        return Err(CliError::new(
            exit::OUTPUT_FAILED,
            &format!("write {}", path.display()),
            "the file exists; pass --force to replace it",
        ));
    }
    Ok(())
}
