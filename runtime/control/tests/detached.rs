//! A client that hangs up does not cut a change, a command or a restart in half: each runs to
//! its end (done, or rolled back), the journal records it, and `GET /config` matches what
//! runs. Restarts take the one-change-at-a-time lock. The request futures are dropped by a
//! timeout in paused time, as a dropped connection drops its handler.

mod common;

use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use linevisor_control::ControlOptions;
use linevisor_control::journal::{self, Journal, JournalLimits};
use serde_json::{Value, json};

fn options(path: &Path) -> ControlOptions {
    let limits = JournalLimits {
        max_bytes: u64::MAX,
        keep: 0,
    };
    ControlOptions {
        journal: Some(Journal::open(path, limits).unwrap()),
        ..ControlOptions::default()
    }
}

/// Sends a request and hangs up after `after` (paused time), before the answer.
async fn hang_up(r: &axum::Router, method: &str, path: &str, body: &str, after: Duration) {
    let request = call(r, method, path, None, Some(body.as_bytes().to_vec()));
    let cut = tokio::time::timeout(after, request).await;
    assert!(cut.is_err(), "answered before the client hung up: {cut:?}");
}

/// The journal's record of `kind`, once written (waits up to a minute of paused time).
async fn record(path: &Path, kind: &str) -> Value {
    for _ in 0..600 {
        let records = journal::read(path).unwrap().records;
        if let Some(r) = records.into_iter().find(|r| r["kind"] == kind) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {kind} record in the journal");
}

async fn running_text(r: &axum::Router) -> String {
    let (status, v) = get(r, "/api/v1/config", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v.as_str().expect("TOML text").to_owned()
}

#[tokio::test(start_paused = true)]
async fn an_add_whose_client_hangs_up_completes_and_is_journalled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let (line, control) = demo(options(&path)).await;
    let r = control.router();
    let glue = json!({"id": "glue-pump", "bus": "sim-modbus", "address": 9,
                      "profile": {"name": "linevisor-sim-servo", "version": "1.0"}});
    // The new drive is still on trial (10 good samples) when the client goes.
    hang_up(
        &r,
        "POST",
        "/api/v1/drives",
        &glue.to_string(),
        Duration::from_millis(20),
    )
    .await;

    let rec = record(&path, "add_drive").await;
    assert_eq!(rec["outcome"], "ok", "{rec}");
    assert!(line.drive("glue-pump").is_some());
    let text = running_text(&r).await;
    assert!(
        text.contains("glue-pump"),
        "GET /config does not list a running drive:\n{text}"
    );
    // It can be removed again: the running config knows it.
    let (status, v) = call(&r, "DELETE", "/api/v1/drives/glue-pump", None, None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

#[tokio::test(start_paused = true)]
async fn an_add_that_fails_after_its_client_hung_up_rolls_back_and_is_journalled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let (line, control) = demo(options(&path)).await;
    let r = control.router();
    // Unit 4 stays on the simulated bus after its drive goes, and stops answering: a drive
    // added there loses its trial after 5 s, long after the client hung up.
    let (status, v) = call(&r, "DELETE", "/api/v1/drives/outfeed-conveyor", None, None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    line.bus("sim-modbus")
        .unwrap()
        .sim
        .unwrap()
        .go_silent(4)
        .unwrap();
    let glue = json!({"id": "glue-pump", "bus": "sim-modbus", "address": 4,
                      "profile": {"name": "linevisor-sim-servo", "version": "1.0"}});
    hang_up(
        &r,
        "POST",
        "/api/v1/drives",
        &glue.to_string(),
        Duration::from_millis(100),
    )
    .await;

    let rec = record(&path, "add_drive").await;
    assert_eq!(rec["outcome"], "failed", "{rec}");
    assert!(
        rec["reason"].as_str().unwrap_or("").contains("rolled back"),
        "{rec}"
    );
    assert!(
        line.drive("glue-pump").is_none(),
        "a drive runs that the change rolled back"
    );
    let children = line.tree.drives.which_children().await.unwrap();
    assert!(!children.iter().any(|c| c.id.as_str() == "glue-pump"));
    assert!(!running_text(&r).await.contains("glue-pump"));
    // No change is left holding the lock.
    assert!(line.try_change().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_command_and_a_restart_whose_client_hangs_up_are_journalled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let (_line, control) = demo(options(&path)).await;
    let r = control.router();
    let enable = r#"{"command": "enable"}"#;
    let commands = "/api/v1/drives/labeler/commands";
    // At once: a CiA 402 enable on the in-memory line completes within a millisecond.
    hang_up(&r, "POST", commands, enable, Duration::ZERO).await;
    let rec = record(&path, "command").await;
    assert_eq!(rec["outcome"], "ok", "{rec}");
    assert_eq!(rec["drive"], "labeler", "{rec}");

    let restart = "/api/v1/drives/labeler/restart";
    hang_up(&r, "POST", restart, "", Duration::from_millis(1)).await;
    let rec = record(&path, "restart").await;
    assert_eq!(rec["outcome"], "ok", "{rec}");
}

#[tokio::test(start_paused = true)]
async fn a_restart_never_interleaves_with_a_change() {
    let (line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let change = line.try_change().expect("no change runs");
    for path in [
        "/api/v1/drives/labeler/restart",
        "/api/v1/buses/sim-modbus/restart",
    ] {
        let (status, v) = post(&r, path, None, "").await;
        assert_eq!(
            (status, &v["error"]),
            (StatusCode::CONFLICT, &json!("busy")),
            "{path}: {v}"
        );
    }
    drop(change);
    let (status, v) = post(&r, "/api/v1/drives/labeler/restart", None, "").await;
    assert_eq!(status, StatusCode::OK, "{v}");
}
