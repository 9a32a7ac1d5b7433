//! Live changes: the plan's blast radius, apply touching only what changed, upgrade with
//! hand-over and rollback, and a change failing halfway that leaves exactly the old tree.

use std::path::Path;
use std::time::Duration;

use linevisor_config::{ValidLine, check_text};
use linevisor_drive::{DriveSnapshot, snapshot};
use linevisor_line::change::{BusAction, DriveAction};
use linevisor_line::{ChangeError, LineOptions, RunningLine};
use linevisor_sim::{SimDrive, SimDriveOptions};

const SERVO: &str = include_str!("../../../configs/profiles/linevisor-sim-servo.toml");

/// A line of `drives` (`id = address`) on one simulated bus, each with `extra` lines.
fn config(drives: &[(&str, u32, &str)]) -> String {
    let mut s = String::from(
        "[line]\nname = \"cell\"\ncycle_ms = 10\n\n[[bus]]\nid = \"sim\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n",
    );
    for (id, address, extra) in drives {
        s.push_str(&format!(
            "\n[[drive]]\nid = \"{id}\"\nbus = \"sim\"\naddress = {address}\n{extra}\n"
        ));
        if !extra.contains("profile") {
            s.push_str("profile = { name = \"linevisor-sim-servo\", version = \"1.0\" }\n");
        }
    }
    s
}

/// Checks `text` with a profiles folder holding the sim servo's next version, 1.1 (the same
/// register map: what an integrator drops in for a new firmware's description).
fn check(dir: &Path, text: &str) -> ValidLine {
    let profiles = dir.join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    let v11 = SERVO.replace("version = \"1.0\"", "version = \"1.1\"");
    std::fs::write(profiles.join("sim-servo-1.1.toml"), v11).unwrap();
    let checked = check_text("cell.toml", text, Some(dir));
    checked
        .line
        .unwrap_or_else(|| panic!("invalid: {:?}", checked.diagnostics))
}

fn base() -> String {
    config(&[("a", 1, ""), ("b", 2, ""), ("c", 3, "")])
}

async fn snapshots(line: &RunningLine) -> Vec<(String, DriveSnapshot)> {
    let mut out = Vec::new();
    for (id, d) in line.drives() {
        out.push((id, snapshot(&d.handle).await.unwrap()));
    }
    out
}

async fn started(dir: &Path) -> RunningLine {
    let line = RunningLine::start(&check(dir, &base()), LineOptions::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    line
}

#[test]
fn plan_lists_added_removed_changed_and_untouched_drives() {
    let dir = tempfile::tempdir().unwrap();
    let old = check(dir.path(), &base());
    let new = check(
        dir.path(),
        &config(&[
            ("a", 1, "limits = { velocity_max = 900.0 }"),
            (
                "b",
                2,
                "profile = { name = \"linevisor-sim-servo\", version = \"1.1\" }",
            ),
            ("d", 4, ""),
            ("e", 3, ""),
        ]),
    );
    let plan = linevisor_line::Plan::between(&old, &new);
    let row = |id: &str| plan.drives.iter().find(|d| d.id == id).unwrap().clone();
    assert_eq!(row("a").action, DriveAction::Reconfigure);
    assert_eq!(row("a").changes, ["limits.velocity_max"]);
    assert_eq!(row("b").action, DriveAction::Upgrade);
    assert_eq!(row("b").from.as_deref(), Some("linevisor-sim-servo@1.0"));
    assert_eq!(row("b").to.as_deref(), Some("linevisor-sim-servo@1.1"));
    assert_eq!(row("c").action, DriveAction::Remove);
    assert_eq!(row("d").action, DriveAction::Add);
    assert_eq!(row("e").action, DriveAction::Add);
    assert_eq!(plan.buses[0].action, BusAction::Untouched);
    assert!(plan.refused.is_empty());

    // A line default reaches the drives that inherit it; the address moves one drive.
    let inherit = base().replace("cycle_ms = 10", "cycle_ms = 20");
    let moved = inherit.replace("address = 3", "address = 7");
    let plan = linevisor_line::Plan::between(&old, &check(dir.path(), &moved));
    assert!(
        plan.drives[..2]
            .iter()
            .all(|d| d.action == DriveAction::Reconfigure)
    );
    assert_eq!(plan.drives[0].changes, ["cycle_ms"]);
    assert_eq!(plan.drives[2].action, DriveAction::Restart);

    // Nothing changed, nothing touched; a renamed line cannot be applied live.
    assert!(linevisor_line::Plan::between(&old, &old).is_empty());
    let renamed = check(dir.path(), &base().replace("\"cell\"", "\"cell-2\""));
    let refused = linevisor_line::Plan::between(&old, &renamed).refused;
    assert_eq!(refused.len(), 1);
    assert!(refused[0].starts_with("line.name"), "{refused:?}");
}

#[tokio::test(start_paused = true)]
async fn apply_touches_only_the_changed_drive() {
    let dir = tempfile::tempdir().unwrap();
    let line = started(dir.path()).await;
    let before = snapshots(&line).await;
    let new = check(
        dir.path(),
        &config(&[
            ("a", 1, ""),
            ("b", 2, "limits = { velocity_max = 500.0 }"),
            ("c", 3, ""),
        ]),
    );
    let report = line.apply(new.clone()).await.unwrap();
    assert_eq!(report.plan.touched_drives().count(), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = snapshots(&line).await;
    for ((id, b), (_, a)) in before.iter().zip(&after) {
        if id == "b" {
            assert_eq!(a.generation, b.generation + 1, "b runs its new version");
        } else {
            assert_eq!(a.generation, b.generation, "{id} was restarted");
        }
        assert_eq!(a.stats.missed, b.stats.missed, "{id} missed cycles");
        assert!(a.stats.cycles > b.stats.cycles + 50, "{id} stopped cycling");
    }
    assert_eq!(line.config().config, new.config);
    assert_eq!(
        line.drive("b").unwrap().config.limits.velocity_max,
        Some(500.0)
    );
}

#[tokio::test(start_paused = true)]
async fn upgrade_hands_over_and_a_failing_version_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let line = started(dir.path()).await;
    let v11 = "profile = { name = \"linevisor-sim-servo\", version = \"1.1\" }";
    let up = config(&[("a", 1, ""), ("b", 2, v11), ("c", 3, "")]);
    line.apply(check(dir.path(), &up)).await.unwrap();
    assert_eq!(line.drive("b").unwrap().version, "linevisor-sim-servo@1.1");

    // A VFD's register map on the servo: the drive refuses the reads, the trial is lost, the
    // supervisor runs 1.1 again, and the line keeps its config.
    let vfd = "profile = { name = \"delta-c2000-vfd\", version = \"1.0\" }";
    let bad = config(&[("a", 1, ""), ("b", 2, vfd), ("c", 3, "")]);
    let before = snapshot(&line.drive("b").unwrap().handle).await.unwrap();
    let err = line.apply(check(dir.path(), &bad)).await.unwrap_err();
    let ChangeError::Failed {
        step,
        reason,
        rollback_errors,
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(step, "new version of drive \"b\"");
    assert!(reason.contains("failed its first cycles"), "{reason}");
    assert!(rollback_errors.is_empty());
    let b = line.drive("b").unwrap();
    assert_eq!(b.version, "linevisor-sim-servo@1.1");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = snapshot(&b.handle).await.unwrap();
    assert!(after.generation > before.generation);
    assert!(
        after.stats.cycles > before.stats.cycles + 50,
        "b stopped cycling"
    );
    assert_eq!(line.config().config.drive[1].profile.version, "1.1");
}

#[tokio::test(start_paused = true)]
async fn a_change_failing_halfway_leaves_exactly_the_old_tree() {
    let dir = tempfile::tempdir().unwrap();
    let line = started(dir.path()).await;
    // Unit 9 is wired but does not answer (powered off).
    let sim = line.bus("sim").unwrap().sim.unwrap();
    let profile = &line.config().profiles[&("linevisor-sim-servo".into(), "1.0".into())];
    let unit = SimDrive::new(&profile.profile, SimDriveOptions::default()).unwrap();
    sim.add_drive(9, unit).unwrap();
    sim.go_silent(9).unwrap();
    let old = line.config();
    let before = snapshots(&line).await;
    let versions: Vec<_> = line.drives().values().map(|d| d.version.clone()).collect();

    // Add d (fine), reconfigure a (fine), move c to the silent unit 9 (its trial fails).
    let new = config(&[
        ("a", 1, "limits = { velocity_max = 700.0 }"),
        ("b", 2, ""),
        ("c", 9, ""),
        ("d", 4, ""),
    ]);
    let err = line.apply(check(dir.path(), &new)).await.unwrap_err();
    assert!(
        matches!(&err, ChangeError::Failed { step, rollback_errors, .. }
            if step == "start drive \"c\"" && rollback_errors.is_empty()),
        "{err}"
    );
    assert_eq!(line.config().config, old.config);
    let ids: Vec<_> = line.drives().into_keys().collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let children: Vec<_> = line.tree.drives.which_children().await.unwrap();
    let children: Vec<_> = children.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(children.len(), 3);
    for id in ["a", "b", "c"] {
        assert!(children.contains(&id.to_owned()), "{children:?}");
        assert_eq!(
            line.drive(id).unwrap().config,
            old.config
                .drive
                .iter()
                .find(|d| d.id == id)
                .unwrap()
                .clone()
        );
    }
    let now: Vec<_> = line.drives().values().map(|d| d.version.clone()).collect();
    assert_eq!(now, versions);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = snapshots(&line).await;
    for ((id, b), (_, a)) in before.iter().zip(&after) {
        assert_eq!(a.link_up, Some(true), "{id}");
        if id == "c" {
            // Started afresh at its old address (its counters start again).
            assert!(a.stats.cycles > 50, "c is not cycling");
        } else {
            assert!(a.stats.cycles > b.stats.cycles + 50, "{id} is not cycling");
        }
        if id == "b" {
            assert_eq!(a.generation, b.generation, "b was touched");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_change_that_a_running_line_cannot_take_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let line = started(dir.path()).await;
    let renamed = check(dir.path(), &base().replace("\"cell\"", "\"other\""));
    let err = line.apply(renamed).await.unwrap_err();
    assert!(matches!(err, ChangeError::Refused(_)), "{err}");
    assert_eq!(line.config().config.line.name, "cell");
}

const CANOPEN: &str = include_str!("../../../configs/profiles/generic-cia402-canopen.toml");

/// A simulated CANopen segment with `drives` (`id = node`, profile version).
fn canopen_config(drives: &[(&str, u32, &str)]) -> String {
    let mut s = String::from(
        "[line]\nname = \"can-cell\"\ncycle_ms = 10\n\n[[bus]]\nid = \"can\"\ntype = \"simulated\"\nprotocol = \"canopen\"\n",
    );
    for (id, node, version) in drives {
        s.push_str(&format!(
            "\n[[drive]]\nid = \"{id}\"\nbus = \"can\"\naddress = {node}\n\
             profile = {{ name = \"generic-cia402-canopen\", version = \"{version}\" }}\n"
        ));
    }
    s
}

fn check_canopen(dir: &Path, text: &str) -> ValidLine {
    let profiles = dir.join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    let v11 = CANOPEN.replace("version = \"1.0\"", "version = \"1.1\"");
    std::fs::write(profiles.join("cia402-canopen-1.1.toml"), v11).unwrap();
    let checked = check_text("can-cell.toml", text, Some(dir));
    checked
        .line
        .unwrap_or_else(|| panic!("invalid: {:?}", checked.diagnostics))
}

#[tokio::test(start_paused = true)]
async fn a_canopen_drive_is_upgraded_and_one_added_while_the_others_keep_their_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let old = canopen_config(&[("x", 1, "1.0"), ("y", 2, "1.0"), ("z", 3, "1.0")]);
    let line = RunningLine::start(&check_canopen(dir.path(), &old), LineOptions::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = snapshots(&line).await;
    assert!(
        before.iter().all(|(_, s)| s.stats.cycles > 50),
        "{before:?}"
    );

    let new = canopen_config(&[
        ("x", 1, "1.0"),
        ("y", 2, "1.1"),
        ("z", 3, "1.0"),
        ("w", 4, "1.0"),
    ]);
    let report = line.apply(check_canopen(dir.path(), &new)).await.unwrap();
    assert_eq!(report.plan.touched_drives().count(), 2);
    assert_eq!(
        line.drive("y").unwrap().version,
        "generic-cia402-canopen@1.1"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = snapshots(&line).await;
    for (id, b) in &before {
        let a = &after.iter().find(|(i, _)| i == id).unwrap().1;
        assert_eq!(a.stats.missed, b.stats.missed, "{id} missed cycles");
        assert!(a.stats.cycles > b.stats.cycles + 50, "{id} stopped cycling");
        let expected = b.generation + u64::from(id == "y");
        assert_eq!(a.generation, expected, "{id}");
    }
    let w = &after.iter().find(|(i, _)| i == "w").unwrap().1;
    assert!(w.stats.cycles > 50, "the added drive is not cycling: {w:?}");
}

#[tokio::test(start_paused = true)]
async fn a_replaced_bus_restarts_its_drives_and_a_second_bus_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let two_buses = |latency: u32| {
        base()
            + &format!(
                "\n[[bus]]\nid = \"sim2\"\ntype = \"simulated\"\nprotocol = \"modbus\"\nlatency_us = {latency}\n\
                 \n[[drive]]\nid = \"z\"\nbus = \"sim2\"\naddress = 1\n\
                 profile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\n"
            )
    };
    let line = RunningLine::start(&check(dir.path(), &two_buses(0)), LineOptions::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = snapshots(&line).await;
    let new = check(dir.path(), &two_buses(2000));
    let plan = line.plan(&new);
    let bus = plan.buses.iter().find(|b| b.id == "sim2").unwrap();
    assert_eq!(
        (bus.action, bus.changes.clone()),
        (BusAction::Replace, vec!["latency_us".to_owned()])
    );
    let z = plan.drives.iter().find(|d| d.id == "z").unwrap();
    assert_eq!(z.action, DriveAction::Restart);
    assert_eq!(plan.touched_drives().count(), 1);
    line.apply(new).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = snapshots(&line).await;
    for (id, b) in &before {
        let a = &after.iter().find(|(i, _)| i == id).unwrap().1;
        if id == "z" {
            assert!(
                a.stats.cycles > 20,
                "z is not cycling on the new bus: {a:?}"
            );
        } else {
            assert_eq!(a.generation, b.generation, "{id} was touched");
            assert_eq!(a.stats.missed, b.stats.missed, "{id} missed cycles");
        }
    }
    assert_eq!(
        line.bus("sim2").unwrap().config,
        line.config().config.bus[1]
    );
}
