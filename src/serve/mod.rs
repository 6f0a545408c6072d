//! `dpwear serve`: the generator web page. A local HTTP server (axum on tokio) that lists the
//! generator checkpoints under a folder with their model cards, generates synthetic subjects
//! on a worker thread with progress sent as server-sent events (cancellable), plots them,
//! compares them with aggregate statistics of a real store the user owns, and serves them as
//! CSV, HDF5 or NPZ with their manifest. The API, pages and safety measures are described in
//! `docs/serve.md`.
//!
//! - [`registry`]: checkpoints found at start-up, under opaque ids;
//! - [`jobs`], [`worker`]: the job table and the one generation thread (models stay loaded);
//! - [`results`]: a finished job's summaries, manifest and CLI line;
//! - [`routes`]: the HTTP routes; [`guard`]: Host allow-list, cross-site refusal, headers;
//! - [`downloads`], [`compare`], [`assets`]: downloads, real-vs-synthetic aggregates, the
//!   embedded page files.
//!
//! May depend on: pipeline, models, training (through pipeline), data, an HTTP stack.
//! Must never use: orchestration; it reads no file a request names.

pub mod assets;
pub mod compare;
pub mod downloads;
pub mod error;
pub mod guard;
pub mod jobs;
pub mod registry;
pub mod results;
pub mod routes;
pub mod worker;

#[cfg(test)]
mod tests;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use error::{ApiError, ServeError};

/// What `dpwear serve` was asked to do.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The folder searched for checkpoints.
    pub models: PathBuf,
    pub bind: SocketAddr,
    /// Extra host names clients may use (needed for a non-loopback bind).
    pub allow_hosts: Vec<String>,
    /// A real dataset store for the aggregate comparison.
    pub real: Option<PathBuf>,
    /// libtorch threads of the generation worker.
    pub threads: Option<usize>,
}

/// The shared state and the worker, built from the options (before binding).
pub fn state(opts: &ServeOptions) -> Result<Arc<routes::AppState>, ServeError> {
    let registry = Arc::new(registry::Registry::scan(&opts.models)?);
    let real = match &opts.real {
        None => None,
        Some(path) => {
            let ds = crate::data::store::read_dataset(path).map_err(|e| ServeError::Real {
                path: path.display().to_string(),
                message: e.to_string(),
                fault: crate::pipeline::Fault::of_data(&e),
            })?;
            let name = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            Some(compare::RealStats::new(&name, &ds))
        }
    };
    let models_arg = opts.models.display().to_string();
    let worker = worker::spawn(registry.clone(), models_arg, opts.threads)
        .map_err(|e| ServeError::Runtime(format!("start the generation thread: {e}")))?;
    Ok(Arc::new(routes::AppState {
        registry,
        jobs: jobs::Jobs::default(),
        worker,
        real,
        event_streams: Arc::new(tokio::sync::Semaphore::new(routes::MAX_EVENT_STREAMS)),
    }))
}

/// Checks the options: a non-loopback bind needs the host names clients will use.
pub fn check_options(opts: &ServeOptions) -> Result<(), ServeError> {
    if !opts.bind.ip().is_loopback() && opts.allow_hosts.is_empty() {
        return Err(ServeError::Options(format!(
            "--bind {} is not a loopback address: anyone who can reach it could use the page; give --allow-host NAME for each host name clients will use (the page has no login)",
            opts.bind
        )));
    }
    for h in &opts.allow_hosts {
        if h.is_empty()
            || h.len() > 253
            || !h
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        {
            return Err(ServeError::Options(format!(
                "--allow-host {h:?} is not a host name"
            )));
        }
    }
    Ok(())
}

/// Serves until Ctrl-C or SIGTERM; `listening(addr)` is called once the socket is bound.
pub fn run(
    opts: &ServeOptions,
    listening: impl FnOnce(SocketAddr, &routes::AppState),
) -> Result<(), ServeError> {
    check_options(opts)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ServeError::Runtime(format!("start the async runtime: {e}")))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .map_err(|source| ServeError::Bind {
                addr: opts.bind.to_string(),
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: opts.bind.to_string(),
            source,
        })?;
        let state = tokio::task::block_in_place(|| self::state(opts))?;
        let hosts = guard::HostPolicy::new(bound, &opts.allow_hosts);
        listening(bound, &state);
        let app = routes::app(state, hosts);
        // Ctrl-C or SIGTERM: stop accepting, let requests finish, but give open progress
        // streams at most a few seconds.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown().await;
            let _ = stop_tx.send(true);
        });
        let mut graceful = stop_rx.clone();
        let server = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = graceful.wait_for(|stop| *stop).await;
            })
            .into_future();
        let mut deadline = stop_rx;
        tokio::select! {
            served = server => served.map_err(|e| ServeError::Runtime(format!("serve: {e}"))),
            _ = async move {
                let _ = deadline.wait_for(|stop| *stop).await;
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            } => Ok(()),
        }
    })
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
