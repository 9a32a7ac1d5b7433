//! Safe states applied through acyclic reads and writes, with no instance and no cyclic data:
//! the supervisor's safe-stop step (planned stop, `on_stop`), and the start-up procedures
//! (`on_crash` on adopt, `on_comm_loss` on reconnect, bringing a running drive down on reinit).
//! The decisions are the core's ([`DriveTo`], [`stop_plan`], [`standstill`]); this file reads,
//! writes and waits.

use std::sync::Arc;

use linevisor_config::model::SafeState;
use linevisor_profile::{CommandState, PowerState, ProfileCodec, Sample, UniformCommand};
use linevisor_supervisor::{ActorProcessingErr, StopCause};
use tokio::time::Instant;
use tracing::{info, warn};

use super::lineage::{DriveVersion, Lineage};
use crate::core::{
    DriveTo, Poll, StopPlan, observed_points, readable_command_point, safe_command, standstill,
    stop_plan,
};
use crate::error::CommandError;
use crate::link::{Link, LinkError};
use crate::state::DriveState;
use crate::telemetry::{DriveEventKind, Situation};

/// Reads and decodes the drive's state (and whatever `extra` asks for).
pub(crate) async fn observe(
    link: &Link,
    codec: &ProfileCodec,
    extra: &[&str],
) -> Result<(PowerState, Sample), LinkError> {
    let sample = link.read(&observed_points(codec, extra)).await?;
    let state = codec.decode_status(&sample)?;
    Ok((state, sample))
}

/// Runs `command` to completion through acyclic reads, polling at the drive's period, within
/// `sequence_timeout`; `memory` follows every write, also when it fails.
pub(crate) async fn drive_to(
    version: &DriveVersion,
    command: UniformCommand,
    memory: &mut CommandState,
) -> Result<PowerState, CommandError> {
    let (spec, link) = (&version.spec, &version.link);
    let codec = &spec.codec;
    let timeout = spec.options.sequence_timeout;
    let mut run = DriveTo::new(command, *memory, Instant::now(), spec.period, timeout);
    let mut poll = Poll::Read;
    let result = loop {
        poll = match poll {
            Poll::Read => {
                let observed_at = Instant::now();
                let (state, sample) = match observe(link, codec, &[]).await {
                    Ok(o) => o,
                    Err(e) => break Err(e.into()),
                };
                let fault_code = codec.fault_code(&sample);
                match run.observed(codec, state, fault_code, observed_at, Instant::now()) {
                    Ok(p) => p,
                    Err(e) => break Err(e),
                }
            }
            Poll::Write(writes) => match link.write(&writes).await {
                Ok(()) => run.written(codec, &writes, Instant::now()),
                Err(e) => break Err(e.into()),
            },
            Poll::Sleep(d) => {
                tokio::time::sleep(d).await;
                Poll::Read
            }
            Poll::Done(state) => break Ok(state),
        };
    };
    *memory = run.memory();
    result
}

/// Waits until a quick-stopped drive stands still, within `sequence_timeout`.
pub(crate) async fn standstill_reached(version: &DriveVersion) -> Result<PowerState, CommandError> {
    let (spec, link) = (&version.spec, &version.link);
    let timeout = spec.options.sequence_timeout;
    let deadline = Instant::now() + timeout;
    loop {
        let (state, sample) = observe(link, &spec.codec, &[]).await?;
        if standstill(&spec.codec, state, &sample) {
            return Ok(state);
        }
        if Instant::now() >= deadline {
            return Err(CommandError::Timeout {
                after: timeout,
                state: DriveState::from(state),
            });
        }
        tokio::time::sleep(spec.period).await;
    }
}

/// Applies `safe`: `Hold` writes nothing and returns `None`.
pub(crate) async fn apply(
    version: &DriveVersion,
    safe: SafeState,
    memory: &mut CommandState,
) -> Result<Option<PowerState>, CommandError> {
    match safe_command(safe) {
        None => Ok(None),
        Some(command) => drive_to(version, command, memory).await.map(Some),
    }
}

/// The supervisor's safe-stop step: `on_stop` through the bus, after the instance is gone.
pub(crate) async fn stop_step(
    version: Arc<DriveVersion>,
    lineage: Arc<Lineage>,
    cause: StopCause,
) -> Result<(), ActorProcessingErr> {
    let spec = &version.spec;
    let safe = match stop_plan(cause, spec.restart, spec.safe.on_stop) {
        StopPlan::Bumpless => {
            info!("Actor restarts and adopts the drive: safe state not applied.");
            lineage.update(|c| c.planned_restart = true);
            return Ok(());
        }
        StopPlan::Apply(safe) => safe,
    };
    let mut memory = lineage.carry_over().last_command;
    // Continue from the drive's own command word (mode bits, halt), if it can be read.
    if safe != SafeState::Hold
        && let Some(point) = readable_command_point(&spec.codec)
        && let Ok(s) = version.link.read(&[point]).await
    {
        memory.last_command = s.get(point).map(|v| v.raw);
    }
    let result = apply(&version, safe, &mut memory).await;
    lineage.update(|c| c.last_command = memory);
    let situation = Situation::Stop;
    let emitter = version.emitter();
    match result {
        Ok(state) => {
            let state = match state {
                Some(s) => DriveState::from(s),
                // Hold wrote nothing; report what the drive is doing, if it answers.
                None => observe(&version.link, &spec.codec, &[])
                    .await
                    .map_or(DriveState::Offline, |(s, _)| DriveState::from(s)),
            };
            info!(?safe, %state, "Safe state applied on stop.");
            emitter.emit(DriveEventKind::SafeStateApplied {
                situation,
                safe_state: safe,
                state,
            });
            Ok(())
        }
        Err(e) => {
            warn!(?safe, error = %e, "Safe state on stop failed.");
            emitter.emit(DriveEventKind::SafeStateFailed {
                situation,
                safe_state: safe,
                reason: e.to_string(),
            });
            Err(Box::new(e))
        }
    }
}
