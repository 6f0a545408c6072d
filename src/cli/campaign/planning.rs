//! Planning a campaign, shared by `plan`, `run` and `submit`: take the campaign lock, load and
//! validate the experiment, stage the inputs, expand the cells and the generator stage, fill
//! the privacy ledger, and write the manifest only when it changed.

use std::path::Path;

use super::super::{exit, CliError};
use super::stage;
use crate::config::{self, cell_id};
use crate::data::hash;
use crate::orchestration::lock::{hold_for_process, LockError};
use crate::orchestration::manifest::{
    code_version, inputs_sha256, Manifest, ManifestCell, MANIFEST_KIND, MANIFEST_SCHEMA_VERSION,
};
use crate::orchestration::CampaignDir;

/// Loads the experiment, stages the inputs and returns the manifest (not yet written).
pub fn build_manifest(
    experiment: &Path,
    results: &Path,
) -> Result<(Manifest, CampaignDir), CliError> {
    let e = config::load(experiment).map_err(|e| CliError::config("read the experiment", e))?;
    super::collect_cmd::check_report(&e, experiment)?;
    let dir = CampaignDir::new(results.join(&e.campaign));
    stage::check_inputs_exist(&e, experiment)?;
    lock_campaign(&dir)?;
    let real = stage::stage_real(&e, &dir)?;
    let synthetic = stage::stage_synthetic(&e, experiment)?;
    stage::warn_if_synthetic_is_real(&real, &synthetic);
    let code = code_version();
    let configs = config::expand(&e);
    let (generators, cell_generators) = match &real.dataset {
        Some(d) => crate::config::generators::plan(&configs, &d.subjects, &d.sha256, &code),
        None => (Vec::new(), vec![Vec::new(); configs.len()]),
    };
    let cells = configs
        .into_iter()
        .zip(cell_generators)
        .enumerate()
        .map(|(index, (c, gens))| {
            // A trained generator's input is its artifacts (ids hash the staged dataset).
            let trained_ids = gens
                .iter()
                .map(|g| generators[g.artifact].id.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let syn = match &c.point.generator {
                config::Generator::None => None,
                config::Generator::Trained(_) => Some(trained_ids.as_str()),
                g => synthetic.get(&g.label()).map(|s| s.sha256.as_str()),
            };
            let inputs = inputs_sha256(&real.sha256, syn);
            ManifestCell {
                index,
                id: cell_id(&c, &inputs, &code),
                inputs_sha256: inputs,
                config: c,
                ledger: None,
                generators: gens,
                guarantee: None,
            }
        })
        .collect();
    let experiment_sha256 = hash::sha256_file(experiment)
        .map_err(|err| CliError::data("hash the experiment file", err))?;
    let mut m = Manifest {
        schema_version: MANIFEST_SCHEMA_VERSION,
        kind: MANIFEST_KIND.into(),
        campaign: e.campaign.clone(),
        code_version: code,
        git_commit: env!("DPWEAR_GIT_COMMIT").into(),
        experiment_path: experiment.display().to_string(),
        experiment_sha256,
        experiment: e,
        real,
        synthetic,
        generators,
        cells,
    };
    super::ledger::fill(&mut m, &dir)?;
    Ok((m, dir))
}

/// Writes the manifest unless an identical one is there.
pub fn write_manifest(m: &Manifest, dir: &CampaignDir) -> Result<(), CliError> {
    let path = dir.manifest();
    if Manifest::read(&path).ok().as_ref() == Some(m) {
        return Ok(());
    }
    m.write(&path)
        .map_err(|e| CliError::new(exit::OUTPUT_FAILED, &format!("write {}", path.display()), e))
}

/// Takes the campaign lock for the rest of this process (`plan`, `run`, `submit`), or refuses
/// (exit 6) naming the process that holds it; then removes stale temporary files of the
/// campaign's folders.
pub fn lock_campaign(dir: &CampaignDir) -> Result<(), CliError> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    hold_for_process(&dir.lock(), &command).map_err(|e| match e {
        LockError::Held { path, holder } => CliError::new(
            exit::OUTPUT_FAILED,
            "lock the campaign",
            format!(
                "{}: held by {holder}; one `dpwear plan`, `run` or `submit` of a campaign runs at a time — wait for it to finish",
                path.display()
            ),
        ),
        other => CliError::new(exit::OUTPUT_FAILED, "lock the campaign", other),
    })?;
    // Temporary files of writers that were killed (`kill -9` during a plan or a cell).
    for d in [
        dir.root.clone(),
        dir.inputs(),
        dir.cells(),
        dir.tables(),
        dir.figures(),
        dir.slurm(),
    ] {
        crate::atomic_file::clean_stale_temporaries(&d);
    }
    Ok(())
}
