//! `dpwear features --dataset <h5> --mode reference|corrected --out <file.h5|file.npz>`.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};

use super::{check_overwrite, CliError};
use crate::data::store;
use crate::features::{self, FeatureMode, WindowScheme};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Bit-compatible with the reference, including its subwindow-length mismatch (BVP, EDA,
    /// ACC_x 7 s; ACC_y, ACC_z 30 s; TEMP 35 s).
    Reference,
    /// Subwindow lengths by signal name (ACC 7 s; BVP, EDA 30 s; TEMP 35 s).
    Corrected,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WindowsArg {
    /// The reference classifier's windows: non-overlapping 60 s, last window of every subject
    /// dropped (530 windows on the reference data).
    Reference,
    /// Every complete non-overlapping 60 s window.
    NonOverlapping,
    /// 60 s windows every 30 s (1,083 on the reference data).
    Sliding,
}

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Dataset store written by `dpwear data import` or `data simulate`.
    #[arg(long)]
    pub dataset: PathBuf,
    /// Subwindow lengths: the reference's (default) or corrected by signal name.
    #[arg(long, value_enum, default_value = "reference")]
    pub mode: ModeArg,
    /// How windows are cut.
    #[arg(long, value_enum, default_value = "reference")]
    pub windows: WindowsArg,
    /// Output: `.h5` writes the HDF5 feature store, `.npz` NumPy arrays X (N,6,210) float64,
    /// y (N,) and subject (N,).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// Runs `dpwear features`.
pub fn run(a: FeaturesArgs) -> Result<(), CliError> {
    features::store::FeatureFormat::from_path(&a.out)
        .map_err(|e| CliError::data("choose the output format", e))?;
    check_overwrite(&a.out, a.force)?;
    let ds =
        store::read_dataset(&a.dataset).map_err(|e| CliError::data("read the dataset store", e))?;
    let mode = match a.mode {
        ModeArg::Reference => FeatureMode::Reference,
        ModeArg::Corrected => FeatureMode::Corrected,
    };
    let scheme = match a.windows {
        WindowsArg::Reference => WindowScheme::Reference,
        WindowsArg::NonOverlapping => WindowScheme::NonOverlapping,
        WindowsArg::Sliding => WindowScheme::Sliding,
    };
    let t = Instant::now();
    let fs = features::build(&ds, scheme, mode);
    let secs = t.elapsed().as_secs_f64();
    // A subject without windows would become an empty LOSO fold: refused here, naming the
    // dataset, rather than after training.
    fs.validate(&a.dataset)
        .map_err(|e| CliError::data("compute the features", e))?;
    features::write_features(&a.out, &fs).map_err(|e| CliError::data("write the features", e))?;
    let counts = fs.label_counts();
    tracing::info!(windows = fs.len(), seconds = secs, "features computed");
    let simulated = if fs.source_kind.is_simulated() {
        " [SIMULATED DATA]"
    } else {
        ""
    };
    crate::notice!(
        "wrote {} windows × 6 × 210 ({} mode, {} windows; labels {}) in {:.3} s to {}{simulated}",
        fs.len(),
        mode.as_str(),
        scheme.as_str(),
        counts
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" / "),
        secs,
        a.out.display()
    );
    Ok(())
}
