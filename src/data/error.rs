//! Errors of the data layer. Every variant names the file it is about; messages read after
//! "failed to …" in the CLI. [`DataError::class`] tells the CLI which exit code to use.

use std::path::PathBuf;

/// Broad class of an error, mapped to exit codes by the CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The input does not exist or cannot be read.
    InputUnreadable,
    /// The input exists but is malformed, truncated, corrupt or of the wrong kind.
    InputMalformed,
    /// A parameter value is impossible.
    InvalidParameter,
    /// An output could not be written.
    OutputFailed,
}

/// An error of the data layer.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a readable pickle: {reason} (at byte {offset})", path.display())]
    Pickle {
        path: PathBuf,
        offset: usize,
        reason: String,
    },
    #[error("{}: {reason}", path.display())]
    Format { path: PathBuf, reason: String },
    #[error("{}: invalid data: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("{}: HDF5: {source}", path.display())]
    Hdf5 {
        path: PathBuf,
        #[source]
        source: hdf5::Error,
    },
    #[error("cannot write {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("invalid parameter {name}: {reason}")]
    Parameter { name: String, reason: String },
}

impl DataError {
    /// The broad class, for exit codes.
    pub fn class(&self) -> ErrorClass {
        match self {
            DataError::Io { .. } => ErrorClass::InputUnreadable,
            DataError::Pickle { .. }
            | DataError::Format { .. }
            | DataError::Invalid { .. }
            | DataError::Hdf5 { .. } => ErrorClass::InputMalformed,
            DataError::Write { .. } => ErrorClass::OutputFailed,
            DataError::Parameter { .. } => ErrorClass::InvalidParameter,
        }
    }

    /// Shorthand for a [`DataError::Format`].
    pub fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        DataError::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for a [`DataError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
