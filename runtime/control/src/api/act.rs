//! Acting endpoints: drive commands (operator) and restarts (admin). Each is journalled with
//! who asked and the outcome.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use linevisor_drive::send_command;
use linevisor_supervisor::{ChildStatus, SupervisorError, SupervisorRef};
use serde_json::{Value, json};

use crate::auth::{Caller, Role};
use crate::command::CommandBody;
use crate::error::ApiError;
use crate::state::AppState;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// `POST /api/v1/drives/{id}/commands`: returns once the drive confirmed or refused.
pub(crate) async fn command(
    caller: Caller,
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Operator, "command a drive")?;
    let d = s
        .line
        .drives
        .get(&id)
        .ok_or(ApiError::UnknownDrive(id.clone()))?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge { limit: BODY_LIMIT }
        } else {
            ApiError::BadRequest(e.body_text())
        }
    })?;
    let cmd = CommandBody::parse(&body).map_err(ApiError::BadRequest)?;
    let sent = cmd.to_command();
    let outcome = send_command(&d.handle, sent).await;
    let mut record = json!({
        "kind": "command", "drive": id, "command": format!("{sent:?}"),
        "by": caller.name, "role": caller.role.name(),
    });
    match outcome {
        Ok(ack) => {
            record["outcome"] = json!("ok");
            s.journal(record);
            Ok(Json(json!({
                "drive": id,
                "command": cmd.name(),
                "state": ack.state.name(),
                "readback": ack.readback,
                "took_ms": ack.took.as_secs_f64() * 1e3,
            })))
        }
        Err(reason) => {
            record["outcome"] = json!("failed");
            record["reason"] = json!(reason.to_string());
            s.journal(record);
            Err(ApiError::Command {
                drive: id,
                command: cmd.name().into(),
                reason: Box::new(reason),
            })
        }
    }
}

/// Planned restart of one child: stop it (safe-stop step included) if it runs, start it again.
async fn restart_child(sup: &SupervisorRef, id: &str) -> Result<(), SupervisorError> {
    let children = sup.which_children().await?;
    let running = children
        .iter()
        .find(|c| c.id.as_str() == id)
        .is_some_and(|c| c.status != ChildStatus::Stopped);
    if running {
        sup.terminate_child(id).await?;
    }
    sup.restart_child(id).await
}

async fn restart(
    s: &AppState,
    caller: &Caller,
    what: &'static str,
    sup: &SupervisorRef,
    id: String,
) -> Result<Json<Value>, ApiError> {
    let outcome = restart_child(sup, &id).await;
    let mut record = json!({
        "kind": "restart", "target": what, "id": id,
        "by": caller.name, "role": caller.role.name(),
    });
    match outcome {
        Ok(()) => {
            record["outcome"] = json!("ok");
            s.journal(record);
            Ok(Json(json!({ what: id, "restarted": true })))
        }
        Err(e) => {
            record["outcome"] = json!("failed");
            record["reason"] = json!(e.to_string());
            s.journal(record);
            Err(e.into())
        }
    }
}

/// `POST /api/v1/drives/{id}/restart`.
pub(crate) async fn restart_drive(
    caller: Caller,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin, "restart a drive")?;
    if !s.line.drives.contains_key(&id) {
        return Err(ApiError::UnknownDrive(id));
    }
    let sup = s.line.tree.drives.clone();
    restart(&s, &caller, "drive", &sup, id).await
}

/// `POST /api/v1/buses/{id}/restart`.
pub(crate) async fn restart_bus(
    caller: Caller,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin, "restart a bus")?;
    if !s.line.buses.contains_key(&id) {
        return Err(ApiError::UnknownBus(id));
    }
    let sup = s.line.tree.buses.clone();
    restart(&s, &caller, "bus", &sup, id).await
}
