//! The errors of `dpwear serve`: start-up failures ([`ServeError`], mapped to exit codes by
//! `cli`) and request failures ([`ApiError`], a status code and a JSON body
//! `{"error": …, "field": …}` that names ids and form fields, never server paths).
//!
//! May depend on: axum, pipeline's fault classes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::pipeline::Fault;

/// A failure to start serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("--models {path}: {message}")]
    Models { path: String, message: String },
    #[error("--real {path}: {message}")]
    Real {
        path: String,
        message: String,
        fault: Fault,
    },
    #[error("{0}")]
    Options(String),
    #[error("listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Runtime(String),
}

impl ServeError {
    /// The failure class (for the exit code).
    pub fn fault(&self) -> Fault {
        match self {
            ServeError::Models { .. } => Fault::InputUnreadable,
            ServeError::Real { fault, .. } => *fault,
            ServeError::Options(_) | ServeError::Bind { .. } => Fault::InvalidParameter,
            ServeError::Runtime(_) => Fault::Internal,
        }
    }
}

/// A failed request.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The form field at fault, for inline errors.
    pub field: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            field: None,
        }
    }
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            field: Some(field),
        }
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, what)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message });
        if let Some(f) = self.field {
            body["field"] = f.into();
        }
        (self.status, axum::Json(body)).into_response()
    }
}
