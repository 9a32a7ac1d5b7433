//! A line with a simulated CANopen segment (virtual CAN bus, one simulated CiA 402 node per
//! drive, the real CANopen bus actor), in paused time: drives ready, enable → operation
//! enabled, velocity acknowledged, a node power cycle (unit swap) seen and the drive started
//! again on the new unit, a sibling's actor crash leaves the others' cycles untouched.

use linevisor_drive::PowerState;
use std::time::Duration;

use linevisor_config::check_text;
use linevisor_drive::{
    Command, DriveEvent, DriveEventKind, DriveMsg, DriveState, send_command, snapshot,
};
use linevisor_line::{BusCtl, LineOptions, RunningLine};
use linevisor_profile::Direction;
use tokio::sync::broadcast;

const LINE: &str = r#"
[line]
name = "canopen-test"
cycle_ms = 10

[[bus]]
id = "sim-can"
type = "simulated"
protocol = "canopen"

[[drive]]
id = "axis-1"
bus = "sim-can"
address = 1
profile = { name = "generic-cia402-canopen", version = "1.0" }
limits = { velocity_max = 3000.0 }

[[drive]]
id = "axis-2"
bus = "sim-can"
address = 2
profile = { name = "generic-cia402-canopen", version = "1.0" }
limits = { velocity_max = 3000.0 }

[[drive]]
id = "axis-3"
bus = "sim-can"
address = 3
profile = { name = "generic-cia402-canopen", version = "1.0" }
restart = "reinit"
limits = { velocity_max = 3000.0 }
"#;

/// Waits (paused time) for an event matching `pred`; the bound is a hang guard.
async fn event(
    rx: &mut broadcast::Receiver<DriveEvent>,
    what: &str,
    pred: impl Fn(&DriveEventKind) -> bool,
) -> DriveEventKind {
    let guard = tokio::time::sleep(Duration::from_secs(60));
    tokio::pin!(guard);
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) if pred(&ev.kind) => return ev.kind,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{what}: {e}"),
            },
            () = &mut guard => panic!("no {what} within 60 s"),
        }
    }
}

async fn start() -> (RunningLine, Vec<(String, broadcast::Receiver<DriveEvent>)>) {
    let line = check_text("canopen-test.toml", LINE, None)
        .line
        .expect("valid line");
    let running = RunningLine::start(&line, LineOptions::default())
        .await
        .expect("start");
    let events = running
        .drives()
        .values()
        .map(|d| (d.id.clone(), d.channels.events.subscribe()))
        .collect();
    (running, events)
}

async fn all_ready(
    running: &RunningLine,
    events: &mut [(String, broadcast::Receiver<DriveEvent>)],
) {
    for (id, rx) in events {
        let snap = snapshot(&running.drive(id.as_str()).unwrap().handle)
            .await
            .unwrap();
        if matches!(snap.state, DriveState::Initializing | DriveState::Offline) {
            event(rx, &format!("{id} ready"), |k| {
                matches!(k, DriveEventKind::Ready { .. })
            })
            .await;
        }
    }
}

async fn enable_at(running: &RunningLine, id: &str, velocity: f64) {
    let d = &running.drive(id).unwrap();
    send_command(&d.handle, Command::Enable(Direction::Forward))
        .await
        .expect("enable");
    send_command(&d.handle, Command::SetVelocity(velocity))
        .await
        .expect("velocity");
    let mut telemetry = d.channels.telemetry.subscribe();
    loop {
        let s = telemetry.recv().await.unwrap();
        if s.velocity.is_some_and(|v| (v - velocity).abs() < 1.0) {
            assert_eq!(s.state, DriveState::Power(PowerState::OperationEnabled));
            return;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn canopen_segment_enables_survives_a_power_cycle_and_isolates_a_crash() {
    let (running, mut events) = start().await;
    all_ready(&running, &mut events).await;
    enable_at(&running, "axis-1", 300.0).await;
    enable_at(&running, "axis-2", 200.0).await;

    // Node 2 is power cycled (or swapped): its drive loses the node, sees a new unit and
    // becomes ready again; axis-1 keeps its cycle.
    let axis1 = &running.drive("axis-1").unwrap();
    let before = snapshot(&axis1.handle).await.unwrap().stats;
    let mut ev2 = running.drive("axis-2").unwrap().channels.events.subscribe();
    running
        .bus("sim-can")
        .unwrap()
        .child
        .cast(BusCtl::PowerCycleNode(2))
        .unwrap();
    event(&mut ev2, "axis-2 comm lost", |k| {
        matches!(k, DriveEventKind::CommLost { .. })
    })
    .await;
    event(&mut ev2, "axis-2 unit replaced", |k| {
        matches!(k, DriveEventKind::UnitReplaced { .. })
    })
    .await;
    event(&mut ev2, "axis-2 ready again", |k| {
        matches!(k, DriveEventKind::Ready { .. })
    })
    .await;
    let after = snapshot(&axis1.handle).await.unwrap();
    assert_eq!(
        after.stats.missed, before.missed,
        "node 2's reboot cost axis-1 cycles"
    );
    assert_eq!(after.state, DriveState::Power(PowerState::OperationEnabled));
    // The new unit is enabled again by command.
    enable_at(&running, "axis-2", 250.0).await;

    // axis-3's actor crashes; the others keep every cycle and their speed.
    let b1 = snapshot(&axis1.handle).await.unwrap().stats;
    let b2 = snapshot(&running.drive("axis-2").unwrap().handle)
        .await
        .unwrap()
        .stats;
    running
        .drive("axis-3")
        .unwrap()
        .handle
        .cast(DriveMsg::Crash)
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let a1 = snapshot(&axis1.handle).await.unwrap();
    let a2 = snapshot(&running.drive("axis-2").unwrap().handle)
        .await
        .unwrap();
    assert_eq!(
        a1.stats.missed, b1.missed,
        "axis-3's crash cost axis-1 cycles"
    );
    assert_eq!(
        a2.stats.missed, b2.missed,
        "axis-3's crash cost axis-2 cycles"
    );
    assert!(
        a1.stats.cycles >= b1.cycles + 150,
        "{} → {}",
        b1.cycles,
        a1.stats.cycles
    );
    assert_eq!(a1.state, DriveState::Power(PowerState::OperationEnabled));
    assert_eq!(a2.state, DriveState::Power(PowerState::OperationEnabled));
    let back = snapshot(&running.drive("axis-3").unwrap().handle)
        .await
        .unwrap();
    assert!(back.generation >= 2, "the crashed actor was restarted");
    running.shutdown().await.expect("shutdown");
}

/// `linevisor sim`'s CANopen side: nodes behind an emulated slcan adapter on a pty. A line
/// whose bus is `adapter = "slcan"` on that pty boots them through the production path
/// (tokio-serial, slcan driver, CANopen master, bus actor), enables one and commands a
/// velocity the node reports back. Real time (a pseudo-terminal); bounds are hang guards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_runs_against_the_simulators_slcan_pty() {
    let sim_config = linevisor_sim::SimConfig::parse(
        "sim.toml",
        "[[drive]]\nunit = 5\nprofile = { name = \"generic-cia402-canopen\", version = \"1.0\" }\nserial_number = 5005\n\n\
         [[drive]]\nunit = 6\nprofile = { name = \"generic-cia402-canopen\", version = \"1.0\" }\nserial_number = 5006\n",
        None,
    )
    .expect("valid sim config");
    let sim = linevisor_sim::RunningSim::start(&sim_config)
        .await
        .expect("sim");
    let slcan = sim.slcan().expect("CANopen nodes are served on slcan");
    assert_eq!(slcan.node_ids(), [5, 6]);
    assert_eq!(
        sim.endpoints(),
        [linevisor_sim::EndpointInfo::Slcan(slcan.path.clone())]
    );
    let text = format!(
        r#"
[line]
name = "slcan-sim"
cycle_ms = 10

[[bus]]
id = "canable"
type = "canopen"
adapter = "slcan"
port = "{}"
bitrate = 500000
sync_period_ms = 10
node_heartbeat_ms = 200
# A loaded 2-core machine must not turn into a false loss or timeout.
heartbeat_timeout_ms = 3000
sdo_timeout_ms = 3000

[[drive]]
id = "spindle"
bus = "canable"
address = 5
profile = {{ name = "generic-cia402-canopen", version = "1.0" }}
limits = {{ velocity_max = 6000.0 }}

[[drive]]
id = "feeder"
bus = "canable"
address = 6
profile = {{ name = "generic-cia402-canopen", version = "1.0" }}
limits = {{ velocity_max = 1000.0 }}
"#,
        slcan.path.display()
    );
    let line = check_text("slcan-sim.toml", &text, None)
        .line
        .expect("valid line");
    let running = RunningLine::start(&line, LineOptions::default())
        .await
        .expect("start");
    let mut events: Vec<_> = running
        .drives()
        .values()
        .map(|d| (d.id.clone(), d.channels.events.subscribe()))
        .collect();
    all_ready(&running, &mut events).await;
    enable_at(&running, "spindle", 1200.0).await;
    // The node itself, seen from the simulator's side, runs at the commanded speed.
    let status = slcan.node(5).unwrap().status().await.unwrap();
    assert_eq!(status.target_velocity, 1200.0);
    assert_eq!(status.serial, 5005);
    let feeder = snapshot(&running.drive("feeder").unwrap().handle)
        .await
        .unwrap();
    assert_ne!(feeder.state, DriveState::Offline);
    running.shutdown().await.expect("shutdown");
}

#[tokio::test(start_paused = true)]
async fn an_emcy_becomes_a_drive_event_and_its_fault_code() {
    let (running, mut events) = start().await;
    all_ready(&running, &mut events).await;
    enable_at(&running, "axis-1", 100.0).await;
    let d = running.drive("axis-1").unwrap();
    let mut ev = d.channels.events.subscribe();
    running
        .bus("sim-can")
        .unwrap()
        .child
        .cast(BusCtl::FaultNode(1, 0x2310))
        .unwrap();
    let emcy = event(&mut ev, "EMCY", |k| {
        matches!(k, DriveEventKind::Emergency { .. })
    })
    .await;
    let DriveEventKind::Emergency { code, class, .. } = emcy else {
        unreachable!()
    };
    assert_eq!((code, class), (0x2310, "current"));
    let fault = event(
        &mut ev,
        "fault state",
        |k| matches!(k, DriveEventKind::StateChanged { to, .. } if to.is_fault()),
    )
    .await;
    let DriveEventKind::StateChanged { fault_code, .. } = fault else {
        unreachable!()
    };
    assert_eq!(fault_code, Some(0x2310));
}
