//! tracing set-up: human-readable lines on stderr, or JSON inside Slurm jobs (or with
//! `--log-format json`). `-v` raises the level; `RUST_LOG` overrides everything.
//!
//! Colours only when stderr is a terminal. In JSON mode stderr carries JSON lines only: the
//! plain status lines of the commands ([`crate::notice!`]) and the final error line go through
//! tracing under the target [`NOTICE_TARGET`], which every filter lets through at info.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

/// Target of the status lines that are always shown (also with `RUST_LOG` set).
pub const NOTICE_TARGET: &str = "dpwear::notice";

static JSON: AtomicBool = AtomicBool::new(false);

/// Whether log lines are JSON (then nothing else may be written to stderr).
pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// The level for `-v` counts.
fn level(verbose: u8) -> &'static str {
    match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    }
}

/// The filter: `RUST_LOG` or the `-v` level, plus the notice target at info.
fn filter(verbose: u8, rust_log: Option<&str>) -> EnvFilter {
    let base = rust_log
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new(level(verbose)));
    match format!("{NOTICE_TARGET}=info").parse() {
        Ok(d) => base.add_directive(d),
        Err(_) => base,
    }
}

/// Whether to log JSON for `--log-format` (None: inside a Slurm job).
fn wants_json(format: Option<&str>, in_slurm_job: bool) -> bool {
    match format {
        Some("json") => true,
        Some(_) => false,
        None => in_slurm_job,
    }
}

/// Installs the global subscriber (idempotent: a second call is ignored).
pub fn init(verbose: u8, format: Option<&str>) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = filter(verbose, rust_log.as_deref());
    let json = wants_json(format, std::env::var_os("SLURM_JOB_ID").is_some());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let installed = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if installed.is_ok() {
        JSON.store(json, Ordering::Relaxed);
    }
}

/// Writes one status line to stderr: as is in text mode, as a JSON log record in JSON mode.
pub fn notice(line: std::fmt::Arguments<'_>) {
    if is_json() {
        tracing::info!(target: NOTICE_TARGET, "{line}");
    } else {
        eprintln!("{line}");
    }
}

/// The final error line of a failed command (`dpwear: failed to …`).
pub fn error_line(message: &str, code: i32) {
    if is_json() {
        tracing::error!(target: NOTICE_TARGET, exit_code = code, "dpwear: {message}");
    } else {
        eprintln!("dpwear: {message}");
    }
}

/// `eprintln!` for the commands' status lines; JSON-safe (see [`notice`]).
#[macro_export]
macro_rules! notice {
    ($($arg:tt)*) => {
        $crate::cli::logging::notice(format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_pass_every_filter_and_json_follows_the_flag() {
        let f = filter(0, Some("error")).to_string();
        assert!(
            f.contains("dpwear::notice=info") && f.contains("error"),
            "{f}"
        );
        let f = filter(2, None).to_string();
        assert!(
            f.contains("debug") && f.contains("dpwear::notice=info"),
            "{f}"
        );
        assert!(wants_json(Some("json"), false));
        assert!(!wants_json(Some("text"), true));
        assert!(wants_json(None, true) && !wants_json(None, false));
    }
}
