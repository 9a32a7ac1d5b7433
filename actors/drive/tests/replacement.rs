//! A replaced unit is re-parameterised automatically: the simulator swaps the unit (new serial
//! number, factory parameters, freshly powered up) while it is unreachable; when it answers
//! again the drive notices and downloads the config again. Paused time.

mod common;

use std::time::Duration;

use common::*;
use linevisor_config::model::SafeState;
use linevisor_drive::{
    Command, Direction, DriveEventKind, DriveState, ReparamReason, StartupKind, send_command,
    snapshot,
};
use linevisor_profile::PowerState;

/// Events up to the next `Ready`, with the `Ready` kind.
async fn until_ready(b: &mut Bench) -> (Vec<DriveEventKind>, StartupKind) {
    let mut seen = Vec::new();
    let kind = b
        .event("ready", |k| {
            seen.push(k.clone());
            match k {
                DriveEventKind::Ready { startup } => Some(*startup),
                _ => None,
            }
        })
        .await;
    (seen, kind)
}

async fn swap_while_silent(b: &mut Bench, serial: u32) {
    b.sim.go_silent(UNIT).expect("silent");
    b.event("comm lost", |k| {
        matches!(k, DriveEventKind::CommLost { .. }).then_some(())
    })
    .await;
    b.sim.replace_unit(UNIT, serial).expect("replace");
    b.sim.come_back(UNIT).expect("back");
}

fn configured_in_device(b: &Bench) {
    for (name, value) in &b.config.parameters {
        let point = &b.profile.parameters[name].point;
        let scale = b.profile.points[point].scale.abs();
        let got = b.device_value(point).expect("point");
        assert!(
            (got - value).abs() <= scale,
            "{name}: device {got}, config {value}"
        );
    }
}

/// Identity changed (serial 1001 → 2002): `UnitReplaced`, then `Reparameterised` for that
/// reason, then ready again, disabled; the device holds the configured parameters.
#[tokio::test(start_paused = true)]
async fn a_swapped_unit_is_detected_by_identity_and_reparameterised() {
    let mut b = Bench::start("linevisor-sim-servo", BenchOptions::default()).await;
    b.ready().await;
    run_at(&b, 50.0).await;
    swap_while_silent(&mut b, 2002).await;
    let (events, kind) = until_ready(&mut b).await;
    assert_eq!(kind, StartupKind::Reconnect);
    let replaced = events.iter().position(|k| {
        matches!(k, DriveEventKind::UnitReplaced { old, new } if old == &[SERIAL] && new == &[2002])
    });
    let reparameterised = events.iter().position(|k| {
        matches!(
            k,
            DriveEventKind::Reparameterised {
                reason: ReparamReason::UnitReplaced,
                ..
            }
        )
    });
    assert!(
        replaced.is_some() && replaced < reparameterised,
        "{events:#?}"
    );
    configured_in_device(&b);
    assert_eq!(b.device(), PowerState::SwitchOnDisabled);
    assert_eq!(
        snapshot(&b.handle).await.expect("snapshot").state,
        DriveState::Power(PowerState::SwitchOnDisabled)
    );
    send_command(&b.handle, Command::Enable(Direction::Forward))
        .await
        .expect("the new unit takes commands");
}

/// A profile without identity points (Delta): the factory parameters differ from the config,
/// which is enough to download again.
#[tokio::test(start_paused = true)]
async fn a_swapped_unit_without_identity_is_caught_by_its_parameters() {
    let mut b = Bench::start("delta-c2000-vfd", BenchOptions::default()).await;
    b.ready().await;
    swap_while_silent(&mut b, 2002).await;
    let (events, _) = until_ready(&mut b).await;
    assert!(
        events.iter().any(|k| matches!(
            k,
            DriveEventKind::Reparameterised {
                reason: ReparamReason::ParametersDiffered,
                ..
            }
        )),
        "{events:#?}"
    );
    assert!(
        !events
            .iter()
            .any(|k| matches!(k, DriveEventKind::UnitReplaced { .. }))
    );
    configured_in_device(&b);
}

/// Parameters changed behind the drive's back while it runs and comm loss is `hold`: nothing
/// is written under motion, `ParametersDiffer` says so, the drive keeps running.
#[tokio::test(start_paused = true)]
async fn differing_parameters_are_not_written_under_motion() {
    let mut b = Bench::start(
        "linevisor-sim-servo",
        BenchOptions {
            configure: Box::new(|c| c.safe_state.on_comm_loss = Some(SafeState::Hold)),
            ..BenchOptions::default()
        },
    )
    .await;
    b.ready().await;
    run_at(&b, 50.0).await;
    b.sim.go_silent(UNIT).expect("silent");
    b.event("comm lost", |k| {
        matches!(k, DriveEventKind::CommLost { .. }).then_some(())
    })
    .await;
    b.sim
        .with_drive(UNIT, |d| {
            let w = d.codec().write("max_current", 2.0).expect("encode");
            d.apply(&w).expect("write")
        })
        .expect("sim");
    let back = tokio::time::Instant::now();
    b.sim.come_back(UNIT).expect("back");
    let (events, kind) = until_ready(&mut b).await;
    assert_eq!(kind, StartupKind::Reconnect);
    assert!(
        events.iter().any(|k| matches!(
            k,
            DriveEventKind::ParametersDiffer { mismatches } if mismatches[0].parameter == "max_current"
        )),
        "{events:#?}"
    );
    assert!(b.rec.writes_since(back).is_empty(), "written under motion");
    assert_eq!(b.device(), PowerState::OperationEnabled);
    assert_eq!(b.device_value("max_current"), Some(2.0));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!((b.sim.with_drive(UNIT, |d| d.velocity()).unwrap() - 50.0).abs() < 1e-6);
}
