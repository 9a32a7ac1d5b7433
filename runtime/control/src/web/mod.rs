//! The operator's dashboard: a page at `/` and its files under `/ui/`, embedded in the binary
//! (no build step, nothing fetched at run time), served by the API's own router behind the
//! same guard, auth and TLS. The page is a small set of JavaScript modules over the JSON API;
//! `docs/dashboard.md` says why and how.
//!
//! Besides the files: browser sessions (`session.rs`, `login.rs`: a token given once becomes
//! an `HttpOnly` cookie with a CSRF token), the journal view (`journal.rs`), and the live
//! stream of the pages with the sampler behind it (`live.rs`, `sampler.rs`).

pub(crate) mod journal;
pub(crate) mod live;
pub(crate) mod login;
mod sampler;
pub(crate) mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;

/// What the dashboard keeps beside the API's state.
#[derive(Debug)]
pub(crate) struct WebState {
    pub(crate) sessions: session::Sessions,
    pub(crate) live: Arc<sampler::Hub>,
    /// One journal read at a time (each may scan files of many MiB).
    pub(crate) journal_reads: tokio::sync::Semaphore,
}

impl WebState {
    pub(crate) fn new() -> Self {
        Self {
            sessions: session::Sessions::default(),
            live: Arc::default(),
            journal_reads: tokio::sync::Semaphore::new(1),
        }
    }
}

/// The session a request's cookie stands for, as `(session id, token value)`. A state-changing
/// request must also carry the session's CSRF token in `X-CSRF-Token`: a page of another site
/// cannot read it, so it cannot send it.
pub(crate) fn session_token(parts: &Parts, s: &AppState) -> Result<(String, String), ApiError> {
    let id = session::cookie(&parts.headers, s.guard.https).ok_or_else(|| {
        ApiError::Unauthenticated(
            "missing Authorization: Bearer token (or a session: log in on the dashboard)".into(),
        )
    })?;
    let found = s.web.sessions.find(&id).ok_or_else(|| {
        ApiError::Unauthenticated("the session has ended or is unknown; log in again".into())
    })?;
    if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = parts
            .headers
            .get(session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !session::same_secret(sent, &found.csrf) {
            return Err(ApiError::Refused(
                "a request with a session cookie must carry its X-CSRF-Token".into(),
            ));
        }
    }
    Ok((id, found.token))
}

/// One embedded file.
#[derive(Debug)]
struct Asset {
    path: &'static str,
    kind: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $kind:expr) => {
        Asset {
            path: $path,
            kind: $kind,
            body: include_bytes!(concat!("assets/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the dashboard; `index.html` is served at `/`.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("live.js", JS),
    asset!("view.js", JS),
    asset!("overview.js", JS),
    asset!("drive.js", JS),
    asset!("commands.js", JS),
    asset!("charts.js", JS),
    asset!("changes.js", JS),
    asset!("diff.js", JS),
    asset!("journal.js", JS),
    asset!("vendor/uplot/uPlot.iife.min.js", JS),
    asset!("vendor/uplot/uPlot.min.css", "text/css; charset=utf-8"),
];

/// The dashboard's routes. They are not API endpoints: they stay out of `ROUTES` and the
/// OpenAPI document, and need no token (the page holds no data until someone logs in).
pub(crate) const UI_ROUTES: [&str; 2] = ["/", "/ui/{*file}"];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            UI_ROUTES[0],
            get(|h: HeaderMap| async move { serve("index.html", &h) }),
        )
        .route(
            UI_ROUTES[1],
            get(|Path(file): Path<String>, h: HeaderMap| async move { serve(&file, &h) }),
        )
}

/// Scripts, styles and connections from this origin only; no framing (clickjacking).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(a) = ASSETS.iter().find(|a| a.path == path) else {
        return ApiError::UnknownPath(format!("/ui/{path}")).into_response();
    };
    let etag = format!("\"{:08x}\"", crc32fast::hash(a.body));
    let common = [
        (CACHE_CONTROL, "no-cache"),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (REFERRER_POLICY, "no-referrer"),
        (X_FRAME_OPTIONS, "DENY"),
        (CONTENT_SECURITY_POLICY, CSP),
    ];
    if headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return (StatusCode::NOT_MODIFIED, common, [(ETAG, etag)]).into_response();
    }
    (common, [(CONTENT_TYPE, a.kind), (ETAG, &etag)], a.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_served_with_its_type_and_revalidated_by_etag() {
        for a in ASSETS {
            let r = serve(a.path, &HeaderMap::new());
            assert_eq!(r.status(), StatusCode::OK, "{}", a.path);
            assert_eq!(r.headers()[CONTENT_TYPE], a.kind);
            let etag = r.headers()[ETAG].clone();
            let mut h = HeaderMap::new();
            h.insert(IF_NONE_MATCH, etag);
            assert_eq!(serve(a.path, &h).status(), StatusCode::NOT_MODIFIED);
        }
        assert_eq!(
            serve("../Cargo.toml", &HeaderMap::new()).status(),
            StatusCode::NOT_FOUND
        );
    }
}
