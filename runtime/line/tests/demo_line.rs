//! The demo line runs end to end on simulated drives: every drive (Modbus and CANopen) starts and
//! becomes ready, a drive of each segment is enabled and follows a velocity setpoint, one drive's
//! actor crashes while its neighbours keep their cycle, and a shutdown brings every drive to its
//! safe state.

use linevisor_drive::PowerState;
use std::time::Duration;

use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, check_text};
use linevisor_drive::{
    Command, DriveEventKind, DriveMsg, DriveState, Situation, send_command, snapshot,
};
use linevisor_line::{DriveEntry, LineOptions, RunningLine};
use linevisor_profile::Direction;

/// Waits (in paused time) for an event of `drive` matching `pred`; the bound is a hang guard.
async fn event(
    rx: &mut tokio::sync::broadcast::Receiver<linevisor_drive::DriveEvent>,
    what: &str,
    pred: impl Fn(&DriveEventKind) -> bool,
) {
    let guard = tokio::time::sleep(Duration::from_secs(60));
    tokio::pin!(guard);
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) if pred(&ev.kind) => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{what}: {e}"),
            },
            () = &mut guard => panic!("no {what} within 60 s"),
        }
    }
}

/// Enables `d` and waits for its telemetry to show `velocity` in operation enabled.
async fn enable_at(d: &DriveEntry, velocity: f64) {
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
            assert_eq!(
                s.state,
                DriveState::Power(PowerState::OperationEnabled),
                "{}",
                d.id
            );
            return;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn demo_line_runs_commands_and_isolates_a_crash() {
    let line = check_text(DEMO_LINE_NAME, DEMO_LINE, None)
        .line
        .expect("valid demo line");
    let mut ready = Vec::new();
    let running = {
        // Subscribe before anything starts: the channels exist before the tree.
        let running = RunningLine::start(&line, LineOptions::default())
            .await
            .expect("start");
        for d in running.drives().values() {
            ready.push((d.id.clone(), d.channels.events.subscribe()));
        }
        running
    };
    assert_eq!(running.drives().len(), line.config.drive.len());
    let canopen = line
        .config
        .drive
        .iter()
        .filter(|d| d.bus == "sim-canopen")
        .count();
    assert_eq!(canopen, 3, "the demo line has a CANopen segment");
    for (id, rx) in &mut ready {
        // A drive may already be ready; its snapshot says so, else wait for the event.
        let snap = snapshot(&running.drive(id.as_str()).unwrap().handle)
            .await
            .unwrap();
        if snap.state == DriveState::Initializing || snap.state == DriveState::Offline {
            event(rx, &format!("{id} ready"), |k| {
                matches!(k, DriveEventKind::Ready { .. })
            })
            .await;
        }
    }

    let axis = running.drive("infeed-conveyor").unwrap();
    enable_at(&axis, 600.0).await;
    let can_axis = running.drive("palletizer-x").unwrap();
    enable_at(&can_axis, 400.0).await;

    // A neighbour on each segment crashes; both axes keep their cycle and speed, and the
    // neighbours come back.
    let neighbour = running.drive("labeler").unwrap();
    let can_neighbour = running.drive("palletizer-z").unwrap();
    let before = snapshot(&axis.handle).await.unwrap().stats;
    let can_before = snapshot(&can_axis.handle).await.unwrap().stats;
    neighbour.handle.cast(DriveMsg::Crash).unwrap();
    can_neighbour.handle.cast(DriveMsg::Crash).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (a, b) in [(&axis, before), (&can_axis, can_before)] {
        let after = snapshot(&a.handle).await.unwrap();
        assert_eq!(
            after.stats.missed, b.missed,
            "the neighbours' crashes cost {} cycles",
            a.id
        );
        assert!(
            after.stats.cycles >= b.cycles + 150,
            "{}: {} → {}",
            a.id,
            b.cycles,
            after.stats.cycles
        );
        assert_eq!(
            after.state,
            DriveState::Power(PowerState::OperationEnabled),
            "{}",
            a.id
        );
    }
    for n in [&neighbour, &can_neighbour] {
        let back = snapshot(&n.handle).await.unwrap();
        assert!(back.generation >= 2, "{} was not restarted", n.id);
    }

    // Shutdown: each drive goes to its on_stop safe state (quick stop by default) through its bus.
    let mut stopping: Vec<_> = running
        .drives()
        .values()
        .map(|d| (d.id.clone(), d.channels.events.subscribe()))
        .collect();
    running.shutdown().await.expect("shutdown");
    for (id, rx) in &mut stopping {
        event(rx, &format!("{id} safe state on stop"), |k| {
            matches!(
                k,
                DriveEventKind::SafeStateApplied {
                    situation: Situation::Stop,
                    ..
                }
            )
        })
        .await;
    }
    let sim = running.bus("sim-modbus").unwrap().sim.clone().unwrap();
    let state = sim.with_drive(1, |d| format!("{:?}", d.state())).unwrap();
    assert!(
        state.contains("QuickStop") || state.contains("SwitchOnDisabled"),
        "the axis was not brought to its safe state: {state}"
    );
}
