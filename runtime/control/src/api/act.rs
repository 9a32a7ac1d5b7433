//! Acting endpoints: drive commands (operator) and restarts (admin). Each runs as its own task,
//! detached from the request, and is journalled with who asked and the outcome: a client that
//! hangs up does not hear the outcome, the journal always gets it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use linevisor_drive::{CommandResult, send_command};
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
    detached(async move {
        let outcome = send_command(&d.handle, sent).await;
        // On disk (synced) before the answer; a failed write is said in the answer.
        let journal = crate::command::journal(&s, &caller, &id, sent, &outcome).await;
        finish_command(id, &cmd, outcome, journal)
    })
    .await
}

/// A command's outcome as the answer, with its journal record's status.
fn finish_command(
    id: String,
    cmd: &CommandBody,
    outcome: CommandResult,
    journal: Value,
) -> Result<Json<Value>, ApiError> {
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

/// Runs `work` as its own task and waits for its answer; the work goes on if the request is
/// dropped (the client hung up).
async fn detached<T: Send + 'static>(
    work: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(work)
        .await
        .map_err(|e| ApiError::Internal(format!("the request's task ended: {e}")))?
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
/// by starting it again. It holds the line's change lock, so it never interleaves with an
/// apply (`busy` while one runs).
async fn restart_child(s: &AppState, what: &'static str, id: &str) -> Result<(), ApiError> {
    let _change = s.line.try_change()?;
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
    let record = json!({
        "kind": "restart", "target": what, "id": id,
        "by": caller.name, "role": caller.role.name(),
    });
    let s = s.clone();
    detached(async move {
        let outcome = restart_child(&s, what, &id).await;
        finish_restart(&s, record, what, id, outcome)
    })
    .await
}

fn finish_restart(
    s: &AppState,
    mut record: Value,
    what: &'static str,
    id: String,
    outcome: Result<(), ApiError>,
) -> Result<Json<Value>, ApiError> {
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
