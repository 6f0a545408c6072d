//! Public column domains of tabular records (a TOML file): each column's bounds, whether it is
//! a whole number, its class (static: demographic attributes; behavioural: daily activity) and
//! the Laplace ε of that class, plus a public bound on records per user. The bounds set the
//! sensitivity of the Laplace mechanism (Δ = max − min) and the [−1, 1] scaling of the BGAN, so
//! they must be public knowledge (device limits, the day's 1,440 minutes), never read off the
//! private data; the file says where they come from (`source`).
//!
//! ```toml
//! schema_version = 1
//! source = "device and calendar limits, not the data"
//! max_records_per_user = 31
//! [epsilon]
//! static = 0.2
//! behavioural = 0.5
//! [columns.TotalSteps]
//! class = "behavioural"
//! min = 0
//! max = 50000
//! integer = true
//! ```
//!
//! May depend on: serde, toml, config::error.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::error::{line_column, ConfigError};

pub const DOMAINS_SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnClass {
    Static,
    Behavioural,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnEntry {
    class: ColumnClass,
    min: Spanned<f64>,
    max: Spanned<f64>,
    #[serde(default)]
    integer: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EpsilonEntry {
    #[serde(rename = "static")]
    static_: Spanned<f64>,
    behavioural: Spanned<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainsFile {
    schema_version: Spanned<u32>,
    source: String,
    max_records_per_user: Spanned<i64>,
    epsilon: EpsilonEntry,
    columns: BTreeMap<String, Spanned<ColumnEntry>>,
}

/// One column's public domain.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ColumnDomain {
    pub name: String,
    pub class: ColumnClass,
    pub min: f64,
    pub max: f64,
    pub integer: bool,
}

impl ColumnDomain {
    /// Δ = max − min: the most one value can change.
    pub fn width(&self) -> f64 {
        self.max - self.min
    }
    /// `v` clipped into the domain (and rounded for whole-number columns).
    pub fn clip(&self, v: f64) -> f64 {
        let v = v.clamp(self.min, self.max);
        if self.integer {
            v.round().clamp(self.min, self.max)
        } else {
            v
        }
    }
}

/// The validated file.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Domains {
    pub source: String,
    pub max_records_per_user: usize,
    /// Laplace ε per value of a static / behavioural column.
    pub epsilon_static: f64,
    pub epsilon_behavioural: f64,
    /// In the file's key order (sorted); use [`Domains::for_columns`] for a data file's order.
    pub columns: Vec<ColumnDomain>,
}

impl Domains {
    /// The ε of one value of a column of `class`.
    pub fn epsilon(&self, class: ColumnClass) -> f64 {
        match class {
            ColumnClass::Static => self.epsilon_static,
            ColumnClass::Behavioural => self.epsilon_behavioural,
        }
    }

    /// The domains of `columns` in that order; every column needs one, and every domain must
    /// name a column (a typo would otherwise leave a column without bounds).
    pub fn for_columns(&self, columns: &[String]) -> Result<Vec<ColumnDomain>, String> {
        let missing: Vec<&str> = columns
            .iter()
            .filter(|c| !self.columns.iter().any(|d| &d.name == *c))
            .map(|c| c.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "no public domain for column(s) {}",
                missing.join(", ")
            ));
        }
        let unused: Vec<&str> = self
            .columns
            .iter()
            .filter(|d| !columns.contains(&d.name))
            .map(|d| d.name.as_str())
            .collect();
        if !unused.is_empty() {
            return Err(format!(
                "domain(s) for column(s) the data does not have: {}",
                unused.join(", ")
            ));
        }
        Ok(columns
            .iter()
            .map(|c| {
                self.columns
                    .iter()
                    .find(|d| &d.name == c)
                    .expect("checked")
                    .clone()
            })
            .collect())
    }
}

/// Reads and validates a domains file.
pub fn load(path: &Path) -> Result<Domains, ConfigError> {
    let text = super::error::read_toml_text(path, "a domains file")?;
    parse(&text, path)
}

/// Validates domains text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Domains, ConfigError> {
    let file: DomainsFile = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let err = |span: std::ops::Range<usize>, message: String| {
        let (line, column) = line_column(text, span.start);
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    };
    if *file.schema_version.get_ref() != DOMAINS_SCHEMA_VERSION {
        return Err(err(
            file.schema_version.span(),
            format!(
                "schema_version {} is not supported (expected {DOMAINS_SCHEMA_VERSION})",
                file.schema_version.get_ref()
            ),
        ));
    }
    let k = *file.max_records_per_user.get_ref();
    if !(1..=100_000).contains(&k) {
        return Err(err(
            file.max_records_per_user.span(),
            format!("max_records_per_user {k} must lie in 1..=100000"),
        ));
    }
    for eps in [&file.epsilon.static_, &file.epsilon.behavioural] {
        let e = *eps.get_ref();
        if !(e.is_finite() && e > 0.0 && e <= 100.0) {
            return Err(err(
                eps.span(),
                format!("epsilon {e} must be finite and in (0, 100]"),
            ));
        }
    }
    if file.columns.is_empty() {
        return Err(ConfigError::Syntax {
            path: path.to_path_buf(),
            message: "no [columns.NAME] tables".into(),
        });
    }
    let mut columns = Vec::new();
    for (name, entry) in file.columns {
        let span = entry.span();
        let e = entry.into_inner();
        let (lo, hi) = (*e.min.get_ref(), *e.max.get_ref());
        if !(lo.is_finite() && hi.is_finite() && lo.abs() <= 1e12 && hi.abs() <= 1e12) {
            return Err(err(
                span,
                format!("column {name}: min and max must be finite, |x| ≤ 1e12"),
            ));
        }
        if lo >= hi {
            return Err(err(
                e.max.span(),
                format!("column {name}: max {hi} must be above min {lo}"),
            ));
        }
        columns.push(ColumnDomain {
            name,
            class: e.class,
            min: lo,
            max: hi,
            integer: e.integer,
        });
    }
    Ok(Domains {
        source: file.source,
        max_records_per_user: k as usize,
        epsilon_static: *file.epsilon.static_.get_ref(),
        epsilon_behavioural: *file.epsilon.behavioural.get_ref(),
        columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
schema_version = 1
source = "public limits"
max_records_per_user = 31
[epsilon]
static = 0.2
behavioural = 0.5
[columns.TotalSteps]
class = "behavioural"
min = 0
max = 50000
integer = true
[columns.Age]
class = "static"
min = 18
max = 100
"#;

    #[test]
    fn a_good_file_orders_domains_by_the_data() {
        let d = parse(GOOD, Path::new("d.toml")).unwrap();
        assert_eq!(d.max_records_per_user, 31);
        let cols = d.for_columns(&["TotalSteps".into(), "Age".into()]).unwrap();
        assert_eq!(cols[0].name, "TotalSteps");
        assert_eq!(cols[0].width(), 50_000.0);
        assert_eq!(cols[0].clip(-3.0), 0.0);
        assert_eq!(cols[0].clip(12.6), 13.0);
        assert_eq!(cols[1].clip(12.6), 18.0);
        assert_eq!(d.epsilon(cols[1].class), 0.2);
        let e = d
            .for_columns(&["TotalSteps".into(), "Calories".into()])
            .unwrap_err();
        assert!(e.contains("Calories"), "{e}");
        let e = d.for_columns(&["TotalSteps".into()]).unwrap_err();
        assert!(e.contains("Age"), "{e}");
    }

    #[test]
    fn the_shipped_fitbit_domains_cover_the_export_columns() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/tabular/fitbit-domains.toml");
        let d = load(&path).unwrap();
        let cols: Vec<String> = crate::data::tabular::FITBIT_DAILY_COLUMNS[2..]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let doms = d.for_columns(&cols).unwrap();
        assert_eq!(doms.len(), 13);
        assert_eq!(d.max_records_per_user, 31);
        assert!(doms.iter().all(|c| c.class == ColumnClass::Behavioural));
        assert_eq!(
            doms[cols.iter().position(|c| c == "SedentaryMinutes").unwrap()].max,
            1440.0
        );
    }

    #[test]
    fn bad_values_are_located() {
        let cases = [
            (GOOD.replace("max = 50000", "max = -1"), "11:7"),
            (GOOD.replace("behavioural = 0.5", "behavioural = 0"), "7:15"),
            (
                GOOD.replace("max_records_per_user = 31", "max_records_per_user = 0"),
                "4:24",
            ),
            (
                GOOD.replace("schema_version = 1", "schema_version = 2"),
                "2:18",
            ),
        ];
        for (text, at) in cases {
            let e = parse(&text, Path::new("d.toml")).unwrap_err().to_string();
            assert!(e.contains(&format!("d.toml:{at}")), "{at}: {e}");
        }
        let e = parse(
            &GOOD.replace("integer = true", "integer = true\nbounds = 3"),
            Path::new("d.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field"), "{e}");
        let e = parse(
            &GOOD.replace("\"static\"", "\"demographic\""),
            Path::new("d.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown variant"), "{e}");
    }
}
