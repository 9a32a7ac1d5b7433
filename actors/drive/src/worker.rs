//! The drive actor as a supervised [`Worker`]: `start` attaches (through the forwarding task)
//! and queues the start-up procedure without any I/O of its own, so a restart is immediate and
//! an unreachable drive never fails its actor; `handle` dispatches one message at a time.

use std::collections::BTreeMap;
use std::sync::Arc;

use linevisor_config::model::RestartPolicy;
use linevisor_profile::{CommandState, UniformState};
use linevisor_supervisor::{ActorProcessingErr, ChildHandle, Worker, WorkerCtx};
use tokio::time::Instant;
use tracing::{Instrument, Span, info, warn};

use crate::command::{PendingMotion, PendingState, Reply};
use crate::link::{Task, spawn_forwarder};
use crate::msg::{DriveMsg, Internal, InternalKind};
use crate::setup::Shared;
use crate::setup::Trial;
use crate::stats::Tracker;
use crate::telemetry::{DriveEventKind, DriveSnapshot, StartupKind, TelemetrySample};
use crate::trial::TrialState;
use crate::{Command, DriveState};

/// The drive worker: configuration only; the state of a running instance is [`DriveInstance`].
#[derive(Debug)]
pub struct DriveWorker {
    shared: Arc<Shared>,
}

impl DriveWorker {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

/// Start arguments built by the factory.
#[derive(Debug)]
pub struct DriveArgs {
    /// The previous version's hand-over on a planned replacement (the new one adopts).
    pub handover: Option<Handover>,
    /// Set for a new version's first start (an upgrade); not for a rollback or a restart.
    pub trial: Option<Trial>,
}

/// What a drive hands to its replacement on a planned upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// Identity values of the unit.
    pub identity: Option<Vec<u32>>,
    /// Last command word or code written.
    pub last_command: Option<u32>,
}

/// Where an instance stands.
#[derive(Debug, Clone)]
pub(crate) enum Phase {
    /// The start-up procedure is due (before the next command), or failed and waits to retry.
    Startup {
        kind: StartupKind,
        retry_at: Option<Instant>,
        last_error: Option<String>,
    },
    /// Supervising the drive.
    Running,
}

/// The state of one running drive actor instance (opaque).
#[derive(Debug)]
pub struct DriveInstance {
    pub(crate) shared: Arc<Shared>,
    pub(crate) generation: u64,
    pub(crate) span: Span,
    pub(crate) handle: ChildHandle<DriveMsg>,
    _forwarder: Task,
    /// The running start-up procedure.
    pub(crate) startup_task: Option<Task>,
    /// Commands that arrived while it runs; taken when it is done.
    pub(crate) deferred: Vec<Reply>,
    pub(crate) phase: Phase,
    /// `None` until the bus said something.
    pub(crate) link_up: Option<bool>,
    pub(crate) comm_reason: String,
    /// Reported state.
    pub(crate) state: DriveState,
    /// Last decoded device state.
    pub(crate) device: Option<UniformState>,
    pub(crate) fault_code: Option<u32>,
    pub(crate) memory: CommandState,
    /// Setpoints last written or adopted (point → value).
    pub(crate) setpoints: BTreeMap<String, f64>,
    pub(crate) tracker: Tracker,
    pub(crate) last: Option<TelemetrySample>,
    pub(crate) state_cmd: Option<PendingState>,
    pub(crate) motion_cmd: Option<PendingMotion>,
    /// A new version's trial and the running-version slot it takes once won; `None` once won
    /// (or for an ordinary start).
    pub(crate) trial: Option<(TrialState, Arc<std::sync::Mutex<Arc<Shared>>>)>,
}

impl Worker for DriveWorker {
    type Msg = DriveMsg;
    type State = DriveInstance;
    type Args = DriveArgs;
    type Export = Handover;

    async fn start(
        &self,
        ctx: &WorkerCtx<DriveMsg>,
        args: DriveArgs,
    ) -> Result<DriveInstance, ActorProcessingErr> {
        let shared = self.shared.clone();
        let generation = ctx.generation();
        let kind = {
            let mut m = shared.memory();
            if let Some(h) = &args.handover {
                m.identity.clone_from(&h.identity);
                m.last_command.last_command = h.last_command;
            }
            let planned = std::mem::take(&mut m.planned_restart);
            let replacing = args.handover.is_some() || args.trial.is_some();
            match (replacing, planned, m.started, shared.restart) {
                (true, _, _, _) | (false, true, true, RestartPolicy::Adopt) => StartupKind::Planned,
                (false, false, true, RestartPolicy::Adopt) => StartupKind::Adopt,
                (false, _, true, RestartPolicy::Reinit) => StartupKind::Reinit,
                (false, _, false, _) => StartupKind::First,
            }
        };
        let span = shared.span();
        let forwarder = spawn_forwarder(
            crate::link::ForwardArgs {
                link: shared.link.clone(),
                period: shared.period,
                handle: ctx.handle().clone(),
                generation,
                sink_capacity: shared.options.sink_capacity,
                retry: shared.options.reattach,
            },
            span.clone(),
        );
        span.in_scope(|| info!(generation, ?kind, "Drive actor started."));
        queue_start(ctx.handle(), generation);
        let trial = args.trial.map(|t| {
            // The verdict is also due when nothing arrives: a message at the deadline.
            let (handle, within) = (ctx.handle().clone(), t.rule.within);
            tokio::spawn(async move {
                tokio::time::sleep(within).await;
                queue_start(&handle, generation);
            });
            (TrialState::start(t.rule), t.slot)
        });
        let memory = shared.memory().last_command;
        Ok(DriveInstance {
            shared,
            generation,
            span,
            handle: ctx.handle().clone(),
            _forwarder: forwarder,
            startup_task: None,
            deferred: Vec::new(),
            phase: Phase::Startup {
                kind,
                retry_at: None,
                last_error: None,
            },
            link_up: None,
            comm_reason: String::new(),
            state: DriveState::Initializing,
            device: None,
            fault_code: None,
            memory,
            setpoints: BTreeMap::new(),
            tracker: Tracker::default(),
            last: None,
            state_cmd: None,
            motion_cmd: None,
            trial,
        })
    }

    async fn handle(
        &self,
        _ctx: &WorkerCtx<DriveMsg>,
        msg: DriveMsg,
        state: &mut DriveInstance,
    ) -> Result<(), ActorProcessingErr> {
        let span = state.span.clone();
        state.dispatch(msg).instrument(span).await;
        state.judge_trial()
    }

    fn proven(&self, state: &DriveInstance) -> bool {
        state.trial.is_none()
    }

    fn export(&self, state: &mut DriveInstance) -> Option<Handover> {
        Some(Handover {
            identity: state.shared.memory().identity.clone(),
            last_command: state.memory.last_command,
        })
    }
}

/// Queues the start-up procedure, so it runs even before the first bus event.
fn queue_start(handle: &ChildHandle<DriveMsg>, generation: u64) {
    let _ = handle.cast(DriveMsg::Internal(Internal {
        generation,
        kind: InternalKind::Start,
    }));
}

impl DriveInstance {
    /// Ends a won trial; a lost one fails the instance (the supervisor rolls back).
    fn judge_trial(&mut self) -> Result<(), ActorProcessingErr> {
        let Some((trial, slot)) = self.trial.as_mut() else {
            return Ok(());
        };
        if let Some(reason) = trial.verdict(Instant::now()) {
            let reason = format!("new version failed its first cycles: {reason}");
            self.span.in_scope(|| warn!(%reason, "Upgrade trial lost."));
            return Err(reason.into());
        }
        if trial.proven() {
            // From now on the safe-stop step uses this version's profile.
            *crate::setup::lock(slot) = self.shared.clone();
            self.trial = None;
            self.span.in_scope(|| info!("Upgrade trial won."));
        }
        Ok(())
    }

    /// Notes a failure against a running trial.
    pub(crate) fn trial_failed(&mut self, reason: impl FnOnce() -> String) {
        if let Some((t, _)) = self.trial.as_mut() {
            t.fail(reason);
        }
    }

    async fn dispatch(&mut self, msg: DriveMsg) {
        match msg {
            DriveMsg::Snapshot(reply) => {
                let _ = reply.send(self.snapshot());
            }
            DriveMsg::Crash => {
                panic!(
                    "drive {}: crash requested (fault injection)",
                    self.shared.id
                )
            }
            DriveMsg::Command(command, reply) => {
                self.ensure_ready();
                self.on_command(command, reply).await;
            }
            // Left queued by a predecessor's tasks.
            DriveMsg::Internal(i) if i.generation != self.generation => {}
            DriveMsg::Internal(Internal { kind, .. }) => {
                match kind {
                    InternalKind::Start => {}
                    // The procedure's outcome was lost (queue full): it runs again.
                    InternalKind::Retry => self.startup_task = None,
                    InternalKind::Bus { n, event } => self.on_bus(n, event).await,
                    InternalKind::LinkLost { reason } => self.comm_down(reason),
                    InternalKind::StartupDone(done) => self.on_startup_done(*done).await,
                }
                self.ensure_ready();
            }
        }
    }

    /// Recomputes the reported state; a change is an event.
    pub(crate) fn refresh_state(&mut self) {
        let new = if self.link_up == Some(false) {
            DriveState::Offline
        } else if matches!(self.phase, Phase::Startup { .. }) {
            DriveState::Initializing
        } else {
            self.device
                .map_or(DriveState::Initializing, DriveState::from)
        };
        if new != self.state {
            info!(from = %self.state, to = %new, fault_code = ?self.fault_code, "Drive state changed.");
            self.shared.emit(DriveEventKind::StateChanged {
                from: self.state,
                to: new,
                fault_code: self.fault_code,
            });
            self.state = new;
        }
    }

    /// Records command-point writes in the instance and in the shared memory.
    pub(crate) fn note_written(&mut self, writes: &[linevisor_profile::PointWrite]) {
        self.shared.codec.note_written(&mut self.memory, writes);
        self.shared.memory().last_command = self.memory;
    }

    fn snapshot(&self) -> DriveSnapshot {
        let mut pending: Vec<Command> = self.deferred.iter().map(Reply::command).collect();
        pending.extend(self.state_cmd.as_ref().map(|p| p.reply.command()));
        pending.extend(self.motion_cmd.as_ref().map(|p| p.reply.command()));
        DriveSnapshot {
            drive: self.shared.id.clone(),
            generation: self.generation,
            state: self.state,
            link_up: self.link_up,
            last: self.last.clone(),
            stats: self.shared.memory().stats.clone(),
            pending,
            setpoints: self.setpoints.clone().into_iter().collect(),
        }
    }
}
