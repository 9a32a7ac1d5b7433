//! The profile folders a request may name: inside the running config's folder (symlinks
//! followed) or the running config's own; anything else is refused with a line that names the
//! folder as written and nothing the file system said. An applied config's folders must not be
//! writable by every user.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use linevisor_config::check_file;
use linevisor_control::{ControlOptions, ControlPlane};
use linevisor_line::{LineOptions, RunningLine};
use serde_json::Value;

const SERVO: &str = include_str!("../../../configs/profiles/linevisor-sim-servo.toml");

/// A line in `<root>/cell/line.toml` whose profile folders are `dirs`; `<root>/outside` holds
/// a profile with a syntax error (what a reader should never see) next to the cell.
fn line(dirs: &str) -> String {
    format!(
        "[line]\nname = \"cell\"\nprofile_dirs = {dirs}\n\n\
         [[bus]]\nid = \"sim\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n\n\
         [[drive]]\nid = \"a\"\nbus = \"sim\"\naddress = 1\n\
         profile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n"
    )
}

struct Cell {
    _root: tempfile::TempDir,
    dir: PathBuf,
    line: Arc<RunningLine>,
    control: ControlPlane,
}

async fn cell(dirs: &str) -> Cell {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("cell");
    for d in ["cell/profiles", "outside", "shared"] {
        std::fs::create_dir_all(root.path().join(d)).unwrap();
    }
    std::fs::write(
        root.path().join("outside/secret-plan.toml"),
        "password = \n",
    )
    .unwrap();
    let v11 = SERVO.replace("version = \"1.0\"", "version = \"1.1\"");
    std::fs::write(dir.join("profiles/servo-1.1.toml"), &v11).unwrap();
    std::fs::write(root.path().join("shared/servo-1.1.toml"), &v11).unwrap();
    let file = dir.join("line.toml");
    std::fs::write(&file, line(dirs)).unwrap();
    let checked = check_file(&file);
    let valid = checked
        .line
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    let running = Arc::new(
        RunningLine::start(&valid, LineOptions::default())
            .await
            .unwrap(),
    );
    let options = ControlOptions {
        tokens: Some(tokens()),
        config_file: Some(file),
        ..ControlOptions::default()
    };
    let control = ControlPlane::new(running.clone(), options);
    Cell {
        _root: root,
        dir,
        line: running,
        control,
    }
}

/// A refusal that names `needle` and nothing the file system said.
fn refused(status: StatusCode, v: &Value, needle: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let text = v.to_string();
    assert!(text.contains(needle), "{v}");
    for leak in [
        "os error",
        "No such file",
        "ermission denied",
        "secret-plan",
        "password",
    ] {
        assert!(!text.contains(leak), "leaks {leak:?}: {v}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_viewer_cannot_read_folders_outside_the_config() {
    let c = cell("[\"profiles\"]").await;
    let r = c.control.router();
    let plan = "/api/v1/config/plan";
    let outside = c.dir.parent().unwrap().join("outside");
    let escapes = [
        format!("[{:?}]", outside.display().to_string()),
        "[\"../outside\"]".to_owned(),
        "[\"profiles/../../outside\"]".to_owned(),
        // Absent folders outside answer the same: no probing what exists.
        "[\"../no-such-folder\"]".to_owned(),
        "[\"/no/such/folder\"]".to_owned(),
    ];
    for dirs in &escapes {
        let (status, v) = post(&r, plan, Some(VIEWER), &line(dirs)).await;
        refused(status, &v, "outside the running config's folder");
    }
    // A symlink inside the folder that leads out of it is followed, and refused.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, c.dir.join("linked")).unwrap();
        let (status, v) = post(&r, plan, Some(VIEWER), &line("[\"linked\"]")).await;
        refused(status, &v, "outside the running config's folder");
    }
    // A folder that is not there: said so, without the OS's words or the full path.
    let (status, v) = post(&r, plan, Some(VIEWER), &line("[\"nowhere\"]")).await;
    refused(status, &v, "profile folder \\\"nowhere\\\" does not exist");
    assert!(!v.to_string().contains(&*c.dir.to_string_lossy()), "{v}");
    // Inside the folder: fine.
    let (status, v) = post(&r, plan, Some(VIEWER), &line("[\"./profiles\"]")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

#[tokio::test(start_paused = true)]
async fn the_running_configs_own_folders_stay_allowed() {
    let c = cell("[\"../shared\"]").await;
    let r = c.control.router();
    let (status, v) = post(
        &r,
        "/api/v1/config/plan",
        Some(VIEWER),
        &line("[\"../shared\"]"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = post(
        &r,
        "/api/v1/config/plan",
        Some(VIEWER),
        &line("[\"../outside\"]"),
    )
    .await;
    refused(status, &v, "outside the running config's folder");
}

#[cfg(unix)]
#[tokio::test(start_paused = true)]
async fn an_apply_refuses_folders_anyone_may_write() {
    use std::os::unix::fs::PermissionsExt as _;
    let c = cell("[\"profiles\"]").await;
    let r = c.control.router();
    let open = c.dir.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let text = line("[\"profiles\", \"open\"]");
    // Planning only reads: allowed.
    let (status, v) = post(&r, "/api/v1/config/plan", Some(VIEWER), &text).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = post(&r, "/api/v1/config/apply", Some(ADMIN), &text).await;
    refused(status, &v, "writable by every user");
    // A world-writable profile file in a closed folder is refused as well.
    let file = c.dir.join("profiles/servo-1.1.toml");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (status, v) = post(
        &r,
        "/api/v1/config/apply",
        Some(ADMIN),
        &line("[\"profiles\"]"),
    )
    .await;
    refused(status, &v, "writable by every user");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (status, v) = post(
        &r,
        "/api/v1/config/apply",
        Some(ADMIN),
        &line("[\"profiles\"]"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(c.line.drive("a").is_some());
}
