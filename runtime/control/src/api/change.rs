//! Live changes (admin): config plan and apply, add and remove a drive, upgrade a drive. Each
//! is a new config: checked exactly like `linevisor check` (profiles re-read from the
//! config's folders), then diffed and applied by the line, which touches only the difference
//! and rolls back on any failure. Every change is journalled with who asked and the outcome.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use linevisor_config::ValidLine;
use linevisor_config::model::{DriveConfig, LineConfig, ProfileRef};
use linevisor_line::{ApplyReport, Plan};
use serde::Deserialize;
use serde_json::{Value, json};

use super::act::{read_body, read_body_up_to};
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /api/v1/config`: the running config as TOML.
pub(crate) async fn config(
    caller: Caller,
    State(s): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Role::Viewer, "read the config")?;
    let text = to_toml(&s.line.config().config)?;
    Ok(([(CONTENT_TYPE, "application/toml")], text))
}

/// `POST /api/v1/config/plan`: body is a config (TOML); answers the blast radius.
pub(crate) async fn plan(
    caller: Caller,
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Viewer, "plan a change")?;
    let (new, warnings) = check(&s, text(body)?).await?;
    let plan = s.line.plan(&new);
    Ok(Json(json!({ "plan": plan, "warnings": warnings })))
}

/// `POST /api/v1/config/apply`: body is a config (TOML).
pub(crate) async fn apply(
    caller: Caller,
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin, "apply a config")?;
    let text = text(body)?;
    run(&s, &caller.name, "apply", json!({}), |_| Ok(text)).await
}

/// `POST /api/v1/drives`: body is one drive, as a `[[drive]]` table in JSON.
pub(crate) async fn add_drive(
    caller: Caller,
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin, "add a drive")?;
    let body = read_body(body)?;
    let drive: DriveConfig =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("drive: {e}")))?;
    let id = drive.id.clone();
    run(&s, &caller.name, "add_drive", json!({ "drive": id }), |c| {
        if c.drive.iter().any(|d| d.id == drive.id) {
            return Err(ApiError::Conflict(format!(
                "drive \"{}\" already exists",
                drive.id
            )));
        }
        c.drive.push(drive);
        to_toml(c)
    })
    .await
}

/// `DELETE /api/v1/drives/{id}`.
pub(crate) async fn remove_drive(
    caller: Caller,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin, "remove a drive")?;
    let what = json!({ "drive": id });
    run(&s, &caller.name, "remove_drive", what, |c| {
        let before = c.drive.len();
        c.drive.retain(|d| d.id != id);
        if c.drive.len() == before {
            return Err(ApiError::UnknownDrive(id.clone()));
        }
        to_toml(c)
    })
    .await
}

/// Body of an upgrade.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpgradeBody {
    profile: String,
    version: String,
}

/// `POST /api/v1/drives/{id}/upgrade`: `{"profile": "...", "version": "..."}`.
pub(crate) async fn upgrade(
    caller: Caller,
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin, "upgrade a drive")?;
    let body = read_body(body)?;
    let up: UpgradeBody =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("upgrade: {e}")))?;
    let what = json!({ "drive": id, "profile": up.profile, "version": up.version });
    run(&s, &caller.name, "upgrade", what, |c| {
        let d = c
            .drive
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or_else(|| ApiError::UnknownDrive(id.clone()))?;
        d.profile = ProfileRef {
            name: up.profile.clone(),
            version: up.version.clone(),
        };
        to_toml(c)
    })
    .await
}

/// Derives the new config text from the running config, checks it, applies it, journals it.
async fn run(
    s: &AppState,
    by: &str,
    kind: &str,
    what: Value,
    derive: impl FnOnce(&mut LineConfig) -> Result<String, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let mut record = json!({ "kind": kind, "by": by });
    if let (Value::Object(r), Value::Object(w)) = (&mut record, what) {
        r.extend(w);
    }
    let result = async {
        let base = s.line.config();
        let mut config = base.config.clone();
        let text = derive(&mut config)?;
        let (new, warnings) = check(s, text).await?;
        let report = s.line.apply_to(Some(&base), new).await?;
        Ok::<_, ApiError>((report, warnings))
    }
    .await;
    match result {
        Ok((report, warnings)) => {
            record["outcome"] = json!("ok");
            record["took_ms"] = json!(report.took_ms);
            record["touched"] = touched(&report.plan);
            s.journal(record);
            Ok(Json(report_json(&report, &warnings)))
        }
        Err(e) => {
            record["outcome"] = json!("failed");
            record["reason"] = json!(e.to_string());
            s.journal(record);
            Err(e)
        }
    }
}

/// Applies a config file (SIGHUP: the file the line was started from).
pub(crate) async fn apply_text(s: &AppState, by: &str, text: String) -> Result<Value, ApiError> {
    run(s, by, "apply", json!({}), |_| Ok(text))
        .await
        .map(|Json(v)| v)
}

fn report_json(report: &ApplyReport, warnings: &[String]) -> Value {
    json!({ "applied": true, "took_ms": report.took_ms, "plan": report.plan, "warnings": warnings })
}

/// `[{"drive": id, "action": ...}]` of the touched drives, for the journal.
fn touched(plan: &Plan) -> Value {
    plan.touched_drives()
        .map(|d| json!({ "drive": d.id, "action": d.action, "changes": d.changes }))
        .collect()
}

/// Checks a config text as `linevisor check` does; errors become one 422 with every line.
/// Parsing, checking and reading profile files is CPU and file work: it runs on the blocking
/// pool, never on the runtime threads that carry the drives' cycles.
async fn check(s: &AppState, text: String) -> Result<(ValidLine, Vec<String>), ApiError> {
    let dir = s.config_dir.clone();
    let checked = tokio::task::spawn_blocking(move || {
        linevisor_config::check_text("<request>", &text, dir.as_deref())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("config check: {e}")))?;
    let lines = checked
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    match checked.line {
        Some(line) => Ok((line, lines)),
        None => Err(ApiError::InvalidConfig(lines)),
    }
}

/// Largest config accepted by plan and apply (a whole line; other bodies stay at 64 KiB).
pub const CONFIG_LIMIT: usize = 1024 * 1024;

fn text(body: Result<Bytes, BytesRejection>) -> Result<String, ApiError> {
    let body = read_body_up_to(body, CONFIG_LIMIT)?;
    String::from_utf8(body.to_vec())
        .map_err(|e| ApiError::BadRequest(format!("the config is not UTF-8: {e}")))
}

fn to_toml(config: &LineConfig) -> Result<String, ApiError> {
    toml::to_string(config).map_err(|e| ApiError::Internal(format!("cannot write the config: {e}")))
}
