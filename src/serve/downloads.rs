//! Downloads of a finished job, each carrying its manifest (model id, ε, δ, seed, request,
//! digests, the CLI line, the model card):
//!
//! - `csv`: streamed in 64 KiB chunks as it is written (never whole in memory), the manifest as
//!   leading `#` lines;
//! - `npz`: built once in memory (NumPy's zip needs seeking), the manifest as a uint8 array;
//! - `h5`: a dataset store written to a temporary file, unlinked once opened, streamed from
//!   the open file (the manifest is in the store's provenance note).
//!
//! Writing runs on blocking threads; a client that goes away stops the writer.
//!
//! May depend on: pipeline::synthetic_output, data::store, tokio.

use std::io::{Read, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::error::ApiError;
use super::results::JobOutput;
use crate::pipeline::synthetic_output;

const CHUNK: usize = 64 * 1024;

type Chunk = Result<Bytes, std::io::Error>;

/// A `Write` that sends full chunks into a channel (blocking; an error once the reader left).
struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// A body fed by `produce` on a blocking thread.
fn streamed(
    produce: impl FnOnce(&mut ChannelWriter) -> std::io::Result<()> + Send + 'static,
) -> Body {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let result = produce(&mut w).and_then(|()| w.flush());
        if let Err(e) = result {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                tracing::warn!("download failed: {e}");
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    Body::from_stream(ReceiverStream::new(rx))
}

/// The formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    H5,
    Npz,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, ApiError> {
        match s {
            "csv" => Ok(Format::Csv),
            "h5" => Ok(Format::H5),
            "npz" => Ok(Format::Npz),
            other => Err(ApiError::field(
                "format",
                format!(
                    "unknown format {:?} (csv, h5 or npz)",
                    other.chars().take(16).collect::<String>()
                ),
            )),
        }
    }
    pub fn ext(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::H5 => "h5",
            Format::Npz => "npz",
        }
    }
    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::H5 => "application/x-hdf5",
            Format::Npz => "application/octet-stream",
        }
    }
}

fn attachment(body: Body, format: Format, filename: &str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// A fresh temporary path for an HDF5 download.
fn temp_h5() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "dpwear-serve-{}-{}.h5",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ))
}

/// The download of `output` in `format`, named `filename` (server-made, ASCII).
pub async fn download(
    output: Arc<JobOutput>,
    format: Format,
    filename: String,
) -> Result<Response, ApiError> {
    match format {
        Format::Csv => {
            let body = streamed(move |w| {
                synthetic_output::write_csv(w, &output.dataset, &output.csv_comments())
            });
            Ok(attachment(body, format, &filename))
        }
        Format::Npz => {
            let bytes = tokio::task::spawn_blocking(move || {
                let mut buf = std::io::Cursor::new(Vec::new());
                let manifest = serde_json::to_vec(&output.manifest).unwrap_or_default();
                synthetic_output::write_npz(&mut buf, &output.dataset, Some(&manifest))
                    .map(|()| buf.into_inner())
            })
            .await
            .map_err(|e| ApiError::internal(format!("NPZ writer: {e}")))?
            .map_err(|e| ApiError::internal(format!("write NPZ: {e}")))?;
            Ok(attachment(Body::from(bytes), format, &filename))
        }
        Format::H5 => {
            let file = tokio::task::spawn_blocking(move || {
                let path = temp_h5();
                let written = crate::data::store::write_dataset(&path, &output.dataset);
                let opened = written
                    .map_err(|e| e.to_string())
                    .and_then(|()| std::fs::File::open(&path).map_err(|e| e.to_string()));
                let _ = std::fs::remove_file(&path);
                opened
            })
            .await
            .map_err(|e| ApiError::internal(format!("HDF5 writer: {e}")))?
            .map_err(|e| ApiError::internal(format!("write the dataset store: {e}")))?;
            let body = streamed(move |w| {
                let mut file = file;
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        return Ok(());
                    }
                    w.write_all(&buf[..n])?;
                }
            });
            Ok(attachment(body, format, &filename))
        }
    }
}
