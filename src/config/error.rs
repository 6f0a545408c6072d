//! Errors of the experiment file, each naming the file and, where known, the line and column.

use std::path::PathBuf;

/// Why an experiment file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("read {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Malformed TOML, a wrong type or an unknown key (the TOML parser's message carries the
    /// line, column and a caret under the offending text).
    #[error("parse {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    /// A value or combination that is well-formed but impossible.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// The text of a TOML file `what` (e.g. "an experiment file"): a file that cannot be read is
/// [`ConfigError::Unreadable`]; one that exists but is not UTF-8 is malformed, not unreadable.
pub fn read_toml_text(path: &std::path::Path, what: &str) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: format!(
            "not UTF-8 text (invalid byte at offset {}); {what} is TOML",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// Line and column (both 1-based) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map(|i| before[i + 1..].chars().count())
        .unwrap_or_else(|| before.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn line_and_column_are_one_based() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(line_column(t, 0), (1, 1));
        assert_eq!(line_column(t, 6), (2, 1));
        assert_eq!(line_column(t, 11), (2, 6));
        assert_eq!(line_column(t, 999), (3, 1));
    }
}
