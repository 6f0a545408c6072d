//! `dpwear serve`: starts the generator web page (see `serve` and `docs/serve.md`). Prints
//! `listening on http://HOST:PORT/` on stdout once the socket is bound (with `--bind
//! 127.0.0.1:0` the system picks the port), then serves until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::{exit, CliError};
use crate::serve::{ServeError, ServeOptions};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Folder searched (recursively) for generator checkpoints (folders holding
    /// model-card.json, campaign folders included).
    #[arg(long)]
    pub models: PathBuf,
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub bind: SocketAddr,
    /// A host name clients may use besides the bound address (repeatable); required for a
    /// non-loopback --bind. Requests naming any other host are refused (DNS rebinding).
    #[arg(long = "allow-host")]
    pub allow_host: Vec<String>,
    /// A real dataset store you own: the page compares each generation with its aggregate
    /// statistics (per-channel histograms, channel correlations; never a real window).
    #[arg(long)]
    pub real: Option<PathBuf>,
    /// libtorch threads of the generation worker (default: all cores).
    #[arg(long, value_parser = crate::config::limits::threads)]
    pub threads: Option<usize>,
}

fn cli_error(e: ServeError) -> CliError {
    CliError::new(exit::for_fault(e.fault()), "serve the generator page", e)
}

pub fn run(a: ServeArgs) -> Result<(), CliError> {
    #[cfg(unix)]
    // SAFETY: ignoring SIGPIPE before the server's threads start: a client or a stdout
    // reader that goes away must give an error, not end the server.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let opts = ServeOptions {
        models: a.models,
        bind: a.bind,
        allow_hosts: a.allow_host,
        real: a.real,
        threads: a.threads,
    };
    crate::serve::run(&opts, |addr, state| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}/");
        let _ = out.flush();
        let unfinished = state
            .registry
            .models
            .iter()
            .filter(|m| !m.card.is_complete())
            .count();
        crate::cli::logging::notice(format_args!(
            "serving {} generator checkpoints from {} ({} unfinished, {} unreadable){}; Ctrl-C stops",
            state.registry.models.len(),
            opts.models.display(),
            unfinished,
            state.registry.skipped.len(),
            if opts.bind.ip().is_loopback() {
                String::new()
            } else {
                format!("; WARNING: listening on {} beyond this machine, with no login", opts.bind)
            }
        ));
    })
    .map_err(cli_error)
}
