//! `dpwear data import|simulate|info`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use super::{check_overwrite, exit, CliError};
use crate::data::simulator::{simulate, SimulatorConfig};
use crate::data::{self, store, DataError, Dataset, LabelMap};
use crate::features;
use crate::reporting::progress::Progress;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Import WESAD into the HDF5 store: a raw WESAD directory (S*/S*.pkl), one raw S*.pkl, the
    /// reference implementation's subject_data_1hz.pickle, or its wesad_preprocessed_1hz.csv.
    Import(ImportArgs),
    /// Write a simulated WESAD-shaped 1 Hz dataset (made-up data, labelled as simulated).
    Simulate(SimulateArgs),
    /// Print a dataset or feature store's subjects, rows and label counts.
    Info(InfoArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SourceFormat {
    /// Decide from the path: a directory or .pkl → raw WESAD, .pickle → reference pickle,
    /// .csv → reference CSV.
    Auto,
    /// Raw WESAD: a directory holding S*/S*.pkl, or one S*.pkl.
    WesadRaw,
    /// The reference's dict of per-subject pandas DataFrames at 1 Hz.
    ReferencePickle,
    /// The reference's concatenated 1 Hz CSV (or the same columns plus a `subject` column).
    ReferenceCsv,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LabelMapArg {
    /// 0 = non-stress (baseline + amusement), 1 = stress (the reference's binary files).
    Binary,
    /// 0 = baseline, 1 = stress, 2 = amusement.
    ThreeClass,
}

impl From<LabelMapArg> for LabelMap {
    fn from(a: LabelMapArg) -> Self {
        match a {
            LabelMapArg::Binary => LabelMap::Binary,
            LabelMapArg::ThreeClass => LabelMap::ThreeClass,
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// WESAD directory, S*.pkl, subject_data_1hz.pickle or wesad_preprocessed_1hz.csv.
    pub source: PathBuf,
    /// Output HDF5 store.
    #[arg(long)]
    pub out: PathBuf,
    /// Input format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: SourceFormat,
    /// Label map. Raw WESAD's protocol labels are mapped with it; the reference's pickle and
    /// CSV store class labels, which must belong to it (their published files are binary).
    #[arg(long, value_enum, default_value = "binary")]
    pub label_map: LabelMapArg,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Number of simulated subjects.
    #[arg(long, default_value_t = 15)]
    pub subjects: usize,
    /// Master seed; the same seed gives the same file.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Scale of the protocol durations (1.0 ≈ WESAD's ~37 minutes of labelled data per subject).
    #[arg(long, default_value_t = 1.0)]
    pub minutes_scale: f64,
    /// Label map.
    #[arg(long, value_enum, default_value = "binary")]
    pub label_map: LabelMapArg,
    /// Output HDF5 store.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A dataset store (data import/simulate) or a feature store (features).
    pub file: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `data` subcommand.
pub fn run(cmd: DataCommand) -> Result<(), CliError> {
    match cmd {
        DataCommand::Import(a) => import(a),
        DataCommand::Simulate(a) => simulate_cmd(a),
        DataCommand::Info(a) => info(a),
    }
}

fn resolve_format(path: &Path, f: SourceFormat) -> SourceFormat {
    match f {
        SourceFormat::Auto => {
            if path.is_dir() {
                return SourceFormat::WesadRaw;
            }
            match path.extension().and_then(|e| e.to_str()) {
                Some("pkl") => SourceFormat::WesadRaw,
                Some("csv") => SourceFormat::ReferenceCsv,
                _ => SourceFormat::ReferencePickle,
            }
        }
        other => other,
    }
}

/// Reads any supported source into a dataset.
pub fn read_source(
    path: &Path,
    format: SourceFormat,
    label_map: LabelMap,
) -> Result<Dataset, DataError> {
    if !path.exists() {
        return Err(DataError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        ));
    }
    match resolve_format(path, format) {
        SourceFormat::WesadRaw => {
            let mut progress: Option<Progress> = None;
            data::wesad_raw::read_wesad_with_progress(path, label_map, |done, total| {
                if done == 0 {
                    progress = Some(Progress::new(total as u64, "subjects"));
                } else if let Some(p) = progress.as_mut() {
                    p.inc();
                }
                if done == total {
                    if let Some(p) = progress.take() {
                        p.finish();
                    }
                }
            })
        }
        SourceFormat::ReferencePickle => {
            data::reference_pickle::read_reference_pickle(path, label_map)
        }
        SourceFormat::ReferenceCsv => data::reference_csv::read_reference_csv(path, label_map),
        SourceFormat::Auto => unreachable!("resolved above"),
    }
}

fn import(a: ImportArgs) -> Result<(), CliError> {
    check_overwrite(&a.out, a.force)?;
    let action = "import";
    let ds = read_source(&a.source, a.format, a.label_map.into())
        .map_err(|e| CliError::data(action, e))?;
    store::write_dataset(&a.out, &ds).map_err(|e| CliError::data("write the dataset store", e))?;
    let s = ds.summary();
    tracing::info!(subjects = s.n_subjects, rows = s.rows, "imported");
    crate::notice!(
        "imported {} subjects, {} rows ({} stress) from {} [{}] into {}",
        s.n_subjects,
        s.rows,
        s.stress_rows,
        a.source.display(),
        ds.source.kind.as_str(),
        a.out.display()
    );
    Ok(())
}

fn simulate_cmd(a: SimulateArgs) -> Result<(), CliError> {
    check_overwrite(&a.out, a.force)?;
    let cfg = SimulatorConfig {
        subjects: a.subjects,
        seed: a.seed,
        label_map: a.label_map.into(),
        minutes_scale: a.minutes_scale,
    };
    let ds = simulate(&cfg).map_err(|e| CliError::data("simulate", e))?;
    store::write_dataset(&a.out, &ds).map_err(|e| CliError::data("write the dataset store", e))?;
    let s = ds.summary();
    crate::notice!(
        "wrote SIMULATED data (not measurements): {} subjects, {} rows ({} stress) to {}",
        s.n_subjects,
        s.rows,
        s.stress_rows,
        a.out.display()
    );
    Ok(())
}

fn info(a: InfoArgs) -> Result<(), CliError> {
    let action = "read";
    let is_npz = a
        .file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
    if is_npz {
        return Err(CliError::new(
            exit::INPUT_MALFORMED,
            &format!("read {}", a.file.display()),
            "a .npz file is an export for NumPy (`dpwear features --out f.npz`), which dpwear does not read back; give the HDF5 feature store (`--out f.h5`) or dataset store instead",
        ));
    }
    let kind = store::file_kind(&a.file).map_err(|e| CliError::data(action, e))?;
    match kind.as_str() {
        store::KIND => {
            let ds = store::read_dataset(&a.file).map_err(|e| CliError::data(action, e))?;
            print_dataset_summary(&ds.summary(), a.json)
        }
        features::store::KIND => {
            let fs = features::read_features(&a.file).map_err(|e| CliError::data(action, e))?;
            print_feature_summary(&fs, a.json)
        }
        other => Err(CliError::new(
            exit::INPUT_MALFORMED,
            action,
            format!("unknown dpwear file kind `{other}`"),
        )),
    }
}

fn print_json(v: &impl serde::Serialize) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| CliError::new(exit::INTERNAL, "serialise JSON", e))?;
    println!("{s}");
    Ok(())
}

fn print_dataset_summary(s: &data::dataset::DatasetSummary, json: bool) -> Result<(), CliError> {
    if json {
        return print_json(s);
    }
    let banner = if s.simulated {
        "  [SIMULATED DATA — not measurements]"
    } else {
        ""
    };
    println!(
        "dataset: {} ({}){banner}",
        s.source_path,
        s.source_kind.as_str()
    );
    println!("source sha256: {}", s.source_sha256);
    println!(
        "label map: {} ({}), {} Hz, channels {}",
        s.label_map.as_str(),
        s.class_names.join(" / "),
        s.sampling_rate_hz,
        s.channels.join(", ")
    );
    println!(
        "{:<8} {:>8} {}",
        "subject",
        "rows",
        s.class_names.join(" / ")
    );
    for sub in &s.subjects {
        println!(
            "{:<8} {:>8} {}",
            sub.subject,
            sub.rows,
            join_counts(&sub.label_counts)
        );
    }
    println!(
        "{:<8} {:>8} {}",
        "total",
        s.rows,
        join_counts(&s.label_counts)
    );
    println!(
        "{} subjects, {} rows, {} stress rows",
        s.n_subjects, s.rows, s.stress_rows
    );
    Ok(())
}

fn join_counts(c: &[usize]) -> String {
    c.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// JSON form of a feature store's summary.
#[derive(serde::Serialize)]
struct FeatureSummary<'a> {
    kind: &'a str,
    windows: usize,
    shape: [usize; 3],
    feature_mode: &'a str,
    window_scheme: &'a str,
    label_map: &'a str,
    label_counts: Vec<usize>,
    stress_windows: usize,
    simulated: bool,
    source_path: &'a str,
    source_sha256: &'a str,
    subjects: Vec<(String, usize)>,
}

fn print_feature_summary(fs: &features::FeatureSet, json: bool) -> Result<(), CliError> {
    let counts = fs.label_counts();
    let subjects = fs
        .subject_ids
        .iter()
        .map(|&id| {
            (
                format!("S{id}"),
                fs.subject.iter().filter(|&&s| s == id).count(),
            )
        })
        .collect();
    let s = FeatureSummary {
        kind: features::store::KIND,
        windows: fs.len(),
        shape: [fs.len(), data::N_CHANNELS, features::FEATURE_LEN],
        feature_mode: fs.mode.as_str(),
        window_scheme: fs.scheme.as_str(),
        label_map: fs.label_map.as_str(),
        stress_windows: counts.get(1).copied().unwrap_or(0),
        label_counts: counts,
        simulated: fs.source_kind.is_simulated(),
        source_path: &fs.source_path,
        source_sha256: &fs.source_sha256,
        subjects,
    };
    if json {
        return print_json(&s);
    }
    let banner = if s.simulated {
        "  [SIMULATED DATA — not measurements]"
    } else {
        ""
    };
    println!(
        "features: {} windows × {} × {} ({} mode, {} windows) from {}{banner}",
        s.windows, s.shape[1], s.shape[2], s.feature_mode, s.window_scheme, s.source_path
    );
    println!(
        "labels ({}): {}; stress windows: {}",
        s.label_map,
        join_counts(&s.label_counts),
        s.stress_windows
    );
    for (name, n) in &s.subjects {
        println!("{name:<8} {n:>6}");
    }
    Ok(())
}
