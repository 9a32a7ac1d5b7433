//! The dashboard's browser sessions against the demo line: a token given once becomes an
//! `HttpOnly; SameSite=Strict` cookie; every state-changing request of a session needs its
//! CSRF token; a viewer's session changes nothing, whatever it sends; a cross-site form post
//! with the cookie is refused; logout and token revocation end a session.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{ADMIN, OPERATOR, VIEWER, demo, tokens};
use http_body_util::BodyExt as _;
use linevisor_control::{ControlOptions, Tokens};
use serde_json::Value;
use tower::ServiceExt as _;

/// `method path` with `headers` and `body`: status, `Set-Cookie` and the JSON answer.
async fn send(
    r: &Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, Option<String>, Value) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Body::from(body.to_owned())).expect("request");
    let resp = r.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .map(str::to_owned);
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        cookie,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const JSON: (&str, &str) = ("content-type", "application/json");
const ENABLE: &str = r#"{"command":"enable"}"#;
const CMD: &str = "/api/v1/drives/labeler/commands";

/// Logs in with `token`: the `Cookie` header to send back and the CSRF token.
async fn login(r: &Router, token: &str) -> (String, String, String) {
    let body = format!(r#"{{"token":"{token}"}}"#);
    let (status, cookie, v) = send(r, "POST", "/api/v1/session", &[JSON], &body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let cookie = cookie.expect("a session cookie");
    let pair = cookie.split(';').next().expect("name=value").to_owned();
    let csrf = v["csrf"].as_str().expect("csrf").to_owned();
    (pair, csrf, cookie)
}

#[tokio::test(start_paused = true)]
async fn a_session_cookie_stands_for_the_token_and_needs_its_csrf_token_to_change_anything() {
    let (_line, control) = demo(ControlOptions {
        tokens: Some(tokens()),
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();

    // Before login the page may ask who it is (always 200) and nothing else.
    let (status, _, v) = send(&r, "GET", "/api/v1/session", &[], "").await;
    assert_eq!((status, v["auth"].as_str()), (StatusCode::OK, Some("none")));
    let (status, _, v) = send(&r, "GET", "/api/v1/line", &[], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    let (status, cookie, _) = send(
        &r,
        "POST",
        "/api/v1/session",
        &[JSON],
        r#"{"token":"not-a-token-of-this-line"}"#,
    )
    .await;
    assert_eq!((status, cookie), (StatusCode::UNAUTHORIZED, None));

    // An operator's session: reads with the cookie alone, changes only with the CSRF token.
    let (op, op_csrf, set) = login(&r, OPERATOR).await;
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"));
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    let (status, _, v) = send(&r, "GET", "/api/v1/session", &[("cookie", &op)], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (v["auth"].as_str(), v["role"].as_str()),
        (Some("session"), Some("operator"))
    );
    assert_eq!(v["csrf"].as_str(), Some(op_csrf.as_str()));
    let (status, _, v) = send(&r, "GET", "/api/v1/line", &[("cookie", &op)], "").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, _, v) = send(&r, "POST", CMD, &[JSON, ("cookie", &op)], ENABLE).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("refused"))
    );
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("X-CSRF-Token")),
        "{v}"
    );
    let wrong = [
        JSON,
        ("cookie", &op),
        ("x-csrf-token", "0".repeat(64).leak()),
    ];
    let (status, _, _) = send(&r, "POST", CMD, &wrong, ENABLE).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let ok = [
        JSON,
        ("cookie", op.as_str()),
        ("x-csrf-token", op_csrf.as_str()),
    ];
    let (status, _, v) = send(&r, "POST", CMD, &ok, ENABLE).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "operation_enabled");

    // The operator may not restart (admin); an admin's session may.
    let restart = "/api/v1/drives/labeler/restart";
    let (status, _, v) = send(&r, "POST", restart, &ok, "").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (admin, admin_csrf, _) = login(&r, ADMIN).await;
    let adm = [
        ("cookie", admin.as_str()),
        ("x-csrf-token", admin_csrf.as_str()),
    ];
    let (status, _, v) = send(&r, "POST", restart, &adm, "").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // One session's CSRF token is not another's.
    let mixed = [
        JSON,
        ("cookie", op.as_str()),
        ("x-csrf-token", admin_csrf.as_str()),
    ];
    assert_eq!(
        send(&r, "POST", CMD, &mixed, ENABLE).await.0,
        StatusCode::FORBIDDEN
    );

    // Logout needs the CSRF token too, clears the cookie and ends the session.
    let (status, _, _) = send(&r, "DELETE", "/api/v1/session", &[("cookie", &op)], "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, cleared, v) = send(&r, "DELETE", "/api/v1/session", &ok[1..], "").await;
    assert_eq!(
        (status, v["logged_out"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    assert!(cleared.is_some_and(|c| c.contains("Max-Age=0")));
    let (status, _, _) = send(&r, "GET", "/api/v1/line", &[("cookie", &op)], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, v) = send(&r, "GET", "/api/v1/session", &[("cookie", &op)], "").await;
    assert_eq!((status, v["auth"].as_str()), (StatusCode::OK, Some("none")));

    // Revoking the token (SIGHUP) ends its sessions at once.
    let only_operator = tokens()
        .token
        .into_iter()
        .filter(|t| t.value != ADMIN)
        .collect();
    control
        .replace_tokens(Tokens {
            token: only_operator,
        })
        .expect("tokens");
    let (status, _, v) = send(&r, "GET", "/api/v1/line", &[("cookie", &admin)], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("no longer valid")),
        "{v}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_viewer_session_changes_nothing_and_a_cross_site_post_with_the_cookie_is_refused() {
    let (line, control) = demo(ControlOptions {
        tokens: Some(tokens()),
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();
    let (viewer, csrf, _) = login(&r, VIEWER).await;
    let v = [
        JSON,
        ("cookie", viewer.as_str()),
        ("x-csrf-token", csrf.as_str()),
    ];
    let config = "/api/v1/config/apply";
    let toml = [("content-type", "application/toml"), v[1], v[2]];
    for (method, path, headers, body) in [
        ("POST", CMD, &v[..], ENABLE),
        ("POST", "/api/v1/drives/labeler/restart", &v[1..], ""),
        ("POST", "/api/v1/buses/sim-modbus/restart", &v[1..], ""),
        (
            "POST",
            "/api/v1/drives/labeler/upgrade",
            &v[..],
            r#"{"profile":"linevisor-sim-servo","version":"1.0"}"#,
        ),
        ("DELETE", "/api/v1/drives/labeler", &v[1..], ""),
        (
            "POST",
            "/api/v1/drives",
            &v[..],
            r#"{"id":"x","bus":"sim-modbus","address":9,"profile":{"name":"linevisor-sim-servo","version":"1.0"}}"#,
        ),
        ("POST", config, &toml[..], linevisor_config::DEMO_LINE),
    ] {
        let (status, _, answer) = send(&r, method, path, headers, body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{method} {path}: {answer}"
        );
    }
    // What another site's page can make the browser send, cookie included (were SameSite not
    // there): a form post, and a fetch with a JSON type but no CSRF token.
    let evil = ("origin", "http://evil.example");
    let form = ("content-type", "application/x-www-form-urlencoded");
    let op = login(&r, OPERATOR).await;
    let cookie = ("cookie", op.0.as_str());
    for headers in [
        vec![form, cookie, evil, ("sec-fetch-site", "cross-site")],
        vec![form, cookie, evil],
        vec![
            form,
            cookie,
            ("host", "127.0.0.1:7010"),
            ("origin", "http://127.0.0.1:7010"),
        ],
        vec![
            JSON,
            cookie,
            ("host", "127.0.0.1:7010"),
            ("origin", "http://127.0.0.1:7010"),
        ],
        vec![("content-type", "text/plain"), cookie],
    ] {
        let (status, _, answer) = send(&r, "POST", CMD, &headers, "command=enable").await;
        assert!(
            matches!(
                status,
                StatusCode::FORBIDDEN | StatusCode::UNSUPPORTED_MEDIA_TYPE
            ),
            "{headers:?}: {status} {answer}"
        );
    }
    let d = line.drive("labeler").expect("labeler");
    let state = linevisor_drive::snapshot(&d.handle)
        .await
        .expect("snapshot")
        .state;
    assert_ne!(state.name(), "operation_enabled", "nothing was enabled");
}

#[tokio::test(start_paused = true)]
async fn over_https_the_cookie_is_secure_and_host_bound_and_an_open_api_needs_no_login() {
    let (_line, control) = demo(ControlOptions {
        tokens: Some(tokens()),
        https: true,
        ..ControlOptions::default()
    })
    .await;
    let r = control.router();
    let (pair, _, set) = login(&r, VIEWER).await;
    assert!(
        set.starts_with("__Host-linevisor_session=") && set.contains("; Secure"),
        "{set}"
    );
    let (status, _, _) = send(&r, "GET", "/api/v1/line", &[("cookie", &pair)], "").await;
    assert_eq!(status, StatusCode::OK);
    // The plain-HTTP cookie name is not accepted over HTTPS.
    let plain = pair.replace("__Host-", "");
    let (status, _, _) = send(&r, "GET", "/api/v1/line", &[("cookie", &plain)], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_line, open) = demo(ControlOptions::default()).await;
    let r = open.router();
    let (status, _, v) = send(&r, "GET", "/api/v1/session", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (v["auth"].as_str(), v["role"].as_str()),
        (Some("open"), Some("admin"))
    );
    let (status, _, v) = send(&r, "POST", "/api/v1/session", &[JSON], r#"{"token":"x"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("no tokens file")),
        "{v}"
    );
}
