//! `dpwear plan x.toml`: validate the experiment, stage its inputs, write
//! `results/<campaign>/manifest.json` (cells in array order with content-hash ids) and print
//! the grid; `--dry-run` also prints the sbatch scripts `submit` would send.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use super::super::CliError;
use super::planning::{build_manifest, write_manifest};
use crate::config;
use crate::orchestration::manifest::Manifest;
use crate::orchestration::{cell_state, CampaignDir};
use crate::privacy::accounting::fmt::sig6;

/// Options of `dpwear plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The experiment file.
    pub experiment: PathBuf,
    /// Folder that holds the campaign folders.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Also print the sbatch scripts that `submit` would send (nothing is submitted).
    #[arg(long)]
    pub dry_run: bool,
    /// Print every cell (default: the first 40).
    #[arg(long)]
    pub all: bool,
}

/// The grid as text: a header and one line per cell (all, or the first `limit`).
pub fn render_grid(m: &Manifest, dir: &CampaignDir, limit: Option<usize>) -> String {
    use std::fmt::Write;
    let e = &m.experiment;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "campaign {}: {} grid point(s) × {} replicate(s) = {} cell(s); data {}{} (sha256 {}…, {} subjects, {} windows)",
        m.campaign,
        e.points.len(),
        e.replicates,
        m.cells.len(),
        m.real.source,
        if m.real.simulated { " [SIMULATED]" } else { "" },
        &m.real.sha256[..12.min(m.real.sha256.len())],
        m.real.subjects,
        m.real.windows
    );
    let _ = writeln!(
        s,
        "{:>5}  {:<16}  {:>3}  {:<12}  {:<8}  {:<7}  {:>4}  {:<11}  {:<9}  state",
        "index", "cell", "rep", "strategy", "epsilon", "gen", "K", "classifier", "features",
    );
    let n = limit.unwrap_or(usize::MAX).min(m.cells.len());
    for c in &m.cells[..n] {
        let p = &c.config.point;
        let gen = match &p.generator {
            config::Generator::None => "none".to_string(),
            config::Generator::Trained(k) => format!(
                "{k}/{}{}",
                p.axis_value("gan_epsilon").unwrap_or_default(),
                match p.generator_training {
                    Some(config::GeneratorTraining::Shared) => "/shared",
                    _ => "",
                }
            ),
            config::Generator::File(f) => Path::new(f)
                .file_name()
                .map(|x| x.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let _ = writeln!(
            s,
            "{:>5}  {:<16}  {:>3}  {:<12}  {:<8}  {:<7}  {:>4}  {:<11}  {:<9}  {}",
            c.index,
            c.id,
            c.config.replicate,
            p.strategy.as_str(),
            p.epsilon.label(),
            gen,
            p.axis_value("synthetic_subjects").unwrap_or_default(),
            p.classifier.as_str(),
            p.feature_mode.as_str(),
            cell_state(dir, &c.id).label()
        );
    }
    let private: Vec<_> = m
        .cells
        .iter()
        .filter(|c| c.config.replicate == 0 && c.config.privacy.is_some())
        .collect();
    if !private.is_empty() {
        let _ = writeln!(
            s,
            "privacy ledger (planned before anything runs; ranges over the LOSO folds):"
        );
        for c in private {
            match &c.ledger {
                Some(l) => {
                    let _ = writeln!(
                        s,
                        "  point {:>4} ({} {} {}): ε ≤ {} (target {}) at δ = {} [{}], {} accountant ({}), {} sampling, q = {}–{}, {}–{} steps, σ = {}–{}, C = {}, unit {} ({}–{}); {}",
                        c.index,
                        c.config.point.strategy.as_str(),
                        c.config.point.classifier.as_str(),
                        c.config.point.axis_value("synthetic_subjects").unwrap_or_default(),
                        sig6(l.epsilon_planned_max),
                        l.epsilon_target,
                        fmt_range(l.delta),
                        l.delta_rule,
                        l.accountant,
                        l.conversion,
                        l.sampling,
                        sig6(l.sample_rate[0]),
                        sig6(l.sample_rate[1]),
                        l.steps[0],
                        l.steps[1],
                        sig6(l.sigma[0]),
                        sig6(l.sigma[1]),
                        l.clip_norm,
                        l.unit,
                        l.units[0],
                        l.units[1],
                        l.dp_level
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        "  point {:>4}: no ledger (this build has no DP training)",
                        c.index
                    );
                }
            }
        }
    }
    if n < m.cells.len() {
        let _ = writeln!(
            s,
            "… {} more cell(s) (--all, or see {})",
            m.cells.len() - n,
            dir.manifest().display()
        );
    }
    render_generators(&mut s, m, dir, limit);
    render_guarantees(&mut s, m, limit);
    s
}

/// The generator stage: every training, the cells that use it, its state and privacy plan.
fn render_generators(s: &mut String, m: &Manifest, dir: &CampaignDir, limit: Option<usize>) {
    use std::fmt::Write;
    if m.generators.is_empty() {
        return;
    }
    let per_fold = m
        .generators
        .iter()
        .filter(|g| g.test_subject.is_some())
        .count();
    let users: usize = m.cells.iter().filter(|c| !c.generators.is_empty()).count();
    let _ = writeln!(
        s,
        "generator stage: {} training(s) ({per_fold} per-fold, {} shared), used by {users} cell(s); each trained once into {}/<id>/",
        m.generators.len(),
        m.generators.len() - per_fold,
        dir.generators().display()
    );
    let _ = writeln!(
        s,
        "{:>5}  {:<16}  {:<8}  {:>3}  {:<9}  {:<8}  {:>6}  {:>5}  {:<22}  privacy plan",
        "index", "generator", "kind", "rep", "training", "gan_eps", "test", "cells", "state"
    );
    let n = limit.unwrap_or(usize::MAX).min(m.generators.len());
    for g in &m.generators[..n] {
        let plan = match &g.privacy_plan {
            Some(p) => format!(
                "ε ≤ {} at δ = {:.3e}, σ = {}, q = {}, {} steps ({}, {} unit)",
                sig6(p.epsilon_planned),
                p.delta,
                sig6(p.sigma),
                sig6(p.sample_rate),
                p.steps,
                p.accountant.as_str(),
                p.unit.as_str()
            ),
            None => "none (non-private)".into(),
        };
        let _ = writeln!(
            s,
            "{:>5}  {:<16}  {:<8}  {:>3}  {:<9}  {:<8}  {:>6}  {:>5}  {:<22}  {}",
            g.index,
            g.id,
            g.spec.kind.as_str(),
            g.replicate,
            g.spec.training.as_str(),
            g.spec.gan_epsilon.label(),
            g.test_subject.map_or("-".into(), |t| format!("S{t}")),
            g.cells.len(),
            crate::orchestration::generator_state::generator_state(dir, g).label(),
            plan
        );
    }
    if n < m.generators.len() {
        let _ = writeln!(
            s,
            "… {} more generator training(s) (--all)",
            m.generators.len() - n
        );
    }
}

/// Each grid point's end-to-end privacy (replicate 0; the other replicates share it).
fn render_guarantees(s: &mut String, m: &Manifest, limit: Option<usize>) {
    use std::fmt::Write;
    let cells: Vec<_> = m
        .cells
        .iter()
        .filter(|c| c.config.replicate == 0 && c.guarantee.is_some())
        .collect();
    if cells.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "privacy of each grid point on its real training data (planned before anything runs):"
    );
    let n = limit.unwrap_or(usize::MAX).min(cells.len());
    for c in &cells[..n] {
        let g = c.guarantee.as_ref().expect("filtered");
        let head = match (g.epsilon, g.delta) {
            (Some(e), Some(d)) => format!("{}: ε ≤ {} at δ = {d:.3e}", g.status, sig6(e)),
            _ => g.status.clone(),
        };
        let p = &c.config.point;
        let _ = writeln!(
            s,
            "  point {:>4} ({} {} gan_eps {} eps {} K {} {}): {head}",
            c.index,
            p.strategy.as_str(),
            p.generator.label(),
            p.axis_value("gan_epsilon").unwrap_or_default(),
            p.epsilon.label(),
            p.axis_value("synthetic_subjects").unwrap_or_default(),
            p.classifier.as_str()
        );
        for line in &g.statement {
            let _ = writeln!(s, "      - {line}");
        }
    }
    if n < cells.len() {
        let _ = writeln!(s, "… {} more grid point(s) (--all)", cells.len() - n);
    }
}

fn fmt_range(r: [f64; 2]) -> String {
    if r[0] == r[1] {
        format!("{:.3e}", r[0])
    } else {
        format!("{:.3e}–{:.3e}", r[0], r[1])
    }
}

/// Runs `dpwear plan`.
pub fn run(a: PlanArgs) -> Result<(), CliError> {
    let t = Instant::now();
    let (m, dir) = build_manifest(&a.experiment, &a.results)?;
    write_manifest(&m, &dir)?;
    tracing::info!(
        cells = m.cells.len(),
        seconds = t.elapsed().as_secs_f64(),
        "planned"
    );
    print!(
        "{}",
        render_grid(&m, &dir, if a.all { None } else { Some(40) })
    );
    crate::notice!("wrote {}", dir.manifest().display());
    if a.dry_run {
        print!("{}", super::submit_cmd::dry_run_text(&m, &dir)?);
    }
    Ok(())
}
