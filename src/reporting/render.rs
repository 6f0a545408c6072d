//! Renderers of built [`Table`]s: Markdown (for READMEs and reviews), tidy CSV (for further
//! analysis) and a LaTeX `tabular` with booktabs rules (for the paper). Pure functions from a
//! table to text; the caller writes the files.
//!
//! Number formats: Markdown and CSV use 4 decimals (metrics in [0, 1] whose replicate sd is
//! often ~1e-3 stay distinguishable); LaTeX uses 3, the usual precision of a paper table.
//! A value that would print as "-0.0000" prints as "0.0000".
//!
//! Entry notation (Markdown; the footnote under each table explains the kinds present):
//! - `0.8787 ± 0.0027 (n=10)`: mean ± sample sd over the finished replicates, all planned
//!   replicates finished; `(7/10)` when only 7 of 10 finished; no `± …` with fewer than two
//!   defined values;
//! - `, 2 undefined` inside the parentheses: replicates whose metric was undefined (NaN),
//!   counted in n but excluded from mean and sd; `undefined (n=3, 3 undefined)` when none is
//!   defined;
//! - `— (0/10)`: planned, no replicate finished; `n/a`: not a point of the grid.
//!
//! LaTeX shows `$0.879 \pm 0.003$`, adds `(7/10)` only when incomplete and `(2 undef.)` when
//! some replicates are undefined, `--` for missing and `n/a` for not planned. Labels and values
//! are escaped (`_ % & # $ { } ~ ^ \`), and a few symbols common in axis labels (ε δ σ ∞ ± ×
//! ≤ ≥ – —) become `\ensuremath` commands so that pdflatex needs no Unicode setup.
//!
//! May depend on: csv, this module's table types. Must never use tch or mpi.

use super::error::ReportError;
use super::points::{Entry, EntryStatus};
use super::table::Table;

/// Decimals in Markdown and CSV.
pub const MARKDOWN_DECIMALS: usize = 4;
/// Decimals in LaTeX.
pub const LATEX_DECIMALS: usize = 3;

/// `x` with `decimals` decimals, never "-0.000…".
fn num(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// The first-column text of each row: the row axes' values joined by ", ", or the metric
/// when there are no row axes.
fn row_label(table: &Table, key: &[String]) -> String {
    if table.row_axes().is_empty() {
        table.metric().to_string()
    } else {
        key.join(", ")
    }
}

/// The header text of each column: its axes' values joined by ", ", or the metric when there
/// are no column axes.
fn column_label(table: &Table, key: &[String]) -> String {
    if table.column_axes().is_empty() {
        table.metric().to_string()
    } else {
        key.join(", ")
    }
}

fn labels(axes: &[super::table::AxisRef]) -> String {
    axes.iter()
        .map(|a| a.label.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Replicate counts for Markdown: "n=10" or "7/10", plus ", 2 undefined".
fn counts(e: &Entry) -> String {
    let mut s = if e.n >= e.expected {
        format!("n={}", e.n)
    } else {
        format!("{}/{}", e.n, e.expected)
    };
    if e.n_undefined > 0 {
        s.push_str(&format!(", {} undefined", e.n_undefined));
    }
    s
}

/// One Markdown entry (see the module docs).
pub fn markdown_entry(e: &Entry) -> String {
    match e.status {
        EntryStatus::NotPlanned => "n/a".to_string(),
        EntryStatus::Missing => format!("— (0/{})", e.expected),
        EntryStatus::Complete | EntryStatus::Partial => match (e.mean, e.sd) {
            (Some(m), Some(sd)) => format!(
                "{} ± {} ({})",
                num(m, MARKDOWN_DECIMALS),
                num(sd, MARKDOWN_DECIMALS),
                counts(e)
            ),
            (Some(m), None) => format!("{} ({})", num(m, MARKDOWN_DECIMALS), counts(e)),
            (None, _) => format!("undefined ({})", counts(e)),
        },
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The footnote: what the notation of the entries present in `table` means.
fn footnote(table: &Table) -> String {
    let all: Vec<&Entry> = table.entries().iter().flatten().collect();
    let any = |f: &dyn Fn(&Entry) -> bool| all.iter().any(|e| f(e));
    let mut parts = vec![format!(
        "Entries: {} as mean ± sample sd (ddof 1) over finished replicates",
        table.metric()
    )];
    if any(&|e| e.status == EntryStatus::Complete) {
        parts.push("(n=N): all N planned replicates finished".to_string());
    }
    if any(&|e| e.status == EntryStatus::Partial) {
        parts.push("(k/N): k of N planned replicates finished".to_string());
    }
    if any(&|e| e.mean.is_some() && e.sd.is_none()) {
        parts.push("no ±: fewer than two defined values".to_string());
    }
    if any(&|e| e.n_undefined > 0) {
        parts.push(
            "u undefined: replicates whose metric was undefined (NaN), excluded from mean and sd"
                .to_string(),
        );
    }
    if any(&|e| e.status == EntryStatus::Missing) {
        parts.push("— (0/N): planned, no replicate finished yet".to_string());
    }
    if any(&|e| e.status == EntryStatus::NotPlanned) {
        parts.push("n/a: not a point of the experiment grid".to_string());
    }
    let mut s = String::new();
    if !table.row_axes().is_empty() {
        s.push_str(&format!("Rows: {}. ", labels(table.row_axes())));
    }
    if !table.column_axes().is_empty() {
        s.push_str(&format!("Columns: {}. ", labels(table.column_axes())));
    }
    s.push_str(&parts.join("; "));
    s.push('.');
    md_cell(&s)
}

/// The table as Markdown: a `##` heading with the title, the subtitle (fixed axes) in
/// italics, a pipe table whose first column holds the row axes' values joined by ", " and
/// whose header holds the column axes' values, and a footnote explaining the notation.
pub fn render_markdown(table: &Table) -> String {
    let mut out = format!("## {}\n\n", md_cell(table.title()));
    if let Some(sub) = table.subtitle() {
        out.push_str(&format!("*{}*\n\n", md_cell(&sub)));
    }
    let first = if table.row_axes().is_empty() {
        String::new()
    } else {
        labels(table.row_axes())
    };
    out.push_str(&format!("| {} |", md_cell(&first)));
    for key in table.columns() {
        out.push_str(&format!(" {} |", md_cell(&column_label(table, key))));
    }
    out.push_str("\n| --- |");
    for _ in table.columns() {
        out.push_str(" ---: |");
    }
    out.push('\n');
    for (key, line) in table.rows().iter().zip(table.entries()) {
        out.push_str(&format!("| {} |", md_cell(&row_label(table, key))));
        for e in line {
            out.push_str(&format!(" {} |", markdown_entry(e)));
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&footnote(table));
    out.push('\n');
    out
}

/// The CSV header of `table`: row, column and fixed axis names, then `metric, mean, sd, n,
/// expected, n_undefined, status`.
fn csv_header(table: &Table) -> Vec<String> {
    let mut h: Vec<String> = table
        .row_axes()
        .iter()
        .chain(table.column_axes())
        .map(|a| a.name.clone())
        .collect();
    h.extend(table.fixed_axes().iter().map(|f| f.name.clone()));
    h.extend(
        [
            "metric",
            "mean",
            "sd",
            "n",
            "expected",
            "n_undefined",
            "status",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    h
}

fn csv_records(table: &Table) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    for (rkey, line) in table.rows().iter().zip(table.entries()) {
        for (ckey, e) in table.columns().iter().zip(line) {
            let mut r: Vec<String> = rkey.iter().chain(ckey).cloned().collect();
            r.extend(table.fixed_axes().iter().map(|f| f.value.clone()));
            r.push(table.metric().to_string());
            r.push(
                e.mean
                    .map(|m| num(m, MARKDOWN_DECIMALS))
                    .unwrap_or_default(),
            );
            r.push(e.sd.map(|s| num(s, MARKDOWN_DECIMALS)).unwrap_or_default());
            r.push(e.n.to_string());
            r.push(e.expected.to_string());
            r.push(e.n_undefined.to_string());
            r.push(e.status.as_str().to_string());
            records.push(r);
        }
    }
    records
}

fn write_csv(header: &[String], records: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing equal-length records of UTF-8 strings to memory cannot fail: every record has
    // the header's length by construction of `Table`.
    for r in std::iter::once(header).chain(records.iter().map(Vec::as_slice)) {
        w.write_record(r).expect("CSV record into memory");
    }
    let bytes = w.into_inner().expect("CSV flush into memory");
    String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
}

/// The table in tidy (long) CSV: a header, then one line per entry, row-major, with the row,
/// column and fixed axis values, the metric, mean and sd (4 decimals, empty when undefined),
/// n, expected, n_undefined and status (`complete`, `partial`, `missing`, `not_planned`).
///
/// An axis named like one of the trailing columns (`mean`, `status`, …) would give a
/// duplicate header name; experiment axes are not named so.
pub fn render_csv(table: &Table) -> String {
    write_csv(&csv_header(table), &csv_records(table))
}

/// Several tables with the same header (e.g. all tables of one [`super::build_tables`] call)
/// as one tidy CSV. Errors when two tables' headers differ.
pub fn render_csv_tables(tables: &[Table]) -> Result<String, ReportError> {
    let Some(first) = tables.first() else {
        return Ok(String::new());
    };
    let header = csv_header(first);
    let mut records = Vec::new();
    for t in tables {
        let h = csv_header(t);
        if h != header {
            return Err(ReportError::CsvHeaderMismatch {
                task: format!(
                    "write tables `{}` and `{}` as one CSV",
                    first.title(),
                    t.title()
                ),
                first: header.join(","),
                other: h.join(","),
            });
        }
        records.extend(csv_records(t));
    }
    Ok(write_csv(&header, &records))
}

/// `s` escaped for LaTeX text mode (see the module docs).
pub fn latex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '_' | '%' | '&' | '#' | '$' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            'ε' => out.push_str("\\ensuremath{\\varepsilon}"),
            'δ' => out.push_str("\\ensuremath{\\delta}"),
            'σ' => out.push_str("\\ensuremath{\\sigma}"),
            '∞' => out.push_str("\\ensuremath{\\infty}"),
            '±' => out.push_str("\\ensuremath{\\pm}"),
            '×' => out.push_str("\\ensuremath{\\times}"),
            '≤' => out.push_str("\\ensuremath{\\leq}"),
            '≥' => out.push_str("\\ensuremath{\\geq}"),
            '–' => out.push_str("--"),
            '—' => out.push_str("---"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// One LaTeX entry (see the module docs).
pub fn latex_entry(e: &Entry) -> String {
    let mut s = match e.status {
        EntryStatus::NotPlanned => return "n/a".to_string(),
        EntryStatus::Missing => return "--".to_string(),
        EntryStatus::Complete | EntryStatus::Partial => match (e.mean, e.sd) {
            (Some(m), Some(sd)) => format!(
                "${} \\pm {}$",
                num(m, LATEX_DECIMALS),
                num(sd, LATEX_DECIMALS)
            ),
            (Some(m), None) => format!("${}$", num(m, LATEX_DECIMALS)),
            (None, _) => "undef.".to_string(),
        },
    };
    if e.n < e.expected {
        s.push_str(&format!(" ({}/{})", e.n, e.expected));
    }
    if e.n_undefined > 0 && e.mean.is_some() {
        s.push_str(&format!(" ({} undef.)", e.n_undefined));
    }
    s
}

/// A LaTeX comment line (no line breaks inside).
fn latex_comment(s: &str) -> String {
    format!("% {}\n", s.replace(['\n', '\r'], " "))
}

/// The table as a LaTeX `tabular` with booktabs rules (`\usepackage{booktabs}`): comment
/// lines with the title, subtitle and notation, one left-aligned column per row axis (one
/// holding the metric when there are none), one right-aligned column per column key, a
/// spanning header with the column axes' labels, and the entries.
pub fn render_latex(table: &Table) -> String {
    let n_label_cols = table.row_axes().len().max(1);
    let n_cols = table.columns().len();
    let mut out = latex_comment(table.title());
    if let Some(sub) = table.subtitle() {
        out.push_str(&latex_comment(&sub));
    }
    out.push_str(&latex_comment(&format!(
        "{}: mean \\pm sample sd over finished replicates; (k/N): k of N planned replicates \
         finished; (u undef.): replicates with an undefined metric, excluded; --: none \
         finished; n/a: not in the grid. Needs \\usepackage{{booktabs}}.",
        table.metric()
    )));
    out.push_str(&format!(
        "\\begin{{tabular}}{{{}{}}}\n\\toprule\n",
        "l".repeat(n_label_cols),
        "r".repeat(n_cols)
    ));
    let first = n_label_cols + 1;
    let last = n_label_cols + n_cols;
    if !table.column_axes().is_empty() {
        out.push_str(&"& ".repeat(n_label_cols));
        out.push_str(&format!(
            "\\multicolumn{{{n_cols}}}{{c}}{{{}}} \\\\\n\\cmidrule(lr){{{first}-{last}}}\n",
            latex_escape(&labels(table.column_axes()))
        ));
    }
    let mut header: Vec<String> = if table.row_axes().is_empty() {
        vec![String::new()]
    } else {
        table
            .row_axes()
            .iter()
            .map(|a| latex_escape(&a.label))
            .collect()
    };
    header.extend(
        table
            .columns()
            .iter()
            .map(|k| latex_escape(&column_label(table, k))),
    );
    out.push_str(&header.join(" & "));
    out.push_str(" \\\\\n\\midrule\n");
    for (key, line) in table.rows().iter().zip(table.entries()) {
        let mut cells: Vec<String> = if table.row_axes().is_empty() {
            vec![latex_escape(table.metric())]
        } else {
            key.iter().map(|v| latex_escape(v)).collect()
        };
        cells.extend(line.iter().map(latex_entry));
        out.push_str(&cells.join(" & "));
        out.push_str(" \\\\\n");
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n");
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::reporting::table::tests::{axis, campaign, pt};
    use crate::reporting::table::{build_table, build_tables, TableSpec};

    fn spec(rows: &[&str], columns: &[&str]) -> TableSpec {
        TableSpec {
            title: "Macro-F1 by ε".into(),
            rows: rows.iter().map(|s| s.to_string()).collect(),
            columns: columns.iter().map(|s| s.to_string()).collect(),
            metric: "macro-F1".into(),
        }
    }

    fn augment_table() -> Table {
        let (axes, points) = campaign();
        build_tables(&points, &axes, &spec(&["classifier"], &["epsilon"]))
            .unwrap()
            .remove(0)
    }

    /// Compares `actual` with the committed fixture, or rewrites the fixture when
    /// `DPWEAR_UPDATE_SNAPSHOTS=1`.
    fn snapshot(name: &str, actual: &str) {
        let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/fixtures/reporting", name]
            .iter()
            .collect();
        if std::env::var("DPWEAR_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read snapshot {}: {e} (run with DPWEAR_UPDATE_SNAPSHOTS=1 to create it)",
                path.display()
            )
        });
        assert!(
            expected == actual,
            "snapshot {} differs (DPWEAR_UPDATE_SNAPSHOTS=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }

    #[test]
    fn markdown_entries() {
        let t = augment_table();
        let row0: Vec<String> = t.entries()[0].iter().map(markdown_entry).collect();
        assert_eq!(
            row0,
            [
                "0.7200 ± 0.0200 (n=3)",
                "0.8050 ± 0.0071 (2/3)",
                "0.8800 (1/3)"
            ]
        );
        let row1: Vec<String> = t.entries()[1].iter().map(markdown_entry).collect();
        assert_eq!(
            row1,
            ["— (0/3)", "0.6500 ± 0.0707 (n=3, 1 undefined)", "n/a"]
        );
        let all_nan = Entry::of(Some(&pt(&[], &[f64::NAN], 1)));
        assert_eq!(markdown_entry(&all_nan), "undefined (n=1, 1 undefined)");
    }

    #[test]
    fn markdown_snapshot() {
        let (axes, points) = campaign();
        let tables = build_tables(&points, &axes, &spec(&["classifier"], &["epsilon"])).unwrap();
        let md: Vec<String> = tables.iter().map(render_markdown).collect();
        snapshot("classifier_by_epsilon.md", &md.join("\n"));
    }

    #[test]
    fn markdown_two_row_axes_snapshot() {
        let (axes, points) = campaign();
        let t = build_table(
            &points,
            &axes,
            &spec(&["strategy", "classifier"], &["epsilon"]),
        )
        .unwrap();
        let md = render_markdown(&t);
        assert!(
            md.contains("| Strategy, Classifier | 0.1 | 1 | inf |"),
            "{md}"
        );
        assert!(
            md.contains("| replace, cnn | n/a | 0.6000 ± 0.1000 (n=3) | n/a |"),
            "{md}"
        );
        snapshot("strategy_classifier_by_epsilon.md", &md);
    }

    #[test]
    fn latex_snapshot() {
        let t = augment_table();
        let tex = render_latex(&t);
        assert!(tex.contains("$0.720 \\pm 0.020$"), "{tex}");
        assert!(
            tex.contains("\\toprule") && tex.contains("\\midrule") && tex.contains("\\bottomrule")
        );
        assert!(tex.contains("\\begin{tabular}{lrrr}"), "{tex}");
        snapshot("classifier_by_epsilon.tex", &tex);
    }

    #[test]
    fn latex_escaping() {
        assert_eq!(
            latex_escape(r"a_b 50% R&D #1 $x$ {y} ~z ^w \v"),
            r"a\_b 50\% R\&D \#1 \$x\$ \{y\} \textasciitilde{}z \textasciicircum{}w \textbackslash{}v"
        );
        assert_eq!(
            latex_escape("ε (RDP, δ=1e-5) ∞"),
            r"\ensuremath{\varepsilon} (RDP, \ensuremath{\delta}=1e-5) \ensuremath{\infty}"
        );
        // Labels and values in a rendered table are escaped too.
        let axes = vec![
            axis("synthetic_subjects", "synthetic_subjects", &["10%", "a&b"]),
            axis("epsilon", "ε", &["1"]),
        ];
        let points = vec![pt(
            &[("synthetic_subjects", "10%"), ("epsilon", "1")],
            &[0.5, 0.7],
            2,
        )];
        let t = build_table(&points, &axes, &spec(&["synthetic_subjects"], &["epsilon"])).unwrap();
        let tex = render_latex(&t);
        assert!(tex.contains("synthetic\\_subjects & 1 \\\\"), "{tex}");
        assert!(tex.contains("10\\% & $0.600 \\pm 0.141$ \\\\"), "{tex}");
        assert!(tex.contains("a\\&b & n/a \\\\"), "{tex}");
    }

    #[test]
    fn latex_marks_missing_partial_and_undefined() {
        let t = augment_table();
        let cells: Vec<String> = t.entries().iter().flatten().map(latex_entry).collect();
        assert_eq!(
            cells,
            [
                "$0.720 \\pm 0.020$",
                "$0.805 \\pm 0.007$ (2/3)",
                "$0.880$ (1/3)",
                "--",
                "$0.650 \\pm 0.071$ (1 undef.)",
                "n/a"
            ]
        );
    }

    #[test]
    fn csv_snapshot_and_round_trip() {
        let t = augment_table();
        let text = render_csv(&t);
        snapshot("classifier_by_epsilon.csv", &text);

        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            headers,
            [
                "classifier",
                "epsilon",
                "strategy",
                "metric",
                "mean",
                "sd",
                "n",
                "expected",
                "n_undefined",
                "status"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 6, "one line per entry, none dropped");
        let flat: Vec<&Entry> = t.entries().iter().flatten().collect();
        for (r, e) in rows.iter().zip(flat) {
            let mean: Option<f64> = (!r[4].is_empty()).then(|| r[4].parse().unwrap());
            let sd: Option<f64> = (!r[5].is_empty()).then(|| r[5].parse().unwrap());
            assert_eq!(mean.is_some(), e.mean.is_some());
            if let (Some(a), Some(b)) = (mean, e.mean) {
                assert!((a - b).abs() <= 0.5e-4);
            }
            assert_eq!(sd.is_some(), e.sd.is_some());
            assert_eq!(r[6].parse::<usize>().unwrap(), e.n);
            assert_eq!(r[7].parse::<usize>().unwrap(), e.expected);
            assert_eq!(r[8].parse::<usize>().unwrap(), e.n_undefined);
            assert_eq!(&r[9], e.status.as_str());
            assert_eq!(&r[2], "augment");
        }
        assert_eq!(&rows[0][0], "cnn");
        assert_eq!(&rows[0][1], "0.1");
        assert_eq!(&rows[3][9], "missing");
        assert_eq!(&rows[5][9], "not_planned");
    }

    #[test]
    fn csv_quotes_fields_with_commas() {
        let axes = vec![
            axis("model", "Model", &["cgan, wgan"]),
            axis("epsilon", "ε", &["1"]),
        ];
        let points = vec![pt(&[("model", "cgan, wgan"), ("epsilon", "1")], &[0.5], 1)];
        let t = build_table(&points, &axes, &spec(&["model"], &["epsilon"])).unwrap();
        let text = render_csv(&t);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let r = reader.records().next().unwrap().unwrap();
        assert_eq!(&r[0], "cgan, wgan");
        assert_eq!(&r[3], "0.5000");
    }

    #[test]
    fn csv_of_several_tables() {
        let (axes, points) = campaign();
        let tables = build_tables(&points, &axes, &spec(&["classifier"], &["epsilon"])).unwrap();
        let text = render_csv_tables(&tables).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let strategies: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[2].to_string())
            .collect();
        assert_eq!(strategies.len(), 12);
        assert_eq!(strategies.iter().filter(|s| *s == "replace").count(), 6);

        let other = build_table(
            &points,
            &axes,
            &spec(&["strategy", "classifier"], &["epsilon"]),
        )
        .unwrap();
        let err = render_csv_tables(&[tables[0].clone(), other]).unwrap_err();
        assert!(
            matches!(err, ReportError::CsvHeaderMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn negative_zero_is_printed_as_zero() {
        assert_eq!(num(-0.00001, 4), "0.0000");
        assert_eq!(num(-0.5, 3), "-0.500");
    }

    #[test]
    fn no_row_axes_label_the_row_with_the_metric() {
        let (axes, points) = campaign();
        let t = build_tables(&points, &axes, &spec(&[], &["epsilon"]))
            .unwrap()
            .remove(0);
        let md = render_markdown(&t);
        assert!(md.contains("|  | 0.1 | 1 | inf |"), "{md}");
        assert!(md.contains("| macro-F1 | 0.7200 ± 0.0200 (n=3) |"), "{md}");
        let tex = render_latex(&t);
        assert!(tex.contains("macro-F1 & $0.720 \\pm 0.020$"), "{tex}");
    }
}
