//! The privacy ledger of `dpwear plan`: for every private cell, σ is calibrated for each LOSO
//! fold exactly as the cell's training will calibrate it (the same code path,
//! `training::eval_runner::fold_privacy_plans`), before anything runs; a cell whose schedule
//! cannot reach its ε is refused (exit 5, naming the cell). Cells that share their data, grid
//! point and policy share one computation.

use super::super::{exit, CliError};
use crate::orchestration::manifest::Manifest;
use crate::orchestration::CampaignDir;

/// Fills `ledger` for the private cells of `m` (torch builds; without torch a private cell
/// is refused, since this build could not train it either).
pub fn fill(m: &mut Manifest, dir: &CampaignDir) -> Result<(), CliError> {
    #[cfg(feature = "torch")]
    {
        fill_torch(m, dir)
    }
    #[cfg(not(feature = "torch"))]
    {
        let _ = dir;
        if let Some(c) = m.cells.iter().find(|c| c.config.privacy.is_some()) {
            return Err(CliError::new(
                exit::INVALID_PARAMETER,
                "plan the privacy ledger",
                format!(
                    "cell {} has epsilon = {}, but this dpwear was built without libtorch (no DP training)",
                    c.index,
                    c.config.point.epsilon.label()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(feature = "torch")]
fn fill_torch(m: &mut Manifest, dir: &CampaignDir) -> Result<(), CliError> {
    use std::collections::HashMap;

    use super::run_cell_cmd::{eval_inputs_parts, load_real, load_synthetic};
    use crate::orchestration::manifest::CellLedger;
    use crate::training::eval_runner::{fold_privacy_plans, EvalInputs};

    let mut cache: HashMap<String, CellLedger> = HashMap::new();
    let snapshot = m.clone();
    for cell in m.cells.iter_mut() {
        let c = &cell.config;
        if c.privacy.is_none() {
            continue;
        }
        let key = serde_json::to_string(&(&c.point, &c.model, &c.windows, &c.privacy))
            .unwrap_or_default();
        if let Some(l) = cache.get(&key) {
            cell.ledger = Some(l.clone());
            continue;
        }
        let real = load_real(&snapshot, dir, c)?;
        let synthetic = load_synthetic(&snapshot, c, &real)?;
        let (config, device) = eval_inputs_parts(c, 1);
        let inputs = EvalInputs {
            config,
            real: &real,
            real_path: snapshot.real.source.clone(),
            synthetic: synthetic.as_ref().map(|(s, p)| (s, p.clone())),
            device,
        };
        let plans = fold_privacy_plans(&inputs).map_err(|e| {
            CliError::new(
                exit::INVALID_PARAMETER,
                &format!(
                    "plan the privacy of cell {} (index {}, epsilon = {})",
                    cell.id,
                    cell.index,
                    c.point.epsilon.label()
                ),
                e,
            )
        })?;
        let plans: Vec<_> = plans.into_iter().flatten().collect();
        let Some(first) = plans.first() else {
            continue;
        };
        let range_f = |f: &dyn Fn(&crate::training::dp::DpPlan) -> f64| {
            let v: Vec<f64> = plans.iter().map(f).collect();
            [
                v.iter().cloned().fold(f64::INFINITY, f64::min),
                v.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            ]
        };
        let steps: Vec<u64> = plans.iter().map(|p| p.steps_planned).collect();
        let units: Vec<usize> = plans.iter().map(|p| p.units).collect();
        let l = CellLedger {
            epsilon_target: first.request.target_epsilon,
            epsilon_planned_max: range_f(&|p| p.epsilon_planned)[1],
            dp_level: first.dp_level.as_str().into(),
            mode: first.request.mode.as_str().into(),
            accountant: first.accountant.as_str().into(),
            conversion: first.conversion.clone(),
            sampling: first.sampling.as_str().into(),
            unit: first.request.unit.as_str().into(),
            delta_rule: first.delta_rule.clone(),
            delta: range_f(&|p| p.delta),
            sigma: range_f(&|p| p.sigma),
            sample_rate: range_f(&|p| p.sample_rate),
            steps: [
                steps.iter().copied().min().unwrap_or(0),
                steps.iter().copied().max().unwrap_or(0),
            ],
            units: [
                units.iter().copied().min().unwrap_or(0),
                units.iter().copied().max().unwrap_or(0),
            ],
            clip_norm: first.request.clip_norm,
            folds: plans.len(),
        };
        cache.insert(key, l.clone());
        cell.ledger = Some(l);
    }
    Ok(())
}
