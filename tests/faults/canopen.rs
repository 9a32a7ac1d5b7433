//! CANopen rows: a simulated CANopen segment (virtual CAN bus, a simulated CiA 402 node per
//! drive, the real CANopen bus actor) beside a simulated Modbus segment whose drives are the
//! neighbours, in paused time. Each fault is injected into the segment, commands are sent to
//! the faulty and a healthy drive while it lasts (each must be answered, ok or with a reason),
//! the fault ends, and the recovery is timed until the drives are ready again.

use std::time::Duration;

use linevisor_config::check_text;
use linevisor_drive::{Command, DriveEvent, DriveEventKind, send_command, snapshot};
use linevisor_line::{BusCtl, LineOptions, RunningLine};
use linevisor_profile::Direction;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::report::{Row, soak};

const LINE: &str = r#"
[line]
name = "faults-canopen"
cycle_ms = 10

[[bus]]
id = "can"
type = "simulated"
protocol = "canopen"

[[bus]]
id = "mb"
type = "simulated"
protocol = "modbus"

[[drive]]
id = "axis-1"
bus = "can"
address = 1
profile = { name = "generic-cia402-canopen", version = "1.0" }

[[drive]]
id = "axis-2"
bus = "can"
address = 2
profile = { name = "generic-cia402-canopen", version = "1.0" }

[[drive]]
id = "axis-3"
bus = "can"
address = 3
profile = { name = "generic-cia402-canopen", version = "1.0" }

[[drive]]
id = "conveyor-1"
bus = "mb"
address = 1
profile = { name = "linevisor-sim-servo", version = "1.0" }

[[drive]]
id = "conveyor-2"
bus = "mb"
address = 2
profile = { name = "linevisor-sim-servo", version = "1.0" }
"#;

const GUARD: Duration = Duration::from_secs(120);

/// The drive that takes the fault.
const FAULTY: &str = "axis-2";

async fn start() -> RunningLine {
    let valid = check_text("faults-canopen.toml", LINE, None)
        .line
        .expect("valid line");
    let line = RunningLine::start(&valid, LineOptions::default())
        .await
        .expect("start");
    for id in line.drives().keys() {
        ready(&line, id).await;
    }
    line
}

/// Waits (paused time) until `id` is past start-up and has its link.
async fn ready(line: &RunningLine, id: &str) {
    let d = line.drive(id).expect("drive");
    let mut events = d.channels.events.subscribe();
    let deadline = Instant::now() + GUARD;
    loop {
        let snap = snapshot(&d.handle).await.expect("snapshot");
        if snap.state.power().is_some() && snap.link_up != Some(false) {
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "{id} never ready: {snap:?}");
        let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), events.recv()).await;
    }
}

async fn until(
    rx: &mut broadcast::Receiver<DriveEvent>,
    what: &str,
    pred: impl Fn(&DriveEventKind) -> bool,
) {
    let deadline = tokio::time::sleep(GUARD);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) if pred(&ev.kind) => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{what}: {e}"),
            },
            () = &mut deadline => panic!("no {what}"),
        }
    }
}

/// Cycles and missed cycles per drive now.
async fn stats(line: &RunningLine) -> std::collections::BTreeMap<String, (u64, u64)> {
    let mut out = std::collections::BTreeMap::new();
    for (id, d) in line.drives() {
        let s = snapshot(&d.handle).await.expect("snapshot").stats;
        out.insert(id, (s.cycles, s.missed));
    }
    out
}

fn account(
    row: &mut Row,
    before: &std::collections::BTreeMap<String, (u64, u64)>,
    after: &std::collections::BTreeMap<String, (u64, u64)>,
) {
    for (id, (c, m)) in after {
        let (c0, m0) = before[id];
        if id.starts_with("axis") {
            row.same_bus_cycles += c - c0;
            row.same_bus_missed += m - m0;
        } else {
            row.neighbour_cycles += c - c0;
            row.neighbour_missed += m - m0;
        }
    }
}

/// A command to `id`, counted; any outcome (ok or a reason) is an answer, a hang is not.
async fn command(line: &RunningLine, id: &str, cmd: Command, row: &mut Row) {
    row.commands += 1;
    let d = line.drive(id).expect("drive");
    let answered = tokio::time::timeout(GUARD, send_command(&d.handle, cmd)).await;
    if answered.is_ok() {
        row.answered += 1;
    }
}

fn rounds() -> u32 {
    soak().map_or(1, |d| (d.as_secs() / 10).max(1) as u32)
}

fn bus(line: &RunningLine, fault: BusCtl) {
    line.bus("can")
        .expect("bus")
        .child
        .cast(fault)
        .expect("inject");
}

/// Waits until drive `id` delivers a fresh sample in a power state (its cycle runs again).
async fn cycling(line: &RunningLine, id: &str) {
    let d = line.drive(id).expect("drive");
    let mut rx = d.channels.telemetry.subscribe();
    let since = Instant::now();
    let deadline = tokio::time::sleep(GUARD);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            s = rx.recv() => match s {
                Ok(s) if s.completed_at >= since && s.state.power().is_some() => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{id}: {e}"),
            },
            () = &mut deadline => panic!("{id} never cycled again"),
        }
    }
}

/// Runs `rounds` of: `inject`; the link loss of every drive in `lost` is seen; `hold`;
/// commands during the fault; `end`; recovery until each of them is back (ready or link
/// restored) and every CANopen drive cycles again.
async fn row(
    fault: &'static str,
    inject: impl Fn() -> Vec<BusCtl>,
    lost: &[&str],
    hold: Duration,
    end: impl Fn() -> Vec<BusCtl>,
) {
    let line = start().await;
    let before = stats(&line).await;
    let mut row = Row {
        layer: "canopen",
        fault,
        ..Row::default()
    };
    for _ in 0..rounds() {
        row.rounds += 1;
        let mut events: Vec<_> = lost
            .iter()
            .map(|id| {
                (
                    *id,
                    line.drive(id).expect("drive").channels.events.subscribe(),
                )
            })
            .collect();
        for f in inject() {
            bus(&line, f);
        }
        for (id, rx) in &mut events {
            until(rx, &format!("{id} link lost"), |k| {
                matches!(k, DriveEventKind::CommLost { .. })
            })
            .await;
        }
        tokio::time::sleep(hold).await;
        command(&line, FAULTY, Command::Enable(Direction::Forward), &mut row).await;
        command(&line, FAULTY, Command::FaultReset, &mut row).await;
        command(&line, "axis-1", Command::Stop, &mut row).await;
        command(&line, "conveyor-1", Command::Stop, &mut row).await;
        for f in end() {
            bus(&line, f);
        }
        let ended = Instant::now();
        for (id, rx) in &mut events {
            until(rx, &format!("{id} back"), |k| {
                matches!(
                    k,
                    DriveEventKind::Ready { .. } | DriveEventKind::CommRestored
                )
            })
            .await;
        }
        for id in ["axis-1", "axis-2", "axis-3"] {
            cycling(&line, id).await;
        }
        let took = ended.elapsed();
        row.recovery = Some(row.recovery.map_or(took, |r| r.max(took)));
    }
    let after = stats(&line).await;
    account(&mut row, &before, &after);
    line.shutdown().await.expect("clean stop");
    row.finish();
}

#[tokio::test(start_paused = true)]
async fn node_reboot() {
    row(
        "node reboot (power cycle, new serial)",
        || vec![BusCtl::PowerCycleNode(2)],
        &["axis-2"],
        Duration::ZERO,
        Vec::new,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn heartbeat_loss() {
    row(
        "heartbeat loss (node silent 2 s)",
        || vec![BusCtl::SilenceNode(2, true)],
        &["axis-2"],
        Duration::from_secs(2),
        || vec![BusCtl::SilenceNode(2, false)],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn sdo_abort_storm() {
    // The node aborts every SDO while it boots again: every boot attempt fails by abort.
    row(
        "SDO abort storm (every request aborted through a reboot, 5 s)",
        || vec![BusCtl::RefuseSdo(2, true), BusCtl::PowerCycleNode(2)],
        &["axis-2"],
        Duration::from_secs(5),
        || vec![BusCtl::RefuseSdo(2, false)],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn bus_off() {
    row(
        "bus-off (no frame gets through, 2 s)",
        || vec![BusCtl::BusOff(true)],
        &["axis-1", "axis-2", "axis-3"],
        Duration::from_secs(2),
        || vec![BusCtl::BusOff(false)],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn emcy_storm() {
    let line = start().await;
    let before = stats(&line).await;
    let mut row = Row {
        layer: "canopen",
        fault: "EMCY storm (500 emergencies from one node)",
        ..Row::default()
    };
    let d = line.drive(FAULTY).expect("drive");
    let mut events = d.channels.events.subscribe();
    for _ in 0..rounds() {
        row.rounds += 1;
        for i in 0..500u16 {
            // The bus child's mailbox is bounded: wait for room rather than drop injections.
            let child = line.bus("can").expect("bus").child;
            while child.cast(BusCtl::FaultNode(2, 0x2310 + (i % 16))).is_err() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        until(&mut events, "an emergency", |k| {
            matches!(k, DriveEventKind::Emergency { .. })
        })
        .await;
        command(&line, "axis-1", Command::Stop, &mut row).await;
        command(&line, "conveyor-1", Command::Stop, &mut row).await;
        // Recovery: until a fault reset clears the drive.
        let ended = Instant::now();
        loop {
            row.commands += 1;
            let reset = send_command(&d.handle, Command::FaultReset).await;
            row.answered += 1;
            let snap = snapshot(&d.handle).await.expect("snapshot");
            if reset.is_ok() && !snap.state.is_fault() {
                break;
            }
            assert!(ended.elapsed() < GUARD, "never reset: {reset:?} {snap:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        row.recovery = Some(ended.elapsed());
    }
    let after = stats(&line).await;
    account(&mut row, &before, &after);
    line.shutdown().await.expect("clean stop");
    row.finish();
}
