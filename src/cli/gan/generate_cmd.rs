//! `dpwear gan generate`: synthetic subjects from a trained generator, written as a dataset
//! store (`.h5`, source kind `generator`, the model card in its note), the reference's
//! synthetic CSV (`.csv`: index from 1 per subject, `sid, BVP, EDA, ACC_x, ACC_y, ACC_z, TEMP,
//! Label`) or NumPy arrays (`.npz`: `windows` (n, 60, 6), `labels` (n,) by majority of the
//! window's seconds, `step_labels` (n, 60), `subject` (n,)). `dpwear features`,
//! `eval loso --synthetic` and `eval tstr --train` read the `.h5` and `.csv` outputs.

use std::path::{Path, PathBuf};

use crate::cli::{check_overwrite, exit, CliError};
use crate::data::{store, Dataset};
use crate::pipeline::synthetic_output;
use crate::training::generator::synthesize::SubjectsRequest;
use clap::Args;

fn parse_range(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("{s:?} is not LOW,HIGH"))?;
    let lo: f64 = a
        .trim()
        .parse()
        .map_err(|_| format!("{a:?} is not a number"))?;
    let hi: f64 = b
        .trim()
        .parse()
        .map_err(|_| format!("{b:?} is not a number"))?;
    Ok((lo, hi))
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Checkpoint folder of a finished `dpwear gan train`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Synthetic subjects to generate (ids 1001, 1002, …).
    #[arg(long, value_parser = crate::config::limits::synthetic_subjects)]
    pub subjects: usize,
    /// Windows requested per subject (the reference's default 36).
    #[arg(long = "windows-per-subject", default_value_t = 36)]
    pub windows_per_subject: usize,
    /// Stress fraction of each subject's windows (conditional generators; the reference's
    /// 0.3 gives 25 + 10 windows for 36).
    #[arg(long = "stress-fraction", default_value_t = 0.3)]
    pub stress_fraction: f64,
    /// Accepted stress-second fraction per subject for DoppelGANger (rejection sampling).
    #[arg(long = "stress-ratio-range", default_value = "0.29,0.32", value_parser = parse_range)]
    pub stress_ratio_range: (f64, f64),
    /// Draws per subject before DoppelGANger's rejection sampling gives up.
    #[arg(long = "max-tries", default_value_t = crate::training::generator::synthesize::DEFAULT_MAX_TRIES)]
    pub max_tries: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output: .h5 (dataset store), .csv (reference synthetic CSV) or .npz.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output.
    #[arg(long)]
    pub force: bool,
    /// libtorch threads (default: all cores).
    #[arg(long, value_parser = crate::config::limits::threads)]
    pub threads: Option<usize>,
}

fn write_csv(path: &Path, ds: &Dataset) -> Result<(), String> {
    write_file(path, |f| {
        let mut w = std::io::BufWriter::new(f);
        synthetic_output::write_csv(&mut w, ds, &[]).map_err(|e| e.to_string())?;
        w.into_inner()
            .map_err(|e| e.into_error().to_string())?
            .sync_all()
            .map_err(|e| e.to_string())
    })
}

fn write_npz(path: &Path, ds: &Dataset) -> Result<(), String> {
    write_file(path, |f| {
        synthetic_output::write_npz(&mut *f, ds, None)?;
        f.sync_all().map_err(|e| e.to_string())
    })
}

/// Writes through `fill` into a temporary file renamed into place when it succeeds.
fn write_file(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> Result<(), String>,
) -> Result<(), String> {
    let tmp = crate::atomic_file::temp_path(path);
    let result = std::fs::File::create(&tmp)
        .map_err(|e| e.to_string())
        .and_then(|mut f| fill(&mut f));
    match result {
        Ok(()) => crate::atomic_file::rename_into_place(&tmp, path).map_err(|e| e.to_string()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

pub fn run(a: GenerateArgs) -> Result<(), CliError> {
    const ACTION: &str = "generate synthetic subjects";
    let ext = a
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !matches!(ext.as_str(), "h5" | "csv" | "npz") {
        return Err(CliError::new(
            exit::INVALID_PARAMETER,
            ACTION,
            format!(
                "--out {}: unknown output format (use .h5 for a dataset store, .csv for the reference's synthetic CSV, .npz for NumPy arrays)",
                a.out.display()
            ),
        ));
    }
    check_overwrite(&a.out, a.force)?;
    if let Some(t) = a.threads {
        tch::set_num_threads(t as i32);
    }
    let req = SubjectsRequest {
        subjects: a.subjects,
        windows_per_subject: a.windows_per_subject,
        stress_fraction: a.stress_fraction,
        stress_ratio_range: a.stress_ratio_range,
        max_tries: a.max_tries,
        seed: a.seed,
    };
    let (ds, card) = crate::pipeline::sample_job::sample(&a.checkpoint, &req)?;
    let written = match ext.as_str() {
        "h5" => store::write_dataset(&a.out, &ds).map_err(|e| e.to_string()),
        "csv" => write_csv(&a.out, &ds),
        _ => write_npz(&a.out, &ds),
    };
    written.map_err(|e| {
        CliError::new(
            exit::OUTPUT_FAILED,
            &format!("write {}", a.out.display()),
            e,
        )
    })?;
    let windows: usize = ds.subjects.iter().map(|s| s.len() / 60).sum();
    crate::cli::logging::notice(format_args!(
        "wrote {} synthetic subjects ({} windows) from {} ({}) to {}; privacy: {}",
        ds.subjects.len(),
        windows,
        card.generator,
        a.checkpoint.display(),
        a.out.display(),
        card.privacy_summary
    ));
    Ok(())
}
