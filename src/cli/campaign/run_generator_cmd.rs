//! `dpwear run-generator --manifest m.json --index g`: one generator training of a campaign's
//! generator stage (the local executor's generator tasks and the Slurm generator array): train
//! it into `generators/<id>/` (or resume it, or find it done) and sample the campaign's
//! synthetic subjects from it. Refuses a manifest that changed under the run (exit 7) and a
//! generator whose id does not match its plan and this binary; stops on SIGINT, SIGTERM or
//! SIGUSR1 with its checkpoint saved (exit 75); writes `generators/<id>/failed.json` when it
//! fails and removes it when it succeeds.

use std::path::PathBuf;

use clap::Args;

use super::super::{exit, CliError};
use super::cell_inputs::{ensure_generator, read_pinned_manifest, task_threads};
use crate::config::generators::generator_id;
use crate::orchestration::generator_state::{GeneratorFailure, GENERATOR_FAILURE_KIND};
use crate::orchestration::CampaignDir;

/// Options of `dpwear run-generator`.
#[derive(Debug, Args)]
pub struct RunGeneratorArgs {
    /// The campaign's manifest.json.
    #[arg(long)]
    pub manifest: PathBuf,
    /// The generator's index in the manifest (the Slurm array task id).
    #[arg(long)]
    pub index: usize,
    /// libtorch threads, 1 to 256 (default: the experiment's model.threads, else all cores).
    #[arg(long, value_parser = crate::config::limits::threads)]
    pub threads: Option<usize>,
    /// Refuse (exit 7) unless the manifest file has this sha256.
    #[arg(long, env = "DPWEAR_MANIFEST_SHA256")]
    pub manifest_sha256: Option<String>,
}

/// Runs `dpwear run-generator`.
pub fn run(a: RunGeneratorArgs) -> Result<(), CliError> {
    crate::interrupt::install();
    let m = read_pinned_manifest(
        &a.manifest,
        a.manifest_sha256.as_deref(),
        &format!("generator index {}", a.index),
    )?;
    let dir = CampaignDir::of_manifest(&a.manifest);
    let art = m.generators.get(a.index).ok_or_else(|| {
        CliError::new(
            exit::INVALID_PARAMETER,
            "run the generator task",
            format!(
                "index {} is outside the manifest's {} generator trainings",
                a.index,
                m.generators.len()
            ),
        )
    })?;
    let expected = generator_id(&art.spec, &crate::orchestration::manifest::code_version());
    if expected != art.id {
        return Err(CliError::new(
            exit::STALE_CELL,
            &format!("run generator {} (index {})", art.id, a.index),
            format!(
                "its hash does not match (this binary computes {expected}: the manifest was planned by dpwear {} or edited); run `dpwear plan` again",
                m.code_version
            ),
        ));
    }
    let threads = task_threads(a.threads, &m);
    let result = ensure_generator(&m, &dir, a.index, threads);
    match &result {
        Ok(path) => {
            let _ = std::fs::remove_file(dir.generator_failure(&art.id));
            println!(
                "generator {} (index {}) done: {}",
                art.id,
                a.index,
                path.display()
            );
        }
        Err(e) => {
            let f = GeneratorFailure {
                schema_version: 1,
                kind: GENERATOR_FAILURE_KIND.into(),
                generator_id: art.id.clone(),
                index: a.index,
                exit_code: e.code,
                message: e.message.clone(),
                resumable: e.code == exit::RESUMABLE,
            };
            let path = dir.generator_failure(&art.id);
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            if let Err(w) = crate::atomic_file::write_json(&path, &f) {
                tracing::error!("cannot write the failure note: {w}");
            }
        }
    }
    result.map(|_| ())
}
