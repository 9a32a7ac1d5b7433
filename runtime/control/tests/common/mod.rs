//! Shared by the API tests: the demo line under a control plane, and one-request calls.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, check_text};
use linevisor_control::{ControlOptions, ControlPlane, Tokens};
use linevisor_line::{LineOptions, RunningLine};
use serde_json::Value;
use tower::ServiceExt as _;

pub const VIEWER: &str = "viewer-token-0123456789";
pub const OPERATOR: &str = "operator-token-0123456789";
pub const ADMIN: &str = "admin-token-0123456789";

pub fn tokens() -> Tokens {
    let text = format!(
        "[[token]]\nname = \"hmi\"\nvalue = \"{VIEWER}\"\nrole = \"viewer\"\n\
         [[token]]\nname = \"scada\"\nvalue = \"{OPERATOR}\"\nrole = \"operator\"\n\
         [[token]]\nname = \"maint\"\nvalue = \"{ADMIN}\"\nrole = \"admin\"\n"
    );
    Tokens::parse("test-tokens.toml", &text).expect("valid tokens")
}

/// The demo line, running for 2 s of (paused) time, under a control plane.
pub async fn demo(options: ControlOptions) -> (Arc<RunningLine>, ControlPlane) {
    let line = check_text(DEMO_LINE_NAME, DEMO_LINE, None)
        .line
        .expect("valid demo line");
    let running = Arc::new(
        RunningLine::start(&line, LineOptions::default())
            .await
            .expect("start"),
    );
    let control = ControlPlane::new(running.clone(), options);
    tokio::time::sleep(Duration::from_secs(2)).await;
    (running, control)
}

pub async fn call(
    router: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = body.map_or_else(Body::empty, Body::from);
    let resp = router
        .clone()
        .oneshot(
            req.header("content-type", "application/json")
                .body(body)
                .expect("request"),
        )
        .await
        .expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v)
}

pub async fn get(router: &Router, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    call(router, "GET", path, token, None).await
}

pub async fn post(
    router: &Router,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    call(router, "POST", path, token, Some(body.as_bytes().to_vec())).await
}
