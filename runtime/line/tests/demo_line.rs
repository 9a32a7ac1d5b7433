//! The demo line runs end to end on simulated drives: every drive starts and becomes ready, a
//! drive is enabled and follows a velocity setpoint, one drive's actor crashes while its
//! neighbours keep their cycle, and a shutdown brings every drive to its safe state.

use std::time::Duration;

use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, check_text};
use linevisor_drive::{Command, DriveEventKind, DriveMsg, DriveState, send_command, snapshot};
use linevisor_line::{LineOptions, RunningLine};
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

    let axis = &running.drive("infeed-conveyor").unwrap();
    send_command(&axis.handle, Command::Enable(Direction::Forward))
        .await
        .expect("enable");
    send_command(&axis.handle, Command::SetVelocity(600.0))
        .await
        .expect("velocity");
    let mut telemetry = axis.channels.telemetry.subscribe();
    loop {
        let s = telemetry.recv().await.unwrap();
        if s.velocity.is_some_and(|v| (v - 600.0).abs() < 1.0) {
            assert_eq!(s.state, DriveState::OperationEnabled);
            break;
        }
    }

    // A neighbour crashes; the axis keeps its cycle and speed, and the neighbour comes back.
    let neighbour = &running.drive("labeler").unwrap();
    let before = snapshot(&axis.handle).await.unwrap().stats;
    neighbour.handle.cast(DriveMsg::Crash).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = snapshot(&axis.handle).await.unwrap();
    assert_eq!(
        after.stats.missed, before.missed,
        "the neighbour's crash cost the axis cycles"
    );
    assert!(
        after.stats.cycles >= before.cycles + 150,
        "{} → {}",
        before.cycles,
        after.stats.cycles
    );
    assert_eq!(after.state, DriveState::OperationEnabled);
    let back = snapshot(&neighbour.handle).await.unwrap();
    assert!(back.generation >= 2, "the crashed actor was restarted");

    // Shutdown: each drive goes to its on_stop safe state (quick stop by default) through its bus.
    running.shutdown().await.expect("shutdown");
    let sim = running.bus("sim-modbus").unwrap().sim.clone().unwrap();
    let state = sim.with_drive(1, |d| format!("{:?}", d.state())).unwrap();
    assert!(
        state.contains("QuickStop") || state.contains("SwitchOnDisabled"),
        "the axis was not brought to its safe state: {state}"
    );
}
