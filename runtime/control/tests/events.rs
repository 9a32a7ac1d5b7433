//! The SSE stream and the journal, fed by the line's own broadcasts.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use http_body_util::BodyExt as _;
use linevisor_control::ControlOptions;
use linevisor_control::journal::{self, Journal, JournalLimits};
use serde_json::Value;
use tower::ServiceExt as _;

/// Reads SSE frames until one `data:` object satisfies `want`.
async fn next_matching(body: &mut Body, want: impl Fn(&Value) -> bool) -> Value {
    let mut buf = String::new();
    loop {
        let frame = body.frame().await.expect("stream open").expect("frame");
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buf.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            for line in event.lines() {
                if let Some(v) = line
                    .strip_prefix("data:")
                    .and_then(|d| serde_json::from_str::<Value>(d.trim()).ok())
                    && want(&v)
                {
                    return v;
                }
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn sse_carries_drive_and_supervisor_events() {
    let (_line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let resp = r
        .clone()
        .oneshot(
            Request::get("/api/v1/events")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/event-stream"))
    );
    let mut body = resp.into_body();
    let (status, _) = post(
        &r,
        "/api/v1/drives/labeler/commands",
        None,
        r#"{"command":"enable"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v = next_matching(&mut body, |v| v["kind"] == "command_completed").await;
    assert_eq!(
        (v["drive"].as_str(), v["ok"].as_bool()),
        (Some("labeler"), Some(true)),
        "{v}"
    );
    let (status, _) = post(&r, "/api/v1/drives/labeler/restart", None, "").await;
    assert_eq!(status, StatusCode::OK);
    let v = next_matching(&mut body, |v| {
        v["source"] == "supervisor" && v["kind"] == "restarted"
    })
    .await;
    assert_eq!(v["child"], "labeler", "{v}");
}

#[tokio::test(start_paused = true)]
async fn journal_records_commands_with_caller_and_restarts() {
    let dir = std::env::temp_dir().join(format!("linevisor-journal-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("journal.jsonl");
    let j = Journal::open(&path, JournalLimits::default()).expect("open");
    let (_line, control) = demo(ControlOptions {
        tokens: Some(tokens()),
        journal: Some(j),
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();
    let cmd = "/api/v1/drives/transfer-axis/commands";
    assert_eq!(
        post(&r, cmd, Some(OPERATOR), r#"{"command":"enable"}"#)
            .await
            .0,
        StatusCode::OK
    );
    let (status, _) = post(
        &r,
        cmd,
        Some(OPERATOR),
        r#"{"command":"move_to","position":5000}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        post(&r, "/api/v1/drives/labeler/restart", Some(ADMIN), "")
            .await
            .0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let contents = journal::read(&path).expect("read");
    assert!(contents.rejected.is_empty(), "{:?}", contents.rejected);
    let commands: Vec<&Value> = contents
        .records
        .iter()
        .filter(|r| r["kind"] == "command")
        .collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!(
        (commands[0]["by"].as_str(), commands[0]["outcome"].as_str()),
        (Some("scada"), Some("ok"))
    );
    assert_eq!(commands[1]["outcome"], "failed");
    assert!(
        commands[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("1200")),
        "{}",
        commands[1]
    );
    let restart = contents
        .records
        .iter()
        .find(|r| r["kind"] == "restart")
        .expect("restart record");
    assert_eq!(
        (restart["by"].as_str(), restart["role"].as_str()),
        (Some("maint"), Some("admin"))
    );
    assert!(
        contents.records.iter().any(|r| r["source"] == "supervisor"
            && r["child"] == "labeler"
            && r["kind"] == "stopped"),
        "lifecycle events missing"
    );
    let seqs: Vec<u64> = contents
        .records
        .iter()
        .filter_map(|r| r["seq"].as_u64())
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
