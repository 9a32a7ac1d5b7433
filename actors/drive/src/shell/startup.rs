//! Start-up procedures, run in a task owned by the instance (so cycles keep being handled and
//! published meanwhile); the core defers commands until the outcome arrives, and retries a
//! failed procedure: at once when communication returns, else after `startup_retry`.
//!
//! | procedure | when | writes |
//! |---|---|---|
//! | `First` | first start of the drive in this process | a running drive is quick-stopped, then disabled; parameters downloaded and verified |
//! | `Reinit` | restart with `restart = "reinit"` | as `First`: the drive ends disabled until commanded |
//! | `Adopt` | restart after a crash with `restart = "adopt"` | `on_crash = "hold"`: none (bumpless); `quick_stop` / `disable`: that sequence. Parameters are read and compared |
//! | `Planned` | planned restart (`adopt`) or replacement by a new version | none (bumpless); parameters read and compared |
//! | `Reconnect` | communication came back | `on_comm_loss` (`hold`: none); parameters read and compared |
//!
//! Every procedure first reads the state, the command word, the setpoints and the identity
//! points. A changed identity is a replaced unit: `UnitReplaced`, then (whatever the procedure)
//! the drive is brought down and parameters are downloaded (`Reparameterised`). Parameters that
//! differ from the config are downloaded again unless the drive is in operation enabled
//! (`ParametersDiffer` then: nothing is written under motion). The decisions are the core's
//! (`core/startup.rs`); this file only carries them out.

use std::fmt;
use std::sync::Arc;

use linevisor_config::model::SafeState;
use linevisor_profile::{PointWrite, UniformCommand};
use linevisor_supervisor::{ChildHandle, SupervisorError};
use tracing::{Span, info, warn};

use super::lineage::DriveVersion;
use super::msg::{DriveMsg, Internal, InternalKind};
use super::safe;
use crate::core::{
    StartupJob, StartupOutcome, StartupPlan, download_differing, mismatches, needs_quick_stop,
    parameter_points, plan, readable_command_point, readable_setpoints,
};
use crate::error::CommandError;
use crate::link::{LinkError, OwnedTask};
use crate::state::DriveState;
use crate::telemetry::{DriveEventKind, Mismatch, ReparamReason, Situation};

/// Why a start-up procedure did not complete.
#[derive(Debug)]
pub(crate) enum StartupError {
    Link(LinkError),
    Sequence(CommandError),
    Verify(Vec<Mismatch>),
}

impl From<LinkError> for StartupError {
    fn from(e: LinkError) -> Self {
        StartupError::Link(e)
    }
}

impl From<CommandError> for StartupError {
    fn from(e: CommandError) -> Self {
        StartupError::Sequence(e)
    }
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartupError::Link(e) => write!(f, "{e}"),
            StartupError::Sequence(e) => write!(f, "safe-state sequence: {e}"),
            StartupError::Verify(m) => {
                write!(f, "parameters differ after download:")?;
                for x in m {
                    write!(f, " {} = {} (wrote {})", x.parameter, x.got, x.expected)?;
                }
                Ok(())
            }
        }
    }
}

/// Runs `job` in a task owned by the instance; its outcome is cast into `handle`.
pub(crate) fn spawn(
    version: Arc<DriveVersion>,
    job: StartupJob,
    handle: ChildHandle<DriveMsg>,
    generation: u64,
    span: Span,
) -> OwnedTask {
    let period = version.spec.period;
    let run = async move {
        let done = Procedure::new(version, &job).run(&job).await;
        let mut msg = DriveMsg::Internal(Internal {
            generation,
            kind: InternalKind::StartupDone(Box::new(done)),
        });
        // The queue may be full of callers' commands: keep offering. A refused message is
        // gone, so the offer becomes a request to run the procedure again.
        loop {
            match handle.cast(msg) {
                Ok(()) | Err(SupervisorError::Unavailable { .. }) => return,
                Err(_) => tokio::time::sleep(period).await,
            }
            msg = DriveMsg::Internal(Internal {
                generation,
                kind: InternalKind::Retry,
            });
        }
    };
    OwnedTask::spawn(run, span)
}

/// One procedure's working state; it becomes the [`StartupOutcome`].
#[derive(Debug)]
struct Procedure {
    version: Arc<DriveVersion>,
    outcome: StartupOutcome,
}

impl Procedure {
    fn new(version: Arc<DriveVersion>, job: &StartupJob) -> Self {
        Self {
            version,
            outcome: StartupOutcome {
                kind: job.kind,
                device: job.device,
                fault_code: job.fault_code,
                memory: job.memory,
                setpoints: Vec::new(),
                result: Err(String::new()),
            },
        }
    }

    async fn run(mut self, job: &StartupJob) -> StartupOutcome {
        self.outcome.result = self.procedure(job).await.map_err(|e| e.to_string());
        self.outcome
    }

    async fn procedure(&mut self, job: &StartupJob) -> Result<Vec<u32>, StartupError> {
        let identity = self.read_device().await?;
        let replaced = job.identity.as_ref().is_some_and(|old| *old != identity);
        if let (true, Some(old)) = (replaced, job.identity.clone()) {
            warn!(?old, new = ?identity, "The unit was replaced.");
            self.version.emitter().emit(DriveEventKind::UnitReplaced {
                old,
                new: identity.clone(),
            });
        }
        let safe = self.version.spec.safe;
        match plan(job.kind, replaced, job.comm_loss_pending, safe) {
            StartupPlan::Reparameterise(reason) => {
                self.bring_down().await?;
                self.download(reason).await?;
            }
            StartupPlan::Adopt(steps) => {
                for (situation, safe_state) in steps {
                    self.apply_safe(situation, safe_state).await?;
                }
                self.check_parameters().await?;
            }
        }
        Ok(identity)
    }

    /// Reads state, fault code, command word, setpoints and identity; returns the identity.
    async fn read_device(&mut self) -> Result<Vec<u32>, StartupError> {
        let version = self.version.clone();
        let codec = &version.spec.codec;
        let p = codec.profile();
        let setpoints = readable_setpoints(codec);
        let command = readable_command_point(codec);
        let mut extra: Vec<&str> = p.identity.iter().map(String::as_str).collect();
        extra.extend(command);
        extra.extend(setpoints.iter().copied());
        let (state, sample) = safe::observe(&version.link, codec, &extra).await?;
        let o = &mut self.outcome;
        o.device = Some(state);
        o.fault_code = codec.fault_code(&sample);
        if let Some(point) = command {
            o.memory.last_command = sample.get(point).map(|v| v.raw);
        }
        o.setpoints = setpoints
            .iter()
            .filter_map(|p| Some(((*p).to_owned(), sample.get(p)?.value)))
            .collect();
        info!(?state, command_word = ?o.memory.last_command, setpoints = ?o.setpoints, "Drive read.");
        Ok(p.identity
            .iter()
            .map(|n| sample.get(n).map_or(0, |v| v.raw))
            .collect())
    }

    /// Applies a safe state as part of a procedure (`Hold` writes nothing).
    async fn apply_safe(
        &mut self,
        situation: Situation,
        safe_state: SafeState,
    ) -> Result<(), StartupError> {
        let version = self.version.clone();
        let result = safe::apply(&version, safe_state, &mut self.outcome.memory).await;
        let emitter = version.emitter();
        match result {
            Ok(state) => {
                if state.is_some() {
                    self.outcome.device = state;
                }
                let state = self
                    .outcome
                    .device
                    .map_or(DriveState::Offline, DriveState::from);
                info!(?situation, ?safe_state, %state, "Safe state applied.");
                emitter.emit(DriveEventKind::SafeStateApplied {
                    situation,
                    safe_state,
                    state,
                });
                Ok(())
            }
            Err(e) => {
                emitter.emit(DriveEventKind::SafeStateFailed {
                    situation,
                    safe_state,
                    reason: e.to_string(),
                });
                Err(e.into())
            }
        }
    }

    /// Brings a powered drive down before parameters are written: a moving drive is
    /// quick-stopped and waited for, then the power stage is disabled.
    async fn bring_down(&mut self) -> Result<(), StartupError> {
        let version = self.version.clone();
        let codec = &version.spec.codec;
        let Some(mut state) = self.outcome.device else {
            return Ok(());
        };
        let memory = &mut self.outcome.memory;
        if needs_quick_stop(state) {
            safe::drive_to(&version, UniformCommand::QuickStop, memory).await?;
            state = safe::standstill_reached(&version).await?;
        }
        if !codec.command_reached(UniformCommand::Disable, state) {
            state = safe::drive_to(&version, UniformCommand::Disable, memory).await?;
        }
        self.outcome.device = Some(state);
        Ok(())
    }
}

impl Procedure {
    /// Writes every configured parameter, verifies them, and reports `Reparameterised`.
    async fn download(&mut self, reason: ReparamReason) -> Result<(), StartupError> {
        let version = self.version.clone();
        let spec = &version.spec;
        if spec.parameters.is_empty() {
            return Ok(());
        }
        // Read first: only what differs is written, so an unchanged drive (a restart, a
        // reconnect) boots without a write. Parameters that cannot be read back (or a read that
        // fails) are written.
        let readable: Vec<&str> = parameter_points(&spec.codec, &spec.parameters)
            .iter()
            .map(|(name, _, _)| *name)
            .collect();
        let differing: Option<Vec<String>> = self
            .verify_parameters()
            .await
            .ok()
            .map(|m| m.into_iter().map(|x| x.parameter).collect());
        let writes = spec
            .parameters
            .iter()
            .filter(|(name, _)| {
                differing
                    .as_ref()
                    .is_none_or(|d| d.contains(name) || !readable.contains(&name.as_str()))
            })
            .map(|(name, value)| spec.codec.parameter_write(name, *value))
            .collect::<Result<Vec<PointWrite>, _>>()
            .map_err(LinkError::Codec)?;
        if !writes.is_empty() {
            version.link.write(&writes).await?;
        }
        let mismatches = self.verify_parameters().await?;
        if !mismatches.is_empty() {
            return Err(StartupError::Verify(mismatches));
        }
        info!(?reason, parameters = ?spec.parameters, written = writes.len(), "Parameters downloaded and verified.");
        version.emitter().emit(DriveEventKind::Reparameterised {
            reason,
            parameters: spec.parameters.clone(),
        });
        Ok(())
    }

    /// Reads every configured parameter back; returns those outside one resolution step.
    async fn verify_parameters(&self) -> Result<Vec<Mismatch>, StartupError> {
        let spec = &self.version.spec;
        let points = parameter_points(&spec.codec, &spec.parameters);
        if points.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<&str> = points.iter().map(|(_, p, _)| *p).collect();
        let sample = self.version.link.read(&names).await?;
        mismatches(&spec.codec, &points, &sample)
            .map_err(|e| StartupError::Link(LinkError::Codec(e)))
    }

    /// Compares the drive's parameters with the config; downloads them again if they differ,
    /// unless the drive is in operation enabled (then only `ParametersDiffer`).
    async fn check_parameters(&mut self) -> Result<(), StartupError> {
        let mismatches = self.verify_parameters().await?;
        if mismatches.is_empty() {
            return Ok(());
        }
        if !download_differing(self.outcome.device) {
            warn!(
                ?mismatches,
                "Parameters differ from the config; not written under motion."
            );
            self.version
                .emitter()
                .emit(DriveEventKind::ParametersDiffer { mismatches });
            return Ok(());
        }
        self.download(ReparamReason::ParametersDiffered).await
    }
}
