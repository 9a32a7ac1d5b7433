//! The checks every request passes, with or without tokens: a web page in a browser on the
//! gateway's network cannot command a drive (cross-site form posts, `text/plain` bodies, foreign
//! Origins, DNS rebinding), refusals are journalled with the peer's address, commands are
//! rate-limited per peer, and event streams are bounded.

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use common::{OPERATOR, demo, tokens};
use http_body_util::BodyExt as _;
use linevisor_control::{ControlOptions, Journal, JournalLimits};
use serde_json::Value;
use tower::ServiceExt as _;

const PEER: &str = "192.0.2.7:50123";

/// `method path` with `headers` and `body`, as from `PEER`.
async fn send(
    router: &Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body.to_owned())).expect("request");
    let peer: SocketAddr = PEER.parse().expect("addr");
    req.extensions_mut().insert(ConnectInfo(peer));
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const ENABLE: &str = r#"{"command":"enable"}"#;
const PATH: &str = "/api/v1/drives/infeed-conveyor/commands";

fn state_of(v: &Value) -> String {
    v["state"].as_str().unwrap_or("").to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_browser_page_cannot_command_a_drive_on_an_open_api() {
    let (_line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let host = ("host", "127.0.0.1:7010");
    // What a cross-site HTML form or a no-preflight fetch can send.
    for (headers, code) in [
        (
            vec![host, ("content-type", "text/plain")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            vec![host, ("content-type", "application/x-www-form-urlencoded")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            vec![host, ("content-type", "multipart/form-data; boundary=x")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        // JSON, but from another site (fetch with CORS would be preflighted and fail; a
        // browser says where it comes from).
        (
            vec![
                host,
                ("content-type", "application/json"),
                ("origin", "http://evil.example"),
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            vec![
                host,
                ("content-type", "application/json"),
                ("sec-fetch-site", "cross-site"),
            ],
            StatusCode::FORBIDDEN,
        ),
        // DNS rebinding: evil.example resolves to the gateway; the Host gives it away.
        (
            vec![
                ("host", "evil.example:7010"),
                ("content-type", "application/json"),
            ],
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (status, body) = send(&r, "POST", PATH, &headers, ENABLE).await;
        assert_eq!(status, code, "{headers:?}: {body}");
    }
    // A rebinding page cannot even read.
    let (status, _) = send(&r, "GET", "/api/v1/line", &[("host", "evil.example")], "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, drive) = send(&r, "GET", "/api/v1/drives/infeed-conveyor", &[host], "").await;
    assert_eq!(state_of(&drive), "switch_on_disabled", "{drive}");

    // The API's own origin, the CLI (no Origin) and a same-origin page are served.
    let own = [
        host,
        ("content-type", "application/json"),
        ("origin", "http://127.0.0.1:7010"),
    ];
    let (status, body) = send(&r, "POST", PATH, &own, ENABLE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cli = [host, ("content-type", "application/json")];
    let (status, body) = send(&r, "POST", PATH, &cli, r#"{"command":"disable"}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(start_paused = true)]
async fn an_allowed_host_name_is_served() {
    let (_line, control) = demo(ControlOptions {
        allowed_hosts: vec!["gateway-7.plant.local".into()],
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();
    let (status, _) = send(
        &r,
        "GET",
        "/api/v1/line",
        &[("host", "GATEWAY-7.plant.local:7010")],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(&r, "GET", "/api/v1/line", &[("host", "[::1]:7010")], "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(&r, "GET", "/api/v1/line", &[("host", "localhost")], "").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn refused_requests_are_journalled_with_the_peer() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("journal.jsonl");
    let journal = Journal::open(&path, JournalLimits::default()).expect("journal");
    let (_line, control) = demo(ControlOptions {
        tokens: Some(tokens()),
        journal: Some(journal),
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();
    let json = ("content-type", "application/json");
    let (status, _) = send(
        &r,
        "POST",
        PATH,
        &[json, ("authorization", "Bearer wrong-token-0000000")],
        ENABLE,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        &r,
        "POST",
        "/api/v1/drives/infeed-conveyor/restart",
        &[("authorization", &format!("Bearer {OPERATOR}"))],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let records = linevisor_control::journal::read(&path)
        .expect("read")
        .records;
    let refused: Vec<&Value> = records.iter().filter(|r| r["kind"] == "refused").collect();
    assert_eq!(refused.len(), 2, "{records:#?}");
    assert_eq!(refused[0]["status"], 401);
    assert_eq!(refused[0]["path"], PATH);
    assert_eq!(refused[0]["peer"], PEER);
    assert_eq!(refused[1]["status"], 403);
    // A flood is journalled at a bounded rate, the rest counted.
    for _ in 0..50 {
        send(
            &r,
            "GET",
            "/api/v1/line",
            &[("authorization", "Bearer nope-nope-nope-nope")],
            "",
        )
        .await;
    }
    let records = linevisor_control::journal::read(&path)
        .expect("read")
        .records;
    let flood = records.iter().filter(|r| r["kind"] == "refused").count();
    assert!(flood < 20, "{flood} refusals journalled for 52");
}

#[tokio::test(start_paused = true)]
async fn commands_beyond_the_rate_are_refused_with_a_reason() {
    let (_line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let json = [("content-type", "application/json")];
    let mut limited = None;
    // Time is paused: the bucket does not refill while the test runs.
    for i in 0..100 {
        let (status, body) = send(&r, "POST", PATH, &json, r#"{"command":"stop"}"#).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((i, body));
            break;
        }
    }
    let (after, body) = limited.expect("a rate limit");
    assert!(after >= 40, "limited after {after}");
    assert_eq!(body["error"], "too_many_requests");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("192.0.2.7")),
        "{body}"
    );
}

#[tokio::test(start_paused = true)]
async fn event_streams_are_bounded() {
    let (_line, control) = demo(ControlOptions {
        max_event_streams: Some(2),
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();
    let open = |r: Router| async move {
        let req = Request::get("/api/v1/events")
            .body(Body::empty())
            .expect("request");
        r.oneshot(req).await.expect("infallible")
    };
    let a = open(r.clone()).await;
    let b = open(r.clone()).await;
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let c = open(r.clone()).await;
    assert_eq!(c.status(), StatusCode::SERVICE_UNAVAILABLE);
    // A closed stream frees its place.
    drop(a);
    let d = open(r.clone()).await;
    assert_eq!(d.status(), StatusCode::OK);
    drop((b, d));
}
