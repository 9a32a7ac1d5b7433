//! Every endpoint against the embedded demo line in paused time: good input, bad input, and
//! the wrong role.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use linevisor_control::{BODY_LIMIT, ControlOptions, OPENAPI, ROUTES};
use linevisor_drive::snapshot;
use serde_json::Value;

#[tokio::test(start_paused = true)]
async fn line_shows_buses_drives_and_counters() {
    let (line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let (status, v) = get(&r, "/api/v1/line", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["line"], "demo");
    let drives = v["drives"].as_array().expect("drives");
    assert_eq!(drives.len(), line.drives().len());
    for d in drives {
        assert_ne!(d["state"], "unavailable", "{d}");
        assert!(d["cycles"].as_u64().is_some_and(|c| c > 0), "{d}");
        assert_eq!(d["missed"], 0, "{d}");
        assert_eq!(d["restarts"], 0, "{d}");
    }
    let buses = v["buses"].as_array().expect("buses");
    let bus = buses
        .iter()
        .find(|b| b["id"] == "sim-modbus")
        .expect("sim-modbus");
    assert!(
        bus["comm"]["counters"]["transactions"]
            .as_u64()
            .is_some_and(|t| t > 0),
        "{bus}"
    );
    assert_eq!(v["supervisors"].as_array().map(Vec::len), Some(3));
}

#[tokio::test(start_paused = true)]
async fn drive_details_recent_events_and_unknown_ids() {
    let (_line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let (status, _) = post(
        &r,
        "/api/v1/drives/labeler/commands",
        None,
        r#"{"command":"enable"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = get(&r, "/api/v1/drives/labeler", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "operation_enabled");
    let events = v["recent_events"].as_array().expect("events");
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "command_completed" && e["ok"] == true),
        "{events:?}"
    );
    let (status, v) = get(&r, "/api/v1/drives/no-such-drive", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        (v["error"].as_str(), v["id"].as_str()),
        (Some("unknown_drive"), Some("no-such-drive"))
    );
    let (status, v) = get(&r, "/api/v1/nothing", None).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_path"))
    );
}

#[tokio::test(start_paused = true)]
async fn commands_are_acknowledged_or_refused_with_the_reason() {
    let (line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let path = "/api/v1/drives/infeed-conveyor/commands";
    let (status, v) = post(&r, path, None, r#"{"command":"enable"}"#).await;
    assert_eq!(
        (status, v["state"].as_str()),
        (StatusCode::OK, Some("operation_enabled")),
        "{v}"
    );
    let (status, v) = post(
        &r,
        path,
        None,
        r#"{"command":"set_velocity","value":120.0}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["readback"].to_string().contains("120"), "{v}");
    let before = snapshot(&line.drive("infeed-conveyor").unwrap().handle)
        .await
        .expect("snapshot");

    // Refused by the drive: over velocity_max = 3000.
    let (status, v) = post(
        &r,
        path,
        None,
        r#"{"command":"set_velocity","value":99999}"#,
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit_exceeded")),
        "{v}"
    );
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("3000")),
        "{v}"
    );
    // Malformed: never reach the drive.
    for bad in [
        "not json",
        r#"{"command":"launch"}"#,
        r#"{"command":"set_velocity"}"#,
        r#"{"command":"set_velocity","value":"fast"}"#,
        "",
    ] {
        let (status, v) = post(&r, path, None, bad).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{bad}: {v}"
        );
    }
    let huge = format!(r#"{{"command":"stop","pad":"{}"}}"#, "x".repeat(BODY_LIMIT));
    let (status, v) = post(&r, path, None, &huge).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")),
        "{v}"
    );
    let (status, v) = post(
        &r,
        "/api/v1/drives/ghost/commands",
        None,
        r#"{"command":"stop"}"#,
    )
    .await;
    assert_eq!(
        (status, v["id"].as_str()),
        (StatusCode::NOT_FOUND, Some("ghost"))
    );

    let after = snapshot(&line.drive("infeed-conveyor").unwrap().handle)
        .await
        .expect("snapshot");
    assert_eq!(after.state, before.state);
    assert_eq!(
        after.setpoints, before.setpoints,
        "a refused request changed a setpoint"
    );
    assert!(after.pending.is_empty());
}

#[tokio::test(start_paused = true)]
async fn roles_guard_every_action() {
    let (line, control) = demo(ControlOptions {
        tokens: Some(tokens()),
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();
    let cmd = "/api/v1/drives/labeler/commands";
    let stop = r#"{"command":"stop"}"#;
    assert_eq!(
        get(&r, "/api/v1/line", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&r, "/api/v1/line", Some("wrong-token-0123456789"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&r, "/metrics", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(&r, "/api/v1/line", Some(VIEWER)).await.0,
        StatusCode::OK
    );
    let (status, v) = post(&r, cmd, Some(VIEWER), stop).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("viewer") && m.contains("operator"))
    );
    // The role is checked before the body: a viewer learns nothing from a malformed body.
    assert_eq!(
        post(&r, cmd, Some(VIEWER), "garbage").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&r, cmd, Some(OPERATOR), r#"{"command":"enable"}"#)
            .await
            .0,
        StatusCode::OK
    );
    let restart = "/api/v1/drives/labeler/restart";
    assert_eq!(
        post(&r, restart, Some(OPERATOR), "").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&r, "/api/v1/buses/sim-modbus/restart", Some(OPERATOR), "")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let generation = snapshot(&line.drive("labeler").unwrap().handle)
        .await
        .expect("snapshot")
        .generation;
    assert_eq!(generation, 1, "a refused restart restarted the drive");
    let (status, v) = post(&r, restart, Some(ADMIN), "").await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

#[tokio::test(start_paused = true)]
async fn restarting_one_drive_leaves_the_others_alone() {
    let (line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let (status, v) = post(&r, "/api/v1/drives/labeler/restart", None, "").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, v) = get(&r, "/api/v1/line", None).await;
    for d in v["drives"].as_array().expect("drives") {
        let expected = u64::from(d["id"] == "labeler");
        assert_eq!(d["restarts"].as_u64(), Some(expected), "{d}");
        if d["id"] != "labeler" {
            assert_eq!(d["missed"], 0, "{d}");
        }
    }
    assert!(line.drives().contains_key("labeler"));
    let (status, v) = post(&r, "/api/v1/drives/ghost/restart", None, "").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_drive"))
    );
    let (status, v) = post(&r, "/api/v1/buses/ghost/restart", None, "").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_bus"))
    );
    let (status, v) = post(&r, "/api/v1/buses/sim-modbus/restart", None, "").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, _) = get(&r, "/api/v1/drives/labeler/restart", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(start_paused = true)]
async fn metrics_are_prometheus_text() {
    let (line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let (status, v) = get(&r, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let text = v.as_str().expect("text");
    for id in line.drives().keys() {
        let prefix = format!("linevisor_drive_cycles_total{{line=\"demo\",drive=\"{id}\"}} ");
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.parse::<u64>().ok());
        assert!(value.is_some_and(|v| v > 0), "{id}: {text}");
        assert!(text.contains(&format!(
            "linevisor_drive_restarts_total{{line=\"demo\",drive=\"{id}\"}} 0"
        )));
    }
    assert!(text.contains("linevisor_bus_transactions_total{line=\"demo\",bus=\"sim-modbus\"}"));
    assert!(text.contains("linevisor_supervisor_child_restarts_total{line=\"demo\",supervisor="));
    // The demo's CANopen segment: SYNC frames counted, and only for that bus.
    let sync = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("linevisor_canopen_sync_sent_total{line=\"demo\",bus=\"sim-canopen\"} ")
        })
        .and_then(|v| v.parse::<u64>().ok());
    assert!(sync.is_some_and(|n| n > 100), "{text}");
    assert!(!text.contains("linevisor_canopen_sync_sent_total{line=\"demo\",bus=\"sim-modbus\"}"));
    // Every sample line is `name{labels} number`.
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let value = l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        assert!(value.is_some(), "{l}");
    }
}

#[tokio::test(start_paused = true)]
async fn openapi_documents_every_route() {
    let (_line, control) = demo(ControlOptions::default()).await;
    let (status, v) = get(&control.router(), "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(OPENAPI).expect("OpenAPI is JSON");
    assert_eq!(v, doc);
    let paths = doc["paths"].as_object().expect("paths");
    for route in ROUTES {
        assert!(paths.contains_key(route), "{route} is not documented");
    }
    assert_eq!(
        paths.len(),
        ROUTES.len(),
        "documented paths that do not exist"
    );
}
