//! Acting endpoints: drive commands (operator) and restarts (admin). Each is journalled with
//! who asked and the outcome.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use linevisor_drive::send_command;
use linevisor_supervisor::ChildStatus;
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
        .drive(&id)
        .ok_or(ApiError::UnknownDrive(id.clone()))?;
    let body = read_body(body)?;
    let cmd = CommandBody::parse(&body).map_err(ApiError::BadRequest)?;
    let sent = cmd.to_command();
    let outcome = send_command(&d.handle, sent).await;
    let journal = crate::command::journal(&s, &caller, &id, sent, &outcome).await;
    match outcome {
        Ok(ack) => Ok(Json(json!({
            "drive": id,
            "command": cmd.name(),
            "state": ack.state.name(),
            "readback": ack.readback,
            "took_ms": ack.took.as_secs_f64() * 1e3,
            "journal": journal,
        }))),
        Err(reason) => Err(ApiError::Command {
            drive: id,
            command: cmd.name().into(),
            reason: Box::new(reason),
        }),
    }
}

/// The body, or the reason it could not be read (too large, cut off).
pub(crate) fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    read_body_up_to(body, BODY_LIMIT)
}

/// As [`read_body`], on a route whose limit is `limit`.
pub(crate) fn read_body_up_to(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge { limit }
        } else {
            ApiError::BadRequest(e.body_text())
        }
    })
}

/// Restarts one child: a running one by a planned restart (`restart_now`: a drive with
/// `restart = "adopt"` keeps running), a stopped one (taken out of service after a crash loop)
/// by starting it again.
async fn restart_child(s: &AppState, what: &'static str, id: &str) -> Result<(), ApiError> {
    let sup = match what {
        "drive" => s.line.tree.drives.clone(),
        _ => s.line.tree.buses.clone(),
    };
    let stopped = sup
        .which_children()
        .await?
        .iter()
        .any(|c| c.id.as_str() == id && c.status == ChildStatus::Stopped);
    if stopped {
        return Ok(sup.restart_child(id).await?);
    }
    let restarted = match what {
        "drive" => s.line.restart_drive(id).await,
        _ => s.line.restart_bus(id).await,
    };
    restarted.map_err(ApiError::from)
}

async fn restart(
    s: &AppState,
    caller: &Caller,
    what: &'static str,
    id: String,
) -> Result<Json<Value>, ApiError> {
    let outcome = restart_child(s, what, &id).await;
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
            Err(e)
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
    if s.line.drive(&id).is_none() {
        return Err(ApiError::UnknownDrive(id));
    }
    restart(&s, &caller, "drive", id).await
}

/// `POST /api/v1/buses/{id}/restart`.
pub(crate) async fn restart_bus(
    caller: Caller,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin, "restart a bus")?;
    if s.line.bus(&id).is_none() {
        return Err(ApiError::UnknownBus(id));
    }
    restart(&s, &caller, "bus", id).await
}
