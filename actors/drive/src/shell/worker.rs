//! The drive worker: a thin shell around the [`DriveCore`]. It turns messages and bus events
//! into core events, carries out the core's actions and feeds their results back.

use std::collections::VecDeque;
use std::sync::Arc;

use linevisor_bus::{BusEvent, CycleFault};
use linevisor_supervisor::{ActorProcessingErr, ChildHandle, SupervisorError, Worker, WorkerCtx};
use tokio::time::Instant;
use tracing::{Instrument, Span, debug, warn};

use super::lineage::{DriveVersion, Lineage, Trial};
use super::msg::{DriveMsg, Internal, InternalKind};
use super::replies::{Emitter, Replies};
use super::startup;
use crate::core::{Action, CycleSample, DriveCore, Event, Handover, Start};
use crate::error::CommandError;
// `link/mod.rs` re-exports the forwarder's task under its former name.
use crate::link::{ForwardArgs, OwnedTask, spawn_forwarder};

/// The drive worker: one version's settings; the state of a running instance is
/// [`DriveInstance`].
#[derive(Debug)]
pub struct DriveWorker {
    version: Arc<DriveVersion>,
    lineage: Arc<Lineage>,
}

impl DriveWorker {
    pub(crate) fn new(version: Arc<DriveVersion>, lineage: Arc<Lineage>) -> Self {
        Self { version, lineage }
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

/// The state of one running drive actor instance (opaque).
#[derive(Debug)]
pub struct DriveInstance {
    version: Arc<DriveVersion>,
    lineage: Arc<Lineage>,
    core: DriveCore,
    generation: u64,
    span: Span,
    handle: ChildHandle<DriveMsg>,
    emitter: Emitter,
    replies: Replies,
    _forwarder: OwnedTask,
    _trial_deadline: Option<OwnedTask>,
    /// The running start-up procedure.
    startup: Option<OwnedTask>,
    /// A tick queued for the core's next deadline, and that deadline.
    wake: Option<(Instant, OwnedTask)>,
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
        let version = self.version.clone();
        let generation = ctx.generation();
        let span = version.span();
        let trial = args.trial.map(|t| t.rule);
        let start = Start {
            generation,
            handover: args.handover,
            trial,
        };
        let core = span.in_scope(|| {
            DriveCore::new(
                version.spec.clone(),
                self.lineage.carry_over(),
                start,
                Instant::now(),
            )
        });
        // The planned-restart mark is consumed by this start.
        self.lineage.deposit(core.carry_over());
        let forwarder = spawn_forwarder(
            forward_args(&version, ctx.handle(), generation),
            span.clone(),
        );
        tick(ctx.handle(), generation);
        // The verdict is also due when nothing arrives: a tick at the deadline.
        let trial_deadline = trial.map(|rule| {
            let handle = ctx.handle().clone();
            let at = Instant::now() + rule.within;
            OwnedTask::spawn(
                async move {
                    tokio::time::sleep_until(at).await;
                    tick(&handle, generation);
                },
                span.clone(),
            )
        });
        let emitter = version.emitter();
        Ok(DriveInstance {
            lineage: self.lineage.clone(),
            core,
            generation,
            span,
            handle: ctx.handle().clone(),
            replies: Replies::new(emitter.clone()),
            emitter,
            version,
            _forwarder: forwarder,
            _trial_deadline: trial_deadline,
            startup: None,
            wake: None,
        })
    }

    async fn handle(
        &self,
        _ctx: &WorkerCtx<DriveMsg>,
        msg: DriveMsg,
        state: &mut DriveInstance,
    ) -> Result<(), ActorProcessingErr> {
        let span = state.span.clone();
        state.dispatch(msg).instrument(span).await
    }

    fn proven(&self, state: &DriveInstance) -> bool {
        state.core.proven()
    }

    fn export(&self, state: &mut DriveInstance) -> Option<Handover> {
        Some(state.core.carry_over().handover())
    }
}

fn forward_args(
    version: &DriveVersion,
    handle: &ChildHandle<DriveMsg>,
    generation: u64,
) -> ForwardArgs {
    let handle = handle.clone();
    let spec = &version.spec;
    ForwardArgs {
        link: version.link.clone(),
        period: spec.period,
        sink_capacity: spec.options.sink_capacity,
        retry: spec.options.reattach,
        on_event: Box::new({
            let handle = handle.clone();
            move |n, event| cast(&handle, generation, InternalKind::Bus { n, event })
        }),
        on_attach_failed: Box::new(move |reason| {
            cast(&handle, generation, InternalKind::LinkLost { reason })
        }),
    }
}

/// Casts the instance's own traffic; false when the child is down for good.
fn cast(handle: &ChildHandle<DriveMsg>, generation: u64, kind: InternalKind) -> bool {
    match handle.cast(DriveMsg::Internal(Internal { generation, kind })) {
        Ok(()) => true,
        Err(SupervisorError::Unavailable { .. }) => false,
        // Overloaded (or restarting): this event is lost; a sample shows as an overrun.
        Err(e) => {
            debug!(error = %e, "Bus event not queued.");
            true
        }
    }
}

/// Queues a tick: the core looks at the clock (a due start-up procedure, the trial's verdict).
fn tick(handle: &ChildHandle<DriveMsg>, generation: u64) {
    let _ = handle.cast(DriveMsg::Internal(Internal {
        generation,
        kind: InternalKind::Tick,
    }));
}

impl DriveInstance {
    async fn dispatch(&mut self, msg: DriveMsg) -> Result<(), ActorProcessingErr> {
        let event = match msg {
            DriveMsg::Snapshot(reply) => {
                let _ = reply.send(self.core.snapshot());
                return Ok(());
            }
            #[cfg(feature = "fault-injection")]
            DriveMsg::Crash => {
                panic!(
                    "drive {}: crash requested (fault injection)",
                    self.version.spec.id
                )
            }
            DriveMsg::Command(command, port) => Event::Command {
                id: self.replies.register(command, port),
                command,
            },
            // Left queued by a predecessor's tasks.
            DriveMsg::Internal(i) if i.generation != self.generation => return Ok(()),
            DriveMsg::Internal(Internal { kind, .. }) => match kind {
                InternalKind::Tick => Event::Tick,
                InternalKind::Retry => Event::StartupLost,
                InternalKind::Bus { n, event } => self.bus_event(n, event),
                InternalKind::LinkLost { reason } => Event::CommLost { reason },
                InternalKind::StartupDone(done) => Event::StartupDone(done),
            },
        };
        let outcome = self.run(event).await;
        self.lineage.deposit(self.core.carry_over());
        self.arm_wake();
        outcome
    }

    /// Queues a tick at the core's next deadline (a command waiting for the start-up is
    /// answered then, even when no bus event comes).
    fn arm_wake(&mut self) {
        let Some(at) = self.core.next_deadline() else {
            self.wake = None;
            return;
        };
        if self.wake.as_ref().is_some_and(|(t, _)| *t == at) {
            return;
        }
        let (handle, generation) = (self.handle.clone(), self.generation);
        let task = OwnedTask::spawn(
            async move {
                tokio::time::sleep_until(at).await;
                tick(&handle, generation);
            },
            self.span.clone(),
        );
        self.wake = Some((at, task));
    }

    fn bus_event(&self, n: u64, event: BusEvent) -> Event {
        match event {
            BusEvent::Sample(s) => Event::Sample(CycleSample {
                seq: s.seq,
                n,
                scheduled_at: s.scheduled_at,
                completed_at: s.completed_at,
                latency: s.latency,
                points: self
                    .version
                    .link
                    .decode(&s.blocks)
                    .map_err(|e| e.to_string()),
            }),
            BusEvent::CycleFailed { seq, error, .. } => {
                match &error {
                    CycleFault::Device(e) => {
                        warn!(seq, error = %e, "The drive refused its cyclic read.")
                    }
                    CycleFault::Bus(e) => debug!(seq, error = %e, "Cycle failed."),
                }
                Event::CycleFailed {
                    seq,
                    reason: error.to_string(),
                }
            }
            BusEvent::CommLost { error, .. } => Event::CommLost {
                reason: error.to_string(),
            },
            BusEvent::Demoted {
                timeouts,
                probe_every,
                ..
            } => Event::CommLost {
                reason: format!(
                    "the unit stopped answering ({timeouts} timeouts in a row); probed every {probe_every:?}"
                ),
            },
            BusEvent::CommRestored { .. } | BusEvent::Restored { .. } => Event::CommUp,
            BusEvent::Emergency {
                code,
                register,
                class,
                ..
            } => Event::Emergency {
                code,
                register,
                class,
            },
        }
    }

    /// Steps the core with `event` and carries out its actions, feeding read and write
    /// results back until it asks for nothing more. A lost trial ends the instance.
    async fn run(&mut self, event: Event) -> Result<(), ActorProcessingErr> {
        let mut failed = None;
        let mut queue = VecDeque::from(self.core.step(event, Instant::now()));
        while let Some(action) = queue.pop_front() {
            let link = &self.version.link;
            let done = match action {
                Action::Write { io, writes } => {
                    let result = link.write(&writes).await.map_err(CommandError::from);
                    Some(Event::WriteDone { io, result })
                }
                Action::Read { io, points } => {
                    let points: Vec<&str> = points.iter().map(String::as_str).collect();
                    let result = link.read(&points).await.map_err(CommandError::from);
                    Some(Event::ReadDone { io, result })
                }
                Action::Reply { id, result } => {
                    self.replies.finish(id, result);
                    None
                }
                Action::Emit(kind) => {
                    self.emitter.emit(kind);
                    None
                }
                Action::Publish(sample) => {
                    let _ = self.version.channels.telemetry.send(*sample);
                    None
                }
                Action::StartStartup(job) => {
                    self.startup = Some(startup::spawn(
                        self.version.clone(),
                        job,
                        self.handle.clone(),
                        self.generation,
                        self.span.clone(),
                    ));
                    None
                }
                // From now on the safe-stop step uses this version's profile.
                Action::Promote => {
                    self.lineage.promote(self.version.clone());
                    None
                }
                Action::Fail(reason) => {
                    failed.get_or_insert(reason);
                    None
                }
            };
            if let Some(done) = done {
                queue.extend(self.core.step(done, Instant::now()));
            }
        }
        match failed {
            Some(reason) => Err(reason.into()),
            None => Ok(()),
        }
    }
}
