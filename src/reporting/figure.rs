//! SVG line figures of a metric against one axis: one line per combination of the series axes,
//! mean ± sample sd error bars, a legend, and a note listing what could not be plotted.
//!
//! Design:
//! - **x positions.** When every value of the x axis parses as a number (`f64`, NaN and −∞
//!   excluded, at most one +∞, no two values equal), the axis is numeric, else categorical
//!   (evenly spaced, in [`AxisOrder`] order). A numeric axis is drawn on a **log10 scale**
//!   when it is an ε axis (its name contains "epsilon" or its label starts with "ε"), all its
//!   finite values are positive and they span more than one decade (max/min > 10); otherwise
//!   linearly. "inf" (+∞) is placed one average step to the right of the largest finite value
//!   (for a log ε axis 0.1, 1, 10, inf: at 100) with the tick label "∞ (non-private)" on an ε
//!   axis and "∞" otherwise. Ticks sit exactly at the grid values and are labelled with the
//!   display values from the experiment file.
//! - **points.** Each (series, x) grid point shows the mean over its defined replicates with a
//!   ±sd error bar (none when fewer than two values are defined). When several series are
//!   drawn, their points are shifted ("dodged") by up to ±1.5 % of the x range so that error
//!   bars do not hide each other.
//! - **gaps.** A planned point with no finished replicate, or whose replicates are all
//!   undefined, is left out of its line (the line joins its neighbours) and listed in a note
//!   under the chart; points that are not in the grid are silently absent.
//! - Axes that are neither x nor series axes must take a single value among the points (shown
//!   in the note); otherwise an error names the axis.
//!
//! Text: plotters is built without a font feature, so text is laid out with its built-in size
//! estimate and written as SVG `<text>` elements in the `sans-serif` family, rendered by the
//! viewer's fonts — no system font library is needed to produce the file.
//!
//! May depend on: plotters (SVG backend only), this module's points and error. Must never use
//! tch or mpi.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::{
    ChartBuilder, Circle, Color, ErrorBar, IntoDrawingArea, LineSeries, PathElement, RGBColor,
    SVGBackend, SeriesLabelPosition, Text, BLACK, TRANSPARENT, WHITE,
};
use plotters::style::IntoFont;

use super::error::ReportError;
use super::points::{AxisOrder, Entry, EntryStatus, Grid, PointResult};

/// Width of the figure in pixels.
pub const FIGURE_WIDTH: u32 = 800;
/// Height of the chart part (notes add lines below it).
pub const CHART_HEIGHT: u32 = 500;
const NOTE_LINE_HEIGHT: u32 = 18;
/// At most this many unplotted points are listed one by one in the note.
const MAX_NOTE_POINTS: usize = 8;

/// Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), yellow left
/// out for contrast on white. Series beyond seven reuse them.
pub(super) const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

/// The colour of series `i` as `#RRGGBB`, as it appears in the SVG.
pub fn series_color_hex(i: usize) -> String {
    let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02X}{g:02X}{b:02X}")
}

/// How the x axis is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XScale {
    Categorical,
    Linear,
    Log10,
}

/// Position and tick label of each x value, in axis order.
#[derive(Clone, Debug, PartialEq)]
pub struct XLayout {
    pub scale: XScale,
    /// Plot coordinate of each value (log10 of it on a log scale, its index when categorical).
    pub positions: Vec<f64>,
    pub tick_labels: Vec<String>,
}

fn is_epsilon_axis(axis: &AxisOrder) -> bool {
    axis.name.to_lowercase().contains("epsilon") || axis.label.trim_start().starts_with('ε')
}

/// Lays out the values of `axis` on the x axis (see the module docs).
pub fn x_layout(axis: &AxisOrder) -> XLayout {
    let categorical = || XLayout {
        scale: XScale::Categorical,
        positions: (0..axis.values.len()).map(|i| i as f64).collect(),
        tick_labels: axis.values.clone(),
    };
    let parsed: Option<Vec<f64>> = axis
        .values
        .iter()
        .map(|v| v.trim().parse::<f64>().ok())
        .collect();
    let Some(parsed) = parsed else {
        return categorical();
    };
    let finite: Vec<f64> = parsed.iter().copied().filter(|x| x.is_finite()).collect();
    let n_pos_inf = parsed.iter().filter(|x| **x == f64::INFINITY).count();
    let mut sorted = finite.clone();
    sorted.sort_by(f64::total_cmp);
    let distinct = sorted.windows(2).all(|w| w[0] != w[1]);
    if finite.is_empty()
        || parsed.iter().any(|x| x.is_nan() || *x == f64::NEG_INFINITY)
        || n_pos_inf > 1
        || !distinct
    {
        return categorical();
    }
    let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
    let epsilon = is_epsilon_axis(axis);
    let scale = if epsilon && lo > 0.0 && hi / lo > 10.0 {
        XScale::Log10
    } else {
        XScale::Linear
    };
    let u = |x: f64| if scale == XScale::Log10 { x.log10() } else { x };
    let (ulo, uhi) = (u(lo), u(hi));
    let step = if finite.len() >= 2 {
        (uhi - ulo) / (finite.len() - 1) as f64
    } else {
        uhi.abs().max(1.0)
    };
    let positions = parsed
        .iter()
        .map(|&x| if x.is_finite() { u(x) } else { uhi + step })
        .collect();
    let tick_labels = axis
        .values
        .iter()
        .zip(&parsed)
        .map(|(v, x)| match (x.is_finite(), epsilon) {
            (true, _) => v.clone(),
            (false, true) => "∞ (non-private)".to_string(),
            (false, false) => "∞".to_string(),
        })
        .collect();
    XLayout {
        scale,
        positions,
        tick_labels,
    }
}

/// A linear x coordinate over `lo..hi` whose ticks (and grid lines) are exactly the grid
/// values' positions; plotters' own f64 axes choose round tick values instead.
struct TickedAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value - self.lo) / (self.hi - self.lo);
        (limit.0 as f64 + t * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Bold points only: no light grid lines between the grid values.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// One plotted point.
struct Plotted {
    u: f64,
    mean: f64,
    sd: Option<f64>,
}

struct Series {
    name: String,
    points: Vec<Plotted>,
}

/// Wraps a plotters error of `task` (read after "failed to …").
pub(super) fn draw_error<E: std::error::Error + Send + Sync + 'static>(
    task: &str,
) -> impl Fn(E) -> ReportError + '_ {
    move |e| ReportError::Draw {
        task: task.to_string(),
        source: Box::new(e),
    }
}

/// An SVG line chart of `metric` against `x_axis`, one line per combination of `series_axes`
/// (a single line named after the metric when there are none); see the module docs.
pub fn render_line_figure(
    points: &[PointResult],
    axes: &[AxisOrder],
    x_axis: &str,
    series_axes: &[String],
    metric: &str,
    title: &str,
) -> Result<String, ReportError> {
    let grid = Grid::new(points, axes, format!("draw figure `{title}`"))?;
    let mut used = Vec::new();
    let x = grid.resolve(&[x_axis.to_string()], &mut used)?[0];
    let series_idx = grid.resolve(series_axes, &mut used)?;
    let hidden: Vec<usize> = (0..axes.len()).filter(|i| !used.contains(i)).collect();
    grid.check_single_valued(
        &hidden,
        "x or series axes",
        "draw one figure per value (filter the results first)",
    )?;
    let layout = x_layout(&axes[x]);

    let mut key = vec![""; axes.len()];
    let mut notes = Vec::new();
    let fixed: Vec<String> = hidden
        .iter()
        .map(|&i| {
            let v = grid.values_present(i)[0];
            key[i] = v;
            format!("{} = {v}", axes[i].label)
        })
        .collect();
    if !fixed.is_empty() {
        notes.push(format!("Fixed: {}.", fixed.join(", ")));
    }

    let mut series = Vec::new();
    let mut unplotted = Vec::new();
    for combo in grid.combinations(&series_idx) {
        let partial: Vec<(usize, &str)> = series_idx
            .iter()
            .copied()
            .zip(combo.iter().copied())
            .collect();
        if !grid.any_matches(&partial) {
            continue;
        }
        for &(i, v) in &partial {
            key[i] = v;
        }
        let name = if series_idx.is_empty() {
            metric.to_string()
        } else {
            partial
                .iter()
                .map(|&(i, v)| format!("{} = {v}", axes[i].label))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut plotted = Vec::new();
        for (j, value) in axes[x].values.iter().enumerate() {
            key[x] = value;
            let entry = Entry::of(grid.get(&key));
            match (entry.status, entry.mean) {
                (EntryStatus::NotPlanned, _) => {}
                (_, Some(mean)) => plotted.push(Plotted {
                    u: layout.positions[j],
                    mean,
                    sd: entry.sd,
                }),
                (EntryStatus::Missing, None) => unplotted.push(format!(
                    "{name} at {} = {value}: no finished replicate (0/{})",
                    axes[x].label, entry.expected
                )),
                (_, None) => unplotted.push(format!(
                    "{name} at {} = {value}: metric undefined in all {} finished replicates",
                    axes[x].label, entry.n
                )),
            }
        }
        series.push(Series {
            name,
            points: plotted,
        });
    }
    if !unplotted.is_empty() {
        notes.push(format!("Not plotted ({}):", unplotted.len()));
        let extra = unplotted.len().saturating_sub(MAX_NOTE_POINTS);
        notes.extend(
            unplotted
                .into_iter()
                .take(MAX_NOTE_POINTS)
                .map(|s| format!("• {s}")),
        );
        if extra > 0 {
            notes.push(format!("• … and {extra} more"));
        }
    }
    draw(&grid, title, metric, &axes[x], &layout, &series, &notes)
}

fn draw(
    grid: &Grid<'_>,
    title: &str,
    metric: &str,
    x_axis: &AxisOrder,
    layout: &XLayout,
    series: &[Series],
    notes: &[String],
) -> Result<String, ReportError> {
    let task = grid.task();
    let err = draw_error::<plotters::drawing::DrawingAreaErrorKind<std::io::Error>>(task);

    // x range with a margin; ticks exactly at the grid values.
    let (umin, umax) = layout
        .positions
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &u| {
            (a.min(u), b.max(u))
        });
    let (umin, umax) = if umin.is_finite() {
        (umin, umax)
    } else {
        (0.0, 1.0)
    };
    let xpad = if layout.scale == XScale::Categorical || umax - umin <= 0.0 {
        0.5
    } else {
        (umax - umin) * 0.08
    };
    let (xlo, xhi) = (umin - xpad, umax + xpad);

    // y range over mean ± sd of the plotted points.
    let (mut ylo, mut yhi) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in series.iter().flat_map(|s| &s.points) {
        let sd = p.sd.unwrap_or(0.0);
        ylo = ylo.min(p.mean - sd);
        yhi = yhi.max(p.mean + sd);
    }
    if !ylo.is_finite() || !yhi.is_finite() {
        (ylo, yhi) = (0.0, 1.0);
    } else if yhi - ylo < 1e-12 {
        let d = (ylo.abs() * 0.05).max(0.05);
        (ylo, yhi) = (ylo - d, yhi + d);
    }
    let ypad = (yhi - ylo) * 0.08;
    let (ylo, yhi) = (ylo - ypad, yhi + ypad);

    let dodge_step = if series.len() > 1 {
        0.03 * (xhi - xlo) / (series.len() - 1) as f64
    } else {
        0.0
    };

    let height = CHART_HEIGHT
        + NOTE_LINE_HEIGHT * notes.len() as u32
        + if notes.is_empty() { 0 } else { 10 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (FIGURE_WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let (chart_area, note_area) = root.split_vertically(CHART_HEIGHT);
        let mut chart = ChartBuilder::on(&chart_area)
            .caption(title, ("sans-serif", 22).into_font())
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(
                TickedAxis {
                    lo: xlo,
                    hi: xhi,
                    ticks: layout.positions.clone(),
                },
                ylo..yhi,
            )
            .map_err(&err)?;
        let tick = |u: &f64| {
            layout
                .positions
                .iter()
                .position(|p| (p - u).abs() < 1e-9)
                .map(|j| layout.tick_labels[j].clone())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_desc(x_axis.label.as_str())
            .y_desc(format!("{metric} (mean ± sd)"))
            .x_label_formatter(&tick)
            .y_labels(8)
            .light_line_style(TRANSPARENT)
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(&err)?;

        for (i, s) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let shift = (i as f64 - (series.len() - 1) as f64 / 2.0) * dodge_step;
            let xy: Vec<(f64, f64)> = s.points.iter().map(|p| (p.u + shift, p.mean)).collect();
            chart
                .draw_series(LineSeries::new(xy.clone(), color.stroke_width(2)))
                .map_err(&err)?
                .label(s.name.as_str())
                .legend(move |(lx, ly)| {
                    PathElement::new(vec![(lx, ly), (lx + 20, ly)], color.stroke_width(2))
                });
            chart
                .draw_series(s.points.iter().filter_map(|p| {
                    p.sd.map(|sd| {
                        ErrorBar::new_vertical(
                            p.u + shift,
                            p.mean - sd,
                            p.mean,
                            p.mean + sd,
                            color.stroke_width(1),
                            8,
                        )
                    })
                }))
                .map_err(&err)?;
            chart
                .draw_series(xy.iter().map(|&c| Circle::new(c, 4, color.filled())))
                .map_err(&err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(&err)?;

        for (k, line) in notes.iter().enumerate() {
            note_area
                .draw(&Text::new(
                    line.as_str(),
                    (20, 5 + (k as u32 * NOTE_LINE_HEIGHT) as i32),
                    ("sans-serif", 13).into_font(),
                ))
                .map_err(&err)?;
        }
        root.present().map_err(&err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporting::table::tests::{axis, campaign, pt};

    fn eps_axis(values: &[&str]) -> AxisOrder {
        axis("epsilon", "ε (RDP, δ=1e-5, window)", values)
    }

    #[test]
    fn epsilon_spanning_decades_is_log_with_infinity_at_the_right() {
        let l = x_layout(&eps_axis(&["0.1", "1", "10", "inf"]));
        assert_eq!(l.scale, XScale::Log10);
        let expected = [-1.0, 0.0, 1.0, 2.0];
        for (p, e) in l.positions.iter().zip(expected) {
            assert!((p - e).abs() < 1e-12, "{:?}", l.positions);
        }
        assert_eq!(l.tick_labels, ["0.1", "1", "10", "∞ (non-private)"]);
    }

    #[test]
    fn narrow_or_non_epsilon_numeric_axes_are_linear() {
        let l = x_layout(&eps_axis(&["1", "2", "4", "inf"]));
        assert_eq!(l.scale, XScale::Linear);
        assert_eq!(l.positions, [1.0, 2.0, 4.0, 5.5]);
        let l = x_layout(&axis(
            "synthetic_subjects",
            "Synthetic subjects",
            &["1", "15", "100"],
        ));
        assert_eq!(l.scale, XScale::Linear);
        assert_eq!(l.positions, [1.0, 15.0, 100.0]);
        let l = x_layout(&axis("n", "n", &["5", "inf"]));
        assert_eq!(l.tick_labels, ["5", "∞"]);
        assert_eq!(l.positions, [5.0, 10.0]);
    }

    #[test]
    fn non_numeric_axes_are_categorical() {
        let l = x_layout(&axis(
            "strategy",
            "Strategy",
            &["augment", "replace", "real"],
        ));
        assert_eq!(l.scale, XScale::Categorical);
        assert_eq!(l.positions, [0.0, 1.0, 2.0]);
        assert_eq!(
            x_layout(&axis("e", "e", &["1", "nan"])).scale,
            XScale::Categorical
        );
        assert_eq!(
            x_layout(&axis("e", "e", &["1", "1.0"])).scale,
            XScale::Categorical
        );
        assert_eq!(
            x_layout(&axis("e", "e", &["inf"])).scale,
            XScale::Categorical
        );
    }

    fn svg_for_campaign() -> String {
        let (axes, mut points) = campaign();
        points.retain(|p| p.axes["strategy"] == "augment");
        render_line_figure(
            &points,
            &axes,
            "epsilon",
            &["classifier".to_string()],
            "macro-F1",
            "Macro-F1 & privacy",
        )
        .unwrap()
    }

    /// The trimmed contents of the SVG's `<text>` elements.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .map(|chunk| {
                let body = &chunk[chunk.find('>').unwrap() + 1..];
                body[..body.find("</text>").unwrap()].trim().to_string()
            })
            .collect()
    }

    #[test]
    fn svg_has_title_labels_legend_and_one_line_per_series() {
        let svg = svg_for_campaign();
        if let Ok(dir) = std::env::var("DPWEAR_FIGURE_OUT") {
            std::fs::write(format!("{dir}/campaign.svg"), &svg).unwrap();
        }
        assert!(svg.trim_start().starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        let texts = texts(&svg);
        let has = |s: &str| texts.iter().any(|t| t == s);
        // Text is escaped XML.
        assert!(has("Macro-F1 &amp; privacy"), "{texts:?}");
        assert!(has("ε (RDP, δ=1e-5, window)"), "{texts:?}");
        assert!(has("macro-F1 (mean ± sd)"), "{texts:?}");
        assert!(has("Classifier = cnn"), "{texts:?}");
        assert!(has("Classifier = transformer"), "{texts:?}");
        for tick in ["0.1", "1", "∞ (non-private)"] {
            assert!(has(tick), "tick {tick}: {texts:?}");
        }
        // One data polyline per series plus its legend sample, in the series' colour.
        for i in 0..2 {
            let color = series_color_hex(i);
            let lines = svg
                .lines()
                .filter(|l| l.contains("<polyline") && l.contains(&format!("stroke=\"{color}\"")))
                .count();
            assert_eq!(lines, 2, "series {i} ({color})\n{svg}");
        }
        // The missing point (transformer, ε = 0.1) is listed; the unplanned one (inf) is not.
        assert!(
            has("• Classifier = transformer at ε (RDP, δ=1e-5, window) = 0.1: no finished replicate (0/3)"),
            "{texts:?}"
        );
        assert!(!svg.contains("= inf:"));
        assert!(has("Fixed: Strategy = augment."), "{texts:?}");
    }

    #[test]
    fn svg_is_deterministic() {
        assert_eq!(svg_for_campaign(), svg_for_campaign());
    }

    #[test]
    fn figure_requires_single_valued_hidden_axes() {
        let (axes, points) = campaign();
        let err = render_line_figure(&points, &axes, "epsilon", &["classifier".into()], "F1", "t")
            .unwrap_err();
        assert!(
            err.to_string().contains("axis `strategy` takes 2 values"),
            "{err}"
        );
        let err = render_line_figure(&points, &axes, "epsilon", &["epsilon".into()], "F1", "t")
            .unwrap_err();
        assert!(matches!(err, ReportError::AxisRepeated { .. }), "{err}");
        let err = render_line_figure(&points, &axes, "sigma", &[], "F1", "t").unwrap_err();
        assert!(matches!(err, ReportError::UnknownAxis { .. }), "{err}");
    }

    #[test]
    fn all_missing_still_renders_with_notes() {
        let axes = vec![eps_axis(&["1", "10"])];
        let points = vec![
            pt(&[("epsilon", "1")], &[], 2),
            pt(&[("epsilon", "10")], &[f64::NAN], 1),
        ];
        let svg = render_line_figure(&points, &axes, "epsilon", &[], "F1", "Empty").unwrap();
        let texts = texts(&svg);
        assert!(texts.iter().any(|t| t == "Not plotted (2):"), "{texts:?}");
        assert!(svg.contains("metric undefined in all 1 finished replicates"));
        assert!(
            texts.iter().any(|t| t == "F1"),
            "legend entry named after the metric"
        );
    }

    #[test]
    fn categorical_x_and_a_long_list_of_missing_points() {
        let subjects: Vec<String> = (1..=12).map(|i| format!("S{i}")).collect();
        let names: Vec<&str> = subjects.iter().map(String::as_str).collect();
        let axes = vec![
            axis("subject", "Test subject", &names),
            axis("strategy", "Strategy", &["real", "augment"]),
        ];
        let mut points = Vec::new();
        for (i, s) in names.iter().enumerate() {
            points.push(pt(
                &[("subject", s), ("strategy", "real")],
                &[0.5 + 0.02 * i as f64, 0.55],
                2,
            ));
            let aug: &[f64] = if i < 2 { &[0.7, 0.72] } else { &[] };
            points.push(pt(&[("subject", s), ("strategy", "augment")], aug, 2));
        }
        let svg = render_line_figure(
            &points,
            &axes,
            "subject",
            &["strategy".into()],
            "F1",
            "Per subject",
        )
        .unwrap();
        if let Ok(dir) = std::env::var("DPWEAR_FIGURE_OUT") {
            std::fs::write(format!("{dir}/categorical.svg"), &svg).unwrap();
        }
        let texts = texts(&svg);
        assert!(texts.iter().any(|t| t == "S12"), "{texts:?}");
        assert!(texts.iter().any(|t| t == "Not plotted (10):"), "{texts:?}");
        assert!(texts.iter().any(|t| t == "• … and 2 more"), "{texts:?}");
        assert_eq!(
            texts
                .iter()
                .filter(|t| t.starts_with("• Strategy = augment at"))
                .count(),
            8
        );
    }
}
