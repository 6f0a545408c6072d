//! Tabular health records (one row per user and day): the Fitbit daily-activity export
//! (Fitabase `dailyActivity_merged.csv`, the Imtiaz et al. system's data) and any numeric CSV.
//!
//! - [`read_fitbit_daily`]: the exact 15-column header (names and order checked), `Id` as the
//!   user, `ActivityDate` in either of the export's date forms (`04/12/2016`, `4/13/2016`;
//!   month, day and year checked), the 13 numeric columns as values;
//! - [`read_numeric_csv`]: a header, an optional user column, every other column numeric.
//!
//! Every bad cell is refused with its line (1-based, the header is line 1) and column name;
//! every value passes the shared check ([`super::values`]: finite, |x| ≤ 1e12).
//!
//! May depend on: csv, data::hash, data::values.

use std::path::Path;

use super::error::DataError;
use super::hash::sha256_file;

/// The Fitbit daily-activity columns, in the export's order.
pub const FITBIT_DAILY_COLUMNS: [&str; 15] = [
    "Id",
    "ActivityDate",
    "TotalSteps",
    "TotalDistance",
    "TrackerDistance",
    "LoggedActivitiesDistance",
    "VeryActiveDistance",
    "ModeratelyActiveDistance",
    "LightActiveDistance",
    "SedentaryActiveDistance",
    "VeryActiveMinutes",
    "FairlyActiveMinutes",
    "LightlyActiveMinutes",
    "SedentaryMinutes",
    "Calories",
];

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl Date {
    /// `M/D/YYYY` with or without leading zeros (the Fitabase export's two forms).
    pub fn parse_us(s: &str) -> Option<Date> {
        let mut parts = s.trim().split('/');
        let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let digits = |p: &str, max_len: usize| {
            !p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit())
        };
        if !(digits(m, 2) && digits(d, 2) && y.len() == 4 && digits(y, 4)) {
            return None;
        }
        let (month, day, year): (u32, u32, i32) =
            (m.parse().ok()?, d.parse().ok()?, y.parse().ok()?);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Day of the week, 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u32 {
        // Days since 1970-01-01 (a Thursday), by Howard Hinnant's days_from_civil.
        let (y, m) = if self.month <= 2 {
            (self.year as i64 - 1, self.month as i64 + 9)
        } else {
            (self.year as i64, self.month as i64 - 3)
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * m + 2) / 5 + self.day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        ((days + 3).rem_euclid(7)) as u32
    }
}

/// Records read from a CSV: one row per record, numeric columns only.
#[derive(Clone, Debug, PartialEq)]
pub struct TabularData {
    /// The numeric columns, in file order.
    pub columns: Vec<String>,
    /// The user of each record (0 for every record when the file has no user column).
    pub users: Vec<u64>,
    /// The date of each record, when the file has one.
    pub dates: Option<Vec<Date>>,
    /// `values[r][c]`: record r, column c.
    pub values: Vec<Vec<f64>>,
    /// Where it came from: the file as given and its sha256.
    pub path: String,
    pub sha256: String,
    /// `fitbit-daily` or `numeric-csv`.
    pub kind: String,
}

impl TabularData {
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    /// The distinct users, ascending.
    pub fn distinct_users(&self) -> Vec<u64> {
        let mut u = self.users.clone();
        u.sort_unstable();
        u.dedup();
        u
    }
    /// Column `c` over all records.
    pub fn column(&self, c: usize) -> Vec<f64> {
        self.values.iter().map(|r| r[c]).collect()
    }
    /// The records of users in `keep` (in file order).
    pub fn subset_users(&self, keep: &[u64]) -> TabularData {
        let rows: Vec<usize> = (0..self.len())
            .filter(|&r| keep.contains(&self.users[r]))
            .collect();
        self.rows(&rows)
    }
    /// The records at `rows`, in that order.
    pub fn rows(&self, rows: &[usize]) -> TabularData {
        TabularData {
            columns: self.columns.clone(),
            users: rows.iter().map(|&r| self.users[r]).collect(),
            dates: self
                .dates
                .as_ref()
                .map(|d| rows.iter().map(|&r| d[r]).collect()),
            values: rows.iter().map(|&r| self.values[r].clone()).collect(),
            path: self.path.clone(),
            sha256: self.sha256.clone(),
            kind: self.kind.clone(),
        }
    }
}

fn reader(path: &Path) -> Result<csv::Reader<std::fs::File>, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(file))
}

/// The header's names, trimmed (a UTF-8 byte-order mark dropped).
fn header(path: &Path, rdr: &mut csv::Reader<std::fs::File>) -> Result<Vec<String>, DataError> {
    Ok(rdr
        .headers()
        .map_err(|e| DataError::format(path, format!("line 1: not a CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect())
}

fn row_error(path: &Path, line: u64, reason: String) -> DataError {
    DataError::format(path, format!("line {line}: {reason}"))
}

fn number(path: &Path, line: u64, column: &str, cell: &str) -> Result<f64, DataError> {
    let v: f64 = cell.trim().parse().map_err(|_| {
        row_error(
            path,
            line,
            format!(
                "column {column}: {:?} is not a number",
                cell.chars().take(40).collect::<String>()
            ),
        )
    })?;
    if !v.is_finite() || v.abs() > 1e12 {
        return Err(row_error(
            path,
            line,
            format!("column {column}: {v} is not a finite value of magnitude ≤ 1e12"),
        ));
    }
    Ok(v)
}

fn records(
    path: &Path,
    mut rdr: csv::Reader<std::fs::File>,
    width: usize,
    mut row: impl FnMut(u64, &csv::StringRecord) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = rec.position().map(|p| p.line()).unwrap_or(0);
                if rec.len() == 1 && rec[0].trim().is_empty() {
                    continue;
                }
                if rec.len() != width {
                    return Err(row_error(
                        path,
                        line,
                        format!("{} fields, the header has {width}", rec.len()),
                    ));
                }
                row(line, &rec)?;
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(row_error(path, line, format!("not CSV: {e}")));
            }
        }
    }
}

/// Reads the Fitbit daily-activity export (see the module docs).
pub fn read_fitbit_daily(path: &Path) -> Result<TabularData, DataError> {
    let sha256 = sha256_file(path)?;
    let mut rdr = reader(path)?;
    let header = header(path, &mut rdr)?;
    if header != FITBIT_DAILY_COLUMNS {
        return Err(DataError::format(
            path,
            format!(
                "line 1: not a Fitbit daily-activity header (expected {}; found {})",
                FITBIT_DAILY_COLUMNS.join(","),
                header.join(",")
            ),
        ));
    }
    let mut data = TabularData {
        columns: FITBIT_DAILY_COLUMNS[2..]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        users: Vec::new(),
        dates: Some(Vec::new()),
        values: Vec::new(),
        path: path.display().to_string(),
        sha256,
        kind: "fitbit-daily".into(),
    };
    let mut dates = Vec::new();
    records(path, rdr, FITBIT_DAILY_COLUMNS.len(), |line, rec| {
        let id = rec[0].trim();
        let user: u64 = id.parse().map_err(|_| {
            row_error(
                path,
                line,
                format!(
                    "column Id: {:?} is not a user id (a whole number)",
                    id.chars().take(40).collect::<String>()
                ),
            )
        })?;
        let date = Date::parse_us(&rec[1]).ok_or_else(|| {
            row_error(
                path,
                line,
                format!(
                    "column ActivityDate: {:?} is not a date M/D/YYYY",
                    rec[1].chars().take(40).collect::<String>()
                ),
            )
        })?;
        let mut values = Vec::with_capacity(13);
        for (c, name) in FITBIT_DAILY_COLUMNS.iter().enumerate().skip(2) {
            values.push(number(path, line, name, &rec[c])?);
        }
        data.users.push(user);
        dates.push(date);
        data.values.push(values);
        Ok(())
    })?;
    data.dates = Some(dates);
    if data.is_empty() {
        return Err(DataError::format(path, "no records after the header"));
    }
    Ok(data)
}

/// Reads a numeric CSV: `user_column` (if given) holds whole-number user ids, every other
/// column numbers.
pub fn read_numeric_csv(path: &Path, user_column: Option<&str>) -> Result<TabularData, DataError> {
    let sha256 = sha256_file(path)?;
    let mut rdr = reader(path)?;
    let header = header(path, &mut rdr)?;
    let user_at = match user_column {
        None => None,
        Some(u) => Some(header.iter().position(|h| h == u).ok_or_else(|| {
            DataError::format(
                path,
                format!("line 1: no user column {u:?} (found {})", header.join(",")),
            )
        })?),
    };
    if let Some(dup) = header
        .iter()
        .enumerate()
        .find(|(i, h)| header[..*i].contains(h))
    {
        return Err(DataError::format(
            path,
            format!("line 1: column {:?} appears twice", dup.1),
        ));
    }
    let columns: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != user_at)
        .map(|(_, h)| h.clone())
        .collect();
    if columns.is_empty() {
        return Err(DataError::format(path, "line 1: no value columns"));
    }
    let mut data = TabularData {
        columns,
        users: Vec::new(),
        dates: None,
        values: Vec::new(),
        path: path.display().to_string(),
        sha256,
        kind: "numeric-csv".into(),
    };
    let width = header.len();
    records(path, rdr, width, |line, rec| {
        let mut user = 0;
        let mut values = Vec::with_capacity(width);
        for (c, name) in header.iter().enumerate() {
            if Some(c) == user_at {
                user = rec[c].trim().parse().map_err(|_| {
                    row_error(
                        path,
                        line,
                        format!(
                            "column {name}: {:?} is not a user id (a whole number)",
                            rec[c].chars().take(40).collect::<String>()
                        ),
                    )
                })?;
            } else {
                values.push(number(path, line, name, &rec[c])?);
            }
        }
        data.users.push(user);
        data.values.push(values);
        Ok(())
    })?;
    if data.is_empty() {
        return Err(DataError::format(path, "no records after the header"));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> std::path::PathBuf {
        let p = dir.join("t.csv");
        std::fs::write(&p, text).unwrap();
        p
    }

    const HEADER: &str = "Id,ActivityDate,TotalSteps,TotalDistance,TrackerDistance,LoggedActivitiesDistance,VeryActiveDistance,ModeratelyActiveDistance,LightActiveDistance,SedentaryActiveDistance,VeryActiveMinutes,FairlyActiveMinutes,LightlyActiveMinutes,SedentaryMinutes,Calories";

    #[test]
    fn dates_in_both_forms_and_impossible_dates() {
        assert_eq!(
            Date::parse_us("04/12/2016"),
            Some(Date {
                year: 2016,
                month: 4,
                day: 12
            })
        );
        assert_eq!(
            Date::parse_us("4/13/2016"),
            Some(Date {
                year: 2016,
                month: 4,
                day: 13
            })
        );
        assert_eq!(Date::parse_us("2/29/2016").map(|d| d.day), Some(29));
        for bad in [
            "2/29/2015",
            "13/1/2016",
            "0/1/2016",
            "4/31/2016",
            "2016-04-12",
            "4/12/16",
            "4/12/2016/1",
            "a/1/2016",
            "",
        ] {
            assert_eq!(Date::parse_us(bad), None, "{bad}");
        }
        // 2016-04-12 was a Tuesday; 1970-01-01 a Thursday; 2000-02-29 a Tuesday.
        assert_eq!(Date::parse_us("4/12/2016").unwrap().weekday(), 1);
        assert_eq!(Date::parse_us("1/1/1970").unwrap().weekday(), 3);
        assert_eq!(Date::parse_us("2/29/2000").unwrap().weekday(), 1);
    }

    #[test]
    fn the_real_export_reads_whole() {
        let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/fitbit/dailyActivity_merged.csv");
        let p = if p.exists() {
            p
        } else {
            "/work/shared/data/fitbit/dailyActivity_merged.csv".into()
        };
        let d = read_fitbit_daily(&p).unwrap();
        assert_eq!(d.len(), 940);
        assert_eq!(d.columns.len(), 13);
        assert_eq!(d.distinct_users().len(), 33);
        let steps = d.column(0);
        assert_eq!(steps.iter().cloned().fold(f64::MIN, f64::max), 36019.0);
        assert_eq!(steps.iter().filter(|&&s| s == 0.0).count(), 77);
        let dates = d.dates.as_ref().unwrap();
        assert_eq!(
            dates[0],
            Date {
                year: 2016,
                month: 4,
                day: 12
            }
        );
        assert_eq!(
            dates[1],
            Date {
                year: 2016,
                month: 4,
                day: 13
            }
        );
    }

    #[test]
    fn bad_cells_are_named_by_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let row = "1503960366,4/13/2016,10735,6.97,6.97,0,1.57,0.69,4.71,0,21,19,217,776,1797";
        let ok = format!("{HEADER}\n{row}\n");
        assert_eq!(read_fitbit_daily(&write(dir.path(), &ok)).unwrap().len(), 1);
        let cases = [
            (
                format!("{HEADER}\n{row}\n{}\n", row.replace("10735", "ten")),
                "line 3: column TotalSteps",
            ),
            (
                format!("{HEADER}\n{}\n", row.replace("4/13/2016", "4/31/2016")),
                "line 2: column ActivityDate",
            ),
            (
                format!("{HEADER}\n{}\n", row.replace("1503960366", "x15")),
                "line 2: column Id",
            ),
            (
                format!("{HEADER}\n{}\n", row.replace(",1797", "")),
                "line 2: 14 fields",
            ),
            (
                format!("{HEADER}\n{}\n", row.replace("1797", "inf")),
                "line 2: column Calories",
            ),
            (
                format!("{HEADER}\n{}\n", row.replace("1797", "1e13")),
                "line 2: column Calories",
            ),
            (
                HEADER.replace("Calories", "Kcal") + "\n" + row + "\n",
                "line 1: not a Fitbit",
            ),
            (format!("{HEADER}\n"), "no records"),
        ];
        for (text, expect) in cases {
            let e = read_fitbit_daily(&write(dir.path(), &text))
                .unwrap_err()
                .to_string();
            assert!(e.contains(expect), "{expect}: {e}");
        }
    }

    #[test]
    fn numeric_csvs_with_and_without_users() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "user,a,b\n7,1.5,2\n8,3,4\n7,5,6\n");
        let d = read_numeric_csv(&p, Some("user")).unwrap();
        assert_eq!(d.columns, vec!["a", "b"]);
        assert_eq!(d.users, vec![7, 8, 7]);
        assert_eq!(
            d.subset_users(&[7]).values,
            vec![vec![1.5, 2.0], vec![5.0, 6.0]]
        );
        let d = read_numeric_csv(&p, None).unwrap();
        assert_eq!(d.columns.len(), 3);
        let e = read_numeric_csv(&p, Some("id")).unwrap_err().to_string();
        assert!(e.contains("no user column \"id\""), "{e}");
        let p = write(dir.path(), "a,a\n1,2\n");
        assert!(read_numeric_csv(&p, None)
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let p = write(dir.path(), "a,b\n1,\n");
        let e = read_numeric_csv(&p, None).unwrap_err().to_string();
        assert!(e.contains("line 2: column b"), "{e}");
    }
}
