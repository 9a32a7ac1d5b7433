//! The dashboard's live endpoints: one stream per page with every event and the sampler's
//! ticks, a drive's 5-minute trend, and what a drive is set up with.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::sampler::{PERIOD, Point, Tick, frame};
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /api/v1/live[?drive=ID]`: Server-Sent Events, `event: tick` twice a second (the whole
/// line, or one drive) and `event: event` for every drive and supervisor event (as
/// `/api/v1/events` sends them). One stream per page instead of two: a browser opens at most
/// six connections to one HTTP/1.1 host across all its tabs. A tick is framed once by the
/// sampler and the same bytes go to every stream; ticks keep the connection alive.
pub(crate) async fn live(
    caller: Caller,
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    caller.require(Role::Viewer, "follow the line live")?;
    let drive = q.get("drive").cloned();
    if let Some(id) = &drive
        && s.line.drive(id).is_none()
    {
        return Err(ApiError::UnknownDrive(id.to_owned()));
    }
    let permit = Arc::clone(&s.streams).try_acquire_owned().map_err(|_| {
        ApiError::Unavailable(format!(
            "too many event streams open ({}); close a tab",
            s.streams_max
        ))
    })?;
    let events = s.feed.subscribe();
    let (ticks, last) = s.web.live.subscribe(&s);
    let closing = s.closing.subscribe();
    let first = last
        .map(|t| pick(&t, drive.as_deref()))
        .filter(|b| !b.is_empty());
    let state = (events, ticks, closing, permit, drive, first);
    let stream = stream::unfold(state, |st| async move {
        let (mut events, mut ticks, mut closing, permit, drive, first) = st;
        if let Some(bytes) = first {
            return Some((Ok(bytes), (events, ticks, closing, permit, drive, None)));
        }
        let bytes = loop {
            tokio::select! {
                e = events.recv() => match e {
                    Ok(text) => break frame("event", &text),
                    Err(RecvError::Lagged(n)) => break frame("event",
                        &format!(r#"{{"source":"api","kind":"lagged","missed":{n}}}"#)),
                    Err(RecvError::Closed) => return None,
                },
                t = ticks.recv() => match t {
                    // A drive added since the last tick has none yet.
                    Ok(t) => match pick(&t, drive.as_deref()) {
                        b if b.is_empty() => continue,
                        b => break b,
                    },
                    // A slow client gets the next tick; ticks supersede each other.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                },
                _ = closing.wait_for(|c| *c) => return None,
            }
        };
        Some((
            Ok::<_, Infallible>(bytes),
            (events, ticks, closing, permit, drive, None),
        ))
    });
    Ok((
        [
            (CONTENT_TYPE, "text/event-stream"),
            (CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

fn pick(t: &Tick, drive: Option<&str>) -> Bytes {
    match drive {
        Some(id) => t.drives.get(id).cloned().unwrap_or_default(),
        None => t.all.clone(),
    }
}

/// `GET /api/v1/drives/{id}/trend`: the last 5 minutes the sampler saw of one drive, as
/// columns (a chart's own layout); empty when no live stream was open.
pub(crate) async fn trend(
    caller: Caller,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Viewer, "read a drive's trend")?;
    if s.line.drive(&id).is_none() {
        return Err(ApiError::UnknownDrive(id));
    }
    let points = s.web.live.trend(&id);
    let column = |i: usize| points.iter().map(|p| p.1[i]).collect::<Vec<_>>();
    Ok(Json(json!({
        "drive": id,
        "period_ms": PERIOD.as_millis() as u64,
        "sampling": s.web.live.running(),
        "t": points.iter().map(|p: &Point| p.0).collect::<Vec<_>>(),
        "position": column(0),
        "velocity": column(1),
        "current": column(2),
        "torque": column(3),
        "jitter_us": column(4),
    })))
}

/// `GET /api/v1/drives/{id}/setup`: the drive's running config (as JSON) and what its profile
/// says about it: units, parameters with their ranges, the identity points, homing.
pub(crate) async fn setup(
    caller: Caller,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Viewer, "read a drive's setup")?;
    let d = s
        .line
        .drive(&id)
        .ok_or(ApiError::UnknownDrive(id.clone()))?;
    let line = s.line.config();
    let key = (
        d.config.profile.name.clone(),
        d.config.profile.version.clone(),
    );
    let profile = line.profiles.get(&key).map(|p| {
        let p = &p.profile;
        json!({
            "name": p.profile.name, "version": p.profile.version,
            "protocol": p.profile.protocol.name(), "description": p.profile.description,
            "units": p.units, "parameters": p.parameters, "identity": p.identity,
            "homing": p.homing.is_some(),
        })
    });
    let cycle_ms = d.config.cycle_ms.unwrap_or(line.config.line.cycle_ms);
    Ok(Json(json!({
        "drive": id,
        "config": d.config,
        "cycle_ms": cycle_ms,
        "profile": profile,
    })))
}
