//! The router: every endpoint under `/api/v1`, plus `/metrics`, and the dashboard's page and
//! files (`/`, `/ui/…`; not API routes, so outside `ROUTES` and the OpenAPI document).

mod act;
mod change;
mod metrics;
mod read;
mod stream;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::routing::{get, post};

pub use act::BODY_LIMIT;
pub use change::CONFIG_LIMIT;
pub(crate) use change::apply_text;
pub use read::OPENAPI;

use crate::error::ApiError;
use crate::state::AppState;
use crate::web;

/// Every route; the OpenAPI document lists the same paths (a test checks it).
pub const ROUTES: [&str; 18] = [
    "/api/v1/line",
    "/api/v1/drives/{id}",
    "/api/v1/drives/{id}/commands",
    "/api/v1/drives/{id}/restart",
    "/api/v1/buses/{id}/restart",
    "/api/v1/events",
    "/api/v1/openapi.json",
    "/metrics",
    "/api/v1/drives",
    "/api/v1/drives/{id}/upgrade",
    "/api/v1/config",
    "/api/v1/config/plan",
    "/api/v1/config/apply",
    "/api/v1/session",
    "/api/v1/journal",
    "/api/v1/live",
    "/api/v1/drives/{id}/trend",
    "/api/v1/drives/{id}/setup",
];

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route(ROUTES[0], get(read::line))
        .route(ROUTES[1], get(read::drive).delete(change::remove_drive))
        .route(ROUTES[2], post(act::command))
        .route(ROUTES[3], post(act::restart_drive))
        .route(ROUTES[4], post(act::restart_bus))
        .route(ROUTES[5], get(stream::events))
        .route(ROUTES[6], get(read::openapi))
        .route(ROUTES[7], get(metrics::metrics))
        .route(ROUTES[8], post(change::add_drive))
        .route(ROUTES[9], post(change::upgrade))
        .route(ROUTES[10], get(change::config))
        .route(
            ROUTES[11],
            post(change::plan).layer(DefaultBodyLimit::max(CONFIG_LIMIT)),
        )
        .route(
            ROUTES[12],
            post(change::apply).layer(DefaultBodyLimit::max(CONFIG_LIMIT)),
        )
        .route(
            ROUTES[13],
            get(web::login::whoami)
                .post(web::login::login)
                .delete(web::login::logout),
        )
        .route(ROUTES[14], get(web::journal::journal))
        .route(ROUTES[15], get(web::live::live))
        .route(ROUTES[16], get(web::live::trend))
        .route(ROUTES[17], get(web::live::setup))
        .merge(web::routes())
        .fallback(|uri: Uri| async move { ApiError::UnknownPath(uri.path().to_owned()) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Outermost: Host, cross-site, body deadline, command rate, audit of refusals.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::server::guard,
        ))
        .with_state(state)
}
