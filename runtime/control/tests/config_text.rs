//! The running config round-trips: `GET /config` answers the integrator's own text (comments,
//! layout, `[control] listen`), applying it back changes nothing, and add, remove and upgrade
//! edit that text in place, so its comments survive and every answer checks clean again.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use linevisor_config::{DEMO_LINE, check_file, check_text};
use linevisor_control::{ControlOptions, ControlPlane};
use linevisor_line::{LineOptions, RunningLine};
use serde_json::json;

const SERVO: &str = include_str!("../../../configs/profiles/linevisor-sim-servo.toml");

/// A line as an integrator writes it: comments everywhere, defaults left out, `[control]`.
const LINE: &str = r#"# Cell 4: press and its feeders. Owner: line engineering.

[line]
name = "cell-4"   # shown in logs and metrics
cycle_ms = 10

# One simulated segment stands in for the RS-485 line until the hardware arrives.
[[bus]]
id = "sim"
type = "simulated"
protocol = "modbus"

# The press feeder; do not raise its limit without the safety review.
[[drive]]
id = "feeder"
bus = "sim"
address = 1
profile = { name = "linevisor-sim-servo", version = "1.0" }   # firmware 1.0
limits = { velocity_max = 1200.0 }

# The outfeed belt.
[[drive]]
id = "belt"
bus = "sim"
address = 2
profile = { name = "linevisor-sim-servo", version = "1.0" }

[control]
listen = "127.0.0.1:7010"   # loopback only: no tokens yet
"#;

const COMMENTS: [&str; 6] = [
    "# Cell 4: press and its feeders. Owner: line engineering.",
    "# shown in logs and metrics",
    "# One simulated segment stands in",
    "# The outfeed belt.",
    "# loopback only: no tokens yet",
    "# firmware 1.0",
];

/// `LINE` in a folder with a profile for the sim servo's version 1.1, started from the file.
async fn started(dir: &Path) -> (PathBuf, Arc<RunningLine>, ControlPlane) {
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    let v11 = SERVO.replace("version = \"1.0\"", "version = \"1.1\"");
    std::fs::write(dir.join("profiles/sim-servo-1.1.toml"), v11).unwrap();
    let file = dir.join("line.toml");
    std::fs::write(&file, LINE).unwrap();
    let checked = check_file(&file);
    let line = checked.line.expect("the example line checks");
    let running = Arc::new(
        RunningLine::start(&line, LineOptions::default())
            .await
            .unwrap(),
    );
    let options = ControlOptions {
        config_file: Some(file.clone()),
        ..ControlOptions::default()
    };
    let control = ControlPlane::new(running.clone(), options);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    (file, running, control)
}

async fn running_text(r: &axum::Router) -> String {
    let (status, v) = get(r, "/api/v1/config", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v.as_str().expect("TOML text").to_owned()
}

/// Checks `text` as `linevisor check` would in `dir`: no error, no warning.
fn checks_clean(dir: &Path, text: &str) {
    let checked = check_text("line.toml", text, Some(dir));
    assert!(
        checked.diagnostics.is_empty(),
        "{:?}\n{text}",
        checked.diagnostics
    );
}

fn keeps_comments(text: &str) {
    for c in COMMENTS {
        assert!(text.contains(c), "lost {c:?}:\n{text}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_running_config_is_the_integrators_text_and_applies_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _line, control) = started(dir.path()).await;
    let r = control.router();
    let text = running_text(&r).await;
    assert_eq!(text, std::fs::read_to_string(&file).unwrap());
    checks_clean(dir.path(), &text);

    // `linevisor config > line.toml && linevisor apply line.toml`: accepted, nothing touched.
    let (status, v) = post(&r, "/api/v1/config/apply", None, &text).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let drives = v["plan"]["drives"].as_array().expect("drives");
    assert!(drives.iter().all(|d| d["action"] == "untouched"), "{v}");
    assert_eq!(running_text(&r).await, text);
}

#[tokio::test(start_paused = true)]
async fn add_upgrade_and_remove_edit_the_text_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (_file, line, control) = started(dir.path()).await;
    let r = control.router();

    let glue = json!({"id": "glue", "bus": "sim", "address": 3,
                      "profile": {"name": "linevisor-sim-servo", "version": "1.0"},
                      "limits": {"velocity_max": 900.0}});
    let (status, v) = post(&r, "/api/v1/drives", None, &glue.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let text = running_text(&r).await;
    keeps_comments(&text);
    checks_clean(dir.path(), &text);
    // Only what the request gave is written, after the last drive, before `[control]`.
    let added = &text[text.find("id = \"glue\"").expect("glue")..];
    assert!(added.contains("velocity_max = 900.0"), "{text}");
    assert!(!added[..added.find("[control]").expect("control after")].contains("restart"));
    assert!(
        text.find("id = \"belt\"") < text.find("id = \"glue\""),
        "{text}"
    );

    let body = r#"{"profile":"linevisor-sim-servo","version":"1.1"}"#;
    let (status, v) = post(&r, "/api/v1/drives/feeder/upgrade", None, body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        line.drive("feeder").unwrap().version,
        "linevisor-sim-servo@1.1"
    );
    let text = running_text(&r).await;
    checks_clean(dir.path(), &text);
    let feeder = "profile = { name = \"linevisor-sim-servo\", version = \"1.1\" }   # firmware 1.0";
    assert!(text.contains(feeder), "{text}");
    keeps_comments(&text);

    let (status, v) = call(&r, "DELETE", "/api/v1/drives/belt", None, None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let text = running_text(&r).await;
    checks_clean(dir.path(), &text);
    assert!(!text.contains("id = \"belt\""), "{text}");
    for c in COMMENTS.iter().filter(|c| !c.contains("outfeed belt")) {
        assert!(text.contains(c), "lost {c:?}:\n{text}");
    }
    // And that text applies back with nothing touched.
    let (status, v) = post(&r, "/api/v1/config/apply", None, &text).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let drives = v["plan"]["drives"].as_array().expect("drives");
    assert!(drives.iter().all(|d| d["action"] == "untouched"), "{v}");
}

#[tokio::test(start_paused = true)]
async fn the_demo_line_answers_its_own_text() {
    let (_line, control) = demo(ControlOptions::default()).await;
    assert_eq!(running_text(&control.router()).await, DEMO_LINE);
}

/// A line whose text is unknown (not the demo, no file) is written out; with `[control]
/// listen` that text still checks clean and applies back.
#[tokio::test(start_paused = true)]
async fn a_written_out_config_sets_the_api_address_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = LINE.replace("# ", "#~ ");
    let line = check_text("line.toml", &text, Some(dir.path()))
        .line
        .expect("checks");
    let running = Arc::new(
        RunningLine::start(&line, LineOptions::default())
            .await
            .unwrap(),
    );
    let control = ControlPlane::new(running, ControlOptions::default());
    let r = control.router();
    let written = running_text(&r).await;
    assert!(!written.contains("#~"), "not the started text: {written}");
    assert!(!written.contains("api_listen"), "{written}");
    checks_clean(dir.path(), &written);
    let (status, v) = post(&r, "/api/v1/config/apply", None, &written).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}
