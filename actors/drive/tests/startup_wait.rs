//! A command that arrives while the start-up procedure runs waits for it at most
//! `startup_wait`: then it is refused with the reason (the drive is still starting), and it is
//! never run afterwards, so no command reaches the drive after its caller was answered.

mod common;
#[allow(dead_code)]
#[path = "core_props/device.rs"]
mod device;

use std::time::Duration;

use common::*;
use linevisor_config::model::SafeState;
use linevisor_drive::core::{Action, CarryOver, CommandId, DriveCore, Event, Start};
use linevisor_drive::{Command, CommandError, Direction, DriveOptions, send_command};
use linevisor_profile::PowerState;
use tokio::time::Instant;

fn replies(actions: &[Action]) -> Vec<&Action> {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Reply { .. }))
        .collect()
}

#[test]
fn the_core_refuses_a_command_that_waited_too_long_and_never_runs_it() {
    let now = Instant::now();
    let spec = device::spec(SafeState::QuickStop);
    let wait = spec.options.startup_wait;
    let start = Start {
        generation: 1,
        handover: None,
        trial: None,
    };
    let mut core = DriveCore::new(spec, CarryOver::default(), start, now);
    let job = core
        .step(Event::Tick, now)
        .into_iter()
        .find_map(|a| match a {
            Action::StartStartup(job) => Some(job),
            _ => None,
        })
        .expect("the start-up procedure begins");
    let enable = Event::Command {
        id: CommandId(7),
        command: Command::Enable(Direction::Forward),
    };
    assert!(replies(&core.step(enable, now)).is_empty(), "waits");
    assert_eq!(core.next_deadline(), Some(now + wait));
    let just_before = now + wait - Duration::from_millis(1);
    assert!(replies(&core.step(Event::Tick, just_before)).is_empty());

    let out = core.step(Event::Tick, now + wait);
    match replies(&out).as_slice() {
        [
            Action::Reply {
                id: CommandId(7),
                result: Err(CommandError::NotReady { reason, .. }),
            },
        ] => assert!(reason.contains("still starting"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(core.next_deadline(), None);

    // The start-up completes later: the refused command is neither run nor answered again.
    let done = device::Device::new().startup(&job);
    let out = core.step(Event::StartupDone(Box::new(done)), now + wait * 2);
    let ran = out
        .iter()
        .any(|a| matches!(a, Action::Write { .. } | Action::Reply { .. }));
    assert!(!ran, "{out:?}");
}

/// Through the actor: the answer comes after `startup_wait` even though the start-up goes on,
/// and the device never sees the enable.
#[tokio::test(start_paused = true)]
async fn a_command_sent_during_start_up_is_answered_in_time_and_never_run_later() {
    let options = DriveOptions {
        startup_wait: Duration::from_millis(1),
        ..DriveOptions::default()
    };
    let mut b = Bench::start(
        "linevisor-sim-servo",
        BenchOptions {
            options,
            ..BenchOptions::default()
        },
    )
    .await;
    match send_command(&b.handle, Command::Enable(Direction::Forward)).await {
        Err(CommandError::NotReady { reason, .. }) => {
            assert!(reason.contains("still starting"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    b.ready().await;
    pass(Duration::from_secs(1)).await;
    assert_eq!(b.device(), PowerState::SwitchOnDisabled);
}
