//! `/api/v1/session`: log in with a token (a session cookie and a CSRF token come back), ask
//! who is logged in, log out. Logins and logouts are journalled with the peer.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, SET_COOKIE};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::session::{self, IDLE, LIFETIME};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    token: String,
}

/// `POST /api/v1/session` with `{"token": "…"}`.
pub(crate) async fn login(
    State(s): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    // The guard already checked Host, Origin and the content type, like any POST's.
    let body = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let Some(tokens) = s.tokens.as_ref().map(|t| t.load()) else {
        return Err(ApiError::BadRequest(
            "this API has no tokens file: it is open on loopback and needs no login".into(),
        ));
    };
    let login: Login =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("login: {e}")))?;
    let peer = peer.map(|p| p.0.0.to_string());
    let Some(t) = tokens.find(login.token.trim()) else {
        return Err(ApiError::Unauthenticated("unknown token".into()));
    };
    let (id, csrf) = s.web.sessions.open(&t.value).map_err(ApiError::Internal)?;
    s.journal(json!({
        "kind": "session", "what": "login", "by": t.name, "role": t.role.name(), "peer": peer,
    }));
    let https = s.guard.https;
    let body = json!({
        "auth": "session", "name": t.name, "role": t.role.name(), "csrf": csrf,
        "idle_s": IDLE.as_secs(), "lifetime_s": LIFETIME.as_secs(),
    });
    Ok(([(SET_COOKIE, session::set_cookie(&id, https))], Json(body)).into_response())
}

/// `GET /api/v1/session`: how this request is authenticated. Always 200, so a page can ask
/// before anyone logged in: `auth` is `open` (no tokens file), `bearer`, `session` (with the
/// CSRF token the page must send) or `none`.
pub(crate) async fn whoami(
    State(s): State<AppState>,
    headers: HeaderMap,
    caller: Result<Caller, ApiError>,
) -> Json<serde_json::Value> {
    let line = s.line.name.clone();
    let https = s.guard.https;
    let caller = match caller {
        Ok(c) => c,
        Err(e) => {
            return Json(json!({
                "auth": "none", "line": line, "https": https, "reason": e.to_string(),
            }));
        }
    };
    let (auth, csrf) = if s.tokens.is_none() {
        ("open", None)
    } else if headers.contains_key(AUTHORIZATION) {
        ("bearer", None)
    } else {
        let csrf = session::cookie(&headers, https)
            .and_then(|id| s.web.sessions.find(&id))
            .map(|f| f.csrf);
        ("session", csrf)
    };
    Json(json!({
        "auth": auth, "name": caller.name, "role": caller.role.name(), "csrf": csrf,
        "line": line, "https": https,
    }))
}

/// `DELETE /api/v1/session`: ends this browser's session (with its CSRF token, like every
/// state-changing request of a session) and clears the cookie.
pub(crate) async fn logout(
    caller: Caller,
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let https = s.guard.https;
    let closed = session::cookie(&headers, https).is_some_and(|id| s.web.sessions.close(&id));
    if closed {
        s.journal(json!({
            "kind": "session", "what": "logout", "by": caller.name, "role": caller.role.name(),
            "peer": caller.peer.map(|p| p.to_string()),
        }));
    }
    (
        [(SET_COOKIE, session::clear_cookie(https))],
        Json(json!({ "logged_out": closed })),
    )
        .into_response()
}
