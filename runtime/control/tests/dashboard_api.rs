//! What the dashboard reads, against the demo line in paused time: its page and files, the
//! live stream (ticks with every drive, events), a drive's trend and setup, and the journal.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use http_body_util::BodyExt as _;
use linevisor_control::journal::{Journal, JournalLimits};
use linevisor_control::{ControlOptions, OPENAPI, ROUTES};
use serde_json::Value;
use tower::ServiceExt as _;

/// Reads SSE frames until an event named `name` whose data satisfies `want`.
async fn next_event(body: &mut Body, name: &str, want: impl Fn(&Value) -> bool) -> Value {
    let mut buf = String::new();
    loop {
        let frame = body.frame().await.expect("stream open").expect("frame");
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buf.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let kind = event.lines().find_map(|l| l.strip_prefix("event:"));
            let data = event.lines().find_map(|l| l.strip_prefix("data:"));
            if kind.map(str::trim) == Some(name)
                && let Some(v) = data.and_then(|d| serde_json::from_str::<Value>(d.trim()).ok())
                && want(&v)
            {
                return v;
            }
        }
    }
}

async fn open(r: &axum::Router, path: &str) -> Body {
    let resp = r
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.into_body()
}

#[tokio::test(start_paused = true)]
async fn the_page_and_its_files_are_served_without_a_token_and_stay_out_of_the_api() {
    let (_line, control) = demo(ControlOptions {
        tokens: Some(tokens()),
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();
    let resp = r
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert!(
        h["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    let csp = h["content-security-policy"].to_str().unwrap_or("");
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    let html = resp.into_body().collect().await.expect("body").to_bytes();
    let html = String::from_utf8_lossy(&html);
    assert!(html.contains("/ui/app.js"), "{html}");
    for path in [
        "/ui/app.js",
        "/ui/vendor/uplot/uPlot.iife.min.js",
        "/ui/icon.svg",
    ] {
        let _ = open(&r, path).await;
    }
    let (status, v) = get(&r, "/ui/nothing.js", None).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_path"))
    );
    // The OpenAPI document lists the API, not the page.
    let doc: Value = serde_json::from_str(OPENAPI).expect("OpenAPI");
    assert!(doc["paths"].get("/").is_none());
    assert!(
        ROUTES
            .iter()
            .all(|r| r.starts_with("/api/") || *r == "/metrics")
    );
}

#[tokio::test(start_paused = true)]
async fn the_live_stream_ticks_with_every_drive_and_carries_events_and_trends_fill() {
    let (line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let mut all = open(&r, "/api/v1/live").await;
    let tick = next_event(&mut all, "tick", |v| {
        v["drives"]
            .as_array()
            .is_some_and(|d| d.iter().all(|d| d["samples"].as_u64() > Some(0)))
    })
    .await;
    let drives = tick["drives"].as_array().expect("drives");
    assert_eq!(drives.len(), line.drives().len(), "{tick}");
    let labeler = drives
        .iter()
        .find(|d| d["id"] == "labeler")
        .expect("labeler");
    assert!(
        labeler["cycles"].as_u64().is_some_and(|c| c > 0),
        "{labeler}"
    );
    assert!(
        labeler["position"].is_number() && labeler["jitter_us"].is_number(),
        "{labeler}"
    );
    assert!(tick["period_ms"] == 500);
    let tick = next_event(&mut all, "tick", |v| v["buses"].is_array()).await;
    let bus = &tick["buses"][0];
    assert!(
        bus["link_up"].is_boolean() && bus["transactions"].is_number(),
        "{bus}"
    );

    let mut one = open(&r, "/api/v1/live?drive=labeler").await;
    let t = next_event(&mut one, "tick", |_| true).await;
    assert_eq!(t["drives"].as_array().map(Vec::len), Some(1), "{t}");
    assert_eq!(t["drives"][0]["id"], "labeler");

    let (status, _) = post(
        &r,
        "/api/v1/drives/labeler/commands",
        None,
        r#"{"command":"enable"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let e = next_event(&mut all, "event", |v| v["kind"] == "command_completed").await;
    assert_eq!(
        (e["drive"].as_str(), e["ok"].as_bool()),
        (Some("labeler"), Some(true))
    );
    let t = next_event(&mut one, "tick", |v| {
        v["drives"][0]["state"] == "operation_enabled"
    })
    .await;
    assert_eq!(t["drives"][0]["id"], "labeler");

    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, trend) = get(&r, "/api/v1/drives/labeler/trend", None).await;
    assert_eq!(status, StatusCode::OK, "{trend}");
    let n = trend["t"].as_array().map_or(0, Vec::len);
    assert!(n >= 4, "{trend}");
    for col in ["position", "velocity", "current", "torque", "jitter_us"] {
        assert_eq!(trend[col].as_array().map(Vec::len), Some(n), "{col}");
    }
    assert_eq!(trend["sampling"], true);
    let (status, v) = get(&r, "/api/v1/live?drive=nope", None).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_drive"))
    );

    // With no stream open the sampler stops and lets its trends go.
    drop((all, one));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, trend) = get(&r, "/api/v1/drives/labeler/trend", None).await;
    assert_eq!(
        (
            trend["sampling"].as_bool(),
            trend["t"].as_array().map(Vec::len)
        ),
        (Some(false), Some(0))
    );
}

#[tokio::test(start_paused = true)]
async fn a_drive_setup_shows_its_config_and_what_its_profile_says() {
    let (_line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let (status, v) = get(&r, "/api/v1/drives/transfer-axis/setup", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["config"]["limits"]["position_max"], 1200.0);
    assert_eq!(v["config"]["parameters"]["max_current"], 6.0);
    assert_eq!(v["cycle_ms"], 10);
    assert_eq!(v["profile"]["units"]["position"], "mm");
    assert_eq!(v["profile"]["identity"][0], "serial_number");
    assert_eq!(v["profile"]["parameters"]["max_current"]["unit"], "A");
    let (status, _) = get(&r, "/api/v1/drives/nope/setup", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(start_paused = true)]
async fn the_journal_reads_newest_first_filtered_and_paged() {
    let dir = std::env::temp_dir().join(format!("linevisor-dash-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let j = Journal::open(&dir.join("journal.jsonl"), JournalLimits::default()).expect("open");
    let (_line, control) = demo(ControlOptions {
        journal: Some(j),
        tokens: Some(tokens()),
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();
    for cmd in [
        r#"{"command":"enable"}"#,
        r#"{"command":"set_velocity","value":99999}"#,
    ] {
        let _ = post(&r, "/api/v1/drives/labeler/commands", Some(OPERATOR), cmd).await;
    }
    let (status, v) = get(&r, "/api/v1/journal?kind=command&limit=1", Some(VIEWER)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let first = &v["records"][0];
    assert_eq!(
        (first["outcome"].as_str(), first["by"].as_str()),
        (Some("failed"), Some("scada"))
    );
    let next = v["next_before"].as_str().expect("a next page");
    let (_, v) = get(
        &r,
        &format!("/api/v1/journal?kind=command&before={next}"),
        Some(VIEWER),
    )
    .await;
    let recs = v["records"].as_array().expect("records");
    assert_eq!(recs.len(), 1, "{v}");
    assert_eq!(recs[0]["outcome"], "ok");
    assert!(v["next_before"].is_null());
    let (_, v) = get(
        &r,
        "/api/v1/journal?drive=labeler&outcome=failed",
        Some(VIEWER),
    )
    .await;
    assert_eq!(v["records"].as_array().map(Vec::len), Some(1), "{v}");
    let (_, v) = get(&r, "/api/v1/journal?kind=started", Some(VIEWER)).await;
    assert_eq!(v["records"][0]["line"], "demo");
    let (status, v) = get(&r, "/api/v1/journal?before=yesterday", Some(VIEWER)).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (status, _) = get(&r, "/api/v1/journal", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_line, none) = demo(ControlOptions::default()).await;
    let (status, v) = get(&none.router(), "/api/v1/journal", None).await;
    assert_eq!(
        (status, v["journal"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sum of every drive's missed cycles.
async fn missed(line: &linevisor_line::RunningLine) -> u64 {
    let mut sum = 0;
    for d in line.drives().values() {
        sum += linevisor_drive::snapshot(&d.handle)
            .await
            .map_or(0, |s| s.stats.missed);
    }
    sum
}

#[tokio::test(start_paused = true)]
async fn five_live_streams_for_a_minute_cost_no_drive_a_cycle() {
    let (line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let before = missed(&line).await;
    let end = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut readers = Vec::new();
    for i in 0..5 {
        let path = if i == 0 {
            "/api/v1/live?drive=labeler"
        } else {
            "/api/v1/live"
        };
        let mut body = open(&r, path).await;
        readers.push(tokio::spawn(async move {
            let mut ticks = 0;
            while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(end, body.frame()).await {
                if frame
                    .into_data()
                    .is_ok_and(|d| d.starts_with(b"event: tick"))
                {
                    ticks += 1;
                }
            }
            ticks
        }));
    }
    for r in readers {
        let ticks = r.await.expect("reader");
        assert!((110..=121).contains(&ticks), "{ticks} ticks in 60 s");
    }
    assert_eq!(missed(&line).await, before, "a drive missed a cycle");
}
