//! Live changes through the API: plan, apply, add, upgrade (with rollback), remove; roles,
//! bad input, and the journal's record of who changed what.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use linevisor_control::ControlOptions;
use linevisor_control::journal::{self, Journal, JournalLimits};
use serde_json::{Value, json};

/// The running config as a TOML table, from `GET /api/v1/config`.
async fn running_config(r: &axum::Router, token: Option<&str>) -> toml::Table {
    let (status, v) = get(r, "/api/v1/config", token).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v.as_str().expect("TOML text").parse().expect("valid TOML")
}

/// `[[drive]]` entry `id` of `config`, to edit.
fn drive<'a>(config: &'a mut toml::Table, id: &str) -> &'a mut toml::Table {
    config["drive"]
        .as_array_mut()
        .expect("drives")
        .iter_mut()
        .filter_map(toml::Value::as_table_mut)
        .find(|d| d["id"].as_str() == Some(id))
        .expect("drive")
}

fn action<'a>(plan: &'a Value, id: &str) -> &'a Value {
    let drives = plan["plan"]["drives"].as_array().expect("drives");
    &drives.iter().find(|d| d["id"] == id).expect("row")["action"]
}

#[tokio::test(start_paused = true)]
async fn plan_shows_the_blast_radius_and_changes_nothing() {
    let (line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let mut config = running_config(&r, None).await;
    drive(&mut config, "labeler")
        .entry("limits")
        .or_insert(toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .expect("limits")
        .insert("velocity_max".into(), toml::Value::Float(800.0));
    let (status, plan) = post(&r, "/api/v1/config/plan", None, &config.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(action(&plan, "labeler"), "reconfigure");
    let touched = plan["plan"]["drives"]
        .as_array()
        .expect("drives")
        .iter()
        .filter(|d| d["action"] != "untouched")
        .count();
    assert_eq!(touched, 1, "{plan}");
    assert_eq!(
        line.drive("labeler").unwrap().config.limits.velocity_max,
        Some(1500.0)
    );

    // An invalid config: every diagnostic, located, and nothing changes.
    let bad = config
        .to_string()
        .replace("bus = \"sim-modbus\"", "bus = \"sim-modbsu\"");
    let (status, v) = post(&r, "/api/v1/config/plan", None, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"], "invalid_config");
    let diags = v["diagnostics"].as_array().expect("diagnostics");
    assert!(
        diags
            .iter()
            .any(|d| d.as_str().is_some_and(|d| d.contains("sim-modbsu"))),
        "{v}"
    );
    let (status, v) = post(&r, "/api/v1/config/plan", None, "[line\nname=").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test(start_paused = true)]
async fn add_upgrade_and_remove_a_drive_with_roles_rollback_and_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let limits = JournalLimits {
        max_bytes: u64::MAX,
        keep: 0,
    };
    let options = ControlOptions {
        tokens: Some(tokens()),
        journal: Some(Journal::open(&path, limits).unwrap()),
        ..ControlOptions::default()
    };
    let (line, control) = demo(options).await;
    let r = control.router();
    let glue = json!({"id": "glue-pump", "bus": "sim-modbus", "address": 9,
                      "profile": {"name": "linevisor-sim-servo", "version": "1.0"}})
    .to_string();

    // Operators command drives; they do not change the line.
    for (path, body) in [
        ("/api/v1/drives", glue.as_str()),
        (
            "/api/v1/drives/labeler/upgrade",
            r#"{"profile":"x","version":"1"}"#,
        ),
        ("/api/v1/config/apply", "[line]\nname = \"demo\"\n"),
    ] {
        let (status, v) = post(&r, path, Some(OPERATOR), body).await;
        assert_eq!(
            (status, &v["error"]),
            (StatusCode::FORBIDDEN, &json!("forbidden")),
            "{path}"
        );
    }
    let (status, _) = call(&r, "DELETE", "/api/v1/drives/labeler", Some(OPERATOR), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        post(&r, "/api/v1/drives", None, &glue).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Add: the new drive runs and shows samples; a second add of the same id conflicts.
    let (status, v) = post(&r, "/api/v1/drives", Some(ADMIN), &glue).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(action(&v, "glue-pump"), "add");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, d) = get(&r, "/api/v1/drives/glue-pump", Some(VIEWER)).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert!(d["cycles"].as_u64().is_some_and(|c| c > 50), "{d}");
    let (status, v) = post(&r, "/api/v1/drives", Some(ADMIN), &glue).await;
    assert_eq!(
        (status, &v["error"]),
        (StatusCode::CONFLICT, &json!("conflict")),
        "{v}"
    );
    let (status, v) = post(&r, "/api/v1/drives", Some(ADMIN), r#"{"id": "x"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");

    // Bad bodies and ids: named, nothing changes.
    let (status, v) = post(
        &r,
        "/api/v1/drives/labeler/upgrade",
        Some(ADMIN),
        r#"{"profile":"x"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("version")),
        "{v}"
    );
    let body = r#"{"profile":"linevisor-sim-servo","version":"1.0"}"#;
    let (status, v) = post(&r, "/api/v1/drives/ghost/upgrade", Some(ADMIN), body).await;
    assert_eq!(
        (status, &v["error"]),
        (StatusCode::NOT_FOUND, &json!("unknown_drive")),
        "{v}"
    );
    let stray = json!({"id": "stray", "bus": "no-such-bus", "address": 12,
                       "profile": {"name": "linevisor-sim-servo", "version": "1.0"}});
    let (status, v) = post(&r, "/api/v1/drives", Some(ADMIN), &stray.to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["diagnostics"].to_string().contains("no-such-bus"), "{v}");
    // Viewers may plan, not apply.
    let config = running_config(&r, Some(VIEWER)).await.to_string();
    assert_eq!(
        post(&r, "/api/v1/config/plan", Some(VIEWER), &config)
            .await
            .0,
        StatusCode::OK
    );
    let (status, _) = post(&r, "/api/v1/config/apply", Some(VIEWER), &config).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&r, "/api/v1/config", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Upgrade to a profile that does not exist: refused by the check, nothing runs it.
    let up = "/api/v1/drives/labeler/upgrade";
    let body = r#"{"profile":"linevisor-sim-servo","version":"9.9"}"#;
    let (status, v) = post(&r, up, Some(ADMIN), body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // A VFD map on the servo: the new version loses its trial and the old one runs again.
    let body = r#"{"profile":"delta-c2000-vfd","version":"1.0"}"#;
    let (status, v) = post(&r, up, Some(ADMIN), body).await;
    assert_eq!(
        (status, &v["error"]),
        (StatusCode::CONFLICT, &json!("change_failed")),
        "{v}"
    );
    assert_eq!(v["rolled_back"], true, "{v}");
    assert_eq!(
        line.drive("labeler").unwrap().version,
        "linevisor-sim-servo@1.0"
    );
    let (_, d) = get(&r, "/api/v1/drives/labeler", Some(VIEWER)).await;
    assert_eq!(d["version"], "linevisor-sim-servo@1.0", "{d}");

    // Remove: gone from the line and from the running config.
    let (status, v) = call(&r, "DELETE", "/api/v1/drives/glue-pump", Some(ADMIN), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        get(&r, "/api/v1/drives/glue-pump", Some(VIEWER)).await.0,
        StatusCode::NOT_FOUND
    );
    let config = running_config(&r, Some(VIEWER)).await;
    assert!(!config.to_string().contains("glue-pump"));
    let (status, _) = call(&r, "DELETE", "/api/v1/drives/glue-pump", Some(ADMIN), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The journal tells who did what, and how it ended.
    control.finish(json!({"kind": "stopped"})).await;
    let records = journal::read(&path).unwrap().records;
    let changes: Vec<(String, String, String)> = records
        .iter()
        .filter(|r| {
            ["add_drive", "upgrade", "remove_drive"].contains(&r["kind"].as_str().unwrap_or(""))
        })
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            (s("kind"), s("by"), s("outcome"))
        })
        .collect();
    let row = |k: &str, o: &str| (k.to_owned(), "maint".to_owned(), o.to_owned());
    assert_eq!(
        changes,
        [
            row("add_drive", "ok"),
            row("add_drive", "failed"),
            row("upgrade", "failed"),
            row("add_drive", "failed"),
            row("upgrade", "failed"),
            row("upgrade", "failed"),
            row("remove_drive", "ok"),
            row("remove_drive", "failed"),
        ]
    );
    assert!(
        records.iter().any(|r| r["kind"] == "rolled_back"),
        "no rollback event journalled"
    );
}

#[tokio::test(start_paused = true)]
async fn configs_may_be_large_but_not_unbounded() {
    let (_line, control) = demo(ControlOptions::default()).await;
    let r = control.router();
    let config = running_config(&r, None).await.to_string();
    // A big line (comments stand in for drives) passes the 64 KiB limit of other bodies.
    let big = format!("{config}\n{}", "# padding\n".repeat(20_000));
    assert!(big.len() > 150_000);
    let (status, v) = post(&r, "/api/v1/config/plan", None, &big).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let huge = format!("{config}\n{}", "# padding\n".repeat(120_000));
    let (status, v) = post(&r, "/api/v1/config/plan", None, &huge).await;
    assert_eq!(
        (status, &v["error"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!("too_large")),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap_or("").contains("1048576"),
        "{v}"
    );
}
