//! Checks every request passes before a handler sees it, whether or not tokens are configured:
//! - **DNS rebinding**: the `Host` must be an IP address, `localhost`, or a name listed in
//!   `control.allowed_hosts`; a page on `evil.example` that resolves to the gateway is refused.
//! - **Cross-site requests** (a web page in a browser on the gateway's network): a state-changing
//!   request (any method but GET/HEAD/OPTIONS) is refused when `Sec-Fetch-Site` says cross-site
//!   or same-site, or its `Origin` is not this API's own, or its body is not
//!   `application/json`/`application/toml` (the types a form or a no-preflight `fetch` cannot
//!   send).
//! - **Slow bodies**: a body must arrive within the body deadline.
//! - **Command rate**: drive commands per peer address are limited (a token bucket).
//! - **Audit**: every 401 and 403 is logged and journalled with the peer address (rate-limited,
//!   with the number suppressed).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, TRANSFER_ENCODING};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::warn;

use crate::api::CONFIG_LIMIT;
use crate::error::ApiError;
use crate::state::AppState;

/// What the guard checks against, from `[control]`.
#[derive(Debug)]
pub(crate) struct Guard {
    /// Host names, besides IP addresses and `localhost`, the API answers to.
    pub(crate) allowed_hosts: Vec<String>,
    /// The API is served over TLS (the scheme of its own origin).
    pub(crate) https: bool,
    /// Time for a request body to arrive.
    pub(crate) body_timeout: Duration,
    /// Drive commands per second per peer address, and the burst.
    pub(crate) commands_per_s: f64,
    pub(crate) commands_burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    audit: Mutex<Audit>,
}

/// Refusals journalled in the current second, and those suppressed since the last record.
#[derive(Debug, Default)]
struct Audit {
    second: Option<Instant>,
    written: u32,
    suppressed: u64,
}

/// Refused-request records journalled per second at most (a 401 flood must not fill the disk).
const AUDIT_PER_S: u32 = 10;

impl Guard {
    pub(crate) fn new(allowed_hosts: Vec<String>, https: bool) -> Self {
        Self {
            allowed_hosts,
            https,
            body_timeout: Duration::from_secs(10),
            commands_per_s: 20.0,
            commands_burst: 40.0,
            buckets: Mutex::new(HashMap::new()),
            audit: Mutex::new(Audit::default()),
        }
    }

    fn host_ok(&self, host: &str) -> bool {
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host.rsplit_once(':').map_or(host, |(h, _)| h),
        };
        name.parse::<IpAddr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || self
                .allowed_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
    }

    /// Takes one command from `peer`'s bucket; false when it is empty.
    fn take_command(&self, peer: IpAddr) -> bool {
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() > 4096 {
            b.clear();
        }
        let now = Instant::now();
        let (tokens, at) = b.entry(peer).or_insert((self.commands_burst, now));
        *tokens =
            (*tokens + at.elapsed().as_secs_f64() * self.commands_per_s).min(self.commands_burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether this refusal is journalled, and how many were suppressed before it.
    fn audit_slot(&self) -> Option<u64> {
        let mut a = self.audit.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if a.second
            .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1))
        {
            a.second = Some(now);
            a.written = 0;
        }
        if a.written < AUDIT_PER_S {
            a.written += 1;
            Some(std::mem::take(&mut a.suppressed))
        } else {
            a.suppressed += 1;
            None
        }
    }
}

fn refuse(what: impl Into<String>) -> ApiError {
    ApiError::Refused(what.into())
}

/// The request's own checks; `Err` is the refusal.
fn check(g: &Guard, req: &Request) -> Result<(), ApiError> {
    let h = req.headers();
    // A browser always sends Host; a request without one (HTTP/1.0, a test) cannot be a
    // rebinding attack, but neither can it show a matching Origin.
    let host = h
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("");
    if !host.is_empty() && !g.host_ok(host) {
        return Err(refuse(format!(
            "Host \"{host}\" is not this gateway's (an IP address, localhost, or a name in control.allowed_hosts)"
        )));
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(refuse(format!(
            "cross-site request (Sec-Fetch-Site: {})",
            site.unwrap_or("")
        )));
    }
    if let Some(origin) = h.get(ORIGIN) {
        let scheme = if g.https { "https" } else { "http" };
        let own = format!("{scheme}://{host}");
        let origin = origin.to_str().unwrap_or("");
        if !origin.eq_ignore_ascii_case(&own) {
            return Err(refuse(format!(
                "cross-site request (Origin {origin}, this API is {own})"
            )));
        }
    }
    let has_body = h.contains_key(TRANSFER_ENCODING)
        || h.get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|n| n.trim() != "0");
    let media = h.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match media.as_deref() {
        Some("application/json" | "application/toml") => Ok(()),
        None if !has_body => Ok(()),
        other => Err(ApiError::MediaType(other.unwrap_or("none").to_owned())),
    }
}

/// The guard middleware (outermost layer of the router).
pub(crate) async fn guard(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let g = &s.guard;
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let response = match admit(g, req, peer).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    let status = response.status();
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        && let Some(suppressed) = g.audit_slot()
    {
        warn!(%method, path, peer = ?peer, status = status.as_u16(), "API request refused");
        s.journal(json!({
            "kind": "refused", "method": method.as_str(), "path": path,
            "peer": peer.map(|p| p.to_string()), "status": status.as_u16(),
            "suppressed_before": suppressed,
        }));
    }
    response
}

async fn admit(g: &Guard, req: Request, peer: Option<SocketAddr>) -> Result<Request, ApiError> {
    check(g, &req)?;
    if req.method() == Method::POST
        && req.uri().path().ends_with("/commands")
        && let Some(p) = peer
        && !g.take_command(p.ip())
    {
        return Err(ApiError::TooManyRequests(format!(
            "more than {} commands per second from {}",
            g.commands_per_s,
            p.ip()
        )));
    }
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok(req);
    }
    // The whole body within the deadline (a trickling body would hold a connection slot); the
    // routes' own limits still apply when the handler reads it.
    let (parts, body) = req.into_parts();
    let bytes = tokio::time::timeout(g.body_timeout, axum::body::to_bytes(body, CONFIG_LIMIT))
        .await
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "request body not received within {} s",
                g.body_timeout.as_secs()
            ))
        })?
        .map_err(|_| ApiError::TooLarge {
            limit: CONFIG_LIMIT,
        })?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
