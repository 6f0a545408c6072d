//! `dpwear collect results/<campaign>`: turns the finished cells of a campaign into tables
//! (Markdown, CSV, LaTeX) and SVG figures. Replicates of a grid point are aggregated (mean ±
//! sd, n); planned points without finished replicates are marked missing, never dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

use super::super::{exit, CliError};
use crate::config::experiment::{FigureSection, TableSection};
use crate::config::grid::ReportMetric;
use crate::evaluation::aggregate::MeanMetrics;
use crate::orchestration::records::read_cell_record;
use crate::orchestration::{cell_state, CampaignDir, CellState, Manifest};
use crate::reporting::figure::render_line_figure;
use crate::reporting::points::{AxisOrder, PointResult};
use crate::reporting::render::{render_csv_tables, render_latex, render_markdown};
use crate::reporting::table::{build_tables, TableSpec};

/// Options of `dpwear collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// The campaign folder (`results/<campaign>`) or its manifest.json.
    pub campaign: PathBuf,
    /// Do not print the Markdown tables on stdout.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `dpwear collect`.
pub fn run(a: CollectArgs) -> Result<(), CliError> {
    let dir = if a.campaign.is_file() {
        CampaignDir::of_manifest(&a.campaign)
    } else {
        CampaignDir::new(&a.campaign)
    };
    collect(&dir, !a.quiet)
}

fn metric_value(m: &MeanMetrics, metric: ReportMetric) -> f64 {
    match metric {
        ReportMetric::MacroF1 => m.macro_f1,
        ReportMetric::StressF1 => m.positive_f1,
        ReportMetric::ReferenceF1 => m.reference.map(|r| r.f1).unwrap_or(f64::NAN),
        ReportMetric::Accuracy => m.accuracy,
        ReportMetric::BalancedAccuracy => m.balanced_accuracy,
    }
}

/// The ε axis label states what the ε means: accountant, δ rule, sampling and unit.
fn epsilon_label(m: &Manifest) -> String {
    let p = &m.experiment.privacy;
    let delta = match p.delta {
        Some(d) => format!("δ = {d:e}"),
        None if p.mode == "reference-batch" => "δ = 10^-digits(n)".into(),
        None => format!(
            "δ = {}",
            crate::privacy::accounting::delta::DEFAULT_DELTA_RULE
        ),
    };
    if p.mode == "reference-batch" {
        format!("ε (reference-batch: nominal, NOT example-level DP; tf-privacy RDP, {delta}; inf = non-private)")
    } else {
        format!(
            "ε ({} accountant, {delta}, Poisson sampling, per {}; inf = non-private)",
            p.accountant.as_str(),
            p.unit.as_str()
        )
    }
}

fn axis_label(name: &str) -> String {
    match name {
        "epsilon" => "ε (inf = non-private)".into(),
        "synthetic_subjects" => "synthetic subjects".into(),
        "feature_mode" => "features".into(),
        other => other.into(),
    }
}

/// Per grid point, the metric of each finished replicate.
pub fn points(
    m: &Manifest,
    dir: &CampaignDir,
    metric: ReportMetric,
) -> Result<(Vec<PointResult>, usize), CliError> {
    let e = &m.experiment;
    let mut by_point: Vec<Vec<f64>> = vec![Vec::new(); e.points.len()];
    let mut unreadable = 0;
    for c in &m.cells {
        if cell_state(dir, &c.id) != CellState::Done {
            continue;
        }
        let k = c.index % e.points.len();
        match read_cell_record(&dir.cell_record(&c.id)) {
            Ok(r) => by_point[k].push(metric_value(&r.eval.replicates[0].average, metric)),
            Err(msg) => {
                tracing::warn!("{msg}");
                unreadable += 1;
            }
        }
    }
    let pts = e
        .points
        .iter()
        .zip(by_point)
        .map(|(p, values)| PointResult {
            axes: crate::config::grid::AXES
                .iter()
                .map(|a| (a.to_string(), p.axis_value(a).unwrap_or_default()))
                .collect::<BTreeMap<_, _>>(),
            values,
            expected: e.replicates,
        })
        .collect();
    Ok((pts, unreadable))
}

fn axes(m: &Manifest) -> Vec<AxisOrder> {
    m.experiment
        .axes
        .iter()
        .map(|a| AxisOrder {
            name: a.name.clone(),
            label: if a.name == "epsilon" && a.values.iter().any(|v| v != "inf") {
                epsilon_label(m)
            } else {
                axis_label(&a.name)
            },
            values: a.values.clone(),
        })
        .collect()
}

/// The tables to write: the experiment's, or by default classifiers in columns and every
/// other axis with more than one value in rows.
fn table_sections(m: &Manifest) -> Vec<TableSection> {
    if !m.experiment.report.tables.is_empty() {
        return m.experiment.report.tables.clone();
    }
    let multi: Vec<String> = m
        .experiment
        .axes
        .iter()
        .filter(|a| a.values.len() > 1 && a.name != "classifier")
        .map(|a| a.name.clone())
        .collect();
    vec![TableSection {
        title: None,
        rows: multi,
        columns: vec!["classifier".into()],
        metric: None,
    }]
}

/// The figures: the experiment's, or by default F1 against ε and against the number of
/// synthetic subjects where those axes have several values.
fn figure_sections(m: &Manifest) -> Vec<FigureSection> {
    if !m.experiment.report.figures.is_empty() {
        return m.experiment.report.figures.clone();
    }
    let mut out = Vec::new();
    for x in ["epsilon", "synthetic_subjects"] {
        let Some(ax) = m.experiment.axes.iter().find(|a| a.name == x) else {
            continue;
        };
        if ax.values.len() < 2 {
            continue;
        }
        let series = m
            .experiment
            .axes
            .iter()
            .filter(|a| a.values.len() > 1 && a.name != x)
            .map(|a| a.name.clone())
            .collect();
        out.push(FigureSection {
            title: None,
            x: x.into(),
            series,
            metric: None,
        });
    }
    out
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    crate::atomic_file::write(path, text.as_bytes())
        .map_err(|e| CliError::new(exit::OUTPUT_FAILED, &format!("write {}", path.display()), e))
}

/// Writes the tables and figures of the campaign in `dir`; prints the Markdown when `print`.
pub fn collect(dir: &CampaignDir, print: bool) -> Result<(), CliError> {
    let m = Manifest::read(&dir.manifest())
        .map_err(|e| CliError::new(exit::INPUT_UNREADABLE, "read the campaign's manifest", e))?;
    let axes = axes(&m);
    let default_metric = m.experiment.report.metric;
    let mut written = Vec::new();
    let report_err = |e: crate::reporting::error::ReportError| {
        CliError::new(exit::INVALID_PARAMETER, "collect", e)
    };
    let mut done = 0;
    for (i, t) in table_sections(&m).iter().enumerate() {
        let metric = t
            .metric
            .as_deref()
            .and_then(ReportMetric::parse)
            .unwrap_or(default_metric);
        let (pts, _) = points(&m, dir, metric)?;
        done = pts.iter().map(|p| p.values.len()).sum();
        let title = t.title.clone().unwrap_or_else(|| {
            format!(
                "{}: {} (LOSO mean over test subjects)",
                m.campaign,
                metric.label()
            )
        });
        let spec = TableSpec {
            title,
            rows: t.rows.clone(),
            columns: t.columns.clone(),
            metric: metric.label().into(),
        };
        let tables: Vec<_> = build_tables(&pts, &axes, &spec)
            .map_err(report_err)?
            .into_iter()
            .map(|t| t.without_unplanned())
            .collect();
        let stem = format!("table-{}-{}", i + 1, metric.as_str());
        let md: String = tables
            .iter()
            .map(render_markdown)
            .collect::<Vec<_>>()
            .join("\n");
        let tex: String = tables
            .iter()
            .map(render_latex)
            .collect::<Vec<_>>()
            .join("\n");
        let csv = render_csv_tables(&tables).map_err(report_err)?;
        for (ext, text) in [("md", &md), ("tex", &tex), ("csv", &csv)] {
            let p = dir.tables().join(format!("{stem}.{ext}"));
            write(&p, text)?;
            written.push(p);
        }
        if print {
            println!("{md}");
        }
    }
    for (i, f) in figure_sections(&m).iter().enumerate() {
        let metric = f
            .metric
            .as_deref()
            .and_then(ReportMetric::parse)
            .unwrap_or(default_metric);
        let (pts, _) = points(&m, dir, metric)?;
        let title = f.title.clone().unwrap_or_else(|| {
            format!(
                "{}: {} against {}",
                m.campaign,
                metric.label(),
                axis_label(&f.x)
            )
        });
        let svg = render_line_figure(&pts, &axes, &f.x, &f.series, metric.label(), &title)
            .map_err(report_err)?;
        let p = dir.figures().join(format!(
            "figure-{}-{}-vs-{}.svg",
            i + 1,
            metric.as_str(),
            f.x
        ));
        write(&p, &svg)?;
        written.push(p);
    }
    eprintln!(
        "collected {done} of {} cell(s) of campaign {} into {} file(s) under {}",
        m.cells.len(),
        m.campaign,
        written.len(),
        dir.root.display()
    );
    Ok(())
}
