//! The decisions of the start-up procedures and the safe-stop step, pure: which procedure a
//! start runs, what it does once the device is read, which points it reads, when a stopping
//! drive stands still, which parameters differ. The shell runs them through acyclic I/O.

use linevisor_config::model::{RestartPolicy, SafeState};
use linevisor_profile::{
    CodecError, CommandState, PowerState, ProfileCodec, Sample, UniformCommand,
};
use linevisor_supervisor::StopCause;

use super::ack;
use super::spec::SafeStates;
use crate::telemetry::{Mismatch, ReparamReason, Situation, StartupKind};

/// Which procedure a new instance runs.
pub fn startup_kind(
    replacing: bool,
    planned_restart: bool,
    started: bool,
    restart: RestartPolicy,
) -> StartupKind {
    match (replacing, planned_restart, started, restart) {
        (true, _, _, _) | (false, true, true, RestartPolicy::Adopt) => StartupKind::Planned,
        (false, false, true, RestartPolicy::Adopt) => StartupKind::Adopt,
        (false, _, true, RestartPolicy::Reinit) => StartupKind::Reinit,
        (false, _, false, _) => StartupKind::First,
    }
}

/// A procedure to run, with what the core knows when it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct StartupJob {
    pub kind: StartupKind,
    pub device: Option<PowerState>,
    pub fault_code: Option<u32>,
    pub memory: CommandState,
    /// Identity read at the last procedure (a different one is a replaced unit).
    pub identity: Option<Vec<u32>>,
    pub comm_loss_pending: bool,
}

/// A finished procedure: what it read and wrote, and the identity it read (`Ok`) or why it
/// failed.
#[derive(Debug, Clone, PartialEq)]
pub struct StartupOutcome {
    pub kind: StartupKind,
    pub device: Option<PowerState>,
    pub fault_code: Option<u32>,
    pub memory: CommandState,
    /// Setpoints read from the drive (point, engineering value).
    pub setpoints: Vec<(String, f64)>,
    pub result: Result<Vec<u32>, String>,
}

/// What a procedure does once it has read the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupPlan {
    /// Bring the drive down and download the parameters.
    Reparameterise(ReparamReason),
    /// Apply these safe states in order (hold writes nothing), then compare the parameters.
    Adopt(Vec<(Situation, SafeState)>),
}

/// The plan of `kind`: a replaced unit or a first start (or reinit) is reparameterised; an
/// adopted drive gets `on_crash` after a crash and `on_comm_loss` after a comm loss.
pub fn plan(
    kind: StartupKind,
    replaced: bool,
    comm_loss_pending: bool,
    safe: SafeStates,
) -> StartupPlan {
    if replaced {
        return StartupPlan::Reparameterise(ReparamReason::UnitReplaced);
    }
    if matches!(kind, StartupKind::First | StartupKind::Reinit) {
        return StartupPlan::Reparameterise(ReparamReason::Start);
    }
    let mut steps = Vec::new();
    if kind == StartupKind::Adopt {
        steps.push((Situation::Crash, safe.on_crash));
    }
    if kind == StartupKind::Reconnect || comm_loss_pending {
        steps.push((Situation::CommLoss, safe.on_comm_loss));
    }
    StartupPlan::Adopt(steps)
}

/// The command that applies `safe`; `None` for hold (nothing is written).
pub fn safe_command(safe: SafeState) -> Option<UniformCommand> {
    match safe {
        SafeState::Hold => None,
        SafeState::QuickStop => Some(UniformCommand::QuickStop),
        SafeState::Disable => Some(UniformCommand::Disable),
    }
}

/// What the safe-stop step does for `cause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopPlan {
    /// The next instance or version takes the running drive over: write nothing and note a
    /// planned restart.
    Bumpless,
    /// Apply `on_stop`.
    Apply(SafeState),
}

/// A replacement is always bumpless; a restart is when the policy is adopt.
pub fn stop_plan(cause: StopCause, restart: RestartPolicy, on_stop: SafeState) -> StopPlan {
    let bumpless = match cause {
        StopCause::Replace => true,
        StopCause::Restart => restart == RestartPolicy::Adopt,
        StopCause::Shutdown => false,
    };
    if bumpless {
        StopPlan::Bumpless
    } else {
        StopPlan::Apply(on_stop)
    }
}

/// The status points, the fault code and the velocity, plus `extra`.
pub fn observed_points<'a>(codec: &'a ProfileCodec, extra: &[&'a str]) -> Vec<&'a str> {
    let p = codec.profile();
    let mut points = codec.status_points();
    let more = [p.fault.code.as_deref(), p.telemetry.velocity.as_deref()];
    for e in more.into_iter().flatten().chain(extra.iter().copied()) {
        if !points.contains(&e) {
            points.push(e);
        }
    }
    points
}

/// The command point, if it can be read back (to continue from the drive's own word).
pub fn readable_command_point(codec: &ProfileCodec) -> Option<&str> {
    let point = codec.profile().command.point.as_str();
    codec
        .point(point)
        .ok()
        .filter(|p| p.access().readable())
        .map(|_| point)
}

/// The readable setpoints a procedure adopts (mode, velocity, position, profile velocity).
pub fn readable_setpoints(codec: &ProfileCodec) -> Vec<&str> {
    let p = codec.profile();
    let s = &p.setpoints;
    [
        p.command.mode_point.as_deref(),
        s.velocity.as_deref(),
        s.position.as_deref(),
        s.profile_velocity.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|n| codec.point(n).is_ok_and(|c| c.access().readable()))
    .collect()
}

/// A powered drive is brought down before parameters are written: a moving one is quick-stopped
/// first (and waited for).
pub fn needs_quick_stop(state: PowerState) -> bool {
    matches!(
        state,
        PowerState::OperationEnabled | PowerState::QuickStopActive
    )
}

/// A quick-stopped drive stands still once it left quick stop active, or its velocity is
/// within one count of zero.
pub fn standstill(codec: &ProfileCodec, state: PowerState, sample: &Sample) -> bool {
    let velocity = codec.profile().telemetry.velocity.as_deref();
    let still = velocity
        .and_then(|p| sample.get(p).map(|v| (p, v.value)))
        .is_some_and(|(p, v)| ack::within(0.0, v, ack::resolution(codec, p, v)));
    state != PowerState::QuickStopActive || still
}

/// The configured parameters with their points (name, point, value); unknown names skipped.
pub fn parameter_points<'a>(
    codec: &'a ProfileCodec,
    parameters: &'a [(String, f64)],
) -> Vec<(&'a str, &'a str, f64)> {
    let defs = &codec.profile().parameters;
    parameters
        .iter()
        .filter_map(|(name, v)| Some((name.as_str(), defs.get(name)?.point.as_str(), *v)))
        .collect()
}

/// The parameters read back outside one resolution step of the config.
pub fn mismatches(
    codec: &ProfileCodec,
    points: &[(&str, &str, f64)],
    sample: &Sample,
) -> Result<Vec<Mismatch>, CodecError> {
    let mut out = Vec::new();
    for &(name, point, expected) in points {
        let got = sample.require(point)?.value;
        if !ack::within(expected, got, ack::resolution(codec, point, expected)) {
            out.push(Mismatch {
                parameter: name.to_owned(),
                expected,
                got,
            });
        }
    }
    Ok(out)
}

/// Parameters that differ are downloaded again, unless the drive is in operation enabled
/// (nothing is written under motion): then they are only reported.
pub fn download_differing(device: Option<PowerState>) -> bool {
    device != Some(PowerState::OperationEnabled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_up_table() {
        use StartupKind::*;
        let (adopt, reinit) = (RestartPolicy::Adopt, RestartPolicy::Reinit);
        assert_eq!(startup_kind(false, false, false, adopt), First);
        assert_eq!(startup_kind(false, false, true, adopt), Adopt);
        assert_eq!(startup_kind(false, true, true, adopt), Planned);
        assert_eq!(startup_kind(false, true, true, reinit), Reinit);
        assert_eq!(startup_kind(true, false, false, reinit), Planned);

        let safe = SafeStates {
            on_stop: SafeState::Hold,
            on_crash: SafeState::QuickStop,
            on_comm_loss: SafeState::Disable,
        };
        let reparam = |r| StartupPlan::Reparameterise(r);
        assert_eq!(
            plan(First, false, false, safe),
            reparam(ReparamReason::Start)
        );
        assert_eq!(
            plan(Planned, true, false, safe),
            reparam(ReparamReason::UnitReplaced)
        );
        assert_eq!(
            plan(Planned, false, false, safe),
            StartupPlan::Adopt(vec![])
        );
        assert_eq!(
            plan(Adopt, false, true, safe),
            StartupPlan::Adopt(vec![
                (Situation::Crash, SafeState::QuickStop),
                (Situation::CommLoss, SafeState::Disable)
            ])
        );
        assert_eq!(
            plan(Reconnect, false, false, safe),
            StartupPlan::Adopt(vec![(Situation::CommLoss, SafeState::Disable)])
        );
        assert!(!download_differing(Some(PowerState::OperationEnabled)));
        assert!(download_differing(Some(PowerState::SwitchedOn)));
    }
}
