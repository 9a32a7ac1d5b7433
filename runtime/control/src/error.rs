//! The control plane's one error enum. Every variant becomes a status code and a JSON body
//! `{"error": "<code>", "message": "<one line>"}` naming what and where.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linevisor_drive::CommandError;
use linevisor_line::{ChangeError, LineError};
use linevisor_supervisor::SupervisorError;
use serde_json::json;

/// Why an API request did not do what it asked.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No drive with this id on the line.
    #[error("no drive \"{0}\" on this line")]
    UnknownDrive(String),
    /// No bus with this id on the line.
    #[error("no bus \"{0}\" on this line")]
    UnknownBus(String),
    /// No such endpoint.
    #[error("no endpoint {0}")]
    UnknownPath(String),
    /// The request body or a parameter is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The body exceeds the limit.
    #[error("request body exceeds {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No valid bearer token.
    #[error("{0}")]
    Unauthenticated(String),
    /// The token's role may not do this.
    #[error("role {role} may not {action}; it needs role {needed}")]
    Forbidden {
        /// The caller's role.
        role: &'static str,
        /// The role the action needs.
        needed: &'static str,
        /// What was asked.
        action: &'static str,
    },
    /// The drive did not carry out the command.
    #[error("drive {drive}: {command} failed: {reason}")]
    Command {
        drive: String,
        /// The command, as sent.
        command: String,
        /// The drive's reason.
        reason: Box<CommandError>,
    },
    /// The supervision layer refused (child restarting, supervisor down, meltdown).
    #[error("{0}")]
    Supervisor(#[from] SupervisorError),
    /// The request conflicts with what runs (e.g. a drive id that exists).
    #[error("{0}")]
    Conflict(String),
    /// The config of a change does not pass `linevisor check`; every diagnostic line.
    #[error("the config is invalid: {}", .0.join(" | "))]
    InvalidConfig(Vec<String>),
    /// The line refused or failed (unknown drive, a trial lost).
    #[error(transparent)]
    Line(#[from] LineError),
    /// A change did not happen (busy, refused, failed and rolled back).
    #[error(transparent)]
    Change(#[from] ChangeError),
    /// A bug on our side, named.
    #[error("internal error: {0}")]
    Internal(String),
    /// Refused before any handler: a foreign Host, a cross-site request.
    #[error("refused: {0}")]
    Refused(String),
    /// A state-changing request whose body is not JSON or TOML.
    #[error(
        "Content-Type {0} is not accepted: send application/json (application/toml for a config)"
    )]
    MediaType(String),
    /// Too many requests of this kind from this peer.
    #[error("{0}; try again shortly")]
    TooManyRequests(String),
    /// A limit of the server is reached (event streams).
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    fn code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::UnknownDrive(_) => (StatusCode::NOT_FOUND, "unknown_drive"),
            ApiError::UnknownBus(_) => (StatusCode::NOT_FOUND, "unknown_bus"),
            ApiError::UnknownPath(_) => (StatusCode::NOT_FOUND, "unknown_path"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Command { reason, .. } => command_status(reason),
            ApiError::Supervisor(e) | ApiError::Line(LineError::Supervisor(e)) => match e {
                SupervisorError::UnknownChild { .. } => (StatusCode::NOT_FOUND, "unknown_child"),
                SupervisorError::WrongState { .. } => (StatusCode::CONFLICT, "wrong_state"),
                SupervisorError::RolledBack { .. } => (StatusCode::CONFLICT, "rolled_back"),
                _ => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            },
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::InvalidConfig(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_config"),
            ApiError::Line(e) => match e {
                LineError::UnknownDrive(_) => (StatusCode::NOT_FOUND, "unknown_drive"),
                LineError::UnknownBus(_) => (StatusCode::NOT_FOUND, "unknown_bus"),
                LineError::Trial { .. } => (StatusCode::CONFLICT, "trial_lost"),
                _ => (StatusCode::UNPROCESSABLE_ENTITY, "cannot_build"),
            },
            ApiError::Change(e) => match e {
                ChangeError::Busy => (StatusCode::CONFLICT, "busy"),
                ChangeError::Stale => (StatusCode::CONFLICT, "stale"),
                ChangeError::Refused(_) => (StatusCode::CONFLICT, "refused"),
                ChangeError::Failed { .. } => (StatusCode::CONFLICT, "change_failed"),
            },
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::Refused(_) => (StatusCode::FORBIDDEN, "refused"),
            ApiError::MediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }
}

/// Refusals the caller can fix are 4xx; the drive or bus failing is 5xx.
fn command_status(e: &CommandError) -> (StatusCode, &'static str) {
    match e {
        CommandError::LimitExceeded { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded"),
        CommandError::Unsupported { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "unsupported"),
        CommandError::InFault { .. } => (StatusCode::CONFLICT, "in_fault"),
        CommandError::NotReady { .. } => (StatusCode::CONFLICT, "not_ready"),
        CommandError::Superseded => (StatusCode::CONFLICT, "superseded"),
        CommandError::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
        CommandError::CommLoss { .. } => (StatusCode::BAD_GATEWAY, "comm_loss"),
        CommandError::Device(_) => (StatusCode::BAD_GATEWAY, "device_refused"),
        CommandError::Bus(_) => (StatusCode::BAD_GATEWAY, "bus"),
        CommandError::ReadbackMismatch { .. } => (StatusCode::BAD_GATEWAY, "readback_mismatch"),
        CommandError::Aborted { .. } => (StatusCode::SERVICE_UNAVAILABLE, "aborted"),
        CommandError::Delivery(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        let mut body = json!({ "error": code, "message": self.to_string() });
        match &self {
            ApiError::UnknownDrive(id) | ApiError::UnknownBus(id) => body["id"] = json!(id),
            ApiError::Command { drive, command, .. } => {
                body["drive"] = json!(drive);
                body["command"] = json!(command);
            }
            ApiError::InvalidConfig(lines) => body["diagnostics"] = json!(lines),
            ApiError::Change(ChangeError::Refused(what)) => body["refused"] = json!(what),
            ApiError::Change(ChangeError::Failed {
                step,
                reason,
                rollback_errors,
            }) => {
                body["step"] = json!(step);
                body["reason"] = json!(reason);
                body["rolled_back"] = json!(rollback_errors.is_empty());
                body["rollback_errors"] = json!(rollback_errors);
            }
            _ => {}
        }
        (status, Json(body)).into_response()
    }
}
