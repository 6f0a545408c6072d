//! The privacy ledger of `dpwear plan`, computed before anything runs:
//!
//! - every **private generator** training gets its σ calibrated exactly as its training will
//!   calibrate it (`pipeline::generator_job::resolve`, the same code path);
//! - every **private classifier** gets σ per LOSO fold exactly as the cell's training will
//!   (`training::eval_runner::fold_privacy_plans`; with a trained generator, the synthetic
//!   windows it will add are counted from the sampling request);
//! - every cell gets its **end-to-end guarantee** on its real training data: the generator's
//!   and the classifier's mechanisms composed per fold through the accountant (never by adding
//!   ε's), TSTR counted as post-processing of the generator, and a plain "not private" when a
//!   component reads real data without a mechanism. Per-fold generators also state what
//!   releasing all of them costs (each subject is in all folds but its own).
//!
//! A schedule that cannot reach its ε is refused (exit 5, naming the cell or generator).
//! Computations shared by several cells are done once.

use super::super::{exit, CliError};
use crate::orchestration::manifest::Manifest;
use crate::orchestration::CampaignDir;

/// Fills the ledgers of `m` (torch builds; without torch a private cell or generator is
/// refused, since this build could not train it either).
pub fn fill(m: &mut Manifest, dir: &CampaignDir) -> Result<(), CliError> {
    #[cfg(feature = "torch")]
    {
        torch_ledger::fill(m, dir)
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
        if let Some(c) = m.cells.iter().find(|c| c.config.generation.is_some()) {
            return Err(CliError::new(
                exit::INVALID_PARAMETER,
                "plan the generator stage",
                format!(
                    "cell {} trains generator {}, but this dpwear was built without libtorch (no generator training)",
                    c.index,
                    c.config.point.generator.label()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(feature = "torch")]
mod torch_ledger {
    use std::collections::HashMap;

    use super::super::cell_inputs::{load_real, load_synthetic_file};
    use super::{exit, CliError, Manifest};
    use crate::config::generators::{GeneratorArtifact, GeneratorPrivacyPlan};
    use crate::config::{GeneratorTraining, Strategy};
    use crate::features::WindowScheme;
    use crate::models::generator_spec::GeneratorKind;
    use crate::orchestration::manifest::{
        CellGuarantee, CellLedger, FoldComposition, ManifestCell,
    };
    use crate::orchestration::CampaignDir;
    use crate::pipeline::{generator_job, generator_stage, inputs};
    use crate::privacy::accounting::compose::{composed_epsilon, Mechanism};
    use crate::privacy::accounting::fmt::sig6;
    use crate::privacy::accounting::ledger::{AccountantKind, PrivacyUnit};
    use crate::training::dp::DpPlan;
    use crate::training::eval_runner::{
        fold_privacy_plans, fold_privacy_plans_sized, EvalInputs, SyntheticSize,
    };

    /// What releasing a set of per-fold generators (by artifact indices) costs the worst
    /// subject: (ε, δ), or why the accountant could not compose it.
    type ReleaseCache = HashMap<Vec<usize>, Result<Option<(f64, f64)>, String>>;

    pub fn fill(m: &mut Manifest, dir: &CampaignDir) -> Result<(), CliError> {
        plan_generators(m, dir)?;
        let clf = plan_classifiers(m, dir)?;
        let subjects: Vec<u32> = m
            .real
            .dataset
            .as_ref()
            .map(|d| d.subjects.clone())
            .unwrap_or_default();
        let mut release_cache: ReleaseCache = HashMap::new();
        let guarantees: Vec<Option<CellGuarantee>> = m
            .cells
            .iter()
            .zip(&clf)
            .map(|(cell, plans)| {
                guarantee(m, cell, plans.as_deref(), &subjects, &mut release_cache)
            })
            .collect();
        for (cell, g) in m.cells.iter_mut().zip(guarantees) {
            cell.guarantee = g;
        }
        Ok(())
    }

    /// σ of every private generator, before anything is trained.
    /// Checks every generator training before anything runs (its data, hyper-parameters and
    /// classes, as its training will) and calibrates σ of the private ones.
    fn plan_generators(m: &mut Manifest, dir: &CampaignDir) -> Result<(), CliError> {
        if m.generators.is_empty() {
            return Ok(());
        }
        let staged = m.real.dataset.clone().ok_or_else(|| {
            CliError::new(
                exit::INTERNAL,
                "plan the generators' privacy",
                "no staged dataset store",
            )
        })?;
        let path = dir.root.join(&staged.path);
        let ds = crate::data::store::read_dataset(&path)
            .map_err(|e| CliError::data("read the staged dataset store", e))?;
        let mut cache: HashMap<String, GeneratorPrivacyPlan> = HashMap::new();
        let mut checked: std::collections::HashSet<String> = std::collections::HashSet::new();
        for art in m.generators.iter_mut() {
            let s = &art.spec;
            let Some(p) = s.privacy else {
                // Non-private: the same checks of the data and the family, once per shape.
                let key =
                    serde_json::to_string(&(s.kind, &s.hyper, s.windows, &s.excluded_subjects))
                        .unwrap_or_default();
                if checked.insert(key) {
                    let req =
                        generator_stage::train_request(art, &path, &dir.generator(&art.id), 1);
                    generator_job::resolve(&req, &ds).map_err(|e| {
                        CliError::new(
                            exit::INVALID_PARAMETER,
                            &format!(
                                "plan generator {} ({}, used by cell(s) {})",
                                art.id,
                                s.kind,
                                cells_list(&art.cells)
                            ),
                            e.cause,
                        )
                    })?;
                }
                continue;
            };
            let key = serde_json::to_string(&(
                s.kind,
                &s.hyper,
                s.windows,
                s.gan_epsilon,
                p,
                &s.excluded_subjects,
            ))
            .unwrap_or_default();
            if let Some(plan) = cache.get(&key) {
                art.privacy_plan = Some(plan.clone());
                continue;
            }
            let req = generator_stage::train_request(art, &path, &dir.generator(&art.id), 1);
            let (_, _, plan) = generator_job::resolve(&req, &ds).map_err(|e| {
                CliError::new(
                    exit::INVALID_PARAMETER,
                    &format!(
                        "plan the privacy of generator {} ({}, gan_epsilon = {}, used by cell(s) {})",
                        art.id,
                        s.kind,
                        s.gan_epsilon.label(),
                        cells_list(&art.cells)
                    ),
                    e.cause,
                )
            })?;
            let plan = plan.expect("a private request has a plan");
            let g = GeneratorPrivacyPlan {
                accountant: p.accountant,
                unit: p.unit,
                units: plan.units,
                sample_rate: plan.sample_rate,
                steps: plan.steps_planned,
                sigma: plan.sigma,
                delta: plan.delta,
                delta_rule: plan.delta_rule.clone(),
                epsilon_planned: plan.epsilon_planned,
                mechanism: plan.mechanism.clone(),
            };
            cache.insert(key, g.clone());
            art.privacy_plan = Some(g);
        }
        Ok(())
    }

    fn cells_list(cells: &[usize]) -> String {
        let mut s: Vec<String> = cells.iter().take(5).map(|c| c.to_string()).collect();
        if cells.len() > 5 {
            s.push(format!("… {} in all", cells.len()));
        }
        s.join(", ")
    }

    /// The synthetic windows and subjects a trained generator adds to each augmented fold.
    fn planned_synthetic(m: &Manifest, cell: &ManifestCell) -> Option<SyntheticSize> {
        let c = &cell.config;
        let g = c.generation.as_ref()?;
        let kind = c.point.generator.trained()?;
        let k = c.point.synthetic_subjects.unwrap_or(g.subjects);
        let per_subject = if kind == GeneratorKind::Dgan {
            g.windows_per_subject
        } else {
            let art = &m.generators[cell.generators.first()?.artifact];
            let (non, stress) = generator_stage::subjects_request(art).split();
            non + stress
        };
        // The sampled subjects are a dataset store, read as non-overlapping windows whatever
        // the head (`features::synthetic::read_synthetic`: the reference's drop of the last
        // window applies to its synthetic CSV only).
        Some(SyntheticSize {
            windows: k * per_subject,
            subjects: k,
        })
    }

    /// Per cell, the classifier's plan per fold (private cells only).
    fn plan_classifiers(
        m: &mut Manifest,
        dir: &CampaignDir,
    ) -> Result<Vec<Option<Vec<DpPlan>>>, CliError> {
        let mut cache: HashMap<String, (CellLedger, Vec<DpPlan>)> = HashMap::new();
        let snapshot = m.clone();
        let mut out = Vec::with_capacity(m.cells.len());
        for cell in m.cells.iter_mut() {
            let c = &cell.config;
            if c.privacy.is_none() {
                out.push(None);
                continue;
            }
            let planned = planned_synthetic(&snapshot, cell);
            let key = serde_json::to_string(&(
                &c.point,
                &c.model,
                &c.windows,
                &c.privacy,
                planned.map(|p| (p.windows, p.subjects)),
            ))
            .unwrap_or_default();
            if let Some((l, plans)) = cache.get(&key) {
                cell.ledger = Some(l.clone());
                out.push(Some(plans.clone()));
                continue;
            }
            let real = load_real(&snapshot, dir, c)?;
            let synthetic = load_synthetic_file(&snapshot, c, &real)?;
            let (config, device) = inputs::eval_config(c, 1);
            let inputs = EvalInputs {
                config,
                real: &real,
                real_path: snapshot.real.source.clone(),
                synthetic: synthetic.as_ref().map(|(s, p)| (s, p.clone())),
                device,
            };
            let plans = match (planned, c.point.strategy) {
                (Some(size), Strategy::Augment) => fold_privacy_plans_sized(&inputs, size),
                _ => fold_privacy_plans(&inputs),
            }
            .map_err(|e| {
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
            let plans: Vec<DpPlan> = plans.into_iter().flatten().collect();
            let Some(first) = plans.first() else {
                out.push(None);
                continue;
            };
            let range_f = |f: &dyn Fn(&DpPlan) -> f64| {
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
            cache.insert(key, (l.clone(), plans.clone()));
            cell.ledger = Some(l);
            out.push(Some(plans));
        }
        Ok(out)
    }

    fn generator_line(art: &GeneratorArtifact, p: &GeneratorPrivacyPlan) -> String {
        let mechanism = if p.steps == 1 && p.sample_rate >= 1.0 {
            format!("one Gaussian release, σ = {}", sig6(p.sigma))
        } else {
            format!(
                "Poisson sampling q = {}, {} steps, σ = {}",
                sig6(p.sample_rate),
                p.steps,
                sig6(p.sigma)
            )
        };
        format!(
            "ε ≤ {} at δ = {:.3e} ({} accountant, {} unit over {} units, {mechanism})",
            sig6(p.epsilon_planned),
            p.delta,
            p.accountant.as_str(),
            p.unit.as_str(),
            p.units,
        ) + if art.spec.training == GeneratorTraining::Shared {
            ", trained on every subject"
        } else {
            ""
        }
    }

    /// Whether the generator's and the classifier's guarantees protect the same unit, so
    /// that they compose into one guarantee.
    fn same_unit(
        gen_unit: PrivacyUnit,
        gen_windows: WindowScheme,
        clf_unit: PrivacyUnit,
        clf_windows: WindowScheme,
    ) -> bool {
        match (gen_unit, clf_unit) {
            (PrivacyUnit::Subject, PrivacyUnit::Subject) => true,
            (PrivacyUnit::Window, PrivacyUnit::Window) => {
                gen_windows == WindowScheme::NonOverlapping
                    && clf_windows == WindowScheme::NonOverlapping
            }
            _ => false,
        }
    }

    fn mech(q: f64, steps: u64, sigma: f64) -> Mechanism {
        Mechanism {
            sample_rate: q,
            steps,
            sigma,
        }
    }

    /// What releasing every per-fold generator of `arts` costs each subject: its guarantees
    /// over the folds whose training data hold the subject, composed; the worst subject's
    /// (ε, δ).
    fn release_all(
        arts: &[&GeneratorArtifact],
        subjects: &[u32],
        kind: AccountantKind,
    ) -> Result<Option<(f64, f64)>, String> {
        let mut worst: Option<(f64, f64)> = None;
        for &s in subjects {
            let parts: Vec<(&GeneratorArtifact, &GeneratorPrivacyPlan)> = arts
                .iter()
                .filter(|a| a.spec.training_subjects.contains(&s))
                .filter_map(|a| a.privacy_plan.as_ref().map(|p| (*a, p)))
                .collect();
            if parts.is_empty() {
                continue;
            }
            // The composed mechanism's ε at the smallest of the parts' δ (conservative).
            let delta = parts
                .iter()
                .map(|(_, p)| p.delta)
                .fold(f64::INFINITY, f64::min);
            let mechs: Vec<Mechanism> = parts
                .iter()
                .map(|(_, p)| mech(p.sample_rate, p.steps, p.sigma))
                .collect();
            let eps = composed_epsilon(kind, &mechs, delta).map_err(|e| e.to_string())?;
            if worst.is_none_or(|(e, _)| eps > e) {
                worst = Some((eps, delta));
            }
        }
        Ok(worst)
    }

    fn guarantee(
        m: &Manifest,
        cell: &ManifestCell,
        clf: Option<&[DpPlan]>,
        subjects: &[u32],
        release_cache: &mut ReleaseCache,
    ) -> Option<CellGuarantee> {
        let c = &cell.config;
        let strategy = c.point.strategy;
        let mut lines = Vec::new();
        let mut private = true;
        let mut reasons: Vec<&str> = Vec::new();
        // The generator.
        let arts: Vec<&GeneratorArtifact> = cell
            .generators
            .iter()
            .map(|g| &m.generators[g.artifact])
            .collect();
        let gen_plans: Vec<&GeneratorPrivacyPlan> = arts
            .iter()
            .filter_map(|a| a.privacy_plan.as_ref())
            .collect();
        match c.point.generator.trained() {
            Some(kind) if !gen_plans.is_empty() => {
                let worst = arts
                    .iter()
                    .filter_map(|a| a.privacy_plan.as_ref().map(|p| (*a, p)))
                    .max_by(|x, y| x.1.epsilon_planned.total_cmp(&y.1.epsilon_planned))
                    .expect("non-empty");
                lines.push(format!(
                    "generator {kind}: {} per generator ({}){}",
                    generator_line(worst.0, worst.1),
                    if arts.len() > 1 {
                        format!("{} per-fold generators, each trained without its fold's test subject", arts.len())
                    } else {
                        "one generator".to_string()
                    },
                    "; not covered: the per-subject min-max scaling done before training, the choice of hyper-parameters"
                ));
                if arts.len() > 1 {
                    let ids: Vec<usize> = cell.generators.iter().map(|g| g.artifact).collect();
                    let kind_acc = worst.1.accountant;
                    let r = release_cache
                        .entry(ids)
                        .or_insert_with(|| release_all(&arts, subjects, kind_acc))
                        .clone();
                    if let Err(e) = &r {
                        lines.push(format!(
                            "releasing all {} per-fold generators: the {} accountant could not compose their guarantees ({e}); do not release them together",
                            arts.len(),
                            kind_acc.as_str()
                        ));
                    }
                    if let Ok(Some((e, d))) = r {
                        lines.push(format!(
                            "releasing all {} per-fold generators: each subject is in the training data of all folds but its own, so their guarantees compose: ε ≤ {} at δ = {:.3e} ({} accountant, worst subject)",
                            arts.len(),
                            sig6(e),
                            d,
                            kind_acc.as_str()
                        ));
                    }
                }
            }
            Some(kind) => {
                private = false;
                reasons.push("the generator is trained without differential privacy");
                lines.push(format!(
                    "generator {kind}: trained on the real training subjects WITHOUT differential privacy (gan_epsilon = inf): not private"
                ));
            }
            None => {
                if let crate::config::Generator::File(f) = &c.point.generator {
                    private = false;
                    reasons.push("the synthetic file was made outside this campaign");
                    lines.push(format!(
                        "synthetic file {f}: made outside this campaign; dpwear cannot state what it reveals of the real subjects"
                    ));
                }
            }
        }
        if c.point.generator_training == Some(GeneratorTraining::Shared) {
            lines.push(crate::config::grid::SHARED_LEAK_NOTE.to_string());
        }
        // The classifier.
        match (strategy, clf) {
            (Strategy::Tstr, _) => lines.push(
                "classifier: trained on synthetic windows only (post-processing of the generator: no further privacy cost)".into(),
            ),
            (_, Some(plans)) => {
                let worst = plans
                    .iter()
                    .max_by(|x, y| x.epsilon_planned.total_cmp(&y.epsilon_planned))?;
                if worst.request.reproducible_noise {
                    lines.push("privacy.reproducible_noise = true: the classifier's DP batches and noise are derived from the master seed, so its guarantee does NOT hold against anyone who knows the seed (reproduction and tests only)".into());
                }
                lines.push(format!(
                    "classifier {}: DP-SGD ε ≤ {} at δ = {:.3e} ({} accountant, {} unit, {} sampling, q = {}, {} steps, σ = {}; worst fold)",
                    c.point.classifier.as_str(),
                    sig6(worst.epsilon_planned),
                    worst.delta,
                    worst.accountant.as_str(),
                    worst.request.unit.as_str(),
                    worst.sampling.as_str(),
                    sig6(worst.sample_rate),
                    worst.steps_planned,
                    sig6(worst.sigma)
                ));
            }
            (_, None) => {
                private = false;
                reasons.push("the classifier trains on real windows without differential privacy");
                lines.push(format!(
                    "classifier {}: trained on real windows WITHOUT differential privacy (epsilon = inf): not private",
                    c.point.classifier.as_str()
                ));
            }
        }
        if lines.is_empty() {
            return None;
        }
        if !private {
            lines.push(format!("the cell is NOT private: {}", reasons.join("; ")));
            return Some(CellGuarantee {
                status: "not private".into(),
                epsilon: None,
                delta: None,
                statement: lines,
                folds: Vec::new(),
            });
        }
        // Every component that reads the real training data is private: the total.
        let mut folds = Vec::new();
        let mut compose_error: Option<String> = None;
        let total: Option<(f64, f64, String)> = match strategy {
            Strategy::Tstr => gen_plans
                .iter()
                .max_by(|x, y| x.epsilon_planned.total_cmp(&y.epsilon_planned))
                .map(|p| {
                    (
                        p.epsilon_planned,
                        p.delta,
                        format!("{} accountant; the generator's guarantee (the classifier is post-processing)", p.accountant.as_str()),
                    )
                }),
            Strategy::Real => clf.and_then(|plans| {
                plans
                    .iter()
                    .max_by(|x, y| x.epsilon_planned.total_cmp(&y.epsilon_planned))
                    .map(|p| (p.epsilon_planned, p.delta, format!("{} accountant; the classifier's guarantee", p.accountant.as_str())))
            }),
            Strategy::Augment => {
                let plans = clf?;
                let gp = c.generation.as_ref()?.privacy?;
                let pol = c.privacy.as_ref()?;
                if pol.accountant != gp.accountant
                    || !same_unit(gp.unit, c.generation.as_ref()?.windows, pol.unit, c.windows)
                {
                    lines.push(format!(
                        "no composed figure: the generator's guarantee protects one {} ({} accountant) and the classifier's one {} of the {} window scheme ({} accountant); each holds on its own unit, and a common guarantee would need group privacy — use privacy.unit = generation.unit = \"subject\" for one composed figure",
                        gp.unit.as_str(),
                        gp.accountant.as_str(),
                        pol.unit.as_str(),
                        c.windows.as_str(),
                        pol.accountant.as_str()
                    ));
                    None
                } else {
                    let real_subjects = m.real.dataset.as_ref().map(|d| d.subjects.clone()).unwrap_or_default();
                    let mut worst: Option<(f64, f64)> = None;
                    for (fi, p) in plans.iter().enumerate() {
                        let test = real_subjects.get(fi).copied()?;
                        let art = cell
                            .generators
                            .iter()
                            .find(|g| g.test_subject.is_none() || g.test_subject == Some(test))
                            .and_then(|g| m.generators[g.artifact].privacy_plan.as_ref())?;
                        let delta = art.delta.min(p.delta);
                        let generator = mech(art.sample_rate, art.steps, art.sigma);
                        let classifier = mech(p.sample_rate, p.steps_planned, p.sigma);
                        let eps = match composed_epsilon(pol.accountant, &[generator, classifier], delta) {
                            Ok(e) => e,
                            Err(e) => {
                                compose_error = Some(format!(
                                    "no composed figure: the {} accountant could not compose the fold of test subject {test} ({e}); each component's guarantee above holds on its own",
                                    pol.accountant.as_str()
                                ));
                                worst = None;
                                folds.clear();
                                break;
                            }
                        };
                        folds.push(FoldComposition {
                            test_subject: test,
                            accountant: pol.accountant,
                            generator,
                            classifier,
                            delta,
                            epsilon: eps,
                        });
                        if worst.is_none_or(|(e, _)| eps > e) {
                            worst = Some((eps, delta));
                        }
                    }
                    worst.map(|(e, d)| {
                        (
                            e,
                            d,
                            format!(
                                "{} accountant; the generator's and the classifier's mechanisms composed per fold (worst fold), not ε's added",
                                pol.accountant.as_str()
                            ),
                        )
                    })
                }
            }
        };
        lines.extend(compose_error);
        let (epsilon, delta) = match total {
            Some((e, d, how)) => {
                lines.push(format!(
                    "the cell's real training data: ε ≤ {} at δ = {d:.3e} ({how})",
                    sig6(e)
                ));
                (Some(e), Some(d))
            }
            None => (None, None),
        };
        Some(CellGuarantee {
            status: "private".into(),
            epsilon,
            delta,
            statement: lines,
            folds,
        })
    }
}
