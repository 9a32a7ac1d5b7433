//! Edges of live changes: an upgraded drive that later goes offline is restarted like any
//! other (no trial again), a `reinit` drive keeps running through a reconfiguration, and a
//! rollback restores a drive's actor even when the drive does not answer.

use linevisor_drive::PowerState;
use std::path::Path;
use std::time::Duration;

use linevisor_config::{ValidLine, check_text};
use linevisor_drive::{Command, DriveEventKind, DriveState, send_command, snapshot};
use linevisor_line::{ChangeError, LineOptions, RunningLine};
use linevisor_profile::Direction;
use linevisor_supervisor::EventKind;

const SERVO: &str = include_str!("../../../configs/profiles/linevisor-sim-servo.toml");

/// Drives a (unit 1) and b (unit 2) on one simulated bus; `b_extra` is appended to b.
fn config(b_extra: &str) -> String {
    format!(
        "[line]\nname = \"edges\"\ncycle_ms = 10\n\n[[bus]]\nid = \"sim\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n\n\
         [[drive]]\nid = \"a\"\nbus = \"sim\"\naddress = 1\n\
         profile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n\n\
         [[drive]]\nid = \"b\"\nbus = \"sim\"\naddress = 2\n{b_extra}\n"
    )
}

fn check(dir: &Path, text: &str) -> ValidLine {
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    let v11 = SERVO.replace("version = \"1.0\"", "version = \"1.1\"");
    std::fs::write(dir.join("profiles/v11.toml"), v11).unwrap();
    let checked = check_text("edges.toml", text, Some(dir));
    checked
        .line
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics))
}

const V10: &str = "profile = { name = \"linevisor-sim-servo\", version = \"1.0\" }";
const V11: &str = "profile = { name = \"linevisor-sim-servo\", version = \"1.1\" }";

async fn start(dir: &Path, text: &str) -> RunningLine {
    let line = RunningLine::start(&check(dir, text), LineOptions::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    line
}

#[tokio::test(start_paused = true)]
async fn an_upgraded_drive_gone_offline_restarts_without_a_new_trial() {
    let dir = tempfile::tempdir().unwrap();
    let line = start(dir.path(), &config(V10)).await;
    line.apply(check(dir.path(), &config(V11))).await.unwrap();
    let mut events = line.tree.subscribe();
    line.bus("sim").unwrap().sim.unwrap().go_silent(2).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    line.restart_drive("b").await.unwrap();
    let b = line.drive("b").unwrap();
    let first = snapshot(&b.handle).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let later = snapshot(&b.handle).await.unwrap();
    assert_eq!(
        later.generation, first.generation,
        "b's actor keeps failing"
    );
    assert_eq!(later.state, DriveState::Offline);
    while let Ok(e) = events.try_recv() {
        let failed = matches!(
            e.kind,
            EventKind::Failed { .. } | EventKind::Escalated { .. }
        );
        assert!(!failed, "{e:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_reinit_drive_keeps_running_through_a_reconfiguration() {
    let dir = tempfile::tempdir().unwrap();
    let reinit = format!("{V10}\nrestart = \"reinit\"\nlimits = {{ velocity_max = 2000.0 }}");
    let line = start(dir.path(), &config(&reinit)).await;
    let b = line.drive("b").unwrap();
    send_command(&b.handle, Command::Enable(Direction::Forward))
        .await
        .unwrap();
    send_command(&b.handle, Command::SetVelocity(500.0))
        .await
        .unwrap();
    let mut events = b.channels.events.subscribe();
    let changed = reinit.replace("2000.0", "1500.0");
    line.apply(check(dir.path(), &config(&changed)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let now = snapshot(&line.drive("b").unwrap().handle).await.unwrap();
    assert_eq!(now.state, DriveState::Power(PowerState::OperationEnabled));
    assert!(
        now.last
            .and_then(|s| s.velocity)
            .is_some_and(|v| (v - 500.0).abs() < 1.0)
    );
    while let Ok(e) = events.try_recv() {
        let safe = matches!(e.kind, DriveEventKind::SafeStateApplied { .. });
        assert!(!safe, "a safe state was applied: {e:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_rollback_restores_a_drive_that_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let line = start(dir.path(), &config(V10)).await;
    // b's unit stops answering; moving b to unit 5 (nothing there either) fails its trial.
    line.bus("sim").unwrap().sim.unwrap().go_silent(2).unwrap();
    let moved = config(V10).replace("address = 2", "address = 5");
    let sim = line.bus("sim").unwrap().sim.unwrap();
    let profile = &line.config().profiles[&("linevisor-sim-servo".into(), "1.0".into())];
    let unit = linevisor_sim::SimDrive::new(&profile.profile, Default::default()).unwrap();
    sim.add_drive(5, unit).unwrap();
    sim.go_silent(5).unwrap();
    let err = line.apply(check(dir.path(), &moved)).await.unwrap_err();
    assert!(
        matches!(&err, ChangeError::Failed { rollback_errors, .. } if rollback_errors.is_empty()),
        "{err}"
    );
    // b's actor runs again at its old address, offline, as at start.
    let b = line.drive("b").expect("b restored");
    assert_eq!(b.config.address, 2);
    let children = line.tree.drives.which_children().await.unwrap();
    assert!(children.iter().any(|c| c.id.as_str() == "b"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = snapshot(&b.handle).await.unwrap();
    assert_eq!(s.link_up, Some(false), "{s:?}");
}
