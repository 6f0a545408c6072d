//! Documented exit codes of the `dpwear` binary (also listed in README.md and `--help`).

use crate::data::{DataError, ErrorClass};

/// Success.
pub const OK: i32 = 0;
/// An unexpected failure (a bug: please report it).
pub const INTERNAL: i32 = 1;
/// The command line is malformed (unknown flag, missing argument, bad value syntax).
pub const USAGE: i32 = 2;
/// An input file or directory does not exist or cannot be read.
pub const INPUT_UNREADABLE: i32 = 3;
/// An input exists but is malformed, truncated, corrupt or of the wrong kind.
pub const INPUT_MALFORMED: i32 = 4;
/// A parameter value is impossible (e.g. 0 subjects, an unknown output format).
pub const INVALID_PARAMETER: i32 = 5;
/// An output could not be written, or would overwrite a file without `--force`.
pub const OUTPUT_FAILED: i32 = 6;
/// A manifest cell does not match this binary or its recorded inputs (re-run `dpwear plan`).
pub const STALE_CELL: i32 = 7;
/// Some cells of a campaign failed (`dpwear run`); each failure is in its cell's log.
pub const CELLS_FAILED: i32 = 8;
/// Slurm is not installed here, its controller cannot be reached, or it refused a request
/// (EX_UNAVAILABLE); nothing was submitted by the failing command.
pub const SCHEDULER_UNAVAILABLE: i32 = 69;
/// A cell was interrupted (signal, Slurm time limit) after saving its finished folds; running
/// it again resumes (EX_TEMPFAIL).
pub const RESUMABLE: i32 = 75;
/// Interrupted (Ctrl-C); finished work is kept.
pub const INTERRUPTED: i32 = 130;

/// The table printed in `--help`.
pub const TABLE: &str = "\
Exit codes:
  0    success
  1    unexpected internal error (a bug)
  2    command-line usage error
  3    an input file or directory is missing or unreadable
  4    an input is malformed, truncated, corrupt or of the wrong kind
  5    an impossible parameter value
  6    an output cannot be written (or exists and --force was not given)
  7    a manifest cell does not match this binary or its inputs (re-run `dpwear plan`)
  8    some cells of the campaign failed (see their logs and `dpwear status`)
  69   Slurm is not installed, not reachable, or refused a request
  75   a cell was interrupted after saving its finished folds; rerunning resumes it
  130  interrupted";

/// Exit code for a data-layer error.
/// The exit code of a job-body failure class.
pub fn for_fault(f: crate::pipeline::Fault) -> i32 {
    use crate::pipeline::Fault;
    match f {
        Fault::Internal => INTERNAL,
        Fault::InputUnreadable => INPUT_UNREADABLE,
        Fault::InputMalformed => INPUT_MALFORMED,
        Fault::InvalidParameter => INVALID_PARAMETER,
        Fault::OutputFailed => OUTPUT_FAILED,
        Fault::Stale => STALE_CELL,
        Fault::Resumable => RESUMABLE,
    }
}

pub fn for_data_error(e: &DataError) -> i32 {
    match e.class() {
        ErrorClass::InputUnreadable => INPUT_UNREADABLE,
        ErrorClass::InputMalformed => INPUT_MALFORMED,
        ErrorClass::InvalidParameter => INVALID_PARAMETER,
        ErrorClass::OutputFailed => OUTPUT_FAILED,
    }
}
