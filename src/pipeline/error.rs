//! The one error type of the job body: what failed (read after "failed to"), why, and which
//! class of failure it is; `cli` maps the class to its documented exit code.
//!
//! May depend on: data (its error classes), thiserror.

use crate::data::{DataError, ErrorClass};

/// The class of a failure (each has one exit code in `cli::exit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A bug or an unexpected library failure.
    Internal,
    InputUnreadable,
    InputMalformed,
    InvalidParameter,
    OutputFailed,
    /// An input changed since it was planned (plan again).
    Stale,
    /// Interrupted with the work so far saved: run the same command again.
    Resumable,
}

impl Fault {
    /// The class of a data-layer error.
    pub fn of_data(e: &DataError) -> Self {
        match e.class() {
            ErrorClass::InputUnreadable => Fault::InputUnreadable,
            ErrorClass::InputMalformed => Fault::InputMalformed,
            ErrorClass::InvalidParameter => Fault::InvalidParameter,
            ErrorClass::OutputFailed => Fault::OutputFailed,
        }
    }
}

/// A failed step of a job.
#[derive(Debug, thiserror::Error)]
#[error("failed to {action}: {cause}")]
pub struct JobError {
    pub fault: Fault,
    pub action: String,
    pub cause: String,
}

impl JobError {
    pub fn new(fault: Fault, action: impl Into<String>, cause: impl std::fmt::Display) -> Self {
        Self {
            fault,
            action: action.into(),
            cause: cause.to_string(),
        }
    }

    /// A data-layer error raised while doing `action`, classed as the data layer says.
    pub fn data(action: impl Into<String>, e: DataError) -> Self {
        Self::new(Fault::of_data(&e), action, e)
    }

    pub fn invalid(action: impl Into<String>, cause: impl std::fmt::Display) -> Self {
        Self::new(Fault::InvalidParameter, action, cause)
    }
}
