//! Request guards of a local research server, applied to every route:
//!
//! - **Host allow-list** (against DNS rebinding): the `Host` header must name the bound
//!   address, `localhost` on its port, or a name given with `--allow-host`; otherwise 421.
//! - **Cross-site requests**: a state-changing request (anything but GET, HEAD, OPTIONS) that
//!   the browser marks `Sec-Fetch-Site: cross-site` or `same-site`, or whose `Origin` is not
//!   `http://` + an allowed host, gets 403. (POST bodies must also be `application/json`,
//!   checked by the route, so a cross-origin form cannot post without a preflight, and there is
//!   no CORS layer to answer one.)
//! - **Headers** on every response: a Content-Security-Policy that allows only this origin's
//!   scripts, styles and connections and no framing, `nosniff`, no referrer, `DENY` framing.
//!
//! May depend on: axum.

use std::collections::HashSet;
use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

pub const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The host names (with port) requests may carry.
#[derive(Clone, Debug)]
pub struct HostPolicy {
    allowed: HashSet<String>,
}

impl HostPolicy {
    /// Allows the bound address, `localhost:PORT` for a loopback bind, and `extra` names
    /// (with or without a port; without one, the bound port is added).
    pub fn new(bound: SocketAddr, extra: &[String]) -> HostPolicy {
        let port = bound.port();
        let mut allowed = HashSet::new();
        allowed.insert(bound.to_string().to_ascii_lowercase());
        if bound.ip().is_loopback() {
            allowed.insert(format!("localhost:{port}"));
            allowed.insert(format!("127.0.0.1:{port}"));
            allowed.insert(format!("[::1]:{port}"));
        }
        for name in extra {
            let name = name.to_ascii_lowercase();
            if name.contains(':') && !name.ends_with(']') {
                allowed.insert(name);
            } else {
                allowed.insert(format!("{name}:{port}"));
            }
        }
        HostPolicy { allowed }
    }

    pub fn allows_host(&self, host: &str) -> bool {
        self.allowed.contains(&host.to_ascii_lowercase())
    }

    fn allows_origin(&self, origin: &str) -> bool {
        origin
            .strip_prefix("http://")
            .is_some_and(|h| self.allows_host(h))
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    ApiError::new(status, message).into_response()
}

/// The guard middleware (see the module docs).
pub async fn guard(State(policy): State<HostPolicy>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let mut response = match host {
        Some(h) if policy.allows_host(&h) => {
            let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
            let site = req
                .headers()
                .get("sec-fetch-site")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
            if !safe && matches!(site, "cross-site" | "same-site") {
                refuse(StatusCode::FORBIDDEN, "cross-site request refused")
            } else if !safe && origin.is_some_and(|o| !policy.allows_origin(o)) {
                refuse(StatusCode::FORBIDDEN, "request from another origin refused")
            } else {
                next.run(req).await
            }
        }
        _ => refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers only to its own address (Host header not allowed; see --allow-host)",
        ),
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_binds_allow_their_own_names_only() {
        let p = HostPolicy::new("127.0.0.1:8765".parse().unwrap(), &[]);
        assert!(p.allows_host("127.0.0.1:8765"));
        assert!(p.allows_host("LOCALHOST:8765"));
        assert!(!p.allows_host("localhost:8766"));
        assert!(!p.allows_host("evil.example:8765"));
        assert!(!p.allows_host("localhost"));
        assert!(p.allows_origin("http://localhost:8765"));
        assert!(!p.allows_origin("https://localhost:8765"));
        assert!(!p.allows_origin("http://evil.example"));
    }

    #[test]
    fn extra_names_take_the_bound_port() {
        let p = HostPolicy::new("0.0.0.0:9000".parse().unwrap(), &["node7.cluster".into()]);
        assert!(p.allows_host("node7.cluster:9000"));
        assert!(!p.allows_host("localhost:9000"));
    }
}
