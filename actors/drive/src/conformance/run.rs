//! The scenario's steps, in order (see the module docs of [`crate::conformance`]).

use linevisor_config::model::SafeState;
use linevisor_profile::{Direction, PowerState, ProfileCodec, UniformCommand};

use super::{
    FAULT, Failure, Harness, Report, Rig, command, expect_ok, fail, near, wait_event, wait_sample,
};
use crate::{Command, CommandError, DriveEventKind, DriveState, Situation, StartupKind};

/// Runs the scenario.
pub async fn run<R: Rig>(rig: &R, mut h: Harness) -> Result<Report, Failure> {
    let mut report = Report::default();
    let codec = ProfileCodec::new(&h.profile).map_err(|e| fail("setup", e.to_string()))?;
    let p = &h.profile;
    let vmax = h.config.limits.velocity_max.unwrap_or(100.0);
    let v = (vmax * 0.4).round();

    // 1. Start-up.
    let step = "start-up";
    wait_event(&mut h.events, step, |k| {
        matches!(k, DriveEventKind::Ready { .. }).then_some(())
    })
    .await?;
    for (name, value) in &h.config.parameters {
        let point = &p.parameters[name].point;
        let got = rig.device_value(point);
        let scale = p.points.get(point).map_or(1.0, |x| x.scale.abs());
        if !got.is_some_and(|g| near(g, *value, scale)) {
            return Err(fail(
                step,
                format!("parameter {name}: device has {got:?}, config {value}"),
            ));
        }
    }
    report.steps.push(format!(
        "start-up: {} parameters downloaded",
        h.config.parameters.len()
    ));

    // 2. Enable.
    let step = "enable";
    let ack = expect_ok(&h, step, Command::Enable(Direction::Forward)).await?;
    if ack.state != DriveState::Power(PowerState::OperationEnabled)
        || rig.device_state() != Some(PowerState::OperationEnabled)
    {
        return Err(fail(
            step,
            format!("ack {:?}, device {:?}", ack.state, rig.device_state()),
        ));
    }
    report
        .steps
        .push(format!("enable: confirmed after {:?}", ack.took));

    // 3. Setpoints.
    velocity(rig, &h, "velocity", v).await?;
    report
        .steps
        .push(format!("velocity {v}: acknowledged and followed"));
    if let Some(point) = p.setpoints.position.clone() {
        let step = "position";
        let target = 250.0;
        let c = Command::MoveTo {
            position: target,
            velocity: Some(vmax * 0.5),
        };
        let ack = expect_ok(&h, step, c).await?;
        let got = rig.device_value(&point);
        if !got.is_some_and(|g| near(g, target, 1e-6)) || ack.readback.is_empty() {
            return Err(fail(step, format!("device target {got:?}, ack {ack:?}")));
        }
        if p.telemetry.position.is_some() {
            wait_sample(&h.telemetry, step, |s| {
                s.position.is_some_and(|x| near(x, target, 1.0))
            })
            .await?;
        }
        report
            .steps
            .push(format!("position {target}: acknowledged and reached"));
    }

    // 4. Limits.
    let step = "limits";
    let before = rig.writes_received();
    for c in [
        Command::SetVelocity(vmax * 1.5),
        Command::MoveTo {
            position: h.config.limits.position_max.unwrap_or(1000.0) + 1.0,
            velocity: None,
        },
    ] {
        match command(&h, step, c).await {
            Err(CommandError::LimitExceeded { .. }) => {}
            other => return Err(fail(step, format!("{c:?}: {other:?}"))),
        }
    }
    if rig.writes_received() != before {
        return Err(fail(step, "a refused command reached the device"));
    }
    report.steps.push("limits: refused, nothing written".into());

    // 5. Fault.
    fault(rig, &mut h, v).await?;
    report
        .steps
        .push("fault: reported with code, reset, recovered".into());

    // 6. Comm loss.
    comm_loss(rig, &mut h, &codec, v).await?;
    report
        .steps
        .push("comm loss: reported, quick stop applied on return, re-enabled".into());

    // 7. Safe state on a planned stop.
    let step = "safe stop";
    h.supervisor
        .terminate_child(h.config.id.as_str())
        .await
        .map_err(|e| fail(step, e.to_string()))?;
    wait_event(&mut h.events, step, |k| match k {
        DriveEventKind::SafeStateApplied {
            situation: Situation::Stop,
            ..
        } => Some(()),
        _ => None,
    })
    .await?;
    let device = rig.device_state();
    if !device.is_some_and(|s| codec.command_reached(UniformCommand::QuickStop, s)) {
        return Err(fail(step, format!("device in {device:?} after the stop")));
    }
    report.steps.push(format!("safe stop: device {device:?}"));
    Ok(report)
}

async fn velocity<R: Rig>(rig: &R, h: &Harness, step: &'static str, v: f64) -> Result<(), Failure> {
    let p = &h.profile;
    let ack = expect_ok(h, step, Command::SetVelocity(v)).await?;
    let point = p.setpoints.velocity.clone().unwrap_or_default();
    let got = rig.device_value(&point);
    if !got.is_some_and(|g| near(g, v, 1e-6)) || ack.readback.is_empty() {
        return Err(fail(step, format!("device setpoint {got:?}, ack {ack:?}")));
    }
    if p.telemetry.velocity.is_some() {
        wait_sample(&h.telemetry, step, |s| {
            s.velocity
                .is_some_and(|x| near(x.abs(), v, v * 0.01 + 0.01))
        })
        .await?;
    }
    Ok(())
}

async fn fault<R: Rig>(rig: &R, h: &mut Harness, v: f64) -> Result<(), Failure> {
    let step = "fault";
    let expected = u32::from(FAULT) & h.profile.fault.code_mask.unwrap_or(u32::MAX);
    let has_code = h.profile.fault.code.is_some();
    rig.inject_fault(FAULT);
    let code = wait_event(&mut h.events, step, |k| match k {
        DriveEventKind::StateChanged {
            to: DriveState::Power(PowerState::Fault),
            fault_code,
            ..
        } => Some(*fault_code),
        _ => None,
    })
    .await?;
    if has_code && code != Some(expected) {
        return Err(fail(
            step,
            format!("fault code {code:?}, expected {expected:#x}"),
        ));
    }
    match command(h, step, Command::Enable(Direction::Forward)).await {
        Err(CommandError::InFault { code: c }) if !has_code || c == Some(expected) => {}
        other => return Err(fail(step, format!("enable in fault: {other:?}"))),
    }
    let ack = expect_ok(h, step, Command::FaultReset).await?;
    if ack.state.is_fault() {
        return Err(fail(step, format!("still {} after the reset", ack.state)));
    }
    expect_ok(h, step, Command::Enable(Direction::Forward)).await?;
    velocity(rig, h, step, v).await
}

async fn comm_loss<R: Rig>(
    rig: &R,
    h: &mut Harness,
    codec: &ProfileCodec,
    v: f64,
) -> Result<(), Failure> {
    let step = "comm loss";
    rig.go_silent();
    wait_event(&mut h.events, step, |k| {
        matches!(k, DriveEventKind::CommLost { .. }).then_some(())
    })
    .await?;
    match command(h, step, Command::SetVelocity(v)).await {
        Err(CommandError::CommLoss { .. }) => {}
        other => return Err(fail(step, format!("command while offline: {other:?}"))),
    }
    rig.come_back();
    let mut applied = false;
    wait_event(&mut h.events, step, |k| match k {
        DriveEventKind::SafeStateApplied {
            situation: Situation::CommLoss,
            safe_state: SafeState::QuickStop,
            ..
        } => {
            applied = true;
            None
        }
        DriveEventKind::Ready {
            startup: StartupKind::Reconnect,
        } => Some(()),
        _ => None,
    })
    .await?;
    let device = rig.device_state();
    if !applied || !device.is_some_and(|s| codec.command_reached(UniformCommand::QuickStop, s)) {
        return Err(fail(
            step,
            format!("quick stop applied {applied}, device {device:?}"),
        ));
    }
    expect_ok(h, step, Command::Enable(Direction::Forward)).await?;
    velocity(rig, h, step, v).await
}
