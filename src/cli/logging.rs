//! tracing set-up: human-readable lines on stderr, or JSON inside Slurm jobs (or with
//! `--log-format json`). `-v` raises the level; `RUST_LOG` overrides everything.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (idempotent: a second call is ignored).
pub fn init(verbose: u8, format: Option<&str>) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let json = match format {
        Some("json") => true,
        Some(_) => false,
        None => std::env::var_os("SLURM_JOB_ID").is_some(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
