//! The inputs of a campaign's cells and generator tasks, read from the manifest and checked
//! against what `plan` recorded (through `pipeline::inputs`), and the generator stage of one
//! artifact (through `pipeline::generator_stage`): what `run-cell`, `run-generator` and the
//! privacy ledger share.

use std::path::PathBuf;

use super::super::{exit, CliError};
use crate::config::{CellConfig, Generator};
use crate::features::FeatureSet;
use crate::orchestration::{CampaignDir, Manifest};
use crate::pipeline::generator_job::TrainObserver;
use crate::pipeline::{generator_stage, inputs};

/// Reads the manifest at `path`, first refusing (exit 7) one whose sha256 is not `pinned`
/// (the sha256 the run started with); `what` names the task in the message.
pub fn read_pinned_manifest(
    path: &std::path::Path,
    pinned: Option<&str>,
    what: &str,
) -> Result<Manifest, CliError> {
    if let Some(want) = pinned {
        let have = crate::orchestration::manifest::file_sha256(path).map_err(|e| {
            CliError::new(
                exit::INPUT_UNREADABLE,
                &format!("read {}", path.display()),
                e,
            )
        })?;
        if !have.eq_ignore_ascii_case(want.trim()) {
            return Err(CliError::new(
                exit::STALE_CELL,
                &format!("run {what}"),
                format!(
                    "{}: the manifest changed since the run started (sha256 {have}, the run pinned {want}); nothing was computed — start the run again",
                    path.display()
                ),
            ));
        }
    }
    Manifest::read(path).map_err(|e| CliError::manifest("read the manifest", e))
}

/// libtorch threads of a task: `--threads`, else the experiment's `model.threads`, else all
/// cores.
pub fn task_threads(arg: Option<usize>, m: &Manifest) -> usize {
    arg.or(m.experiment.threads)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1)
}

/// The staged real features of cell `c`, checked against the manifest's digests.
pub fn load_real(m: &Manifest, dir: &CampaignDir, c: &CellConfig) -> Result<FeatureSet, CliError> {
    let mode = c.point.feature_mode.as_str();
    let rel = m.real.features.get(mode).ok_or_else(|| {
        CliError::new(
            exit::INPUT_MALFORMED,
            "run the cell",
            format!("the manifest stages no {mode} features"),
        )
    })?;
    Ok(inputs::load_real(
        &dir.root.join(rel),
        m.real.features_sha256.get(mode).map(String::as_str),
        &m.real.sha256,
    )?)
}

/// A precomputed synthetic file of cell `c` (`generator = "file:…"`), checked against the
/// manifest's sha256; `None` for other generators.
pub fn load_synthetic_file(
    m: &Manifest,
    c: &CellConfig,
    real: &FeatureSet,
) -> Result<Option<(FeatureSet, String)>, CliError> {
    let Generator::File(_) = &c.point.generator else {
        return Ok(None);
    };
    let input = m.synthetic.get(&c.point.generator.label()).ok_or_else(|| {
        CliError::new(
            exit::INPUT_MALFORMED,
            "run the cell",
            "the manifest lacks the generator's file",
        )
    })?;
    let path = PathBuf::from(&input.path);
    let fs = inputs::load_synthetic_file(&path, &input.sha256, c, real.mode)?;
    Ok(Some((fs, path.display().to_string())))
}

/// Observer of generator trainings inside a cell or a generator task: status lines, and a
/// summary line every tenth of the steps (the task's log is not a terminal).
pub struct TaskObserver {
    pub label: String,
    pub every: u64,
}

impl TaskObserver {
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            every: 1,
        }
    }
}

impl TrainObserver for TaskObserver {
    fn notice(&mut self, line: &str) {
        crate::notice!("{}: {line}", self.label);
    }
    fn start(&mut self, done: u64, total: u64) {
        self.every = (total / 10).max(1);
        crate::notice!("{}: training, step {done} of {total}", self.label);
    }
    fn step(&mut self, p: &crate::training::generator::executor::Progress<'_>) {
        if p.step.is_multiple_of(self.every) && p.step < p.total {
            crate::notice!("{}: step {} of {}", self.label, p.step, p.total);
        }
    }
}

/// Trains and samples (when not done yet) generator artifact `index` of `m`; returns its
/// sampled dataset store.
pub fn ensure_generator(
    m: &Manifest,
    dir: &CampaignDir,
    index: usize,
    threads: usize,
) -> Result<PathBuf, CliError> {
    let art = m.generators.get(index).ok_or_else(|| {
        CliError::new(
            exit::INVALID_PARAMETER,
            "run the generator task",
            format!(
                "index {index} is outside the manifest's {} generator trainings",
                m.generators.len()
            ),
        )
    })?;
    let staged = m.real.dataset.as_ref().ok_or_else(|| {
        CliError::new(
            exit::STALE_CELL,
            "run the generator task",
            "the manifest stages no dataset store for the generators (planned by an older dpwear); run `dpwear plan` again",
        )
    })?;
    let mut obs = TaskObserver::new(format!("generator {} ({})", art.id, art.spec.kind));
    let dataset = dir.root.join(&staged.path);
    let folder = dir.generator(&art.id);
    let sample = generator_stage::ensure(art, &dataset, &folder, threads, &mut obs)?;
    // A measurement, not the job: a failure to measure is reported and the cell goes on.
    match crate::pipeline::generator_quality::ensure_quality(
        art,
        &dataset,
        &folder,
        &m.experiment.quality,
    ) {
        Ok(Some(q)) => obs.notice(&format!(
            "quality: {}",
            q.scalars
                .iter()
                .map(|(k, v)| format!("{k} {v:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Ok(None) => {}
        Err(e) => crate::notice!("warning: generator {}: {e}", art.id),
    }
    Ok(sample)
}

/// The stored quality reports of the generators `cell` uses, in fold order (those measured).
pub fn cell_quality(
    m: &Manifest,
    dir: &CampaignDir,
    cell: &crate::orchestration::manifest::ManifestCell,
) -> Vec<crate::orchestration::records::CellQuality> {
    use crate::pipeline::generator_quality::{quality_path, read_quality};
    cell.generators
        .iter()
        .filter_map(|g| {
            let art = m.generators.get(g.artifact)?;
            let q = read_quality(&quality_path(
                art,
                &dir.generator(&art.id),
                &m.experiment.quality,
            ))?;
            Some(crate::orchestration::records::CellQuality {
                generator: art.id.clone(),
                test_subject: g.test_subject,
                scalars: q.scalars,
            })
        })
        .collect()
}
