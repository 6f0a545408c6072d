//! `dpwear collect results/<campaign>`: turns the finished cells of a campaign into tables
//! (Markdown, CSV, LaTeX) and SVG figures. Replicates of a grid point are aggregated (mean ±
//! sd, n); planned points without finished replicates are marked missing, never dropped.
//!
//! The `[report]` section is read again from the experiment file the manifest names (when it
//! is still there, parses and is of this campaign), so a fixed table or figure is picked up
//! without planning again. A cell record that does not verify is not used: the tables mark
//! its point as missing and `collect` exits 4 naming the corrupt cells (`dpwear run` moves
//! them aside and recomputes them). A table or figure that cannot be drawn is skipped, the
//! others are written, and `collect` exits 5 naming it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

use super::super::{exit, CliError};
use crate::config::experiment::{FigureSection, TableSection};
use crate::config::grid::{Experiment, ReportMetric, ReportSpec};
use crate::orchestration::records::{verify_cell_record, CellRecord};
use crate::orchestration::{cell_state, CampaignDir, CellState, Manifest};
use crate::reporting::figure::render_line_figure;
use crate::reporting::points::{AxisOrder, PointResult};
use crate::reporting::render::{render_csv_tables, render_latex, render_markdown};
use crate::reporting::table::{build_tables, TableSpec};

/// Options of `dpwear collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// The campaign folder (`results/<campaign>`), its manifest.json, or the experiment file
    /// (its campaign under --results).
    pub campaign: PathBuf,
    /// Folder that holds the campaign folders (used with an experiment file).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Do not print the Markdown tables on stdout.
    #[arg(long)]
    pub quiet: bool,
}

const TAKES: &str =
    "collect takes a campaign folder (results/<campaign>), its manifest.json or the experiment file";

/// The campaign folder an argument of `collect` names.
pub fn campaign_dir(arg: &Path, results: &Path) -> Result<CampaignDir, CliError> {
    let action = "find the campaign to collect";
    if arg.is_dir() {
        let dir = CampaignDir::new(arg);
        if !dir.manifest().is_file() {
            return Err(CliError::new(
                exit::INPUT_UNREADABLE,
                action,
                format!(
                    "{}: not a campaign folder (it has no manifest.json; run `dpwear plan` first); {TAKES}",
                    arg.display()
                ),
            ));
        }
        return Ok(dir);
    }
    if !arg.is_file() {
        return Err(CliError::new(
            exit::INPUT_UNREADABLE,
            action,
            format!("{}: no such file or folder; {TAKES}", arg.display()),
        ));
    }
    if arg.extension().and_then(|e| e.to_str()) == Some("toml") {
        let e = crate::config::load(arg).map_err(|e| CliError::config("read the experiment", e))?;
        let dir = CampaignDir::new(results.join(&e.campaign));
        if !dir.manifest().is_file() {
            return Err(CliError::new(
                exit::INPUT_UNREADABLE,
                action,
                format!(
                    "{}: campaign {} has no manifest at {} (run `dpwear plan {}`, or pass --results)",
                    arg.display(),
                    e.campaign,
                    dir.manifest().display(),
                    arg.display()
                ),
            ));
        }
        return Ok(dir);
    }
    Ok(CampaignDir::of_manifest(arg))
}

/// Runs `dpwear collect`.
pub fn run(a: CollectArgs) -> Result<(), CliError> {
    let dir = campaign_dir(&a.campaign, &a.results)?;
    collect(&dir, !a.quiet)
}

/// The report section to use: the experiment file's as it is now when it still reads and
/// is of this campaign (a fixed `[report]` needs no new plan), else the manifest's.
fn current_report(m: &Manifest) -> crate::config::grid::ReportSpec {
    let path = Path::new(&m.experiment_path);
    match crate::config::load(path) {
        Ok(e) if e.campaign == m.campaign => {
            if e.report != m.experiment.report {
                crate::notice!(
                    "collect: using the [report] section of {} as it is now (it changed since `dpwear plan`)",
                    path.display()
                );
            }
            e.report
        }
        Ok(e) => {
            tracing::warn!(path = %path.display(), campaign = %e.campaign, "the experiment file now describes another campaign: using the manifest's [report] section");
            m.experiment.report.clone()
        }
        Err(err) => {
            if path.exists() {
                crate::notice!(
                    "warning: collect: {err}; using the [report] section recorded in the manifest"
                );
            }
            m.experiment.report.clone()
        }
    }
}

/// The cells whose record exists but does not verify, with the reason.
pub fn corrupt_cells(m: &Manifest, dir: &CampaignDir) -> Vec<(String, String)> {
    m.cells
        .iter()
        .filter_map(|c| match cell_state(dir, &c.id) {
            CellState::Corrupt { reason } => Some((c.id.clone(), reason)),
            _ => None,
        })
        .collect()
}

/// A finished cell's value of `metric`: a score of its first replicate's per-subject average,
/// or the mean of a quality metric over its generators (NaN where undefined).
fn metric_value(r: &CellRecord, metric: ReportMetric) -> f64 {
    let m = &r.eval.replicates[0].average;
    match metric {
        ReportMetric::MacroF1 => m.macro_f1,
        ReportMetric::StressF1 => m.positive_f1,
        ReportMetric::ReferenceF1 => m.reference.map(|r| r.f1).unwrap_or(f64::NAN),
        ReportMetric::Accuracy => m.accuracy,
        ReportMetric::BalancedAccuracy => m.balanced_accuracy,
        ReportMetric::Quality(q) => r.quality_mean(q.as_str()).unwrap_or(f64::NAN),
    }
}

/// The ε axis label states what the ε means: accountant, δ rule, sampling and unit.
fn epsilon_label(e: &Experiment) -> String {
    let p = &e.privacy;
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

/// A grid point's value on every axis.
fn point_axes(p: &crate::config::grid::GridPoint) -> BTreeMap<String, String> {
    crate::config::grid::AXES
        .iter()
        .map(|a| (a.to_string(), p.axis_value(a).unwrap_or_default()))
        .collect()
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
        let path = dir.cell_record(&c.id);
        if !path.exists() {
            continue;
        }
        let k = c.index % e.points.len();
        match verify_cell_record(&path, &c.id) {
            Ok(r) => by_point[k].push(metric_value(&r, metric)),
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
            axes: point_axes(p),
            values,
            expected: e.replicates,
        })
        .collect();
    Ok((pts, unreadable))
}

fn axes(e: &Experiment) -> Vec<AxisOrder> {
    e.axes
        .iter()
        .map(|a| AxisOrder {
            name: a.name.clone(),
            label: if a.name == "epsilon" && a.values.iter().any(|v| v != "inf") {
                epsilon_label(e)
            } else {
                axis_label(&a.name)
            },
            values: a.values.clone(),
        })
        .collect()
}

/// The tables to write: the experiment's, or by default classifiers in columns and every
/// other axis with more than one value in rows.
fn table_sections(e: &Experiment, report: &ReportSpec) -> Vec<TableSection> {
    if !report.tables.is_empty() {
        return report.tables.clone();
    }
    let multi: Vec<String> = e
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
fn figure_sections(e: &Experiment, report: &ReportSpec) -> Vec<FigureSection> {
    if !report.figures.is_empty() {
        return report.figures.clone();
    }
    let mut out = Vec::new();
    for x in ["epsilon", "synthetic_subjects"] {
        let Some(ax) = e.axes.iter().find(|a| a.name == x) else {
            continue;
        };
        if ax.values.len() < 2 {
            continue;
        }
        let series = e
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

/// One drawn output of the report: its file under the campaign folder (relative: `tables/…`
/// or `figures/…`) and its text; `print` for the Markdown tables shown on stdout.
struct Drawn {
    relative: String,
    text: String,
    print: bool,
}

/// Draws every table and figure of `report` for the experiment `e` from the points that
/// `points_for` gives for a metric. Returns what was drawn and, for each entry that cannot be
/// drawn, a line naming it (the others are still drawn).
fn draw_report(
    e: &Experiment,
    campaign: &str,
    report: &ReportSpec,
    mut points_for: impl FnMut(ReportMetric) -> Result<Vec<PointResult>, CliError>,
) -> Result<(Vec<Drawn>, Vec<String>), CliError> {
    let axes = axes(e);
    let metric_of = |m: Option<&str>| m.and_then(ReportMetric::parse).unwrap_or(report.metric);
    let mut drawn = Vec::new();
    let mut problems = Vec::new();
    for (i, t) in table_sections(e, report).iter().enumerate() {
        let metric = metric_of(t.metric.as_deref());
        let pts = points_for(metric)?;
        let spec = TableSpec {
            title: t.title.clone().unwrap_or_else(|| {
                format!(
                    "{campaign}: {} (LOSO mean over test subjects)",
                    metric.label()
                )
            }),
            rows: t.rows.clone(),
            columns: t.columns.clone(),
            metric: metric.label().into(),
        };
        let built = build_tables(&pts, &axes, &spec).and_then(|tables| {
            let tables: Vec<_> = tables.into_iter().map(|t| t.without_unplanned()).collect();
            let csv = render_csv_tables(&tables)?;
            Ok((tables, csv))
        });
        let (tables, csv) = match built {
            Ok(x) => x,
            Err(err) => {
                problems.push(format!("[[report.table]] {}: {err}", i + 1));
                continue;
            }
        };
        let join = |f: fn(&crate::reporting::table::Table) -> String| {
            tables.iter().map(f).collect::<Vec<_>>().join("\n")
        };
        let stem = format!("tables/table-{}-{}", i + 1, metric.as_str());
        for (ext, text) in [
            ("md", join(render_markdown)),
            ("tex", join(render_latex)),
            ("csv", csv),
        ] {
            drawn.push(Drawn {
                relative: format!("{stem}.{ext}"),
                text,
                print: ext == "md",
            });
        }
    }
    for (i, f) in figure_sections(e, report).iter().enumerate() {
        let metric = metric_of(f.metric.as_deref());
        let pts = points_for(metric)?;
        let title = f.title.clone().unwrap_or_else(|| {
            format!(
                "{campaign}: {} against {}",
                metric.label(),
                axis_label(&f.x)
            )
        });
        match render_line_figure(&pts, &axes, &f.x, &f.series, metric.label(), &title) {
            Ok(svg) => drawn.push(Drawn {
                relative: format!(
                    "figures/figure-{}-{}-vs-{}.svg",
                    i + 1,
                    metric.as_str(),
                    f.x
                ),
                text: svg,
                print: false,
            }),
            Err(err) => problems.push(format!(
                "[[report.figure]] {} (x = {:?}): {err}",
                i + 1,
                f.x
            )),
        }
    }
    Ok((drawn, problems))
}

/// "one entry" or "N entries", for the report problems' messages.
fn entries(n: usize) -> String {
    if n == 1 {
        "one entry".into()
    } else {
        format!("{n} entries")
    }
}

/// Checks, before anything runs, that every table and figure of the experiment's `[report]`
/// can be drawn once its cells are finished: draws them from placeholder values for every
/// planned replicate (nothing is written). `plan` (and so `run` and `submit`) call it, so a
/// bad `[[report.figure]]` is refused at once instead of after the whole grid has run.
pub fn check_report(e: &Experiment, experiment_path: &Path) -> Result<(), CliError> {
    let placeholder = |_| {
        Ok(e.points
            .iter()
            .enumerate()
            .map(|(i, p)| PointResult {
                axes: point_axes(p),
                values: (0..e.replicates)
                    .map(|r| 0.5 + 0.01 * ((i + r) % 7) as f64)
                    .collect(),
                expected: e.replicates,
            })
            .collect())
    };
    let (_, problems) = draw_report(e, &e.campaign, &e.report, placeholder)?;
    if problems.is_empty() {
        return Ok(());
    }
    Err(CliError::new(
        exit::INVALID_PARAMETER,
        "check the experiment's report section",
        format!(
            "{}: {} cannot be drawn: {}",
            experiment_path.display(),
            entries(problems.len()),
            problems.join("; ")
        ),
    ))
}

/// Writes the tables and figures of the campaign in `dir`; prints the Markdown when `print`.
/// Everything that can be written is; then corrupt cell records (exit 4) or a table or figure
/// that cannot be drawn (exit 5) make it fail, naming them.
pub fn collect(dir: &CampaignDir, print: bool) -> Result<(), CliError> {
    let m = Manifest::read(&dir.manifest())
        .map_err(|e| CliError::manifest("read the campaign's manifest", e))?;
    let report = current_report(&m);
    let mut done = 0;
    let (drawn, problems) = draw_report(&m.experiment, &m.campaign, &report, |metric| {
        let (pts, _) = points(&m, dir, metric)?;
        done = pts.iter().map(|p| p.values.len()).sum();
        Ok(pts)
    })?;
    let mut written = Vec::new();
    for d in &drawn {
        let p = dir.root.join(&d.relative);
        write(&p, &d.text)?;
        written.push(p);
        if print && d.print {
            println!("{}", d.text);
        }
    }
    crate::notice!(
        "collected {done} of {} cell(s) of campaign {} into {} file(s) under {}",
        m.cells.len(),
        m.campaign,
        written.len(),
        dir.root.display()
    );
    let corrupt = corrupt_cells(&m, dir);
    if !corrupt.is_empty() {
        const SHOWN: usize = 10;
        let mut list: Vec<String> = corrupt
            .iter()
            .take(SHOWN)
            .map(|(id, why)| format!("{id} ({why})"))
            .collect();
        if corrupt.len() > SHOWN {
            list.push(format!(
                "… {} more (`dpwear status`)",
                corrupt.len() - SHOWN
            ));
        }
        for p in &problems {
            crate::notice!("dpwear: also: {p}");
        }
        return Err(CliError::new(
            exit::INPUT_MALFORMED,
            "collect",
            format!(
                "{} cell record(s) do not verify and were left out (their points show as missing): {}; `dpwear run` moves them aside and recomputes them",
                corrupt.len(),
                list.join("; ")
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(CliError::new(
            exit::INVALID_PARAMETER,
            "collect",
            format!(
                "{} of the experiment's report section cannot be drawn (fix it in {}; `dpwear collect` rereads it): {}",
                entries(problems.len()),
                m.experiment_path,
                problems.join("; ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table and figure of every shipped experiment can be drawn once its cells are
    /// finished (a bad `[[report.figure]]` otherwise shows up only after the whole run).
    #[test]
    fn the_shipped_experiments_report_sections_draw() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut checked = 0;
        for dir in ["experiments", "bench/generator-stage", "bench/quality"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                    continue;
                }
                let e = crate::config::load(&path).unwrap_or_else(|err| panic!("{err}"));
                check_report(&e, &path).unwrap_or_else(|err| panic!("{}", err.message));
                checked += 1;
            }
        }
        assert!(checked >= 7, "only {checked} experiment files");
    }

    /// The quality metrics a table can name are exactly the report's headline scalars.
    #[test]
    fn table_quality_metrics_are_the_reports_scalars() {
        use crate::config::grid::QualityMetric;
        let names: Vec<&str> = QualityMetric::ALL.iter().map(|q| q.as_str()).collect();
        let scalars: Vec<&str> = crate::evaluation::quality::SCALAR_METRICS
            .iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(names, scalars);
        for q in QualityMetric::ALL {
            assert_eq!(
                ReportMetric::parse(q.as_str()),
                Some(ReportMetric::Quality(q))
            );
        }
    }
}
