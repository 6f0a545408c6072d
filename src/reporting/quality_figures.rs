//! SVG figures of a synthetic sample against a real one: per-channel histograms, correlation
//! heatmaps (real, synthetic, difference), mean power spectra per channel, and 2-D scatter
//! plots of projections (PCA, t-SNE). Real is drawn in blue, synthetic in vermillion
//! (Okabe–Ito), the difference heatmap on a diverging blue–white–red scale.
//!
//! Every function is pure: plain numbers in, SVG text out; the caller computes the values
//! (evaluation::fidelity) and writes the files. Text is SVG `<text>` in `sans-serif`, as in
//! [`super::figure`].
//!
//! May depend on: plotters (SVG backend only), this module's error. Must never use tch or mpi.

use plotters::coord::Shift;
use plotters::prelude::{
    ChartBuilder, Circle, Color, DrawingArea, IntoDrawingArea, LineSeries, PathElement, RGBColor,
    Rectangle, SVGBackend, SeriesLabelPosition, Text, BLACK, WHITE,
};
use plotters::style::IntoFont;

use super::error::ReportError;
use super::figure::{draw_error, PALETTE};

/// The first two colours of the line figures' palette.
const REAL: RGBColor = PALETTE[0];
const SYNTHETIC: RGBColor = PALETTE[1];
const PANEL_W: u32 = 380;
const PANEL_H: u32 = 280;
const TITLE_H: u32 = 40;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Splits a figure of `n` panels into a grid of `cols` columns under a title.
fn panels<'a>(root: &Area<'a>, title: &str, n: usize, cols: usize) -> Vec<Area<'a>> {
    let (head, body) = root.split_vertically(TITLE_H);
    let _ = head.draw(&Text::new(
        title.to_string(),
        (15, 10),
        ("sans-serif", 20).into_font(),
    ));
    let rows = n.div_ceil(cols);
    body.split_evenly((rows, cols))
        .into_iter()
        .take(n)
        .collect()
}

fn figure_size(n: usize, cols: usize) -> (u32, u32) {
    let rows = n.div_ceil(cols) as u32;
    (PANEL_W * cols as u32, TITLE_H + PANEL_H * rows)
}

fn range_of<'a>(values: impl Iterator<Item = &'a f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi - lo < 1e-12 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// Density histogram of `values` over `bins` equal bins of `[lo, hi]` (values outside are
/// dropped; non-finite ones too). Sums to 1 / bin width over the kept values.
pub fn density_histogram(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let mut counts = vec![0usize; bins];
    let width = (hi - lo) / bins as f64;
    let mut kept = 0usize;
    for &v in values {
        if !v.is_finite() || v < lo || v > hi || width <= 0.0 {
            continue;
        }
        let b = (((v - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
        kept += 1;
    }
    counts
        .into_iter()
        .map(|c| {
            if kept == 0 {
                0.0
            } else {
                c as f64 / (kept as f64 * width)
            }
        })
        .collect()
}

/// A "■ real ■ synthetic" key in the top right corner of a panel (drawn best-effort).
fn legend_box(area: &Area<'_>) {
    let _ = area.draw(&Text::new(
        "■ real".to_string(),
        (PANEL_W as i32 - 150, 8),
        ("sans-serif", 12).into_font().color(&REAL),
    ));
    let _ = area.draw(&Text::new(
        "■ synthetic".to_string(),
        (PANEL_W as i32 - 95, 8),
        ("sans-serif", 12).into_font().color(&SYNTHETIC),
    ));
}

/// One panel per channel: the density histograms of the real and the synthetic values
/// (`real[ch]`, `synthetic[ch]`), `bins` bins over their common range, as outlines.
pub fn render_histograms(
    title: &str,
    channels: &[&str],
    real: &[Vec<f64>],
    synthetic: &[Vec<f64>],
    bins: usize,
) -> Result<String, ReportError> {
    const TASK: &str = "draw the per-channel histograms";
    let err = draw_error::<plotters::drawing::DrawingAreaErrorKind<std::io::Error>>(TASK);
    let bins = bins.max(1);
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, figure_size(channels.len(), 3)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        for (ch, area) in panels(&root, title, channels.len(), 3).iter().enumerate() {
            let (lo, hi) = range_of(real[ch].iter().chain(synthetic[ch].iter()));
            let hr = density_histogram(&real[ch], lo, hi, bins);
            let hs = density_histogram(&synthetic[ch], lo, hi, bins);
            let ymax = hr
                .iter()
                .chain(&hs)
                .fold(0.0f64, |a, &b| a.max(b))
                .max(1e-9)
                * 1.1;
            let mut chart = ChartBuilder::on(area)
                .caption(channels[ch], ("sans-serif", 15).into_font())
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(45)
                .build_cartesian_2d(lo..hi, 0.0..ymax)
                .map_err(&err)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .y_desc("density")
                .label_style(("sans-serif", 11))
                .draw()
                .map_err(&err)?;
            let width = (hi - lo) / bins as f64;
            for (h, color, name) in [(&hr, REAL, "real"), (&hs, SYNTHETIC, "synthetic")] {
                let steps: Vec<(f64, f64)> = h
                    .iter()
                    .enumerate()
                    .flat_map(|(b, &d)| {
                        let x0 = lo + b as f64 * width;
                        [(x0, d), (x0 + width, d)]
                    })
                    .collect();
                chart
                    .draw_series(LineSeries::new(steps, color.stroke_width(2)))
                    .map_err(&err)?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
            }
            if ch == 0 {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 11))
                    .draw()
                    .map_err(&err)?;
            }
        }
        root.present().map_err(&err)?;
    }
    Ok(svg)
}

/// Blue (−1) – white (0) – red (+1), clamped.
fn diverging(v: f64) -> RGBColor {
    let v = v.clamp(-1.0, 1.0);
    let mix = |a: u8, t: f64| (255.0 + (a as f64 - 255.0) * t).round() as u8;
    if v < 0.0 {
        RGBColor(mix(33, -v), mix(102, -v), mix(172, -v))
    } else {
        RGBColor(mix(178, v), mix(24, v), mix(43, v))
    }
}

/// Three c × c heatmaps of row-major correlation matrices: real, synthetic and synthetic −
/// real, each cell labelled with its value on a −1…1 diverging scale.
pub fn render_correlation_heatmaps(
    title: &str,
    channels: &[&str],
    real: &[f64],
    synthetic: &[f64],
) -> Result<String, ReportError> {
    const TASK: &str = "draw the correlation heatmaps";
    let err = draw_error::<plotters::drawing::DrawingAreaErrorKind<std::io::Error>>(TASK);
    let c = channels.len();
    if real.len() != c * c || synthetic.len() != c * c {
        return Err(ReportError::Draw {
            task: TASK.to_string(),
            source: format!(
                "the matrices have {} and {} entries, {c} channels need {}",
                real.len(),
                synthetic.len(),
                c * c
            )
            .into(),
        });
    }
    let diff: Vec<f64> = synthetic.iter().zip(real).map(|(s, r)| s - r).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (3 * 400, TITLE_H + 420)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let names = ["real", "synthetic", "synthetic − real"];
        for (k, (area, m)) in panels(&root, title, 3, 3)
            .iter()
            .zip([real, synthetic, &diff[..]])
            .enumerate()
        {
            let mut chart = ChartBuilder::on(area)
                .caption(names[k], ("sans-serif", 15).into_font())
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..c as f64, 0.0..c as f64)
                .map_err(&err)?;
            let label = |v: &f64| {
                let i = v.floor() as usize;
                if (v - i as f64 - 0.5).abs() < 1e-6 && i < c {
                    channels[i].to_string()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(2 * c + 1)
                .y_labels(2 * c + 1)
                .x_label_formatter(&label)
                .y_label_formatter(&|v: &f64| label(&(c as f64 - v)))
                .label_style(("sans-serif", 11))
                .draw()
                .map_err(&err)?;
            for i in 0..c {
                for j in 0..c {
                    let v = m[i * c + j];
                    let (x0, y0) = (j as f64, (c - 1 - i) as f64);
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(x0, y0), (x0 + 1.0, y0 + 1.0)],
                            diverging(v).filled(),
                        )))
                        .map_err(&err)?;
                    chart
                        .draw_series(std::iter::once(Text::new(
                            format!("{v:.2}"),
                            (x0 + 0.3, y0 + 0.6),
                            ("sans-serif", 11).into_font(),
                        )))
                        .map_err(&err)?;
                }
            }
        }
        root.present().map_err(&err)?;
    }
    Ok(svg)
}

/// One panel per channel: the real and the synthetic mean power spectra (`real[ch][k]` at
/// frequency `freqs[k]`), on a log10 power axis (values floored at 1e-12).
pub fn render_spectra(
    title: &str,
    channels: &[&str],
    freqs: &[f64],
    real: &[Vec<f64>],
    synthetic: &[Vec<f64>],
) -> Result<String, ReportError> {
    const TASK: &str = "draw the power spectra";
    let err = draw_error::<plotters::drawing::DrawingAreaErrorKind<std::io::Error>>(TASK);
    let log = |v: f64| v.max(1e-12).log10();
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, figure_size(channels.len(), 3)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        for (ch, area) in panels(&root, title, channels.len(), 3).iter().enumerate() {
            let logs: Vec<f64> = real[ch]
                .iter()
                .chain(&synthetic[ch])
                .map(|&v| log(v))
                .collect();
            let (ylo, yhi) = range_of(logs.iter());
            let (xlo, xhi) = range_of(freqs.iter());
            let mut chart = ChartBuilder::on(area)
                .caption(channels[ch], ("sans-serif", 15).into_font())
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(45)
                .build_cartesian_2d(xlo..xhi, ylo..yhi)
                .map_err(&err)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("Hz")
                .y_desc("log10 power")
                .label_style(("sans-serif", 11))
                .draw()
                .map_err(&err)?;
            for (p, color) in [(&real[ch], REAL), (&synthetic[ch], SYNTHETIC)] {
                let xy: Vec<(f64, f64)> = freqs
                    .iter()
                    .zip(p.iter())
                    .map(|(&f, &v)| (f, log(v)))
                    .collect();
                chart
                    .draw_series(LineSeries::new(xy, color.stroke_width(2)))
                    .map_err(&err)?;
            }
            if ch == 0 {
                legend_box(area);
            }
        }
        root.present().map_err(&err)?;
    }
    Ok(svg)
}

/// A scatter plot of 2-D points of the real and the synthetic sample (e.g. PCA or t-SNE
/// projections), real first so that synthetic points lie on top.
pub fn render_scatter(
    title: &str,
    x_label: &str,
    y_label: &str,
    real: &[(f64, f64)],
    synthetic: &[(f64, f64)],
) -> Result<String, ReportError> {
    const TASK: &str = "draw the projection scatter plot";
    let err = draw_error::<plotters::drawing::DrawingAreaErrorKind<std::io::Error>>(TASK);
    let (xlo, xhi) = range_of(real.iter().chain(synthetic).map(|p| &p.0));
    let (ylo, yhi) = range_of(real.iter().chain(synthetic).map(|p| &p.1));
    let (px, py) = ((xhi - xlo) * 0.05, (yhi - ylo) * 0.05);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (700, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20).into_font())
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(xlo - px..xhi + px, ylo - py..yhi + py)
            .map_err(&err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(&err)?;
        for (pts, color, name) in [
            (real, REAL, format!("real ({})", real.len())),
            (
                synthetic,
                SYNTHETIC,
                format!("synthetic ({})", synthetic.len()),
            ),
        ] {
            chart
                .draw_series(
                    pts.iter()
                        .filter(|p| p.0.is_finite() && p.1.is_finite())
                        .map(|&p| Circle::new(p, 2, color.mix(0.6).filled())),
                )
                .map_err(&err)?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn density_histograms_integrate_to_one() {
        let v: Vec<f64> = (0..100).map(|i| i as f64 / 99.0).collect();
        let h = density_histogram(&v, 0.0, 1.0, 10);
        let area: f64 = h.iter().map(|d| d * 0.1).sum();
        assert!((area - 1.0).abs() < 1e-12, "{area}");
        assert_eq!(h.len(), 10);
        // The maximum lands in the last bin, values outside are dropped.
        let h = density_histogram(&[1.0, 2.0, f64::NAN], 0.0, 1.0, 4);
        assert_eq!(h, vec![0.0, 0.0, 0.0, 4.0]);
    }

    #[test]
    fn figures_are_svg_with_their_labels() {
        let ch = ["BVP", "EDA"];
        let real = vec![vec![0.1, 0.2, 0.3], vec![0.5, 0.5, 0.6]];
        let syn = vec![vec![0.15, 0.25], vec![0.4, 0.7]];
        let s = render_histograms("hist", &ch, &real, &syn, 5).unwrap();
        assert!(s.starts_with("<svg") && s.contains("EDA") && s.contains("synthetic"));
        assert!(
            s.contains("#0072B2") || s.contains("rgb(0,114,178)"),
            "real colour"
        );
        let s = render_correlation_heatmaps(
            "corr",
            &ch,
            &[1.0, 0.3, 0.3, 1.0],
            &[1.0, -0.2, -0.2, 1.0],
        )
        .unwrap();
        assert!(
            s.contains("-0.50") && s.contains("synthetic − real"),
            "difference cell"
        );
        let e = render_correlation_heatmaps("corr", &ch, &[1.0], &[1.0]).unwrap_err();
        let cause = std::error::Error::source(&e).map(|c| c.to_string());
        assert!(cause.is_some_and(|c| c.contains("need 4")), "{e:?}");
        let s = render_spectra("psd", &ch, &[0.0, 0.1, 0.2], &real, &real).unwrap();
        assert!(s.contains("log10 power"));
        let s = render_scatter(
            "pca",
            "PC1",
            "PC2",
            &[(0.0, 1.0), (1.0, 0.0)],
            &[(0.5, 0.5)],
        )
        .unwrap();
        assert!(s.contains("real (2)") && s.contains("synthetic (1)"));
    }

    #[test]
    fn the_diverging_scale_is_white_at_zero_and_saturates() {
        assert_eq!(diverging(0.0), RGBColor(255, 255, 255));
        assert_eq!(diverging(1.0), diverging(3.0));
        assert_eq!(diverging(-1.0), RGBColor(33, 102, 172));
    }
}
