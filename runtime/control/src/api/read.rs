//! Read endpoints: the line, one drive, the OpenAPI document.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;
use crate::views;

/// `GET /api/v1/line`.
pub(crate) async fn line(
    caller: Caller,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Viewer, "read the line")?;
    let line = &s.line;
    let (all_drives, all_buses) = (line.drives(), line.buses());
    let snaps = join_all(all_drives.values().map(views::drive_snapshot)).await;
    let drives: Vec<Value> = all_drives
        .values()
        .zip(&snaps)
        .map(|(d, snap)| views::drive_view(&s, d, snap))
        .collect();
    let metrics = join_all(all_buses.values().map(views::bus_metrics)).await;
    let buses: Vec<Value> = all_buses
        .values()
        .zip(&metrics)
        .map(|(b, m)| views::bus_view(b, m))
        .collect();
    let sups = [&line.tree.root, &line.tree.buses, &line.tree.drives];
    let children = join_all(sups.iter().map(|s| views::children(s))).await;
    let supervisors: Vec<Value> = sups
        .iter()
        .zip(&children)
        .map(|(s, c)| views::supervisor_view(s, c))
        .collect();
    Ok(Json(json!({
        "line": line.name,
        "buses": buses,
        "drives": drives,
        "supervisors": supervisors,
        "journal": s.journal_health(),
    })))
}

/// `GET /api/v1/drives/{id}`.
pub(crate) async fn drive(
    caller: Caller,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Viewer, "read a drive")?;
    let d = s
        .line
        .drive(&id)
        .ok_or(ApiError::UnknownDrive(id.clone()))?;
    let snap = views::drive_snapshot(&d).await;
    let mut v = views::drive_view(&s, &d, &snap);
    let recent = s
        .recent
        .with(&id, |log| log.events.iter().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    v["recent_events"] = json!(recent);
    Ok(Json(v))
}

/// The OpenAPI 3 description of this API, written by hand next to the handlers.
pub const OPENAPI: &str = include_str!("openapi.json");

/// `GET /api/v1/openapi.json` (viewer, like every read).
pub(crate) async fn openapi(caller: Caller) -> Result<impl IntoResponse, ApiError> {
    caller.require(Role::Viewer, "read the API description")?;
    Ok(([(CONTENT_TYPE, "application/json")], OPENAPI))
}
