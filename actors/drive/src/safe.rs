//! Safe states applied through acyclic reads and writes, with no instance and no cyclic data:
//! the supervisor's safe-stop step (planned stop, `on_stop`), and the start-up procedures
//! (`on_crash` on adopt, `on_comm_loss` on reconnect, bringing a running drive down on reinit).
//!
//! A sequence reads the status, asks the codec for the next step, writes it and polls again at
//! the drive's cycle period until the state confirms the command or the bound passes.

use std::sync::Arc;
use std::time::Duration;

use linevisor_config::model::{RestartPolicy, SafeState};
use linevisor_profile::{
    CommandState, CommandStep, ProfileCodec, Sample, UniformCommand, UniformState,
};
use linevisor_supervisor::{ActorProcessingErr, StopCause};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::link::{Link, LinkError};
use crate::setup::Shared;
use crate::telemetry::{DriveEventKind, Situation};
use crate::{CommandError, DriveState, command::ack};

/// The status points, the fault code and the velocity, plus `extra`.
pub(crate) fn observed_points<'a>(codec: &'a ProfileCodec, extra: &[&'a str]) -> Vec<&'a str> {
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

/// Reads and decodes the drive's state (and whatever `extra` asks for).
pub(crate) async fn observe(
    link: &Link,
    codec: &ProfileCodec,
    extra: &[&str],
) -> Result<(UniformState, Sample), LinkError> {
    let sample = link.read(&observed_points(codec, extra)).await?;
    let state = codec.decode_status(&sample)?;
    Ok((state, sample))
}

/// The command point, if it can be read back (to continue from the drive's own word).
pub(crate) fn readable_command_point(codec: &ProfileCodec) -> Option<&str> {
    let point = codec.profile().command.point.as_str();
    codec
        .point(point)
        .ok()
        .filter(|p| p.access().readable())
        .map(|_| point)
}

/// Runs `command` to completion through acyclic reads, polling every `poll`, within `timeout`.
pub(crate) async fn drive_to(
    link: &Link,
    codec: &ProfileCodec,
    command: UniformCommand,
    memory: &mut CommandState,
    poll: Duration,
    timeout: Duration,
) -> Result<UniformState, CommandError> {
    let deadline = Instant::now() + timeout;
    loop {
        let (state, sample) = observe(link, codec, &[]).await?;
        let step = codec
            .command_step(command, state, memory)
            .map_err(CommandError::from_codec)?;
        match step {
            CommandStep::Done => return Ok(state),
            CommandStep::Refused(_) => {
                return Err(CommandError::InFault {
                    code: codec.fault_code(&sample),
                });
            }
            CommandStep::Wait => {}
            CommandStep::Write(writes) => {
                link.write(&writes).await?;
                codec.note_written(memory, &writes);
            }
        }
        if Instant::now() >= deadline {
            return Err(CommandError::Timeout {
                after: timeout,
                state: DriveState::from(state),
            });
        }
        tokio::time::sleep(poll).await;
    }
}

/// Waits until a quick-stopped drive stands still (it leaves quick stop active, or its velocity
/// is within one count of zero), within `timeout`.
pub(crate) async fn standstill(
    link: &Link,
    codec: &ProfileCodec,
    poll: Duration,
    timeout: Duration,
) -> Result<UniformState, CommandError> {
    let deadline = Instant::now() + timeout;
    let velocity = codec.profile().telemetry.velocity.as_deref();
    loop {
        let (state, sample) = observe(link, codec, &[]).await?;
        let still = velocity
            .and_then(|p| sample.get(p).map(|v| (p, v.value)))
            .is_some_and(|(p, v)| ack::within(0.0, v, ack::resolution(codec, p, v)));
        if state != UniformState::QuickStopActive || still {
            return Ok(state);
        }
        if Instant::now() >= deadline {
            return Err(CommandError::Timeout {
                after: timeout,
                state: DriveState::from(state),
            });
        }
        tokio::time::sleep(poll).await;
    }
}

/// Applies `safe`: `Hold` writes nothing and returns `None`.
pub(crate) async fn apply(
    shared: &Shared,
    safe: SafeState,
    memory: &mut CommandState,
) -> Result<Option<UniformState>, CommandError> {
    let command = match safe {
        SafeState::Hold => return Ok(None),
        SafeState::QuickStop => UniformCommand::QuickStop,
        SafeState::Disable => UniformCommand::Disable,
    };
    let o = &shared.options;
    drive_to(
        &shared.link,
        &shared.codec,
        command,
        memory,
        shared.period,
        o.sequence_timeout,
    )
    .await
    .map(Some)
}

/// The supervisor's safe-stop step: `on_stop` through the bus, after the instance is gone.
pub(crate) async fn stop_step(
    shared: Arc<Shared>,
    cause: StopCause,
) -> Result<(), ActorProcessingErr> {
    let bumpless = match cause {
        // The new version takes the running drive over, whatever the restart policy.
        StopCause::Replace => true,
        StopCause::Restart => shared.restart == RestartPolicy::Adopt,
        StopCause::Shutdown => false,
    };
    if bumpless {
        info!("Actor restarts and adopts the drive: safe state not applied.");
        shared.memory().planned_restart = true;
        return Ok(());
    }
    let safe = shared.safe.on_stop;
    let mut memory = shared.memory().last_command;
    // Continue from the drive's own command word (mode bits, halt), if it can be read.
    if safe != SafeState::Hold
        && let Some(point) = readable_command_point(&shared.codec)
        && let Ok(s) = shared.link.read(&[point]).await
    {
        memory.last_command = s.get(point).map(|v| v.raw);
    }
    let result = apply(&shared, safe, &mut memory).await;
    shared.memory().last_command = memory;
    let situation = Situation::Stop;
    match result {
        Ok(state) => {
            let state = match state {
                Some(s) => DriveState::from(s),
                // Hold wrote nothing; report what the drive is doing, if it answers.
                None => observe(&shared.link, &shared.codec, &[])
                    .await
                    .map_or(DriveState::Offline, |(s, _)| DriveState::from(s)),
            };
            info!(?safe, %state, "Safe state applied on stop.");
            shared.emit(DriveEventKind::SafeStateApplied {
                situation,
                safe_state: safe,
                state,
            });
            Ok(())
        }
        Err(e) => {
            warn!(?safe, error = %e, "Safe state on stop failed.");
            shared.emit(DriveEventKind::SafeStateFailed {
                situation,
                safe_state: safe,
                reason: e.to_string(),
            });
            Err(Box::new(e))
        }
    }
}
