//! Start-up procedures. One runs in a task owned by the instance (so cycles keep being handled
//! and published meanwhile); commands that arrive in the meantime wait for it. A failed
//! procedure is retried: at once when communication returns, else after `startup_retry`.
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
//! (`ParametersDiffer` then: nothing is written under motion).

use std::fmt;
use std::sync::Arc;

use linevisor_config::model::SafeState;
use linevisor_profile::{CommandState, UniformCommand, UniformState};
use linevisor_supervisor::SupervisorError;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::link::{LinkError, Task};
use crate::msg::{DriveMsg, Internal, InternalKind};
use crate::safe;
use crate::setup::Shared;
use crate::telemetry::{DriveEventKind, Mismatch, ReparamReason, Situation, StartupKind};
use crate::worker::{DriveInstance, Phase};
use crate::{CommandError, DriveState};

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

/// One procedure's working state, moved into its task and back into the instance when done.
#[derive(Debug)]
pub(crate) struct Startup {
    pub(crate) shared: Arc<Shared>,
    pub(crate) kind: StartupKind,
    pub(crate) device: Option<UniformState>,
    pub(crate) fault_code: Option<u32>,
    pub(crate) memory: CommandState,
    pub(crate) setpoints: Vec<(String, f64)>,
}

/// A finished procedure.
#[derive(Debug)]
pub(crate) struct StartupDone {
    pub(crate) startup: Startup,
    pub(crate) result: Result<(), String>,
}

impl DriveInstance {
    /// Starts a due procedure in its task (unless one runs, comm is known down, or a retry is
    /// not yet due).
    pub(crate) fn ensure_ready(&mut self) {
        let Phase::Startup { kind, retry_at, .. } = &self.phase else {
            return;
        };
        let booting = self.link_up.is_none() && self.shared.link.up_with_first_cycle();
        if self.startup_task.is_some()
            || self.link_up == Some(false)
            || booting
            || retry_at.is_some_and(|t| Instant::now() < t)
        {
            return;
        }
        let job = Startup {
            shared: self.shared.clone(),
            kind: *kind,
            device: self.device,
            fault_code: self.fault_code,
            memory: self.memory,
            setpoints: Vec::new(),
        };
        let (handle, generation) = (self.handle.clone(), self.generation);
        let period = self.shared.period;
        let run = async move {
            let done = job.run().await;
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
        self.startup_task = Some(Task::spawn(run, self.span.clone()));
    }

    /// Takes a finished procedure's results.
    pub(crate) async fn on_startup_done(&mut self, done: StartupDone) {
        let s = done.startup;
        self.startup_task = None;
        self.device = s.device.or(self.device);
        self.fault_code = s.fault_code;
        self.memory = s.memory;
        self.setpoints.extend(s.setpoints);
        match done.result {
            Ok(()) => {
                self.phase = Phase::Running;
                self.refresh_state();
                info!(kind = ?s.kind, state = %self.state, "Drive ready.");
                self.shared.emit(DriveEventKind::Ready { startup: s.kind });
            }
            Err(reason) => {
                warn!(kind = ?s.kind, error = %reason, "Start-up procedure failed; will retry.");
                self.trial_failed(|| format!("start-up ({:?}) failed: {reason}", s.kind));
                self.shared.emit(DriveEventKind::StartupFailed {
                    startup: s.kind,
                    reason: reason.clone(),
                });
                let retry_at = Instant::now() + self.shared.options.startup_retry;
                if let Phase::Startup { kind, .. } = self.phase {
                    self.phase = Phase::Startup {
                        kind,
                        retry_at: Some(retry_at),
                        last_error: Some(reason),
                    };
                }
                self.refresh_state();
            }
        }
        for reply in std::mem::take(&mut self.deferred) {
            self.accept(reply).await;
        }
    }
}

impl Startup {
    async fn run(mut self) -> StartupDone {
        let result = self.procedure().await.map_err(|e| e.to_string());
        StartupDone {
            startup: self,
            result,
        }
    }

    async fn procedure(&mut self) -> Result<(), StartupError> {
        let kind = self.kind;
        let identity = self.read_device().await?;
        let (known, comm_loss_pending) = {
            let m = self.shared.memory();
            (m.identity.clone(), m.comm_loss_pending)
        };
        let replaced = known.as_ref().is_some_and(|old| *old != identity);
        if let (true, Some(old)) = (replaced, known) {
            warn!(?old, new = ?identity, "The unit was replaced.");
            self.shared.emit(DriveEventKind::UnitReplaced {
                old,
                new: identity.clone(),
            });
        }
        if replaced || matches!(kind, StartupKind::First | StartupKind::Reinit) {
            self.bring_down().await?;
            let reason = if replaced {
                ReparamReason::UnitReplaced
            } else {
                ReparamReason::Start
            };
            self.download(reason).await?;
        } else {
            let safe = self.shared.safe;
            if kind == StartupKind::Adopt {
                self.apply_safe(Situation::Crash, safe.on_crash).await?;
            }
            if kind == StartupKind::Reconnect || comm_loss_pending {
                self.apply_safe(Situation::CommLoss, safe.on_comm_loss)
                    .await?;
            }
            self.check_parameters().await?;
        }
        let mut m = self.shared.memory();
        m.identity = Some(identity);
        m.comm_loss_pending = false;
        m.started = true;
        m.last_command = self.memory;
        Ok(())
    }

    /// Reads state, fault code, command word, setpoints and identity; returns the identity.
    async fn read_device(&mut self) -> Result<Vec<u32>, StartupError> {
        let shared = self.shared.clone();
        let codec = &shared.codec;
        let p = codec.profile();
        let s = &p.setpoints;
        let setpoints: Vec<&str> = [
            p.command.mode_point.as_deref(),
            s.velocity.as_deref(),
            s.position.as_deref(),
            s.profile_velocity.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|n| codec.point(n).is_ok_and(|c| c.access().readable()))
        .collect();
        let command = safe::readable_command_point(codec);
        let mut extra: Vec<&str> = p.identity.iter().map(String::as_str).collect();
        extra.extend(command);
        extra.extend(setpoints.iter().copied());
        let (state, sample) = safe::observe(&shared.link, codec, &extra).await?;
        self.device = Some(state);
        self.fault_code = codec.fault_code(&sample);
        if let Some(point) = command {
            self.memory.last_command = sample.get(point).map(|v| v.raw);
        }
        self.setpoints = setpoints
            .iter()
            .filter_map(|p| Some(((*p).to_owned(), sample.get(p)?.value)))
            .collect();
        info!(?state, command_word = ?self.memory.last_command, setpoints = ?self.setpoints, "Drive read.");
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
        let result = safe::apply(&self.shared, safe_state, &mut self.memory).await;
        match result {
            Ok(state) => {
                if state.is_some() {
                    self.device = state;
                }
                let state = self.device.map_or(DriveState::Offline, DriveState::from);
                info!(?situation, ?safe_state, %state, "Safe state applied.");
                self.shared.emit(DriveEventKind::SafeStateApplied {
                    situation,
                    safe_state,
                    state,
                });
                Ok(())
            }
            Err(e) => {
                self.shared.emit(DriveEventKind::SafeStateFailed {
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
        let shared = self.shared.clone();
        let (link, codec, poll) = (&shared.link, &shared.codec, shared.period);
        let timeout = shared.options.sequence_timeout;
        let Some(mut state) = self.device else {
            return Ok(());
        };
        let memory = &mut self.memory;
        if matches!(
            state,
            UniformState::OperationEnabled | UniformState::QuickStopActive
        ) {
            let qs = UniformCommand::QuickStop;
            safe::drive_to(link, codec, qs, memory, poll, timeout).await?;
            state = safe::standstill(link, codec, poll, timeout).await?;
        }
        if !codec.command_reached(UniformCommand::Disable, state) {
            let d = UniformCommand::Disable;
            state = safe::drive_to(link, codec, d, memory, poll, timeout).await?;
        }
        self.device = Some(state);
        Ok(())
    }
}
