//! The conformance scenario: what every drive profile must do against a simulated device,
//! through a real bus and under a real supervisor. A new profile is done when it passes.
//!
//! The device side is abstracted by [`Rig`] (the Modbus simulator today, a CANopen simulator
//! later); the drive side is a running drive child ([`Harness`]) configured by
//! [`drive_config`]. [`run`] goes through, in order:
//!
//! 1. start-up: ready, and every configured parameter present in the device;
//! 2. enable → operation enabled, confirmed by the device;
//! 3. velocity setpoint acknowledged (read back), device follows; a position move where the
//!    profile has a position setpoint;
//! 4. limits: commands beyond them are refused and the device receives no write;
//! 5. fault injection → fault reported with its (masked) code; enable refused `InFault`;
//!    fault reset → recovery, enable and velocity again;
//! 6. comm loss: `CommLost`, commands refused with `CommLoss`; comm back: `on_comm_loss`
//!    (quick stop) applied and seen by the device, ready again, re-enabled by command;
//! 7. planned stop of the child: the safe-stop step brings the device to quick stop.
//!
//! It returns a [`Failure`] naming the step instead of panicking.

mod run;

use std::time::Duration;

use linevisor_config::model::{
    DriveConfig, Limits, Profile, ProfileRef, RestartPolicy, SafeState, SafeStatePolicy,
};
use linevisor_profile::PowerState;
use linevisor_supervisor::{ChildHandle, SupervisorRef};
use tokio::sync::broadcast::{self, error::RecvError};

pub use run::run;

use crate::{
    Command, CommandAck, CommandError, DriveEvent, DriveEventKind, DriveMsg, TelemetrySample,
    send_command,
};

/// Bound of every wait (virtual time under a paused clock).
const WAIT: Duration = Duration::from_secs(60);
/// Fault code injected.
pub(crate) const FAULT: u16 = 0x2310;

/// The device side of the scenario.
pub trait Rig {
    /// The state of the device's own model.
    fn device_state(&self) -> Option<PowerState>;
    /// A point's engineering value in the device.
    fn device_value(&self, point: &str) -> Option<f64>;
    /// Write requests the device received so far.
    fn writes_received(&self) -> usize;
    /// Raises a drive fault with `code`.
    fn inject_fault(&self, code: u16);
    /// The device stops answering.
    fn go_silent(&self);
    /// The device answers again.
    fn come_back(&self);
}

/// The drive under test, started from [`drive_config`].
#[derive(Debug)]
pub struct Harness {
    /// Its stable handle.
    pub handle: ChildHandle<DriveMsg>,
    /// Its events, subscribed before it started.
    pub events: broadcast::Receiver<DriveEvent>,
    /// Its telemetry.
    pub telemetry: broadcast::Receiver<TelemetrySample>,
    /// The supervisor it runs under (the scenario ends by stopping it there).
    pub supervisor: SupervisorRef,
    /// Its profile.
    pub profile: Profile,
    /// Its config.
    pub config: DriveConfig,
}

/// A step that did not pass.
#[derive(Debug, Clone, thiserror::Error)]
#[error("conformance step {step:?} failed: {detail}")]
pub struct Failure {
    /// The step.
    pub step: &'static str,
    /// What was wrong.
    pub detail: String,
}

/// What passed.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One line per step.
    pub steps: Vec<String>,
}

/// The drive config the scenario expects: 10 ms cycle, velocity ≤ 100, position 0–1000, every
/// safe state quick stop, restart adopt, every profile parameter at a quarter of its range.
pub fn drive_config(profile: &Profile, id: &str, bus: &str, address: u32) -> DriveConfig {
    let parameters = profile
        .parameters
        .iter()
        .map(|(name, def)| {
            let min = def.min.unwrap_or(0.0);
            let max = def.max.unwrap_or(min + 100.0);
            let scale = profile
                .points
                .get(&def.point)
                .map_or(1.0, |p| p.scale.abs());
            let v = ((min + (max - min) / 4.0) / scale).round() * scale;
            (name.clone(), v.clamp(min, max))
        })
        .collect();
    let qs = Some(SafeState::QuickStop);
    DriveConfig {
        id: id.to_owned(),
        bus: bus.to_owned(),
        address,
        profile: ProfileRef {
            name: profile.profile.name.clone(),
            version: profile.profile.version.clone(),
        },
        cycle_ms: Some(10),
        response_timeout_ms: None,
        restart: RestartPolicy::Adopt,
        limits: Limits {
            velocity_max: Some(100.0),
            position_min: Some(0.0),
            position_max: Some(1000.0),
            acceleration_max: None,
        },
        safe_state: SafeStatePolicy {
            on_stop: qs,
            on_crash: qs,
            on_comm_loss: qs,
        },
        parameters,
    }
}

pub(crate) fn fail(step: &'static str, detail: impl Into<String>) -> Failure {
    Failure {
        step,
        detail: detail.into(),
    }
}

/// The next event `pick` accepts.
pub async fn wait_event<T>(
    rx: &mut broadcast::Receiver<DriveEvent>,
    step: &'static str,
    mut pick: impl FnMut(&DriveEventKind) -> Option<T>,
) -> Result<T, Failure> {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    if let Some(t) = pick(&e.kind) {
                        return Ok(t);
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Err(fail(step, "event channel closed")),
            }
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .map_err(|_| fail(step, format!("expected event not seen within {WAIT:?}")))?
}

/// The next telemetry sample (from now on) `pred` accepts.
pub async fn wait_sample(
    rx: &broadcast::Receiver<TelemetrySample>,
    step: &'static str,
    pred: impl Fn(&TelemetrySample) -> bool,
) -> Result<TelemetrySample, Failure> {
    let mut rx = rx.resubscribe();
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(s) if pred(&s) => return Ok(s),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Err(fail(step, "telemetry channel closed")),
            }
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .map_err(|_| fail(step, format!("expected telemetry not seen within {WAIT:?}")))?
}

pub(crate) async fn command(
    h: &Harness,
    step: &'static str,
    c: Command,
) -> Result<CommandAck, CommandError> {
    match tokio::time::timeout(WAIT, send_command(&h.handle, c)).await {
        Ok(r) => r,
        Err(_) => Err(CommandError::Aborted {
            reason: format!("step {step}: no outcome within {WAIT:?}"),
        }),
    }
}

pub(crate) async fn expect_ok(
    h: &Harness,
    step: &'static str,
    c: Command,
) -> Result<CommandAck, Failure> {
    command(h, step, c)
        .await
        .map_err(|e| fail(step, format!("{c:?} failed: {e}")))
}

pub(crate) fn near(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}
