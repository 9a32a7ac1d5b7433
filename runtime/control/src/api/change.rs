//! Live changes (admin): config plan and apply, add and remove a drive, upgrade a drive. Each
//! is a new config text: checked exactly like `linevisor check` (profiles re-read from the
//! config's folders, under the rules of `check.rs`), then diffed and applied by the line,
//! which touches only the difference and rolls back on any failure. Add, remove and upgrade
//! edit the running config's own text (`source.rs`). Every change runs detached from its
//! request and is journalled with who asked and the outcome.

mod check;
mod source;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use linevisor_config::model::{DriveConfig, LineConfig, ProfileRef};
use linevisor_line::{ApplyReport, Plan};
use serde::Deserialize;
use serde_json::{Value, json};

use self::check::{Purpose, check};
use super::act::{read_body, read_body_up_to};
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /api/v1/config`: the running config as TOML, in the integrator's own words.
pub(crate) async fn config(
    caller: Caller,
    State(s): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Role::Viewer, "read the config")?;
    let (_, text) = source::text_of(&s).await?;
    Ok(([(CONTENT_TYPE, "application/toml")], text.to_string()))
}

/// `POST /api/v1/config/plan`: body is a config (TOML); answers the blast radius.
pub(crate) async fn plan(
    caller: Caller,
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Viewer, "plan a change")?;
    let text = text(body)?;
    let line = s.line.clone();
    // The diff runs in the check's blocking job, under its permit.
    let (plan, warnings) = check(&s, text, Purpose::Plan, move |new, warnings| {
        (line.plan(&new), warnings)
    })
    .await?;
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
    run(&s, &caller.name, "apply", json!({}), move |_, _| {
        Ok(text.to_string())
    })
    .await
}

/// `POST /api/v1/drives`: body is one drive, as a `[[drive]]` table in JSON.
pub(crate) async fn add_drive(
    caller: Caller,
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin, "add a drive")?;
    let body = read_body(body)?;
    let bad = |e: serde_json::Error| ApiError::BadRequest(format!("drive: {e}"));
    let given: Value = serde_json::from_slice(&body).map_err(bad)?;
    let drive: DriveConfig = serde_json::from_value(given.clone()).map_err(bad)?;
    let id = drive.id.clone();
    run(
        &s,
        &caller.name,
        "add_drive",
        json!({ "drive": id }),
        move |c, text| {
            if c.drive.iter().any(|d| d.id == drive.id) {
                return Err(ApiError::Conflict(format!(
                    "drive \"{}\" already exists",
                    drive.id
                )));
            }
            source::add_drive(text, &drive, &given)
        },
    )
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
    run(&s, &caller.name, "remove_drive", what, move |c, text| {
        if !c.drive.iter().any(|d| d.id == id) {
            return Err(ApiError::UnknownDrive(id));
        }
        source::remove_drive(text, &id)
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
    run(&s, &caller.name, "upgrade", what, move |c, text| {
        if !c.drive.iter().any(|d| d.id == id) {
            return Err(ApiError::UnknownDrive(id));
        }
        let profile = ProfileRef {
            name: up.profile,
            version: up.version,
        };
        source::upgrade(text, &id, &profile)
    })
    .await
}

/// Derives the new config text from the running one (`derive` gets the running config and
/// its text), checks it, applies it and journals the outcome. All of it runs as its own task,
/// detached from the request: a client that hangs up does not cut a change in half; it just
/// does not hear the outcome, which the journal always gets.
async fn run(
    s: &AppState,
    by: &str,
    kind: &str,
    what: Value,
    derive: impl FnOnce(&LineConfig, &str) -> Result<String, ApiError> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    let mut record = json!({ "kind": kind, "by": by });
    if let (Value::Object(r), Value::Object(w)) = (&mut record, what) {
        r.extend(w);
    }
    let s = s.clone();
    let change = tokio::spawn(async move {
        let result = async {
            let (base, text) = source::text_of(&s).await?;
            let text: Arc<str> = derive(&base.config, &text)?.into();
            let (new, warnings) =
                check(&s, text.clone(), Purpose::Apply, |new, w| (new, w)).await?;
            let report = s.line.apply_source(Some(&base), new, Some(text)).await?;
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
    });
    change
        .await
        .map_err(|e| ApiError::Internal(format!("the change task ended: {e}")))?
}

/// Applies a config file (SIGHUP: the file the line was started from).
pub(crate) async fn apply_text(s: &AppState, by: &str, text: String) -> Result<Value, ApiError> {
    run(s, by, "apply", json!({}), |_, _| Ok(text))
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

/// Largest config accepted by plan and apply (a whole line; other bodies stay at 64 KiB).
pub const CONFIG_LIMIT: usize = 1024 * 1024;

fn text(body: Result<Bytes, BytesRejection>) -> Result<Arc<str>, ApiError> {
    let body = read_body_up_to(body, CONFIG_LIMIT)?;
    std::str::from_utf8(&body)
        .map(Arc::from)
        .map_err(|e| ApiError::BadRequest(format!("the config is not UTF-8: {e}")))
}
