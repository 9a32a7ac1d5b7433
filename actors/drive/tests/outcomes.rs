//! Every command gets exactly one outcome: acknowledgement, or its reason (superseded, timeout,
//! comm loss while pending, limit, unsupported, device refusal). Paused time, linevisor-sim
//! behind a real bus, the drive under a real supervisor.

mod common;

use std::time::Duration;

use common::*;
use linevisor_drive::{
    Command, CommandError, Direction, DriveOptions, DriveState, send_command, snapshot,
};
use linevisor_modbus::{ExceptionCode, Request};
use linevisor_profile::PowerState;

const SERVO: &str = "linevisor-sim-servo";
const DELTA: &str = "delta-c2000-vfd";

async fn ready(name: &str, options: DriveOptions) -> Bench {
    let mut b = Bench::start(
        name,
        BenchOptions {
            options,
            ..BenchOptions::default()
        },
    )
    .await;
    b.ready().await;
    b
}

/// A newer state command supersedes a pending one; the newer one completes. A CiA 402 drive
/// confirms a state command within its own statusword reads (`fast_state.rs`), before the next
/// command is taken; a drive with enumerated run commands waits for a cyclic sample, so its
/// enable is still pending when the quick stop arrives.
#[tokio::test(start_paused = true)]
async fn a_newer_state_command_supersedes_a_pending_one() {
    let b = ready(DELTA, DriveOptions::default()).await;
    let (enable, quick_stop) = tokio::join!(
        send_command(&b.handle, Command::Enable(Direction::Forward)),
        send_command(&b.handle, Command::QuickStop),
    );
    assert!(
        matches!(enable, Err(CommandError::Superseded)),
        "{enable:?}"
    );
    let ack = quick_stop.expect("quick stop");
    assert_ne!(ack.state, DriveState::Power(PowerState::OperationEnabled));
    assert_ne!(b.device(), PowerState::OperationEnabled);
}

/// A position move waiting for its set-point release is superseded by the next move; the
/// device ends with the newer target. Two velocity setpoints queued together: the older one is
/// replaced in the handle's queue (latest wins) and its caller told so.
#[tokio::test(start_paused = true)]
async fn newer_motion_commands_supersede_older_ones() {
    let b = ready(SERVO, DriveOptions::default()).await;
    send_command(&b.handle, Command::Enable(Direction::Forward))
        .await
        .expect("enable");
    let to = |position| Command::MoveTo {
        position,
        velocity: None,
    };
    let (first, second) = tokio::join!(
        send_command(&b.handle, to(100.0)),
        send_command(&b.handle, to(200.0)),
    );
    assert!(matches!(first, Err(CommandError::Superseded)), "{first:?}");
    let ack = second.expect("second move");
    assert!(
        ack.readback
            .contains(&("target_position".to_owned(), 200.0))
    );
    assert_eq!(b.device_value("target_position"), Some(200.0));

    let (v1, v2) = tokio::join!(
        send_command(&b.handle, Command::SetVelocity(10.0)),
        send_command(&b.handle, Command::SetVelocity(20.0)),
    );
    assert!(matches!(v1, Err(CommandError::Superseded)), "{v1:?}");
    v2.expect("newest velocity");
    assert_eq!(b.device_value("target_velocity"), Some(20.0));
}

/// Enable needs three transitions, each a controlword write and a statusword read (60 ms on
/// this bench's line): a 15 ms command timeout fails it with `Timeout`, naming the bound and
/// the state reached.
#[tokio::test(start_paused = true)]
async fn a_command_not_confirmed_in_time_times_out() {
    let options = DriveOptions {
        command_timeout: Duration::from_millis(15),
        ..DriveOptions::default()
    };
    let b = ready(SERVO, options).await;
    match send_command(&b.handle, Command::Enable(Direction::Forward)).await {
        Err(CommandError::Timeout { after, state }) => {
            assert_eq!(after, Duration::from_millis(15));
            assert_ne!(state, DriveState::Power(PowerState::OperationEnabled));
        }
        other => panic!("{other:?}"),
    }
}

/// A command pending when the link drops (the unit goes silent after the first step of the
/// enable sequence was written) fails with `CommLoss` once the bus reports the loss.
#[tokio::test(start_paused = true)]
async fn a_command_pending_when_the_link_drops_fails_with_comm_loss() {
    let b = ready(SERVO, DriveOptions::default()).await;
    let shutdown_written = |r: &Received| {
        r.answered
            && matches!(&r.request, Request::WriteMultipleRegisters { address: 0, values } if values == &[0x0006])
    };
    let enable = send_command(&b.handle, Command::Enable(Direction::Forward));
    let silence = async {
        b.rec
            .wait_for("the shutdown controlword", shutdown_written)
            .await;
        b.sim.go_silent(UNIT).expect("silent");
    };
    let (outcome, ()) = tokio::join!(enable, silence);
    assert!(
        matches!(outcome, Err(CommandError::CommLoss { .. })),
        "{outcome:?}"
    );
    // While offline, new commands are refused at once.
    let snap = snapshot(&b.handle).await.expect("snapshot");
    assert_eq!(snap.state, DriveState::Offline);
    assert!(matches!(
        send_command(&b.handle, Command::Stop).await,
        Err(CommandError::CommLoss { .. })
    ));
}

/// Limits refuse before anything is sent, including a register's own range (the Delta
/// frequency command is unsigned); commands the profile cannot express are `Unsupported`.
#[tokio::test(start_paused = true)]
async fn limits_and_unsupported_commands_write_nothing() {
    let b = ready(DELTA, DriveOptions::default()).await;
    let before = b.rec.writes().len();
    match send_command(&b.handle, Command::SetVelocity(-10.0)).await {
        Err(CommandError::LimitExceeded { what, limit, .. }) => {
            assert_eq!(what, "range of frequency_command");
            assert_eq!(limit, 0.0);
        }
        other => panic!("{other:?}"),
    }
    for c in [
        Command::MoveTo {
            position: 10.0,
            velocity: None,
        },
        Command::Home,
    ] {
        let r = send_command(&b.handle, c).await;
        assert!(matches!(r, Err(CommandError::Unsupported { .. })), "{r:?}");
    }
    assert_eq!(b.rec.writes().len(), before);
}

/// A device that refuses the write gives `Device` with its exception code.
#[tokio::test(start_paused = true)]
async fn a_device_refusal_is_reported_with_its_code() {
    let b = ready(SERVO, DriveOptions::default()).await;
    b.sim
        .answer_exception(UNIT, ExceptionCode::IllegalDataValue, None)
        .expect("sim");
    let r = send_command(&b.handle, Command::SetVelocity(5.0)).await;
    b.sim.clear_exception(UNIT).expect("sim");
    match r {
        Err(CommandError::Device(d)) => assert_eq!(d.code, 0x03, "{d}"),
        other => panic!("{other:?}"),
    }
    send_command(&b.handle, Command::SetVelocity(5.0))
        .await
        .expect("accepted once the device takes it");
}

/// Homing (profiles with `[homing]`): the mode and method are read back, the start edge is
/// written and released; the snapshot shows the drive and its counters.
#[tokio::test(start_paused = true)]
async fn homing_is_acknowledged_and_the_snapshot_reports() {
    let b = ready(SERVO, DriveOptions::default()).await;
    send_command(&b.handle, Command::Enable(Direction::Forward))
        .await
        .expect("enable");
    let ack = send_command(&b.handle, Command::Home).await.expect("home");
    assert!(
        ack.readback
            .contains(&("modes_of_operation".to_owned(), 6.0))
    );
    assert!(ack.readback.contains(&("homing_method".to_owned(), 35.0)));
    assert_eq!(b.device_value("modes_of_operation"), Some(6.0));
    // The release cleared the set-point bit (bit 4) again.
    let cw = b
        .sim
        .with_drive(UNIT, |d| d.point_raw("controlword"))
        .unwrap();
    assert_eq!(cw.map(|w| w & 0x10), Some(0));
    let snap = snapshot(&b.handle).await.expect("snapshot");
    assert_eq!(snap.state, DriveState::Power(PowerState::OperationEnabled));
    assert!(snap.pending.is_empty());
    assert!(snap.stats.cycles > 0);
    assert_eq!(snap.stats.missed, 0, "{:?}", snap.stats);
    assert!(snap.last.is_some());
}

/// A drive that does not answer at start: the start-up fails, the drive is reported offline
/// and refuses commands with `CommLoss`; once the unit answers, the first start-up completes
/// (parameters downloaded) without any restart of the actor.
#[tokio::test(start_paused = true)]
async fn a_drive_unreachable_at_start_comes_up_when_it_answers() {
    let mut b = Bench::start(
        SERVO,
        BenchOptions {
            silent: true,
            ..BenchOptions::default()
        },
    )
    .await;
    b.event("comm lost", |k| {
        matches!(k, linevisor_drive::DriveEventKind::CommLost { .. }).then_some(())
    })
    .await;
    assert_eq!(
        snapshot(&b.handle).await.expect("snapshot").state,
        DriveState::Offline
    );
    assert!(matches!(
        send_command(&b.handle, Command::Enable(Direction::Forward)).await,
        Err(CommandError::CommLoss { .. })
    ));
    b.sim.come_back(UNIT).expect("back");
    let kind = b
        .event("ready", |k| match k {
            linevisor_drive::DriveEventKind::Ready { startup } => Some(*startup),
            _ => None,
        })
        .await;
    assert_eq!(kind, linevisor_drive::StartupKind::First);
    assert_eq!(
        b.device_value("max_current"),
        Some(b.config.parameters["max_current"])
    );
    let snap = snapshot(&b.handle).await.expect("snapshot");
    assert_eq!(
        (snap.generation, snap.state),
        (1, DriveState::Power(PowerState::SwitchOnDisabled))
    );
}
