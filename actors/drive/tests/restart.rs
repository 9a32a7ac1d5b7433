//! Restarts of a drive's actor (a `Crash` message, one_for_one restart) against linevisor-sim:
//! bumpless adopt, adopt with an `on_crash` safe state, reinit, and a command pending at the
//! crash. Paused time; the simulator records every request it gets.

mod common;

use std::time::Duration;

use common::*;
use linevisor_config::model::{RestartPolicy, SafeState};
use linevisor_drive::{
    Command, CommandError, Direction, DriveEventKind, DriveMsg, DriveState, ReparamReason,
    Situation, StartupKind, send_command, snapshot,
};
use linevisor_profile::PowerState;
use linevisor_supervisor::EventKind;
use tokio::time::Instant;

const SERVO: &str = "linevisor-sim-servo";
const CYCLE: Duration = Duration::from_millis(10);

async fn crash_and_wait_restart(b: &Bench) {
    let mut sup = b.sup_events.subscribe();
    b.handle.cast(DriveMsg::Crash).expect("crash queued");
    let wait = async {
        loop {
            let e = sup.recv().await.expect("supervisor events");
            if matches!(e.kind, EventKind::Restarted { .. }) {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("restarted");
}

/// A drive at speed keeps its speed across a crash and restart of its actor (`adopt`,
/// `on_crash = "hold"`): the device receives no write at all (no disable, no controlword
/// change, no setpoint), its state, controlword and setpoint never change, and the drive's
/// telemetry resumes within two cycles.
#[tokio::test(start_paused = true)]
async fn adopt_with_hold_is_bumpless() {
    let mut b = Bench::start(
        SERVO,
        BenchOptions {
            configure: Box::new(|c| {
                c.restart = RestartPolicy::Adopt;
                c.safe_state.on_crash = Some(SafeState::Hold);
            }),
            ..BenchOptions::default()
        },
    )
    .await;
    b.ready().await;
    run_at(&b, 80.0).await;
    let cw = b.profile.command.point.clone();
    let (timeline, sampler) = device_timeline(&b.sim, &cw, Duration::from_millis(1));
    let (samples, collector) = collect_telemetry(&b.telemetry);
    pass(Duration::from_millis(50)).await;
    let before = *timeline.lock().unwrap().last().expect("timeline");
    let crash_at = Instant::now();
    crash_and_wait_restart(&b).await;
    let startup = b
        .event("ready after restart", |k| match k {
            DriveEventKind::Ready { startup } => Some(*startup),
            _ => None,
        })
        .await;
    assert_eq!(startup, StartupKind::Adopt);
    pass(Duration::from_millis(300)).await;
    sampler.abort();
    collector.abort();

    // The device side: nothing written, nothing changed.
    let written = b.rec.writes_since(crash_at);
    assert!(written.is_empty(), "writes after the crash: {written:?}");
    let timeline = timeline.lock().unwrap().clone();
    assert!(timeline.len() > 300, "{} device samples", timeline.len());
    for d in &timeline {
        assert_eq!(d.state, PowerState::OperationEnabled, "{d:?}");
        assert_eq!(
            d.command_raw, before.command_raw,
            "controlword changed: {d:?}"
        );
        assert_eq!(d.target_velocity, 80.0, "setpoint changed: {d:?}");
        assert!((d.velocity - 80.0).abs() < 1e-6, "speed changed: {d:?}");
    }

    // The drive side: telemetry from both instances, no gap longer than two cycles.
    let samples = samples.lock().unwrap().clone();
    let generations: Vec<u64> = samples.iter().map(|s| s.generation).collect();
    assert!(
        generations.contains(&1) && generations.contains(&2),
        "{generations:?}"
    );
    let max_gap = samples
        .windows(2)
        .map(|w| w[1].completed_at - w[0].completed_at)
        .max()
        .expect("samples");
    println!("largest telemetry gap across the restart: {max_gap:?}");
    assert!(
        max_gap <= 2 * CYCLE,
        "telemetry gap {max_gap:?} across the restart"
    );
    let last = samples.last().expect("samples");
    assert_eq!(last.state, DriveState::Power(PowerState::OperationEnabled));
    assert!(last.velocity.is_some_and(|v| (v - 80.0).abs() < 0.05));

    // The new instance supervises the adopted drive: it knows the setpoint and takes commands.
    let snap = snapshot(&b.handle).await.expect("snapshot");
    assert_eq!(snap.generation, 2);
    assert!(
        snap.setpoints
            .contains(&("target_velocity".to_owned(), 80.0))
    );
    let ack = send_command(&b.handle, Command::SetVelocity(60.0))
        .await
        .expect("velocity after adopt");
    assert_eq!(ack.state, DriveState::Power(PowerState::OperationEnabled));
}

/// `adopt` with `on_crash = "quick_stop"`: the new instance applies the quick stop (the
/// supervisor does not run a safe-stop step on a crash restart) and downloads nothing.
#[tokio::test(start_paused = true)]
async fn adopt_applies_on_crash_quick_stop() {
    let mut b = Bench::start(SERVO, BenchOptions::default()).await;
    b.ready().await;
    run_at(&b, 80.0).await;
    crash_and_wait_restart(&b).await;
    let mut applied = None;
    let mut reparameterised = false;
    b.event("ready after restart", |k| match k {
        DriveEventKind::SafeStateApplied {
            situation,
            safe_state,
            ..
        } => {
            applied = Some((*situation, *safe_state));
            None
        }
        DriveEventKind::Reparameterised { .. } => {
            reparameterised = true;
            None
        }
        DriveEventKind::Ready { startup } => Some(*startup),
        _ => None,
    })
    .await;
    assert_eq!(applied, Some((Situation::Crash, SafeState::QuickStop)));
    assert!(!reparameterised);
    assert!(matches!(
        b.device(),
        PowerState::QuickStopActive | PowerState::SwitchOnDisabled
    ));
}

/// `reinit`: the running drive is quick-stopped and disabled, parameters are downloaded again
/// (a parameter changed behind the drive's back is restored) and it stays disabled.
#[tokio::test(start_paused = true)]
async fn reinit_brings_down_and_downloads_again() {
    let mut b = Bench::start(
        SERVO,
        BenchOptions {
            configure: Box::new(|c| {
                c.restart = RestartPolicy::Reinit;
                c.safe_state.on_crash = Some(SafeState::Hold);
            }),
            ..BenchOptions::default()
        },
    )
    .await;
    b.ready().await;
    run_at(&b, 80.0).await;
    let expected = b.config.parameters["max_current"];
    b.sim
        .with_drive(UNIT, |d| {
            let w = d.codec().write("max_current", 1.0).expect("encode");
            d.apply(&w).expect("write")
        })
        .expect("sim");
    crash_and_wait_restart(&b).await;
    let mut reason = None;
    let startup = b
        .event("ready after reinit", |k| match k {
            DriveEventKind::Reparameterised { reason: r, .. } => {
                reason = Some(*r);
                None
            }
            DriveEventKind::Ready { startup } => Some(*startup),
            _ => None,
        })
        .await;
    assert_eq!(startup, StartupKind::Reinit);
    assert_eq!(reason, Some(ReparamReason::Start));
    assert_eq!(b.device(), PowerState::SwitchOnDisabled);
    assert_eq!(b.device_value("max_current"), Some(expected));
    let snap = snapshot(&b.handle).await.expect("snapshot");
    assert_eq!(snap.state, DriveState::Power(PowerState::SwitchOnDisabled));
}

/// A command pending when the instance crashes gets its outcome (`Aborted`), not silence.
#[tokio::test(start_paused = true)]
async fn a_command_pending_at_a_crash_is_aborted() {
    let mut b = Bench::start(SERVO, BenchOptions::default()).await;
    b.ready().await;
    // A CiA 402 enable completes within its own statusword reads, before the crash is taken:
    // a move, which waits for a fresh sample to release its set-point, is still pending.
    send_command(&b.handle, Command::Enable(Direction::Forward))
        .await
        .expect("enabled");
    let to = Command::MoveTo {
        position: 100.0,
        velocity: None,
    };
    let crash = async { b.handle.cast(DriveMsg::Crash).expect("crash queued") };
    let (outcome, ()) = tokio::join!(send_command(&b.handle, to), crash);
    assert!(
        matches!(outcome, Err(CommandError::Aborted { .. })),
        "{outcome:?}"
    );
    b.event("ready after restart", |k| {
        matches!(k, DriveEventKind::Ready { .. }).then_some(())
    })
    .await;
    send_command(&b.handle, Command::Enable(Direction::Forward))
        .await
        .expect("enable after the restart");
}
